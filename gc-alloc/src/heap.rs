//! The allocation heap (Go's mheap): owns the address range, the page
//! allocator, the span records and the central lists. Sweeping is in
//! `sweep.rs`, handing spans to and from thread caches in `central.rs`,
//! making and unmaking spans on the page heap in `span_alloc.rs`.
//!
//! Locks: `pages` (page allocator), `pool` (span records) and each central
//! list are separate short critical sections; sweeping a span runs outside
//! all of them, on a span its sweeper claimed. `sweep_gate` is held shared by
//! background sweepers and exclusively while the sweep generation moves, so
//! a sweeper never straddles two generations (thread caches need no gate:
//! the collector bumps the generation only with every mutator stopped).
//!
//! Byte counters: `allocated` counts bytes in allocated objects (a cached
//! span counts as fully allocated until it is returned, as in Go);
//! `heap_live` is the collector's pacing counter, reset to the marked bytes
//! at each mark termination and raised by allocation only.

use std::ptr::NonNull;
use std::sync::atomic::{AtomicI64, AtomicU32, AtomicU64, AtomicUsize, Ordering::*};
use std::sync::Arc;

use parking_lot::{Mutex, RwLock};

use crate::arena::Region;
use crate::central::{Central, SpanPtr};
use crate::error::AllocError;
use crate::pages::PageAlloc;
use crate::size_class::{SpanClass, CLASSES, NUM_SIZE_CLASSES, NUM_SPAN_CLASSES, PAGE_SIZE};
use crate::span::Span;
use crate::stats::{AllocStats, ClassStats};
use crate::weak::WeakHook;

/// The type of every object in a span: an opaque word that the allocator
/// stores per span and hands back (`Span::tag`, the `on_free` hook) but
/// never interprets. Allocations with different tags never share a span.
pub type TypeTag = usize;

/// Maps a tag to the canonical tag of the same type (see
/// [`HeapConfig::canonical_tag`]).
pub type CanonicalTag = unsafe fn(TypeTag) -> TypeTag;

/// The sweeper's hook for a freed object with a destructor: its address and
/// its span's type tag.
pub type FreeHook = unsafe fn(NonNull<u8>, TypeTag);

/// Address space reserved when nothing else is asked for: 64 GiB.
pub const DEFAULT_RESERVE: usize = 64 << 30;

/// How a heap is set up.
#[derive(Clone, Debug)]
pub struct HeapConfig {
    /// Address space to reserve, rounded up to whole arenas (no memory is
    /// used until pages are committed). The heap never grows past it.
    pub reserve_bytes: usize,
    /// If the OS refuses `reserve_bytes`, try halving it down to the smaller
    /// of `limit_bytes` and 1 GiB before giving up (the default). When false,
    /// a refusal is returned at once: the caller asked for that size.
    pub reserve_fallback: bool,
    /// Cap on bytes in spans; allocation past it returns
    /// [`AllocError::HeapLimit`].
    pub limit_bytes: usize,
    /// Called by the sweeper for each object it frees in a span where an
    /// allocation asked for it ([`AllocFlags::needs_drop`]).
    pub on_free: Option<FreeHook>,
    /// Maps each tag an allocation passes to the tag its spans carry, for a
    /// caller that may name one type by several tags (the collector's
    /// vtables, one per codegen unit): allocations whose tags map to the
    /// same one share spans. Called when a thread cache line or a large
    /// object takes a tag, not per object. `None`: tags are used as given.
    pub canonical_tag: Option<CanonicalTag>,
    /// Called by the sweeper with the freed objects that had a weak
    /// reference ([`AllocHeap::set_weak`]), before their slots can be
    /// reused (see [`WeakHook`]).
    pub on_dead_weak: Option<WeakHook>,
}

impl Default for HeapConfig {
    fn default() -> HeapConfig {
        HeapConfig {
            reserve_bytes: DEFAULT_RESERVE,
            reserve_fallback: true,
            limit_bytes: usize::MAX,
            on_free: None,
            canonical_tag: None,
            on_dead_weak: None,
        }
    }
}

/// Per-allocation options.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct AllocFlags {
    /// The object's type tag: it goes into a span of this tag only.
    pub tag: TypeTag,
    /// The sweeper must call the heap's `on_free` hook when it frees the
    /// object. Kept per span, not per object: give every allocation of a
    /// tag the same value (otherwise the hook also sees the tag's objects
    /// allocated without it).
    pub needs_drop: bool,
    /// Mark the object at once (objects are allocated black while marking).
    pub black: bool,
}

/// An object found by address.
#[derive(Clone, Copy)]
pub struct ObjectRef<'h> {
    /// Its span.
    pub span: &'h Span,
    /// Its slot index in the span.
    pub index: usize,
    /// Its first byte.
    pub base: usize,
}

/// Span records. Boxed one by one (not a `Vec<Span>`) because their
/// addresses are handed out and must not move when the pool grows.
#[derive(Default)]
pub(crate) struct Pool {
    #[allow(clippy::vec_box)]
    pub(crate) all: Vec<Box<Span>>,
    pub(crate) free: Vec<SpanPtr>,
}

/// The allocation heap. Shared by the thread caches through an `Arc`.
pub struct AllocHeap {
    pub(crate) region: Region,
    pub(crate) pages: Mutex<PageAlloc>,
    pub(crate) pool: Mutex<Pool>,
    pub(crate) centrals: Box<[Central]>,
    pub(crate) sweepgen: AtomicU32,
    pub(crate) sweep_gate: RwLock<()>,
    pub(crate) sweep_cursor: AtomicUsize,
    pub(crate) limit: AtomicUsize,
    /// `committed_bytes` of [`AllocStats`]: stored under the page lock each
    /// time it changes, so that a reader in a pause takes no lock that a
    /// sweeper freeing spans may hold for a millisecond.
    pub(crate) committed: AtomicUsize,
    pub(crate) on_free: Option<FreeHook>,
    canonical_tag: Option<CanonicalTag>,
    pub(crate) on_dead_weak: Option<WeakHook>,
    /// Spans of the current sweep generation not swept yet: set when the
    /// generation moves, lowered (Release) after each span's sweep.
    pub(crate) unswept: AtomicUsize,
    /// Spans in the central lists' empty lists (`central.rs`): in use, but
    /// in no list a sweep generation sweeps.
    pub(crate) empty_spans: AtomicUsize,
    pub(crate) allocated: AtomicI64,
    pub(crate) heap_live: AtomicI64,
    /// Bytes of objects allocated black (while marking) since the last
    /// [`take_black_bytes`](Self::take_black_bytes): live at the end of the
    /// mark as much as what the marker marked.
    pub(crate) black_bytes: AtomicUsize,
    /// `heap_live` past which a thread cache raises its mutator's poll flag
    /// when it takes memory (see [`ThreadCache::add_poll_flag`](crate::ThreadCache::add_poll_flag)).
    pub(crate) trigger: AtomicUsize,
    pub(crate) mallocs: Box<[AtomicU64]>,
    pub(crate) frees: Box<[AtomicU64]>,
}

impl AllocHeap {
    /// Reserve the address space and set up an empty heap.
    pub fn new(config: HeapConfig) -> Result<Arc<AllocHeap>, AllocError> {
        let mut reserve = config.reserve_bytes.max(crate::arena::ARENA_SIZE);
        let region = loop {
            match Region::reserve(reserve) {
                Ok(r) => break r,
                Err(e)
                    if !config.reserve_fallback
                        || reserve / 2 < config.limit_bytes.min(1 << 30) =>
                {
                    return Err(e)
                }
                Err(_) => reserve /= 2,
            }
        };
        Ok(Arc::new(AllocHeap {
            region,
            pages: Mutex::new(PageAlloc::new()),
            pool: Mutex::new(Pool::default()),
            centrals: (0..NUM_SPAN_CLASSES).map(|_| Central::default()).collect(),
            sweepgen: AtomicU32::new(4),
            sweep_gate: RwLock::new(()),
            sweep_cursor: AtomicUsize::new(0),
            limit: AtomicUsize::new(config.limit_bytes),
            committed: AtomicUsize::new(0),
            on_free: config.on_free,
            canonical_tag: config.canonical_tag,
            on_dead_weak: config.on_dead_weak,
            unswept: AtomicUsize::new(0),
            empty_spans: AtomicUsize::new(0),
            allocated: AtomicI64::new(0),
            heap_live: AtomicI64::new(0),
            black_bytes: AtomicUsize::new(0),
            trigger: AtomicUsize::new(usize::MAX),
            mallocs: (0..NUM_SIZE_CLASSES).map(|_| AtomicU64::new(0)).collect(),
            frees: (0..NUM_SIZE_CLASSES).map(|_| AtomicU64::new(0)).collect(),
        }))
    }

    /// The heap's address range as (first byte, length): every object lies
    /// in it, and it never changes.
    pub fn range(&self) -> (usize, usize) {
        (self.region.base(), self.region.len())
    }

    /// Whether `addr` lies in this heap's address range.
    #[inline]
    pub fn contains(&self, addr: usize) -> bool {
        self.region.contains(addr)
    }

    /// The object slot containing `addr` (interior pointers included), or
    /// `None` if `addr` is not inside a span of this heap.
    #[inline]
    pub fn find_object(&self, addr: usize) -> Option<ObjectRef<'_>> {
        let span = self.region.span_of(addr)?;
        if !span.in_use() {
            return None;
        }
        let index = span.object_index(addr);
        if index >= span.nelems() {
            return None;
        }
        Some(ObjectRef {
            span,
            index,
            base: span.object_base(index),
        })
    }

    /// The canonical form of `tag` (`HeapConfig::canonical_tag`).
    pub(crate) fn canonical_tag(&self, tag: TypeTag) -> TypeTag {
        match self.canonical_tag {
            // SAFETY: `tag` came with an allocation request; whoever built
            // the heap with this hook vouches for every tag it is asked for.
            Some(f) => unsafe { f(tag) },
            None => tag,
        }
    }

    /// The type tag of the span holding the object at `addr` (see
    /// [`TypeTag`]), or `None` if `addr` is not inside a span of this heap.
    #[inline]
    pub fn tag_of(&self, addr: usize) -> Option<TypeTag> {
        self.region.span_of(addr).map(Span::tag)
    }

    /// Whether `o`'s slot holds an object, when that can be told: `None`
    /// while a thread caches the span (a cache allocates without publishing
    /// which slots it took) or while it waits for or undergoes a sweep.
    pub fn is_allocated(&self, o: &ObjectRef<'_>) -> Option<bool> {
        // The sweepgen load (Acquire) pairs with the Release stores that end
        // a sweep or an uncache, after `freeindex` and the alloc bits.
        let swept = o.span.sweepgen.load(Acquire) == self.sweepgen();
        swept.then(|| o.span.is_allocated(o.index))
    }

    /// The current sweep generation.
    #[inline]
    pub fn sweepgen(&self) -> u32 {
        self.sweepgen.load(Acquire)
    }

    /// Bytes of committed pages not released to the OS, without the page
    /// lock ([`AllocStats::committed_bytes`] from a snapshot).
    pub fn committed_bytes(&self) -> usize {
        self.committed.load(Relaxed)
    }

    /// Update [`committed_bytes`](Self::committed_bytes) from `pages`, the
    /// page allocator under its lock, after its resident pages changed.
    pub(crate) fn store_committed(&self, pages: &PageAlloc) {
        self.committed
            .store(pages.resident_pages() * PAGE_SIZE, Relaxed);
    }

    /// Change the heap limit.
    pub fn set_limit(&self, bytes: usize) {
        self.limit.store(bytes, Relaxed);
    }

    /// Bytes allocated since the last [`reset_heap_live`](Self::reset_heap_live).
    pub fn heap_live(&self) -> usize {
        self.heap_live.load(Relaxed).max(0) as usize
    }

    /// Raise the pacing counter by `bytes` that are not heap objects but
    /// should pace the collector as if they were (memory objects own
    /// outside the heap).
    pub fn add_heap_live(&self, bytes: usize) {
        self.heap_live
            .fetch_add(i64::try_from(bytes).unwrap_or(i64::MAX), Relaxed);
    }

    /// Start a new pacing period with `bytes` (the marked bytes) as its base.
    pub fn reset_heap_live(&self, bytes: usize) {
        self.heap_live.store(bytes as i64, Relaxed);
    }

    /// Set the `heap_live` at which caches raise their poll flags.
    pub fn set_trigger(&self, bytes: usize) {
        self.trigger.store(bytes, Relaxed);
    }

    /// Whether `heap_live` has reached the trigger.
    #[inline]
    pub fn over_trigger(&self) -> bool {
        self.heap_live() >= self.trigger.load(Relaxed)
    }

    /// Bytes allocated black since the last call (call it at mark
    /// termination, after every thread cache was flushed).
    pub fn take_black_bytes(&self) -> usize {
        self.black_bytes.swap(0, AcqRel)
    }

    pub(crate) fn add_black_bytes(&self, bytes: usize) {
        self.black_bytes.fetch_add(bytes, Relaxed);
    }

    /// Return the memory of free pages to the OS so that the heap holds at
    /// most `retain_bytes` (spans in use plus free resident pages), but never
    /// less than the most it had in spans since the last call: memory the
    /// heap needed in the period just ended is likely needed in the next
    /// one, and releasing it would only turn into page faults. Returns the
    /// bytes released.
    pub fn scavenge(&self, retain_bytes: usize) -> usize {
        let mut pages = self.pages.lock();
        let retain = (retain_bytes / PAGE_SIZE).max(pages.take_peak());
        let keep_free = retain.saturating_sub(pages.in_use_pages);
        let runs = pages.scavenge(keep_free);
        self.store_committed(&pages);
        let mut released = 0;
        for (start, n) in runs {
            self.region.release_pages(start, n);
            released += n * PAGE_SIZE;
        }
        released
    }

    /// A snapshot of the heap's counters.
    pub fn stats(&self) -> AllocStats {
        let pages = self.pages.lock();
        let by_class: Vec<ClassStats> = (0..NUM_SIZE_CLASSES)
            .map(|c| ClassStats {
                size: CLASSES[c].size as usize,
                mallocs: self.mallocs[c].load(Relaxed),
                frees: self.frees[c].load(Relaxed),
            })
            .collect();
        let mallocs: u64 = by_class.iter().map(|c| c.mallocs).sum();
        let frees: u64 = by_class.iter().map(|c| c.frees).sum();
        AllocStats {
            allocated_bytes: self.allocated.load(Relaxed).max(0) as usize,
            allocated_objects: mallocs.saturating_sub(frees),
            mallocs,
            frees,
            span_bytes: pages.in_use_pages * PAGE_SIZE,
            committed_bytes: pages.resident_pages() * PAGE_SIZE,
            released_bytes: pages.released_total * PAGE_SIZE,
            reserved_bytes: self.region.len(),
            limit_bytes: self.limit.load(Relaxed),
            by_class,
        }
    }

    /// Allocate an object of more than `MAX_SMALL_SIZE` bytes in a span of
    /// its own.
    pub fn alloc_large(
        &self,
        size: usize,
        noscan: bool,
        flags: AllocFlags,
    ) -> Result<NonNull<u8>, AllocError> {
        let npages = size
            .checked_add(PAGE_SIZE - 1)
            .ok_or(AllocError::TooLarge { requested: size })?
            / PAGE_SIZE;
        let spc = SpanClass::new(0, noscan);
        let sg = self.sweepgen();
        let sp = self.alloc_span(spc, npages, sg, self.canonical_tag(flags.tag))?;
        let span = self.span(sp);
        span.freeindex.store(1, Relaxed);
        span.alloc_count.store(1, Relaxed);
        if flags.needs_drop {
            span.set_needs_drop();
        }
        if flags.black {
            span.mark(0);
            self.add_black_bytes(span.bytes());
        }
        let bytes = span.bytes() as i64;
        self.allocated.fetch_add(bytes, Relaxed);
        self.heap_live.fetch_add(bytes, Relaxed);
        self.mallocs[0].fetch_add(1, Relaxed);
        self.push_swept(sg, sp, false);
        Ok(NonNull::new(span.start() as *mut u8).expect("span at address 0"))
    }

    #[inline]
    pub(crate) fn span(&self, p: SpanPtr) -> &Span {
        // SAFETY: every SpanPtr is made from a Box in `pool.all`, which is
        // only dropped with the heap; `&self` proves the heap is alive.
        unsafe { &*p.0 }
    }

    /// Call `f(base, slot_size, tag)` for every marked object of the heap
    /// (a census). The caller keeps the marks stable: marking finished, the
    /// sweep generation not yet advanced, no span allocated or freed
    /// meanwhile (the collector calls it with every mutator stopped).
    pub fn for_each_marked(&self, mut f: impl FnMut(usize, usize, TypeTag)) {
        let pool = self.pool.lock();
        for span in pool.all.iter().filter(|s| s.in_use()) {
            let (size, tag) = (span.elem_size(), span.tag());
            span.for_each_marked(|base| f(base, size, tag));
        }
    }

    /// Spans in use (the pool's records minus its free ones).
    pub(crate) fn spans_in_use(&self) -> usize {
        let pool = self.pool.lock();
        pool.all.len() - pool.free.len()
    }

    /// Spans currently in central lists (not cached by any thread).
    pub fn listed_spans(&self) -> usize {
        self.centrals.iter().map(Central::len).sum()
    }
}
