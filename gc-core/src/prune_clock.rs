//! `PruneClock`: when a table of weak references should drop its dead
//! entries.
//!
//! A weak reference is cleared by the sweep of the cycle that found its
//! target dead (`weak.rs`); until then `Weak::is_cleared` is false and a
//! pass over a table cannot tell the entry is dead (`upgrade` can, but
//! during a mark it shades the target, keeping it for one more cycle). So
//! the moment to prune is once per completed cycle, after its sweep: then
//! one pass with `is_cleared` drops every entry the cycle found dead, and
//! costs O(entries) per cycle, which the allocation that paced the cycle
//! amortises. `WeakMap` and `WeakSet` prune this way on insert; so can an
//! interpreter's own weak tables (a string interner).

use std::sync::atomic::Ordering;

use crate::mutator::Mutator;

/// Says when a table of [`Weak`](crate::Weak) references should prune:
/// [`due`](Self::due) is true at most once per completed collection
/// cycle, and only once that cycle's sweep is done, so every weak
/// reference to an object it found dead is then
/// [cleared](crate::Weak::is_cleared). A new clock is due at once (it has
/// never pruned).
///
/// ```
/// use tricolor::{Heap, PruneClock, Weak};
///
/// let heap = Heap::new();
/// let mut m = heap.mutator();
/// let mut table: Vec<Weak<u64>> = (0..100).map(|i| Weak::new(&m, m.alloc(i))).collect();
/// let mut clock = PruneClock::new();
/// assert!(clock.due(&m), "a new clock is due");
/// assert!(!clock.due(&m), "no cycle has ended since");
/// m.collect();
/// assert!(clock.due(&m));
/// table.retain(|w| !w.is_cleared());
/// assert!(table.is_empty(), "nothing held the targets");
/// assert!(!clock.due(&m), "once per cycle");
/// ```
#[derive(Debug, Default)]
pub struct PruneClock {
    /// The heap's completed-cycle count at the last prune, plus one (0:
    /// never).
    at: u64,
}

impl PruneClock {
    /// A clock that has never said "due".
    pub fn new() -> PruneClock {
        PruneClock::default()
    }

    /// Whether a cycle ended since this last returned true and its sweep
    /// is done; records a prune now. One load while nothing is due; until
    /// a finished cycle's sweep is done, one more.
    #[inline]
    pub fn due(&mut self, m: &Mutator) -> bool {
        let heap = m.heap_inner();
        let now = heap.cycles.load(Ordering::Acquire) + 1;
        if self.at == now || !heap.alloc.sweep_done() {
            return false;
        }
        self.at = now;
        true
    }
}
