//! Spans: runs of pages that hold objects of one span class and one type
//! tag, with their alloc, mark and weak bitmaps, a drop flag and their
//! sweep generation.
//!
//! Type tags (a "big bag of pages"): every object of a span has the span's
//! tag, an opaque word the allocator's user chooses per allocation (the
//! collector's is the object type's vtable). So an object needs no header
//! to say what it is: whoever finds its span finds its type.
//!
//! Bit layout: one bit per object slot, at most
//! [`MAX_OBJS_PER_SPAN`](crate::size_class::MAX_OBJS_PER_SPAN) slots, in
//! bitmaps sized to the span (`bits.rs`).
//! - alloc bits: slots allocated as of the last sweep. Slots below
//!   `freeindex` count as allocated whatever their bit says (the thread cache
//!   hands slots out in address order and never writes alloc bits).
//! - mark bits: set by markers, possibly several at once; `fetch_or` tells the
//!   first one that it won.
//! - weak bits: the slot's object has a weak reference, which the sweeper
//!   reports (the heap's `on_dead_weak` hook) when it frees the object.
//!   Allocated with the span's first weak bit: most spans never have one.
//!
//! Destructors: one flag per span, set by the first allocation that asks
//! for `on_free` (a span holds one type tag, and whether a type needs its
//! destructor run is the type's). Every object the sweeper frees in a
//! flagged span goes to the hook.
//!
//! Sweeping swaps the mark bits in as the new alloc bits: whatever was not
//! marked is free, with no per-object work except destructors and reports of
//! dead weakly referenced objects.
//!
//! Span records are pooled by the heap and never freed while it lives, so a
//! `&Span` obtained from the heap stays valid; the fields that change when a
//! record is reused are atomics, so even a stale reader cannot race.
//!
//! `sweepgen` protocol (h = the heap's sweep generation, +2 per cycle):
//! h-2 needs sweeping, h-1 being swept, h swept and idle, h+1 cached by a
//! thread since before this sweep began (sweep it when it is returned), h+3
//! swept and cached.
//!
//! Weak references (`AllocHeap::weak_liveness` reads this): sweeping a span
//! first reports its dead objects that have a weak bit, then stores h in
//! `weaks_swept` (Release), and only then changes any mark bit (each mark
//! word is cleared with a Release store). A new span starts with
//! `weaks_swept` = h: it has nothing to report. So a reader that loads a
//! mark bit (Acquire) and then `weaks_swept` and finds it below h read the
//! mark as the last mark left it; one that finds h may rely on the report.

use std::ptr::NonNull;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU8, AtomicUsize, Ordering::*};

use once_cell::race::OnceBox;

use crate::bits::Bits;
use crate::heap::{FreeHook, TypeTag};
use crate::size_class::{SizeClass, SpanClass, CLASSES, PAGE_SIZE};
use crate::weak::WeakHook;

/// A run of pages holding objects of one span class.
pub struct Span {
    start: AtomicUsize,
    npages: AtomicUsize,
    elem_size: AtomicUsize,
    nelems: AtomicUsize,
    div_mul: AtomicU32,
    class: AtomicU8,
    /// The type tag of every object in the span (module comment).
    tag: AtomicUsize,
    in_use: AtomicBool,
    pub(crate) sweepgen: AtomicU32,
    pub(crate) freeindex: AtomicUsize,
    pub(crate) alloc_count: AtomicUsize,
    pub(crate) alloc_bits: Bits,
    pub(crate) mark_bits: Bits,
    /// The sweeper hands the objects it frees to `on_free` (module comment).
    needs_drop: AtomicBool,
    /// The weak bitmap once a slot has had a weak bit. Never freed before
    /// the record, so a `&Bits` lives as long as the `&Span`.
    weak_bits: OnceBox<Bits>,
    /// The sweep generation whose dead weakly referenced objects this span
    /// has reported (module comment).
    pub(crate) weaks_swept: AtomicU32,
    /// While a thread cache allocates black here: the first slot it
    /// allocated black (`usize::MAX` otherwise). Objects from there on that
    /// were free at the last sweep are black (`is_allocated_black`) until
    /// the cache marks them in bulk and resets this.
    black_from: AtomicUsize,
}

/// What sweeping one span found.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SweepResult {
    /// Objects freed.
    pub freed: usize,
    /// Objects still allocated.
    pub live: usize,
}

impl Span {
    pub(crate) fn new() -> Span {
        Span {
            start: AtomicUsize::new(0),
            npages: AtomicUsize::new(0),
            elem_size: AtomicUsize::new(0),
            nelems: AtomicUsize::new(0),
            div_mul: AtomicU32::new(0),
            class: AtomicU8::new(0),
            tag: AtomicUsize::new(0),
            in_use: AtomicBool::new(false),
            sweepgen: AtomicU32::new(0),
            freeindex: AtomicUsize::new(0),
            alloc_count: AtomicUsize::new(0),
            alloc_bits: Bits::new(0),
            mark_bits: Bits::new(0),
            needs_drop: AtomicBool::new(false),
            weak_bits: OnceBox::new(),
            weaks_swept: AtomicU32::new(0),
            black_from: AtomicUsize::new(usize::MAX),
        }
    }

    /// Set the record up for a new span. Called with the record unreachable
    /// from the page map, so no reader can see a half-initialised span.
    pub(crate) fn init(
        &self,
        start: usize,
        npages: usize,
        class: SpanClass,
        large_size: usize,
        sweepgen: u32,
        tag: TypeTag,
    ) {
        let (size, nelems, div_mul) = match class.size_class() {
            0 => (large_size, 1, 0),
            c => {
                let sc: &SizeClass = &CLASSES[c as usize];
                (sc.size as usize, sc.nelems as usize, sc.div_mul)
            }
        };
        self.start.store(start, Relaxed);
        self.npages.store(npages, Relaxed);
        self.elem_size.store(size, Relaxed);
        self.nelems.store(nelems, Relaxed);
        self.div_mul.store(div_mul, Relaxed);
        self.class.store(class.index() as u8, Relaxed);
        self.tag.store(tag, Relaxed);
        self.freeindex.store(0, Relaxed);
        self.alloc_count.store(0, Relaxed);
        let words = nelems.div_ceil(64);
        self.alloc_bits.reserve(nelems);
        self.alloc_bits.clear_all(words);
        self.mark_bits.reserve(nelems);
        self.mark_bits.clear_all(words);
        self.needs_drop.store(false, Relaxed);
        if let Some(weak) = self.weak_bits() {
            weak.reserve(nelems);
            weak.clear_all(words);
        }
        self.black_from.store(usize::MAX, Relaxed);
        // Release: a weak reader that finds h here from a record reused
        // since its target's span was freed must see what the sweeper of
        // that span reported (its hook ran before the free, and the pool
        // and page locks order the free before this init).
        self.weaks_swept.store(sweepgen, Release);
        self.sweepgen.store(sweepgen, Relaxed);
        self.in_use.store(true, Release);
    }

    pub(crate) fn retire(&self) {
        self.in_use.store(false, Release);
    }

    /// Whether the record currently describes a live span.
    #[inline]
    pub fn in_use(&self) -> bool {
        self.in_use.load(Acquire)
    }

    /// Address of the first object.
    #[inline]
    pub fn start(&self) -> usize {
        self.start.load(Relaxed)
    }

    /// Pages in the span.
    #[inline]
    pub fn npages(&self) -> usize {
        self.npages.load(Relaxed)
    }

    /// Bytes per object slot.
    #[inline]
    pub fn elem_size(&self) -> usize {
        self.elem_size.load(Relaxed)
    }

    /// Object slots in the span.
    #[inline]
    pub fn nelems(&self) -> usize {
        self.nelems.load(Relaxed)
    }

    /// The span class.
    #[inline]
    pub fn span_class(&self) -> SpanClass {
        SpanClass::from_index(self.class.load(Relaxed) as usize)
    }

    /// The type tag of every object in the span.
    #[inline]
    pub fn tag(&self) -> TypeTag {
        self.tag.load(Relaxed)
    }

    /// Whether the span's objects hold no GC pointers.
    #[inline]
    pub fn noscan(&self) -> bool {
        self.class.load(Relaxed) & 1 == 1
    }

    /// Index of the slot containing `addr`, which must lie in the span.
    #[inline]
    pub fn object_index(&self, addr: usize) -> usize {
        self.index_at(addr - self.start())
    }

    /// Index of the slot `off` bytes into the span.
    #[inline]
    pub(crate) fn index_at(&self, off: usize) -> usize {
        match self.div_mul.load(Relaxed) {
            0 => 0,
            m => ((off as u64 * m as u64) >> 32) as usize,
        }
    }

    /// Address of slot `index`.
    #[inline]
    pub fn object_base(&self, index: usize) -> usize {
        self.start() + index * self.elem_size()
    }

    /// Whether slot `index` is marked.
    #[inline]
    pub fn is_marked(&self, index: usize) -> bool {
        self.mark_bits.get(index)
    }

    /// Mark slot `index`; true if this call marked it (it was white).
    #[inline]
    pub fn mark(&self, index: usize) -> bool {
        self.mark_bits.set(index)
    }

    /// Call `f` with the base of every marked slot, in address order. The
    /// marks are only stable with marking finished and the span unswept.
    pub(crate) fn for_each_marked(&self, mut f: impl FnMut(usize)) {
        let nelems = self.nelems();
        for w in 0..nelems.div_ceil(64) {
            let mut bits = self.mark_bits.word(w) & low_bits(nelems - w * 64);
            while bits != 0 {
                let i = w * 64 + bits.trailing_zeros() as usize;
                bits &= bits - 1;
                f(self.object_base(i));
            }
        }
    }

    /// Whether slot `index` holds an object, as of the last sweep and the
    /// last time a thread cache returned the span.
    pub fn is_allocated(&self, index: usize) -> bool {
        index < self.freeindex.load(Relaxed) || self.alloc_bits.get(index)
    }

    /// Free slots at or above `freeindex` according to the alloc bits.
    pub(crate) fn free_from(&self, freeindex: usize) -> usize {
        let nelems = self.nelems();
        (freeindex / 64..nelems.div_ceil(64))
            .map(|w| {
                let in_range =
                    low_bits(nelems - w * 64) & !low_bits(freeindex.saturating_sub(w * 64));
                (!self.alloc_bits.word(w) & in_range).count_ones() as usize
            })
            .sum()
    }

    /// Mark every slot in `from..to` that was free at the last sweep: the
    /// objects a thread cache allocated there while marking (every free
    /// slot below a cache's cursor has been handed out). One atomic `or` per
    /// 64 slots instead of one per object (allocate-black by range). Returns
    /// how many this call marked (the marker may have reached, marked and
    /// counted some first).
    pub(crate) fn mark_allocated_range(&self, from: usize, to: usize) -> usize {
        let to = to.min(self.nelems());
        let mut marked = 0;
        for w in from / 64..to.div_ceil(64) {
            let in_range = low_bits(to - w * 64) & !low_bits(from.saturating_sub(w * 64));
            let new = in_range & !self.alloc_bits.word(w);
            if new != 0 {
                let before = self.mark_bits.or_word(w, new);
                marked += (new & !before).count_ones() as usize;
            }
        }
        marked
    }

    /// A thread cache allocated slot `index` black, the first since it
    /// cached the span. Stored before the object's address can be published,
    /// so a marker that reaches the object sees it.
    pub(crate) fn note_black_from(&self, index: usize) {
        self.black_from.store(index, Release);
    }

    /// The cache gave the span back after marking its black objects.
    pub(crate) fn clear_black_from(&self) {
        self.black_from.store(usize::MAX, Release);
    }

    /// Whether slot `index` holds an object allocated black whose mark bit
    /// the allocating cache has not set yet: the marker leaves it (the
    /// cache's bulk mark sets the bit; its pointers were shaded as they
    /// were stored).
    #[inline]
    pub fn is_allocated_black(&self, index: usize) -> bool {
        index >= self.black_from.load(Acquire) && !self.alloc_bits.get(index)
    }

    /// Have the sweeper hand this span's freed objects to `on_free`.
    #[inline]
    pub(crate) fn set_needs_drop(&self) {
        self.needs_drop.store(true, Relaxed);
    }

    /// The weak bitmap, if any slot has had a weak bit.
    #[inline]
    pub(crate) fn weak_bits(&self) -> Option<&Bits> {
        self.weak_bits.get()
    }

    /// The weak bitmap, allocated if this is the span's first weak bit.
    pub(crate) fn weak_bits_or_new(&self) -> &Bits {
        self.weak_bits
            .get_or_init(|| Box::new(Bits::new(self.nelems())))
    }

    /// Slots allocated as of the last sweep, in word `w`, given the
    /// `freeindex` a cache left.
    pub(crate) fn allocated_word(&self, w: usize, nelems: usize, fi: usize) -> u64 {
        let valid = low_bits(nelems - w * 64);
        let below_fi = low_bits(fi.saturating_sub(w * 64));
        (self.alloc_bits.word(w) | below_fi) & valid
    }

    /// Free every allocated, unmarked object: report those with a weak bit
    /// to `on_dead_weak`, run `on_free` for those with a destructor, then
    /// make the mark bits the new alloc bits. The caller has claimed the
    /// span (sweepgen h-1, h = `sweepgen`) and marking is not running.
    pub(crate) fn sweep(
        &self,
        sweepgen: u32,
        on_free: Option<FreeHook>,
        on_dead_weak: Option<&WeakHook>,
    ) -> SweepResult {
        self.report_dead_weaks(sweepgen, on_dead_weak);
        let nelems = self.nelems();
        let size = self.elem_size();
        let start = self.start();
        let tag = self.tag();
        let on_free = on_free.filter(|_| self.needs_drop.load(Relaxed));
        let weak_bits = self.weak_bits();
        let fi = self.freeindex.load(Relaxed);
        let mut result = SweepResult::default();
        for w in 0..nelems.div_ceil(64) {
            let allocated = self.allocated_word(w, nelems, fi);
            let marked = self.mark_bits.word(w);
            debug_assert_eq!(
                marked & !allocated,
                0,
                "marked a free slot in span {start:#x}"
            );
            let freed = allocated & !marked;
            if let Some(f) = on_free {
                let mut drops = freed;
                while drops != 0 {
                    let i = w * 64 + drops.trailing_zeros() as usize;
                    drops &= drops - 1;
                    let p = NonNull::new((start + i * size) as *mut u8).expect("span at address 0");
                    // SAFETY: slot `i` holds an unreachable (unmarked) object of
                    // a span that asked for `on_free`; this sweeper claimed the
                    // span, so the object is dropped exactly once.
                    unsafe { f(p, tag) };
                }
            }
            if cfg!(debug_assertions) {
                poison(start, size, w, freed);
            }
            if let Some(weak) = weak_bits.filter(|b| b.word(w) & freed != 0) {
                weak.clear_in_word(w, freed);
            }
            self.alloc_bits.store_word(w, marked, Relaxed);
            // Release: after `weaks_swept` (module comment).
            self.mark_bits.store_word(w, 0, Release);
            result.freed += freed.count_ones() as usize;
            result.live += marked.count_ones() as usize;
        }
        self.freeindex.store(0, Relaxed);
        self.alloc_count.store(result.live, Relaxed);
        result
    }

    pub(crate) fn bytes(&self) -> usize {
        self.npages() * PAGE_SIZE
    }
}

/// A mask of the lowest `n` bits (all 64 if `n >= 64`).
#[inline]
pub(crate) fn low_bits(n: usize) -> u64 {
    if n >= 64 {
        u64::MAX
    } else {
        (1u64 << n) - 1
    }
}

/// Debug builds fill freed slots with 0xDB so a use after free reads junk
/// that tests notice instead of a plausible old value.
fn poison(start: usize, size: usize, w: usize, mut freed: u64) {
    while freed != 0 {
        let i = w * 64 + freed.trailing_zeros() as usize;
        freed &= freed - 1;
        // SAFETY: slot `i` was just freed by this sweeper, which owns the
        // span; no live reference points into it.
        unsafe { std::ptr::write_bytes((start + i * size) as *mut u8, 0xDB, size) };
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};

    use super::*;
    use crate::size_class::size_class_of;

    static DROPPED: AtomicUsize = AtomicUsize::new(0);

    /// `on_free` hook: counts the objects dropped.
    unsafe fn record(_: NonNull<u8>, tag: TypeTag) {
        assert_eq!(tag, 7, "the hook gets the span's tag");
        DROPPED.fetch_add(1, SeqCst);
    }

    /// Span bookkeeping on ordinary memory (no mmap, so Miri runs it):
    /// sweeping frees exactly the allocated, unmarked slots, runs the drop
    /// hook for each of them once the span is flagged, and turns the marks
    /// into the new alloc bits.
    #[test]
    fn sweep_frees_the_unmarked_and_keeps_the_marked() {
        let class = SpanClass::new(size_class_of(48).unwrap(), false);
        let size = CLASSES[class.size_class() as usize].size as usize;
        let mut memory = vec![0u64; PAGE_SIZE / 8];
        let start = memory.as_mut_ptr() as usize;
        let span = Span::new();
        span.init(start, 1, class, 0, 0, 7);
        assert_eq!(span.tag(), 7);
        assert_eq!((span.elem_size(), span.nelems()), (size, PAGE_SIZE / size));
        assert_eq!(span.object_index(start + 3 * size + 5), 3);
        assert_eq!(span.object_base(3), start + 3 * size);

        // A thread cache handed out slots 0..10 and returned the span.
        span.freeindex.store(10, Relaxed);
        assert!(span.is_allocated(9) && !span.is_allocated(10));
        assert_eq!(span.free_from(10), span.nelems() - 10);
        span.set_needs_drop();
        for i in [2, 5, 7] {
            assert!(span.mark(i), "first mark of {i}");
        }
        assert!(!span.mark(5), "second mark of 5");

        let result = span.sweep(0, Some(record), None);
        assert_eq!(result, SweepResult { freed: 7, live: 3 });
        assert_eq!(DROPPED.load(SeqCst), 7, "every freed object dropped");
        let allocated: Vec<usize> = (0..span.nelems())
            .filter(|&i| span.is_allocated(i))
            .collect();
        assert_eq!(allocated, [2, 5, 7]);
        assert!((0..span.nelems()).all(|i| !span.is_marked(i)));
        assert_eq!(span.free_from(0), span.nelems() - 3);
        if cfg!(debug_assertions) {
            let bytes = memory.as_ptr() as *const u8;
            // SAFETY: `memory` holds PAGE_SIZE bytes and is alive.
            let slot0 = unsafe { std::slice::from_raw_parts(bytes, size) };
            assert!(slot0.iter().all(|&b| b == 0xDB), "freed slot 0 poisoned");
        }
    }
}
