// `Static<T>` takes only `Copy + 'static` data: a pointer slot (`Member`,
// an atomic) and a type owning memory (`String`) are refused, so neither
// can hide a GC pointer from the collector.
use tricolor::{Member, Static};

struct Node;

fn main() {
    let _slot: Static<Member<Node>> = Static::new(Member::null());
    let _text: Static<String> = Static::new(String::new());
}
