//! Central span lists, one per span class: spans with free slots ("partial")
//! and spans without ("full"), each split into swept and unswept.
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

use parking_lot::Mutex;

use crate::span::Span;

/// A pointer to a pooled span record. The pool outlives every list.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) struct SpanPtr(pub(crate) *const Span);

// SAFETY: span records are shared between threads by design; every field is
// atomic, and the pool keeps each record alive as long as the heap.
unsafe impl Send for SpanPtr {}

#[derive(Default)]
struct Lists {
    partial: [Vec<SpanPtr>; 2],
    full: [Vec<SpanPtr>; 2],
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
    pub(crate) fn push_swept(&self, sweepgen: u32, span: SpanPtr, has_free: bool) {
        let mut l = self.lists.lock();
        let i = swept(sweepgen);
        if has_free {
            l.partial[i].push(span);
        } else {
            l.full[i].push(span);
        }
    }

    pub(crate) fn pop_partial_swept(&self, sweepgen: u32) -> Option<SpanPtr> {
        self.lists.lock().partial[swept(sweepgen)].pop()
    }

    /// An unswept span, partial ones first (they are the likelier to have
    /// room after sweeping).
    pub(crate) fn pop_unswept(&self, sweepgen: u32) -> Option<SpanPtr> {
        let mut l = self.lists.lock();
        let i = unswept(sweepgen);
        l.partial[i].pop().or_else(|| l.full[i].pop())
    }

    /// Unswept spans in the lists.
    pub(crate) fn unswept_len(&self, sweepgen: u32) -> usize {
        let l = self.lists.lock();
        let i = unswept(sweepgen);
        l.partial[i].len() + l.full[i].len()
    }

    /// Spans in the lists (for statistics and tests).
    pub(crate) fn len(&self) -> usize {
        let l = self.lists.lock();
        l.partial.iter().chain(l.full.iter()).map(Vec::len).sum()
    }
}
