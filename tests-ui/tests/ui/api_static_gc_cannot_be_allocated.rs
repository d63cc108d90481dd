// A `Gc` is `Copy`, but not `Send`: a `Static` holding one (possible only
// with a leaked `&'static Mutator`) cannot become a heap object.
use tricolor::{Gc, Heap, Static};

fn main() {
    let heap = Heap::new();
    let m: &'static tricolor::Mutator = Box::leak(Box::new(heap.mutator()));
    let s: Gc<'static, String> = m.alloc(String::from("s"));
    m.alloc(Static::new(s));
}
