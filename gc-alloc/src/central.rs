//! Central span lists, one per span class: spans with free slots ("partial",
//! kept apart by type tag, since a cache asks for a span of one tag) and
//! spans without ("full"), each split into swept and unswept.
//!
//! As in Go, which of the two sets of a kind is "swept" depends on the
//! heap's sweep generation: index `(sweepgen / 2) % 2` is swept, the other
//! unswept. When a cycle ends the generation rises by 2, so every swept set
//! becomes unswept at once without moving a span. The sets that become the
//! new swept sets are empty at that moment, because sweeping finishes before
//! the next cycle can start.
//!
//! A span is in at most one list, and only while no thread cache holds it.
//! Popping a span under the lock gives the popper exclusive use of it.
//!
//! Handing spans to thread caches and taking them back (Go's
//! `mcentral.cacheSpan` / `uncacheSpan`) lives here too: a cache gets a
//! swept span with free slots, sweeping a few unswept ones of its class
//! before the heap grows (reuse before growth).
//!
//! Empty spans: a small-object span whose sweep freed every object keeps its
//! pages and record, unmapped from the page map and retired, in its class's
//! `empty` list, and a cache that needs a span of that class (of any tag)
//! maps it again. Returning it to the page heap instead took the page lock
//! and its coalescing twice per span (once to free, once to allocate): with
//! two mutators and the background sweeper doing that for every 8 KiB span,
//! the lock was contended enough that parking_lot's spinning made 27 000
//! `sched_yield` calls in a 3-second run of parallel binary-trees. Empty
//! spans go back to the page heap when the heap would otherwise grow or hit
//! its limit, and when a sweep ends (so the scavenger can return them to the
//! OS). They belong to no sweep generation: `empty_spans` counts them, and a
//! new generation leaves them out of the spans it has to sweep.

use std::sync::atomic::Ordering::*;

use std::collections::HashMap;

use parking_lot::Mutex;

use crate::error::AllocError;
use crate::heap::{AllocHeap, TypeTag};
use crate::size_class::{SpanClass, CLASSES};
use crate::span::Span;
use crate::sweep::Swept;

/// Spans swept at most by one `cache_span` call before it grows the heap
/// instead (bounds the latency of one allocation slow path, as Go does).
const SWEEP_BUDGET: usize = 100;

/// A pointer to a pooled span record. The pool outlives every list.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) struct SpanPtr(pub(crate) *const Span);

// SAFETY: span records are shared between threads by design; every field is
// atomic, and the pool keeps each record alive as long as the heap.
unsafe impl Send for SpanPtr {}

/// Invariant: no tag maps to an empty list, so finding any partial span
/// takes the first entry.
#[derive(Default)]
struct Lists {
    partial: [HashMap<TypeTag, Vec<SpanPtr>>; 2],
    full: [Vec<SpanPtr>; 2],
    /// Swept spans with no object left: unmapped and retired, holding their
    /// pages (module comment).
    empty: Vec<SpanPtr>,
}

/// Pop a span of `tag` from a partial set.
fn pop_tagged(set: &mut HashMap<TypeTag, Vec<SpanPtr>>, tag: TypeTag) -> Option<SpanPtr> {
    let list = set.get_mut(&tag)?;
    let s = list.pop();
    if list.is_empty() {
        set.remove(&tag);
    }
    s
}

/// The central lists of one span class.
#[derive(Default)]
pub(crate) struct Central {
    lists: Mutex<Lists>,
}

fn swept(sweepgen: u32) -> usize {
    (sweepgen / 2 % 2) as usize
}

fn unswept(sweepgen: u32) -> usize {
    1 - swept(sweepgen)
}

impl Central {
    pub(crate) fn push_swept(&self, sweepgen: u32, span: SpanPtr, tag: TypeTag, has_free: bool) {
        let mut l = self.lists.lock();
        let i = swept(sweepgen);
        if has_free {
            l.partial[i].entry(tag).or_default().push(span);
        } else {
            l.full[i].push(span);
        }
    }

    pub(crate) fn pop_partial_swept(&self, sweepgen: u32, tag: TypeTag) -> Option<SpanPtr> {
        pop_tagged(&mut self.lists.lock().partial[swept(sweepgen)], tag)
    }

    /// An unswept span of any tag, partial ones first (they are the
    /// likelier to have room after sweeping).
    pub(crate) fn pop_unswept(&self, sweepgen: u32) -> Option<SpanPtr> {
        let mut l = self.lists.lock();
        let i = unswept(sweepgen);
        let tag = l.partial[i].keys().next().copied();
        tag.and_then(|t| pop_tagged(&mut l.partial[i], t))
            .or_else(|| l.full[i].pop())
    }

    pub(crate) fn push_empty(&self, span: SpanPtr) {
        self.lists.lock().empty.push(span);
    }

    pub(crate) fn pop_empty(&self) -> Option<SpanPtr> {
        self.lists.lock().empty.pop()
    }

    /// Every empty span, leaving none.
    fn take_empty(&self) -> Vec<SpanPtr> {
        std::mem::take(&mut self.lists.lock().empty)
    }

    /// Unswept spans in the lists.
    pub(crate) fn unswept_len(&self, sweepgen: u32) -> usize {
        let l = self.lists.lock();
        let i = unswept(sweepgen);
        l.partial[i].values().map(Vec::len).sum::<usize>() + l.full[i].len()
    }

    /// Spans in the lists (for statistics and tests).
    pub(crate) fn len(&self) -> usize {
        let l = self.lists.lock();
        let partial: usize = l
            .partial
            .iter()
            .flat_map(|p| p.values())
            .map(Vec::len)
            .sum();
        partial + l.full.iter().map(Vec::len).sum::<usize>() + l.empty.len()
    }
}

impl AllocHeap {
    /// Put a swept span back in its class's lists.
    pub(crate) fn push_swept(&self, sg: u32, sp: SpanPtr, has_free: bool) {
        let span = self.span(sp);
        self.centrals[span.span_class().index()].push_swept(sg, sp, span.tag(), has_free);
    }

    /// A span whose sweep left it empty (`Swept::Empty`): kept for its class
    /// to map again, or, for a large object's span (whose page count is its
    /// own), freed at once.
    pub(crate) fn keep_empty(&self, sp: SpanPtr) {
        let span = self.span(sp);
        if span.span_class().size_class() == 0 {
            self.release_spans(&[sp]);
        } else {
            // Counted first, so the count never drops below the lists.
            self.empty_spans.fetch_add(1, Relaxed);
            self.centrals[span.span_class().index()].push_empty(sp);
        }
    }

    /// Give every empty span's pages back to the page heap and its record to
    /// the pool; returns how many there were.
    pub fn release_empty_spans(&self) -> usize {
        // Under the gate, as the sweeps that add empty spans are: a new
        // generation then sees `empty_spans` match the lists.
        let gate = self.sweep_gate.read();
        let empty: Vec<SpanPtr> = self.centrals.iter().flat_map(Central::take_empty).collect();
        self.empty_spans.fetch_sub(empty.len(), Relaxed);
        drop(gate);
        self.release_spans(&empty);
        empty.len()
    }

    /// A swept span of `tag` with at least one free slot for a thread cache
    /// (the caller marks it cached by setting its sweepgen to h+3).
    pub(crate) fn cache_span(&self, spc: SpanClass, tag: TypeTag) -> Result<SpanPtr, AllocError> {
        let sg = self.sweepgen();
        let central = &self.centrals[spc.index()];
        let found = central.pop_partial_swept(sg, tag).or_else(|| {
            // A sweeper like any other: `finish_sweep` waits for it.
            let _gate = self.sweep_gate.read();
            for _ in 0..SWEEP_BUDGET {
                let s = central.pop_unswept(sg)?;
                match self.sweep_claimed(s, sg) {
                    Swept::Kept { has_free: true } if self.span(s).tag() == tag => return Some(s),
                    // Every span must stay in a list (or a cache): a span
                    // that missed a sweep would keep this cycle's mark bits
                    // and make the next mark skip its objects' children.
                    Swept::Kept { has_free } => self.push_swept(sg, s, has_free),
                    Swept::Empty => return Some(self.remap_span(s, spc, sg, tag)),
                }
            }
            None
        });
        let found = found.or_else(|| {
            let s = central.pop_empty()?;
            self.empty_spans.fetch_sub(1, Relaxed);
            Some(self.remap_span(s, spc, sg, tag))
        });
        let sp = match found {
            Some(s) => s,
            None => {
                let npages = CLASSES[spc.size_class() as usize].npages as usize;
                self.alloc_span(spc, npages, sg, tag)?
            }
        };
        let span = self.span(sp);
        span.sweepgen.store(sg.wrapping_add(3), Relaxed);
        let free_bytes =
            ((span.nelems() - span.alloc_count.load(Relaxed)) * span.elem_size()) as i64;
        self.allocated.fetch_add(free_bytes, Relaxed);
        self.heap_live.fetch_add(free_bytes, Relaxed);
        Ok(sp)
    }

    /// Take back a span from a thread cache, which allocated every slot below
    /// `freeindex` that the alloc bits showed free, `allocated` objects in all.
    pub(crate) fn uncache_span(&self, sp: SpanPtr, freeindex: usize, allocated: usize) {
        let span = self.span(sp);
        span.freeindex.store(freeindex, Relaxed);
        let nelems = span.nelems();
        let free = span.free_from(freeindex);
        span.alloc_count.store(nelems - free, Relaxed);
        let unused = (free * span.elem_size()) as i64;
        self.allocated.fetch_sub(unused, Relaxed);
        self.heap_live.fetch_sub(unused, Relaxed);
        self.mallocs[span.span_class().size_class() as usize].fetch_add(allocated as u64, Relaxed);
        let sg = self.sweepgen();
        if span.sweepgen.load(Relaxed) == sg.wrapping_add(1) {
            // Cached since before this sweep began: its unmarked objects
            // are garbage that must be swept before anyone allocates here.
            span.sweepgen.store(sg.wrapping_sub(1), Relaxed);
            let _gate = self.sweep_gate.read();
            self.sweep_and_place(sp, sg);
        } else {
            debug_assert_eq!(
                span.sweepgen.load(Relaxed),
                sg.wrapping_add(3),
                "uncached a span that was not cached"
            );
            span.sweepgen.store(sg, Release);
            self.push_swept(sg, sp, free > 0);
        }
    }
}
