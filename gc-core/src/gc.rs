//! `Gc<'m, T>`, the unrooted pointer, and `Member<T>`, the barriered pointer
//! slot inside GC objects.
//!
//! Why `Gc` is sound without being a root: it borrows the `Mutator` (`'m`),
//! and only `Mutator::safepoint` / `collect` / `blocking`, which take
//! `&mut Mutator`, let a stop-the-world phase or this thread's root scan
//! happen. So no `Gc` is alive at the points where the collector looks at
//! this thread, and between two such points nothing the thread can reach is
//! freed (see design.md, "Roots, safepoints and the API's safety").
//!
//! `Member<T>` rules, which keep every non-null pointer traced:
//! - a `Member` is made null; only [`Member::set`] stores a pointer, and
//!   only into a `Member` that lies inside the GC heap (it panics otherwise),
//!   so a `Member` outside the heap is always null;
//! - safe code never gets `&mut` to a heap object (a `Gc` derefs to `&T`, and
//!   interior-mutable std cells are `Trace` only for `NoGc` contents), so a
//!   `Member` inside the heap never moves out;
//! - hence reading a `Member` through a `&'a Member` (obtained from a `Gc<'a,
//!   _>`) yields a `Gc<'a, T>` that is safe for as long as the borrow.
//!
//! The slot is an `AtomicUsize`: the marker may read it on another thread
//! while a mutator writes it. Stores are `Release` and loads `Acquire`, so a
//! reader that sees a pointer also sees the object's initialised header and
//! value (free on x86-64, where both are plain moves).

use std::fmt;
use std::marker::PhantomData;
use std::ops::Deref;
use std::ptr::NonNull;
use std::sync::atomic::{AtomicUsize, Ordering};

use crate::mark::Tracer;
use crate::mutator::Mutator;
use crate::object::ObjectType;
use crate::trace::Trace;

/// A pointer to a GC object, valid while the `Mutator` it came from is
/// borrowed (it cannot be kept across [`Mutator::safepoint`]).
///
/// ```
/// use tricolor::{Heap, Trace};
///
/// #[derive(Trace)]
/// struct Point { x: i64, y: i64 }
///
/// let heap = Heap::new();
/// let m = heap.mutator();
/// let p = m.alloc(Point { x: 1, y: 2 });
/// assert_eq!(p.x + p.y, 3);
/// ```
pub struct Gc<'m, T> {
    base: NonNull<u8>,
    _marker: PhantomData<(&'m T, *const ())>,
}

impl<T> Clone for Gc<'_, T> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<T> Copy for Gc<'_, T> {}

impl<'m, T: Trace + 'static> Gc<'m, T> {
    /// # Safety
    /// `base` is a live object of type `T` that stays alive for `'m`.
    #[inline]
    pub(crate) unsafe fn from_base(base: usize) -> Gc<'m, T> {
        Gc {
            base: NonNull::new(base as *mut u8).expect("null GC object"),
            _marker: PhantomData,
        }
    }

    /// `from_base` for an address known not to be null (no check).
    ///
    /// # Safety
    /// As `from_base`, and `base` is not 0.
    #[inline(always)]
    pub(crate) unsafe fn from_nonnull_base(base: usize) -> Gc<'m, T> {
        Gc {
            // SAFETY: the caller guarantees `base` is not 0.
            base: unsafe { NonNull::new_unchecked(base as *mut u8) },
            _marker: PhantomData,
        }
    }

    /// The object's base address (the value sits at a fixed offset after it).
    #[inline]
    pub(crate) fn base(self) -> usize {
        self.base.as_ptr() as usize
    }

    /// The value, for the whole of `'m`.
    #[inline]
    pub fn get(self) -> &'m T {
        // SAFETY: the object is alive for 'm (the type's invariant) and was
        // initialised before its address was published; only shared
        // references to it are ever handed out.
        unsafe { &*((self.base() + ObjectType::<T>::OFFSET) as *const T) }
    }

    /// Whether two `Gc`s point at the same object.
    #[inline]
    pub fn ptr_eq(a: Gc<'_, T>, b: Gc<'_, T>) -> bool {
        a.base == b.base
    }

    /// The object's address, for hashing or identity only.
    #[inline]
    pub fn as_ptr(self) -> *const T {
        self.get()
    }
}

impl<T: Trace + 'static> Deref for Gc<'_, T> {
    type Target = T;
    #[inline]
    fn deref(&self) -> &T {
        (*self).get()
    }
}

impl<T: Trace + fmt::Debug + 'static> fmt::Debug for Gc<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.get(), f)
    }
}

impl<T: Trace + fmt::Display + 'static> fmt::Display for Gc<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self.get(), f)
    }
}

/// A GC pointer field inside a GC object: nullable, written only through
/// [`set`](Member::set), which runs the write barrier.
///
/// ```
/// use tricolor::{Heap, Member, Trace};
///
/// #[derive(Trace, Default)]
/// struct Node { next: Member<Node>, value: u32 }
///
/// let heap = Heap::new();
/// let m = heap.mutator();
/// let a = m.alloc(Node { value: 1, ..Node::default() });
/// let b = m.alloc(Node { value: 2, ..Node::default() });
/// a.next.set(&m, Some(b));
/// assert_eq!(a.next.get().unwrap().value, 2);
/// ```
pub struct Member<T> {
    slot: AtomicUsize,
    _marker: PhantomData<*const T>,
}

// SAFETY: a Member is an atomic word; sharing or sending it shares the
// target between threads, which is fine exactly when T is Send + Sync.
unsafe impl<T: Send + Sync> Send for Member<T> {}
// SAFETY: as above.
unsafe impl<T: Send + Sync> Sync for Member<T> {}

impl<T> Default for Member<T> {
    fn default() -> Self {
        Member::null()
    }
}

impl<T> Member<T> {
    /// An empty slot.
    pub const fn null() -> Member<T> {
        Member {
            slot: AtomicUsize::new(0),
            _marker: PhantomData,
        }
    }

    /// Whether the slot is empty.
    #[inline]
    pub fn is_null(&self) -> bool {
        self.slot.load(Ordering::Relaxed) == 0
    }

    #[inline]
    pub(crate) fn raw(&self) -> usize {
        self.slot.load(Ordering::Acquire)
    }
}

impl<T: Trace + 'static> Member<T> {
    /// The target, valid as long as the borrow of the slot.
    #[inline]
    pub fn get(&self) -> Option<Gc<'_, T>> {
        match self.raw() {
            0 => None,
            // A non-null Member lies inside a GC object (module comment),
            // borrowed through a `Gc<'m, _>`, so `'_` ends before the next
            // safepoint; a store replacing the target meanwhile shades it.
            // SAFETY: so the target, reachable when loaded, lives for `'_`.
            p => Some(unsafe { Gc::from_base(p) }),
        }
    }

    /// Store `value`, running the write barrier if marking is on.
    ///
    /// # Panics
    /// If this `Member` is not inside an object of `m`'s heap, or `value`
    /// belongs to another heap.
    #[inline(always)]
    pub fn set(&self, m: &Mutator, value: Option<Gc<'_, T>>) {
        let new = value.map_or(0, Gc::base);
        m.check_store(self as *const Self as usize, new);
        if m.marking() {
            m.write_barrier(self.slot.load(Ordering::Relaxed), new);
        }
        self.slot.store(new, Ordering::Release);
    }
}

// SAFETY: a Member's only GC pointer is its slot, reported here.
unsafe impl<T: Trace + 'static> Trace for Member<T> {
    #[inline]
    fn trace(&self, tracer: &mut Tracer<'_>) {
        tracer.edge(self.raw());
    }
}

impl<T> fmt::Debug for Member<T> {
    // The address only: following targets could loop on cyclic graphs.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Member({:#x})", self.raw())
    }
}
