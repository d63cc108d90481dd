// `#[trace(skip)]` is accepted only for `NoGc` field types: an untraced GC
// pointer would let the collector free an object that is still reachable,
// and with `no_gc` a cell could then hand the pointer out of the heap.
use tricolor::{Member, Trace};

#[derive(Trace)]
struct Node {
    value: u32,
    #[trace(skip)]
    next: Member<Node>,
}

// Rejected where the type is defined, not only where it is used.
#[derive(Trace)]
struct GenericNode<T> {
    value: T,
    #[trace(skip)]
    next: Option<Member<T>>,
}

// A bare type parameter needs a `NoGc` bound written by the user.
#[derive(Trace)]
struct Unbounded<T> {
    #[trace(skip)]
    value: T,
}

// With `no_gc`, the skipped field is also in the `NoGc` bounds, so a cell
// could not hand the pointer out either.
#[derive(Trace)]
#[trace(no_gc)]
struct Escaping {
    #[trace(skip)]
    next: Member<Node>,
}

fn main() {}
