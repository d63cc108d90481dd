//! The parts of a mutator the collector reaches from other threads
//! (`MutatorShared`), and which heaps this thread is attached to. The
//! collector core (`heap.rs`, `cycle.rs`, `stall.rs`, ...) works with these;
//! the `Mutator` handle (`mutator.rs`) is built on them, so imports run from
//! the handle down to the core, not back.

use std::cell::RefCell;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use gc_alloc::ThreadCache;
use parking_lot::Mutex;

use crate::heap::HeapInner;
use crate::mutator_stats::MutatorInfo;
use crate::slots::RootChunks;

/// The parts of a mutator the collector reaches from other threads.
pub(crate) struct MutatorShared {
    /// The slots of this mutator's roots; the free list is in its
    /// owner-local `RootSet` (`roots.rs`).
    pub(crate) roots: RootChunks,
    pub(crate) cache: Arc<Mutex<ThreadCache>>,
    /// This cycle's scan of `roots` has not happened yet.
    pub(crate) roots_pending: AtomicBool,
    /// The owner's safepoint poll word: raised by the collector when it
    /// wants the owner at a safepoint (a stop, root sets to scan) and by the
    /// owner's thread cache when the heap passes its trigger; cleared by the
    /// owner at the start of the safepoint slow path, which then checks
    /// each condition itself (so a raise is never lost).
    pub(crate) poll: Arc<AtomicBool>,
    /// The owner's allocation poll word: raised by a mark termination stop
    /// once it is up (the owner parks at its next allocation instead of
    /// only at its next safepoint, `world.rs`) and by the owner's thread
    /// cache when the heap passes its trigger (while marking: its goal, and
    /// the owner assists). Cleared by the owner, which then checks each
    /// condition itself.
    pub(crate) alloc_poll: Arc<AtomicBool>,
    /// Whether the owner is running. A mark worker scans the roots of a
    /// mutator that is not running while holding this lock, and the owner
    /// takes it to start running again, so a root set is never scanned while
    /// its owner moves pointers between roots (root stores have no barrier).
    /// `Root::clone` takes it too when the owner is stopped.
    pub(crate) running: Mutex<bool>,
    /// Thread, attach site and per-mutator figures (`mutator_stats.rs`).
    pub(crate) info: MutatorInfo,
}

thread_local! {
    /// Heaps this thread has a mutator for.
    pub(crate) static ATTACHED: RefCell<Vec<usize>> = const { RefCell::new(Vec::new()) };
}

pub(crate) fn attached_here(heap: &Arc<HeapInner>) -> bool {
    let id = Arc::as_ptr(heap) as usize;
    ATTACHED.with(|a| a.borrow().contains(&id))
}
