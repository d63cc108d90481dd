// Hole 1 of issue 9: `#[trace(crate = "...")]` must not let a user module
// decide what satisfies the `NoGc` check for `#[trace(skip)]`. This module
// re-exports the real `Trace` and `Tracer` and declares its own `NoGc`,
// implemented for everything; the skipped `Member` must still be refused,
// since the check is an inherent method of the real `Tracer`. (On the
// code before the fix this file compiled.)
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

fn main() {}
