//! What a program can receive about each cycle without parsing text: the
//! `tracing` spans of its phases, and a [`CycleRecord`] per cycle through
//! [`HeapBuilder::on_cycle`](crate::HeapBuilder::on_cycle).
//!
//! Spans (target `tricolor`, level DEBUG), one per phase, in cycle order
//! and never overlapping:
//! - `gc_sweep_termination` on the thread that starts the cycle, from the
//!   stop request until the world restarts; fields `cycle`, `heap_before`
//!   (bytes), `trigger`, `goal`, `workers`, `forced`, and, recorded at its
//!   end, `stop_wait_us` and `pause_us`. With `GCDEBUG=gcstoptheworld=1` it
//!   holds the whole cycle.
//! - `gc_mark`, the concurrent mark, from the world's restart until mark
//!   termination stops it (entered by no thread: its duration is the
//!   mark's); fields `cycle`, `heap_start`, `goal`, `workers`, `root_slots`.
//! - `gc_mark_termination` on the mark worker that finishes the mark, from
//!   its stop request until the world restarts; fields `cycle` and, recorded
//!   at its end, `retries`, `heap_end`, `marked`, `next_goal`,
//!   `next_trigger`, `pause_us`.
//! - `gc_sweep`, from the world's restart until the heap is swept (by the
//!   background sweeper, or at the next cycle's start); fields `cycle`,
//!   `heap_live`.
//!
//! Events: `concurrent mark started` (in `gc_mark`), `checkmark passed`
//! and `cycle done` (in `gc_mark_termination`).

use std::fmt;
use std::sync::Arc;

use crate::stats::CycleRecord;

/// A program's per-cycle callback (see
/// [`HeapBuilder::on_cycle`](crate::HeapBuilder::on_cycle)).
#[derive(Clone)]
pub(crate) struct CycleCallback(pub(crate) Arc<dyn Fn(&CycleRecord) + Send + Sync>);

impl fmt::Debug for CycleCallback {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("CycleCallback")
    }
}

/// Microseconds, for span fields.
pub(crate) fn us(d: std::time::Duration) -> u64 {
    d.as_micros() as u64
}
