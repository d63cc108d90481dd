// Hole 4 of issue 9: a handle that can be written through `&self` must be
// invariant in its type, as `Cell<T>` is. If `&GlobalRoot<Sub>` coerced to
// `&GlobalRoot<Super>`, a `Super` could be stored and read back as a `Sub`;
// with fn-pointer types that yields a dangling `&'static str`.
use tricolor::GlobalRoot;

type Sub = for<'a> fn(&'a str) -> &'a str;
type Super = fn(&'static str) -> &'static str;

fn widen<'h>(handle: &'h GlobalRoot<Sub>) -> &'h GlobalRoot<Super> {
    handle
}

fn main() {}
