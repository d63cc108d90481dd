//! The background sweeper: one thread per heap that sweeps what the last
//! cycle left unswept and then returns surplus free memory to the OS.
//!
//! Sweeping is also done lazily by allocation (a thread cache sweeps a span
//! before reusing it), and the thread that starts a cycle finishes whatever
//! is left before stopping the world, so this thread only takes work off the
//! mutators.

use std::sync::atomic::Ordering::Acquire;
use std::sync::Arc;

use crate::cputime::CpuTimer;
use crate::heap::HeapInner;

/// One round of background sweeping (run on the sweeper thread).
pub(crate) fn background_sweep(heap: &Arc<HeapInner>) {
    let cpu = CpuTimer::start();
    let cycle = heap.cycles.load(Acquire);
    while heap.alloc.sweep_one() {}
    // What the sweep left empty and no cache took meanwhile goes back to the
    // page heap, where the scavenger can return it to the OS.
    heap.alloc.release_empty_spans();
    // That cycle's sweep is done, unless a later cycle has ended meanwhile
    // (then its own sweep has begun and its span stays open).
    let mut span = heap.sweep_span.lock();
    if span.as_ref().is_some_and(|(n, _)| *n == cycle) {
        *span = None;
    }
    drop(span);
    heap.scavenge();
    heap.add_gc_cpu(cpu.elapsed());
}
