//! `Key`: how a `GcMap` hashes and compares the keys in its slots, and
//! `ByContent`, the key slot that compares GC objects by their contents.
//!
//! Identity is the default for pointers: the collector never moves an
//! object, so an address is a stable hash for as long as the map holds the
//! key (its slot keeps the object, and so the address, alive). Hashing an
//! address is one multiply in the map; no load from the object. Plain words
//! and `NanBox` words compare by their bits.
//!
//! Content hashing (`ByContent`) uses std's SipHash with keys drawn once
//! per process, so a map keyed by untrusted strings resists collision
//! attacks; identity hashes need not, since addresses are not chosen by
//! the program's input.

use std::hash::{BuildHasher, Hash, RandomState};
use std::sync::OnceLock;

use crate::gc::{Gc, Member};
use crate::mark::Tracer;
use crate::mutator::Mutator;
use crate::nanbox::NanBox;
use crate::plain::{Plain, PlainWord};
use crate::slot::Slot;
use crate::trace::Trace;

/// A [`Slot`] that can key a [`GcMap`](crate::GcMap): how its values hash
/// and compare. `key_eq` equal values must have equal `key_hash`es.
///
/// | key slot | equality |
/// |---|---|
/// | [`Member<T>`] | identity (the same object, or both null) |
/// | [`ByContent<Member<T>>`](ByContent) | `T`'s `Eq` (content), hashed with `T`'s `Hash` |
/// | [`NanBox<T>`] | the word's bits (objects by identity, numbers by bits) |
/// | [`Plain<T>`] | the word's bits |
///
/// ```
/// use tricolor::{GcMap, Heap, Key, Member};
///
/// let heap = Heap::new();
/// let m = heap.mutator();
/// let (a, b) = (m.alloc(1u32), m.alloc(1u32));
/// // Equal contents, different objects: different identity keys.
/// assert!(!<Member<u32> as Key>::key_eq(Some(a), Some(b)));
/// assert!(<Member<u32> as Key>::key_eq(Some(a), Some(a)));
/// ```
pub trait Key: Slot {
    /// The hash of `value` (the map mixes it further).
    fn key_hash(value: Self::Value<'_>) -> u64;
    /// Whether `a` and `b` are the same key.
    fn key_eq(a: Self::Value<'_>, b: Self::Value<'_>) -> bool;
}

impl<T: Trace + Send + Sync + 'static> Key for Member<T> {
    #[inline(always)]
    fn key_hash(value: Option<Gc<'_, T>>) -> u64 {
        address(value) as u64
    }

    #[inline(always)]
    fn key_eq(a: Option<Gc<'_, T>>, b: Option<Gc<'_, T>>) -> bool {
        address(a) == address(b)
    }
}

impl<T: Trace + Send + Sync + 'static> Key for NanBox<T> {
    #[inline(always)]
    fn key_hash(value: Self::Value<'_>) -> u64 {
        value.bits()
    }

    #[inline(always)]
    fn key_eq(a: Self::Value<'_>, b: Self::Value<'_>) -> bool {
        a.bits() == b.bits()
    }
}

impl<T: PlainWord> Key for Plain<T> {
    #[inline(always)]
    fn key_hash(value: T) -> u64 {
        value.to_word()
    }

    #[inline(always)]
    fn key_eq(a: T, b: T) -> bool {
        a.to_word() == b.to_word()
    }
}

/// The address of a pointer value, 0 for null.
#[inline(always)]
fn address<T: Trace + 'static>(value: Option<Gc<'_, T>>) -> usize {
    value.map_or(0, |g| Gc::as_ptr(g) as usize)
}

/// A key slot that hashes and compares the objects it points at by their
/// contents (`T: Hash + Eq`) instead of by identity: for maps keyed by
/// strings that are not interned. Look keys up without allocating with
/// [`GcMap::get_by`](crate::GcMap::get_by).
///
/// ```
/// use tricolor::{ByContent, GcMap, GcStr, Heap, Member, Plain};
///
/// let heap = Heap::new();
/// let m = heap.mutator();
/// let counts = m.alloc(GcMap::<ByContent<Member<GcStr>>, Plain<u32>>::new());
/// counts.insert(&m, Some(m.alloc_str("apple")), 1);
/// // Another string with the same contents is the same key.
/// counts.insert(&m, Some(m.alloc_str("apple")), 2);
/// assert_eq!(counts.len(), 1);
/// assert_eq!(counts.get_by("apple"), Some(2));
/// ```
pub struct ByContent<S>(S);

impl<S: Slot> Slot for ByContent<S> {
    type Value<'a> = S::Value<'a>;

    #[inline]
    fn null() -> ByContent<S> {
        ByContent(S::null())
    }

    #[inline]
    fn new(value: S::Value<'_>) -> ByContent<S> {
        ByContent(S::new(value))
    }

    #[inline(always)]
    fn get(&self) -> S::Value<'_> {
        self.0.get()
    }

    #[inline(always)]
    #[track_caller]
    fn set(&self, m: &Mutator, value: S::Value<'_>) {
        self.0.set(m, value)
    }
}

// SAFETY: the wrapped slot is the only content, traced by its own impl.
unsafe impl<S: Trace> Trace for ByContent<S> {
    const NEEDS_TRACE: bool = S::NEEDS_TRACE;
    #[inline]
    fn trace(&self, tracer: &mut Tracer<'_>) {
        self.0.trace(tracer)
    }
}

impl<T: Trace + Hash + Eq + Send + Sync + 'static> Key for ByContent<Member<T>> {
    fn key_hash(value: Option<Gc<'_, T>>) -> u64 {
        value.map_or(0, |g| content_hash(Gc::as_ref(g)))
    }

    fn key_eq(a: Option<Gc<'_, T>>, b: Option<Gc<'_, T>>) -> bool {
        match (a, b) {
            (Some(a), Some(b)) => Gc::ptr_eq(a, b) || *a == *b,
            (None, None) => true,
            _ => false,
        }
    }
}

/// The content hash `ByContent` keys use: SipHash with per-process keys.
pub(crate) fn content_hash<Q: Hash + ?Sized>(value: &Q) -> u64 {
    static KEYS: OnceLock<RandomState> = OnceLock::new();
    KEYS.get_or_init(RandomState::new).hash_one(value)
}
