//! Identity: `PartialEq`, `Eq`, `Hash`, `Debug` and `fmt::Pointer` for
//! [`Gc`], [`Root`], [`GlobalRoot`] and [`Weak`], by object address, so they
//! can key a `HashMap` or `HashSet`.
//!
//! Decisions:
//! - `Gc`, `Root` and `GlobalRoot` are equal when they point at the same
//!   object now, and hash its address (unlike `Rc`, whose `==` compares
//!   values: compare `*a == *b` for that). A root's identity changes with
//!   `set`; do not `set` a root that keys a map.
//! - `Weak` is equal to the weak references made for the same object (they
//!   share one slot, `weak.rs`), also after the object died; it hashes the
//!   address it was made for, which it keeps. A `Weak` made later for
//!   another object at the reused address is not equal to it.
//! - `Debug` of a `Gc` prints the value, as before: a `Gc` is a live borrow
//!   of the object, like `&T`. The handles cannot read their object without
//!   a `Mutator`, so their `Debug` prints the address (`Root(0x…)`,
//!   `Weak(0x…)`, `Weak(0x…, cleared)`).
//! - `{:p}` prints the value's address, `Gc::as_ptr` (as `Rc` does), for
//!   all four, so they can be matched up in output.
//!
//! clippy's `mutable_key_type` flags map keys whose type reaches interior
//! mutability. For `Root` and `GlobalRoot` that is right (`set` changes
//! their hash). A `Weak`'s identity never changes, so it holds its heap
//! through [`HeapRef`], which the lint does not look through.
//!
//! Also here: [`AddrHash`], the hasher for tables keyed by object address.

use std::fmt;
use std::hash::{BuildHasherDefault, Hash, Hasher};
use std::marker::PhantomData;
use std::ops::Deref;
use std::ptr::NonNull;
use std::sync::Arc;

use crate::heap::HeapInner;

use crate::gc::Gc;
use crate::roots::{GlobalRoot, Root};
use crate::trace::Trace;
use crate::weak::Weak;

/// The address of the value of the object at `base`.
fn value_ptr<T: Trace + 'static>(base: usize) -> *const T {
    base as *const T
}

impl<'b, T: Trace + 'static> PartialEq<Gc<'b, T>> for Gc<'_, T> {
    #[inline]
    fn eq(&self, other: &Gc<'b, T>) -> bool {
        self.base() == other.base()
    }
}

impl<T: Trace + 'static> Eq for Gc<'_, T> {}

impl<T: Trace + 'static> Hash for Gc<'_, T> {
    #[inline]
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.base().hash(state);
    }
}

impl<T: Trace + 'static> fmt::Pointer for Gc<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Pointer::fmt(&Gc::as_ptr(*self), f)
    }
}

/// Equality, hashing and formatting by the current target for a rooted
/// handle type with a `base()`.
macro_rules! by_target {
    ($($handle:ident)*) => {$(
        impl<T: Trace + 'static> PartialEq for $handle<T> {
            #[inline]
            fn eq(&self, other: &Self) -> bool {
                self.base() == other.base()
            }
        }

        impl<T: Trace + 'static> Eq for $handle<T> {}

        impl<T: Trace + 'static> Hash for $handle<T> {
            #[inline]
            fn hash<H: Hasher>(&self, state: &mut H) {
                self.base().hash(state);
            }
        }

        impl<T: Trace + 'static> fmt::Pointer for $handle<T> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Pointer::fmt(&value_ptr::<T>(self.base()), f)
            }
        }

        impl<T: Trace + 'static> fmt::Debug for $handle<T> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, concat!(stringify!($handle), "({:p})"), value_ptr::<T>(self.base()))
            }
        }
    )*};
}

by_target!(Root GlobalRoot);

impl<T: Trace + 'static> PartialEq for Weak<T> {
    #[inline]
    fn eq(&self, other: &Self) -> bool {
        self.slot_id() == other.slot_id()
    }
}

impl<T: Trace + 'static> Eq for Weak<T> {}

impl<T: Trace + 'static> Hash for Weak<T> {
    #[inline]
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.addr().hash(state);
    }
}

impl<T: Trace + 'static> fmt::Pointer for Weak<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Pointer::fmt(&value_ptr::<T>(self.addr()), f)
    }
}

impl<T: Trace + 'static> fmt::Debug for Weak<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let p = value_ptr::<T>(self.addr());
        if self.is_cleared() {
            write!(f, "Weak({p:p}, cleared)")
        } else {
            write!(f, "Weak({p:p})")
        }
    }
}

/// An `Arc<HeapInner>` kept as a raw pointer (module comment).
pub(crate) struct HeapRef {
    ptr: NonNull<HeapInner>,
    /// Owns a `HeapInner` (drop check).
    _owns: PhantomData<HeapInner>,
}

// SAFETY: a HeapRef is an Arc<HeapInner>, which is Send and Sync.
unsafe impl Send for HeapRef {}
// SAFETY: as above.
unsafe impl Sync for HeapRef {}

impl HeapRef {
    /// Take over `heap`'s strong count.
    pub(crate) fn new(heap: Arc<HeapInner>) -> HeapRef {
        let ptr = Arc::into_raw(heap).cast_mut();
        HeapRef {
            ptr: NonNull::new(ptr).expect("an Arc is never null"),
            _owns: PhantomData,
        }
    }
}

impl Deref for HeapRef {
    type Target = HeapInner;
    fn deref(&self) -> &HeapInner {
        // SAFETY: `ptr` came from an Arc whose strong count this HeapRef
        // owns, so the HeapInner is alive.
        unsafe { self.ptr.as_ref() }
    }
}

impl Clone for HeapRef {
    fn clone(&self) -> HeapRef {
        // SAFETY: `ptr` came from `Arc::into_raw` and this HeapRef holds a
        // strong count, so the Arc is alive; the new count goes to the clone.
        unsafe { Arc::increment_strong_count(self.ptr.as_ptr()) };
        HeapRef {
            ptr: self.ptr,
            _owns: PhantomData,
        }
    }
}

impl Drop for HeapRef {
    fn drop(&mut self) {
        // SAFETY: `ptr` came from `Arc::into_raw`, and this HeapRef gives
        // back the strong count it owns.
        unsafe { Arc::decrement_strong_count(self.ptr.as_ptr()) }
    }
}

/// Mix an object address into a hash with good high and low bits (one
/// folded multiply): addresses are aligned, so their low bits are zero.
#[inline]
pub(crate) fn addr_hash(addr: usize) -> u64 {
    let p = (addr as u128).wrapping_mul(0x9E37_79B9_7F4A_7C15_F39C_C060_5CED_C835);
    (p as u64) ^ ((p >> 64) as u64)
}

/// A `Hasher` for keys that are object addresses (`usize`).
#[derive(Default)]
pub(crate) struct AddrHasher(u64);

impl Hasher for AddrHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    #[inline]
    fn write_usize(&mut self, addr: usize) {
        self.0 = addr_hash(addr ^ self.0 as usize);
    }

    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = addr_hash(*b as usize ^ self.0 as usize);
        }
    }
}

/// Builds [`AddrHasher`]s.
pub(crate) type AddrHash = BuildHasherDefault<AddrHasher>;
