//! The collector instance: configuration, the registry of mutators, the
//! pacer, and the collection cycle.
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
//!    empty and no drainer is active, a worker stops the world, scans any
//!    root set still pending and collects the flushed barrier buffers. If
//!    that left grey work, it restarts the world and keeps marking (at most
//!    a few times, then it finishes inside the pause, waiting for every
//!    drainer to hand its work back). Then: optional checkmark, clear weak
//!    references to unmarked objects (O(weak references), inside the
//!    pause), flush every thread cache, advance the sweep generation, turn
//!    marking off, compute the next trigger, restart the world, wake the
//!    sweeper.
//! 4. **Sweep**: lazily by allocation and by the background sweeper.
//!
//! `GCDEBUG=gcstoptheworld=1` does steps 1-3 inside one pause.
//!
//! Invariants: the sweep generation and the marking flag change only with
//! the world stopped (so a running mutator's cached copy of the flag is
//! exact); sweeping is finished before marking starts; no thread cache holds
//! a span across a sweep-generation change; the threads that take the
//! `cycle` lock or wait for a cycle are never running mutators.

use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering::*};
use std::sync::Arc;
use std::time::{Duration, Instant};

use gc_alloc::{AllocError, AllocHeap, HeapConfig};
use parking_lot::{Condvar, Mutex};

use crate::config::{self, ConfigError, DebugFlags};
use crate::mark::{checkmark, GreyPool, Tracer};
use crate::mutator::{attached_here, Mutator, MutatorShared};
use crate::nanbox::ADDRESS_LIMIT;
use crate::object::drop_object;
use crate::pacer::Pacer;
use crate::roots::SlotTable;
use crate::signal::{spawn_worker, Signal};
use crate::stats::{CycleRecord, GcStats, PAUSE_HISTORY};
use crate::sweep::background_sweep;
use crate::world::World;

/// Why a heap could not be built.
#[derive(Debug)]
pub enum GcError {
    /// A setting (builder or environment) is invalid.
    Config(ConfigError),
    /// The allocator could not reserve the heap.
    Alloc(AllocError),
    /// The OS placed the heap's reservation above the 48-bit addresses a
    /// [`NanBox`](crate::NanBox) can encode (only possible with 57-bit
    /// virtual addresses); `end` is the reservation's end.
    AddressRange {
        /// One past the reservation's last byte.
        end: usize,
    },
}

impl std::fmt::Display for GcError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            GcError::Config(e) => e.fmt(f),
            GcError::Alloc(e) => e.fmt(f),
            GcError::AddressRange { end } => write!(
                f,
                "the heap was reserved up to {end:#x}, above the 48-bit addresses NanBox \
                 encodes; run with 48-bit virtual addresses"
            ),
        }
    }
}

impl std::error::Error for GcError {}

impl From<ConfigError> for GcError {
    fn from(e: ConfigError) -> Self {
        GcError::Config(e)
    }
}

impl From<AllocError> for GcError {
    fn from(e: AllocError) -> Self {
        GcError::Alloc(e)
    }
}

/// Settings for a [`Heap`].
///
/// ```
/// use tricolor::HeapBuilder;
///
/// let heap = HeapBuilder::new().gc_percent(Some(200)).max_heap(1 << 30).build().unwrap();
/// assert_eq!(heap.stats().num_gc, 0);
/// ```
#[derive(Clone, Debug)]
pub struct HeapBuilder {
    percent: Option<u32>,
    mem_limit: Option<usize>,
    max_heap: usize,
    debug: DebugFlags,
    mark_workers: usize,
    mark_cpu: Option<f64>,
}

impl Default for HeapBuilder {
    fn default() -> Self {
        HeapBuilder::new()
    }
}

impl HeapBuilder {
    /// Defaults: `GCPERCENT=100`, no memory limit, no hard cap, no debug.
    pub fn new() -> HeapBuilder {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        HeapBuilder {
            percent: Some(100),
            mem_limit: None,
            max_heap: usize::MAX,
            debug: DebugFlags::default(),
            mark_workers: (cores / 4).max(1),
            mark_cpu: None,
        }
    }

    /// Heap growth between cycles in percent; `None` disables automatic
    /// collection (as `GCPERCENT=off`).
    pub fn gc_percent(mut self, percent: Option<u32>) -> Self {
        self.percent = percent;
        self
    }

    /// Soft memory limit in bytes (as `GCMEMLIMIT`).
    pub fn memory_limit(mut self, bytes: Option<usize>) -> Self {
        self.mem_limit = bytes;
        self
    }

    /// Hard cap on heap memory: allocation past it fails with
    /// [`AllocError::HeapLimit`].
    pub fn max_heap(mut self, bytes: usize) -> Self {
        self.max_heap = bytes;
        self
    }

    /// Background mark workers (default: a quarter of the cores, at least
    /// one).
    pub fn mark_workers(mut self, n: usize) -> Self {
        self.mark_workers = n.max(1);
        self
    }

    /// Cap background marking at `fraction` of all cores while a mark runs
    /// (Go's `gcBackgroundUtilization` is 0.25); the workers sleep to keep
    /// to it. `None` (the default) lets them use every core the mutators
    /// leave idle, as Go's idle mark workers do, which ends marks sooner.
    pub fn mark_cpu_fraction(mut self, fraction: Option<f64>) -> Self {
        self.mark_cpu = fraction;
        self
    }

    /// Debug switches (as `GCDEBUG`).
    pub fn debug(mut self, flags: DebugFlags) -> Self {
        self.debug = flags;
        self
    }

    /// Apply `GCPERCENT`, `GCMEMLIMIT` and `GCDEBUG` from the environment
    /// (see [`config`](crate::DebugFlags)); a bad value is an error naming
    /// the variable, the value and what is accepted.
    pub fn from_env(self) -> Result<Self, ConfigError> {
        self.from_vars(|k| std::env::var(k).ok())
    }

    /// As [`from_env`](Self::from_env), reading variables through `get`.
    pub fn from_vars(mut self, get: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        if let Some(v) = get("GCPERCENT") {
            self.percent = config::parse_percent("GCPERCENT", &v)?;
        }
        if let Some(v) = get("GCMEMLIMIT") {
            self.mem_limit = config::parse_limit("GCMEMLIMIT", &v)?;
        }
        if let Some(v) = get("GCDEBUG") {
            self.debug = config::parse_debug("GCDEBUG", &v)?;
        }
        Ok(self)
    }

    /// Create the heap.
    pub fn build(self) -> Result<Heap, GcError> {
        let alloc = AllocHeap::new(HeapConfig {
            limit_bytes: self.max_heap,
            on_free: Some(drop_object),
            ..HeapConfig::default()
        })?;
        let (base, len) = alloc.range();
        if base + len > ADDRESS_LIMIT {
            return Err(GcError::AddressRange { end: base + len });
        }
        let pacer = Pacer::new(self.percent, self.mem_limit);
        let inner = Arc::new(HeapInner {
            alloc,
            debug: self.debug,
            world: World::default(),
            mutators: Mutex::new(Vec::new()),
            globals: SlotTable::default(),
            weaks: SlotTable::default(),
            cycle: Mutex::new(CycleState::default()),
            cycle_done: Condvar::new(),
            terminating: AtomicBool::new(false),
            trigger: AtomicUsize::new(pacer.trigger),
            pacer: Mutex::new(pacer),
            marking: AtomicBool::new(false),
            pool: GreyPool::default(),
            pending_roots: AtomicUsize::new(0),
            assist_ratio: AtomicU64::new(0),
            cycles: AtomicU64::new(0),
            history: Mutex::new(History::default()),
            gc_cpu_ns: AtomicU64::new(0),
            assist_ns: AtomicU64::new(0),
            background_ns: AtomicU64::new(0),
            mark_workers: self.mark_workers,
            mark_share: self.mark_cpu.map(|f| {
                let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
                (f * cores as f64 / self.mark_workers as f64).clamp(0.01, 1.0)
            }),
            sweeper: Arc::new(Signal::default()),
            marker: Arc::new(Signal::default()),
            started: Instant::now(),
        });
        spawn_worker(
            "tricolor-sweeper",
            Arc::downgrade(&inner),
            inner.sweeper.clone(),
            background_sweep,
        );
        for _ in 0..inner.mark_workers {
            spawn_worker(
                "tricolor-marker",
                Arc::downgrade(&inner),
                inner.marker.clone(),
                HeapInner::background_mark,
            );
        }
        Ok(Heap { inner })
    }
}

/// What the cycle in progress has measured so far.
#[derive(Default)]
struct CycleState {
    running: bool,
    forced: bool,
    cycle_start: Option<Instant>,
    stw1: Duration,
    mark_start: Option<Instant>,
    heap_start: usize,
    root_slots: usize,
}

#[derive(Default)]
struct History {
    pauses: Vec<Duration>,
    next: usize,
    pause_total: Duration,
    pause_max: Duration,
    stop_wait_max: Duration,
    forced: u64,
    last_marked: usize,
}

impl History {
    fn record_pause(&mut self, d: Duration) {
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
    pub(crate) weaks: SlotTable,
    cycle: Mutex<CycleState>,
    cycle_done: Condvar,
    terminating: AtomicBool,
    /// Heap size at which a safepoint starts a cycle; while marking, the
    /// size past which mutators assist.
    trigger: AtomicUsize,
    pacer: Mutex<Pacer>,
    marking: AtomicBool,
    pool: GreyPool,
    /// Mutators whose roots this cycle's mark has not scanned yet.
    pending_roots: AtomicUsize,
    /// Bytes of scan work owed per byte allocated while marking (f64 bits).
    assist_ratio: AtomicU64,
    cycles: AtomicU64,
    history: Mutex<History>,
    gc_cpu_ns: AtomicU64,
    assist_ns: AtomicU64,
    background_ns: AtomicU64,
    mark_workers: usize,
    /// Each worker's share of wall time while marking, `None` = unthrottled.
    mark_share: Option<f64>,
    pub(crate) sweeper: Arc<Signal>,
    marker: Arc<Signal>,
    started: Instant,
}

/// Objects a background worker scans between checks of its CPU share and of
/// idle mutators' root sets.
const WORKER_SLICE: usize = 8192;

/// Average object size assumed when turning an assist's bytes of scan work
/// into objects to scan.
const ASSIST_BYTES_PER_OBJECT: f64 = 32.0;

/// Times mark termination hands barrier work back to concurrent marking
/// before it finishes the mark inside the pause.
const TERMINATION_RETRIES: usize = 3;

impl HeapInner {
    /// Whether a safepoint has anything to do.
    #[inline]
    pub(crate) fn poll(&self) -> bool {
        self.world.stop_requested()
            || self.alloc.heap_live() >= self.trigger.load(Relaxed)
            || self.debug.gcstress
    }

    pub(crate) fn marking(&self) -> bool {
        self.marking.load(Acquire)
    }

    /// Shade objects from a mutator's write-barrier buffer.
    pub(crate) fn shade_all(&self, bases: impl Iterator<Item = usize>) {
        let mut tracer = Tracer::new(&self.alloc);
        bases.for_each(|b| tracer.edge(b));
        tracer.flush_to(&self.pool);
    }

    /// Scan `m`'s root set if this cycle has not yet; the caller is `m`'s
    /// owner at a safepoint, or holds `m.running` with the owner stopped.
    pub(crate) fn scan_roots(&self, m: &MutatorShared) {
        if m.roots_pending
            .compare_exchange(true, false, AcqRel, Relaxed)
            .is_ok()
        {
            let mut tracer = Tracer::new(&self.alloc);
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
    fn scan_idle_mutators(&self) {
        let mutators: Vec<Arc<MutatorShared>> = self.mutators.lock().clone();
        for m in mutators.iter().filter(|m| m.roots_pending.load(Acquire)) {
            if let Some(running) = m.running.try_lock() {
                if !*running {
                    self.scan_roots(m);
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
        let start = Instant::now();
        Tracer::new(&self.alloc).drain_pool(&self.pool, Some(budget));
        self.assist_ns
            .fetch_add(start.elapsed().as_nanos() as u64, Relaxed);
    }

    /// Start a cycle if the heap reached its trigger and none is running.
    /// Called by a mutator that is not running.
    pub(crate) fn collect_if_due(self: &Arc<Self>) {
        if self.debug.gcstress {
            self.collect_sync(false);
        } else if self.alloc.heap_live() >= self.trigger.load(Relaxed) {
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
            let mut st = self.cycle.lock();
            while self.cycles.load(Acquire) < number {
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
        // Sweep termination work happens before the pause.
        self.alloc.finish_sweep();
        let heap_start = self.alloc.heap_live();
        let wait = self.world.stop();
        let t0 = Instant::now();
        self.record_stop_wait(wait);
        let _span =
            tracing::debug_span!("gc_mark_start", number = self.cycles.load(Relaxed) + 1).entered();
        let mutators: Vec<Arc<MutatorShared>> = self.mutators.lock().clone();
        let root_slots = mutators.iter().map(|m| m.roots.len()).sum();
        {
            let mut st = self.cycle.lock();
            st.heap_start = heap_start;
            st.root_slots = root_slots;
        }
        // Global roots are scanned in the pause; each mutator's root set is
        // scanned after it, by the mutator at its next safepoint or by a mark
        // worker while the mutator is parked or in a safe region.
        let mut tracer = Tracer::new(&self.alloc);
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
            self.finish_cycle(t0, Instant::now());
            return Some(number);
        }
        self.marking.store(true, Release);
        // Assists (Go's gcAssistAlloc, simplified): once the heap passes the
        // goal, a mutator scans, at its safepoints, work in proportion to the
        // bytes it allocated since its last assist, at the rate that would
        // mark last cycle's live heap within the growth the goal allowed.
        // (Starting them earlier, at the midpoint of the runway, doubled the
        // number of cycles in GCBench: assists found little work to steal
        // and slowed the mutator.)
        let last_marked = self.history.lock().last_marked;
        let (goal, ratio) = {
            let p = self.pacer.lock();
            let growth = p.goal.saturating_sub(last_marked).max(1 << 20);
            (p.goal, last_marked as f64 / growth as f64)
        };
        let threshold = goal;
        self.assist_ratio.store(ratio.to_bits(), Relaxed);
        self.trigger.store(threshold.min(goal), Relaxed);
        let t1 = Instant::now();
        {
            let mut st = self.cycle.lock();
            st.stw1 = t1 - t0;
            st.mark_start = Some(t1);
        }
        self.record_pause(t1 - t0);
        self.world.start();
        self.terminating.store(false, Release);
        self.marker.raise();
        tracing::debug!(root_slots, "concurrent mark started");
        Some(number)
    }

    /// A background mark worker's round: drain until no grey work is left,
    /// then (one worker) terminate the mark.
    fn background_mark(self: &Arc<Self>) {
        if !self.marking() {
            return;
        }
        let start = Instant::now();
        let mut busy = Duration::ZERO;
        let mut tracer = Tracer::new(&self.alloc);
        loop {
            self.scan_idle_mutators();
            let t = Instant::now();
            tracer.drain_pool(&self.pool, Some(WORKER_SLICE));
            busy += t.elapsed();
            if self.pool.done() {
                if self.pending_roots.load(Acquire) == 0 {
                    break;
                }
                // Running mutators scan their roots at their next safepoint.
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
            .fetch_add(busy.as_nanos() as u64, Relaxed);
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
        let mut retries = 0;
        let t_stop = loop {
            let wait = self.world.stop();
            let t = Instant::now();
            self.record_stop_wait(wait);
            // Every mutator is stopped: scan any root set still pending.
            let mutators: Vec<Arc<MutatorShared>> = self.mutators.lock().clone();
            mutators.iter().for_each(|m| self.scan_roots(m));
            if self.pool.done() || retries == TERMINATION_RETRIES {
                break t;
            }
            // Barrier shades left work: keep marking beside the mutators.
            retries += 1;
            self.world.start();
            let start = Instant::now();
            Tracer::new(&self.alloc).drain_pool(&self.pool, None);
            self.background_ns
                .fetch_add(start.elapsed().as_nanos() as u64, Relaxed);
        };
        // Finish inside the pause. Another worker may still hold a batch it
        // took before the stop: the mark is complete only once it has
        // handed everything back (`done` counts active drainers).
        let mut tracer = Tracer::new(&self.alloc);
        loop {
            tracer.drain_pool(&self.pool, None);
            if self.pool.done() {
                break;
            }
            std::thread::yield_now();
        }
        self.finish_cycle(t_stop, t_stop);
    }

    /// Mark termination proper, with the world stopped since `t_stop`: weak
    /// references, caches, sweep generation, pacer, stats; then restart the
    /// world.
    fn finish_cycle(&self, t_stop: Instant, mark_end: Instant) {
        let _span = tracing::debug_span!(
            "gc_mark_termination",
            number = self.cycles.load(Relaxed) + 1
        )
        .entered();
        let mutators: Vec<Arc<MutatorShared>> = self.mutators.lock().clone();
        if self.debug.gccheckmark {
            let mut roots = Vec::new();
            for m in &mutators {
                m.roots.for_each(|s| roots.push(s.load(Acquire)));
            }
            self.globals.for_each(|s| roots.push(s.load(Acquire)));
            let reached = checkmark(&self.alloc, roots);
            tracing::debug!(reached, "checkmark passed");
        }
        let marked = self.pool.take_marked_bytes();
        self.weaks.for_each(|s| {
            let p = s.load(Relaxed);
            if p != 0 {
                let live = self
                    .alloc
                    .find_object(p)
                    .is_some_and(|o| o.span.is_marked(o.index));
                if !live {
                    s.store(0, Relaxed);
                }
            }
        });
        for m in &mutators {
            m.cache.lock().flush();
        }
        let heap_end = self.alloc.heap_live();
        self.marking.store(false, Release);
        self.alloc.next_sweep_generation();
        self.alloc.reset_heap_live(marked);
        // End the cycle and publish its number in one critical section, so a
        // thread that starts the next one computes the next number.
        let (st, number) = {
            let mut cycle = self.cycle.lock();
            (
                std::mem::take(&mut *cycle),
                self.cycles.fetch_add(1, AcqRel) + 1,
            )
        };
        let committed = self.alloc.stats().committed_bytes;
        let goal = {
            let mut p = self.pacer.lock();
            let runway = if self.debug.gcstoptheworld {
                0
            } else {
                heap_end.saturating_sub(st.heap_start)
            };
            p.update(marked, committed.saturating_sub(marked), runway);
            self.trigger.store(p.trigger, Relaxed);
            p.goal
        };
        let t_end = Instant::now();
        let stw2 = t_end - t_stop;
        self.record_pause(stw2);
        {
            let mut h = self.history.lock();
            h.forced += st.forced as u64;
            h.last_marked = marked;
        }
        self.world.start();
        self.cycle_done.notify_all();
        self.sweeper.raise();

        let threads = std::thread::available_parallelism().map_or(1, |n| n.get()) as u32;
        let assist = Duration::from_nanos(self.assist_ns.swap(0, Relaxed));
        let background = Duration::from_nanos(self.background_ns.swap(0, Relaxed));
        let cycle_start = st.cycle_start.unwrap_or(t_stop);
        let mark_start = st.mark_start.unwrap_or(t_stop);
        let sweep_term = (mark_start - cycle_start).saturating_sub(st.stw1);
        self.add_gc_cpu((st.stw1 + stw2) * threads + assist + background + sweep_term);
        tracing::debug!(number, ?stw2, marked, "cycle done");
        if self.debug.gctrace {
            let (stw1, mark, stw2) = if self.debug.gcstoptheworld {
                // One pause covers the whole cycle: report it as one.
                (t_end - t_stop, Duration::ZERO, Duration::ZERO)
            } else {
                (
                    st.stw1,
                    mark_end.saturating_duration_since(mark_start),
                    stw2,
                )
            };
            let record = CycleRecord {
                number,
                start: cycle_start - self.started,
                stw1,
                mark,
                stw2,
                assist_cpu: assist,
                background_cpu: background,
                threads,
                heap_start: st.heap_start,
                heap_end,
                marked,
                goal,
                root_bytes: st.root_slots * std::mem::size_of::<usize>(),
                global_bytes: self.globals.len() * std::mem::size_of::<usize>(),
                workers: self.mark_workers as u32,
                forced: st.forced,
                ..CycleRecord::default()
            };
            eprintln!(
                "{}",
                record.gctrace_line((self.gc_cpu_fraction() * 100.0) as u32)
            );
        }
    }

    fn record_pause(&self, d: Duration) {
        self.history.lock().record_pause(d);
    }

    fn record_stop_wait(&self, d: Duration) {
        let mut h = self.history.lock();
        h.stop_wait_max = h.stop_wait_max.max(d);
    }

    pub(crate) fn add_gc_cpu(&self, d: Duration) {
        self.gc_cpu_ns.fetch_add(d.as_nanos() as u64, Relaxed);
    }

    fn gc_cpu_fraction(&self) -> f64 {
        let threads = std::thread::available_parallelism().map_or(1, |n| n.get()) as f64;
        let wall = self.started.elapsed().as_nanos() as f64 * threads;
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
    inner: Arc<HeapInner>,
}

impl Heap {
    /// A heap configured from the environment (`GCPERCENT`, `GCMEMLIMIT`,
    /// `GCDEBUG`).
    ///
    /// # Panics
    /// With a message naming the variable if one has a bad value, or if the
    /// address space cannot be reserved. Use [`HeapBuilder`] to handle those
    /// as errors.
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
    pub fn mutator(&self) -> Mutator {
        Mutator::attach(self)
    }

    /// Run a full cycle from a thread that has no mutator for this heap.
    ///
    /// # Panics
    /// If this thread has a mutator for this heap: that mutator cannot park
    /// while this call waits for it, so use [`Mutator::collect`] instead.
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
            next_gc: self.inner.pacer.lock().goal,
            last_marked: h.last_marked,
            num_gc: self.inner.cycles.load(Acquire),
            num_forced_gc: h.forced,
            pause_total: h.pause_total,
            pause_max: h.pause_max,
            stop_wait_max: h.stop_wait_max,
            pauses,
            gc_cpu_fraction: self.inner.gc_cpu_fraction(),
            alloc,
        }
    }
}

impl Default for Heap {
    fn default() -> Self {
        Heap::new()
    }
}
