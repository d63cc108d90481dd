//! Strings and plain-data slices in the GC heap: `GcStr`,
//! `Mutator::alloc_str` and `Mutator::alloc_slice_copy`.
//!
//! A `GcStr` is one object: a `GcArray<u8>` (length word, then the bytes)
//! under its own type, so its span's tag names `GcStr` and it derefs to `str`.
//! Invariant: the bytes are valid UTF-8; the only constructor copies them
//! from a `&str`, and nothing can change them afterwards (a `GcArray` gives
//! out shared references only, and `u8` has no interior mutability).
//!
//! Neither kind of object holds a GC pointer (`NEEDS_TRACE` is false), so
//! both are allocated in noscan spans: the marker marks them and never
//! reads their contents, whatever their length (`GcArray::trace` also
//! returns at once for such element types, see `array.rs`).

use std::borrow::Borrow;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::ops::Deref;

use gc_alloc::AllocError;

use crate::array::GcArray;
use crate::gc::Gc;
use crate::mark::Tracer;
use crate::mutator::Mutator;
use crate::trace::{NoGc, Trace};

/// An immutable string in the GC heap, in one object. Allocate it with
/// [`Mutator::alloc_str`]; it derefs to `str`, and compares and hashes by
/// content.
///
/// ```
/// use tricolor::{GcStr, Heap};
///
/// let heap = Heap::new();
/// let m = heap.mutator();
/// let s = m.alloc_str("héllo");
/// assert_eq!(s.len(), 6);
/// assert!(s.starts_with("hé"));
/// assert_eq!(*s, *m.alloc_str("héllo"));
/// assert_eq!(format!("{s} {s:?}"), "héllo \"héllo\"");
/// ```
#[repr(transparent)]
pub struct GcStr {
    bytes: GcArray<u8>,
}

impl GcStr {
    /// The text.
    #[inline]
    pub fn as_str(&self) -> &str {
        // SAFETY: the bytes were copied from a `&str` and never change
        // (module invariant).
        unsafe { std::str::from_utf8_unchecked(&self.bytes) }
    }
}

impl Deref for GcStr {
    type Target = str;
    #[inline]
    fn deref(&self) -> &str {
        self.as_str()
    }
}

impl AsRef<str> for GcStr {
    fn as_ref(&self) -> &str {
        self.as_str()
    }
}

/// Hashes and compares as the `str`, so maps keyed by `GcStr` contents can
/// be searched with a `&str` ([`GcMap::get_by`](crate::GcMap::get_by)).
impl Borrow<str> for GcStr {
    fn borrow(&self) -> &str {
        self.as_str()
    }
}

impl PartialEq for GcStr {
    fn eq(&self, other: &GcStr) -> bool {
        self.as_str() == other.as_str()
    }
}

impl Eq for GcStr {}

impl PartialEq<str> for GcStr {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

impl PartialEq<&str> for GcStr {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

impl PartialOrd for GcStr {
    fn partial_cmp(&self, other: &GcStr) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for GcStr {
    fn cmp(&self, other: &GcStr) -> std::cmp::Ordering {
        self.as_str().cmp(other.as_str())
    }
}

impl Hash for GcStr {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.as_str().hash(state)
    }
}

impl fmt::Display for GcStr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self.as_str(), f)
    }
}

impl fmt::Debug for GcStr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

// SAFETY: a GcStr is bytes; it holds no GC pointer.
unsafe impl Trace for GcStr {
    const NEEDS_TRACE: bool = false;
    #[inline]
    fn trace(&self, _: &mut Tracer<'_>) {}
}

// SAFETY: as above.
unsafe impl NoGc for GcStr {}

impl Mutator {
    /// Copy `s` into a new [`GcStr`].
    ///
    /// # Panics
    /// If the heap is out of memory (see [`try_alloc_str`](Self::try_alloc_str)).
    #[track_caller]
    pub fn alloc_str(&self, s: &str) -> Gc<'_, GcStr> {
        self.try_alloc_str(s).unwrap_or_else(|e| {
            panic!(
                "tricolor: cannot allocate a string of {} bytes: {e}",
                s.len()
            )
        })
    }

    /// Copy `s` into a new [`GcStr`], or report why the heap cannot hold it.
    ///
    /// ```
    /// use tricolor::Heap;
    ///
    /// let heap = Heap::new();
    /// let m = heap.mutator();
    /// assert_eq!(m.try_alloc_str("ok").unwrap().as_str(), "ok");
    /// ```
    pub fn try_alloc_str(&self, s: &str) -> Result<Gc<'_, GcStr>, AllocError> {
        let bytes = s.as_bytes();
        // SAFETY: `GcStr` is `repr(transparent)` over `GcArray<u8>`, neither
        // traces nor drops anything, and the array is initialised with the
        // bytes of a `str`, so it is valid UTF-8 as `GcStr` requires.
        unsafe { self.try_alloc_array_as(bytes.len(), |i| bytes[i]) }
    }

    /// Copy a slice of plain data into a new [`GcArray`], e.g. a `&[f64]`
    /// or `&[u8]`. The array holds no GC pointer: it is allocated in a
    /// noscan span, and the marker never walks its elements.
    ///
    /// # Panics
    /// If the heap is out of memory.
    ///
    /// ```
    /// use tricolor::Heap;
    ///
    /// let heap = Heap::new();
    /// let m = heap.mutator();
    /// let samples = m.alloc_slice_copy(&[1.0, 2.5, 4.0]);
    /// assert_eq!(samples.iter().sum::<f64>(), 7.5);
    /// ```
    #[track_caller]
    pub fn alloc_slice_copy<T: NoGc + Trace + Copy + Send + 'static>(
        &self,
        s: &[T],
    ) -> Gc<'_, GcArray<T>> {
        self.alloc_array(s.len(), |i| s[i])
    }
}
