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

use crate::sync::{AtomicBool, Condvar, Mutex};

use crate::stall::StallWatch;

#[derive(Default)]
struct State {
    stop: bool,
    running: usize,
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
        while s.stop {
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

    /// Stop the world: returns once no mutator is running, with the time
    /// spent waiting for running mutators to reach a safepoint (mutators
    /// that parked early were paused that much longer than the stop itself).
    /// The caller must not be counted as running. If another thread has the
    /// world stopped, this first waits until it restarts it, so stops never
    /// overlap. A long wait for running mutators is reported by `watch`.
    pub(crate) fn stop(&self, watch: &mut StallWatch<'_>) -> Duration {
        let mut s = self.state.lock();
        while s.stop {
            self.changed.wait(&mut s);
        }
        s.stop = true;
        self.stop_flag.store(true, Ordering::Relaxed);
        let t = Instant::now();
        while s.running > 0 {
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
        s.stop = false;
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

    use super::World;
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
            world.stop(&mut StallWatch::off());
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
                    w.stop(&mut StallWatch::off());
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
            world.stop(&mut StallWatch::off());
            assert_eq!(stoppers.fetch_add(1, SeqCst), 0, "two stops overlap");
            assert_eq!(inside.load(SeqCst), 0, "a mutator ran while stopped");
            stoppers.fetch_sub(1, SeqCst);
            world.start();
            stopper.join().unwrap();
            m.join().unwrap();
        });
    }
}
