//! Stopping the world: the handshake that brings every attached mutator to
//! a safepoint or a GC-safe region.
//!
//! Each attached mutator is either *running* (it may hold unrooted `Gc`s and
//! touch its thread cache) or not (parked at a safepoint, or inside a
//! GC-safe region). `running` counts the former. A collector stops the
//! world by raising `stop` and waiting for `running == 0`; a running mutator
//! notices `stop` at its next safepoint and parks; a mutator leaving a safe
//! region while `stop` is up waits until it drops. While the world is
//! stopped, the collector may touch every mutator's root table and cache.
//!
//! A mark termination ([`StopKind::MarkTermination`]) also accepts a running
//! mutator *parked in an allocation*: one that flushed its write-barrier
//! buffer, let go of its thread cache and waits in
//! [`park_in_allocation`](World::park_in_allocation), still holding `Gc`s.
//! That is sound for mark termination only: every object such a mutator can
//! reach is marked (it was reachable when its roots were scanned at the
//! cycle's start, or was allocated black since, and the deletion barrier
//! shades what is unlinked), so ending the mark frees none of them; but
//! starting a cycle needs its roots to be all it holds, which is only true
//! at a safepoint. So a mutator parked in an allocation stays counted in
//! `running` (a stop of another kind waits for it to reach a safepoint), and
//! leaves the park only once no mark termination stop is up: if a second one
//! (a retry) began before it woke, it is still parked for that one, with
//! nothing changed since it flushed.
//!
//! A mutator that never reaches a safepoint delays the collector
//! indefinitely but never breaks it: the collector simply keeps waiting,
//! and reports the wait through its [`StallWatch`] (`stall.rs`).
//! Blocking calls belong inside `Mutator::blocking`, which is a safe region.
//!
//! `stop_flag` is only a hint for the fast poll (Relaxed): the handshake's
//! guarantees come from `state`'s lock. The loom models at the end of this
//! file check them (see the README, "Checking the collector").

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use crate::sync::{fence, AtomicBool, Condvar, Mutex};

use crate::stall::StallWatch;

/// What a stop of the world is for.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum StopKind {
    /// Every mutator at a safepoint or in a safe region.
    Full,
    /// Mark termination: mutators parked in an allocation count as stopped.
    MarkTermination,
}

#[derive(Default)]
struct State {
    /// The stop in progress, if any.
    stop: Option<StopKind>,
    running: usize,
    /// Running mutators waiting in `park_in_allocation`.
    parked_in_allocation: usize,
}

impl State {
    /// Running mutators the stop in progress still waits for.
    fn unstopped(&self) -> usize {
        match self.stop {
            Some(StopKind::MarkTermination) => self.running - self.parked_in_allocation,
            _ => self.running,
        }
    }
}

#[derive(Default)]
pub(crate) struct World {
    stop_flag: AtomicBool,
    state: Mutex<State>,
    changed: Condvar,
}

impl World {
    /// Cheap poll for safepoints.
    #[inline]
    pub(crate) fn stop_requested(&self) -> bool {
        self.stop_flag.load(Ordering::Relaxed)
    }

    /// A mutator starts running (attach, leave a safe region, resume).
    pub(crate) fn enter_running(&self) {
        let mut s = self.state.lock();
        while s.stop.is_some() {
            self.changed.wait(&mut s);
        }
        s.running += 1;
    }

    /// A mutator stops running (detach, enter a safe region, park).
    pub(crate) fn leave_running(&self) {
        let mut s = self.state.lock();
        s.running -= 1;
        self.changed.notify_all();
    }

    /// Mutators counted as running now: neither parked at a safepoint nor
    /// in a safe region (one parked in an allocation still counts, module
    /// comment).
    pub(crate) fn running(&self) -> usize {
        self.state.lock().running
    }

    /// A running mutator that has flushed its write barrier and let go of
    /// its thread cache waits out a mark termination stop, if one is up;
    /// returns at once otherwise. It stays counted as running (module
    /// comment).
    pub(crate) fn park_in_allocation(&self) {
        let mut s = self.state.lock();
        if s.stop != Some(StopKind::MarkTermination) {
            return;
        }
        s.parked_in_allocation += 1;
        self.changed.notify_all();
        while s.stop == Some(StopKind::MarkTermination) {
            self.changed.wait(&mut s);
        }
        s.parked_in_allocation -= 1;
    }

    /// A running mutator waits until a stop is requested, for at most
    /// `timeout`. It stays counted as running: the stop that ends the wait
    /// then waits for it.
    pub(crate) fn wait_for_stop(&self, timeout: Duration) {
        let t = Instant::now();
        let mut s = self.state.lock();
        while s.stop.is_none() {
            let left = timeout.saturating_sub(t.elapsed());
            if left.is_zero() {
                break;
            }
            self.changed.wait_for(&mut s, left);
        }
    }

    /// Stop the world for `kind`: returns once no mutator is running (or,
    /// for a mark termination, every running one is parked in an
    /// allocation), with the time spent waiting for running mutators
    /// (mutators that parked early were paused that much longer than the
    /// stop itself). `raise` runs once the stop is up, before the wait: it
    /// asks the mutators to come. The caller must not be counted as
    /// running. If another thread has the world stopped, this first waits
    /// until it restarts it, so stops never overlap. A long wait for running
    /// mutators is reported by `watch`.
    pub(crate) fn stop(
        &self,
        kind: StopKind,
        watch: &mut StallWatch<'_>,
        raise: impl FnOnce(),
    ) -> Duration {
        let mut s = self.state.lock();
        while s.stop.is_some() {
            self.changed.wait(&mut s);
        }
        s.stop = Some(kind);
        self.stop_flag.store(true, Ordering::Relaxed);
        self.changed.notify_all();
        drop(s);
        // Dekker with the poll's slow path, which clears its poll word,
        // fences, then reads `stop_flag`: either it sees the stop, or the
        // raise below lands after its clear and its next poll sees that.
        // (Raising before the stop was up let a mutator clear the raise,
        // read no stop, and poll on forever while this waited for it.)
        fence(Ordering::SeqCst);
        raise();
        let mut s = self.state.lock();
        let t = Instant::now();
        while s.unstopped() > 0 {
            watch.report_if_due(t);
            match watch.time_left(t) {
                Some(left) => {
                    self.changed.wait_for(&mut s, left);
                }
                None => self.changed.wait(&mut s),
            }
        }
        t.elapsed()
    }

    /// Let the world run again.
    pub(crate) fn start(&self) {
        let mut s = self.state.lock();
        s.stop = None;
        self.stop_flag.store(false, Ordering::Relaxed);
        self.changed.notify_all();
    }
}

/// loom models (`RUSTFLAGS="--cfg loom" cargo test -p tricolor-core --release --lib loom`).
#[cfg(all(test, loom))]
mod loom_models {
    use loom::sync::atomic::{AtomicUsize, Ordering::SeqCst};
    use loom::sync::Arc;
    use loom::thread;

    use super::{StopKind, World};
    use crate::stall::StallWatch;

    /// A mutator: attach, work (counted in `inside`), stop at a safepoint
    /// if asked, work again, detach. `inside` counts mutators between
    /// `enter_running` and `leave_running`, i.e. those that may be touching
    /// their roots and caches.
    fn mutator(world: &World, inside: &AtomicUsize) {
        world.enter_running();
        inside.fetch_add(1, SeqCst);
        if world.stop_requested() {
            inside.fetch_sub(1, SeqCst);
            world.leave_running();
            world.enter_running();
            inside.fetch_add(1, SeqCst);
        }
        inside.fetch_sub(1, SeqCst);
        world.leave_running();
    }

    /// While a stopper holds the world stopped, no mutator runs: `stop`
    /// waits for every running one, and none starts until `start` (every
    /// mutator blocked in `enter_running` is then released, or loom reports
    /// a deadlock).
    #[test]
    fn loom_stop_excludes_running_mutators() {
        loom::model(|| {
            let world = Arc::new(World::default());
            let inside = Arc::new(AtomicUsize::new(0));
            let mutators: Vec<_> = (0..2)
                .map(|_| {
                    let (w, i) = (world.clone(), inside.clone());
                    thread::spawn(move || mutator(&w, &i))
                })
                .collect();
            world.stop(StopKind::Full, &mut StallWatch::off(), || ());
            assert_eq!(inside.load(SeqCst), 0, "a mutator ran after stop returned");
            thread::yield_now();
            assert_eq!(inside.load(SeqCst), 0, "a mutator started while stopped");
            world.start();
            for m in mutators {
                m.join().unwrap();
            }
        });
    }

    /// Two stoppers (a cycle start racing a mark termination) never have
    /// the world stopped at once, and a mutator between them still runs
    /// only while neither does.
    #[test]
    fn loom_stops_never_overlap() {
        loom::model(|| {
            let world = Arc::new(World::default());
            let inside = Arc::new(AtomicUsize::new(0));
            let stoppers = Arc::new(AtomicUsize::new(0));
            let stopper = {
                let (w, i, s) = (world.clone(), inside.clone(), stoppers.clone());
                thread::spawn(move || {
                    w.stop(StopKind::Full, &mut StallWatch::off(), || ());
                    assert_eq!(s.fetch_add(1, SeqCst), 0, "two stops overlap");
                    assert_eq!(i.load(SeqCst), 0, "a mutator ran while stopped");
                    s.fetch_sub(1, SeqCst);
                    w.start();
                })
            };
            let m = {
                let (w, i) = (world.clone(), inside.clone());
                thread::spawn(move || mutator(&w, &i))
            };
            world.stop(StopKind::Full, &mut StallWatch::off(), || ());
            assert_eq!(stoppers.fetch_add(1, SeqCst), 0, "two stops overlap");
            assert_eq!(inside.load(SeqCst), 0, "a mutator ran while stopped");
            stoppers.fetch_sub(1, SeqCst);
            world.start();
            stopper.join().unwrap();
            m.join().unwrap();
        });
    }

    /// A mutator that may park in an allocation: it holds `Gc`s from
    /// `enter_running` to its safepoint (`holding`) and may touch its cache
    /// except while parked in the allocation (`touching`).
    fn allocating_mutator(world: &World, holding: &AtomicUsize, touching: &AtomicUsize) {
        world.enter_running();
        holding.fetch_add(1, SeqCst);
        touching.fetch_add(1, SeqCst);
        // An allocation's poll.
        touching.fetch_sub(1, SeqCst);
        world.park_in_allocation();
        touching.fetch_add(1, SeqCst);
        // A safepoint.
        if world.stop_requested() {
            holding.fetch_sub(1, SeqCst);
            touching.fetch_sub(1, SeqCst);
            world.leave_running();
            world.enter_running();
            holding.fetch_add(1, SeqCst);
            touching.fetch_add(1, SeqCst);
        }
        holding.fetch_sub(1, SeqCst);
        touching.fetch_sub(1, SeqCst);
        world.leave_running();
    }

    /// Two mark termination stops (a retry) accept a mutator parked in an
    /// allocation, which never touches its cache while either is up, even
    /// if it had not woken between them; the full stop after them (the next
    /// cycle's start) never runs while that mutator holds `Gc`s.
    #[test]
    fn loom_allocation_park_counts_only_for_mark_termination() {
        loom::model(|| {
            let world = Arc::new(World::default());
            let holding = Arc::new(AtomicUsize::new(0));
            let touching = Arc::new(AtomicUsize::new(0));
            let m = {
                let (w, h, t) = (world.clone(), holding.clone(), touching.clone());
                thread::spawn(move || allocating_mutator(&w, &h, &t))
            };
            for _ in 0..2 {
                world.stop(StopKind::MarkTermination, &mut StallWatch::off(), || ());
                assert_eq!(
                    touching.load(SeqCst),
                    0,
                    "a mutator ran during mark termination"
                );
                world.start();
            }
            world.stop(StopKind::Full, &mut StallWatch::off(), || ());
            assert_eq!(
                holding.load(SeqCst),
                0,
                "a full stop ran while a mutator held Gcs"
            );
            world.start();
            m.join().unwrap();
        });
    }
}
