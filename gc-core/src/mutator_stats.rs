//! Who a mutator is and what it cost: its thread, where it was attached,
//! and per-mutator figures ([`MutatorStats`] in [`GcStats`](crate::GcStats)).
//!
//! `MutatorInfo` lives in the mutator's shared part, so the collector reads
//! it from any thread: stall reports and retention paths name a mutator by
//! it. The counters are atomics written by the owner (when it stops and
//! starts running) or by the collector with the world stopped (allocated
//! bytes, read from the thread cache, which a running mutator holds locked).

use std::panic::Location;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::thread::ThreadId;
use std::time::{Duration, Instant};

/// One attached mutator's identity and figures, as of the call to
/// [`Heap::stats`](crate::Heap::stats).
///
/// ```
/// use tricolor::Heap;
///
/// let heap = Heap::new();
/// let mut m = heap.mutator();
/// m.alloc([0u64; 64]);
/// m.collect();
/// let s = heap.stats();
/// let me = &s.mutators[0];
/// assert_eq!(me.thread_id, std::thread::current().id());
/// assert!(me.attached_at.file().ends_with(".rs"));
/// assert!(me.allocated_bytes >= 520);
/// ```
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct MutatorStats {
    /// The attached thread's name, if it has one.
    pub thread_name: Option<String>,
    /// The attached thread's id.
    pub thread_id: ThreadId,
    /// Where [`Heap::mutator`](crate::Heap::mutator) was called.
    pub attached_at: &'static Location<'static>,
    /// The longest this mutator took, after a stop-the-world was requested,
    /// to reach a safepoint (or a [`blocking`](crate::Mutator::blocking)
    /// region). Exact to the clock's resolution; 0 if it was never running
    /// when a stop was requested.
    pub safepoint_wait_max: Duration,
    /// Total time this mutator waited for a stopped world to restart before
    /// it could run again (at safepoints, and when leaving `blocking` or
    /// `collect`): the pauses as this thread felt them. Exact.
    pub parked: Duration,
    /// Bytes this mutator's thread cache took from the heap, as of the last
    /// stop-the-world pause: the free slots of every span it cached plus its
    /// large objects. Span-granular (a span counts when it is taken, not
    /// object by object), as Go's `heapLive`.
    pub allocated_bytes: u64,
}

/// The shared record behind [`MutatorStats`].
pub(crate) struct MutatorInfo {
    pub(crate) thread_name: Option<String>,
    pub(crate) thread_id: ThreadId,
    pub(crate) attached_at: &'static Location<'static>,
    /// Origin of the `*_ns` timestamps below.
    epoch: Instant,
    /// When the owner last stopped running while a stop was requested.
    stopped_at_ns: AtomicU64,
    wait_max_ns: AtomicU64,
    parked_ns: AtomicU64,
    allocated: AtomicU64,
}

impl MutatorInfo {
    /// The calling thread's record, attached at `at`.
    pub(crate) fn current(at: &'static Location<'static>) -> MutatorInfo {
        let t = std::thread::current();
        MutatorInfo {
            thread_name: t.name().map(str::to_string),
            thread_id: t.id(),
            attached_at: at,
            epoch: Instant::now(),
            stopped_at_ns: AtomicU64::new(0),
            wait_max_ns: AtomicU64::new(0),
            parked_ns: AtomicU64::new(0),
            allocated: AtomicU64::new(0),
        }
    }

    /// "thread "name" (ThreadId(n)), attached at file:line:col".
    pub(crate) fn describe(&self) -> String {
        let name = match &self.thread_name {
            Some(n) => format!("thread {n:?}"),
            None => "an unnamed thread".to_string(),
        };
        format!(
            "{name} ({:?}), attached at {}",
            self.thread_id, self.attached_at
        )
    }

    /// The owner stops running; `stop_requested` if a stop-the-world waits
    /// for it (the collector works out how long it waited, see
    /// [`note_stop`](Self::note_stop)).
    #[inline]
    pub(crate) fn stopped_running(&self, stop_requested: bool) {
        if stop_requested {
            let now = self.epoch.elapsed().as_nanos() as u64;
            self.stopped_at_ns.store(now.max(1), Relaxed);
        }
    }

    /// The owner waited `d` for the world to restart.
    #[inline]
    pub(crate) fn parked(&self, d: Duration) {
        self.parked_ns.fetch_add(d.as_nanos() as u64, Relaxed);
    }

    /// With the world stopped after a stop requested at `requested`: how
    /// long this mutator took to stop (0 if it was already stopped).
    pub(crate) fn note_stop(&self, requested: Instant) {
        let stopped = self.stopped_at_ns.load(Relaxed);
        let req = requested.saturating_duration_since(self.epoch).as_nanos() as u64;
        if stopped > req {
            self.wait_max_ns.fetch_max(stopped - req, Relaxed);
        }
    }

    /// With the world stopped: the owner's cache has taken `bytes` so far.
    pub(crate) fn set_allocated(&self, bytes: u64) {
        self.allocated.store(bytes, Relaxed);
    }

    pub(crate) fn stats(&self) -> MutatorStats {
        MutatorStats {
            thread_name: self.thread_name.clone(),
            thread_id: self.thread_id,
            attached_at: self.attached_at,
            safepoint_wait_max: Duration::from_nanos(self.wait_max_ns.load(Relaxed)),
            parked: Duration::from_nanos(self.parked_ns.load(Relaxed)),
            allocated_bytes: self.allocated.load(Relaxed),
        }
    }
}
