// Tracing borrows every field, and a field of a packed type may be unaligned.
use tricolor::Trace;

#[derive(Trace)]
#[repr(C, packed)]
struct Packed {
    tag: u8,
    value: u64,
}

fn main() {}
