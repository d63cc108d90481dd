// Hole 4 of issue 9: a handle that can be written through `&self` must be
// invariant in its type, as `Cell<T>` is. If `&Weak<Sub>` coerced to
// `&Weak<Super>`, a `Super` could be stored and read back as a `Sub`;
// with fn-pointer types that yields a dangling `&'static str`.
use tricolor::Weak;

type Sub = for<'a> fn(&'a str) -> &'a str;
type Super = fn(&'static str) -> &'static str;

fn widen<'h>(handle: &'h Weak<Sub>) -> &'h Weak<Super> {
    handle
}

fn main() {}
