//! The collection cycle: starting it, background marking, mark
//! termination (Go's `mgc.go`).
//!
//! One cycle, after Go's `gcStart` / `gcMarkDone` / `gcMarkTermination`:
//! 1. **Sweep termination** (started by a mutator at a safepoint that sees
//!    the heap past its trigger, or by `collect`): the starting thread
//!    finishes the previous cycle's sweep *before* the pause, then stops the
//!    world, scans the global roots into the grey pool, marks every
//!    mutator's root set as pending, turns marking (write barrier,
//!    allocate-black) on, and restarts the world. The pause is independent
//!    of heap size and of the number of roots per mutator.
//! 2. **Concurrent mark**: each mutator scans its own root set at its next
//!    safepoint (a worker scans those of mutators parked or in a safe
//!    region, holding their `running` lock); background mark workers drain
//!    the grey pool while mutators run; mutators shade through the buffered
//!    write barrier and, once the heap passes the goal, assist at their
//!    safepoints in proportion to what they allocated, and in allocations
//!    past the goal stop allocating and mark until the mark's end.
//! 3. **Mark termination**: when every root set is scanned, the pool is
//!    empty and no drainer is active, a worker stops the world (a running
//!    mutator may park at the end of an allocation, `world.rs`), scans any
//!    root set still pending and collects the flushed barrier buffers. If
//!    that left grey work, it restarts the world and keeps marking (at most
//!    a few times, then it finishes inside the pause, waiting for every
//!    drainer to hand its work back). Then: flush every thread cache,
//!    optional checkmark, advance the sweep generation, turn marking off,
//!    compute the next trigger, restart the world, wake the sweeper. Weak
//!    references are not touched here: the pause does not grow with them.
//! 4. **Sweep**: lazily by allocation and by the background sweeper. The
//!    sweeper clears the weak references of each weakly referenced object
//!    it frees (`weak.rs`); until then `Weak::upgrade` tells a dead target
//!    by its mark bit.
//!
//! `GCDEBUG=gcstoptheworld=1` does steps 1-3 inside one pause.
//!
//! Steps 1 and 2 are here; step 3 is in `termination.rs`.
//!
//! Invariants: the sweep generation and the marking flag change only with
//! the world stopped (a mutator refreshes its cached copy of the flag each
//! time it parks, at a safepoint or in an allocation, so the copy is exact
//! while it runs); sweeping is finished before marking starts; no thread cache holds
//! a span across a sweep-generation change; the threads that take the
//! `cycle` lock or wait for a cycle are never running mutators.

use std::sync::atomic::Ordering::*;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tracing::field::Empty;

use crate::cputime::CpuTimer;
use crate::events::us;
use crate::heap::HeapInner;
use crate::mutator_state::MutatorShared;
use crate::placement;
use crate::world::StopKind;

/// What the cycle in progress has measured so far.
#[derive(Default)]
pub(crate) struct CycleState {
    pub(crate) running: bool,
    pub(crate) forced: bool,
    pub(crate) cycle_start: Option<Instant>,
    pub(crate) stw1: Duration,
    /// CPU the starting thread used finishing the last sweep, and in the
    /// first pause.
    pub(crate) sweep_term_cpu: Duration,
    pub(crate) stw1_cpu: Duration,
    pub(crate) mark_start: Option<Instant>,
    pub(crate) heap_start: usize,
    pub(crate) root_slots: usize,
    /// The pacer's trigger and goal when the cycle started.
    pub(crate) trigger: usize,
    pub(crate) goal: usize,
    /// The `gc_mark` span, open while the concurrent mark runs.
    pub(crate) mark_span: Option<tracing::Span>,
}

/// Objects a background worker scans between checks of its CPU share and of
/// idle mutators' root sets.
const WORKER_SLICE: usize = 8192;

/// How far into a mark the worker counts the running mutators to decide
/// whether to change CPU (`placement.rs`): by then the mutator that started
/// the cycle runs again.
const PLACE_AFTER: Duration = Duration::from_millis(1);

impl HeapInner {
    /// Start a cycle if the heap reached its trigger and none is running.
    /// Called by a mutator that is not running.
    pub(crate) fn collect_if_due(self: &Arc<Self>) {
        if self.debug.gcstress {
            self.collect_sync(false);
        } else if self.alloc.over_trigger() {
            self.begin_cycle(false);
        }
    }

    /// Run one full cycle and wait for its mark to finish (and, if
    /// `forced`, its sweep). Called by a thread that is not a running mutator.
    pub(crate) fn collect_sync(self: &Arc<Self>, forced: bool) {
        let number = loop {
            {
                let mut st = self.cycle.lock();
                while st.running {
                    self.cycle_done.wait(&mut st);
                }
            }
            if let Some(n) = self.begin_cycle(forced) {
                break n;
            }
        };
        {
            // Wait for the cycle's report too (gctrace lines, `on_cycle`),
            // so a program that exits right after `collect` has printed it.
            let mut st = self.cycle.lock();
            while self.reported.load(Acquire) < number {
                self.cycle_done.wait(&mut st);
            }
        }
        if forced {
            self.alloc.finish_sweep();
        }
    }

    /// Sweep termination: stop the world, scan the roots, turn marking on,
    /// restart the world and wake the mark workers. Returns the number the
    /// started cycle will have, or `None` if a cycle was already running.
    fn begin_cycle(self: &Arc<Self>, forced: bool) -> Option<u64> {
        let cycle_start = Instant::now();
        let mut cpu = CpuTimer::start();
        let number;
        {
            let mut st = self.cycle.lock();
            if st.running {
                return None;
            }
            // `cycles` only moves under this lock, with `running` set.
            number = self.cycles.load(Acquire) + 1;
            *st = CycleState {
                running: true,
                forced,
                cycle_start: Some(cycle_start),
                ..CycleState::default()
            };
        }
        // Sweep termination work happens before the pause: the previous
        // cycle's sweep ends here if not before.
        let sweep_span = self.sweep_span.lock().take();
        self.alloc.finish_sweep();
        drop(sweep_span);
        let heap_start = self.alloc.heap_live();
        let sweep_term_cpu = cpu.lap();
        let (trigger, goal) = {
            let p = self.pacer.lock();
            (p.trigger, p.goal)
        };
        let span = tracing::debug_span!(
            target: "tricolor",
            "gc_sweep_termination",
            cycle = number,
            heap_before = heap_start,
            trigger,
            goal,
            workers = self.mark_workers,
            forced,
            stop_wait_us = Empty,
            pause_us = Empty,
        )
        .entered();
        let wait = self.stop_world(StopKind::Full, "sweep termination", Some(number));
        span.record("stop_wait_us", us(wait));
        let t0 = Instant::now();
        cpu.lap();
        let mutators: Vec<Arc<MutatorShared>> = self.mutators.lock().clone();
        let root_slots = mutators.iter().map(|m| m.roots.len()).sum();
        {
            let mut st = self.cycle.lock();
            st.heap_start = heap_start;
            st.root_slots = root_slots;
            st.sweep_term_cpu = sweep_term_cpu;
            st.trigger = trigger;
            st.goal = goal;
        }
        // Global roots are scanned in the pause; each mutator's root set is
        // scanned after it, by the mutator at its next safepoint or by a mark
        // worker while the mutator is parked or in a safe region.
        let mut tracer = self.tracer();
        self.globals.for_each(|s| tracer.edge(s.load(Acquire)));
        tracer.flush_to(&self.pool);
        self.pending_roots.store(mutators.len(), Release);
        for m in &mutators {
            m.roots_pending.store(true, Release);
        }
        if self.debug.gcstoptheworld {
            mutators.iter().for_each(|m| self.scan_roots(m));
            tracer.drain_pool(&self.pool, None);
            self.cycle.lock().mark_start = Some(Instant::now());
            self.finish_cycle(t0, Instant::now(), cpu, Duration::ZERO, span);
            return Some(number);
        }
        self.root_watch.reset(self.stall_threshold());
        self.marking.store(true, Release);
        // Assists (Go's gcAssistAlloc, simplified): once the heap passes the
        // goal, a mutator scans, at its safepoints, work in proportion to the
        // bytes it allocated since its last assist, at the rate that would
        // mark last cycle's live heap within the growth the goal allowed.
        // (Starting them earlier, at the midpoint of the runway, doubled the
        // number of cycles in GCBench: assists found little work to steal
        // and slowed the mutator.)
        let last_marked = self.history.lock().last_marked;
        let growth = goal.saturating_sub(last_marked).max(1 << 20);
        let ratio = last_marked as f64 / growth as f64;
        self.assist_ratio.store(ratio.to_bits(), Relaxed);
        self.alloc.set_trigger(goal);
        let t1 = Instant::now();
        span.record("pause_us", us(t1 - t0));
        drop(span);
        // Opened before the world restarts: the mark cannot end before.
        let mark_span = tracing::debug_span!(
            target: "tricolor",
            parent: None,
            "gc_mark",
            cycle = number,
            heap_start,
            goal,
            workers = self.mark_workers,
            root_slots,
        );
        mark_span.in_scope(|| tracing::debug!(target: "tricolor", "concurrent mark started"));
        {
            let mut st = self.cycle.lock();
            st.stw1 = t1 - t0;
            st.stw1_cpu = cpu.lap();
            st.mark_start = Some(t1);
            st.mark_span = Some(mark_span);
        }
        self.record_pause(t1 - t0);
        self.world.start();
        self.terminating.store(false, Release);
        self.marker.raise();
        Some(number)
    }

    /// A background mark worker's round: drain until no grey work is left,
    /// then (one worker) terminate the mark.
    pub(crate) fn background_mark(self: &Arc<Self>) {
        if !self.marking() {
            return;
        }
        let cpu = CpuTimer::start();
        let start = Instant::now();
        let mut busy = Duration::ZERO;
        let mut tracer = self.tracer();
        let mut placed = false;
        loop {
            self.scan_idle_mutators();
            let t = Instant::now();
            let scanned = tracer.drain_pool(&self.pool, Some(WORKER_SLICE));
            busy += t.elapsed();
            if !placed && start.elapsed() >= PLACE_AFTER {
                // Mutators filling the CPUs: share a different one's CPU
                // this mark (`placement.rs`).
                placed = true;
                placement::move_on_if_crowded(self.world.running());
            }
            if scanned == 0 && !self.pool.done() {
                // Another drainer holds the last grey objects; it hands
                // half back at its next check of the hungry flag (grey.rs).
                std::thread::yield_now();
            } else if self.pool.done() {
                if self.pending_roots.load(Acquire) == 0 {
                    break;
                }
                // Running mutators scan their roots at their next safepoint;
                // say which ones if that takes long.
                let number = self.cycles.load(Acquire) + 1;
                self.root_watch.check(self, number, start.elapsed());
                std::thread::sleep(Duration::from_micros(20));
            } else if let Some(share) = self.mark_share {
                // Fractional worker: hold this worker to its share of the
                // wall time since marking began.
                let allowed = start.elapsed().mul_f64(share);
                if busy > allowed {
                    std::thread::sleep(
                        (busy - allowed)
                            .div_f64(share)
                            .min(Duration::from_millis(1)),
                    );
                }
            }
        }
        self.background_ns
            .fetch_add(cpu.elapsed().as_nanos() as u64, Relaxed);
        if self
            .terminating
            .compare_exchange(false, true, AcqRel, Relaxed)
            .is_ok()
        {
            self.mark_termination();
        }
    }
}
