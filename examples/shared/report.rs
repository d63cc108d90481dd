//! The summary every benchmark example prints to stderr (stdout carries
//! only the workload's reference output).

use std::time::Instant;

use tricolor::Heap;

/// Print wall time, cycles and pause figures for `heap` since `start`.
pub fn report(heap: &Heap, start: Instant) {
    let s = heap.stats();
    let mut pauses = s.pauses.clone();
    pauses.sort();
    let median = pauses.get(pauses.len() / 2).copied().unwrap_or_default();
    eprintln!(
        "time {:.3} s, {} GC cycles, max pause {:.3} ms, median pause {:.3} ms, total pause {:.1} ms, \
         max wait for a safepoint {:.3} ms, GC CPU {:.1}%, committed {} MiB, released to the OS {} MiB",
        start.elapsed().as_secs_f64(),
        s.num_gc,
        s.pause_max.as_secs_f64() * 1e3,
        median.as_secs_f64() * 1e3,
        s.pause_total.as_secs_f64() * 1e3,
        s.stop_wait_max.as_secs_f64() * 1e3,
        s.gc_cpu_fraction * 100.0,
        s.heap_committed >> 20,
        s.heap_released >> 20,
    );
}
