//! The grey pool: grey objects shared between drainers, and the drain loop
//! that takes and donates batches of them.
//!
//! Each drainer (background worker, mutator assist, the stop-the-world
//! terminator) keeps a local grey stack and shares through one
//! [`GreyPool`]: it takes a batch when its stack is empty and hands half
//! back when its stack grows long, so idle drainers find work. A
//! depth-first scan of a tree never grows its stack long (it holds one
//! pending sibling per level), so a drainer that finds the pool empty while
//! another is active marks the pool *hungry*; drainers check that flag
//! every `HUNGRY_CHECK` objects and hand back the bottom half of what they
//! hold, the oldest siblings and so the largest subtrees (Go's
//! `gcWork.balance`). That is how a second mark worker gets a share of one
//! large tree.
//!
//! Why not per-drainer work-stealing deques (crossbeam-deque): drainers
//! are transient (mutator assists, the stop-the-world terminator, workers),
//! each would have to register a stealer for its lifetime, and the
//! termination argument below would have to cover every deque. Go keeps
//! the same shape (local buffers, a global list, balancing), and the
//! balancing keeps the pool's one lock off the per-object path.
//!
//! Termination: [`GreyPool::done`] is "the pool is empty and no drainer is
//! active". A drainer counts as active from the moment it takes a batch
//! (inside the pool's lock, so the batch is never out of the pool without
//! being counted) until it has handed back everything that batch produced.
//! So a thread that sees `done` knows no grey object exists anywhere and
//! none can appear except through new shading (the write barrier, root
//! scans), which the collector re-checks with the world stopped. The loom
//! model at the end of this file checks this.

use std::sync::atomic::Ordering;

use crate::sync::{AtomicBool, AtomicUsize, Mutex};

/// Batch size taken from or given back to the pool. Tiny under loom so
/// that a model with a handful of objects takes several batches and
/// donates work back.
pub(crate) const BATCH: usize = if cfg!(loom) { 2 } else { 512 };

/// Objects a drainer scans between two checks of the hungry flag.
const HUNGRY_CHECK: usize = if cfg!(loom) { 1 } else { 64 };

/// A thread that drains grey objects (the marker's `Tracer`, or a model).
pub(crate) trait Drainer {
    /// The local grey stack.
    fn grey(&mut self) -> &mut Vec<usize>;
    /// The next object to scan, if the drainer holds any.
    fn next(&mut self) -> Option<usize> {
        self.grey().pop()
    }
    /// About `scanned` more objects were scanned (called every
    /// `HUNGRY_CHECK`, off the per-object path).
    fn tick(&mut self, _scanned: usize) {}
    /// Scan one grey object, pushing the objects it shades onto `grey()`.
    fn scan(&mut self, base: usize);
    /// Hand the local grey stack, and any counters, to the pool.
    fn flush(&mut self, pool: &GreyPool);
}

/// Grey objects shared between drainers.
#[derive(Default)]
pub(crate) struct GreyPool {
    work: Mutex<Vec<usize>>,
    active: AtomicUsize,
    marked_bytes: AtomicUsize,
    /// A drainer found the pool empty while another was active; cleared
    /// by the drainer that hands work back. A hint: termination does not
    /// read it.
    hungry: AtomicBool,
}

impl GreyPool {
    pub(crate) fn extend(&self, bases: impl IntoIterator<Item = usize>) {
        self.work.lock().extend(bases);
    }

    /// No grey object anywhere: the pool is empty and no drainer holds any.
    pub(crate) fn done(&self) -> bool {
        let w = self.work.lock();
        w.is_empty() && self.active.load(Ordering::Acquire) == 0
    }

    /// Bytes marked since the last [`take_marked_bytes`](Self::take_marked_bytes).
    pub(crate) fn take_marked_bytes(&self) -> usize {
        self.marked_bytes.swap(0, Ordering::AcqRel)
    }

    pub(crate) fn add_marked_bytes(&self, n: usize) {
        self.marked_bytes.fetch_add(n, Ordering::AcqRel);
    }

    /// Move up to a batch into `local`; false if the pool was empty. On
    /// success the caller counts as active until it calls `finish`.
    fn take(&self, local: &mut Vec<usize>) -> bool {
        let mut w = self.work.lock();
        if w.is_empty() {
            if self.active.load(Ordering::Acquire) > 0 {
                self.hungry.store(true, Ordering::Relaxed);
            }
            return false;
        }
        let at = w.len().saturating_sub(BATCH);
        local.extend(w.drain(at..));
        self.active.fetch_add(1, Ordering::AcqRel);
        true
    }

    fn finish(&self) {
        self.active.fetch_sub(1, Ordering::AcqRel);
    }

    /// Drain shared work until the pool has none (or, with a budget, until
    /// about `budget` objects were scanned); returns the objects scanned.
    /// Everything taken is scanned or handed back, and flushed, before the
    /// drainer stops counting as active.
    pub(crate) fn drain(&self, d: &mut impl Drainer, budget: Option<usize>) -> usize {
        d.flush(self);
        let mut scanned = 0;
        while budget.is_none_or(|b| scanned < b) && self.take(d.grey()) {
            while let Some(base) = d.next() {
                d.scan(base);
                scanned += 1;
                let grey = d.grey();
                if grey.len() > 2 * BATCH {
                    let at = grey.len() - BATCH;
                    self.extend(grey.drain(at..));
                } else if scanned % HUNGRY_CHECK == 0 {
                    if grey.len() > 1
                        && self.hungry.load(Ordering::Relaxed)
                        && self.hungry.swap(false, Ordering::Relaxed)
                    {
                        let half = grey.len() / 2;
                        self.extend(grey.drain(..half));
                    }
                    d.tick(HUNGRY_CHECK);
                }
                if budget.is_some_and(|b| scanned >= b) {
                    break;
                }
            }
            d.flush(self);
            self.finish();
        }
        scanned
    }
}

/// loom model (`RUSTFLAGS="--cfg loom" cargo test -p tricolor-core --release --lib loom`).
#[cfg(all(test, loom))]
mod loom_models {
    use loom::sync::atomic::{AtomicUsize, Ordering::SeqCst};
    use loom::sync::Arc;
    use loom::thread;

    use super::{Drainer, GreyPool};

    /// A fake object graph: scanning object `n` shades `n` leaves (0s).
    /// The root 5 has enough children (5 > 2 * BATCH) to make the drainer
    /// donate a batch back; 6 objects in all.
    const ROOT: usize = 5;
    const TOTAL: usize = ROOT + 1;

    struct Model {
        grey: Vec<usize>,
        scanned: Arc<AtomicUsize>,
    }

    impl Drainer for Model {
        fn grey(&mut self) -> &mut Vec<usize> {
            &mut self.grey
        }
        fn scan(&mut self, base: usize) {
            self.scanned.fetch_add(1, SeqCst);
            self.grey.extend(std::iter::repeat_n(0, base));
        }
        fn flush(&mut self, pool: &GreyPool) {
            pool.extend(self.grey.drain(..));
        }
    }

    /// A drainer that sees `done` finds every object scanned: no other
    /// drainer still holds a batch, or work that batch produced. One
    /// drainer is a budgeted assist, as mutators' are.
    #[test]
    fn loom_grey_pool_done_means_no_grey_anywhere() {
        loom::model(|| {
            let pool = Arc::new(GreyPool::default());
            let scanned = Arc::new(AtomicUsize::new(0));
            pool.extend([ROOT]);
            let drainers: Vec<_> = [None, Some(2)]
                .into_iter()
                .map(|budget| {
                    let (p, s) = (pool.clone(), scanned.clone());
                    thread::spawn(move || {
                        let mut m = Model {
                            grey: Vec::new(),
                            scanned: s.clone(),
                        };
                        p.drain(&mut m, budget);
                        if p.done() {
                            assert_eq!(s.load(SeqCst), TOTAL, "done while grey work remained");
                        }
                    })
                })
                .collect();
            for d in drainers {
                d.join().unwrap();
            }
            // The assist may have stopped at its budget after the other
            // drainer finished: the terminator drains what is left.
            let mut m = Model {
                grey: Vec::new(),
                scanned: scanned.clone(),
            };
            pool.drain(&mut m, None);
            assert!(pool.done());
            assert_eq!(scanned.load(SeqCst), TOTAL);
        });
    }
}
