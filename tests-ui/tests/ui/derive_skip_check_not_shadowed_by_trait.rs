// The `#[trace(skip)]` check is an inherent method of the real `Tracer`:
// a user trait offering a method of the same name on every type cannot take
// its place (inherent methods win method resolution).
use tricolor::{Member, Trace};

#[derive(Trace)]
struct Node {
    value: u32,
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
