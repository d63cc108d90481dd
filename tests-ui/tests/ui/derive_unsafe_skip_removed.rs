// `unsafe_skip` let safe code leave a GC pointer untraced; it is an error
// wherever it is written.
use tricolor::Trace;

#[derive(Trace)]
struct Skipping {
    #[trace(unsafe_skip)]
    field: u32,
}

#[derive(Trace)]
enum SkippingEnum {
    Variant(#[trace(unsafe_skip)] u32),
}

fn main() {}
