//! `Static<T>`: plain `Copy + 'static` data from any crate in a GC object,
//! without `unsafe` (gc-arena's `Static`/`require_static`, with the
//! stronger bound that this collector's handles need).
//!
//! Why `T: Copy + Send + 'static` can hold no pointer the marker must see,
//! so `Static<T>` is `Trace` with nothing to trace and `NoGc`:
//! - A slot the marker traces (`Member`, `NanBox`, the containers built on
//!   them) is an atomic word: not `Copy`. So `T` cannot *contain* one.
//! - `Gc<'m, _>` and `NanValue<'m, _>` are `Copy` but neither `Send` nor,
//!   unless the mutator is leaked for good, `'static`. Every heap object
//!   must be `Send` (the sweeper may drop it on another thread), so a
//!   `Static` holding one cannot be allocated.
//! - `T` may be a `&'static` reference to a slot. Such a reference exists
//!   only for a slot that lives forever: in a `static` item (a `Member` or
//!   `NanBox` outside the heap only ever holds null or a number: storing a
//!   pointer there panics, `barrier.rs`), in a leaked construction-time slot
//!   (`Member::new` / `NanBox::new` in a `Box::leak`: never published, so
//!   its thread aborts at its next safepoint, `publish.rs`), or inside an
//!   object reached through a `Gc<'static>`, which needs a leaked
//!   `&'static Mutator`: that mutator then runs for ever, so no cycle of its
//!   heap can start again and nothing there is ever freed.
//! - Handles with a destructor (`Root`, `GlobalRoot`, `Weak`) are not
//!   `Copy`; `&'static` references to them reach a handle that keeps (or,
//!   for `Weak`, checks) its target by itself.
//!
//! Types that own heap memory (`String`, `Vec`) are not `Copy`; the ones
//! this crate knows are already `NoGc` (`trace_impls.rs`). A foreign type
//! that is neither `Copy` nor listed still needs a newtype with `unsafe
//! impl NoGc`, whose contract is the caller's to keep.

use std::fmt;
use std::ops::Deref;

use crate::trace::{NoGc, Trace, Tracer};

/// Plain `Copy + 'static` data of any type, as a field of a derived GC
/// type or as a heap object, without `unsafe` and without a `Trace` impl
/// for `T`: addresses, durations, ids, enums and structs of plain data from
/// other crates. For foreign types that own memory (not `Copy`), wrap them
/// in a newtype with `unsafe impl NoGc`.
///
/// Why this is sound: the slots the collector traces (`Member`, `NanBox`
/// and the containers) are atomics, so not `Copy`; the `Copy` pointers
/// (`Gc`, `NanValue`) are not `Send`, and every heap object must be; and a
/// `&'static` reference to a slot exists only for one that never holds a
/// pointer the collector could free (one outside the heap, which only ever
/// holds null or numbers; a leaked construction-time slot, which aborts the
/// thread at its next safepoint; or one reached through a leaked mutator,
/// which keeps its heap from ever starting another cycle).
///
/// ```
/// use std::net::Ipv4Addr;
/// use std::time::Duration;
/// use tricolor::{Heap, Static, Trace};
///
/// #[derive(Trace)]
/// struct Peer {
///     addr: Static<Ipv4Addr>,
///     timeout: Static<Duration>,
/// }
///
/// let heap = Heap::new();
/// let mut m = heap.mutator();
/// let peer = m.alloc(Peer {
///     addr: Static::new(Ipv4Addr::LOCALHOST),
///     timeout: Duration::from_secs(5).into(),
/// });
/// let peer = m.root(peer);
/// m.collect();
/// assert!(peer.get(&m).addr.is_loopback());
/// assert_eq!(*peer.get(&m).timeout, Duration::from_secs(5));
/// ```
#[derive(Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[repr(transparent)]
pub struct Static<T: Copy + 'static>(T);

impl<T: Copy + 'static> Static<T> {
    /// Wrap `value`.
    pub const fn new(value: T) -> Static<T> {
        Static(value)
    }

    /// The value.
    pub const fn get(self) -> T {
        self.0
    }
}

impl<T: Copy + 'static> Deref for Static<T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.0
    }
}

impl<T: Copy + 'static> From<T> for Static<T> {
    fn from(value: T) -> Static<T> {
        Static(value)
    }
}

impl<T: Copy + fmt::Debug + 'static> fmt::Debug for Static<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl<T: Copy + fmt::Display + 'static> fmt::Display for Static<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

// SAFETY: a `Copy + 'static` value that can be in a heap object holds no
// pointer the marker must see (module comment), so there is nothing to
// trace and the type may live in noscan spans.
unsafe impl<T: Copy + 'static> Trace for Static<T> {
    const NEEDS_TRACE: bool = false;

    #[inline]
    fn trace(&self, _tracer: &mut Tracer<'_>) {}
}

// SAFETY: as above: no value of the type contains a strong pointer slot.
unsafe impl<T: Copy + 'static> NoGc for Static<T> {}
