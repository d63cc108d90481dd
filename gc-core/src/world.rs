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
//! indefinitely but never breaks it: the collector simply keeps waiting.
//! Blocking calls belong inside `Mutator::blocking`, which is a safe region.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use parking_lot::{Condvar, Mutex};

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
    /// overlap.
    pub(crate) fn stop(&self) -> Duration {
        let mut s = self.state.lock();
        while s.stop {
            self.changed.wait(&mut s);
        }
        s.stop = true;
        self.stop_flag.store(true, Ordering::Relaxed);
        let t = Instant::now();
        while s.running > 0 {
            self.changed.wait(&mut s);
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
