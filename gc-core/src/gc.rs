//! `Gc<'m, T>`, the unrooted pointer, and `Member<T>`, the barriered pointer
//! slot inside GC objects.
//!
//! Why `Gc` is sound without being a root: it borrows the `Mutator` (`'m`),
//! and only `Mutator::safepoint` / `collect` / `blocking`, which take
//! `&mut Mutator`, let a cycle start or this thread's root scan happen. So
//! no `Gc` is alive at the points where the collector takes this thread's
//! roots, and between two such points nothing the thread can reach is
//! freed: a cycle that marks meanwhile marks it (snapshot at the beginning,
//! allocate-black), even one that ends inside an allocation (see
//! docs/design.md, "Roots, safepoints and the API's safety").
//!
//! `Member<T>` rules, which keep every non-null pointer traced:
//! - a `Member` made with [`Member::null`] holds nothing; [`Member::set`]
//!   stores only into a `Member` that lies inside a GC object of the
//!   mutator's heap (it panics otherwise, `barrier.rs`);
//! - [`Member::new`] (or `gc.into()`) makes a `Member` that points somewhere
//!   while it is still outside the heap, for an object about to be
//!   allocated. It must be inside an allocated object by the thread's next
//!   safepoint, or the process aborts there (`publish.rs`); until then its
//!   target is alive for the same reason a `Gc` is. Once allocated, the
//!   object owns it (directly, or in a container it owns such as a `Box`)
//!   and traces it. So a non-null `Member` that no GC object owns never
//!   outlives the stretch between two safepoints;
//! - safe code never gets `&mut` to a heap object (a `Gc` derefs to `&T`, and
//!   interior-mutable std cells are `Trace` only for `NoGc` contents), so a
//!   `Member` a GC object owns never moves out;
//! - hence reading a `Member` through a `&'a Member` (obtained from a `Gc<'a,
//!   _>`, or a local one within one safepoint-free stretch) yields a
//!   `Gc<'a, T>` that is safe for as long as the borrow.
//!
//! The slot is an `AtomicUsize`: the marker may read it on another thread
//! while a mutator writes it. Stores are `Release` and loads `Acquire`, so a
//! reader that sees a pointer also sees the object's initialised value and
//! its span's type tag (free on x86-64, where both are plain moves).

use std::fmt;
use std::marker::PhantomData;
use std::ops::Deref;
use std::ptr::NonNull;
use std::sync::atomic::{AtomicUsize, Ordering};

use crate::barrier::{self, Place};
use crate::mark::Tracer;
use crate::mutator::Mutator;
use crate::publish;
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

    /// The object's address, where its value starts (objects have no header).
    #[inline]
    pub(crate) fn base(self) -> usize {
        self.base.as_ptr() as usize
    }

    /// The value, for the whole of `'m`: a reference that outlives the
    /// `Gc` value it came from (`*gc` or method calls borrow the `Gc`
    /// itself). An associated function, as `Rc::as_ptr` is, so that method
    /// syntax on a `Gc` always reaches `T`: `list.get(0)` on a
    /// `Gc<GcVec<_>>` is the vector's `get`.
    ///
    /// ```
    /// use tricolor::{Gc, Heap};
    ///
    /// let heap = Heap::new();
    /// let m = heap.mutator();
    /// let name: &String = {
    ///     let gc = m.alloc(String::from("lox"));
    ///     Gc::as_ref(gc) // `&*gc` would borrow the local `gc`
    /// };
    /// assert_eq!(name, "lox");
    /// ```
    // Not `AsRef`: that trait's `as_ref(&self)` is a method, which would
    // shadow `T`'s own `as_ref`, and its reference would borrow the `Gc`
    // rather than last for `'m`.
    #[allow(clippy::should_implement_trait)]
    #[inline]
    pub fn as_ref(this: Self) -> &'m T {
        // SAFETY: the object is alive for 'm (the type's invariant) and was
        // initialised before its address was published; only shared
        // references to it are ever handed out.
        unsafe { &*(this.base() as *const T) }
    }

    /// Whether two `Gc`s point at the same object.
    #[inline]
    pub fn ptr_eq(a: Gc<'_, T>, b: Gc<'_, T>) -> bool {
        a.base == b.base
    }

    /// The object's address, for hashing or identity only.
    #[inline]
    pub fn as_ptr(this: Self) -> *const T {
        Gc::as_ref(this)
    }
}

impl<T: Trace + 'static> Deref for Gc<'_, T> {
    type Target = T;
    #[inline]
    fn deref(&self) -> &T {
        Gc::as_ref(*self)
    }
}

impl<T: Trace + fmt::Debug + 'static> fmt::Debug for Gc<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(Gc::as_ref(*self), f)
    }
}

impl<T: Trace + fmt::Display + 'static> fmt::Display for Gc<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(Gc::as_ref(*self), f)
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
    /// Invariant in `T`, as `Cell<T>` is: `set` writes a `T` through a
    /// shared reference, so `&Member<Sub>` must not become `&Member<Super>`.
    /// (Also `!Send`/`!Sync`; the impls below add them back.)
    _marker: PhantomData<*mut T>,
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
    /// A slot pointing at `target`, to be moved into an object about to be
    /// allocated: `m.alloc(Pair { car: Member::new(a), cdr: b.into() })`.
    ///
    /// The new `Member` must be inside an allocated object before this
    /// thread's next safepoint (or `collect`, `blocking`, or dropping the
    /// `Mutator`); otherwise the process aborts there with a message, since
    /// a pointer the collector cannot see may outlive its target. Do not
    /// keep it in a local collection or drop it unused.
    ///
    /// ```
    /// use tricolor::{Heap, Member, Trace};
    ///
    /// #[derive(Trace)]
    /// struct Pair { car: Member<String>, cdr: Member<String> }
    ///
    /// let heap = Heap::new();
    /// let mut m = heap.mutator();
    /// let (a, b) = (m.alloc("a".to_string()), m.alloc("b".to_string()));
    /// let pair = m.alloc(Pair { car: Member::new(a), cdr: b.into() });
    /// let pair = m.root(pair);
    /// m.collect();
    /// assert_eq!(pair.get(&m).cdr.get().unwrap().as_str(), "b");
    /// ```
    #[inline]
    pub fn new(target: Gc<'_, T>) -> Member<T> {
        publish::note_unpublished(target.base());
        Member {
            slot: AtomicUsize::new(target.base()),
            _marker: PhantomData,
        }
    }

    /// The target, valid as long as the borrow of the slot.
    #[inline]
    pub fn get(&self) -> Option<Gc<'_, T>> {
        match self.raw() {
            0 => None,
            // A non-null Member is owned by a GC object, borrowed through a
            // `Gc<'m, _>`, or is an unpublished one no object owns yet, whose
            // target lives until the next safepoint (module comment); either
            // way `'_` ends before the next safepoint, and a store replacing
            // the target meanwhile shades it.
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
    #[track_caller]
    pub fn set(&self, m: &Mutator, value: Option<Gc<'_, T>>) {
        let new = value.map_or(0, Gc::base);
        barrier::store(m, Place::Object("Member"), &self.slot, new, |w| w);
    }

    /// Copy `src`'s target into this slot: `set(m, src.get())`, cheaper
    /// when `src` is a slot of the same heap (its target needs no check
    /// then).
    ///
    /// # Panics
    /// As [`set`](Member::set).
    #[inline(always)]
    #[track_caller]
    pub fn copy_from(&self, m: &Mutator, src: &Member<T>) {
        barrier::copy(m, "Member", &self.slot, &src.slot, |w| w);
    }
}

impl<T: Trace + 'static> From<Gc<'_, T>> for Member<T> {
    /// As [`Member::new`].
    #[inline]
    fn from(target: Gc<'_, T>) -> Member<T> {
        Member::new(target)
    }
}

impl<T: Trace + 'static> From<Option<Gc<'_, T>>> for Member<T> {
    /// [`Member::new`] of the target, or [`Member::null`].
    #[inline]
    fn from(target: Option<Gc<'_, T>>) -> Member<T> {
        target.map_or_else(Member::null, Member::new)
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
