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
//!    safepoints in proportion to what they allocated.
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
//! Invariants: the sweep generation and the marking flag change only with
//! the world stopped (so a running mutator's cached copy of the flag is
//! exact); sweeping is finished before marking starts; no thread cache holds
//! a span across a sweep-generation change; the threads that take the
//! `cycle` lock or wait for a cycle are never running mutators.

use std::sync::atomic::Ordering::*;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::census::Census;
use tracing::field::Empty;
use tracing::span::EnteredSpan;

use crate::cputime::CpuTimer;
use crate::events::us;
use crate::heap::HeapInner;
use crate::mark::checkmark;
use crate::mutator_state::MutatorShared;
use crate::stats::CycleRecord;
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

/// Times mark termination hands barrier work back to concurrent marking
/// before it finishes the mark inside the pause.
const TERMINATION_RETRIES: usize = 3;

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
        loop {
            self.scan_idle_mutators();
            let t = Instant::now();
            let scanned = tracer.drain_pool(&self.pool, Some(WORKER_SLICE));
            busy += t.elapsed();
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

    /// Stop the world and finish the mark (see the module comment).
    fn mark_termination(self: &Arc<Self>) {
        let number = self.cycles.load(Acquire) + 1;
        let mark_span = self.cycle.lock().mark_span.take();
        drop(mark_span);
        let span = tracing::debug_span!(
            target: "tricolor",
            "gc_mark_termination",
            cycle = number,
            retries = Empty,
            heap_end = Empty,
            marked = Empty,
            next_goal = Empty,
            next_trigger = Empty,
            pause_us = Empty,
        )
        .entered();
        let mut retries = 0;
        let mut retry_cpu = Duration::ZERO;
        let (t_stop, cpu) = loop {
            self.stop_world(StopKind::MarkTermination, "mark termination", Some(number));
            let t = Instant::now();
            let mut cpu = CpuTimer::start();
            // Every mutator is stopped: scan any root set still pending.
            let mutators: Vec<Arc<MutatorShared>> = self.mutators.lock().clone();
            mutators.iter().for_each(|m| self.scan_roots(m));
            if self.pool.done() || retries == TERMINATION_RETRIES {
                break (t, cpu);
            }
            // Barrier shades left work: keep marking beside the mutators.
            retries += 1;
            retry_cpu += cpu.lap();
            self.record_pause(t.elapsed());
            self.world.start();
            self.tracer().drain_pool(&self.pool, None);
            self.background_ns
                .fetch_add(cpu.lap().as_nanos() as u64, Relaxed);
        };
        // Finish inside the pause. Another worker may still hold a batch it
        // took before the stop: the mark is complete only once it has
        // handed everything back (`done` counts active drainers).
        let mut tracer = self.tracer();
        loop {
            tracer.drain_pool(&self.pool, None);
            if self.pool.done() {
                break;
            }
            std::thread::yield_now();
        }
        span.record("retries", retries);
        self.finish_cycle(t_stop, t_stop, cpu, retry_cpu, span);
    }

    /// Mark termination proper, with the world stopped since `t_stop`:
    /// caches, sweep generation, pacer, stats; then restart the world. `cpu` times this thread since the stop; `earlier_cpu` is what
    /// it used in earlier stops of this mark termination. `span` is the
    /// phase's (`gc_mark_termination`, or with `gcstoptheworld` the
    /// cycle's), closed here once the world runs.
    fn finish_cycle(
        &self,
        t_stop: Instant,
        mark_end: Instant,
        cpu: CpuTimer,
        earlier_cpu: Duration,
        span: EnteredSpan,
    ) {
        let number = self.cycles.load(Relaxed) + 1;
        let mutators: Vec<Arc<MutatorShared>> = self.mutators.lock().clone();
        // First return every cached span: that marks the objects allocated
        // black since they were cached (allocate-black by range, gc-alloc's
        // cache.rs), which checkmark and the sweeper (which frees what is
        // unmarked and clears weak references to it) must see as live, and
        // lets the checkmark pass tell allocated slots from free ones in
        // every span (mark.rs). No span stays cached across the generation
        // change below, which `Weak::upgrade` relies on (`weak.rs`).
        for m in &mutators {
            m.cache.lock().flush();
        }
        if self.debug.gccheckmark {
            let mut roots = Vec::new();
            for m in &mutators {
                m.roots.for_each(|s| roots.push(s.load(Acquire)));
            }
            self.globals.for_each(|s| roots.push(s.load(Acquire)));
            let reached = checkmark(&self.alloc, roots);
            tracing::debug!(target: "tricolor", reached, "checkmark passed");
        }
        // Live bytes: what the marker marked plus what was allocated black
        // (counted as the caches were flushed above).
        let marked = self.pool.take_marked_bytes() + self.alloc.take_black_bytes();
        let census = self
            .census_wanted()
            .then(|| Census::take(&self.alloc, number));
        let heap_end = self.alloc.heap_live();
        self.marking.store(false, Release);
        self.alloc.next_sweep_generation();
        self.alloc.reset_heap_live(marked);
        let committed = self.alloc.stats().committed_bytes;
        let goal_wait = Duration::from_nanos(self.goal_wait_ns.swap(0, Relaxed));
        let (heap_start, trigger, forced) = {
            let st = self.cycle.lock();
            (st.heap_start, st.trigger, st.forced)
        };
        let (next_goal, next_trigger) = {
            let mut p = self.pacer.lock();
            // From the trigger, if this cycle started by crossing it: the
            // wait for a safepoint to start the cycle is runway too.
            let runway = if self.debug.gcstoptheworld {
                0
            } else if forced {
                heap_end.saturating_sub(heap_start)
            } else {
                heap_end.saturating_sub(trigger.min(heap_start))
            };
            p.update(
                marked,
                committed.saturating_sub(marked),
                runway,
                !goal_wait.is_zero(),
            );
            self.alloc.set_trigger(p.trigger);
            (p.goal, p.trigger)
        };
        let t_end = Instant::now();
        self.record_pause(t_end - t_stop);
        let stw2_cpu = earlier_cpu + cpu.elapsed();
        let assist_cpu = Duration::from_nanos(self.assist_ns.swap(0, Relaxed));
        let background_cpu = Duration::from_nanos(self.background_ns.swap(0, Relaxed));
        let record = {
            let st = self.cycle.lock();
            self.add_gc_cpu(
                st.sweep_term_cpu + st.stw1_cpu + stw2_cpu + assist_cpu + background_cpu,
            );
            let cycle_start = st.cycle_start.unwrap_or(t_stop);
            let mark_start = st.mark_start.unwrap_or(t_stop);
            let mut r = CycleRecord {
                number,
                start: cycle_start - self.started,
                forced: st.forced,
                sweep_termination_pause: st.stw1,
                mark_wall: mark_end.saturating_duration_since(mark_start),
                mark_termination_pause: t_end - t_stop,
                sweep_termination_cpu: st.stw1_cpu,
                mark_termination_cpu: stw2_cpu,
                assist_cpu,
                background_cpu,
                heap_start: st.heap_start,
                heap_end,
                marked,
                goal: st.goal,
                trigger: st.trigger,
                next_goal,
                next_trigger,
                assist_bytes: self.assist_bytes.swap(0, Relaxed),
                goal_wait,
                worker_utilization: 0.0,
                root_bytes: st.root_slots * std::mem::size_of::<usize>(),
                global_bytes: self.globals.len() * std::mem::size_of::<usize>(),
                workers: self.mark_workers as u32,
                gc_cpu_fraction: self.gc_cpu_fraction(),
            };
            if self.debug.gcstoptheworld {
                // One pause covers the whole cycle: report it as one.
                r.sweep_termination_pause = t_end - t_stop;
                r.mark_termination_pause = Duration::ZERO;
                r.sweep_termination_cpu += stw2_cpu;
                r.mark_termination_cpu = Duration::ZERO;
            } else if !r.mark_wall.is_zero() {
                r.worker_utilization = background_cpu.as_secs_f64()
                    / (r.mark_wall.as_secs_f64() * self.mark_workers as f64);
            }
            r
        };
        {
            let mut h = self.history.lock();
            h.forced += record.forced as u64;
            h.last_marked = marked;
            h.last_cycle = Some(record.clone());
        }
        if let Some(c) = &census {
            *self.last_census.lock() = Some(c.clone());
        }
        // End the cycle and publish its number in one critical section, so a
        // thread that starts the next one computes the next number (and
        // `collect` returns only once the record above is published).
        {
            let mut cycle = self.cycle.lock();
            *cycle = CycleState::default();
            self.cycles.fetch_add(1, AcqRel);
        }
        self.world.start();
        self.cycle_done.notify_all();
        span.record("heap_end", heap_end);
        span.record("marked", marked);
        span.record("next_goal", next_goal);
        span.record("next_trigger", next_trigger);
        span.record("pause_us", us(t_end - t_stop));
        tracing::debug!(target: "tricolor", "cycle done");
        drop(span);
        let sweep_span = tracing::debug_span!(
            target: "tricolor",
            parent: None,
            "gc_sweep",
            cycle = number,
            heap_live = marked,
        );
        *self.sweep_span.lock() = Some((number, sweep_span));
        self.sweeper.raise();
        self.report(number, &record, census.as_ref());
    }

    /// Hand cycle `number`'s record to `on_cycle` and print its trace lines,
    /// after every earlier cycle's report, so lines come in cycle order;
    /// then let `collect` callers waiting for this cycle return. Errors
    /// writing stderr (a closed pipe) are ignored: a diagnostic must not
    /// take the collector thread down.
    fn report(&self, number: u64, record: &CycleRecord, census: Option<&Census>) {
        {
            let mut st = self.cycle.lock();
            while self.reported.load(Acquire) + 1 < number {
                self.cycle_done.wait(&mut st);
            }
        }
        if let Some(f) = &self.on_cycle {
            (f.0)(record);
        }
        let mut out = String::new();
        if self.debug.gctrace {
            out.push_str(&record.gctrace());
            out.push('\n');
        }
        if self.debug.gcpacertrace {
            out.push_str(&record.pacer_trace());
            out.push('\n');
        }
        if let (true, Some(c)) = (self.debug.gccensus, census) {
            out.push_str(&c.to_string());
        }
        if !out.is_empty() {
            let _ = std::io::Write::write_all(&mut std::io::stderr().lock(), out.as_bytes());
        }
        {
            let _st = self.cycle.lock();
            self.reported.store(number, Release);
        }
        self.cycle_done.notify_all();
    }
}
