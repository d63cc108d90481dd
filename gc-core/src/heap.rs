//! The collector instance: configuration, the registry of mutators, the
//! pacer, and the collection cycle.
//!
//! One cycle (this is the stop-the-world-mark collector; marking runs with
//! every mutator parked):
//! 1. The thread that starts the cycle finishes the previous cycle's sweep
//!    (outside any pause) and takes the collection lock.
//! 2. Stop the world (world.rs).
//! 3. Mark from every mutator's roots and the global roots, draining the
//!    grey stack (mark.rs).
//! 4. Clear weak references to unmarked objects, flush every mutator's
//!    thread cache (their owners gave them up when they stopped), advance the
//!    sweep generation (every span becomes unswept), reset the pacing counter
//!    to the marked bytes and compute the next trigger.
//! 5. Start the world; wake the background sweeper. Spans are swept lazily
//!    by allocation or by the sweeper; unmarked objects with destructors are
//!    dropped then.
//!
//! Invariant: the sweep generation only moves with the world stopped and
//! sweeping finished, and no thread cache holds a span across it.

use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering::*};
use std::sync::Arc;
use std::time::{Duration, Instant};

use gc_alloc::{AllocError, AllocHeap, HeapConfig};
use parking_lot::Mutex;

use crate::config::{self, ConfigError, DebugFlags};
use crate::mark::Tracer;
use crate::mutator::{attached_here, Mutator, MutatorShared};
use crate::object::drop_object;
use crate::pacer::Pacer;
use crate::roots::SlotTable;
use crate::stats::{CycleRecord, GcStats, PAUSE_HISTORY};
use crate::sweep::{self, SweeperSignal};
use crate::world::World;

/// Why a heap could not be built.
#[derive(Debug)]
pub enum GcError {
    /// A setting (builder or environment) is invalid.
    Config(ConfigError),
    /// The allocator could not reserve the heap.
    Alloc(AllocError),
}

impl std::fmt::Display for GcError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            GcError::Config(e) => e.fmt(f),
            GcError::Alloc(e) => e.fmt(f),
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
}

impl Default for HeapBuilder {
    fn default() -> Self {
        HeapBuilder::new()
    }
}

impl HeapBuilder {
    /// Defaults: `GCPERCENT=100`, no memory limit, no hard cap, no debug.
    pub fn new() -> HeapBuilder {
        HeapBuilder {
            percent: Some(100),
            mem_limit: None,
            max_heap: usize::MAX,
            debug: DebugFlags::default(),
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
        let pacer = Pacer::new(self.percent, self.mem_limit);
        let inner = Arc::new(HeapInner {
            alloc,
            debug: self.debug,
            world: World::default(),
            mutators: Mutex::new(Vec::new()),
            globals: SlotTable::default(),
            weaks: SlotTable::default(),
            collect_lock: Mutex::new(()),
            trigger: AtomicUsize::new(pacer.trigger),
            pacer: Mutex::new(pacer),
            marking: AtomicBool::new(false),
            barrier_grey: Mutex::new(Vec::new()),
            cycles: AtomicU64::new(0),
            history: Mutex::new(History::default()),
            gc_cpu_ns: AtomicU64::new(0),
            sweeper: Arc::new(SweeperSignal::default()),
            started: Instant::now(),
        });
        sweep::spawn(&inner);
        Ok(Heap { inner })
    }
}

#[derive(Default)]
struct History {
    pauses: Vec<Duration>,
    next: usize,
    pause_total: Duration,
    pause_max: Duration,
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
    collect_lock: Mutex<()>,
    trigger: AtomicUsize,
    pacer: Mutex<Pacer>,
    marking: AtomicBool,
    barrier_grey: Mutex<Vec<usize>>,
    cycles: AtomicU64,
    history: Mutex<History>,
    gc_cpu_ns: AtomicU64,
    pub(crate) sweeper: Arc<SweeperSignal>,
    started: Instant,
}

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

    /// Shade an object on behalf of a running mutator (write barrier, weak
    /// upgrade) while marking is on.
    pub(crate) fn shade(&self, base: usize) {
        let Some(o) = self.alloc.find_object(base) else {
            return;
        };
        if o.span.mark(o.index) && !o.span.noscan() {
            self.barrier_grey.lock().push(base);
        }
    }

    /// Collect if the heap has reached its trigger (or in gcstress mode).
    /// Called by a mutator that is not running.
    pub(crate) fn collect_if_due(self: &Arc<Self>) {
        if self.alloc.heap_live() < self.trigger.load(Relaxed) && !self.debug.gcstress {
            return;
        }
        let seen = self.cycles.load(Acquire);
        let _lock = self.collect_lock.lock();
        if self.cycles.load(Acquire) != seen {
            return; // another thread collected while we waited
        }
        self.cycle(false);
    }

    /// Run one full cycle and finish its sweep. Called by a thread that is
    /// not a running mutator.
    pub(crate) fn collect_forced(self: &Arc<Self>) {
        {
            let _lock = self.collect_lock.lock();
            self.cycle(true);
        }
        self.alloc.finish_sweep();
    }

    fn cycle(&self, forced: bool) {
        let cycle_start = Instant::now();
        // Sweep termination work happens before the pause.
        self.alloc.finish_sweep();
        let heap_start = self.alloc.heap_live();
        let t0 = Instant::now();
        self.world.stop();
        let stopped = Instant::now();
        let _span =
            tracing::debug_span!("gc_cycle", number = self.cycles.load(Relaxed) + 1, forced)
                .entered();

        let mutators: Vec<Arc<MutatorShared>> = self.mutators.lock().clone();
        let mut grey = std::mem::take(&mut *self.barrier_grey.lock());
        let mut tracer = Tracer::new(&self.alloc, &mut grey);
        let mut root_slots = 0;
        for m in &mutators {
            root_slots += m.roots.len();
            m.roots.for_each(|s| tracer.edge(s.load(Acquire)));
        }
        self.globals.for_each(|s| tracer.edge(s.load(Acquire)));
        tracer.drain();
        let marked = tracer.marked_bytes();
        tracing::debug!(marked, "mark done");

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
        self.alloc.next_sweep_generation();
        self.alloc.reset_heap_live(marked);
        let stats = self.alloc.stats();
        let goal = {
            let mut p = self.pacer.lock();
            p.update(marked, stats.committed_bytes.saturating_sub(marked), 0);
            self.trigger.store(p.trigger, Relaxed);
            p.goal
        };
        let number = self.cycles.fetch_add(1, AcqRel) + 1;
        let pause_end = Instant::now();
        let pause = pause_end - t0;
        {
            let mut h = self.history.lock();
            h.record_pause(pause);
            h.forced += forced as u64;
            h.last_marked = marked;
        }
        self.world.start();
        self.sweeper.wake();
        let threads = std::thread::available_parallelism().map_or(1, |n| n.get()) as u32;
        self.add_gc_cpu(pause * threads + (t0 - cycle_start));
        tracing::debug!(number, ?pause, "cycle done");

        if self.debug.gctrace {
            let record = CycleRecord {
                number,
                start: t0 - self.started,
                stw1: pause,
                mark: Duration::ZERO,
                stw2: Duration::ZERO,
                background_cpu: stopped - t0 + (pause_end - stopped),
                threads,
                heap_start,
                heap_end,
                marked,
                goal,
                root_bytes: root_slots * std::mem::size_of::<usize>(),
                global_bytes: self.globals.len() * std::mem::size_of::<usize>(),
                workers: 1,
                forced,
                ..CycleRecord::default()
            };
            eprintln!(
                "{}",
                record.gctrace_line((self.gc_cpu_fraction() * 100.0) as u32)
            );
        }
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

    /// Give free memory beyond the next goal (plus 10%) back to the OS.
    pub(crate) fn scavenge(&self) {
        let goal = self.pacer.lock().goal;
        if goal == usize::MAX {
            return;
        }
        let span_bytes = self.alloc.stats().span_bytes;
        let retain = goal.saturating_add(goal / 10);
        self.alloc.scavenge(retain.saturating_sub(span_bytes));
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
        self.inner.collect_forced();
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
