//! The background sweeper: one thread per heap that sweeps what the last
//! cycle left unswept and then returns surplus free memory to the OS.
//!
//! Sweeping is also done lazily by allocation (a thread cache sweeps a span
//! before reusing it), and the thread that starts a cycle finishes whatever
//! is left before stopping the world, so this thread only takes work off the
//! mutators. It holds a `Weak` to the heap and exits once the heap is gone.

use std::sync::{Arc, Weak};
use std::time::Instant;

use parking_lot::{Condvar, Mutex};

use crate::heap::HeapInner;

#[derive(Default)]
pub(crate) struct SweeperSignal {
    pending: Mutex<bool>,
    wake: Condvar,
}

impl SweeperSignal {
    /// Ask the sweeper to run.
    pub(crate) fn wake(&self) {
        *self.pending.lock() = true;
        self.wake.notify_one();
    }
}

/// Start the sweeper thread of `heap`.
pub(crate) fn spawn(heap: &Arc<HeapInner>) {
    let weak = Arc::downgrade(heap);
    let signal = heap.sweeper.clone();
    std::thread::Builder::new()
        .name("tricolor-sweeper".into())
        .spawn(move || run(weak, signal))
        .expect("tricolor: cannot start the background sweeper thread");
}

fn run(heap: Weak<HeapInner>, signal: Arc<SweeperSignal>) {
    loop {
        {
            let mut pending = signal.pending.lock();
            while !*pending {
                // Wake up now and then to notice that the heap is gone.
                signal
                    .wake
                    .wait_for(&mut pending, std::time::Duration::from_millis(100));
                if heap.strong_count() == 0 {
                    return;
                }
            }
            *pending = false;
        }
        let Some(heap) = heap.upgrade() else { return };
        let start = Instant::now();
        while heap.alloc.sweep_one() {}
        heap.scavenge();
        heap.add_gc_cpu(start.elapsed());
    }
}
