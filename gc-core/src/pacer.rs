//! The pacer: when to start the next cycle.
//!
//! Heap goal (Go's rule before its 1.18 stack/globals terms, which our
//! registered roots make negligible): `goal = marked × (1 + GCPERCENT/100)`,
//! at least `4 MiB × GCPERCENT/100` so tiny heaps do not collect constantly.
//! `GCPERCENT=off` makes that goal infinite.
//!
//! Memory limit (soft): the goal is also capped at `GCMEMLIMIT` minus the
//! memory the heap holds outside live objects (span slack, free but still
//! resident pages) and a headroom of 3% (at least 1 MiB), never below the
//! marked heap, so approaching the limit makes cycles more frequent instead
//! of failing allocations.
//!
//! Trigger: with marking inside a stop-the-world pause the cycle can start
//! exactly at the goal. With concurrent marking the trigger sits earlier,
//! so that what the mutators allocate from the trigger to the end of the
//! mark (the *runway*: the wait for a safepoint to start the cycle, then the
//! mark) lands the heap at the goal. The runway is the larger of the last
//! two cycles' plus 5% (a mark's length varies with what is live when it
//! runs), clamped to 5%..70% of the growth allowed: an earlier trigger
//! would mark most of the time for little garbage. (Go keeps its runway
//! within 5%..30%, with a quarter of the CPU marking and assists for the
//! rest. Ours marks on a core of its own; capped at 40% or 50%, parallel
//! binary-trees' mutators waited at the goal often enough to cost 24% or
//! 14% of its wall time.)
//!
//! A mark slower than the workers' best of the last `SPEED_HISTORY`
//! cycles (bytes traced per CPU-second of the workers) counts only the
//! runway it would have needed at that best speed. A worker's CPU can run
//! slow for a while for reasons outside the program (on our 2-core
//! virtual test machine, one core at times runs 1.7x slower for half a
//! second, with the same instructions and the same profile):
//! if the next trigger moved earlier for it, the mutators would allocate
//! black for the whole slow mark, everything allocated black counts as
//! marked, and the next goal would rise with it (binary-trees' goals went
//! from 225 to 290 MB over one such spell). Counted at the best speed, the
//! runway stays, the mutators wait at the goal for a slow mark, and the
//! heap stays near its usual goal. A lasting slowdown is learnt once it
//! has outlived the history.
//!
//! Mutators that reach the goal while marking assist and then mark (or
//! wait) until the mark ends (`Mutator::assist_in_allocation`), so a
//! runway that was too short shows as a wait rather than as overshoot, and
//! the measured runway stops at the goal; the collector adds back what
//! the held mutators would have allocated meanwhile, at their rate over
//! the cycle, before it reaches this file.

use std::time::Duration;

const HEAP_MINIMUM: usize = 4 << 20;

/// Cycles whose mark speed the pacer remembers.
const SPEED_HISTORY: usize = 16;

/// Worker CPU below which a mark's speed is not measured: short marks
/// (GCBench's take one or two milliseconds) time too coarsely, and their
/// runway is small anyway.
const MIN_TIMED_MARK: Duration = Duration::from_millis(5);

/// How fast the mark workers traced: bytes per second of their CPU time.
#[derive(Clone, Copy, Debug)]
pub(crate) struct MarkSpeed(pub(crate) f64);

impl MarkSpeed {
    /// The speed of workers that traced `bytes` in `cpu`, if the mark was
    /// long enough to time (`MIN_TIMED_MARK`).
    pub(crate) fn measured(bytes: usize, cpu: Duration) -> Option<MarkSpeed> {
        (cpu >= MIN_TIMED_MARK).then(|| MarkSpeed(bytes as f64 / cpu.as_secs_f64()))
    }
}

#[derive(Clone, Debug)]
pub(crate) struct Pacer {
    pub(crate) percent: Option<u32>,
    pub(crate) mem_limit: Option<usize>,
    pub(crate) goal: usize,
    pub(crate) trigger: usize,
    /// The last cycle's runway.
    last_runway: usize,
    /// The last `SPEED_HISTORY` measured mark speeds, oldest first.
    speeds: std::collections::VecDeque<f64>,
    /// The last mark's speed over the best in `speeds` (1.0 if unmeasured):
    /// the share of its runway the last update counted.
    pub(crate) speed_scale: f64,
}

impl Pacer {
    pub(crate) fn new(percent: Option<u32>, mem_limit: Option<usize>) -> Pacer {
        let mut p = Pacer {
            percent,
            mem_limit,
            goal: 0,
            trigger: 0,
            last_runway: 0,
            speeds: std::collections::VecDeque::with_capacity(SPEED_HISTORY),
            speed_scale: 1.0,
        };
        p.update(0, 0, 0, None);
        p
    }

    /// Set the next goal and trigger after a mark that found `marked` live
    /// bytes; `overhead` is memory held beyond the live heap, `runway` the
    /// bytes allocated from the last cycle's trigger to the end of its mark
    /// (0 for stop-the-world marks), `speed` how fast the mark workers
    /// traced, if measured.
    pub(crate) fn update(
        &mut self,
        marked: usize,
        overhead: usize,
        runway: usize,
        speed: Option<MarkSpeed>,
    ) {
        let runway = self.at_best_speed(runway, speed);
        let percent_goal = match self.percent {
            Some(p) => {
                let grow = marked.saturating_mul(p as usize) / 100;
                marked
                    .saturating_add(grow)
                    .max(HEAP_MINIMUM.saturating_mul(p as usize) / 100)
            }
            None => usize::MAX,
        };
        let limit_goal = match self.mem_limit {
            Some(limit) => {
                let headroom = (limit / 100 * 3).max(1 << 20);
                limit
                    .saturating_sub(overhead.saturating_add(headroom))
                    .max(marked)
            }
            None => usize::MAX,
        };
        self.goal = percent_goal.min(limit_goal);
        let growth = self.goal.saturating_sub(marked);
        let expected = runway.max(self.last_runway);
        self.last_runway = runway;
        let expected = expected.saturating_add(expected / 20);
        self.trigger = self
            .goal
            .saturating_sub(expected.clamp(growth / 20, growth / 10 * 7));
    }

    /// `runway` scaled to what it would have been had the mark run at the
    /// best speed of the last `SPEED_HISTORY` (module comment); remembers
    /// `speed` and the scale applied.
    fn at_best_speed(&mut self, runway: usize, speed: Option<MarkSpeed>) -> usize {
        self.speed_scale = 1.0;
        let Some(MarkSpeed(speed)) = speed.filter(|s| s.0 > 0.0) else {
            return runway;
        };
        if self.speeds.len() == SPEED_HISTORY {
            self.speeds.pop_front();
        }
        self.speeds.push_back(speed);
        let best = self.speeds.iter().copied().fold(speed, f64::max);
        self.speed_scale = speed / best;
        (runway as f64 * self.speed_scale) as usize
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percent_sets_the_goal() {
        let mut p = Pacer::new(Some(100), None);
        p.update(100 << 20, 0, 0, None);
        assert_eq!(p.goal, 200 << 20);
        assert!(
            p.trigger < p.goal && p.trigger >= (100 << 20) + (50 << 20),
            "{p:?}"
        );
        p.update(1 << 10, 0, 0, None);
        assert_eq!(p.goal, 4 << 20, "small heaps get the minimum");
    }

    #[test]
    fn a_slow_mark_keeps_the_trigger_until_the_slowdown_lasts() {
        const MB: usize = 1 << 20;
        let fast = Some(MarkSpeed(2e9));
        let slow = Some(MarkSpeed(2e9 / 1.7));
        let mut p = Pacer::new(Some(100), None);
        p.update(100 * MB, 0, 30 * MB, fast);
        p.update(100 * MB, 0, 30 * MB, fast);
        let usual = p.trigger;
        // 1.7x slower, 1.7x the runway: counted as the usual one.
        p.update(100 * MB, 0, 51 * MB, slow);
        assert!(p.trigger.abs_diff(usual) < MB, "{p:?}");
        assert!((p.speed_scale - 1.0 / 1.7).abs() < 1e-9, "{p:?}");
        // Unmeasured, the same runway moves the trigger earlier.
        let mut q = p.clone();
        q.update(100 * MB, 0, 51 * MB, None);
        assert!(q.trigger < usual - 15 * MB, "{q:?}");
        // Once the slow speed is all the history holds, it is the best.
        for _ in 0..SPEED_HISTORY {
            p.update(100 * MB, 0, 51 * MB, slow);
        }
        assert!(p.trigger < usual - 15 * MB, "{p:?}");
    }

    #[test]
    fn off_is_infinite_unless_limited() {
        let mut p = Pacer::new(None, None);
        p.update(100 << 20, 0, 0, None);
        assert_eq!(p.goal, usize::MAX);
        let mut p = Pacer::new(None, Some(512 << 20));
        p.update(100 << 20, 12 << 20, 0, None);
        assert!(p.goal < 500 << 20 && p.goal > 400 << 20, "{p:?}");
    }

    #[test]
    fn limit_caps_the_percent_goal_but_not_below_live() {
        let mut p = Pacer::new(Some(100), Some(256 << 20));
        p.update(200 << 20, 0, 0, None);
        assert!(p.goal < 256 << 20, "{p:?}");
        p.update(300 << 20, 0, 0, None);
        assert_eq!(p.goal, 300 << 20, "never below the live heap");
    }
}
