// A Root belongs to one mutator's root set: it cannot be sent to another
// thread (GlobalRoot is the sendable kind).
use tricolor::Heap;

fn main() {
    let heap = Heap::new();
    let m = heap.mutator();
    let r = m.root(m.alloc(String::from("mine")));
    std::thread::spawn(move || drop(r));
}
