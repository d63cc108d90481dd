//! Registered roots: per-mutator [`Root`]s and heap-wide [`GlobalRoot`]s.
//!
//! Both keep their target in an atomic slot that never moves, so a handle
//! holds a direct pointer to it: reading or writing a root is one atomic
//! access. Free slots hold 0, which the collector skips.
//!
//! # A mutator's roots: cheap to make and drop
//! Each mutator's table is split in two:
//! - `RootChunks` (`slots.rs`), in `MutatorShared`, which the collector reads: boxed
//!   chunks of slots, appended to (under a lock taken only to grow or to
//!   scan) and never freed before the table;
//! - [`RootSet`], owner-local (`Rc`, `!Send`): the free list and a copy of
//!   whether the owner is running. Only the owner thread touches it, so
//!   making a root is a pop and a store, dropping it a store and a push.
//!
//! Why a scan is sound without a lock on the fast path. The table is
//! scanned by its owner at a safepoint, or by another thread (mark worker,
//! stop-the-world terminator, checkmark) only while the owner is stopped,
//! holding the owner's `running` lock (checkmark reads marked objects only).
//! While the owner runs, nobody else reads its roots. While it is stopped,
//! the owner thread may still drop a `Root` (inside `Mutator::blocking`, a
//! destructor the sweep runs, another heap's code): that stores 0 into an
//! atomic slot and pushes onto the owner-local list, so the scanner reads
//! the slot as 0 or as its old target, both fine. It cannot make or `set`
//! one (that needs the `&Mutator` the stop borrowed). The one other change
//! it can make is `Root::clone`, which copies a target into a new slot: a
//! copy followed by dropping the original could move the target past a
//! scan in progress, so a clone made while the owner is stopped takes the
//! `running` lock, and every scanner of a stopped mutator holds it. During a
//! scan a root set therefore only loses targets, so every target the owner
//! still holds afterwards sat in its slot for the whole scan and was seen.
//!
//! Stores into a mutator's own roots need no write barrier (docs/design.md §3, and `barrier.rs`):
//! its root set is scanned as a whole at one of its safepoints, and what it
//! stores there afterwards came from the heap (the deletion barrier shades it
//! if it is later unlinked) or from a new, black, allocation.
//!
//! # Global roots
//! Rare, so one mutex-guarded `SlotTable` (`slots.rs`) per heap. It is scanned in the
//! first pause, and any thread can store into it later, so it is a path for
//! a pointer to move from one thread's not-yet-scanned roots to another
//! thread; stores into global roots therefore run the barrier like a heap
//! store. `GlobalRoot::clone` reads the source and fills the new slot under
//! the table's lock, the one the scan holds, so the copied target is either
//! seen by the scan or was stored (through the barrier) after it.
//!
//! Every store with a `Mutator`, here as for heap slots, goes through
//! `barrier::store`, which also checks that the handle belongs to it.

use std::cell::{Cell, UnsafeCell};
use std::marker::PhantomData;
use std::ptr::NonNull;
use std::rc::Rc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use crate::barrier::{self, check_owner, Place};
use crate::gc::Gc;
use crate::heap::HeapInner;
use crate::mutator::Mutator;
use crate::mutator_state::MutatorShared;
use crate::slots::slot_ref;
use crate::trace::Trace;

/// The owner-local half of a mutator's root table (module comment).
pub(crate) struct RootSet {
    /// Owns the chunks (`shared.roots`), so every slot outlives every handle.
    shared: Arc<MutatorShared>,
    /// Free slots of `shared.roots`; each holds 0. Touched only by `take`,
    /// `grow` and `give_back`, which call nothing that could reenter them.
    free: UnsafeCell<Vec<NonNull<AtomicUsize>>>,
    /// Whether the owner is running: set once it has taken its `running`
    /// lock to run, cleared before it lets scanners in to stop
    /// (`mutator.rs`). A dropped mutator stays "running": nobody scans it.
    running: Cell<bool>,
}

impl RootSet {
    pub(crate) fn new(shared: Arc<MutatorShared>) -> Rc<RootSet> {
        Rc::new(RootSet {
            shared,
            free: UnsafeCell::new(Vec::new()),
            running: Cell::new(true),
        })
    }

    pub(crate) fn set_running(&self, running: bool) {
        self.running.set(running);
    }

    /// A free slot (holding 0), now in use.
    #[inline]
    fn take(&self) -> NonNull<AtomicUsize> {
        // SAFETY: a RootSet is !Sync and `free` is borrowed only here, in
        // `grow` and in `give_back`, none of which is running (they do not
        // call each other or anything that could call them).
        let slot = unsafe { &mut *self.free.get() }.pop();
        slot.unwrap_or_else(|| self.grow())
    }

    #[cold]
    fn grow(&self) -> NonNull<AtomicUsize> {
        // SAFETY: as in `take`, which has returned its borrow.
        self.shared.roots.grow(unsafe { &mut *self.free.get() })
    }

    /// Free `slot`, which came from `take` and is not used afterwards.
    #[inline]
    fn give_back(&self, slot: NonNull<AtomicUsize>) {
        // SAFETY: the slot is in a chunk of `shared.roots`, which `shared`
        // keeps alive.
        unsafe { slot.as_ref() }.store(0, Ordering::Relaxed);
        // SAFETY: as in `take`.
        unsafe { &mut *self.free.get() }.push(slot);
    }
}

/// A root registered with one mutator: it keeps its object alive across
/// safepoints. Not `Send`: it belongs to its mutator's thread. Making,
/// cloning and dropping one costs about as much as an allocation (no lock,
/// no atomic read-modify-write).
///
/// Roots compare and hash by the address of the object they point at now
/// (see [`Gc`]'s identity), so `set` changes that: do not `set` a root
/// that keys a map.
///
/// ```
/// use tricolor::{Heap, Root};
///
/// let heap = Heap::new();
/// let mut m = heap.mutator();
/// let r: Root<String> = m.root(m.alloc(String::from("kept")));
/// let r2 = r.clone();
/// m.collect();
/// assert_eq!(r.get(&m).as_str(), "kept");
/// assert_eq!(r, r2);
/// ```
///
/// # Handing a result out of a function that takes `&mut Mutator`
/// A `Gc` cannot outlive the borrow of the mutator it came from, and a
/// function that runs safepoints needs `&mut Mutator`; return a `Root`
/// and let the caller `get` it:
///
/// ```
/// use tricolor::{Heap, Member, Mutator, Root, Trace};
///
/// #[derive(Trace)]
/// struct Cons { head: i64, tail: Member<Cons> }
///
/// fn range(m: &mut Mutator, n: i64) -> Root<Cons> {
///     let list = m.root(m.alloc(Cons { head: n, tail: Member::null() }));
///     for i in (0..n).rev() {
///         let cell = m.alloc(Cons { head: i, tail: list.get(m).into() });
///         list.set(m, cell);
///         m.safepoint(); // fine: the list is rooted
///     }
///     list
/// }
///
/// let heap = Heap::new();
/// let mut m = heap.mutator();
/// let list = range(&mut m, 3);
/// m.collect();
/// let first = list.get(&m);
/// assert_eq!(first.head, 0);
/// assert_eq!(first.tail.get().unwrap().head, 1);
/// ```
pub struct Root<T> {
    slot: NonNull<AtomicUsize>,
    set: Rc<RootSet>,
    /// Invariant in `T` (`set` writes through `&self`); `!Send`.
    _marker: PhantomData<*mut T>,
}

impl<T: Trace + 'static> Root<T> {
    #[inline]
    #[track_caller]
    pub(crate) fn new(m: &Mutator, value: Gc<'_, T>) -> Root<T> {
        let set = m.root_set();
        // Built before the store, so a store that panics gives the slot back.
        let root = Root {
            slot: set.take(),
            set: set.clone(),
            _marker: PhantomData,
        };
        // SAFETY: the slot is in `m`'s table, kept alive by `root.set`.
        let slot = unsafe { slot_ref(root.slot) };
        // The owner is `m` itself, which the store's ownership check sees.
        barrier::store(m, Place::Root(m.shared()), slot, value.base(), |w| w);
        root
    }

    /// The rooted object, as an unrooted pointer for the mutator's borrow.
    ///
    /// # Panics
    /// If `m` is not the mutator that made this root.
    #[inline]
    #[track_caller]
    pub fn get<'m>(&self, m: &'m Mutator) -> Gc<'m, T> {
        check_owner(m, Place::Root(&self.set.shared), 0);
        // The slot holds a live object of type T, because the table is
        // scanned as a root set of `m`, which is borrowed for 'm; and it is
        // not 0: `new` stores a `Gc` before it returns, `set` stores only
        // `Gc`s, `clone` copies a made root, and nothing else writes a used
        // slot.
        // SAFETY: so the base is a live, non-null `T` object for 'm.
        unsafe { Gc::from_nonnull_base(self.base()) }
    }

    /// Point the root at another object.
    ///
    /// # Panics
    /// If `m` is not the mutator that made this root, or `value` is from
    /// another heap.
    #[inline]
    #[track_caller]
    pub fn set(&self, m: &Mutator, value: Gc<'_, T>) {
        // SAFETY: the slot is in our owner's table, kept alive by `set`.
        let slot = unsafe { slot_ref(self.slot) };
        barrier::store(m, Place::Root(&self.set.shared), slot, value.base(), |w| w);
    }
}

impl<T> Root<T> {
    /// The target's base address (never 0 once the root is made).
    #[inline]
    pub(crate) fn base(&self) -> usize {
        // SAFETY: the slot is in our owner's table, kept alive by `set`.
        unsafe { slot_ref(self.slot) }.load(Ordering::Acquire)
    }
}

impl<T> Clone for Root<T> {
    /// Another root of the same mutator, to the same object. Works without
    /// the `Mutator`, also while it is stopped (module comment).
    fn clone(&self) -> Root<T> {
        let set = &self.set;
        let _no_scan = (!set.running.get()).then(|| set.shared.running.lock());
        let slot = set.take();
        // SAFETY: both slots are in our owner's table, kept alive by `set`;
        // the new one is ours alone.
        let (from, to) = unsafe { (slot_ref(self.slot), slot_ref(slot)) };
        // A copy inside one root set: nothing to check and, as for every
        // root store, no barrier.
        to.store(from.load(Ordering::Relaxed), Ordering::Release);
        Root {
            slot,
            set: set.clone(),
            _marker: PhantomData,
        }
    }
}

impl<T> Drop for Root<T> {
    #[inline]
    fn drop(&mut self) {
        self.set.give_back(self.slot);
    }
}

/// A root owned by the heap rather than a thread: `Send` and `Sync` when
/// the object is, so it is how objects are shared between mutator threads.
/// Compares and hashes like [`Root`].
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
        unsafe { Gc::from_base(self.base()) }
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

impl<T> GlobalRoot<T> {
    /// The target's base address.
    #[inline]
    pub(crate) fn base(&self) -> usize {
        // SAFETY: the slot lives in our heap's global table, kept alive by
        // `heap`.
        unsafe { slot_ref(self.slot) }.load(Ordering::Acquire)
    }
}

impl<T> Clone for GlobalRoot<T> {
    /// Another global root to the same object; needs no `Mutator`.
    fn clone(&self) -> GlobalRoot<T> {
        GlobalRoot {
            heap: self.heap.clone(),
            // SAFETY: our slot came from this heap's global table and is in
            // use until we drop.
            slot: unsafe { self.heap.globals.duplicate(self.slot) },
            _marker: PhantomData,
        }
    }
}

impl<T> Drop for GlobalRoot<T> {
    fn drop(&mut self) {
        // SAFETY: the slot came from our heap's global table and this handle
        // is its only user.
        unsafe { self.heap.globals.remove(self.slot) }
    }
}
