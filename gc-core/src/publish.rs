//! Pointer fields given at construction: `Member::new(gc)` (or `gc.into()`)
//! and `NanBox::new(value)`, so that an object can be built in one
//! expression, `m.alloc(Pair { car: a.into(), cdr: b.into() })`.
//!
//! Such a slot holds a pointer while it is still outside the heap, where
//! the marker cannot see it. Two rules keep that sound:
//! - **It lives only until the next safepoint.** Its target is alive until
//!   then for the same reason a `Gc` is (`gc.rs`): this thread's roots are
//!   scanned, and a cycle starts, only at its safepoints, and a cycle that
//!   marks meanwhile marks the target. Each such slot
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
//!
//! The tally is kept per heap the slots point into (this thread's attached
//! heaps, by address range), plus their sum for the one-load check. A slot
//! is `Send`, so it may be made on one thread and published, or dropped in
//! a failed or foreign allocation, on another, which takes it off *that*
//! thread's tally for its heap: the tallies only add up across threads. The
//! argument: for each heap H, the sum over threads of their H tallies is at
//! least the number of slots into H made and neither inside an object nor
//! dropped unreachable, because each such event subtracts one from the H
//! tally of the thread where it happens, never below zero. So a slot into H
//! that escaped leaves some thread's H tally positive for good. That thread
//! made a slot into H, which needs a `Gc` of H (not `Send`), so it has a
//! mutator on H; the mutator cannot stop running (safepoint work,
//! `collect`, `blocking`, drop) without aborting, and while it runs no
//! cycle of H can start. (A cycle already marking may end, in an
//! allocation: it frees nothing that a slot made while it marked points at,
//! as for a `Gc`.) One tally for all heaps, as this once was, let a slot
//! made on another thread into another heap cancel this thread's escaped
//! slot (tests/construct.rs, `a_slot_from_another_thread_cannot_hide_...`).

use std::cell::{Cell, RefCell};

use crate::barrier::WriteBarrier;
use crate::mark::Tracer;
use crate::mutator::Mutator;
use crate::trace::Trace;

/// Pointer slots into one heap (its address range) made on this thread and
/// not yet inside an allocated object.
struct Tally {
    start: usize,
    len: usize,
    count: usize,
}

impl Tally {
    /// Whether `addr` lies in this tally's heap.
    fn covers(&self, addr: usize) -> bool {
        addr.wrapping_sub(self.start) < self.len
    }
}

thread_local! {
    /// One tally per heap this thread has a mutator for.
    static TALLIES: RefCell<Vec<Tally>> = const { RefCell::new(Vec::new()) };
    /// The sum of the tallies.
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

/// This thread attaches a mutator to the heap at `range`.
pub(crate) fn attach(range: (usize, usize)) {
    TALLIES.with(|t| {
        t.borrow_mut().push(Tally {
            start: range.0,
            len: range.1,
            count: 0,
        })
    });
}

/// This thread's mutator on the heap at `range` detaches (its tally is 0:
/// the drop checked). `try_with`: the thread may be exiting.
pub(crate) fn detach(range: (usize, usize)) {
    let _ = TALLIES.try_with(|t| t.borrow_mut().retain(|e| e.start != range.0));
}

/// A pointer slot to the object at `addr` was made outside the heap
/// (`Member::new`, `NanBox::new`). The object belongs to a heap this thread
/// has a mutator for (a `Gc` borrows one); were it somehow not, the sum
/// alone counts it, which no publishing takes back: the next check aborts.
#[inline]
pub(crate) fn note_unpublished(addr: usize) {
    UNPUBLISHED.with(|n| n.set(n.get() + 1));
    TALLIES.with(|t| {
        if let Some(e) = t.borrow_mut().iter_mut().find(|e| e.covers(addr)) {
            e.count += 1;
        }
    });
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
    let foreign = take_off_tally(m, &found);
    let barrier: &WriteBarrier = m.barrier();
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
    take_off_tally(m, &found);
    keep_buffer(found);
}

/// Take the pointers in `found` off this thread's tally for the heap each
/// points into (module comment); returns whether any is outside `m`'s heap.
fn take_off_tally(m: &Mutator, found: &[usize]) -> bool {
    TALLIES.with(|t| {
        let mut t = t.borrow_mut();
        for &p in found {
            if let Some(e) = t.iter_mut().find(|e| e.count > 0 && e.covers(p)) {
                e.count -= 1;
                UNPUBLISHED.with(|n| n.set(n.get() - 1));
            }
        }
    });
    let barrier = m.barrier();
    found.iter().any(|&p| !barrier.in_heap(p))
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
