// A Mutator is a thread's attachment to the heap: it cannot move to another
// thread.
use tricolor::Heap;

fn main() {
    let heap = Heap::new();
    let m = heap.mutator();
    std::thread::spawn(move || drop(m));
}
