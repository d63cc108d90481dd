//! Weak references: a slot in the heap's weak table that the marker does not
//! follow, cleared by the sweeper when it frees the target.
//!
//! Clearing (as Go 1.24 clears a weak handle when the sweeper frees its
//! object): `Weak::new` sets the target's weak bit in its span
//! (`AllocHeap::set_weak`). The sweeper that frees an unmarked object with
//! that bit calls the table's hook (`sweep_hook`) with its base, before
//! the span's mark bits change and before the slot can be allocated again;
//! the hook zeroes the object's slot under the table's lock. The cost is
//! one lookup per dead weakly referenced object, paid by whoever sweeps,
//! not a pass over every slot inside the mark termination pause.
//!
//! Upgrading. Between the end of a mark and the sweep of its span, a slot
//! may hold an object that the mark found dead. So `upgrade` reads the
//! slot, and for a non-zero target asks the allocator (`weak_liveness`,
//! whose ordering argument is in gc-alloc's `weak.rs`): marked by the last
//! mark and not swept yet is live; unmarked and not swept yet is dead; once
//! its span has reported (or the whole sweep is done) the slot itself,
//! read again, is exact. That needs the sweep generation to stay put during
//! the call, which the calling mutator guarantees (the generation moves only
//! with the world stopped, and the call neither reaches a safepoint nor
//! allocates, where a mark termination could take it); objects allocated since the mark live in swept
//! spans, so they read as live; and every cache is flushed before the
//! generation moves (`cycle.rs`), so no unswept span holds an object
//! allocated after the mark. While marking, the last sweep is done, so the
//! slot is exact, and upgrading shades the target (docs/design.md, "Weak
//! references under concurrent marking"): the mutator may keep the strong
//! pointer after its roots were scanned, so the marker must hear of it.
//!
//! No ABA: a slot goes from an object to 0 only, never back, while a handle
//! holds it (a slot is refilled only when free), so a slot read again after
//! the sweeper's report is 0 or still the same, live object.
//!
//! One slot per object, as Go's `weak.Pointer`: `Weak::new` for an object
//! that already has a live slot shares it, and clones share it too (the
//! slot counts its handles, under the table's lock). So a `Weak`'s identity
//! is its slot: two made for one object are equal, also after it died, and
//! one made for a later object at the same address is not. The table maps
//! each target address to its slot; an entry whose slot was cleared is
//! stale and is replaced by the next `Weak::new` for that address, or
//! removed when the slot's last handle goes. A slot found by address holds
//! that address only for the object now there: the sweeper clears it, under
//! the same lock, before the address can be reused.

use std::collections::HashMap;
use std::marker::PhantomData;
use std::ptr::NonNull;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use gc_alloc::{WeakHook, WeakLiveness};
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

// SAFETY: the raw pointers point into chunks this value owns (boxed, so
// they never move), and slot contents are atomics; the value is only ever
// reached behind the table's mutex.
unsafe impl Send for WeakSlots {}

/// The heap's weak references. The slots are shared with the sweeper's
/// hook, which the allocator keeps (`sweep_hook`).
pub(crate) struct WeakTable {
    slots: Arc<Mutex<WeakSlots>>,
}

impl Default for WeakTable {
    fn default() -> Self {
        WeakTable {
            slots: Arc::new(Mutex::new(WeakSlots {
                chunks: Vec::new(),
                free: Vec::new(),
                by_target: HashMap::default(),
            })),
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

    /// The hook the sweeper calls with freed objects that had a weak bit:
    /// it clears each one's slot (module comment).
    pub(crate) fn sweep_hook(&self) -> WeakHook {
        let slots = self.slots.clone();
        WeakHook::new(move |bases: &[usize]| {
            let s = slots.lock();
            for base in bases {
                if let Some(slot) = s.by_target.get(base) {
                    // SAFETY: slots in the map are in chunks this table owns.
                    let w = unsafe { slot.as_ref() };
                    // Relaxed: readers that must see this synchronise with
                    // the sweeper's later Release stores (gc-alloc's
                    // `weak.rs`); a stale entry already holds 0.
                    if w.target.load(Ordering::Relaxed) == *base {
                        w.target.store(0, Ordering::Relaxed);
                    }
                }
            }
        })
    }
}

/// `upgrade`'s test of a weak slot (module comment): the target's base if
/// it is alive, else 0. `load` reads the slot; `liveness` is the
/// allocator's `weak_liveness`.
#[inline]
fn live_target(load: impl Fn() -> usize, liveness: impl FnOnce(usize) -> WeakLiveness) -> usize {
    let p = load();
    if p == 0 {
        return 0;
    }
    match liveness(p) {
        WeakLiveness::Marked => p,
        WeakLiveness::Unmarked => 0,
        WeakLiveness::Reported => load(),
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
            // The bit first: the target is live (the caller holds it), so
            // no sweep of its span can run before the next mark ends.
            heap.alloc.set_weak(base);
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
        let p = live_target(|| self.target(), |p| self.heap.alloc.weak_liveness(p));
        if p == 0 {
            return None;
        }
        if m.marking() {
            m.barrier().shade(m, p);
        }
        // `live_target` returns an object that the last mark marked or that
        // was allocated since (module comment: the sweep generation holds
        // still during the call, and no sweeper frees either kind); while
        // marking it has just been shaded, so the mark that is running,
        // even if it ends in an allocation within 'm, marks it. No cycle
        // starts before `m`'s next safepoint, which 'm precedes.
        // SAFETY: so it is live for 'm.
        Some(unsafe { Gc::from_nonnull_base(p) })
    }
}

impl<T> Weak<T> {
    fn slot(&self) -> &WeakSlot {
        // SAFETY: the slot lives in our heap's weak table, kept alive by
        // `heap`, and stays ours until we drop.
        unsafe { self.slot.as_ref() }
    }

    /// Whether the target has been collected: the sweeper clears the
    /// reference when it frees the target, after the cycle that found it
    /// unreachable (`Mutator::collect` returns with that done). Unlike
    /// `upgrade`, this never shades the target, so pruning a table of weak
    /// references during a mark does not keep dead entries alive for
    /// another cycle. (`false` does not mean the target is reachable:
    /// `upgrade` already returns `None` for a target found dead whose
    /// memory is not swept yet.)
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

/// loom model (`RUSTFLAGS="--cfg loom" cargo test -p tricolor-core --release --lib loom`).
///
/// The upgrade decision is this file's `live_target`; the span side
/// mirrors, store for store and ordering for ordering, gc-alloc's
/// `Span::sweep` (report, `weaks_swept`, mark words cleared, `unswept`
/// lowered) and `AllocHeap::weak_liveness`, which loom cannot run (their
/// atomics are std's, in bitmaps of hundreds of words).
#[cfg(all(test, loom))]
mod loom_models {
    use gc_alloc::WeakLiveness;
    use loom::sync::atomic::{AtomicU32, AtomicU64, AtomicUsize, Ordering::*};
    use loom::sync::Arc;
    use loom::thread;

    use super::live_target;

    /// The sweep generation the last mark termination moved to.
    const H: u32 = 6;
    /// A dead object (unmarked, mark bit 0) and a live one (marked, bit 1),
    /// in one unswept span, each with a weak slot.
    const DEAD: usize = 0x1000;
    const LIVE: usize = 0x2000;

    struct Span {
        dead_slot: AtomicUsize,
        live_slot: AtomicUsize,
        marks: AtomicU64,
        weaks_swept: AtomicU32,
        unswept: AtomicUsize,
    }

    fn bit(base: usize) -> u64 {
        if base == LIVE {
            2
        } else {
            1
        }
    }

    /// `AllocHeap::weak_liveness`.
    fn liveness(s: &Span, base: usize) -> WeakLiveness {
        if s.unswept.load(Acquire) == 0 {
            return WeakLiveness::Reported;
        }
        let marked = s.marks.load(Acquire) & bit(base) != 0;
        if s.weaks_swept.load(Acquire) == H {
            WeakLiveness::Reported
        } else if marked {
            WeakLiveness::Marked
        } else {
            WeakLiveness::Unmarked
        }
    }

    /// `AllocHeap::sweep_claimed` of the span: the hook clears the dead
    /// object's slot (`sweep_hook`), then the span records the report,
    /// clears its marks and counts itself swept.
    fn sweep(s: &Span) {
        if s.dead_slot.load(Relaxed) == DEAD {
            s.dead_slot.store(0, Relaxed);
        }
        s.weaks_swept.store(H, Release);
        s.marks.store(0, Release);
        s.unswept.fetch_sub(1, Release);
    }

    fn upgrade(s: &Span, slot: &AtomicUsize) -> usize {
        live_target(|| slot.load(Acquire), |p| liveness(s, p))
    }

    /// Whatever point of the sweep an upgrade meets, and whatever stale
    /// values its loads see, the dead target is never handed out and the
    /// live one always is; also twice in a row, across the sweep.
    #[test]
    fn loom_upgrade_never_sees_a_dead_target_nor_misses_a_live_one() {
        loom::model(|| {
            let s = Arc::new(Span {
                dead_slot: AtomicUsize::new(DEAD),
                live_slot: AtomicUsize::new(LIVE),
                marks: AtomicU64::new(bit(LIVE)),
                weaks_swept: AtomicU32::new(H - 2),
                unswept: AtomicUsize::new(1),
            });
            let sweeper = {
                let s = s.clone();
                thread::spawn(move || sweep(&s))
            };
            for _ in 0..2 {
                assert_eq!(upgrade(&s, &s.dead_slot), 0, "a dead target upgraded");
                assert_eq!(upgrade(&s, &s.live_slot), LIVE, "a live target lost");
            }
            sweeper.join().unwrap();
            assert_eq!(s.dead_slot.load(Relaxed), 0, "the sweeper cleared it");
        });
    }
}
