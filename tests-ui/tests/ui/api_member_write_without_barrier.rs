// Pointer fields of GC objects can only be changed through Member::set (which
// runs the write barrier): a Gc gives shared access only.
use tricolor::{Heap, Member, Trace};

#[derive(Trace, Default)]
struct Node {
    next: Member<Node>,
}

fn main() {
    let heap = Heap::new();
    let m = heap.mutator();
    let a = m.alloc(Node::default());
    a.next = Member::null();
}
