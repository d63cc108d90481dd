//! Collector statistics (like Go's `MemStats`) and the `gctrace` line.
//!
//! gctrace format, field by field as Go prints it:
//! `gc N @S.SSSs P%: A+B+C ms clock, A'+D/E/F+C' ms cpu, H0->H1->M MB, G MB goal, R MB stacks, L MB globals, W P`
//! where A and C are the two stop-the-world pauses (sweep termination, mark
//! termination; each from the moment every mutator is stopped, so the wait
//! for running mutators to reach a safepoint is not in them: see
//! [`GcStats::stop_wait_max`]), B the concurrent mark, A' and C' the pauses times the
//! threads they held, D/E/F assist, background and idle mark CPU, H0/H1 the
//! heap at mark start and end, M the marked heap, G the goal (the heap
//! figures count live objects' external memory, `external.rs`), R the bytes
//! of per-mutator root slots, L of global roots, W the mark workers, and a
//! trailing ` (forced)` for cycles started by `collect`. Durations under
//! 10 ms have two significant digits and at most three decimals; longer
//! ones are whole milliseconds.

use std::fmt::Write;
use std::time::Duration;

use gc_alloc::AllocStats;

/// Pauses kept in [`GcStats::pauses`], as in Go's `PauseNs`.
pub const PAUSE_HISTORY: usize = 256;

/// A snapshot of the collector's counters.
#[derive(Clone, Debug, Default)]
pub struct GcStats {
    /// Bytes in allocated objects, including unreachable ones not yet swept.
    pub heap_in_use: usize,
    /// Objects allocated and not yet freed.
    pub heap_objects: u64,
    /// Bytes of heap memory held from the OS (committed and not released).
    pub heap_committed: usize,
    /// Bytes returned to the OS so far.
    pub heap_released: usize,
    /// Address space reserved for the heap.
    pub heap_reserved: usize,
    /// Bytes of memory outside the heap that objects declared with
    /// [`Mutator::external_memory`](crate::Mutator::external_memory):
    /// exact, and like `heap_in_use` it includes dead objects' until they
    /// are swept. The pacer counts it as heap, so gctrace's heap figures
    /// include the part owned by live objects.
    pub external_bytes: usize,
    /// Heap goal of the next cycle.
    pub next_gc: usize,
    /// Bytes found live by the last mark.
    pub last_marked: usize,
    /// Completed cycles.
    pub num_gc: u64,
    /// Cycles started by `collect`.
    pub num_forced_gc: u64,
    /// Sum of all stop-the-world pauses.
    pub pause_total: Duration,
    /// The longest stop-the-world pause: from the moment every mutator is
    /// stopped until the world restarts.
    pub pause_max: Duration,
    /// The longest wait, after a stop was requested, for running mutators to
    /// reach a safepoint. Mutators that parked early are paused this much on
    /// top of the pause; it depends on how often the program calls
    /// `safepoint`, not on the collector.
    pub stop_wait_max: Duration,
    /// The last [`PAUSE_HISTORY`] pauses, oldest first (two per cycle).
    pub pauses: Vec<Duration>,
    /// Share of the available CPU time (all cores since the heap started)
    /// spent collecting.
    pub gc_cpu_fraction: f64,
    /// The allocator's own counters.
    pub alloc: AllocStats,
}

/// Everything one gctrace line reports.
#[derive(Clone, Debug, Default)]
pub(crate) struct CycleRecord {
    pub(crate) number: u64,
    pub(crate) start: Duration,
    pub(crate) stw1: Duration,
    pub(crate) mark: Duration,
    pub(crate) stw2: Duration,
    pub(crate) assist_cpu: Duration,
    pub(crate) background_cpu: Duration,
    pub(crate) idle_cpu: Duration,
    pub(crate) threads: u32,
    pub(crate) heap_start: usize,
    pub(crate) heap_end: usize,
    pub(crate) marked: usize,
    pub(crate) goal: usize,
    pub(crate) root_bytes: usize,
    pub(crate) global_bytes: usize,
    pub(crate) workers: u32,
    pub(crate) forced: bool,
}

/// Go's `fmtNSAsMS`.
pub(crate) fn fmt_ms(d: Duration) -> String {
    let ns = d.as_nanos() as u64;
    if ns >= 10_000_000 {
        return (ns / 1_000_000).to_string();
    }
    let mut x = ns / 1000;
    if x == 0 {
        return "0".to_string();
    }
    let mut dec = 3;
    while x >= 100 {
        x /= 10;
        dec -= 1;
    }
    let digits = x.to_string();
    if dec == 0 {
        return digits;
    }
    let padded = format!("{digits:0>width$}", width = dec + 1);
    let (int, frac) = padded.split_at(padded.len() - dec);
    format!("{int}.{frac}")
}

fn mb(bytes: usize) -> usize {
    bytes >> 20
}

impl CycleRecord {
    /// The gctrace line, without a newline. `cpu_percent` is the share of CPU
    /// spent in GC since the heap started.
    pub(crate) fn gctrace_line(&self, cpu_percent: u32) -> String {
        let mut s = String::with_capacity(160);
        let t = self.threads.max(1);
        let goal = if self.goal == usize::MAX {
            0
        } else {
            mb(self.goal)
        };
        write!(
            s,
            "gc {} @{:.3}s {}%: {}+{}+{} ms clock, {}+{}/{}/{}+{} ms cpu, {}->{}->{} MB, {} MB goal, {} MB stacks, {} MB globals, {} P",
            self.number,
            self.start.as_secs_f64(),
            cpu_percent,
            fmt_ms(self.stw1),
            fmt_ms(self.mark),
            fmt_ms(self.stw2),
            fmt_ms(self.stw1 * t),
            fmt_ms(self.assist_cpu),
            fmt_ms(self.background_cpu),
            fmt_ms(self.idle_cpu),
            fmt_ms(self.stw2 * t),
            mb(self.heap_start),
            mb(self.heap_end),
            mb(self.marked),
            goal,
            mb(self.root_bytes),
            mb(self.global_bytes),
            self.workers,
        )
        .expect("writing to a String cannot fail");
        if self.forced {
            s.push_str(" (forced)");
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ms_formatting_matches_go() {
        let us = Duration::from_micros;
        assert_eq!(fmt_ms(Duration::from_nanos(500)), "0");
        assert_eq!(fmt_ms(us(18)), "0.018");
        assert_eq!(fmt_ms(us(41)), "0.041");
        assert_eq!(fmt_ms(us(123)), "0.12");
        assert_eq!(fmt_ms(us(2100)), "2.1");
        assert_eq!(fmt_ms(us(9999)), "9.9");
        assert_eq!(fmt_ms(Duration::from_millis(10)), "10");
        assert_eq!(fmt_ms(Duration::from_millis(1234)), "1234");
    }
}
