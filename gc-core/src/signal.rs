//! A wake-up flag for the collector's background threads.
//!
//! The threads hold only a `Weak` to their heap so that dropping the last
//! user handle frees it; they wake now and then to notice that it is gone.
//! That timeout is for noticing the drop only: a raise never relies on it
//! (the loom model at the end of this file checks that without timeouts).

use std::time::Duration;

use crate::sync::{Condvar, Mutex};

/// A counter of raises: every waiting thread runs once per raise it has not
/// seen yet, so several threads can share one signal.
#[derive(Default)]
pub(crate) struct Signal {
    raised: Mutex<u64>,
    wake: Condvar,
}

impl Signal {
    /// Ask the threads to run.
    pub(crate) fn raise(&self) {
        *self.raised.lock() += 1;
        self.wake.notify_all();
    }

    /// Wait for a raise newer than `seen`; false if `alive` turned false.
    pub(crate) fn wait(&self, seen: &mut u64, alive: impl Fn() -> bool) -> bool {
        let mut raised = self.raised.lock();
        while *raised == *seen {
            self.wake.wait_for(&mut raised, Duration::from_millis(100));
            if !alive() {
                return false;
            }
        }
        *seen = *raised;
        true
    }
}

/// Start a background thread that runs `work` on the heap each time `signal`
/// is raised, until the heap is dropped.
pub(crate) fn spawn_worker<H: Send + Sync + 'static>(
    name: &str,
    heap: std::sync::Weak<H>,
    signal: std::sync::Arc<Signal>,
    work: fn(&std::sync::Arc<H>),
) {
    std::thread::Builder::new()
        .name(name.into())
        .spawn(move || {
            let mut seen = 0;
            while signal.wait(&mut seen, || heap.strong_count() > 0) {
                let Some(h) = heap.upgrade() else { return };
                work(&h);
            }
        })
        .unwrap_or_else(|e| panic!("tricolor: cannot start the {name} thread: {e}"));
}

/// loom model (`RUSTFLAGS="--cfg loom" cargo test -p tricolor-core --release --lib loom`).
#[cfg(all(test, loom))]
mod loom_models {
    use loom::sync::Arc;
    use loom::thread;

    use super::Signal;

    /// No lost wake-up: two threads sharing one signal both wake for a
    /// raise, whether it comes before they wait or while they wait, and a
    /// thread that has seen one raise wakes again for the next. (Under
    /// loom `wait` has no timeout, so a lost wake-up is a deadlock.)
    #[test]
    fn loom_signal_wakes_every_waiter() {
        loom::model(|| {
            let signal = Arc::new(Signal::default());
            let waiters: Vec<_> = (0..2)
                .map(|_| {
                    let s = signal.clone();
                    thread::spawn(move || {
                        let mut seen = 0;
                        while seen < 2 {
                            assert!(s.wait(&mut seen, || true));
                        }
                    })
                })
                .collect();
            signal.raise();
            signal.raise();
            for w in waiters {
                w.join().unwrap();
            }
        });
    }
}
