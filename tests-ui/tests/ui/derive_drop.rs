// A destructor would run during sweep, when the GC objects it can reach may
// already be freed, so a type deriving `Trace` must not implement `Drop`.
use tricolor::Trace;

#[derive(Trace)]
struct Handle {
    id: u32,
}

impl Drop for Handle {
    fn drop(&mut self) {}
}

#[derive(Trace)]
struct GenericHandle<T> {
    value: T,
}

impl<T> Drop for GenericHandle<T> {
    fn drop(&mut self) {}
}

fn main() {}
