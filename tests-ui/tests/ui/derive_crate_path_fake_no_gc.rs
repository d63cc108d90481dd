// Hole 1 of issue 9: `#[trace(crate = "...")]` must not let a user module
// decide what satisfies the `NoGc` check for `#[trace(skip)]`. This module
// re-exports the real `Trace` and `Tracer` and declares its own `NoGc`,
// implemented for everything; the skipped `Member` must still be refused,
// since the check is an inherent method of the real `Tracer`.
use tricolor::{Member, Trace};

mod fake {
    pub use tricolor::{Trace, Tracer};
    pub unsafe trait NoGc {}
    unsafe impl<T: ?Sized> NoGc for T {}
}

#[derive(Trace)]
#[trace(crate = "fake")]
struct Node {
    value: u32,
    #[trace(skip)]
    next: Member<Node>,
}

// A user trait offering a method of the same name on every type does not
// take the check's place either.
trait Lenient {
    fn __skipped_field_must_implement_no_gc<T: ?Sized>(&mut self) {}
}
impl<X: ?Sized> Lenient for X {}

#[derive(Trace)]
struct Other {
    #[trace(skip)]
    next: Member<Node>,
}

fn main() {}
