// An unrooted Gc cannot be kept across a safepoint: the collector may free
// its object there.
use tricolor::Heap;

fn main() {
    let heap = Heap::new();
    let mut m = heap.mutator();
    let s = m.alloc(String::from("temporary"));
    m.safepoint();
    println!("{}", *s);
}
