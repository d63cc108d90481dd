//! Helpers for tests about address reuse (identity of handles, weak-keyed
//! tables): a small object type, a plain heap, and a way to get a new object
//! at the address of one freed earlier.

use tricolor::{Gc, Heap, HeapBuilder, Mutator, Root, Trace};

/// A small object with a value to tell instances apart.
#[derive(Trace, Debug, PartialEq)]
pub struct Leaf {
    pub value: u64,
}

/// A heap with the default settings, ignoring the environment.
pub fn heap() -> Heap {
    HeapBuilder::new().build().unwrap()
}

/// Allocate leaves (kept alive by `keep`) until one lands at `addr`, the
/// value address of an object freed earlier; panics if none does.
pub fn leaf_at<'m>(m: &'m Mutator, addr: &str, keep: &mut Vec<Root<Leaf>>) -> Gc<'m, Leaf> {
    for i in 0..1_000_000 {
        let g = m.alloc(Leaf { value: i });
        if format!("{g:p}") == addr {
            return g;
        }
        keep.push(m.root(g));
    }
    panic!("the freed address was never reused");
}
