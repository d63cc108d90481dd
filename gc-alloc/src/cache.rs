//! Per-thread caches (Go's mcache): one span per (span class, type tag)
//! in use, allocation without locks.
//!
//! The spans sit in a direct-mapped table of `SLOTS` lines indexed by a
//! hash of the class and tag: the fast path hashes (a multiply and a
//! shift), compares the line's key and takes a slot. Two keys can share a
//! line (with twenty keys in use, some two do more often than not), so a
//! line holding another key parks its span in a short list, still cached,
//! and takes the new key's parked span if there is one: keys that collide
//! and alternate cost a search of that list, not a trip to the central
//! lists.
//!
//! A line is keyed by the tag its caller passes; its span carries that
//! tag's canonical form (`HeapConfig::canonical_tag`), looked up when the
//! line takes a new key, so callers that name one type by several tags
//! share its spans.
//!
//! A cache owns its spans outright while it holds them (their sweepgen says
//! "cached", and they are in no central list), so the allocation cursor
//! lives in the cache itself: `freeindex` and `alloc_cache`, a 64-bit window
//! of the span's inverted alloc bits starting at `freeindex`. The fast path
//! is count-trailing-zeros, shift, bump, multiply. When the window is empty
//! the next word of alloc bits is loaded; when the span is exhausted it goes
//! back to its central list and the cache takes another one.
//!
//! A `ThreadCache` is not `Sync`: one thread allocates from it at a time.
//! The collector must call [`ThreadCache::flush`] at each mark termination,
//! before it reads mark bits (checkmark, weak clearing) and before the
//! cache allocates again, so that no object is allocated unmarked into a
//! span whose marks are about to be swept.
//!
//! Allocate-black by range: an object allocated while marking is not marked
//! one by one (a locked `or` on a bitmap word the marker also writes, on the
//! hottest path); the cache notes the first slot it allocated black in the
//! span, and when the span leaves the cache (refill, flush) every slot from
//! there up to the cursor that was free at the last sweep is marked, one
//! atomic per 64 objects. Until then such an object's mark bit may be clear;
//! the span records where black allocation began (one store per span), so a
//! marker that reaches such an object leaves it, neither marking nor
//! scanning it (`Span::is_allocated_black`), as it would a black one:
//! otherwise the marker would chase every object a mutator links into the
//! reachable graph, with a locked `or` for each. Nothing reads mark bits to
//! decide liveness before the flush.

use std::ptr::NonNull;
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::sync::Arc;

use crate::central::SpanPtr;
use crate::error::AllocError;
use crate::heap::{AllocFlags, AllocHeap, TypeTag};
use crate::size_class::SpanClass;

/// Lines in a cache's table (a power of two).
const SLOTS: usize = 128;

/// One line of the table: the key it caches, and its span's cursor.
#[derive(Clone, Copy)]
struct Slot {
    spc: SpanClass,
    /// The tag callers pass for this line.
    key: TypeTag,
    /// Its canonical form: the tag of the line's spans.
    tag: TypeTag,
    span: Option<SpanPtr>,
    base: usize,
    size: usize,
    nelems: usize,
    freeindex: usize,
    alloc_cache: u64,
    allocated: usize,
    /// The first slot allocated black in this span since it was cached
    /// (`NOT_BLACK` if none): every object from here up to `freeindex` was
    /// allocated while marking, and is marked in bulk when the span leaves
    /// the cache (`release`).
    black_from: usize,
    /// The span's drop flag is known to be set.
    drops: bool,
}

impl Slot {
    /// Whether this line (or parked slot) caches for (`spc`, `key`).
    #[inline(always)]
    fn is_for(&self, spc: SpanClass, key: TypeTag) -> bool {
        self.key == key && self.spc == spc
    }
}

/// `Slot::black_from` when nothing was allocated black.
const NOT_BLACK: usize = usize::MAX;

const EMPTY: Slot = Slot {
    spc: SpanClass::from_index(0),
    key: 0,
    tag: 0,
    span: None,
    base: 0,
    size: 0,
    nelems: 0,
    freeindex: 0,
    alloc_cache: 0,
    allocated: 0,
    black_from: NOT_BLACK,
    drops: false,
};

/// A thread's allocation cache over a shared [`AllocHeap`].
pub struct ThreadCache {
    heap: Arc<AllocHeap>,
    slots: Box<[Slot; SLOTS]>,
    /// Spans a colliding key moved out of their line, still cached (one
    /// per (class, key) at most: a key is parked only from its line).
    parked: Vec<Slot>,
    /// Bytes this cache has taken from the heap: the free slots of every
    /// span it cached, and every large object. Span-granular, like Go's
    /// `heapLive`; the collector uses it to size a mutator's mark assists.
    taken: u64,
    /// Raised whenever this cache takes memory from the heap while the
    /// heap is past its trigger: the owner's polls (at safepoints, in
    /// allocation) are then one load each.
    poll: Vec<Arc<AtomicBool>>,
}

impl ThreadCache {
    /// An empty cache over `heap`.
    pub fn new(heap: Arc<AllocHeap>) -> ThreadCache {
        ThreadCache {
            heap,
            slots: Box::new([EMPTY; SLOTS]),
            parked: Vec::new(),
            taken: 0,
            poll: Vec::new(),
        }
    }

    /// Also raise `flag` whenever this cache takes a span or a large object
    /// while the heap's live bytes are at or past its trigger
    /// ([`AllocHeap::set_trigger`]).
    pub fn add_poll_flag(&mut self, flag: Arc<AtomicBool>) {
        self.poll.push(flag);
    }

    /// Memory was taken from the heap: raise the poll flags if it is due.
    fn took_memory(&self) {
        if !self.poll.is_empty() && self.heap.over_trigger() {
            self.poll.iter().for_each(|f| f.store(true, Relaxed));
        }
    }

    /// Bytes taken from the heap so far (see the field's comment).
    pub fn bytes_taken(&self) -> u64 {
        self.taken
    }

    /// The heap this cache allocates from.
    pub fn heap(&self) -> &Arc<AllocHeap> {
        &self.heap
    }

    /// Allocate one object of span class `spc` and type tag `flags.tag`
    /// (uninitialised memory).
    #[inline(always)]
    pub fn alloc(&mut self, spc: SpanClass, flags: AllocFlags) -> Result<NonNull<u8>, AllocError> {
        debug_assert!(
            spc.size_class() != 0,
            "large objects go through alloc_large"
        );
        let line = line_of(spc, flags.tag);
        let slot = &mut self.slots[line];
        if slot.alloc_cache != 0 && slot.is_for(spc, flags.tag) {
            let tz = slot.alloc_cache.trailing_zeros() as usize;
            let idx = slot.freeindex + tz;
            if idx < slot.nelems {
                slot.alloc_cache = (slot.alloc_cache >> tz) >> 1;
                slot.freeindex = idx + 1;
                slot.allocated += 1;
                return Ok(self.finish(line, idx, flags));
            }
        }
        self.alloc_slow(line, spc, flags)
    }

    /// Allocate `size` bytes: from a size class, or a span of its own above
    /// `MAX_SMALL_SIZE`.
    pub fn alloc_size(
        &mut self,
        size: usize,
        noscan: bool,
        flags: AllocFlags,
    ) -> Result<NonNull<u8>, AllocError> {
        match crate::size_class::size_class_of(size.max(1)) {
            Some(c) => self.alloc(SpanClass::new(c, noscan), flags),
            None => {
                let p = self.heap.alloc_large(size, noscan, flags)?;
                self.taken += size as u64;
                self.took_memory();
                Ok(p)
            }
        }
    }

    #[inline]
    fn finish(&mut self, line: usize, idx: usize, flags: AllocFlags) -> NonNull<u8> {
        let slot = &mut self.slots[line];
        let p = slot.base + idx * slot.size;
        if flags.black && slot.black_from == NOT_BLACK {
            slot.black_from = idx;
            self.heap
                .span(slot.span.expect("allocated from an empty slot"))
                .note_black_from(idx);
        }
        if flags.needs_drop && !slot.drops {
            slot.drops = true;
            self.heap
                .span(slot.span.expect("allocated from an empty slot"))
                .set_needs_drop();
        }
        // SAFETY: `base` is the start of a span inside the heap's mapping,
        // never address 0.
        unsafe { NonNull::new_unchecked(p as *mut u8) }
    }

    #[cold]
    fn alloc_slow(
        &mut self,
        line: usize,
        spc: SpanClass,
        flags: AllocFlags,
    ) -> Result<NonNull<u8>, AllocError> {
        let slot = &self.slots[line];
        let tag = if slot.is_for(spc, flags.tag) && slot.span.is_some() {
            slot.tag
        } else {
            self.swap_in(line, spc, flags.tag)
        };
        loop {
            if let Some(idx) = self.next_free_word(line) {
                return Ok(self.finish(line, idx, flags));
            }
            self.refill(line, spc, flags.tag, tag)?;
        }
    }

    /// The line caches another key: park its span, and bring back `key`'s
    /// parked one if there is one. Returns `key`'s canonical tag.
    fn swap_in(&mut self, line: usize, spc: SpanClass, key: TypeTag) -> TypeTag {
        let old = std::mem::replace(&mut self.slots[line], EMPTY);
        if old.span.is_some() {
            self.parked.push(old);
        }
        match self.parked.iter().position(|s| s.is_for(spc, key)) {
            Some(i) => {
                let back = self.parked.swap_remove(i);
                self.slots[line] = back;
                back.tag
            }
            None => self.heap.canonical_tag(key),
        }
    }

    /// Move the cursor to the next word of alloc bits with a free slot and
    /// take the first free slot there.
    fn next_free_word(&mut self, line: usize) -> Option<usize> {
        let heap = &self.heap;
        let slot = &mut self.slots[line];
        let span = heap.span(slot.span?);
        loop {
            if slot.alloc_cache != 0 {
                let tz = slot.alloc_cache.trailing_zeros() as usize;
                let idx = slot.freeindex + tz;
                if idx >= slot.nelems {
                    slot.freeindex = slot.nelems;
                    slot.alloc_cache = 0;
                    return None;
                }
                slot.alloc_cache = (slot.alloc_cache >> tz) >> 1;
                slot.freeindex = idx + 1;
                slot.allocated += 1;
                return Some(idx);
            }
            let next = slot.freeindex.next_multiple_of(64);
            if next >= slot.nelems {
                slot.freeindex = slot.nelems;
                return None;
            }
            // Invariant: with the window empty, every slot below freeindex
            // has been looked at, and the word at freeindex has not.
            let free = !span.alloc_bits.word(next / 64);
            if free == 0 {
                slot.freeindex = next + 64;
            } else {
                slot.freeindex = next;
                slot.alloc_cache = free;
            }
        }
    }

    /// Give the line's span back and take one of `tag` (the canonical
    /// form of `key`).
    fn refill(
        &mut self,
        line: usize,
        spc: SpanClass,
        key: TypeTag,
        tag: TypeTag,
    ) -> Result<(), AllocError> {
        self.release(line);
        let sp = self.heap.cache_span(spc, tag)?;
        let span = self.heap.span(sp);
        let fi = span.freeindex.load(Relaxed);
        let free = span.nelems() - span.alloc_count.load(Relaxed);
        self.taken += (free * span.elem_size()) as u64;
        self.slots[line] = Slot {
            spc,
            key,
            tag,
            span: Some(sp),
            base: span.start(),
            size: span.elem_size(),
            nelems: span.nelems(),
            freeindex: fi,
            alloc_cache: if fi < span.nelems() {
                !span.alloc_bits.word(fi / 64) >> (fi % 64)
            } else {
                0
            },
            allocated: 0,
            black_from: NOT_BLACK,
            drops: false,
        };
        self.took_memory();
        Ok(())
    }

    fn release(&mut self, line: usize) {
        let slot = std::mem::replace(&mut self.slots[line], EMPTY);
        self.release_slot(slot);
    }

    /// Give a line's span back: mark what it allocated black, uncache it.
    fn release_slot(&mut self, slot: Slot) {
        if let Some(sp) = slot.span {
            if slot.black_from != NOT_BLACK {
                let span = self.heap.span(sp);
                let marked = span.mark_allocated_range(slot.black_from, slot.freeindex);
                span.clear_black_from();
                self.heap.add_black_bytes(marked * span.elem_size());
            }
            self.heap.uncache_span(sp, slot.freeindex, slot.allocated);
        }
    }

    /// Return every cached span, parked ones too, to the central lists.
    pub fn flush(&mut self) {
        for line in 0..SLOTS {
            self.release(line);
        }
        while let Some(slot) = self.parked.pop() {
            self.release_slot(slot);
        }
    }
}

/// The table line of (`spc`, `tag`): Fibonacci hashing of both.
#[inline]
fn line_of(spc: SpanClass, tag: TypeTag) -> usize {
    let key = (tag as u64) ^ ((spc.index() as u64) << 56);
    (key.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> (64 - SLOTS.trailing_zeros())) as usize
}

impl Drop for ThreadCache {
    fn drop(&mut self) {
        self.flush();
    }
}
