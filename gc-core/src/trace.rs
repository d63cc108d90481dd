//! The `Trace` trait: how the collector finds the GC pointers inside a value.
//!
//! Every type stored in the GC heap implements [`Trace`]. Its `trace` method
//! hands each GC pointer the value holds to the [`Tracer`]; the marker calls it
//! on grey objects, possibly on a thread other than the one that allocated the
//! object and while a mutator runs beside it. That is why the only GC pointer
//! types that may appear in a heap object ([`Member`](crate::Member),
//! [`GcArray`](crate::GcArray) elements, ...) are atomic slots: the marker's reads
//! never race with a mutator's writes.
//!
//! Invariants an implementation must keep (the derive keeps them for you):
//! - `trace` visits every GC pointer reachable from `&self` without going
//!   through another GC object, and nothing else.
//! - `trace` must not allocate, block, or touch a `Mutator`; it runs inside
//!   the collector.
//! - `NEEDS_TRACE == false` promises that no value of the type ever holds a GC
//!   pointer; such objects go to noscan spans and are never scanned.
//!
//! [`NoGc`] marks types that can never hold a GC pointer in any of their
//! values. Interior-mutable std cells (`Cell`, `RefCell`, `Mutex`, ...) are
//! `Trace` only for `NoGc` contents: a `&mut` to a GC pointer slot would let
//! safe code move the slot out of the heap, hide it from the marker across a
//! safepoint and move it back in after its target was freed.

pub use crate::mark::Tracer;

/// A type the collector can trace.
///
/// # Safety
///
/// `trace` must report every GC pointer that the value owns (directly or
/// through non-GC containers it owns), and `NEEDS_TRACE` may be `false` only
/// if no value of the type can ever hold one. Use `#[derive(Trace)]` instead
/// of implementing this by hand.
pub unsafe trait Trace {
    /// Whether a value of this type may hold GC pointers. `false` puts its
    /// objects in noscan spans, which the marker never scans.
    const NEEDS_TRACE: bool = true;

    /// Report every GC pointer held by `self` to `tracer`.
    fn trace(&self, tracer: &mut Tracer<'_>);
}

/// Marker for types that can never hold a GC pointer.
///
/// # Safety
///
/// No value of the type, nor anything it owns, may contain a
/// [`Member`](crate::Member), a [`GcArray`](crate::GcArray) or any other
/// strong GC pointer slot. ([`Weak`](crate::Weak) is `NoGc`: it never keeps
/// its target alive, so moving it anywhere hides nothing from the marker.)
pub unsafe trait NoGc {}

impl Tracer<'_> {
    /// Compile-time check used by `#[derive(Trace)]` for `#[trace(skip)]`
    /// fields: the call only type-checks if `T` implements this crate's
    /// [`NoGc`]. It is an inherent method of the real `Tracer`, which the
    /// `trace` signature forces, so no user-supplied path or name can stand
    /// in for the trait. Does nothing at run time.
    #[doc(hidden)]
    #[inline(always)]
    pub fn __skipped_field_must_implement_no_gc<T: ?Sized + NoGc>(&mut self) {}
}
