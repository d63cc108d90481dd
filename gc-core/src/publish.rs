//! Pointer fields given at construction: `Member::new(gc)` (or `gc.into()`)
//! and `NanBox::new(value)`, so that an object can be built in one
//! expression, `m.alloc(Pair { car: a.into(), cdr: b.into() })`.
//!
//! Such a slot holds a pointer while it is still outside the heap, where
//! the marker cannot see it. Two rules keep that sound:
//! - **It lives only until the next safepoint.** Its target is alive until
//!   then for the same reason a `Gc` is (`gc.rs`): this thread's roots are
//!   scanned, and a cycle ends, only at its safepoints. Each such slot
//!   counts in a per-thread tally of *unpublished* pointers; allocating an
//!   object takes the pointers it holds off the tally. Every point where the
//!   collector may look at this thread (a safepoint that does work,
//!   `collect`, `blocking`, dropping the `Mutator`) first checks the tally
//!   is zero, and aborts the process if not: a slot that escaped (kept in a
//!   local `Vec`, dropped, sent elsewhere) may point at an object about to
//!   be freed, and no check could find it later. Aborting, not panicking,
//!   is deliberate: a caught panic would let the escaped slot live on.
//! - **Its target is shaded when the object is allocated while marking.**
//!   The new object is black (allocate-black), and its creator may hold the
//!   target only in roots not yet scanned: the insertion half of the
//!   barrier (`barrier.rs`), applied to every child at once.
//!
//! Allocation finds the pointers by tracing the new object with a
//! collecting [`Tracer`] (only when the tally is non-zero, so objects built
//! from null slots pay one thread-local load). Each one is checked to lie
//! in the mutator's heap; a foreign one panics at the `alloc` call (the
//! object stays unreachable and is swept, its slots with it).

use std::cell::Cell;

use crate::barrier::WriteBarrier;
use crate::mark::Tracer;
use crate::mutator::Mutator;
use crate::trace::Trace;

thread_local! {
    /// Pointer slots made on this thread and not yet inside an allocated
    /// object.
    static UNPUBLISHED: Cell<usize> = const { Cell::new(0) };
    /// The collecting tracer's buffer, kept between allocations so that
    /// building an object with pointer fields allocates nothing else.
    static FOUND: Cell<Vec<usize>> = const { Cell::new(Vec::new()) };
}

/// The pointers `value` holds, through a collecting tracer whose buffer is
/// reused; give the buffer back with `keep_buffer`.
fn pointers_of<T: Trace + ?Sized>(m: &Mutator, value: &T) -> Vec<usize> {
    let mut tracer = Tracer::collecting_into(&m.heap_inner().alloc, FOUND.take());
    value.trace(&mut tracer);
    tracer.into_collected()
}

/// Keep `found`'s allocation for the next object, unless a huge array made
/// it too big to hold on to.
fn keep_buffer(found: Vec<usize>) {
    if found.capacity() <= 4096 {
        FOUND.set(found);
    }
}

/// A pointer slot was made outside the heap (`Member::new`, `NanBox::new`).
#[inline]
pub(crate) fn note_unpublished() {
    UNPUBLISHED.with(|n| n.set(n.get() + 1));
}

/// Whether some pointer slot made on this thread is still outside the heap.
#[inline(always)]
pub(crate) fn any_unpublished() -> bool {
    UNPUBLISHED.with(|n| n.get() != 0)
}

/// The new object `value` (already in its heap slot, not yet visible to
/// anyone) takes its pointers off the tally; shade them if marking.
///
/// # Panics
/// If one of them points into another heap than `m`'s.
#[cold]
#[inline(never)]
#[track_caller]
pub(crate) fn publish<T: Trace + ?Sized>(m: &Mutator, value: &T) {
    let found = pointers_of(m, value);
    UNPUBLISHED.with(|n| n.set(n.get().saturating_sub(found.len())));
    let barrier: &WriteBarrier = m.barrier();
    let foreign = found.iter().any(|&p| !barrier.in_heap(p));
    if !foreign && m.marking() {
        found.iter().for_each(|&p| barrier.shade(m, p));
    }
    keep_buffer(found);
    if foreign {
        panic!(
            "tricolor: an object allocated in this heap was given a pointer (Member::new, \
             NanBox::new) to an object of another heap; objects cannot point across heaps"
        );
    }
}

/// `value` is dropped without reaching the heap (its allocation failed):
/// its pointer slots die with it.
#[cold]
pub(crate) fn forget<T: Trace + ?Sized>(m: &Mutator, value: &T) {
    let found = pointers_of(m, value);
    UNPUBLISHED.with(|n| n.set(n.get().saturating_sub(found.len())));
    keep_buffer(found);
}

/// Abort unless every pointer slot made on this thread is inside an
/// allocated object; called wherever the collector may look at the thread.
#[inline]
#[track_caller]
pub(crate) fn check_all_published(at: &str) {
    let n = UNPUBLISHED.with(Cell::get);
    if n != 0 {
        escaped(n, at);
    }
}

#[cold]
#[track_caller]
fn escaped(n: usize, at: &str) -> ! {
    eprintln!(
        "tricolor: {n} pointer slot(s) made with Member::new / NanBox::new (or `.into()` from a Gc) \
         on this thread were not inside an allocated object at {at} ({}). Such a slot must go \
         into the object being built (`m.alloc(T {{ field: gc.into(), .. }})`) before the next \
         safepoint, and must not be kept or dropped elsewhere: the collector cannot see it, so it \
         may point at a freed object. Aborting.",
        std::panic::Location::caller()
    );
    std::process::abort()
}
