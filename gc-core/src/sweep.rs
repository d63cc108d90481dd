//! The background sweeper: one thread per heap that sweeps what the last
//! cycle left unswept and then returns surplus free memory to the OS.
//!
//! Sweeping is also done lazily by allocation (a thread cache sweeps a span
//! before reusing it), and the thread that starts a cycle finishes whatever
//! is left before stopping the world, so this thread only takes work off the
//! mutators.

use std::sync::Arc;

use crate::cputime::CpuTimer;
use crate::heap::HeapInner;

/// One round of background sweeping (run on the sweeper thread).
pub(crate) fn background_sweep(heap: &Arc<HeapInner>) {
    let cpu = CpuTimer::start();
    while heap.alloc.sweep_one() {}
    heap.scavenge();
    heap.add_gc_cpu(cpu.elapsed());
}
