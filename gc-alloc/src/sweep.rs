//! Sweeping (Go's `mgcsweep.go`): after each mark, every span's unmarked
//! objects are freed before the span is allocated from again.
//!
//! Sweep generations (the protocol is spelled out in `span.rs`): the
//! collector raises the heap's `sweepgen` by 2 with every mutator stopped,
//! which makes every span unswept at once. A span is then swept exactly
//! once, by whoever claims it first with a compare-and-swap from h-2 to
//! h-1: a thread cache that needs a span of its class (`cache_span`, lazy
//! sweeping), the background sweeper (`sweep_one`), or the thread that
//! starts the next cycle (`finish_sweep`, so sweeping always ends before
//! marking starts). A span cached since before the generation moved is
//! swept when its cache gives it back (`uncache_span`).
//!
//! `sweep_gate` is held shared by every sweeper (the background sweeper,
//! `finish_sweep`, and the lazy sweeps in `cache_span` and `uncache_span`)
//! and exclusively while the generation moves, so no sweeper straddles two
//! generations, and `finish_sweep` returns only once sweeps other threads
//! had in flight are complete (so, for instance, `collect` returns with
//! every dead weak target's reference cleared).
//!
//! `unswept` counts the spans the generation still has to sweep (every
//! span in use when it moved); each sweep lowers it once it is complete,
//! dead weak targets reported and the span published, so `sweep_done`
//! tells a weak reader that every report has been made (`weak.rs`).

use std::sync::atomic::Ordering::*;

use crate::central::SpanPtr;
use crate::heap::AllocHeap;
use crate::span::SweepResult;

/// What became of a span after sweeping it.
pub(crate) enum Swept {
    /// No object is left: the span is unmapped and retired, in no list, and
    /// the sweeper either maps it again (`remap_span`) or hands it to
    /// `keep_empty`.
    Empty,
    Kept {
        has_free: bool,
    },
}

impl AllocHeap {
    /// Begin a new sweep cycle: every span becomes unswept. The collector
    /// calls this with every mutator stopped, after marking, once the
    /// previous cycle's sweeping has finished.
    pub fn next_sweep_generation(&self) {
        let _gate = self.sweep_gate.write();
        let sg = self.sweepgen.load(Relaxed);
        debug_assert!(
            self.centrals.iter().all(|c| c.unswept_len(sg) == 0),
            "sweep not finished"
        );
        // Every span in use is swept once in the new generation: those in
        // the lists, and those cached since before (when given back); not
        // the empty ones, which have no object to sweep and are in no
        // generation's list. No thread changes either count meanwhile: the
        // gate keeps sweepers out and every mutator is stopped.
        let empty = self.empty_spans.load(Relaxed);
        let unswept = self
            .spans_in_use()
            .checked_sub(empty)
            .expect("gc-alloc: more empty spans counted than spans in use");
        self.unswept.store(unswept, Relaxed);
        self.sweepgen.store(sg.wrapping_add(2), Release);
        self.sweep_cursor.store(0, Relaxed);
    }

    /// Sweep one unswept span; false if there is none left.
    pub fn sweep_one(&self) -> bool {
        let _gate = self.sweep_gate.read();
        let sg = self.sweepgen.load(Acquire);
        let n = self.centrals.len();
        let mut i = self.sweep_cursor.load(Relaxed);
        while i < n {
            if let Some(s) = self.centrals[i].pop_unswept(sg) {
                self.sweep_and_place(s, sg);
                return true;
            }
            i += 1;
            self.sweep_cursor.fetch_max(i, Relaxed);
        }
        false
    }

    /// Sweep every span left unswept, wait for sweeps other threads have
    /// in flight, then give the empty spans' pages back to the page heap.
    pub fn finish_sweep(&self) {
        while self.sweep_one() {}
        drop(self.sweep_gate.write());
        self.release_empty_spans();
    }

    pub(crate) fn sweep_and_place(&self, sp: SpanPtr, sg: u32) {
        match self.sweep_claimed(sp, sg) {
            Swept::Kept { has_free } => self.push_swept(sg, sp, has_free),
            Swept::Empty => self.keep_empty(sp),
        }
    }

    /// Claim (h-2 -> h-1) and sweep a span popped from an unswept list; on
    /// return it is either empty and unmapped or swept (sweepgen h), and in
    /// no list.
    pub(crate) fn sweep_claimed(&self, sp: SpanPtr, sg: u32) -> Swept {
        let span = self.span(sp);
        let claimed = span.sweepgen.compare_exchange(
            sg.wrapping_sub(2),
            sg.wrapping_sub(1),
            Acquire,
            Relaxed,
        );
        // A real assert (one compare per span swept): a span swept twice,
        // or one still cached, would run destructors twice or free live
        // objects, so a broken claim must never go on silently.
        assert!(
            claimed.is_ok() || span.sweepgen.load(Relaxed) == sg.wrapping_sub(1),
            "gc-alloc: sweeping a span at {:#x} in state h{:+} (h-2 unswept or h-1 \
             claimed by uncache_span expected): the sweepgen protocol was broken",
            span.start(),
            span.sweepgen.load(Relaxed).wrapping_sub(sg) as i32
        );
        let SweepResult { freed, live } = span.sweep(sg, self.on_free, self.on_dead_weak.as_ref());
        let size = span.elem_size();
        self.allocated.fetch_sub((freed * size) as i64, Relaxed);
        self.frees[span.span_class().size_class() as usize].fetch_add(freed as u64, Relaxed);
        let swept = if live == 0 {
            self.unmap_span(sp);
            Swept::Empty
        } else {
            span.sweepgen.store(sg, Release);
            Swept::Kept {
                has_free: live < span.nelems(),
            }
        };
        // Release, after this span's dead weak targets were reported: a
        // reader that sees the count reach 0 sees every report (`weak.rs`).
        let before = self.unswept.fetch_sub(1, Release);
        debug_assert!(before > 0, "swept more spans than the generation had");
        swept
    }
}
