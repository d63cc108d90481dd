//! `Trace` and `NoGc` for the std types an interpreter keeps in its heap.
//!
//! Rules the impls follow:
//! - Leaf types (numbers, strings, paths, times, atomics) hold no GC pointer:
//!   `NEEDS_TRACE = false`, an empty `trace`, and `NoGc`.
//! - Owning containers (`Vec`, maps, `Box`, `Option`, tuples, arrays, ...)
//!   trace each element. `NEEDS_TRACE` is that of the elements (for maps,
//!   key or value), and `trace` returns at once when it is `false`, so a
//!   `Vec<u8>` is never walked. They are `NoGc` when every element type is.
//! - Interior-mutable cells (`Cell`, `RefCell`, `Mutex`, `RwLock`,
//!   `OnceCell`, `OnceLock`) are `Trace` only for `NoGc` contents, with
//!   `NEEDS_TRACE = false`. Through the `&mut` such a cell hands out, safe
//!   code could move a GC pointer slot out of the heap, keep it hidden from
//!   the marker across a safepoint and put it back after its target was
//!   freed (see the module docs of `trace`). Tracing through a `RefCell` or
//!   `Mutex` could also block or panic inside the collector.
//! - Shared ownership (`Rc`, `Arc` and their `Weak`s) is likewise `Trace`
//!   only for `NoGc` contents: a clone can live outside the heap, where the
//!   collector never sees it, so a GC pointer in the shared value would stay
//!   reachable after the heap object holding the other clone died, and would
//!   dangle once its target is swept. The same holds for `&'static T`.
//! - `PhantomData<T>` holds no value: `NoGc` for every `T`.
//! - Hash containers own their hash builder and trace it too, so
//!   `HashMap<K, V, S>` needs `S: Trace`; `RandomState` and
//!   `BuildHasherDefault` are leaves. Ignoring `S` would let a user-defined
//!   hash builder hide a GC pointer.

use std::borrow::Cow;
use std::cell::{Cell, OnceCell, RefCell};
use std::collections::hash_map::RandomState;
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet, VecDeque};
use std::ffi::{OsStr, OsString};
use std::hash::BuildHasherDefault;
use std::marker::PhantomData;
use std::num::{
    NonZeroI128, NonZeroI16, NonZeroI32, NonZeroI64, NonZeroI8, NonZeroIsize, NonZeroU128,
    NonZeroU16, NonZeroU32, NonZeroU64, NonZeroU8, NonZeroUsize,
};
use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::sync::atomic;
use std::sync::{Arc, Mutex, OnceLock, RwLock};
use std::time::{Duration, Instant, SystemTime};

use crate::trace::{NoGc, Trace, Tracer};

/// Implements `Trace` (with `NEEDS_TRACE = false` and an empty `trace`) and
/// `NoGc` for types that hold no GC pointer whenever the stated bounds hold.
/// The callers' `// SAFETY:` comments say why that is so.
macro_rules! impl_no_gc {
    ($([$($generics:tt)*] $ty:ty $(where $($bounded:ty: $bound:path),+)?;)*) => {$(
        // SAFETY: the caller's comment says why `$ty` holds no GC pointer
        // under these bounds, so nothing needs tracing.
        unsafe impl<$($generics)*> Trace for $ty $(where $($bounded: $bound),+)? {
            const NEEDS_TRACE: bool = false;

            #[inline]
            fn trace(&self, _tracer: &mut Tracer<'_>) {}
        }

        // SAFETY: as above.
        unsafe impl<$($generics)*> NoGc for $ty $(where $($bounded: $bound),+)? {}
    )*};
}

/// `impl_no_gc!` for types without generic parameters.
macro_rules! impl_leaf {
    ($($ty:ty),* $(,)?) => {
        impl_no_gc! { $([] $ty;)* }
    };
}

// SAFETY: none of these types can contain a value of another type, so none
// can hold a GC pointer.
impl_leaf! {
    u8, u16, u32, u64, u128, usize,
    i8, i16, i32, i64, i128, isize,
    f32, f64, bool, char, (),
    NonZeroU8, NonZeroU16, NonZeroU32, NonZeroU64, NonZeroU128, NonZeroUsize,
    NonZeroI8, NonZeroI16, NonZeroI32, NonZeroI64, NonZeroI128, NonZeroIsize,
    str, String, OsStr, OsString, Path, PathBuf,
    Duration, Instant, SystemTime, RandomState, std::convert::Infallible,
}

// SAFETY: atomics of plain integers hold no GC pointer. Each width exists
// only on targets with atomics of that width.
#[cfg(target_has_atomic = "8")]
impl_leaf!(atomic::AtomicBool, atomic::AtomicU8, atomic::AtomicI8);
#[cfg(target_has_atomic = "16")]
impl_leaf!(atomic::AtomicU16, atomic::AtomicI16);
#[cfg(target_has_atomic = "32")]
impl_leaf!(atomic::AtomicU32, atomic::AtomicI32);
#[cfg(target_has_atomic = "64")]
impl_leaf!(atomic::AtomicU64, atomic::AtomicI64);
#[cfg(target_has_atomic = "ptr")]
impl_leaf!(atomic::AtomicUsize, atomic::AtomicIsize);

// SAFETY: these hold no value of their parameter at all.
impl_no_gc! {
    [T: ?Sized] PhantomData<T>;
    [H] BuildHasherDefault<H>;
}

// SAFETY: a GC pointer inside any of these could be reached only through
// the `NoGc` content, which by its own contract holds none. `Cow`'s owned
// form is bounded separately because it is a different type.
impl_no_gc! {
    [T: ?Sized] Cell<T> where T: NoGc;
    [T: ?Sized] RefCell<T> where T: NoGc;
    [T: ?Sized] Mutex<T> where T: NoGc;
    [T: ?Sized] RwLock<T> where T: NoGc;
    [T] OnceCell<T> where T: NoGc;
    [T] OnceLock<T> where T: NoGc;
    [T: ?Sized] Rc<T> where T: NoGc;
    [T: ?Sized] Arc<T> where T: NoGc;
    [T: ?Sized] std::rc::Weak<T> where T: NoGc;
    [T: ?Sized] std::sync::Weak<T> where T: NoGc;
    [T: ?Sized] &'static T where T: NoGc;
    [B: ?Sized + ToOwned] Cow<'static, B> where B: NoGc, B::Owned: NoGc;
}

/// Implements `Trace` for a container that owns values of the `[elements]`
/// types, reaching them with `$body`, and `NoGc` when all of them are `NoGc`.
macro_rules! impl_container {
    (
        [$($generics:tt)*] $ty:ty => [$($elem:ident),+]
        |$this:ident, $tracer:ident| $body:expr
    ) => {
        // SAFETY: `$body` reaches every element the container owns (the
        // caller's comment says how), each traced by its own impl.
        unsafe impl<$($generics)*> Trace for $ty where $($elem: Trace),+ {
            const NEEDS_TRACE: bool = $(<$elem as Trace>::NEEDS_TRACE)||+;

            #[inline]
            fn trace(&self, tracer: &mut Tracer<'_>) {
                if !Self::NEEDS_TRACE {
                    return;
                }
                let ($this, $tracer) = (self, tracer);
                $body
            }
        }

        // SAFETY: the container holds only its elements, all `NoGc`.
        unsafe impl<$($generics)*> NoGc for $ty where $($elem: NoGc),+ {}
    };
}

/// `impl_container!` for containers whose shared reference iterates over
/// their elements.
macro_rules! impl_iterable {
    ($([$($generics:tt)*] $ty:ty => $elem:ident;)*) => {$(
        impl_container!([$($generics)*] $ty => [$elem] |this, tracer| {
            for element in this {
                Trace::trace(element, tracer);
            }
        });
    )*};
}

// SAFETY (for this and the other `impl_container!` uses): each container
// owns its elements and hands every one of them to `tracer`, so every GC
// pointer inside is reported. `NEEDS_TRACE` and `NoGc` follow from the
// elements because the container adds no GC pointer of its own. The marker
// may walk a container while a mutator runs: heap objects are only reached
// through shared references, and the cells that could resize a container
// behind one demand `NoGc` contents, which are never walked.
impl_iterable! {
    [T] [T] => T;
    [T, const N: usize] [T; N] => T;
    [T] Vec<T> => T;
    [T] VecDeque<T> => T;
    [T] BTreeSet<T> => T;
}

// SAFETY: as for the containers above.
impl_container!([T] Option<T> => [T] |this, tracer| if let Some(value) = this {
    Trace::trace(value, tracer);
});

// SAFETY: as for the containers above.
impl_container!([T: ?Sized] Box<T> => [T] |this, tracer| Trace::trace(&**this, tracer));

// SAFETY: as for the containers above.
impl_container!([T, E] Result<T, E> => [T, E] |this, tracer| match this {
    Ok(value) => Trace::trace(value, tracer),
    Err(error) => Trace::trace(error, tracer),
});

// SAFETY: as for the containers above. The hash builder is owned state
// too and is traced like an element: a user-defined one could hold a GC
// pointer.
impl_container!([T, S] HashSet<T, S> => [T, S] |this, tracer| {
    Trace::trace(this.hasher(), tracer);
    for element in this {
        Trace::trace(element, tracer);
    }
});

/// `impl_container!` for maps, whose keys and values are traced alike; the
/// `hasher` form also traces a `HashMap`'s hash builder, as for `HashSet`.
macro_rules! impl_map {
    ($([$($generics:tt)*] $ty:ty => [$($elem:ident),+] $(, $hasher:ident)?;)*) => {$(
        impl_container!([$($generics)*] $ty => [$($elem),+] |this, tracer| {
            $(Trace::trace(this.$hasher(), tracer);)?
            for (key, value) in this {
                Trace::trace(key, tracer);
                Trace::trace(value, tracer);
            }
        });
    )*};
}

// SAFETY: as for the containers and `HashSet` above.
impl_map! {
    [K, V] BTreeMap<K, V> => [K, V];
    [K, V, S] HashMap<K, V, S> => [K, V, S], hasher;
}

/// `impl_container!` for each tuple that is a prefix of the given
/// `(index Type)` list: arity 1 upwards.
macro_rules! impl_tuples {
    ([$(($index:tt $T:ident))*]) => {};
    ([$(($index:tt $T:ident))*] $next:tt $($rest:tt)*) => {
        impl_tuple!($(($index $T))* $next);
        impl_tuples!([$(($index $T))* $next] $($rest)*);
    };
}

macro_rules! impl_tuple {
    ($(($index:tt $T:ident))+) => {
        impl_container!([$($T),+] ($($T,)+) => [$($T),+] |this, tracer| {
            $(Trace::trace(&this.$index, tracer);)+
        });
    };
}

// SAFETY: see `impl_iterable!` above. `()` is a leaf, implemented with the
// primitives.
impl_tuples!([] (0 A) (1 B) (2 C) (3 D) (4 E) (5 F) (6 G) (7 H) (8 I) (9 J) (10 K) (11 L));

/// `Trace` and `NoGc` for function pointers of up to six arguments: a
/// function pointer is a code address and captures nothing, so it can hold
/// no GC pointer whatever its argument and result types. (Pointers to
/// functions generic over lifetimes, such as `fn(&str) -> &str`, are
/// distinct types these impls do not cover.)
macro_rules! impl_fn_pointers {
    ($($($arg:ident),*;)*) => {$(
        impl_no_gc! {
            [R, $($arg),*] fn($($arg),*) -> R;
            [R, $($arg),*] unsafe fn($($arg),*) -> R;
            [R, $($arg),*] extern "C" fn($($arg),*) -> R;
        }
    )*};
}

// SAFETY: see `impl_fn_pointers!`: a function pointer holds only an address
// of code.
impl_fn_pointers! {
    ;
    A;
    A, B;
    A, B, C;
    A, B, C, D;
    A, B, C, D, E;
    A, B, C, D, E, F;
}
