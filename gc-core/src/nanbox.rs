//! `NanBox<T>`, a one-word value slot for dynamically typed VMs, and
//! `NanValue<'a, T>`, the word loaded from it.
//!
//! Interpreters usually represent a value as one 64-bit word: an `f64` as
//! its own bits, and everything else (nil, booleans, object pointers) hidden
//! in the payload of NaN bit patterns no arithmetic produces. A `Member`
//! next to a bits word costs two words per slot and two loads per read;
//! this module lets the collector trace the single word instead.
//!
//! Encoding. A word whose top 16 bits are `0xFFFC` (sign set, exponent all
//! ones, quiet bit and the bit below it set: a negative quiet NaN) is a GC
//! pointer, the object's address in the low 48 bits. Every other word is
//! opaque to the collector and belongs to the user: numbers (through
//! [`NanValue::from_f64`], which stores every NaN as the default quiet NaN
//! `0x7FF8…`, so no number collides with the pointer pattern or with the
//! user's own tags) and the user's immediates, tagged in any other NaN
//! payload. Heap addresses
//! fit in 48 bits: [`HeapBuilder::build`](crate::HeapBuilder::build)
//! refuses a reservation that ends above 2^48.
//!
//! Soundness follows `Member`'s rules (see `gc.rs`): a `NanBox` made from
//! bits or a number holds no pointer; [`NanBox::set`] stores only into a
//! `NanBox` inside a GC object of the mutator's heap (it panics otherwise,
//! whatever the value); [`NanBox::new`] of a pointer value is an unpublished
//! slot that must be inside an allocated object by the next safepoint
//! (`publish.rs`); a `NanValue` borrows the slot it was loaded from (or the
//! `Gc` it was made from), so it cannot be held across a safepoint. Every
//! store runs the hybrid barrier while marking, including a number
//! overwriting a pointer: the deletion half must see the pointer that goes
//! away.

use std::fmt;
use std::marker::PhantomData;
use std::sync::atomic::{AtomicUsize, Ordering};

use crate::barrier::{self, Place};
use crate::gc::Gc;
use crate::mark::Tracer;
use crate::mutator::Mutator;
use crate::publish;
use crate::trace::Trace;

/// The top 16 bits of a word that holds a GC pointer.
const POINTER_TAG: u64 = 0xFFFC << 48;
const TAG_MASK: u64 = 0xFFFF << 48;
const ADDRESS_MASK: u64 = (1 << 48) - 1;

/// The one NaN [`NanValue::from_f64`] produces.
const CANONICAL_NAN: u64 = 0x7FF8 << 48;

/// Whether `word` has the pointer pattern.
#[inline(always)]
const fn is_pointer(word: u64) -> bool {
    word & TAG_MASK == POINTER_TAG
}

/// The object address in `word`, or 0 if it holds no pointer.
#[inline(always)]
fn address(word: usize) -> usize {
    if is_pointer(word as u64) {
        word & ADDRESS_MASK as usize
    } else {
        0
    }
}

/// A value word: a GC pointer to a `T`, or 64 bits of the user's own
/// (normally an `f64` or a NaN-tagged immediate). Loaded from a
/// [`NanBox`] or made from a [`Gc`], it is valid as long as that borrow,
/// so, like a `Gc`, it cannot be kept across a safepoint.
///
/// ```
/// use tricolor::{Heap, NanValue};
///
/// let heap = Heap::new();
/// let m = heap.mutator();
/// let s = m.alloc(String::from("hi"));
/// let v = NanValue::from_gc(s);
/// assert_eq!(v.as_gc().unwrap().as_str(), "hi");
/// let n = NanValue::<String>::from_f64(1.5);
/// assert!(n.as_gc().is_none());
/// assert_eq!(f64::from_bits(n.bits()), 1.5);
/// ```
pub struct NanValue<'a, T> {
    bits: u64,
    _marker: PhantomData<(&'a T, *const ())>,
}

impl<T> Clone for NanValue<'_, T> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<T> Copy for NanValue<'_, T> {}

impl<'a, T: Trace + 'static> NanValue<'a, T> {
    /// A non-pointer word.
    ///
    /// # Panics
    /// If the top 16 bits of `bits` are `0xFFFC`, the pattern reserved for
    /// pointers (module documentation).
    #[inline(always)]
    pub const fn from_bits(bits: u64) -> NanValue<'static, T> {
        assert!(
            !is_pointer(bits),
            "NanValue::from_bits: words whose top 16 bits are 0xFFFC encode GC pointers; \
             use another tag for immediates (or NanValue::from_f64 for numbers)"
        );
        NanValue {
            bits,
            _marker: PhantomData,
        }
    }

    /// The number `n`, as its own bits, except that every NaN becomes the
    /// default quiet NaN (`0x7FF8_0000_0000_0000`): so no number collides
    /// with the pointer pattern, and the user's own tags may use any other
    /// NaN payload.
    #[inline(always)]
    pub fn from_f64(n: f64) -> NanValue<'static, T> {
        NanValue {
            bits: if n.is_nan() {
                CANONICAL_NAN
            } else {
                n.to_bits()
            },
            _marker: PhantomData,
        }
    }

    /// A pointer to `object`.
    #[inline(always)]
    pub fn from_gc(object: Gc<'a, T>) -> NanValue<'a, T> {
        NanValue {
            bits: POINTER_TAG | object.base() as u64,
            _marker: PhantomData,
        }
    }

    /// The raw word (for a pointer, the tag and the object's address; safe
    /// to inspect, but it becomes stale at the next safepoint).
    #[inline(always)]
    pub fn bits(self) -> u64 {
        self.bits
    }

    /// Whether the word is a GC pointer.
    #[inline(always)]
    pub fn is_gc(self) -> bool {
        is_pointer(self.bits)
    }

    /// The object, if the word is a pointer.
    #[inline(always)]
    pub fn as_gc(self) -> Option<Gc<'a, T>> {
        if !self.is_gc() {
            return None;
        }
        // A pointer word comes from `from_gc` on a `Gc<'a, T>` or from a
        // `NanBox<T>` borrowed for 'a (a store replacing it shades it, as
        // for `Member::get`).
        // SAFETY: so the object is a live `T` for 'a, at a non-null address.
        Some(unsafe { Gc::from_nonnull_base((self.bits & ADDRESS_MASK) as usize) })
    }
}

impl<'a, T: Trace + 'static> From<Gc<'a, T>> for NanValue<'a, T> {
    fn from(object: Gc<'a, T>) -> Self {
        NanValue::from_gc(object)
    }
}

impl<T> fmt::Debug for NanValue<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "NanValue({:#018x})", self.bits)
    }
}

/// A value slot inside a GC object: one word holding a [`NanValue`],
/// written only through [`set`](NanBox::set), which runs the write barrier.
///
/// ```
/// use tricolor::{Heap, NanBox, NanValue, Trace};
///
/// #[derive(Trace)]
/// struct Pair { car: NanBox<String>, cdr: NanBox<String> }
///
/// let heap = Heap::new();
/// let m = heap.mutator();
/// let pair = m.alloc(Pair { car: NanBox::from_f64(0.0), cdr: NanBox::from_f64(0.0) });
/// pair.car.set(&m, NanValue::from_f64(2.5));
/// pair.cdr.set(&m, NanValue::from_gc(m.alloc(String::from("tail"))));
/// assert_eq!(f64::from_bits(pair.car.get().bits()), 2.5);
/// assert_eq!(pair.cdr.get().as_gc().unwrap().as_str(), "tail");
/// ```
pub struct NanBox<T> {
    /// The value word; `usize` is 64 bits wide (checked in `lib.rs`).
    word: AtomicUsize,
    /// Invariant in `T`, as for `Member` (`set` writes through `&self`).
    _marker: PhantomData<*mut T>,
}

// SAFETY: a NanBox is an atomic word; sharing or sending it shares its
// target between threads, which is fine exactly when T is Send + Sync.
unsafe impl<T: Send + Sync> Send for NanBox<T> {}
// SAFETY: as above.
unsafe impl<T: Send + Sync> Sync for NanBox<T> {}

impl<T: Trace + 'static> NanBox<T> {
    /// A slot holding the non-pointer word `bits`.
    ///
    /// # Panics
    /// As [`NanValue::from_bits`], if `bits` has the pointer pattern.
    pub const fn from_bits(bits: u64) -> NanBox<T> {
        NanBox {
            word: AtomicUsize::new(NanValue::<T>::from_bits(bits).bits as usize),
            _marker: PhantomData,
        }
    }

    /// A slot holding `value`, to be moved into an object about to be
    /// allocated. If `value` is a pointer, the slot follows
    /// [`Member::new`](crate::Member::new)'s rule: it must be inside an
    /// allocated object before this thread's next safepoint, or the process
    /// aborts there.
    #[inline]
    pub fn new(value: NanValue<'_, T>) -> NanBox<T> {
        if value.is_gc() {
            publish::note_unpublished((value.bits & ADDRESS_MASK) as usize);
        }
        NanBox {
            word: AtomicUsize::new(value.bits as usize),
            _marker: PhantomData,
        }
    }

    /// A slot holding no pointer: the canonical quiet NaN bits
    /// (`0x7FF8_0000_0000_0000`), which the user may read as nil.
    pub const fn null() -> NanBox<T> {
        NanBox::from_bits(CANONICAL_NAN)
    }

    /// A slot holding the number `n` (NaNs canonical, see
    /// [`NanValue::from_f64`]).
    pub fn from_f64(n: f64) -> NanBox<T> {
        NanBox {
            word: AtomicUsize::new(NanValue::<T>::from_f64(n).bits as usize),
            _marker: PhantomData,
        }
    }

    /// The word, valid as long as the borrow of the slot.
    #[inline(always)]
    pub fn get(&self) -> NanValue<'_, T> {
        NanValue {
            bits: self.word.load(Ordering::Acquire) as u64,
            _marker: PhantomData,
        }
    }

    /// Store `value`, running the write barrier if marking is on (also
    /// when a number overwrites a pointer: the deletion half must see the
    /// pointer that goes away).
    ///
    /// # Panics
    /// If this `NanBox` is not inside an object of `m`'s heap, whatever
    /// `value` is, or `value` points into another heap.
    #[inline(always)]
    #[track_caller]
    pub fn set(&self, m: &Mutator, value: NanValue<'_, T>) {
        barrier::store(
            m,
            Place::Object("NanBox"),
            &self.word,
            value.bits as usize,
            address,
        );
    }

    /// Store the number `n` (NaNs canonical, see [`NanValue::from_f64`]):
    /// `set(m, NanValue::from_f64(n))`, without checking the new word for
    /// a pointer.
    ///
    /// # Panics
    /// If this `NanBox` is not inside an object of `m`'s heap.
    #[inline(always)]
    #[track_caller]
    pub fn set_f64(&self, m: &Mutator, n: f64) {
        let bits = NanValue::<T>::from_f64(n).bits as usize;
        barrier::store_non_pointer(m, "NanBox", &self.word, bits, address);
    }

    /// Store the non-pointer word `bits`: `set(m, NanValue::from_bits(bits))`
    /// with no check of the new word at run time when `bits` is a constant
    /// (a tag).
    ///
    /// # Panics
    /// If this `NanBox` is not inside an object of `m`'s heap, or `bits`
    /// has the pointer pattern.
    #[inline(always)]
    #[track_caller]
    pub fn set_bits(&self, m: &Mutator, bits: u64) {
        let bits = NanValue::<T>::from_bits(bits).bits as usize;
        barrier::store_non_pointer(m, "NanBox", &self.word, bits, address);
    }

    /// Copy `src`'s word into this slot: `set(m, src.get())`, cheaper when
    /// `src` is a slot of the same heap (its word needs no check then).
    ///
    /// # Panics
    /// As [`set`](NanBox::set).
    #[inline(always)]
    #[track_caller]
    pub fn copy_from(&self, m: &Mutator, src: &NanBox<T>) {
        barrier::copy(m, "NanBox", &self.word, &src.word, address);
    }
}

impl<'a, T: Trace + 'static> From<NanValue<'a, T>> for NanBox<T> {
    /// As [`NanBox::new`].
    fn from(value: NanValue<'a, T>) -> NanBox<T> {
        NanBox::new(value)
    }
}

impl<'a, T: Trace + 'static> From<Gc<'a, T>> for NanBox<T> {
    /// As [`NanBox::new`] of [`NanValue::from_gc`].
    fn from(object: Gc<'a, T>) -> NanBox<T> {
        NanBox::new(NanValue::from_gc(object))
    }
}

// SAFETY: the word is the NanBox's only GC pointer, reported here when it
// holds one.
unsafe impl<T: Trace + 'static> Trace for NanBox<T> {
    #[inline]
    fn trace(&self, tracer: &mut Tracer<'_>) {
        tracer.edge(address(self.word.load(Ordering::Acquire)));
    }
}

impl<T> fmt::Debug for NanBox<T> {
    // The word only: following targets could loop on cyclic graphs.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "NanBox({:#018x})", self.word.load(Ordering::Relaxed))
    }
}
