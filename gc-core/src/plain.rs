//! `Plain<T>`: a mutable word of plain data inside a GC object, and
//! `PlainWord`, the types it can hold.
//!
//! Why not `Cell<T>`: a GC object must be `Sync` for a `Member` to it to be
//! `Send` (objects are shared between mutator threads), and `Cell` is not.
//! An atomic word is, and costs the same as a plain one on x86-64 with
//! relaxed ordering. The marker never reads it (`NEEDS_TRACE` is false), so
//! there is no barrier and `set` needs no `Mutator`; it is a `Slot` so that
//! `GcVec` and `GcMap` can hold plain numbers too.
//!
//! `PlainWord` is a safe trait: a wrong conversion only gives wrong values,
//! since nothing the collector relies on is stored in the word.

use std::fmt;
use std::marker::PhantomData;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::mutator::Mutator;
use crate::slot::Slot;
use crate::trace::{NoGc, Trace, Tracer};

/// Plain data that fits in 64 bits, stored in a [`Plain`] as its bits.
/// Implemented for the primitive integers, floats, `bool` and `char`;
/// implement it for your own small `Copy` types (an enum of opcodes, a
/// pair of `u32`s).
///
/// ```
/// use tricolor::{Plain, PlainWord};
///
/// #[derive(Clone, Copy, Debug, PartialEq, Default)]
/// enum Colour { #[default] Red, Green }
///
/// impl PlainWord for Colour {
///     fn to_word(self) -> u64 { self as u64 }
///     fn from_word(word: u64) -> Colour { if word == 1 { Colour::Green } else { Colour::Red } }
/// }
///
/// let c = Plain::new(Colour::Red);
/// c.set(Colour::Green);
/// assert_eq!(c.get(), Colour::Green);
/// ```
pub trait PlainWord: Copy + Default + Send + Sync + 'static {
    /// The value as a word.
    fn to_word(self) -> u64;
    /// The value `to_word` made `word` from (any word must give some
    /// value; only words `to_word` produced are ever passed).
    fn from_word(word: u64) -> Self;
}

/// `PlainWord` for types that convert to and from `u64` with `as`.
macro_rules! plain_as {
    ($($ty:ty),*) => {$(
        impl PlainWord for $ty {
            #[inline(always)]
            fn to_word(self) -> u64 {
                self as u64
            }
            #[inline(always)]
            fn from_word(word: u64) -> $ty {
                word as $ty
            }
        }
    )*};
}

plain_as!(u8, u16, u32, u64, usize, i8, i16, i32, i64, isize);

impl PlainWord for f64 {
    #[inline(always)]
    fn to_word(self) -> u64 {
        self.to_bits()
    }
    #[inline(always)]
    fn from_word(word: u64) -> f64 {
        f64::from_bits(word)
    }
}

impl PlainWord for f32 {
    #[inline(always)]
    fn to_word(self) -> u64 {
        self.to_bits() as u64
    }
    #[inline(always)]
    fn from_word(word: u64) -> f32 {
        f32::from_bits(word as u32)
    }
}

impl PlainWord for bool {
    #[inline(always)]
    fn to_word(self) -> u64 {
        self as u64
    }
    #[inline(always)]
    fn from_word(word: u64) -> bool {
        word != 0
    }
}

impl PlainWord for char {
    #[inline(always)]
    fn to_word(self) -> u64 {
        self as u64
    }
    #[inline(always)]
    fn from_word(word: u64) -> char {
        u32::try_from(word)
            .ok()
            .and_then(char::from_u32)
            .unwrap_or_default()
    }
}

/// A mutable word of plain data in a GC object: `get` and `set` through a
/// shared reference, like a `Cell`, but `Sync` (an atomic word, relaxed
/// ordering), so the object can be shared. It holds no GC pointer, so it
/// needs no barrier and no `Mutator`. As a [`Slot`] it lets
/// [`GcVec`](crate::GcVec) and [`GcMap`](crate::GcMap) hold plain data.
///
/// ```
/// use tricolor::{GcVec, Heap, Plain, Trace};
///
/// #[derive(Trace)]
/// struct Counter { hits: Plain<u64> }
///
/// let heap = Heap::new();
/// let m = heap.mutator();
/// let c = m.alloc(Counter { hits: Plain::new(0) });
/// c.hits.set(c.hits.get() + 1);
/// assert_eq!(c.hits.get(), 1);
///
/// let samples = m.alloc(GcVec::<Plain<f64>>::new());
/// samples.push(&m, 0.5);
/// assert_eq!(samples.get(0), Some(0.5));
/// ```
pub struct Plain<T> {
    word: AtomicU64,
    _marker: PhantomData<T>,
}

impl<T: PlainWord> Plain<T> {
    /// A cell holding `value`.
    #[inline]
    pub fn new(value: T) -> Plain<T> {
        Plain {
            word: AtomicU64::new(value.to_word()),
            _marker: PhantomData,
        }
    }

    /// The value.
    #[inline(always)]
    pub fn get(&self) -> T {
        T::from_word(self.word.load(Ordering::Relaxed))
    }

    /// Replace the value.
    #[inline(always)]
    pub fn set(&self, value: T) {
        self.word.store(value.to_word(), Ordering::Relaxed)
    }
}

impl<T: PlainWord> Default for Plain<T> {
    fn default() -> Plain<T> {
        Plain::new(T::default())
    }
}

impl<T: PlainWord + fmt::Debug> fmt::Debug for Plain<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Plain").field(&self.get()).finish()
    }
}

// SAFETY: a Plain is an integer word and holds no GC pointer, whatever T is
// (T only names how the bits are read).
unsafe impl<T> Trace for Plain<T> {
    const NEEDS_TRACE: bool = false;
    #[inline]
    fn trace(&self, _: &mut Tracer<'_>) {}
}

// SAFETY: as above.
unsafe impl<T> NoGc for Plain<T> {}

impl<T: PlainWord> Slot for Plain<T> {
    type Value<'a> = T;

    #[inline]
    fn null() -> Plain<T> {
        Plain::default()
    }

    #[inline]
    fn new(value: T) -> Plain<T> {
        Plain::new(value)
    }

    #[inline(always)]
    fn get(&self) -> T {
        Plain::get(self)
    }

    #[inline(always)]
    fn set(&self, _: &Mutator, value: T) {
        Plain::set(self, value)
    }
}
