//! `GcArray<T>`: a fixed-length array whose elements live inside the GC
//! object itself.
//!
//! This is how pointer-holding sequences (value stacks, argument lists,
//! object fields, hash table buckets) are stored in the heap: a `Vec` keeps
//! its buffer outside the GC heap, where a [`Member`](crate::Member) cannot
//! hold a pointer. Elements are addressed in place, so an element that is a
//! `Member` (or a struct of them) can be `set` through the barrier like any
//! field, and the marker reads it without racing. Growing is done as Go does
//! with slices: allocate a longer array, copy, and let the old one die.
//!
//! Layout: the object value is `GcArray<T>` (a length word) immediately
//! followed by `len` elements. Initialisation writes the length after each
//! element, so an initialiser that panics leaves an object whose recorded
//! length covers exactly the elements that exist; it is unreachable and
//! its destructor drops those.
//!
//! Reading an element is one load after the bounds check: the elements'
//! address is computed from the array's, not loaded from a pointer field.
//! A pointer derived from `&self` would only cover the length word, so the
//! computed address takes the exposed provenance of the heap's memory (an
//! integer-to-pointer cast), the same provenance every `Gc` gets
//! from its address (`gc.rs`): the heap's mapping is exposed when the
//! allocator turns its base into an integer.

use std::ops::Deref;

use crate::mark::Tracer;
use crate::trace::Trace;

/// A fixed-length array in the GC heap. Allocate with
/// [`Mutator::alloc_array`](crate::Mutator::alloc_array) (or
/// [`alloc_slice_copy`](crate::Mutator::alloc_slice_copy) for plain data).
/// An array whose elements hold no GC pointer (`u8`, `f64`, ...) is
/// allocated in a noscan span: the marker marks it without ever reading
/// its elements. Arrays of [`Slot`](crate::Slot)s grow by
/// [`resized`](GcArray::resized) copies; [`GcVec`](crate::GcVec) does that
/// for you.
///
/// ```
/// use tricolor::{Heap, Member};
///
/// let heap = Heap::new();
/// let m = heap.mutator();
/// let names = m.alloc_array(3, |i| format!("item {i}"));
/// assert_eq!(names[2], "item 2");
/// let slots = m.alloc_array(2, |_| Member::<String>::null());
/// slots[0].set(&m, Some(m.alloc(String::from("x"))));
/// assert_eq!(slots[0].get().unwrap().as_str(), "x");
/// ```
#[repr(C)]
pub struct GcArray<T> {
    len: usize,
    /// Where the elements start; they are reached through `elems_ptr`.
    elems: [T; 0],
}

impl<T> GcArray<T> {
    /// Bytes the value of an array of `len` elements needs.
    pub(crate) fn value_size(len: usize) -> Option<usize> {
        len.checked_mul(std::mem::size_of::<T>())?
            .checked_add(std::mem::size_of::<GcArray<T>>())
    }

    /// Initialise an array of `len` elements at `value` (uninitialised memory
    /// of `value_size(len)` bytes).
    ///
    /// # Safety
    /// `value` is valid for writes of `value_size(len)` bytes, aligned for
    /// `GcArray<T>`, and not visible to any other thread yet.
    pub(crate) unsafe fn init(value: *mut GcArray<T>, len: usize, mut f: impl FnMut(usize) -> T) {
        // SAFETY: by the contract the memory is ours and large enough.
        unsafe {
            (*value).len = 0;
            let elems = std::ptr::addr_of_mut!((*value).elems) as *mut T;
            for i in 0..len {
                elems.add(i).write(f(i));
                (*value).len = i + 1;
            }
        }
    }

    /// The first element, with the provenance of the heap's memory (module
    /// comment).
    #[inline(always)]
    fn elems_ptr(&self) -> *mut T {
        let addr = self as *const GcArray<T> as usize + std::mem::offset_of!(GcArray<T>, elems);
        // An integer-to-pointer cast: the pointer takes exposed provenance
        // (`ptr::with_exposed_provenance_mut`, after this crate's MSRV).
        addr as *mut T
    }
}

impl<T> Deref for GcArray<T> {
    type Target = [T];
    fn deref(&self) -> &[T] {
        // SAFETY: `len` elements follow the length word (module comment), all
        // initialised, and live as long as the object; the pointer has the
        // provenance of the heap's memory, which covers them.
        unsafe { std::slice::from_raw_parts(self.elems_ptr(), self.len) }
    }
}

impl<T> Drop for GcArray<T> {
    fn drop(&mut self) {
        if std::mem::needs_drop::<T>() {
            let elems = std::ptr::slice_from_raw_parts_mut(self.elems_ptr(), self.len);
            // SAFETY: the first `len` elements are initialised and this is
            // their only drop (the sweeper drops each object once); the
            // pointer has the heap memory's provenance, which covers them.
            unsafe { std::ptr::drop_in_place(elems) }
        }
    }
}

// SAFETY: the elements are the array's only contents and each is traced.
unsafe impl<T: Trace> Trace for GcArray<T> {
    const NEEDS_TRACE: bool = T::NEEDS_TRACE;
    fn trace(&self, tracer: &mut Tracer<'_>) {
        if T::NEEDS_TRACE {
            self.iter().for_each(|e| e.trace(tracer));
        }
    }
}
