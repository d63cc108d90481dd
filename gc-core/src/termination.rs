//! Mark termination (Go's `gcMarkDone` / `gcMarkTermination`): step 3 of
//! the cycle that `cycle.rs` describes. A worker that found no grey work
//! left stops the world (mutators park at a safepoint or at the end of an
//! allocation, `world.rs`), takes what the barrier buffers and late root
//! scans shaded, hands it back to concurrent marking a few times at most,
//! then finishes inside the pause: flush every thread cache (marking what
//! each allocated black), optional checkmark, census, advance the sweep
//! generation, turn marking off, set the next goal and trigger, restart the
//! world, wake the sweeper; then reports the cycle (gctrace, pacer trace,
//! census, `on_cycle`) in cycle order.
//!
//! Invariants: everything between the final stop and `world.start` runs
//! with every mutator stopped or parked in an allocation, and no thread
//! cache holds a span across the sweep-generation change.

use std::sync::atomic::Ordering::*;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tracing::field::Empty;
use tracing::span::EnteredSpan;

use crate::census::Census;
use crate::cputime::CpuTimer;
use crate::cycle::CycleState;
use crate::events::us;
use crate::heap::HeapInner;
use crate::mark::checkmark;
use crate::mutator_state::MutatorShared;
use crate::pacer::MarkSpeed;
use crate::stats::CycleRecord;
use crate::world::StopKind;

/// Times mark termination hands barrier work back to concurrent marking
/// before it finishes the mark inside the pause. Each hand-back costs a
/// short stop; finishing inside the pause costs whatever is left, which
/// can be a young subtree a store shaded. With 3, about one Lox
/// binary_trees run in 20 had a 0.13 ms termination pause, all of it
/// marking; with 10, none in 20 passed 0.06 ms.
const TERMINATION_RETRIES: usize = 10;

impl HeapInner {
    /// Stop the world and finish the mark (see the module comment).
    pub(crate) fn mark_termination(self: &Arc<Self>) {
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
    /// cycle's), closed here just before the world restarts.
    pub(crate) fn finish_cycle(
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
        let traced = self.pool.take_marked_bytes();
        let marked = traced + self.alloc.take_black_bytes();
        let census = self
            .census_wanted()
            .then(|| Census::take(&self.alloc, number));
        let heap_end = self.alloc.heap_live();
        self.marking.store(false, Release);
        self.alloc.next_sweep_generation();
        self.alloc.reset_heap_live(marked);
        let committed = self.alloc.committed_bytes();
        let goal_wait = Duration::from_nanos(self.goal_wait_ns.swap(0, Relaxed));
        let assist_cpu = Duration::from_nanos(self.assist_ns.swap(0, Relaxed));
        let assist_bytes = self.assist_bytes.swap(0, Relaxed);
        let background_cpu = Duration::from_nanos(self.background_ns.swap(0, Relaxed));
        // How fast the workers traced (what assists marked aside).
        let speed = MarkSpeed::measured(traced.saturating_sub(assist_bytes), background_cpu);
        let (heap_start, trigger, forced, cycle_start) = {
            let st = self.cycle.lock();
            (st.heap_start, st.trigger, st.forced, st.cycle_start)
        };
        let (next_goal, next_trigger, mark_speed) = {
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
            // Mutators held at the goal did not allocate what they would
            // have: add it back, at the rate they allocated over the cycle.
            let cycle_wall = cycle_start.map_or(Duration::ZERO, |t| t_stop - t);
            let held = if cycle_wall.is_zero() {
                0
            } else {
                let share = (goal_wait.as_secs_f64() / cycle_wall.as_secs_f64()).min(1.0);
                (runway as f64 * share) as usize
            };
            p.update(
                marked,
                committed.saturating_sub(marked),
                runway + held,
                speed,
            );
            self.alloc.set_trigger(p.trigger);
            (p.goal, p.trigger, p.speed_scale)
        };
        let t_end = Instant::now();
        self.record_pause(t_end - t_stop);
        let stw2_cpu = earlier_cpu + cpu.elapsed();
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
                mark_speed,
                assist_bytes,
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
        // The phase's span closes, and the sweep's opens, before the world
        // restarts: once it runs, a mutator may start the next cycle, whose
        // spans come after these (`events.rs`). Without a subscriber this
        // is a few loads; with one, its work is inside the pause (the
        // recorded pause, measured above, leaves it out).
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
        self.world.start();
        self.cycle_done.notify_all();
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
