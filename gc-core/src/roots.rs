//! Registered roots: per-mutator [`Root`]s and heap-wide [`GlobalRoot`]s,
//! both stored in [`SlotTable`]s that the collector scans.
//!
//! A slot table is a list of fixed chunks of atomic words that never move,
//! so a handle keeps a direct pointer to its slot: reading or writing a root
//! is one atomic access, and only creating or dropping one takes the table's
//! lock. The collector takes the same lock to scan, so a table never changes
//! under a scan. Each handle holds an `Arc` to its table, so a slot outlives
//! every handle to it even if the mutator or heap is gone.
//!
//! Stores into a mutator's own roots need no write barrier (docs/design.md §3, and `barrier.rs`):
//! its root set is scanned as a whole at one of its safepoints, and what it
//! stores there afterwards came from the heap (the deletion barrier shades it
//! if it is later unlinked) or from a new, black, allocation.
//!
//! The global table is different: it is scanned in the first pause, and any
//! thread can store into it later, so it is a path for a pointer to move from
//! one thread's not-yet-scanned roots to another thread. Stores into global
//! roots therefore run the barrier like a heap store. Every store, here as
//! for heap slots, goes through `barrier::store`, which also checks that the
//! handle belongs to the mutator passed in.

use std::marker::PhantomData;
use std::ptr::NonNull;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use parking_lot::Mutex;

use crate::barrier::{self, check_owner, Place};
use crate::gc::Gc;
use crate::heap::HeapInner;
use crate::mutator::{Mutator, MutatorShared};
use crate::trace::Trace;

const CHUNK: usize = 256;

#[derive(Default)]
struct Slots {
    // Boxed so that slot addresses, which handles keep, never move.
    #[allow(clippy::vec_box)]
    chunks: Vec<Box<[AtomicUsize; CHUNK]>>,
    free: Vec<NonNull<AtomicUsize>>,
    used: usize,
}

/// A table of atomic pointer slots with stable addresses.
#[derive(Default)]
pub(crate) struct SlotTable {
    slots: Mutex<Slots>,
}

// SAFETY: the raw pointers in `free` point into chunks owned by the same
// table; all slot contents are atomics.
unsafe impl Send for SlotTable {}
// SAFETY: as above; the bookkeeping is behind the mutex.
unsafe impl Sync for SlotTable {}

impl SlotTable {
    /// A slot holding `value`.
    pub(crate) fn insert(&self, value: usize) -> NonNull<AtomicUsize> {
        let mut s = self.slots.lock();
        s.used += 1;
        let slot = match s.free.pop() {
            Some(p) => p,
            None => {
                let chunk: Box<[AtomicUsize; CHUNK]> =
                    Box::new(std::array::from_fn(|_| AtomicUsize::new(0)));
                let first = NonNull::from(&chunk[0]);
                s.free
                    .extend((1..CHUNK).rev().map(|i| NonNull::from(&chunk[i])));
                s.chunks.push(chunk);
                first
            }
        };
        // SAFETY: the slot is in a chunk owned by this table (never freed
        // before the table) and was free, so no one else uses it.
        unsafe { slot.as_ref() }.store(value, Ordering::Release);
        slot
    }

    /// Give a slot back.
    ///
    /// # Safety
    /// `slot` came from `insert` on this table and is not used afterwards.
    pub(crate) unsafe fn remove(&self, slot: NonNull<AtomicUsize>) {
        let mut s = self.slots.lock();
        // SAFETY: by the contract the slot belongs to this table.
        unsafe { slot.as_ref() }.store(0, Ordering::Relaxed);
        s.used -= 1;
        s.free.push(slot);
    }

    /// Slots in use.
    pub(crate) fn len(&self) -> usize {
        self.slots.lock().used
    }

    /// Call `f` on every slot (free ones hold 0).
    pub(crate) fn for_each(&self, mut f: impl FnMut(&AtomicUsize)) {
        let s = self.slots.lock();
        for chunk in &s.chunks {
            chunk.iter().for_each(&mut f);
        }
    }
}

/// Reads the slot of a handle.
///
/// # Safety
/// `slot` was returned by `insert` on a table the caller keeps alive.
#[inline]
pub(crate) unsafe fn slot_ref<'a>(slot: NonNull<AtomicUsize>) -> &'a AtomicUsize {
    // SAFETY: by the contract the chunk holding the slot is alive.
    unsafe { slot.as_ref() }
}

/// A root registered with one mutator: it keeps its object alive across
/// safepoints. Not `Send`: it belongs to its mutator's thread.
///
/// ```
/// use tricolor::{Heap, Root};
///
/// let heap = Heap::new();
/// let mut m = heap.mutator();
/// let r: Root<String> = m.root(m.alloc(String::from("kept")));
/// m.collect();
/// assert_eq!(r.get(&m).as_str(), "kept");
/// ```
pub struct Root<T> {
    owner: Arc<MutatorShared>,
    slot: NonNull<AtomicUsize>,
    /// Invariant in `T` (`set` writes through `&self`); `!Send`.
    _marker: PhantomData<*mut T>,
}

impl<T: Trace + 'static> Root<T> {
    #[track_caller]
    pub(crate) fn new(m: &Mutator, value: Gc<'_, T>) -> Root<T> {
        let owner = m.shared().clone();
        let slot = owner.roots.insert(0);
        let root = Root {
            owner,
            slot,
            _marker: PhantomData,
        };
        root.set(m, value);
        root
    }

    /// The rooted object, as an unrooted pointer for the mutator's borrow.
    ///
    /// # Panics
    /// If `m` is not the mutator that made this root.
    #[inline]
    #[track_caller]
    pub fn get<'m>(&self, m: &'m Mutator) -> Gc<'m, T> {
        check_owner(m, Place::Root(&self.owner), 0);
        // SAFETY: the slot is in our owner's table (kept alive by `owner`);
        // the value is a live object of type T because the table is scanned
        // as a root set of `m`, which is borrowed for 'm.
        unsafe { Gc::from_base(slot_ref(self.slot).load(Ordering::Acquire)) }
    }

    /// Point the root at another object.
    ///
    /// # Panics
    /// If `m` is not the mutator that made this root, or `value` is from
    /// another heap.
    #[inline]
    #[track_caller]
    pub fn set(&self, m: &Mutator, value: Gc<'_, T>) {
        // SAFETY: the slot is in our owner's table, kept alive by `owner`.
        let slot = unsafe { slot_ref(self.slot) };
        barrier::store(m, Place::Root(&self.owner), slot, value.base(), |w| w);
    }
}

impl<T> Drop for Root<T> {
    fn drop(&mut self) {
        // SAFETY: the slot came from our owner's table and this handle is
        // its only user.
        unsafe { self.owner.roots.remove(self.slot) }
    }
}

/// A root owned by the heap rather than a thread: `Send` and `Sync` when
/// the object is, so it is how objects are shared between mutator threads.
pub struct GlobalRoot<T> {
    heap: Arc<HeapInner>,
    slot: NonNull<AtomicUsize>,
    /// Invariant in `T` (`set` writes through `&self`); the impls below add
    /// `Send`/`Sync` back.
    _marker: PhantomData<*mut T>,
}

// SAFETY: the handle is an atomic slot in a heap-wide table; moving it to
// another thread hands that thread shared access to a T, so T: Send + Sync.
unsafe impl<T: Send + Sync> Send for GlobalRoot<T> {}
// SAFETY: as above.
unsafe impl<T: Send + Sync> Sync for GlobalRoot<T> {}

impl<T: Trace + Send + Sync + 'static> GlobalRoot<T> {
    /// Register `value` as a heap-wide root.
    ///
    /// # Panics
    /// If `value` is from another heap than `m`'s.
    #[track_caller]
    pub fn new(m: &Mutator, value: Gc<'_, T>) -> GlobalRoot<T> {
        let heap = m.heap_inner().clone();
        let slot = heap.globals.insert(0);
        let root = GlobalRoot {
            heap,
            slot,
            _marker: PhantomData,
        };
        root.set(m, value);
        root
    }

    /// The rooted object, for `m`'s borrow.
    ///
    /// # Panics
    /// If `m` is attached to another heap.
    #[inline]
    #[track_caller]
    pub fn get<'m>(&self, m: &'m Mutator) -> Gc<'m, T> {
        check_owner(m, Place::Global(&self.heap), 0);
        // SAFETY: the slot lives in our heap's global table, scanned as a
        // root set, and `m` belongs to that heap and is borrowed for 'm.
        unsafe { Gc::from_base(slot_ref(self.slot).load(Ordering::Acquire)) }
    }

    /// Point the root at another object.
    ///
    /// # Panics
    /// If `m` is attached to another heap, or `value` is from another heap.
    #[track_caller]
    pub fn set(&self, m: &Mutator, value: Gc<'_, T>) {
        // SAFETY: the slot lives in our heap's global table, kept alive by
        // `heap`.
        let slot = unsafe { slot_ref(self.slot) };
        barrier::store(m, Place::Global(&self.heap), slot, value.base(), |w| w);
    }
}

impl<T> Drop for GlobalRoot<T> {
    fn drop(&mut self) {
        // SAFETY: the slot came from our heap's global table and this handle
        // is its only user.
        unsafe { self.heap.globals.remove(self.slot) }
    }
}
