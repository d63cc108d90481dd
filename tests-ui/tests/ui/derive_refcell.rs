// A cell hands out `&mut` to its contents, through which safe code could hide
// a GC pointer from the marker; cells are `Trace` only for `NoGc` contents.
use std::cell::RefCell;

use tricolor::{Trace, Tracer};

struct Traced;

unsafe impl Trace for Traced {
    fn trace(&self, _tracer: &mut Tracer<'_>) {}
}

#[derive(Trace)]
struct Holder {
    cell: RefCell<Traced>,
}

fn main() {}
