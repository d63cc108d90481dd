// The collector cannot know which field of a union holds a value.
use tricolor::Trace;

#[derive(Trace)]
union Bits {
    int: u64,
    float: f64,
}

fn main() {}
