//! Helpers shared by the integration tests.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use tricolor::{NoGc, Trace, Tracer};

/// Counts its drops into a shared counter: lets a test see exactly which
/// objects the sweeper freed, and that none is dropped twice.
pub struct DropCounter(pub Arc<AtomicUsize>);

impl Drop for DropCounter {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

// SAFETY: holds no GC pointer.
unsafe impl Trace for DropCounter {
    const NEEDS_TRACE: bool = false;
    fn trace(&self, _: &mut Tracer<'_>) {}
}
// SAFETY: holds no GC pointer.
unsafe impl NoGc for DropCounter {}
