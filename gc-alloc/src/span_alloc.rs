//! Spans on the page heap (Go's `mheap.allocSpan` / `freeSpan`): taking
//! pages for a new span and a record from the pool, mapping it in the page
//! map, and the way back.
//!
//! Invariants: a record is initialised before the page map points at it and
//! retired after the page map stops pointing at it, so a lookup never sees a
//! half-initialised span; a retired record and its pages belong to whoever
//! unmapped it (a sweeper, then the central lists' empty spans) until
//! `release_spans` gives them back. Locks: `pages`, then `pool`, never both
//! at once and never under a central list's lock.

use std::sync::atomic::Ordering::*;

use crate::arena::ARENA_PAGES;
use crate::central::SpanPtr;
use crate::error::AllocError;
use crate::heap::{AllocHeap, TypeTag};
use crate::size_class::{SpanClass, PAGE_SIZE};
use crate::span::Span;

impl AllocHeap {
    /// A new span of `npages` pages: free pages of the page heap, else
    /// those of empty spans (`central.rs`), else a newly committed arena.
    pub(crate) fn alloc_span(
        &self,
        spc: SpanClass,
        npages: usize,
        sg: u32,
        tag: TypeTag,
    ) -> Result<SpanPtr, AllocError> {
        let start_page = match self.take_pages(npages, false) {
            Ok(Some(p)) => p,
            Ok(None) | Err(AllocError::HeapLimit { .. }) if self.release_empty_spans() > 0 => {
                self.take_pages(npages, true)?.expect("take_pages grows")
            }
            Ok(None) => self.take_pages(npages, true)?.expect("take_pages grows"),
            Err(e) => return Err(e),
        };
        let sp = {
            let mut pool = self.pool.lock();
            match pool.free.pop() {
                Some(p) => p,
                None => {
                    let b = Box::new(Span::new());
                    let p = SpanPtr(&*b);
                    pool.all.push(b);
                    p
                }
            }
        };
        Ok(self.map_span(sp, start_page, npages, spc, sg, tag))
    }

    /// `npages` free pages from the page heap, committing arenas if `grow`
    /// (else `None` when none are free), within the heap's limit.
    fn take_pages(&self, npages: usize, grow: bool) -> Result<Option<usize>, AllocError> {
        let mut pages = self.pages.lock();
        let limit = self.limit.load(Relaxed);
        let in_use = pages.in_use_pages * PAGE_SIZE;
        let requested = npages * PAGE_SIZE;
        if in_use.saturating_add(requested) > limit {
            return Err(AllocError::HeapLimit {
                requested,
                in_use,
                limit,
            });
        }
        loop {
            if let Some(p) = pages.alloc(npages) {
                self.store_committed(&pages);
                return Ok(Some(p));
            }
            if !grow {
                return Ok(None);
            }
            let arena = pages.committed_pages / ARENA_PAGES;
            if (arena + 1) * ARENA_PAGES * PAGE_SIZE > self.region.len() {
                return Err(AllocError::AddressSpace {
                    requested,
                    reserved: self.region.len(),
                });
            }
            self.region.commit_arena(arena)?;
            pages.grow_arena();
        }
    }

    /// Map an empty span (`Swept::Empty`) again, for objects of class `spc`
    /// and `tag`, on the pages it kept.
    pub(crate) fn remap_span(&self, sp: SpanPtr, spc: SpanClass, sg: u32, tag: TypeTag) -> SpanPtr {
        let span = self.span(sp);
        debug_assert!(!span.in_use(), "remapping a span in use");
        debug_assert_eq!(span.span_class(), spc, "an empty span changed class");
        let first = (span.start() - self.region.base()) / PAGE_SIZE;
        self.map_span(sp, first, span.npages(), spc, sg, tag)
    }

    /// Set up record `sp` for a span on pages `first..first+npages`, then
    /// point the page map at it: no lookup sees a half-initialised record.
    fn map_span(
        &self,
        sp: SpanPtr,
        first: usize,
        npages: usize,
        spc: SpanClass,
        sg: u32,
        tag: TypeTag,
    ) -> SpanPtr {
        let start = self.region.base() + first * PAGE_SIZE;
        self.span(sp)
            .init(start, npages, spc, npages * PAGE_SIZE, sg, tag);
        self.region.set_span(first, npages, sp.0);
        sp
    }

    /// Take a span out of the page map and retire its record; its pages and
    /// record stay its own until `release_spans`.
    pub(crate) fn unmap_span(&self, sp: SpanPtr) {
        let span = self.span(sp);
        let first = (span.start() - self.region.base()) / PAGE_SIZE;
        self.region.set_span(first, span.npages(), std::ptr::null());
        span.retire();
    }

    /// Give unmapped spans' pages back to the page heap and their records
    /// to the pool (one lock each for all of them).
    pub(crate) fn release_spans(&self, spans: &[SpanPtr]) {
        if spans.is_empty() {
            return;
        }
        let mut pages = self.pages.lock();
        for &sp in spans {
            let span = self.span(sp);
            pages.free(
                (span.start() - self.region.base()) / PAGE_SIZE,
                span.npages(),
            );
        }
        drop(pages);
        self.pool.lock().free.extend_from_slice(spans);
    }
}
