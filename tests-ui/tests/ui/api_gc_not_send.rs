// A Gc is tied to its mutator's thread: it cannot be sent to another thread.
use tricolor::Heap;

fn main() {
    let heap = Heap::new();
    let m = heap.mutator();
    let s = m.alloc(String::from("mine"));
    std::thread::scope(|scope| {
        scope.spawn(move || println!("{}", *s));
    });
}
