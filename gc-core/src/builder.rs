//! Building a heap: [`HeapBuilder`] (settings from code or the environment)
//! and [`GcError`], why a heap could not be built.
//!
//! `build` reserves the address range (64 GiB unless `reserve` or
//! `GCRESERVE` says otherwise; the default falls back to less if the OS
//! refuses, an explicit size does not), checks it fits the 48 bits a
//! `NanBox` encodes, and starts the background sweeper and mark workers;
//! everything after that is the collector's (`heap.rs`, `cycle.rs`).

use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize};
use std::sync::Arc;
use std::time::Instant;

use gc_alloc::{AllocError, AllocHeap, HeapConfig, DEFAULT_RESERVE};
use parking_lot::{Condvar, Mutex};

use crate::config::{self, ConfigError, DebugFlags};
use crate::cycle::CycleState;
use crate::events::CycleCallback;
use crate::grey::GreyPool;
use crate::heap::{Heap, HeapInner, History};
use crate::object::{canonical_tag, drop_object, ADDRESS_LIMIT};
use crate::pacer::Pacer;
use crate::signal::{spawn_worker, Signal};
use crate::slots::SlotTable;
use crate::stall::RootScanWatch;
use crate::stats::CycleRecord;
use crate::sweep::background_sweep;
use crate::weak::WeakTable;
use crate::world::World;

/// Why a heap could not be built.
#[derive(Debug)]
pub enum GcError {
    /// A setting (builder or environment) is invalid.
    Config(ConfigError),
    /// The OS refused to reserve the heap's address range.
    Reserve {
        /// Bytes asked for ([`HeapBuilder::reserve`] or `GCRESERVE`, else
        /// the 64 GiB default).
        bytes: usize,
        /// The refusal.
        error: AllocError,
    },
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
            GcError::Reserve { bytes, error } => write!(
                f,
                "could not reserve {bytes} bytes of address space for the heap ({error}); \
                 reserve less with HeapBuilder::reserve or GCRESERVE (e.g. GCRESERVE=16GiB)"
            ),
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
    reserve: Option<usize>,
    debug: DebugFlags,
    mark_workers: usize,
    mark_cpu: Option<f64>,
    on_cycle: Option<CycleCallback>,
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
            reserve: None,
            debug: DebugFlags::default(),
            mark_workers: (cores / 4).max(1),
            mark_cpu: None,
            on_cycle: None,
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

    /// Address space to reserve for the heap (as `GCRESERVE`); the default
    /// is 64 GiB. Reserving costs no memory (pages are committed as the heap
    /// grows), but the heap can never grow past it: allocation beyond fails
    /// with [`AllocError::AddressSpace`], so it caps the heap as
    /// [`max_heap`](Self::max_heap) does. Rounded up to whole 64 MiB arenas.
    /// [`build`](Self::build) fails with [`GcError::Reserve`] if the OS
    /// refuses this size (the default instead falls back to less).
    ///
    /// ```
    /// use tricolor::HeapBuilder;
    ///
    /// let heap = HeapBuilder::new().reserve(256 << 20).build().unwrap();
    /// assert_eq!(heap.stats().heap_reserved, 256 << 20);
    /// ```
    pub fn reserve(mut self, bytes: usize) -> Self {
        self.reserve = Some(bytes);
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

    /// Call `f` with each cycle's figures as the cycle ends, on the thread
    /// that finished it (a mark worker, or with `gcstoptheworld` the thread
    /// that started it), after the world has restarted and with no lock
    /// held; it may run after the `collect` call that started the cycle
    /// has returned. Keep it short (sending the record down a channel is
    /// the intended use): with a single mark worker, the next cycle's mark
    /// waits for it. It must not collect or wait for a cycle.
    ///
    /// ```
    /// use std::sync::mpsc;
    /// use tricolor::HeapBuilder;
    ///
    /// let (tx, rx) = mpsc::channel();
    /// let heap = HeapBuilder::new()
    ///     .on_cycle(move |record| {
    ///         let _ = tx.send(record.clone());
    ///     })
    ///     .build()
    ///     .unwrap();
    /// let mut m = heap.mutator();
    /// let _kept = m.root(m.alloc([1u64; 32]));
    /// m.collect();
    /// let record = rx.recv().unwrap();
    /// assert_eq!(record.number, 1);
    /// assert!(record.marked >= 256);
    /// ```
    pub fn on_cycle(mut self, f: impl Fn(&CycleRecord) + Send + Sync + 'static) -> Self {
        self.on_cycle = Some(CycleCallback(Arc::new(f)));
        self
    }

    /// Debug switches (as `GCDEBUG`).
    pub fn debug(mut self, flags: DebugFlags) -> Self {
        self.debug = flags;
        self
    }

    /// Apply the settings in the environment:
    /// - `GCPERCENT`: [`gc_percent`](Self::gc_percent), an integer or `off`;
    /// - `GCMEMLIMIT`: [`memory_limit`](Self::memory_limit), bytes with an
    ///   optional suffix `B`, `KiB`, `MiB`, `GiB`, `TiB` (e.g. `512MiB`), or
    ///   `off`;
    /// - `GCRESERVE`: [`reserve`](Self::reserve), bytes as for `GCMEMLIMIT`
    ///   (e.g. `256GiB`);
    /// - `GCDEBUG`: [`debug`](Self::debug), comma-separated `key=1` /
    ///   `key=0` pairs with the keys of [`DebugFlags`] (e.g.
    ///   `gctrace=1,gccheckmark=1`).
    ///
    /// A bad value is an error naming the variable, the value and what is
    /// accepted. An unknown `GCDEBUG` key is not an error: as Go does with
    /// `GODEBUG`, it is ignored, with a warning on stderr (once per process).
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
        if let Some(v) = get("GCRESERVE") {
            self.reserve = Some(config::parse_reserve("GCRESERVE", &v)?);
        }
        if let Some(v) = get("GCDEBUG") {
            let (flags, unknown) = config::parse_debug("GCDEBUG", &v)?;
            config::warn_unknown_once("GCDEBUG", &unknown);
            self.debug = flags;
        }
        Ok(self)
    }

    /// Create the heap.
    pub fn build(self) -> Result<Heap, GcError> {
        let bytes = self.reserve.unwrap_or(DEFAULT_RESERVE);
        let weaks = WeakTable::default();
        let alloc = AllocHeap::new(HeapConfig {
            reserve_bytes: bytes,
            reserve_fallback: self.reserve.is_none(),
            limit_bytes: self.max_heap,
            on_free: Some(drop_object),
            canonical_tag: Some(canonical_tag),
            on_dead_weak: Some(weaks.sweep_hook()),
        })
        .map_err(|error| GcError::Reserve { bytes, error })?;
        let (base, len) = alloc.range();
        if base + len > ADDRESS_LIMIT {
            return Err(GcError::AddressRange { end: base + len });
        }
        let pacer = Pacer::new(self.percent, self.mem_limit);
        alloc.set_trigger(pacer.trigger);
        // Read once: on Linux it reads cgroup files, too slow for the
        // mark termination pause, where the CPU share is computed.
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        let inner = Arc::new(HeapInner {
            alloc,
            debug: self.debug,
            world: World::default(),
            mutators: Mutex::new(Vec::new()),
            globals: SlotTable::default(),
            weaks,
            external: Arc::new(AtomicUsize::new(0)),
            cycle: Mutex::new(CycleState::default()),
            cycle_done: Condvar::new(),
            reported: AtomicU64::new(0),
            terminating: AtomicBool::new(false),
            pacer: Mutex::new(pacer),
            marking: AtomicBool::new(false),
            pool: GreyPool::default(),
            pending_roots: AtomicUsize::new(0),
            assist_ratio: AtomicU64::new(0),
            cycles: AtomicU64::new(0),
            history: Mutex::new(History::default()),
            gc_cpu_ns: AtomicU64::new(0),
            assist_ns: AtomicU64::new(0),
            assist_bytes: AtomicUsize::new(0),
            goal_wait_ns: AtomicU64::new(0),
            background_ns: AtomicU64::new(0),
            root_watch: RootScanWatch::default(),
            census_requests: AtomicUsize::new(0),
            last_census: Mutex::new(None),
            on_cycle: self.on_cycle,
            sweep_span: Mutex::new(None),
            mark_workers: self.mark_workers,
            mark_share: self
                .mark_cpu
                .map(|f| (f * cores as f64 / self.mark_workers as f64).clamp(0.01, 1.0)),
            cores,
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
