//! Collector statistics (like Go's `MemStats`), the per-cycle
//! [`CycleRecord`] and its `gctrace` and `gcpacer` lines.
//!
//! gctrace format, field by field as Go prints it:
//! `gc N @S.SSSs P%: A+B+C ms clock, A'+D/E/F+C' ms cpu, H0->H1->M MB, G MB goal, R MB stacks, L MB globals, W P`
//! where A and C are the two stop-the-world pauses (sweep termination, mark
//! termination; each from the moment every mutator is stopped, so the wait
//! for running mutators to reach a safepoint is not in them: see
//! [`GcStats::stop_wait_max`]), B the concurrent mark; A' and C' the CPU
//! time the collecting thread used in those pauses, D the mutators' assist
//! CPU, E the background workers' CPU, F (idle-worker CPU) always 0: every
//! CPU figure is measured with thread CPU clocks, where Go multiplies the
//! pauses by its thread count. H0/H1 are the heap at mark start and end, M
//! the marked heap (including objects allocated during the mark), G the
//! goal (the heap figures count live objects' external memory,
//! `external.rs`), R the bytes of per-mutator root slots, L of global roots, W the
//! mark workers, and a trailing ` (forced)` for cycles started by
//! `collect`. P is [`GcStats::gc_cpu_fraction`] in percent. Durations
//! under 10 ms have two significant digits and at most three decimals;
//! longer ones are whole milliseconds.

use std::fmt::Write;
use std::time::Duration;

use gc_alloc::AllocStats;

use crate::mutator_stats::MutatorStats;

/// Pauses kept in [`GcStats::pauses`], as in Go's `PauseNs`.
pub const PAUSE_HISTORY: usize = 256;

/// A snapshot of the collector's counters.
///
/// Each figure says how exact it is. "Exact" counters are read without
/// stopping anything, so a snapshot taken while mutators run can mix
/// values from slightly different moments.
#[derive(Clone, Debug, Default)]
pub struct GcStats {
    /// Bytes in allocated objects, including unreachable ones not yet
    /// swept. Span-granular: a span a thread cache holds counts as fully
    /// allocated until the cache returns it.
    pub heap_in_use: usize,
    /// Objects allocated and not yet freed, as of the last time each thread
    /// cache returned its spans (at least every cycle).
    pub heap_objects: u64,
    /// Bytes of heap memory held from the OS (committed and not released).
    /// Exact, in pages.
    pub heap_committed: usize,
    /// Bytes returned to the OS so far. Exact, in pages.
    pub heap_released: usize,
    /// Address space reserved for the heap. Exact.
    pub heap_reserved: usize,
    /// Bytes of memory outside the heap that objects declared with
    /// [`Mutator::external_memory`](crate::Mutator::external_memory):
    /// exact, and like `heap_in_use` it includes dead objects' until they
    /// are swept. The pacer counts it as heap, so gctrace's heap figures
    /// include the part owned by live objects.
    pub external_bytes: usize,
    /// Heap goal of the next cycle (`usize::MAX` if unbounded). Exact.
    pub next_gc: usize,
    /// Bytes found live by the last mark: reached objects plus those
    /// allocated during it (exact, in slot sizes), plus the external memory
    /// ([`ExternalMemory`](crate::ExternalMemory)) the mark found them
    /// holding.
    pub last_marked: usize,
    /// Completed cycles. Exact.
    pub num_gc: u64,
    /// Cycles started by `collect` or `census`. Exact.
    pub num_forced_gc: u64,
    /// Sum of all stop-the-world pauses (including those of path searches,
    /// [`Mutator::path_to`](crate::Mutator::path_to)). Exact.
    pub pause_total: Duration,
    /// The longest stop-the-world pause: from the moment every mutator is
    /// stopped until the world restarts.
    pub pause_max: Duration,
    /// The longest wait, after a stop was requested, for running mutators to
    /// reach a safepoint. Mutators that parked early are paused this much on
    /// top of the pause; it depends on how often the program calls
    /// `safepoint`, not on the collector. Per mutator:
    /// [`MutatorStats::safepoint_wait_max`].
    pub stop_wait_max: Duration,
    /// The last [`PAUSE_HISTORY`] pauses, oldest first (two per cycle, more
    /// when mark termination hands barrier work back to concurrent marking).
    pub pauses: Vec<Duration>,
    /// Share of the available CPU time (wall time since the heap started
    /// times the cores) that the collector's threads used, by their CPU
    /// clocks: pauses, background marking, assists, the sweep before each
    /// cycle and the background sweeper. Lazy sweeping inside allocation
    /// (as in Go) is not counted. Updated at the end of each cycle and of
    /// each background sweep.
    pub gc_cpu_fraction: f64,
    /// One entry per attached mutator, in attach order.
    pub mutators: Vec<MutatorStats>,
    /// The allocator's own counters.
    pub alloc: AllocStats,
}

/// One collection cycle's figures: everything its gctrace and gcpacer
/// lines print, as numbers. A program receives one per cycle through
/// [`HeapBuilder::on_cycle`](crate::HeapBuilder::on_cycle).
///
/// Wall times come from the monotonic clock; CPU times from the collecting
/// threads' own CPU clocks (`CLOCK_THREAD_CPUTIME_ID`), so a thread that
/// waits or sleeps adds nothing. Byte counts are exact unless noted.
///
/// ```
/// use tricolor::HeapBuilder;
///
/// let heap = HeapBuilder::new().build().unwrap();
/// let mut m = heap.mutator();
/// let _kept = m.root(m.alloc([7u64; 100]));
/// m.collect();
/// let r = heap.last_cycle().unwrap();
/// assert_eq!(r.number, 1);
/// assert!(r.forced && r.marked >= 808);
/// assert!(r.gctrace().starts_with("gc 1 @"));
/// assert!(r.pacer_trace().starts_with("gcpacer: cycle=1 "));
/// ```
#[derive(Clone, Debug, Default)]
#[non_exhaustive]
pub struct CycleRecord {
    /// The cycle's number, from 1.
    pub number: u64,
    /// When the cycle started, since the heap was built.
    pub start: Duration,
    /// Started by a `collect` or `census` call rather than by the pacer.
    pub forced: bool,
    /// The sweep termination pause, from the moment every mutator was
    /// stopped until the world restarted (the wait for mutators to reach a
    /// safepoint is not in it: see [`GcStats::stop_wait_max`]). With
    /// `GCDEBUG=gcstoptheworld=1`, the cycle's single pause.
    pub sweep_termination_pause: Duration,
    /// The concurrent mark's wall time, from the end of the first pause to
    /// the stop for mark termination (0 with `gcstoptheworld`).
    pub mark_wall: Duration,
    /// The final mark termination pause (0 with `gcstoptheworld`). Earlier
    /// stops that handed barrier work back to concurrent marking are in
    /// [`GcStats::pauses`] but not here.
    pub mark_termination_pause: Duration,
    /// CPU time the collecting thread used in the sweep termination pause.
    pub sweep_termination_cpu: Duration,
    /// CPU time the collecting thread used in mark termination pauses.
    pub mark_termination_cpu: Duration,
    /// CPU time mutators spent in mark assists.
    pub assist_cpu: Duration,
    /// CPU time of the background mark workers while this cycle marked.
    pub background_cpu: Duration,
    /// Bytes the heap held when the cycle started (after sweep termination
    /// finished the previous sweep): live plus allocated since. Span-granular
    /// (a span a thread cache takes counts whole).
    pub heap_start: usize,
    /// Bytes the heap held when the mark ended, span-granular as `heap_start`.
    pub heap_end: usize,
    /// Bytes found live: objects the mark reached plus those allocated
    /// during it (allocated black), exact in slot sizes, plus the external
    /// memory ([`ExternalMemory`](crate::ExternalMemory)) the mark found
    /// them holding.
    pub marked: usize,
    /// The heap goal this cycle ran against (`usize::MAX` if unbounded).
    pub goal: usize,
    /// The heap size at which the pacer meant to start this cycle (a forced
    /// cycle starts wherever it is called).
    pub trigger: usize,
    /// The next cycle's goal (`usize::MAX` if unbounded).
    pub next_goal: usize,
    /// The next cycle's trigger.
    pub next_trigger: usize,
    /// How fast the background workers traced in this mark (bytes per
    /// second of their CPU) over their best of the last 16 cycles; 1.0
    /// for marks too short to time (under 5 ms of worker CPU). Below 1.0
    /// the workers' CPU ran slow, and the pacer counted only this share of
    /// the cycle's runway, so the next trigger does not move earlier for
    /// a slowdown that usually passes.
    pub mark_speed: f64,
    /// Mark work done by mutator assists: bytes of the objects they marked.
    pub assist_bytes: usize,
    /// Wall time mutators spent held at the heap goal while this cycle
    /// marked (assisting, then waiting for the mark to end), summed over
    /// mutators. Non-zero means the cycle started too late for the
    /// allocation rate; the pacer then triggers the next one earlier,
    /// unless the mark ran slow ([`mark_speed`](Self::mark_speed)).
    pub goal_wait: std::time::Duration,
    /// Background workers' CPU time over the mark's wall time times the
    /// number of workers: 1.0 means every worker ran all through the mark.
    pub worker_utilization: f64,
    /// Bytes of per-mutator root slots at the start of the cycle.
    pub root_bytes: usize,
    /// Bytes of global root slots.
    pub global_bytes: usize,
    /// Background mark workers.
    pub workers: u32,
    /// [`GcStats::gc_cpu_fraction`] as of this cycle's end.
    pub gc_cpu_fraction: f64,
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

/// Megabytes with two decimals; `inf` for an unbounded goal or trigger.
fn mb2(bytes: usize) -> String {
    if bytes == usize::MAX {
        "inf".to_string()
    } else {
        format!("{:.2}", bytes as f64 / (1 << 20) as f64)
    }
}

impl CycleRecord {
    /// The gctrace line, without a newline (format: the module comment).
    pub fn gctrace(&self) -> String {
        let mut s = String::with_capacity(160);
        let goal = if self.goal == usize::MAX {
            0
        } else {
            mb(self.goal)
        };
        write!(
            s,
            "gc {} @{:.3}s {}%: {}+{}+{} ms clock, {}+{}/{}/0+{} ms cpu, {}->{}->{} MB, {} MB goal, {} MB stacks, {} MB globals, {} P",
            self.number,
            self.start.as_secs_f64(),
            (self.gc_cpu_fraction * 100.0) as u32,
            fmt_ms(self.sweep_termination_pause),
            fmt_ms(self.mark_wall),
            fmt_ms(self.mark_termination_pause),
            fmt_ms(self.sweep_termination_cpu),
            fmt_ms(self.assist_cpu),
            fmt_ms(self.background_cpu),
            fmt_ms(self.mark_termination_cpu),
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

    /// The gcpacer line (`GCDEBUG=gcpacertrace=1`), without a newline:
    ///
    /// ```text
    /// gcpacer: cycle=12 trigger_mb=8.00 goal_mb=16.00 heap_end_mb=15.20 live_mb=7.90 end_over_goal=0.95 assist_mb=0.50 worker_util=0.98 next_trigger_mb=14.10 next_goal_mb=15.80 goal_wait_ms=0.00 mark_speed=1.00
    /// ```
    ///
    /// Fields always in this order, separated by one space, each `key=value`
    /// with two decimals: the trigger and goal this cycle ran against, the
    /// heap at mark end, the live (marked) heap, heap at mark end over goal
    /// (above 1.00 means the mark overshot), assist work in MB
    /// ([`assist_bytes`](Self::assist_bytes)), worker utilisation
    /// ([`worker_utilization`](Self::worker_utilization)), the next
    /// cycle's trigger and goal, the time mutators were held at the goal
    /// in ms ([`goal_wait`](Self::goal_wait)), then the mark's speed
    /// against the recent best ([`mark_speed`](Self::mark_speed)). MB are
    /// 2^20 bytes. An unbounded goal or trigger (`GCPERCENT=off` without a
    /// memory limit) prints `inf`, and `end_over_goal` is then `0.00`.
    pub fn pacer_trace(&self) -> String {
        let over = if self.goal == usize::MAX || self.goal == 0 {
            0.0
        } else {
            self.heap_end as f64 / self.goal as f64
        };
        format!(
            "gcpacer: cycle={} trigger_mb={} goal_mb={} heap_end_mb={} live_mb={} end_over_goal={over:.2} \
             assist_mb={} worker_util={:.2} next_trigger_mb={} next_goal_mb={} goal_wait_ms={:.2} \
             mark_speed={:.2}",
            self.number,
            mb2(self.trigger),
            mb2(self.goal),
            mb2(self.heap_end),
            mb2(self.marked),
            mb2(self.assist_bytes),
            self.worker_utilization,
            mb2(self.next_trigger),
            mb2(self.next_goal),
            self.goal_wait.as_secs_f64() * 1e3,
            self.mark_speed,
        )
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
