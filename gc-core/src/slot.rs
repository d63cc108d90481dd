//! `Slot`: what the heap containers (`GcVec`, `GcMap`) store, one value per
//! element, so that they are generic over the kind of value.
//!
//! A slot is a field that may sit inside a GC object and be changed through
//! a shared reference: a [`Member`] (a nullable pointer), a [`NanBox`] (a
//! NaN-boxed value word), a [`Plain`](crate::Plain) (a word of plain data),
//! or a user type built from those (an interpreter's value slot). The
//! trait only names operations each of them already has; it adds no power:
//! - `get` borrows the slot, so what it returns cannot outlive a safepoint
//!   (the rules in `gc.rs`);
//! - `set` is the slot's own barriered store (`barrier::store`), which
//!   checks that the slot is in the mutator's heap;
//! - `new` is the tallied constructor for a slot about to go into an object
//!   being allocated (`publish.rs`), `null` a slot that holds no pointer.
//!
//! So the trait is safe to implement: an implementation can only call
//! those safe operations, and the containers rely on nothing else from it
//! for soundness (a wrong `get` gives wrong answers, never a dangling
//! pointer). Slots must be `Send + Sync` because a `Member` to a container
//! is `Send` only if the container is `Sync` (objects are shared between
//! mutator threads through `GlobalRoot`s).

use crate::gc::{Gc, Member};
use crate::mutator::Mutator;
use crate::nanbox::{NanBox, NanValue};
use crate::trace::Trace;

/// A value field that can live inside a GC object and be changed through a
/// shared reference: the element type of [`GcVec`](crate::GcVec) and the
/// key and value types of [`GcMap`](crate::GcMap).
///
/// Implemented by [`Member<T>`] (value `Option<Gc<T>>`), [`NanBox<T>`]
/// (value [`NanValue`]) and [`Plain<T>`](crate::Plain) (value `T`, plain
/// data). An interpreter implements it for its own value slot by
/// delegating to one of these:
///
/// ```
/// use tricolor::{Gc, GcVec, Heap, Member, Mutator, NanBox, NanValue, Slot, Trace};
///
/// /// A value slot: a number or a string, one word.
/// #[derive(Trace)]
/// struct Value(NanBox<String>);
///
/// impl Slot for Value {
///     type Value<'a> = NanValue<'a, String>;
///     fn null() -> Value { Value(NanBox::null()) }
///     fn new(value: NanValue<'_, String>) -> Value { Value(NanBox::new(value)) }
///     fn get(&self) -> NanValue<'_, String> { self.0.get() }
///     fn set(&self, m: &Mutator, value: NanValue<'_, String>) { self.0.set(m, value) }
/// }
///
/// let heap = Heap::new();
/// let m = heap.mutator();
/// let values = m.alloc(GcVec::<Value>::new());
/// values.push(&m, NanValue::from_f64(1.0));
/// values.push(&m, NanValue::from_gc(m.alloc(String::from("two"))));
/// assert_eq!(values.get(1).unwrap().as_gc().unwrap().as_str(), "two");
/// ```
///
/// # Composite mutable objects
///
/// A GC object whose fields change is written as a struct of slots and
/// atomics, each field changed on its own; the marker may read any field at
/// any time, so each pointer field is its own atomic slot with its own
/// barriered store:
///
/// ```
/// use std::sync::Mutex;
/// use tricolor::{GcMap, GcStr, Heap, Member, Plain, Trace};
///
/// #[derive(Trace)]
/// struct Environment {
///     /// Pointer fields: one slot each, changed with `set`.
///     parent: Member<Environment>,
///     variables: GcMap<Member<GcStr>, Member<GcStr>>,
///     /// A word of plain data: an atomic, no barrier.
///     depth: Plain<u32>,
///     /// Plain data that changes together: one lock, no barrier (the
///     /// marker never reads it: `Mutex` is `Trace` only for plain data).
///     stats: Mutex<(u64, String)>,
/// }
///
/// let heap = Heap::new();
/// let m = heap.mutator();
/// let global = m.alloc(Environment {
///     parent: Member::null(),
///     variables: GcMap::new(),
///     depth: Plain::new(0),
///     stats: Mutex::new((0, String::new())),
/// });
/// let local = m.alloc(Environment {
///     parent: global.into(),
///     variables: GcMap::new(),
///     depth: Plain::new(global.depth.get() + 1),
///     stats: Mutex::new((0, String::from("local"))),
/// });
/// local.variables.insert(&m, Some(m.alloc_str("x")), Some(m.alloc_str("1")));
/// local.stats.lock().unwrap().0 += 1;
/// assert_eq!(local.depth.get(), 1);
/// ```
///
/// There is no `RefCell`-like cell that lends `&mut` to a struct holding
/// pointer slots (gc-arena's `RefLock`): with `&mut`, safe code could
/// `std::mem::take` a `Member` out of the heap, keep it on the stack past a
/// safepoint where the marker cannot see it, and read it after its target
/// was freed. A `&mut` to the plain fields alone would not help either:
/// the marker reads the object through `&T` while the mutator runs, and a
/// `&mut` to any part of it at the same time is undefined behaviour. Hence
/// the std cells are `Trace` only for plain (`NoGc`) contents.
pub trait Slot: Trace + Send + Sync + 'static {
    /// What the slot holds, as read out of it: valid for as long as the
    /// slot is borrowed, like a [`Gc`].
    type Value<'a>: Copy;

    /// A slot holding no GC pointer (a null pointer, a nil word, the
    /// default plain value): what containers fill unused room with.
    fn null() -> Self;

    /// A slot holding `value`, to be moved into an object about to be
    /// allocated (see [`Member::new`]: a slot made with a pointer must be
    /// inside an allocated object before this thread's next safepoint).
    fn new(value: Self::Value<'_>) -> Self;

    /// The value, valid as long as the borrow of the slot.
    fn get(&self) -> Self::Value<'_>;

    /// Store `value`, through the write barrier.
    ///
    /// # Panics
    /// If the slot is not inside an object of `m`'s heap, or `value`
    /// belongs to another heap.
    fn set(&self, m: &Mutator, value: Self::Value<'_>);
}

impl<T: Trace + Send + Sync + 'static> Slot for Member<T> {
    type Value<'a> = Option<Gc<'a, T>>;

    #[inline]
    fn null() -> Member<T> {
        Member::null()
    }

    #[inline]
    fn new(value: Option<Gc<'_, T>>) -> Member<T> {
        Member::from(value)
    }

    #[inline(always)]
    fn get(&self) -> Option<Gc<'_, T>> {
        Member::get(self)
    }

    #[inline(always)]
    #[track_caller]
    fn set(&self, m: &Mutator, value: Option<Gc<'_, T>>) {
        Member::set(self, m, value)
    }
}

impl<T: Trace + Send + Sync + 'static> Slot for NanBox<T> {
    type Value<'a> = NanValue<'a, T>;

    #[inline]
    fn null() -> NanBox<T> {
        NanBox::null()
    }

    #[inline]
    fn new(value: NanValue<'_, T>) -> NanBox<T> {
        NanBox::new(value)
    }

    #[inline(always)]
    fn get(&self) -> NanValue<'_, T> {
        NanBox::get(self)
    }

    #[inline(always)]
    #[track_caller]
    fn set(&self, m: &Mutator, value: NanValue<'_, T>) {
        NanBox::set(self, m, value)
    }
}
