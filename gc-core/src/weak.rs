//! Weak references: a slot in the heap's weak table that the marker does not
//! follow and that is cleared when its target is found unmarked.
//!
//! Clearing happens at mark termination, with the world stopped, before any
//! span of the cycle is swept: no upgrade can observe a target that sweeping
//! has freed. Upgrading while marking is on shades the target (docs/design.md,
//! "Weak references under concurrent marking"): the mutator may keep the
//! strong pointer after its roots were scanned, so the marker must hear of it.

use std::marker::PhantomData;
use std::ptr::NonNull;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use crate::barrier::{self, check_owner, Place};
use crate::gc::Gc;
use crate::heap::HeapInner;
use crate::mark::Tracer;
use crate::mutator::Mutator;
use crate::roots::slot_ref;
use crate::trace::{NoGc, Trace};

/// A pointer that does not keep its target alive.
///
/// ```
/// use tricolor::{Heap, Weak};
///
/// let heap = Heap::new();
/// let mut m = heap.mutator();
/// let w = Weak::new(&m, m.alloc(String::from("gone soon")));
/// m.collect();
/// assert!(w.upgrade(&m).is_none());
/// ```
pub struct Weak<T> {
    heap: Arc<HeapInner>,
    slot: NonNull<AtomicUsize>,
    /// Invariant in `T`, like the other handles; the impls below add
    /// `Send`/`Sync` back.
    _marker: PhantomData<*mut T>,
}

// SAFETY: the handle is an atomic slot in a heap-wide table; upgrading it on
// another thread gives that thread shared access to a T.
unsafe impl<T: Send + Sync> Send for Weak<T> {}
// SAFETY: as above.
unsafe impl<T: Send + Sync> Sync for Weak<T> {}

impl<T: Trace + 'static> Weak<T> {
    /// A weak reference to `target`.
    ///
    /// # Panics
    /// If `target` is from another heap than `m`'s.
    #[track_caller]
    pub fn new(m: &Mutator, target: Gc<'_, T>) -> Weak<T> {
        let heap = m.heap_inner().clone();
        let slot = heap.weaks.insert(0);
        let weak = Weak {
            heap,
            slot,
            _marker: PhantomData,
        };
        // SAFETY: the slot lives in our heap's weak table, kept alive by `heap`.
        let word = unsafe { slot_ref(weak.slot) };
        barrier::store(m, Place::Weak(&weak.heap), word, target.base(), |w| w);
        weak
    }

    /// Whether the target has been collected. Unlike `upgrade`, this never
    /// shades the target, so pruning a table of weak references during a
    /// mark does not keep dead entries alive for another cycle. (`false`
    /// does not mean the target is reachable, only that it was not found
    /// dead yet.)
    pub fn is_cleared(&self) -> bool {
        // SAFETY: the slot lives in our heap's weak table, kept alive by `heap`.
        unsafe { slot_ref(self.slot) }.load(Ordering::Acquire) == 0
    }

    /// The target, if it has not been collected.
    ///
    /// # Panics
    /// If `m` is attached to another heap.
    #[track_caller]
    pub fn upgrade<'m>(&self, m: &'m Mutator) -> Option<Gc<'m, T>> {
        check_owner(m, Place::Weak(&self.heap), 0);
        // SAFETY: the slot lives in our heap's weak table, kept alive by `heap`.
        let p = unsafe { slot_ref(self.slot) }.load(Ordering::Acquire);
        if p == 0 {
            return None;
        }
        if m.marking() {
            m.barrier().shade(m, p);
        }
        // A non-zero weak slot holds an object marked at the last mark
        // termination (unmarked targets are cleared then, before sweeping)
        // or allocated since; while marking it has just been shaded.
        // SAFETY: so it is live, and `m` is borrowed for 'm: no cycle ends.
        Some(unsafe { Gc::from_base(p) })
    }
}

impl<T> Drop for Weak<T> {
    fn drop(&mut self) {
        // SAFETY: the slot came from our heap's weak table and this handle is
        // its only user.
        unsafe { self.heap.weaks.remove(self.slot) }
    }
}

// SAFETY: a Weak holds no strong GC pointer: there is nothing to trace, and
// moving the handle anywhere cannot hide a pointer from the marker.
unsafe impl<T> Trace for Weak<T> {
    const NEEDS_TRACE: bool = false;
    fn trace(&self, _tracer: &mut Tracer<'_>) {}
}

// SAFETY: as above.
unsafe impl<T> NoGc for Weak<T> {}
