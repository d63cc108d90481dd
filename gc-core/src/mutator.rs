//! `Mutator`: a thread attached to a heap. It allocates, owns a root set,
//! and lets the collector run at its safepoints.
//!
//! Invariants:
//! - A running mutator holds the lock of its thread cache (an owned guard);
//!   it lets go of it whenever it stops running (parks, enters a safe
//!   region, runs a collection), so the collector can flush the cache while
//!   the world is stopped.
//! - `safepoint`, `collect` and `blocking` take `&mut self`: no `Gc<'_, _>`
//!   borrowed from this mutator is alive while the collector may scan this
//!   thread's roots or start a cycle. The one stop it allows elsewhere is a
//!   mark termination, at the end of an allocation (`park_in_allocation`):
//!   ending a mark frees nothing a running mutator can reach (`world.rs`).
//! - One mutator per heap per thread: a second would deadlock the first at
//!   its next stop-the-world (the thread cannot be at a safepoint and running
//!   at once), so it is refused with a panic.
//! - Known limit: a thread attached to two heaps counts as running on the
//!   second while it parks at a safepoint of the first. Two threads both
//!   attached to heaps A and B, one parking on A while the other parks on B,
//!   wait on each other forever. Programs using several heaps per thread
//!   should call `blocking` on the other heaps' mutators around a safepoint.
//! - Destructors run by lazy sweeping inside an allocation cannot allocate
//!   on the same mutator: the cache is a `RefCell`, and reentry panics with a
//!   message instead of aliasing it.
//! - While a cycle marks, the mutator scans its own root set at its first
//!   safepoint; while it is not running, a mark worker may scan it instead,
//!   under `MutatorShared::running`, which the mutator takes to run again.
//!   Making and dropping roots takes no lock (`roots.rs` says why a scan
//!   stays sound when a root is dropped or cloned while the owner is
//!   stopped).
//! - Write-barrier shades are buffered (`barrier.rs`) and flushed when the
//!   buffer is full and every time the mutator stops running, so mark
//!   termination (which stops every mutator) sees all of them.
//! - If code run with the mutator stopped panics, the mutator is running
//!   again before the panic propagates (`stopped`), so the world's count
//!   and the cached marking flag never go stale.

use std::cell::{Cell, RefCell};
use std::marker::PhantomData;
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use gc_alloc::{AllocError, AllocFlags, ThreadCache};
use parking_lot::lock_api::ArcMutexGuard;
use parking_lot::{Mutex, RawMutex};

use crate::array::GcArray;
use crate::barrier::WriteBarrier;
use crate::gc::Gc;
use crate::heap::{Heap, HeapInner};
use crate::mutator_state::{MutatorShared, ATTACHED};
use crate::mutator_stats::MutatorInfo;
use crate::object::{self, ObjectType};
use crate::publish;
use crate::roots::{Root, RootSet};
use crate::slots::RootChunks;
use crate::trace::Trace;

mod safepoint;

type CacheGuard = ArcMutexGuard<RawMutex, ThreadCache>;

/// A thread's handle on a [`Heap`]: allocation, roots and safepoints.
///
/// ```
/// use tricolor::{Gc, Heap, Member, Trace};
///
/// #[derive(Trace, Default)]
/// struct Cons { head: i64, tail: Member<Cons> }
///
/// let heap = Heap::new();
/// let mut m = heap.mutator();
/// let list = {
///     let mut l = m.alloc(Cons::default());
///     for i in 1..=10 {
///         let c = m.alloc(Cons { head: i, ..Cons::default() });
///         c.tail.set(&m, Some(l));
///         l = c;
///     }
///     m.root(l)
/// };
/// m.safepoint(); // unrooted `Gc`s cannot live across this line
/// let mut sum = 0;
/// let mut cur = Some(list.get(&m));
/// while let Some(c) = cur {
///     sum += c.head;
///     // `Gc::as_ref` gives a reference for the mutator's whole borrow, so
///     // the next link outlives this loop iteration (`c.tail` would borrow
///     // the local `c`).
///     cur = Gc::as_ref(c).tail.get();
/// }
/// assert_eq!(sum, 55);
/// ```
pub struct Mutator {
    heap: Heap,
    shared: Arc<MutatorShared>,
    /// Owner-local half of the root table; every `Root` holds it too.
    roots: Rc<RootSet>,
    cache: RefCell<Option<CacheGuard>>,
    marking: Cell<bool>,
    /// The cache's `bytes_taken` when this mutator last paid for its
    /// allocation with a mark assist.
    assist_base: Cell<u64>,
    /// The ownership checks and the buffered write barrier.
    barrier: WriteBarrier,
    /// `shared.poll`, one pointer away: `safepoint_needed` is one load.
    poll: Arc<AtomicBool>,
    /// `shared.alloc_poll`, one pointer away: the allocation's poll is one
    /// load.
    alloc_poll: Arc<AtomicBool>,
    _not_send: PhantomData<*mut ()>,
}

impl Mutator {
    #[track_caller]
    pub(crate) fn attach(heap: &Heap) -> Mutator {
        let inner = heap.inner();
        let id = Arc::as_ptr(inner) as usize;
        ATTACHED.with(|a| {
            let mut a = a.borrow_mut();
            assert!(
                !a.contains(&id),
                "this thread already has a Mutator for this heap; use that one (two would deadlock each other)"
            );
            a.push(id);
        });
        publish::attach(inner.alloc.range());
        let poll = Arc::new(AtomicBool::new(inner.debug.gcstress));
        let alloc_poll = Arc::new(AtomicBool::new(false));
        let mut cache = ThreadCache::new(inner.alloc.clone());
        cache.add_poll_flag(poll.clone());
        cache.add_poll_flag(alloc_poll.clone());
        let shared = Arc::new(MutatorShared {
            roots: RootChunks::default(),
            cache: Arc::new(Mutex::new(cache)),
            roots_pending: AtomicBool::new(false),
            poll: poll.clone(),
            alloc_poll: alloc_poll.clone(),
            running: Mutex::new(true),
            info: MutatorInfo::current(std::panic::Location::caller()),
        });
        inner.world.enter_running();
        inner.mutators.lock().push(shared.clone());
        let guard = shared.cache.lock_arc();
        Mutator {
            heap: heap.clone(),
            roots: RootSet::new(shared.clone()),
            shared,
            cache: RefCell::new(Some(guard)),
            // Read after `enter_running`: the flag cannot change until this
            // mutator stops running or parks in an allocation, and both
            // read it again.
            marking: Cell::new(inner.marking()),
            assist_base: Cell::new(0),
            barrier: WriteBarrier::new(inner.alloc.range()),
            poll,
            alloc_poll,
            _not_send: PhantomData,
        }
    }

    /// The heap this mutator allocates from.
    pub fn heap(&self) -> &Heap {
        &self.heap
    }

    pub(crate) fn heap_inner(&self) -> &Arc<HeapInner> {
        self.heap.inner()
    }

    pub(crate) fn shared(&self) -> &Arc<MutatorShared> {
        &self.shared
    }

    #[inline]
    pub(crate) fn root_set(&self) -> &Rc<RootSet> {
        &self.roots
    }

    /// Allocate `value` in the GC heap. Pointer fields may be given here
    /// (`Member::new(gc)`, `gc.into()`, `NanBox::new`); see `publish.rs`.
    ///
    /// # Panics
    /// If the heap is out of memory (see [`try_alloc`](Self::try_alloc)), or
    /// `value` holds a pointer into another heap.
    #[inline]
    #[track_caller]
    pub fn alloc<T: Trace + Send + 'static>(&self, value: T) -> Gc<'_, T> {
        match self.try_alloc(value) {
            Ok(g) => g,
            Err(e) => out_of_memory(std::any::type_name::<T>(), e),
        }
    }

    /// Allocate `value`, or report why the heap cannot hold it (the heap
    /// limit, or the OS refusing memory); the heap stays usable.
    ///
    /// # Panics
    /// If `value` holds a pointer into another heap.
    #[inline]
    #[track_caller]
    pub fn try_alloc<T: Trace + Send + 'static>(&self, value: T) -> Result<Gc<'_, T>, AllocError> {
        let slot = match ObjectType::<T>::SPAN_CLASS {
            Some(spc) => self.with_cache(|c| c.alloc(spc, self.flags::<T>())),
            None => self.alloc_bytes::<T>(ObjectType::<T>::SIZE),
        };
        let slot = match slot {
            Ok(slot) => slot,
            Err(e) => {
                if T::NEEDS_TRACE && publish::any_unpublished() {
                    // The value dies here, taking its pointer slots along.
                    publish::forget(self, &value);
                }
                return Err(e);
            }
        };
        // SAFETY: the slot is fresh, sized and aligned for T by ObjectType.
        unsafe { object::init(slot, value) };
        // SAFETY: the object was just initialised; the mutator is borrowed
        // for the returned lifetime, so no cycle starts meanwhile, and one
        // marking now allocated it black: no sweep frees it meanwhile.
        let object: Gc<'_, T> = unsafe { Gc::from_base(slot.as_ptr() as usize) };
        if T::NEEDS_TRACE && publish::any_unpublished() {
            publish::publish(self, Gc::as_ref(object));
        }
        self.allocation_poll();
        Ok(object)
    }

    /// Allocate an array of `len` elements, element `i` being `init(i)`.
    ///
    /// # Panics
    /// If the heap is out of memory (see
    /// [`try_alloc_array`](Self::try_alloc_array)).
    #[track_caller]
    pub fn alloc_array<T: Trace + Send + 'static>(
        &self,
        len: usize,
        init: impl FnMut(usize) -> T,
    ) -> Gc<'_, GcArray<T>> {
        match self.try_alloc_array(len, init) {
            Ok(a) => a,
            Err(e) => out_of_memory(&format!("array of {len} elements"), e),
        }
    }

    /// Allocate an array of `len` elements, element `i` being `init(i)`, or
    /// report why the heap cannot hold it; `init` is not called then.
    ///
    /// # Panics
    /// If an element holds a pointer into another heap.
    #[track_caller]
    pub fn try_alloc_array<T: Trace + Send + 'static>(
        &self,
        len: usize,
        init: impl FnMut(usize) -> T,
    ) -> Result<Gc<'_, GcArray<T>>, AllocError> {
        // SAFETY: `GcArray<T>` is trivially laid out as itself.
        unsafe { self.try_alloc_array_as(len, init) }
    }

    /// `try_alloc_array`, for an object type `A` that wraps the array
    /// (`GcStr`): the span's tag names `A`, the value is initialised as a
    /// `GcArray<T>`.
    ///
    /// # Safety
    /// `A` is `#[repr(transparent)]` over `GcArray<T>` (or is it), and
    /// every `GcArray<T>` that `init` can produce is a valid `A`; `A` traces
    /// and drops exactly as `GcArray<T>` does.
    #[track_caller]
    pub(crate) unsafe fn try_alloc_array_as<A: Trace + 'static, T: Trace + Send + 'static>(
        &self,
        len: usize,
        init: impl FnMut(usize) -> T,
    ) -> Result<Gc<'_, A>, AllocError> {
        let size = GcArray::<T>::value_size(len).unwrap_or(usize::MAX);
        // Only elements with destructors make the sweeper call the array's.
        let flags = AllocFlags {
            tag: ObjectType::<A>::tag(),
            needs_drop: std::mem::needs_drop::<T>(),
            black: self.marking.get(),
        };
        let slot = self.with_cache(|c| c.alloc_size(size, !T::NEEDS_TRACE, flags))?;
        // The span's tag names `A`, so the sweeper could drop a partly built
        // array; the returned Gc borrows the mutator, so the array outlives it.
        // SAFETY: the slot is fresh and `size` bytes: length, `len` elements;
        // `A` has `GcArray<T>`'s layout (the caller's contract).
        let array: Gc<'_, A> = unsafe {
            let value = slot.as_ptr() as *mut GcArray<T>;
            GcArray::init(value, len, init);
            Gc::from_base(slot.as_ptr() as usize)
        };
        if T::NEEDS_TRACE && publish::any_unpublished() {
            publish::publish(self, Gc::as_ref(array));
        }
        self.allocation_poll();
        Ok(array)
    }

    /// A slot for an object of type `T` that is `size` bytes long.
    fn alloc_bytes<T: Trace + 'static>(
        &self,
        size: usize,
    ) -> Result<std::ptr::NonNull<u8>, AllocError> {
        self.with_cache(|c| c.alloc_size(size, !T::NEEDS_TRACE, self.flags::<T>()))
    }

    /// The allocation's poll: one load of this mutator's allocation poll
    /// word (`MutatorShared::alloc_poll`).
    #[inline(always)]
    fn allocation_poll(&self) {
        if self.alloc_poll.load(Ordering::Relaxed) {
            self.allocation_poll_slow();
        }
    }

    #[inline]
    fn flags<T: Trace + 'static>(&self) -> AllocFlags {
        AllocFlags {
            tag: ObjectType::<T>::tag(),
            needs_drop: std::mem::needs_drop::<T>(),
            black: self.marking.get(),
        }
    }

    #[inline]
    fn with_cache<R>(&self, f: impl FnOnce(&mut ThreadCache) -> R) -> R {
        let mut guard = self
            .cache
            .try_borrow_mut()
            .unwrap_or_else(|_| reentrant_alloc());
        f(guard.as_mut().expect("a running mutator holds its cache"))
    }

    /// Register `value` as a root of this mutator (see [`Root`] for
    /// returning one from a function). As cheap as an allocation.
    ///
    /// # Panics
    /// If `value` is from another heap.
    #[inline]
    #[track_caller]
    pub fn root<T: Trace + 'static>(&self, value: Gc<'_, T>) -> Root<T> {
        Root::new(self, value)
    }

    /// Let the collector in: park for a stop-the-world phase another thread
    /// requested, or run a cycle if the heap reached its trigger. Call it
    /// regularly (interpreters: at calls and backward jumps).
    #[inline]
    #[track_caller]
    pub fn safepoint(&mut self) {
        if self.safepoint_needed() {
            self.safepoint_slow();
        }
    }

    /// Whether [`safepoint`](Self::safepoint) has work to do now (a stop
    /// requested, a cycle due, this thread's roots to scan). It takes
    /// `&self`, so an interpreter can poll it in its dispatch loop while it
    /// holds `Gc`s, and only leave the loop (rooting its state) when it is
    /// true. One load of this mutator's poll word; no side effects.
    #[inline]
    pub fn safepoint_needed(&self) -> bool {
        self.poll.load(Ordering::Relaxed)
    }

    /// Run a full collection cycle now and finish its sweep.
    #[track_caller]
    pub fn collect(&mut self) {
        let inner = self.heap.inner().clone();
        self.stopped(|| inner.collect_sync(true));
    }

    /// Run `f` in a GC-safe region: collections proceed without waiting for
    /// this thread. Use it around anything that blocks (I/O, locks, sleep).
    #[track_caller]
    pub fn blocking<R>(&mut self, f: impl FnOnce() -> R) -> R {
        self.stopped(f)
    }

    /// Run `f` with this mutator not running. If `f` panics, the mutator is
    /// running again before the panic goes on, so its state (the world's
    /// count, the cache lock, the marking flag) stays exact for whoever
    /// catches the panic and for `Drop`.
    #[track_caller]
    fn stopped<R>(&mut self, f: impl FnOnce() -> R) -> R {
        self.stop_running();
        let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f));
        self.start_running();
        r.unwrap_or_else(|p| std::panic::resume_unwind(p))
    }

    #[track_caller]
    fn stop_running(&mut self) {
        publish::check_all_published("a point where the collector may run");
        self.flush_barrier();
        *self.cache.get_mut() = None;
        self.roots.set_running(false);
        *self.shared.running.lock() = false;
        let world = &self.heap.inner().world;
        self.shared.info.stopped_running(world.stop_requested());
        world.leave_running();
    }

    fn start_running(&mut self) {
        let parked = std::time::Instant::now();
        self.heap.inner().world.enter_running();
        self.shared.info.parked(parked.elapsed());
        *self.shared.running.lock() = true;
        self.roots.set_running(true);
        *self.cache.get_mut() = Some(self.shared.cache.lock_arc());
        let marking = self.heap.inner().marking();
        if marking && !self.marking.get() {
            // Assist debt counts from the start of this mark.
            self.assist_base.set(self.with_cache(|c| c.bytes_taken()));
        }
        self.marking.set(marking);
    }

    /// Whether stores must run the write barrier.
    #[inline]
    pub(crate) fn marking(&self) -> bool {
        self.marking.get()
    }

    /// The ownership checks and the write barrier.
    #[inline(always)]
    pub(crate) fn barrier(&self) -> &WriteBarrier {
        &self.barrier
    }

    fn flush_barrier(&self) {
        self.barrier.flush(self.heap.inner());
    }
}

impl Drop for Mutator {
    fn drop(&mut self) {
        publish::check_all_published("the Mutator's drop");
        self.flush_barrier();
        if let Some(mut guard) = self.cache.get_mut().take() {
            guard.flush();
        }
        let inner = self.heap.inner();
        // Roots that outlive their mutator cannot be read any more (`Root::get`
        // needs this mutator), so their targets need not be marked.
        inner.forget_roots(&self.shared);
        inner
            .mutators
            .lock()
            .retain(|m| !Arc::ptr_eq(m, &self.shared));
        inner.world.leave_running();
        let id = Arc::as_ptr(inner) as usize;
        // `try_with`: a Mutator kept in a thread-local may outlive this one.
        let _ = ATTACHED.try_with(|a| a.borrow_mut().retain(|&h| h != id));
        publish::detach(inner.alloc.range());
    }
}

#[cold]
fn reentrant_alloc() -> ! {
    panic!("tricolor: allocation from inside a destructor that the collector is running; destructors must not allocate")
}

#[cold]
#[track_caller]
fn out_of_memory(what: &str, e: AllocError) -> ! {
    panic!(
        "tricolor: cannot allocate a {what}: {e}. Call Mutator::safepoint regularly so the collector \
         can run, or raise the heap limit"
    )
}
