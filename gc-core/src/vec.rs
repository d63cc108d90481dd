//! `GcVec<S>`: a growable vector of slots in the GC heap, and
//! `GcArray::resized`, the copy it grows by.
//!
//! Layout: the vector is a `Member` to a backing `GcArray<S>` (its
//! capacity) and a length. The marker reads only the `Member` and the
//! backing array, never the length: it traces every element of the array,
//! so the invariants that keep it exact are about the elements:
//! - every store into an element is the slot's own barriered `set`;
//! - elements at and above the length hold no pointer (`S::null()`): `pop`,
//!   `remove`, `truncate` and `clear` null the slots they give up, so a
//!   removed object is not kept alive by a slot nobody can read;
//! - growing builds the whole new array first, each element a tallied
//!   `S::new(old.get())` made inside `alloc_array`'s initialiser (allocation
//!   then shades them while marking, `publish.rs`), and only then switches
//!   the `Member` with one `set`. So at every moment the marker reaches
//!   every live element through the array it can see, and the old array
//!   stays reachable (shaded by the switch's deletion barrier) while any
//!   borrow of it may still be read.
//!
//! Borrowing the backing array (`as_slice`, `as_array`) for as long as
//! `&self`, for loops that index the vector many times: the array was the
//! vector's when loaded, so it was reachable; the borrow of `self` ends
//! before this thread's next safepoint (the vector was reached through a
//! `Gc` or a root's `get`, `gc.rs`), and no cycle can start or end before
//! then. A growth meanwhile replaces the array through the `Member`'s
//! barriered `set`, which shades the old one while marking, so it outlives
//! the borrow as any `Member::get` target does. It is then no longer the
//! vector's (stores into it are barriered stores into a live object that
//! the vector has dropped), so a borrower that grows the vector borrows the
//! array again.
//!
//! The length is an `AtomicUsize` with relaxed ordering (as cheap as a plain
//! word) rather than a `Cell`, because a GC object must be `Sync` to be
//! pointed at by a `Member`. Two threads mutating one vector at once (it can
//! be shared through a `GlobalRoot`) may lose updates but stay memory-safe:
//! every access is bounds-checked against the array it reads.
//!
//! A `GcVec` outside the heap cannot hold anything: growing stores into its
//! `Member`, which panics when the vector is not inside a GC object.

use std::fmt;
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};

use crate::array::GcArray;
use crate::gc::{Gc, Member};
use crate::mark::Tracer;
use crate::mutator::Mutator;
use crate::slot::Slot;
use crate::trace::Trace;

/// Capacity of the first backing array.
const MIN_CAPACITY: usize = 4;

/// A growable vector of [`Slot`]s in the GC heap: `Member`s, `NanBox`es,
/// [`Plain`](crate::Plain) words or an interpreter's own value slot. Every
/// change goes through the slots' write barrier; growth doubles the backing
/// [`GcArray`].
///
/// Allocate it empty (`m.alloc(GcVec::new())`), or inside another object
/// (a field of type `GcVec<S>`); it needs to be inside a GC object to grow.
/// Method calls on a `Gc<GcVec<S>>` reach the vector (`list.get(index)`);
/// [`Gc::as_ref`](crate::Gc::as_ref) gives a `&GcVec<S>` that outlives the
/// `Gc` value.
///
/// ```
/// use tricolor::{GcVec, Heap, Member};
///
/// let heap = Heap::new();
/// let mut m = heap.mutator();
/// let list = m.alloc(GcVec::<Member<String>>::new());
/// for i in 0..10 {
///     list.push(&m, Some(m.alloc(format!("item {i}"))));
/// }
/// list.remove(&m, 0);
/// assert_eq!(list.len(), 9);
/// assert_eq!(list.get(0).unwrap().unwrap().as_str(), "item 1");
/// let last = list.pop(&m).unwrap().unwrap();
/// assert_eq!(last.as_str(), "item 9");
/// let list = m.root(list);
/// m.collect();
/// let v = list.get(&m);
/// assert_eq!(v.iter().flatten().map(|s| s.len()).sum::<usize>(), 8 * 6);
/// ```
pub struct GcVec<S> {
    buffer: Member<GcArray<S>>,
    len: AtomicUsize,
}

impl<S: Slot> Default for GcVec<S> {
    fn default() -> GcVec<S> {
        GcVec::new()
    }
}

impl<S: Slot> GcVec<S> {
    /// An empty vector; it allocates on the first push.
    pub const fn new() -> GcVec<S> {
        GcVec {
            buffer: Member::null(),
            len: AtomicUsize::new(0),
        }
    }

    /// An empty vector with room for `capacity` elements, to be allocated
    /// before this thread's next safepoint, like [`Member::new`]:
    /// `m.alloc(GcVec::with_capacity(&m, 100))`.
    ///
    /// ```
    /// use tricolor::{GcVec, Heap, Plain};
    ///
    /// let heap = Heap::new();
    /// let m = heap.mutator();
    /// let v = m.alloc(GcVec::<Plain<u32>>::with_capacity(&m, 100));
    /// assert!(v.capacity() >= 100 && v.is_empty());
    /// ```
    #[track_caller]
    pub fn with_capacity(m: &Mutator, capacity: usize) -> GcVec<S> {
        GcVec {
            buffer: Member::new(m.alloc_array(capacity, |_| S::null())),
            len: AtomicUsize::new(0),
        }
    }

    /// The number of elements.
    #[inline(always)]
    pub fn len(&self) -> usize {
        self.len.load(Relaxed)
    }

    /// Whether there are no elements.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// How many elements fit before the next growth.
    #[inline]
    pub fn capacity(&self) -> usize {
        self.buffer.get().map_or(0, |b| b.len())
    }

    /// The elements' slots, from the backing array as it is now (a later
    /// growth moves the vector to a new array; this slice stays readable
    /// but is no longer the vector's). For loops that index a vector many
    /// times, such as an interpreter's stack.
    #[inline]
    pub fn as_slice(&self) -> &[S] {
        match self.buffer.get() {
            Some(b) => {
                let b = Gc::as_ref(b);
                &b[..self.len().min(b.len())]
            }
            None => &[],
        }
    }

    /// The backing array itself, when the vector fills it exactly
    /// (`len() == capacity()`); `None` otherwise. A `&GcArray` is one word
    /// where a slice is two, which matters in an interpreter's dispatch
    /// loop: keep the vector's length at its capacity (`resize(m,
    /// capacity(), fill)` after growing) and the stack top in a local, and
    /// index the array. Valid for the borrow of `self`, as
    /// [`as_slice`](Self::as_slice); a growth moves the vector to a new
    /// array, so borrow it again after growing.
    ///
    /// ```
    /// use tricolor::{GcVec, Heap, Plain};
    ///
    /// let heap = Heap::new();
    /// let m = heap.mutator();
    /// let stack = m.alloc(GcVec::<Plain<f64>>::with_capacity(&m, 8));
    /// stack.resize(&m, stack.capacity(), 0.0);
    /// let mut slots = stack.as_array().unwrap();
    /// let mut top = 0;
    /// for i in 0..20 {
    ///     if top == slots.len() {
    ///         stack.reserve(&m, 1);
    ///         stack.resize(&m, stack.capacity(), 0.0);
    ///         slots = stack.as_array().unwrap(); // the new backing array
    ///     }
    ///     slots[top].set(i as f64);
    ///     top += 1;
    /// }
    /// assert_eq!(stack.get(19), Some(19.0));
    /// assert!(stack.len() >= 20);
    /// ```
    #[inline]
    pub fn as_array(&self) -> Option<&GcArray<S>> {
        let b = Gc::as_ref(self.buffer.get()?);
        (b.len() == self.len()).then_some(b)
    }

    /// The slot of element `index`.
    #[inline]
    pub fn slot(&self, index: usize) -> Option<&S> {
        self.as_slice().get(index)
    }

    /// Element `index`.
    #[inline]
    pub fn get(&self, index: usize) -> Option<S::Value<'_>> {
        self.slot(index).map(S::get)
    }

    /// The last element.
    #[inline]
    pub fn last(&self) -> Option<S::Value<'_>> {
        self.as_slice().last().map(S::get)
    }

    /// The elements in order. Elements pushed while iterating are visited
    /// too; it ends at the first index past the length.
    pub fn iter(&self) -> impl Iterator<Item = S::Value<'_>> + '_ {
        (0..).map_while(move |i| self.get(i))
    }

    /// Replace element `index`.
    ///
    /// # Panics
    /// If `index` is out of bounds, or as [`Slot::set`].
    #[inline]
    #[track_caller]
    pub fn set(&self, m: &Mutator, index: usize, value: S::Value<'_>) {
        match self.slot(index) {
            Some(s) => s.set(m, value),
            None => out_of_bounds(index, self.len()),
        }
    }

    /// Append `value`, growing the backing array if it is full.
    ///
    /// # Panics
    /// If the vector is not inside a GC object of `m`'s heap, the heap is
    /// out of memory, or as [`Slot::set`].
    #[track_caller]
    pub fn push(&self, m: &Mutator, value: S::Value<'_>) {
        let len = self.len();
        let buffer = self.reserve_for(m, len + 1);
        buffer[len].set(m, value);
        self.len.store(len + 1, Relaxed);
    }

    /// Remove and return the last element; its slot is nulled, so the
    /// vector no longer keeps it alive.
    #[track_caller]
    pub fn pop(&self, m: &Mutator) -> Option<S::Value<'_>> {
        let slots = self.as_slice();
        let last = slots.last()?;
        // The old value stays readable for the borrow of `self`: clearing
        // runs the deletion barrier while marking, and no cycle can start
        // before the mutator's next safepoint (as for `Member::get`).
        let value = last.get();
        last.set(m, S::null().get());
        self.len.store(slots.len() - 1, Relaxed);
        Some(value)
    }

    /// Insert `value` at `index`, shifting the elements after it up.
    ///
    /// # Panics
    /// If `index > len`, or as [`push`](Self::push).
    #[track_caller]
    pub fn insert(&self, m: &Mutator, index: usize, value: S::Value<'_>) {
        let len = self.len();
        if index > len {
            out_of_bounds(index, len);
        }
        let buffer = self.reserve_for(m, len + 1);
        for i in (index..len).rev() {
            buffer[i + 1].set(m, buffer[i].get());
        }
        buffer[index].set(m, value);
        self.len.store(len + 1, Relaxed);
    }

    /// Remove and return element `index`, shifting the elements after it
    /// down; the slot freed at the end is nulled.
    ///
    /// # Panics
    /// If `index` is out of bounds.
    #[track_caller]
    pub fn remove(&self, m: &Mutator, index: usize) -> S::Value<'_> {
        let slots = self.as_slice();
        let Some(removed) = slots.get(index) else {
            out_of_bounds(index, slots.len());
        };
        // Readable for the borrow of `self`, as in `pop`.
        let value = removed.get();
        for i in index + 1..slots.len() {
            slots[i - 1].set(m, slots[i].get());
        }
        slots[slots.len() - 1].set(m, S::null().get());
        self.len.store(slots.len() - 1, Relaxed);
        value
    }

    /// Keep the first `len` elements and null the slots of the rest.
    #[track_caller]
    pub fn truncate(&self, m: &Mutator, len: usize) {
        let slots = self.as_slice();
        if len >= slots.len() {
            return;
        }
        // Shorten first, so that a reader never sees a nulled element.
        self.len.store(len, Relaxed);
        let null = S::null();
        slots[len..].iter().for_each(|s| s.set(m, null.get()));
    }

    /// Remove every element (the capacity stays).
    #[track_caller]
    pub fn clear(&self, m: &Mutator) {
        self.truncate(m, 0);
    }

    /// Make the length `len`: truncate, or append copies of `value`.
    ///
    /// # Panics
    /// As [`push`](Self::push).
    #[track_caller]
    pub fn resize(&self, m: &Mutator, len: usize, value: S::Value<'_>) {
        let old = self.len();
        if len <= old {
            return self.truncate(m, len);
        }
        let buffer = self.reserve_for(m, len);
        buffer[old..len].iter().for_each(|s| s.set(m, value));
        self.len.store(len, Relaxed);
    }

    /// Make room for at least `additional` more elements.
    ///
    /// # Panics
    /// As [`push`](Self::push).
    #[track_caller]
    pub fn reserve(&self, m: &Mutator, additional: usize) {
        let needed = self
            .len()
            .checked_add(additional)
            .expect("capacity overflow");
        self.reserve_for(m, needed);
    }

    /// The backing array, grown to hold at least `needed` elements.
    #[inline]
    #[track_caller]
    fn reserve_for(&self, m: &Mutator, needed: usize) -> &GcArray<S> {
        match self.buffer.get() {
            Some(b) if b.len() >= needed => Gc::as_ref(b),
            _ => self.grow(m, needed),
        }
    }

    /// Move the elements to a new array of at least twice the capacity.
    #[cold]
    #[inline(never)]
    #[track_caller]
    fn grow(&self, m: &Mutator, needed: usize) -> &GcArray<S> {
        let new = match self.buffer.get() {
            // Slots past the length are null, so copying them is harmless.
            Some(old) => {
                let capacity = needed.max(old.len() * 2).max(MIN_CAPACITY);
                old.resized(m, capacity, S::null().get())
            }
            None => m.alloc_array(needed.max(MIN_CAPACITY), |_| S::null()),
        };
        self.buffer.set(m, Some(new));
        Gc::as_ref(self.buffer.get().expect("just set"))
    }
}

impl<S: Slot> GcArray<S> {
    /// A new array of `len` slots holding this array's values (as many as
    /// fit) followed by copies of `fill`: how an array of slots grows, for
    /// code that keeps the array itself rather than a [`GcVec`] (an
    /// interpreter's stack, whose top lives in a local). Store the new
    /// array where the old one was with one `set`.
    ///
    /// The copies are made while the new array is built, with
    /// [`Slot::new`], so the allocation shades them while marking; the old
    /// array is unchanged.
    ///
    /// ```
    /// use tricolor::{Heap, Member, NanBox, NanValue, Trace};
    /// use tricolor::GcArray;
    ///
    /// #[derive(Trace)]
    /// struct Machine { stack: Member<GcArray<NanBox<String>>> }
    ///
    /// let heap = Heap::new();
    /// let m = heap.mutator();
    /// let vm = m.alloc(Machine { stack: m.alloc_array(2, |_| NanBox::from_f64(1.0)).into() });
    /// let old = vm.stack.get().unwrap();
    /// old[1].set(&m, NanValue::from_gc(m.alloc(String::from("top"))));
    /// vm.stack.set(&m, Some(old.resized(&m, 4, NanValue::from_f64(0.0))));
    /// let stack = vm.stack.get().unwrap();
    /// assert_eq!(stack.len(), 4);
    /// assert_eq!(stack[1].get().as_gc().unwrap().as_str(), "top");
    /// assert_eq!(f64::from_bits(stack[3].get().bits()), 0.0);
    /// ```
    #[track_caller]
    pub fn resized<'m>(
        &self,
        m: &'m Mutator,
        len: usize,
        fill: S::Value<'_>,
    ) -> Gc<'m, GcArray<S>> {
        // The new array holds the values before anyone can see it; the
        // copies are tallied slots, shaded by the allocation while marking.
        m.alloc_array(len, |i| match self.get(i) {
            Some(slot) => S::new(slot.get()),
            None => S::new(fill),
        })
    }
}

#[cold]
#[track_caller]
fn out_of_bounds(index: usize, len: usize) -> ! {
    panic!("GcVec index {index} out of bounds (length {len})")
}

// SAFETY: the vector's only GC pointer is its backing array, traced here;
// the array traces its elements.
unsafe impl<S: Slot> Trace for GcVec<S> {
    #[inline]
    fn trace(&self, tracer: &mut Tracer<'_>) {
        self.buffer.trace(tracer);
    }
}

impl<S: Slot> fmt::Debug for GcVec<S> {
    // The length only: elements may point back at the vector.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GcVec")
            .field("len", &self.len())
            .field("capacity", &self.capacity())
            .finish()
    }
}
