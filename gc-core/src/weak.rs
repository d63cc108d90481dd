//! Weak references: a slot in the heap's weak table that the marker does not
//! follow and that is cleared when its target is found unmarked.
//!
//! Clearing happens at mark termination, with the world stopped, before any
//! span of the cycle is swept: no upgrade can observe a target that sweeping
//! has freed. So a non-zero slot always holds the very object it was made
//! for (its address cannot have been reused yet). Upgrading while marking is
//! on shades the target (docs/design.md, "Weak references under
//! concurrent marking"): the mutator may keep the strong pointer after its roots were
//! scanned, so the marker must hear of it.
//!
//! One slot per object, as Go's `weak.Pointer`: `Weak::new` for an object
//! that already has a live slot shares it, and clones share it too (the
//! slot counts its handles, under the table's lock). So a `Weak`'s identity
//! is its slot: two made for one object are equal, also after it died, and
//! one made for a later object at the same address is not. The table maps
//! each target address to its slot; an entry whose slot was cleared is
//! stale and is replaced by the next `Weak::new` for that address, or
//! removed when the slot's last handle goes.

use std::collections::HashMap;
use std::marker::PhantomData;
use std::ptr::NonNull;
use std::sync::atomic::{AtomicUsize, Ordering};

use parking_lot::Mutex;

use crate::barrier::{self, check_owner, Place};
use crate::gc::Gc;
use crate::identity::{AddrHash, HeapRef};
use crate::mark::Tracer;
use crate::mutator::Mutator;
use crate::trace::{NoGc, Trace};

const CHUNK: usize = 128;

/// One weak reference, shared by every handle to its target.
pub(crate) struct WeakSlot {
    /// The target's base, or 0 once cleared (or while free).
    target: AtomicUsize,
    /// The base the slot was made for, kept after clearing (identity).
    /// Changed only under the table's lock, while no handle holds the slot.
    addr: AtomicUsize,
    /// Handles to this slot; changed only under the table's lock.
    refs: AtomicUsize,
}

struct WeakSlots {
    /// Boxed so that slot addresses, which handles keep, never move.
    #[allow(clippy::vec_box)]
    chunks: Vec<Box<[WeakSlot; CHUNK]>>,
    free: Vec<NonNull<WeakSlot>>,
    /// The slot made for each target address (possibly cleared: stale).
    by_target: HashMap<usize, NonNull<WeakSlot>, AddrHash>,
}

/// The heap's weak references.
pub(crate) struct WeakTable {
    slots: Mutex<WeakSlots>,
}

// SAFETY: the raw pointers point into chunks owned by the same table; slot
// contents are atomics, and the bookkeeping is behind the mutex.
unsafe impl Send for WeakTable {}
// SAFETY: as above.
unsafe impl Sync for WeakTable {}

impl Default for WeakTable {
    fn default() -> Self {
        WeakTable {
            slots: Mutex::new(WeakSlots {
                chunks: Vec::new(),
                free: Vec::new(),
                by_target: HashMap::default(),
            }),
        }
    }
}

impl WeakSlots {
    fn take(&mut self) -> NonNull<WeakSlot> {
        if let Some(slot) = self.free.pop() {
            return slot;
        }
        let chunk: Box<[WeakSlot; CHUNK]> = Box::new(std::array::from_fn(|_| WeakSlot {
            target: AtomicUsize::new(0),
            addr: AtomicUsize::new(0),
            refs: AtomicUsize::new(0),
        }));
        self.free.extend(chunk[1..].iter().rev().map(NonNull::from));
        let first = NonNull::from(&chunk[0]);
        self.chunks.push(chunk);
        first
    }
}

impl WeakTable {
    /// A handle's reference to the slot for the object at `base`: its
    /// existing slot, or a free one that `init` stores `base` into.
    fn acquire(&self, base: usize, init: impl FnOnce(&AtomicUsize)) -> NonNull<WeakSlot> {
        let mut s = self.slots.lock();
        if let Some(&slot) = s.by_target.get(&base) {
            // SAFETY: slots in the map are in chunks this table owns.
            let w = unsafe { slot.as_ref() };
            if w.target.load(Ordering::Relaxed) == base {
                w.refs.fetch_add(1, Ordering::Relaxed);
                return slot;
            }
        }
        let slot = s.take();
        // SAFETY: the slot is in a chunk this table owns, and free.
        let w = unsafe { slot.as_ref() };
        init(&w.target);
        w.addr.store(base, Ordering::Relaxed);
        w.refs.store(1, Ordering::Relaxed);
        s.by_target.insert(base, slot);
        slot
    }

    /// One more handle to `slot`.
    ///
    /// # Safety
    /// `slot` came from `acquire` on this table and has a handle.
    unsafe fn retain(&self, slot: NonNull<WeakSlot>) {
        let _s = self.slots.lock();
        // SAFETY: by the contract the slot is in a chunk this table owns.
        unsafe { slot.as_ref() }
            .refs
            .fetch_add(1, Ordering::Relaxed);
    }

    /// One handle to `slot` fewer; the last one frees it.
    ///
    /// # Safety
    /// `slot` came from `acquire` on this table, and the caller gives up one
    /// handle to it.
    unsafe fn release(&self, slot: NonNull<WeakSlot>) {
        let mut s = self.slots.lock();
        // SAFETY: by the contract the slot is in a chunk this table owns.
        let w = unsafe { slot.as_ref() };
        if w.refs.fetch_sub(1, Ordering::Relaxed) == 1 {
            let addr = w.addr.load(Ordering::Relaxed);
            if s.by_target.get(&addr) == Some(&slot) {
                s.by_target.remove(&addr);
            }
            w.target.store(0, Ordering::Relaxed);
            s.free.push(slot);
        }
    }

    /// Call `f` on every slot's target word (free and cleared ones hold 0).
    /// Mark termination clears dead targets through it.
    pub(crate) fn for_each(&self, mut f: impl FnMut(&AtomicUsize)) {
        let s = self.slots.lock();
        for chunk in &s.chunks {
            chunk.iter().for_each(|w| f(&w.target));
        }
    }
}

/// A pointer that does not keep its target alive.
///
/// Weak references compare equal when they were made for the same object,
/// also after it died (they share one slot); one made later for another
/// object at the same address is different. They hash by the address they
/// were made for. To key a map by weakly held objects and forget dead
/// entries, see [`WeakMap`](crate::WeakMap).
///
/// ```
/// use tricolor::{Heap, Weak};
///
/// let heap = Heap::new();
/// let mut m = heap.mutator();
/// let s = m.alloc(String::from("gone soon"));
/// let w = Weak::new(&m, s);
/// assert_eq!(w, Weak::new(&m, s));
/// m.collect();
/// assert!(w.upgrade(&m).is_none());
/// assert_eq!(w, w.clone());
/// ```
pub struct Weak<T> {
    /// The heap, whose weak table holds the slot; a `HeapRef` so that
    /// clippy does not take a `Weak` for a mutable map key (`identity.rs`).
    heap: HeapRef,
    slot: NonNull<WeakSlot>,
    /// Invariant in `T`, like the other handles; the impls below add
    /// `Send`/`Sync` back.
    _marker: PhantomData<*mut T>,
}

// SAFETY: the handle is a reference to an atomic slot in a heap-wide table,
// counted under the table's lock; upgrading it on another thread gives that
// thread shared access to a T.
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
        let base = target.base();
        // Checked before the table's lock, so the store below cannot panic.
        barrier::check_target(m, base);
        let heap = HeapRef::new(m.heap_inner().clone());
        let slot = heap.weaks.acquire(base, |word| {
            barrier::store(m, Place::Weak(&heap), word, base, |w| w);
        });
        Weak {
            heap,
            slot,
            _marker: PhantomData,
        }
    }

    /// The target, if it has not been collected.
    ///
    /// # Panics
    /// If `m` is attached to another heap.
    #[track_caller]
    pub fn upgrade<'m>(&self, m: &'m Mutator) -> Option<Gc<'m, T>> {
        check_owner(m, Place::Weak(&self.heap), 0);
        let p = self.target();
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
        Some(unsafe { Gc::from_nonnull_base(p) })
    }
}

impl<T> Weak<T> {
    fn slot(&self) -> &WeakSlot {
        // SAFETY: the slot lives in our heap's weak table, kept alive by
        // `heap`, and stays ours until we drop.
        unsafe { self.slot.as_ref() }
    }

    /// Whether the target has been collected. Unlike `upgrade`, this never
    /// shades the target, so pruning a table of weak references during a
    /// mark does not keep dead entries alive for another cycle. (`false`
    /// does not mean the target is reachable, only that it was not found
    /// dead yet.)
    pub fn is_cleared(&self) -> bool {
        self.target() == 0
    }

    /// The target's base, 0 once cleared. Comparing it with a `Gc` the
    /// caller holds is safe without shading: nothing is dereferenced.
    #[inline]
    pub(crate) fn target(&self) -> usize {
        self.slot().target.load(Ordering::Acquire)
    }

    /// The base the reference was made for (kept after clearing).
    pub(crate) fn addr(&self) -> usize {
        self.slot().addr.load(Ordering::Relaxed)
    }

    /// The identity of the reference: its shared slot.
    pub(crate) fn slot_id(&self) -> usize {
        self.slot.as_ptr() as usize
    }
}

impl<T> Clone for Weak<T> {
    /// Another handle to the same weak reference (equal to this one).
    fn clone(&self) -> Weak<T> {
        // SAFETY: our slot came from our heap's weak table and we hold it.
        unsafe { self.heap.weaks.retain(self.slot) };
        Weak {
            heap: self.heap.clone(),
            slot: self.slot,
            _marker: PhantomData,
        }
    }
}

impl<T> Drop for Weak<T> {
    fn drop(&mut self) {
        // SAFETY: the slot came from our heap's weak table and this handle
        // gives up its reference.
        unsafe { self.heap.weaks.release(self.slot) }
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
