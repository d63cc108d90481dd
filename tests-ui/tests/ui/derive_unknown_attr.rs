// Every misspelled or misplaced `#[trace]` key is reported, all at once.
use tricolor::Trace;

#[derive(Trace)]
#[trace(no_gcc)]
struct Typo {
    #[trace(skipp)]
    field: u32,
}

#[derive(Trace)]
#[trace(skip)]
struct SkipOnContainer {
    #[trace(no_gc)]
    field: u32,
}

#[derive(Trace)]
enum OnVariant {
    #[trace(skip)]
    A(u32),
}

#[derive(Trace)]
#[trace(crate = "tricolor", crate = "gc_core")]
struct TwoCrates;

fn main() {}
