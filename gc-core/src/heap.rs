//! The collector instance: [`Heap`], the handle users share, and
//! `HeapInner`, what every thread reaches: the allocator, the registry of
//! mutators, root and weak tables, pacer state and the counters behind
//! [`GcStats`]. Building one is in `builder.rs`, the cycle in `cycle.rs`.
//!
//! Invariants: the marking flag changes only with the world stopped (a
//! mutator reads it again whenever it parks, at a safepoint or in an
//! allocation, so its cached copy is exact while it runs); a root set is scanned once per
//! cycle, by its owner at a safepoint or by a worker holding its `running`
//! lock.
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering::*};
use std::sync::Arc;
use std::time::{Duration, Instant};

use gc_alloc::AllocHeap;
use parking_lot::{Condvar, Mutex};

use crate::builder::{GcError, HeapBuilder};
use crate::census::Census;
use crate::config::DebugFlags;
use crate::cputime::CpuTimer;
use crate::cycle::CycleState;
use crate::events::CycleCallback;
use crate::grey::GreyPool;
use crate::mark::Tracer;
use crate::mutator::Mutator;
use crate::mutator_state::{attached_here, MutatorShared};
use crate::pacer::Pacer;
use crate::signal::Signal;
use crate::slots::SlotTable;
use crate::stall::{RootScanWatch, StallWatch};
use crate::stats::{CycleRecord, GcStats, PAUSE_HISTORY};
use crate::weak::WeakTable;
use crate::world::{StopKind, World};

#[derive(Default)]
pub(crate) struct History {
    pub(crate) pauses: Vec<Duration>,
    pub(crate) next: usize,
    pub(crate) pause_total: Duration,
    pub(crate) pause_max: Duration,
    pub(crate) stop_wait_max: Duration,
    pub(crate) forced: u64,
    pub(crate) last_marked: usize,
    pub(crate) last_cycle: Option<CycleRecord>,
}

impl History {
    pub(crate) fn record_pause(&mut self, d: Duration) {
        if self.pauses.len() < PAUSE_HISTORY {
            self.pauses.push(d);
        } else {
            self.pauses[self.next] = d;
        }
        self.next = (self.next + 1) % PAUSE_HISTORY;
        self.pause_total += d;
        self.pause_max = self.pause_max.max(d);
    }
}

pub(crate) struct HeapInner {
    pub(crate) alloc: Arc<AllocHeap>,
    pub(crate) debug: DebugFlags,
    pub(crate) world: World,
    pub(crate) mutators: Mutex<Vec<Arc<MutatorShared>>>,
    pub(crate) globals: SlotTable,
    pub(crate) weaks: WeakTable,
    /// Bytes of memory outside the heap that live `ExternalMemory` tokens
    /// stand for (`external.rs`); tokens hold it too.
    pub(crate) external: Arc<AtomicUsize>,
    pub(crate) cycle: Mutex<CycleState>,
    pub(crate) cycle_done: Condvar,
    /// The last cycle whose report (`on_cycle`, trace lines) is done.
    pub(crate) reported: AtomicU64,
    pub(crate) terminating: AtomicBool,
    pub(crate) pacer: Mutex<Pacer>,
    pub(crate) marking: AtomicBool,
    pub(crate) pool: GreyPool,
    /// Mutators whose roots this cycle's mark has not scanned yet.
    pub(crate) pending_roots: AtomicUsize,
    /// Bytes of scan work owed per byte allocated while marking (f64 bits).
    pub(crate) assist_ratio: AtomicU64,
    pub(crate) cycles: AtomicU64,
    pub(crate) history: Mutex<History>,
    /// CPU time of the collector's threads, by their CPU clocks.
    pub(crate) gc_cpu_ns: AtomicU64,
    pub(crate) assist_ns: AtomicU64,
    /// Bytes of objects marked by assists this cycle.
    pub(crate) assist_bytes: AtomicUsize,
    /// Time mutators waited at the heap goal this cycle (`wait_at_goal`).
    pub(crate) goal_wait_ns: AtomicU64,
    pub(crate) background_ns: AtomicU64,
    /// Reports mutators that hold up the root scans of a mark (`stall.rs`).
    pub(crate) root_watch: RootScanWatch,
    /// Callers waiting for a census (`census.rs`): while non-zero, every
    /// mark termination takes one.
    pub(crate) census_requests: AtomicUsize,
    pub(crate) last_census: Mutex<Option<Census>>,
    /// `HeapBuilder::on_cycle` (`events.rs`).
    pub(crate) on_cycle: Option<CycleCallback>,
    /// The `gc_sweep` span of the sweep in progress and its cycle, closed
    /// by whoever sees that sweep finish (`events.rs`).
    pub(crate) sweep_span: Mutex<Option<(u64, tracing::Span)>>,
    pub(crate) mark_workers: usize,
    /// Each worker's share of wall time while marking, `None` = unthrottled.
    pub(crate) mark_share: Option<f64>,
    pub(crate) sweeper: Arc<Signal>,
    pub(crate) marker: Arc<Signal>,
    pub(crate) started: Instant,
    /// Cores available to the process when the heap was built.
    pub(crate) cores: usize,
}

/// Longest a mutator waits at the heap goal for a mark to end before it
/// allocates on: the goal is soft (the pacer then triggers the next cycle
/// earlier), and a mark held up by another thread's late safepoint must not
/// stall this one for long.
const GOAL_WAIT: Duration = Duration::from_millis(10);

/// Objects a mutator held at the goal scans between two looks for a stop
/// (about 40 µs of marking): a mark termination waits for it that long.
const GOAL_HELP_SLICE: usize = 4096;

/// How long a mutator held at the goal first sleeps when it finds no grey
/// work, and the most it sleeps between looks (the sleep doubles while the
/// pool stays empty). The first look comes soon because a worker hands work
/// back within a few dozen objects of being asked (`grey.rs`); the cap
/// keeps a long wait for another thread's safepoint from waking the
/// machine's cores every few microseconds.
const GOAL_POLL_MIN: Duration = Duration::from_micros(20);
const GOAL_POLL_MAX: Duration = Duration::from_millis(1);

/// Average object size assumed when turning an assist's bytes of scan work
/// into objects to scan.
const ASSIST_BYTES_PER_OBJECT: f64 = 32.0;

impl HeapInner {
    pub(crate) fn marking(&self) -> bool {
        self.marking.load(Acquire)
    }

    /// A tracer over this heap; it checks every address it is given in
    /// release builds too under `GCDEBUG=gccheckmark`.
    pub(crate) fn tracer(&self) -> Tracer<'_> {
        Tracer::new(&self.alloc).verifying(self.debug.gccheckmark)
    }

    /// Shade objects from a mutator's write-barrier buffer.
    pub(crate) fn shade_all(&self, bases: impl Iterator<Item = usize>) {
        let mut tracer = self.tracer();
        bases.for_each(|b| tracer.edge(b));
        tracer.flush_to(&self.pool);
    }

    /// Scan `m`'s root set if this cycle has not yet; the caller is `m`'s
    /// owner at a safepoint, or any thread while the owner is stopped. Holds
    /// `m.running`, so a root the owner clones meanwhile waits (`roots.rs`).
    pub(crate) fn scan_roots(&self, m: &MutatorShared) {
        if m.roots_pending.load(Acquire) {
            let _running = m.running.lock();
            self.scan_roots_locked(m);
        }
    }

    /// `scan_roots` for a caller that holds `m.running`.
    fn scan_roots_locked(&self, m: &MutatorShared) {
        if m.roots_pending
            .compare_exchange(true, false, AcqRel, Relaxed)
            .is_ok()
        {
            let mut tracer = self.tracer();
            m.roots.for_each(|s| tracer.edge(s.load(Acquire)));
            tracer.flush_to(&self.pool);
            self.pending_roots.fetch_sub(1, AcqRel);
        }
    }

    /// A mutator detaches: its roots no longer count for this cycle.
    pub(crate) fn forget_roots(&self, m: &MutatorShared) {
        if m.roots_pending
            .compare_exchange(true, false, AcqRel, Relaxed)
            .is_ok()
        {
            self.pending_roots.fetch_sub(1, AcqRel);
        }
    }

    /// Scan the root sets of mutators that are parked or in a safe region
    /// (the running ones scan their own at their next safepoint).
    pub(crate) fn scan_idle_mutators(&self) {
        let mutators: Vec<Arc<MutatorShared>> = self.mutators.lock().clone();
        for m in mutators.iter().filter(|m| m.roots_pending.load(Acquire)) {
            if let Some(running) = m.running.try_lock() {
                if !*running {
                    self.scan_roots_locked(m);
                }
            }
        }
    }

    /// Mark assist: a running mutator at a safepoint, past the heap goal
    /// while marking, scans a bounded amount of grey work.
    pub(crate) fn assist(&self, allocated: u64) {
        let ratio = f64::from_bits(self.assist_ratio.load(Relaxed));
        let budget = (allocated as f64 * ratio / ASSIST_BYTES_PER_OBJECT) as usize;
        if budget == 0 {
            return;
        }
        self.as_assist(|tracer| {
            tracer.drain_pool(&self.pool, Some(budget));
        });
    }

    /// Run a mutator's mark work `work` with a tracer, counting the bytes
    /// it marks and the CPU it takes as assist work.
    fn as_assist(&self, work: impl FnOnce(&mut Tracer<'_>)) {
        let cpu = CpuTimer::start();
        let mut tracer = self.tracer();
        work(&mut tracer);
        self.assist_bytes.fetch_add(tracer.flushed_bytes(), Relaxed);
        self.assist_ns
            .fetch_add(cpu.elapsed().as_nanos() as u64, Relaxed);
    }

    /// A running mutator that allocated past the goal while marking, and
    /// has paid with mark work, stops allocating until the world stops for
    /// the mark's end (at most `GOAL_WAIT`; any stop ends the hold).
    ///
    /// While held it marks rather than sleeps, as Go's assists do: a
    /// drainer that finds the pool empty while a worker is active marks the
    /// pool hungry, and the worker hands back half of its grey objects
    /// (`grey.rs`), so the held mutator scans beside the workers instead of
    /// leaving its core idle. It sleeps only while there is nothing to take:
    /// the workers have not answered yet, or the mark waits for another
    /// mutator's safepoint.
    pub(crate) fn wait_at_goal(&self) {
        let start = Instant::now();
        self.as_assist(|tracer| {
            let mut poll = GOAL_POLL_MIN;
            loop {
                let scanned = tracer.drain_pool(&self.pool, Some(GOAL_HELP_SLICE));
                let left = GOAL_WAIT.saturating_sub(start.elapsed());
                if left.is_zero() || self.world.stop_requested() {
                    break;
                }
                if scanned > 0 {
                    poll = GOAL_POLL_MIN;
                } else {
                    self.world.wait_for_stop(left.min(poll));
                    poll = (poll * 2).min(GOAL_POLL_MAX);
                }
            }
        });
        self.goal_wait_ns
            .fetch_add(start.elapsed().as_nanos() as u64, Relaxed);
    }

    /// Stop the world for `what` (a phase of `cycle`, if it is one),
    /// reporting a long wait for mutators (`stall.rs`); record how long
    /// each mutator took to reach a safepoint, and what its cache has
    /// allocated. Returns the wait. A mark termination also asks running
    /// mutators to park at their next allocation (`world.rs`).
    pub(crate) fn stop_world(
        &self,
        kind: StopKind,
        what: &'static str,
        cycle: Option<u64>,
    ) -> Duration {
        // Every mutator's safepoint poll, and for a mark termination its
        // allocation poll too, raised once the stop is up (`World::stop`),
        // so a mutator that takes the raise sees the stop.
        let raise = || {
            for m in self.mutators.lock().iter() {
                m.poll.store(true, Release);
                if kind == StopKind::MarkTermination {
                    m.alloc_poll.store(true, Release);
                }
            }
        };
        let wait = self
            .world
            .stop(kind, &mut StallWatch::new(self, what, cycle), raise);
        let now = Instant::now();
        let requested = now.checked_sub(wait).unwrap_or(now);
        for m in self.mutators.lock().iter() {
            m.info.note_stop(requested);
            // Every mutator is stopped, so none holds its cache locked.
            m.info.set_allocated(m.cache.lock().bytes_taken());
        }
        self.record_stop_wait(wait);
        wait
    }

    pub(crate) fn record_pause(&self, d: Duration) {
        self.history.lock().record_pause(d);
    }

    pub(crate) fn record_stop_wait(&self, d: Duration) {
        let mut h = self.history.lock();
        h.stop_wait_max = h.stop_wait_max.max(d);
    }

    pub(crate) fn add_gc_cpu(&self, d: Duration) {
        self.gc_cpu_ns.fetch_add(d.as_nanos() as u64, Relaxed);
    }

    /// The share of all cores' time since the heap started that the
    /// collector's threads used.
    pub(crate) fn gc_cpu_fraction(&self) -> f64 {
        let wall = self.started.elapsed().as_nanos() as f64 * self.cores as f64;
        if wall == 0.0 {
            0.0
        } else {
            self.gc_cpu_ns.load(Relaxed) as f64 / wall
        }
    }

    /// Give memory beyond the next goal plus 10% (and beyond what the last
    /// cycle used) back to the OS.
    pub(crate) fn scavenge(&self) {
        let goal = self.pacer.lock().goal;
        if goal != usize::MAX {
            self.alloc.scavenge(goal.saturating_add(goal / 10));
        }
    }
}

impl Drop for HeapInner {
    fn drop(&mut self) {
        // No mutator, root or weak handle is left (each holds the heap), so
        // nothing can reach an object: sweep them all, running destructors.
        self.alloc.finish_sweep();
        self.alloc.next_sweep_generation();
        self.alloc.finish_sweep();
    }
}

/// A garbage-collected heap: a handle shared by every thread using it.
///
/// ```
/// use tricolor::Heap;
///
/// let heap = Heap::new();
/// let mut m = heap.mutator();
/// let s = m.alloc(String::from("hello"));
/// assert_eq!(s.len(), 5);
/// m.collect();
/// assert_eq!(heap.stats().num_gc, 1);
/// ```
#[derive(Clone)]
pub struct Heap {
    pub(crate) inner: Arc<HeapInner>,
}

impl Heap {
    /// A heap configured from the environment (`GCPERCENT`, `GCMEMLIMIT`,
    /// `GCRESERVE`, `GCDEBUG`; see [`HeapBuilder::from_env`]).
    ///
    /// # Panics
    /// With a message naming the variable if one has a bad value, or if the
    /// address space cannot be reserved. Use [`HeapBuilder`] to handle those
    /// as errors.
    #[track_caller]
    pub fn new() -> Heap {
        match HeapBuilder::new()
            .from_env()
            .map_err(GcError::from)
            .and_then(HeapBuilder::build)
        {
            Ok(h) => h,
            Err(e) => panic!("tricolor: {e}"),
        }
    }

    pub(crate) fn inner(&self) -> &Arc<HeapInner> {
        &self.inner
    }

    /// Attach the current thread.
    ///
    /// # Panics
    /// If this thread already has a mutator for this heap.
    #[track_caller]
    pub fn mutator(&self) -> Mutator {
        Mutator::attach(self)
    }

    /// Run a full cycle from a thread that has no mutator for this heap.
    ///
    /// # Panics
    /// If this thread has a mutator for this heap: that mutator cannot park
    /// while this call waits for it, so use [`Mutator::collect`] instead.
    #[track_caller]
    pub fn collect(&self) {
        assert!(
            !attached_here(&self.inner),
            "Heap::collect on a thread with a Mutator for this heap would deadlock; call Mutator::collect"
        );
        self.inner.collect_sync(true);
    }

    /// The collector's counters.
    pub fn stats(&self) -> GcStats {
        let alloc = self.inner.alloc.stats();
        let mutators = (self.inner.mutators.lock().iter())
            .map(|m| m.info.stats())
            .collect();
        let h = self.inner.history.lock();
        let mut pauses = h.pauses[h.next.min(h.pauses.len())..].to_vec();
        pauses.extend_from_slice(&h.pauses[..h.next.min(h.pauses.len())]);
        if h.pauses.len() < PAUSE_HISTORY {
            pauses = h.pauses.clone();
        }
        GcStats {
            heap_in_use: alloc.allocated_bytes,
            heap_objects: alloc.allocated_objects,
            heap_committed: alloc.committed_bytes,
            heap_released: alloc.released_bytes,
            heap_reserved: alloc.reserved_bytes,
            external_bytes: self.inner.external.load(Relaxed),
            next_gc: self.inner.pacer.lock().goal,
            last_marked: h.last_marked,
            num_gc: self.inner.cycles.load(Acquire),
            num_forced_gc: h.forced,
            pause_total: h.pause_total,
            pause_max: h.pause_max,
            stop_wait_max: h.stop_wait_max,
            pauses,
            gc_cpu_fraction: self.inner.gc_cpu_fraction(),
            mutators,
            alloc,
        }
    }

    /// The figures of the last completed cycle, `None` before the first.
    /// (To receive every cycle's, see
    /// [`HeapBuilder::on_cycle`](crate::HeapBuilder::on_cycle).)
    pub fn last_cycle(&self) -> Option<CycleRecord> {
        self.inner.history.lock().last_cycle.clone()
    }
}

impl Default for Heap {
    fn default() -> Self {
        Heap::new()
    }
}
