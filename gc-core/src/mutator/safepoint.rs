//! Where the collector reaches a running mutator: the slow paths of the
//! two polls whose fast paths (one load each) are in `mutator.rs`.
//!
//! - The safepoint (`Mutator::safepoint`, the poll word): no `Gc` is alive,
//!   so the mutator scans its own roots if the mark has not, starts a cycle
//!   if the heap is past its trigger, assists past the goal, and parks for
//!   any stop of the world.
//! - The end of an allocation (the allocation poll word): `Gc`s may be
//!   alive, so the mutator only does what is sound with them: assist past
//!   the goal and wait there for the mark's end, and park for a mark
//!   termination (`world.rs` says why that stop, and no other, may take a
//!   mutator here).

use std::sync::atomic::{fence, Ordering};

use super::Mutator;
use crate::publish;

impl Mutator {
    #[cold]
    #[track_caller]
    pub(super) fn safepoint_slow(&mut self) {
        publish::check_all_published("a safepoint");
        let inner = self.heap.inner().clone();
        // Cleared before the conditions are read: a raise after this point
        // is either seen below or leaves the flag set for the next poll.
        // The fence keeps the clear before the reads (a store may otherwise
        // pass a later load); `World::stop` fences between setting the
        // stop and raising.
        self.poll.store(inner.debug.gcstress, Ordering::Relaxed);
        fence(Ordering::SeqCst);
        // First safepoint since marking began: scan our own root set. No
        // `Gc` is alive here, so the roots are all this thread holds.
        inner.scan_roots(&self.shared);
        let over_trigger = inner.alloc.over_trigger();
        if !over_trigger && !inner.world.stop_requested() && !inner.debug.gcstress {
            return;
        }
        self.flush_barrier();
        if self.marking.get() && !inner.world.stop_requested() && !inner.debug.gcstress {
            // Past the assist threshold while marking: assist as a running
            // mutator, so a stop-the-world phase waits for the bounded
            // assist to end.
            self.assist_for_allocation();
            if !inner.world.stop_requested() {
                return;
            }
        }
        self.stopped(|| {
            if !inner.world.stop_requested() {
                inner.collect_if_due();
            }
        });
        // Still at the safepoint, with no `Gc` alive: if a cycle started
        // while this mutator was stopped, scan its roots now rather than at
        // its next safepoint, so the mark need not wait for this thread
        // (binary-trees builds a whole tree between two safepoints).
        inner.scan_roots(&self.shared);
    }

    #[cold]
    pub(super) fn allocation_poll_slow(&self) {
        // As in `safepoint_slow`: clear, fence, then read the stop.
        self.alloc_poll.store(false, Ordering::Relaxed);
        fence(Ordering::SeqCst);
        let inner = self.heap.inner();
        if self.marking.get() && !inner.world.stop_requested() && inner.alloc.over_trigger() {
            self.assist_in_allocation();
        }
        if inner.world.stop_requested() {
            self.park_in_allocation();
        }
    }

    /// Past the goal while marking: pay for what this thread allocated with
    /// mark work, as at a safepoint; then stop allocating, marking
    /// alongside the workers (`HeapInner::wait_at_goal`), until the world
    /// stops for the mark's end (or for at most `GOAL_WAIT`), so the heap
    /// ends the mark near its goal however fast this thread allocates. The
    /// wait holds up no stop: any stop ends it. It is skipped while this
    /// thread's roots are unscanned, since the mark cannot end before its
    /// next safepoint then.
    fn assist_in_allocation(&self) {
        self.assist_for_allocation();
        let inner = self.heap.inner();
        if self.shared.roots_pending.load(Ordering::Acquire) {
            return;
        }
        self.flush_barrier();
        inner.wait_at_goal();
    }

    /// Pay, with mark work, for what this thread allocated since its last
    /// assist (`HeapInner::assist`).
    fn assist_for_allocation(&self) {
        let taken = self.with_cache(|c| c.bytes_taken());
        let since = taken.saturating_sub(self.assist_base.replace(taken));
        self.heap.inner().assist(since);
    }

    /// Wait out a mark termination here, at the end of an allocation,
    /// holding `Gc`s: the mark's end frees none of their targets (`world.rs`
    /// says why, and why a cycle's start still needs a safepoint). So a
    /// program that allocates a whole data structure between two safepoints
    /// does not hold the heap in the marking phase, growing past its goal,
    /// until its next safepoint.
    fn park_in_allocation(&self) {
        let inner = self.heap.inner();
        // What the stop needs from a running mutator: its barrier shades in
        // the pool, its cache free for the flush that marks what it
        // allocated black.
        self.flush_barrier();
        drop(self.cache.borrow_mut().take());
        self.shared.info.stopped_running(true);
        let parked = std::time::Instant::now();
        inner.world.park_in_allocation();
        self.shared.info.parked(parked.elapsed());
        *self.cache.borrow_mut() = Some(self.shared.cache.lock_arc());
        // The mark may have ended: stores stop shading, allocation stops
        // being black.
        self.marking.set(inner.marking());
    }
}
