//! Nodes made and nodes dropped, for the stress tests that keep a shadow
//! model of the heap (tests/concurrent.rs, tests/containers.rs include this
//! file with `#[path]`): the difference is the nodes alive.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use crate::common::DropCounter;

/// Counts the nodes made and, through their `DropCounter`s, dropped.
#[derive(Default)]
pub struct Census {
    made: AtomicUsize,
    dropped: Arc<AtomicUsize>,
}

impl Census {
    /// A node is made: the counter its drop will tick.
    pub fn made_one(&self) -> DropCounter {
        self.made.fetch_add(1, Ordering::SeqCst);
        DropCounter(self.dropped.clone())
    }

    /// Nodes made and not yet dropped.
    pub fn alive(&self) -> usize {
        self.made.load(Ordering::SeqCst) - self.dropped.load(Ordering::SeqCst)
    }
}
