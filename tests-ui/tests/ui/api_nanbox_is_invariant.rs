// Hole 4 of issue 9: a handle that can be written through `&self` must be
// invariant in its type, as `Cell<T>` is. If `&NanBox<Sub>` coerced to
// `&NanBox<Super>`, a `Super` could be stored and read back as a `Sub`;
// with fn-pointer types that yields a dangling `&'static str`.
use tricolor::NanBox;

type Sub = for<'a> fn(&'a str) -> &'a str;
type Super = fn(&'static str) -> &'static str;

fn widen<'h>(handle: &'h NanBox<Sub>) -> &'h NanBox<Super> {
    handle
}

fn main() {}
