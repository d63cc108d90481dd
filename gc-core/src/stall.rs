//! Stall diagnosis: say which mutator the collector is waiting for.
//!
//! The collector waits on mutators in two places: stopping the world (every
//! running mutator must reach a safepoint) and, during a concurrent mark,
//! for each running mutator to scan its own roots at its next safepoint. A
//! mutator that blocks without [`Mutator::blocking`](crate::Mutator::blocking)
//! (joining a thread that collects, waiting on a channel or a lock) or runs
//! a long loop without a safepoint makes that wait endless, and silent.
//!
//! When such a wait passes the threshold (`GCDEBUG=stallwarn=<ms>`, default
//! 5000; 0 turns reports off), the collector prints to stderr which
//! mutators it waits for (thread name and id, where each was attached), how
//! long it has waited, and the usual causes; then again each time the wait
//! doubles. Reports change nothing else: the collector keeps waiting.
//!
//! Format, every line prefixed `tricolor: stall: ` so logs can be grepped:
//! ```text
//! tricolor: stall: waited 5.00 s to stop the world (mark termination, cycle 3) for 1 mutator not at a safepoint:
//! tricolor: stall:   thread "loader" (ThreadId(7)), attached at src/main.rs:41:22
//! tricolor: stall: usual causes: a blocking call (thread join, lock, channel receive, sleep, I/O) outside Mutator::blocking, or a long loop without Mutator::safepoint; next report at 10.00 s
//! ```

use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering::*};
use std::time::{Duration, Instant};

use crate::heap::HeapInner;

/// `GCDEBUG=stallwarn` when unset.
pub(crate) const DEFAULT_STALL_WARN_MS: u64 = 5000;

/// One wait the collector may report: the first report is due at the
/// threshold, each later one when the wait has doubled.
pub(crate) struct StallWatch<'a> {
    heap: Option<&'a HeapInner>,
    what: &'static str,
    cycle: Option<u64>,
    next: Option<Duration>,
}

impl<'a> StallWatch<'a> {
    /// Watch a stop-the-world wait for `what` (e.g. "sweep termination"),
    /// a phase of `cycle` if it is one.
    pub(crate) fn new(
        heap: &'a HeapInner,
        what: &'static str,
        cycle: Option<u64>,
    ) -> StallWatch<'a> {
        StallWatch {
            heap: Some(heap),
            what,
            cycle,
            next: heap.stall_threshold(),
        }
    }

    /// A watch that never reports, for a `World` without a heap (tests).
    #[cfg(test)]
    pub(crate) fn off() -> StallWatch<'static> {
        StallWatch {
            heap: None,
            what: "",
            cycle: None,
            next: None,
        }
    }

    /// How long a wait that began at `start` may block before the next
    /// report is due; `None` if it never is.
    pub(crate) fn time_left(&self, start: Instant) -> Option<Duration> {
        self.next.map(|n| {
            n.saturating_sub(start.elapsed())
                .max(Duration::from_millis(1))
        })
    }

    /// Report if the wait that began at `start` is past the next deadline.
    /// Called by `World::stop` with the world's lock held: it takes only
    /// the mutator registry's lock and each mutator's `running` lock,
    /// neither of which is ever held while waiting for the world's.
    pub(crate) fn report_if_due(&mut self, start: Instant) {
        let (Some(heap), Some(next)) = (self.heap, self.next) else {
            return;
        };
        let waited = start.elapsed();
        if waited < next {
            return;
        }
        let due = next.saturating_mul(2).max(waited);
        self.next = Some(due);
        let what = match self.cycle {
            Some(n) => format!("to stop the world ({}, cycle {n})", self.what),
            None => format!("to stop the world ({})", self.what),
        };
        heap.report_stall(&what, "not at a safepoint", waited, due, |_| true);
    }
}

/// Deduplicates root-scan reports between mark workers: nanoseconds since
/// the mark began at which the next report is due (0 = off).
#[derive(Default)]
pub(crate) struct RootScanWatch {
    next_ns: AtomicU64,
}

impl RootScanWatch {
    /// A new mark begins.
    pub(crate) fn reset(&self, threshold: Option<Duration>) {
        self.next_ns
            .store(threshold.map_or(0, |t| t.as_nanos() as u64), Relaxed);
    }

    /// A mark worker has found no grey work left while root sets are still
    /// unscanned, `waited` after the mark began: report the mutators whose
    /// roots are pending if the next report is due (once across workers).
    pub(crate) fn check(&self, heap: &HeapInner, cycle: u64, waited: Duration) {
        let next = self.next_ns.load(Relaxed);
        let w = waited.as_nanos() as u64;
        if next == 0 || w < next {
            return;
        }
        let due = next.saturating_mul(2).max(w);
        if self
            .next_ns
            .compare_exchange(next, due, Relaxed, Relaxed)
            .is_ok()
        {
            heap.report_stall(
                &format!("for root scans (concurrent mark, cycle {cycle})"),
                "that has not scanned its roots at a safepoint",
                waited,
                Duration::from_nanos(due),
                |m| m.roots_pending.load(Acquire),
            );
        }
    }
}

impl HeapInner {
    /// `GCDEBUG=stallwarn` as a duration; `None` when reports are off.
    pub(crate) fn stall_threshold(&self) -> Option<Duration> {
        match self.debug.stallwarn {
            0 => None,
            ms => Some(Duration::from_millis(ms)),
        }
    }

    /// Print a stall report naming the running mutators that `pending`
    /// selects.
    fn report_stall(
        &self,
        what: &str,
        state: &str,
        waited: Duration,
        next: Duration,
        pending: impl Fn(&crate::mutator_state::MutatorShared) -> bool,
    ) {
        let mut names = Vec::new();
        for m in self.mutators.lock().iter() {
            if *m.running.lock() && pending(m) {
                names.push(m.info.describe());
            }
        }
        if names.is_empty() {
            // The wait ended while this report was being prepared.
            return;
        }
        eprint!("{}", stall_report(what, state, waited, next, &names));
    }
}

/// The report's text (see the module comment for the format).
pub(crate) fn stall_report(
    what: &str,
    state: &str,
    waited: Duration,
    next: Duration,
    mutators: &[String],
) -> String {
    const P: &str = "tricolor: stall:";
    let n = mutators.len();
    let mut s = format!(
        "{P} waited {:.2} s {what} for {n} mutator{} {state}:\n",
        waited.as_secs_f64(),
        if n == 1 { "" } else { "s" },
    );
    for m in mutators {
        writeln!(s, "{P}   {m}").expect("writing to a String cannot fail");
    }
    writeln!(
        s,
        "{P} usual causes: a blocking call (thread join, lock, channel receive, sleep, I/O) \
         outside Mutator::blocking, or a long loop without Mutator::safepoint; next report at {:.2} s",
        next.as_secs_f64()
    )
    .expect("writing to a String cannot fail");
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_watch_that_is_off_never_reports() {
        let world = crate::world::World::default();
        let mut watch = StallWatch::off();
        assert_eq!(watch.time_left(Instant::now()), None);
        world.stop(crate::world::StopKind::Full, &mut watch, || ());
        world.start();
    }

    #[test]
    fn root_scan_reports_come_once_per_doubling() {
        let heap = crate::HeapBuilder::new().build().unwrap();
        let inner = heap.inner();
        let w = RootScanWatch::default();
        let ms = |n: u64| n * 1_000_000;
        w.reset(Some(Duration::from_millis(100)));
        w.check(inner, 1, Duration::from_millis(50));
        assert_eq!(w.next_ns.load(Relaxed), ms(100), "not due yet");
        w.check(inner, 1, Duration::from_millis(150));
        assert_eq!(
            w.next_ns.load(Relaxed),
            ms(200),
            "reported, next at twice the threshold"
        );
        w.check(inner, 1, Duration::from_millis(150));
        assert_eq!(
            w.next_ns.load(Relaxed),
            ms(200),
            "a second worker does not repeat it"
        );
        w.check(inner, 1, Duration::from_millis(900));
        assert_eq!(
            w.next_ns.load(Relaxed),
            ms(900),
            "a late check moves past the wait"
        );
        w.reset(None);
        w.check(inner, 1, Duration::from_secs(100));
        assert_eq!(w.next_ns.load(Relaxed), 0, "off");
    }

    #[test]
    fn report_names_each_mutator_and_the_causes() {
        let r = stall_report(
            "to stop the world (sweep termination, cycle 2)",
            "not at a safepoint",
            Duration::from_millis(5012),
            Duration::from_secs(10),
            &["thread \"a\" (ThreadId(3)), attached at src/a.rs:1:2".into()],
        );
        let lines: Vec<&str> = r.lines().collect();
        assert_eq!(lines.len(), 3, "{r}");
        assert!(lines.iter().all(|l| l.starts_with("tricolor: stall: ")));
        assert_eq!(
            lines[0],
            "tricolor: stall: waited 5.01 s to stop the world (sweep termination, cycle 2) \
             for 1 mutator not at a safepoint:"
        );
        assert!(lines[1].ends_with("attached at src/a.rs:1:2"));
        assert!(lines[2].contains("outside Mutator::blocking") && lines[2].ends_with("10.00 s"));
    }
}
