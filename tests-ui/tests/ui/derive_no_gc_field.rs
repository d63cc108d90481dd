// `#[trace(no_gc)]` is checked: a field that may hold a GC pointer fails it.
use tricolor::{Trace, Tracer};

struct Traced;

unsafe impl Trace for Traced {
    fn trace(&self, _tracer: &mut Tracer<'_>) {}
}

#[derive(Trace)]
#[trace(no_gc)]
struct Claimed {
    id: u32,
    inner: Vec<Traced>,
}

fn main() {}
