// Hole 2 of issue 9: names the derive introduces must not capture user
// names. The derive used to declare a stand-in type for self-references
// inside the block where field types are resolved, so a user alias of that
// name was read as the stand-in: a `Member` field counted as holding no GC
// pointer, and with `no_gc` the type became `NoGc`. Now the stand-in is
// `::core::convert::Infallible` and this `no_gc` impl is refused because the
// field holds a `Member`.
use tricolor::{Member, Trace};

#[derive(Trace)]
struct Leaf {
    value: u32,
}

#[allow(non_camel_case_types)]
type __TraceRecursionStandIn = Member<Leaf>;

#[derive(Trace)]
#[trace(no_gc)]
enum List {
    Nil,
    Cons(Box<List>),
    Hidden(__TraceRecursionStandIn),
}

fn main() {}
