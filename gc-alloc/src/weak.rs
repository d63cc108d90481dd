//! Support for weak references, cleared by the sweeper (as Go 1.24's weak
//! handles are, by the sweeper that frees their object's span "special").
//!
//! The collector keeps the weak slots; this crate only knows which objects
//! have one. [`AllocHeap::set_weak`] sets the object's weak bit. The sweeper
//! that frees an unmarked object with a weak bit hands its base to the
//! heap's [`WeakHook`] first, before the span's mark bits change and before
//! the slot can be allocated again, so the collector clears the object's
//! weak slot then: the cost is one call per dead weakly referenced object,
//! outside any pause, instead of a pass over every weak slot.
//!
//! Between the end of a mark and the sweep of a target's span, the slot
//! still holds a dead object. [`AllocHeap::weak_liveness`] tells the slot's
//! reader which case it is in, from the span's bits (ordering in `span.rs`):
//! - the whole sweep is done (`unswept` reached 0, Acquire, after every
//!   sweeper's Release decrement): every dead target was reported, so the
//!   slot, read again, is exact;
//! - else the mark bit is read (Acquire), then `weaks_swept` (Acquire). If
//!   the span has reported this generation (or was made in it, with
//!   nothing to report), the slot read again is exact; if not, the mark
//!   bit read is the last mark's (a sweeper clears a mark word with a
//!   Release store only after storing `weaks_swept`, so seeing its 0 means
//!   seeing `weaks_swept` too), and no object was allocated in the span
//!   since that mark (allocation needs a swept span), so the bit says
//!   whether the object is live.
//!
//! A stale record: if the target died and its span was freed, its record
//! may describe another span by now, or the page map another record. Every
//! mark bit such a reader can see is then 0 (a freed span had no marked
//! object, and nothing marks between a mark's end and the next sweep), and
//! a `weaks_swept` of h there was stored after the report (by the sweeper,
//! or by `Span::init`, whose Release store follows the free through the
//! page and pool locks; the page map entry is itself Release/Acquire).
//! So the answer is never "marked" and "reported" is honest.

use std::fmt;
use std::sync::atomic::Ordering::*;
use std::sync::Arc;

use crate::heap::AllocHeap;
use crate::span::Span;

/// The sweeper's report of dead weakly referenced objects: called with the
/// bases of freed objects whose weak bit was set (at most 64 per call), on
/// whichever thread sweeps, before the span's mark bits change and before
/// any of those slots can be allocated again. It must not allocate from or
/// sweep this heap.
///
/// ```
/// use gc_alloc::{AllocHeap, HeapConfig, WeakHook};
///
/// let hook = WeakHook::new(|bases: &[usize]| {
///     for base in bases {
///         // Clear the weak references to the object at `base`.
///         let _ = base;
///     }
/// });
/// let heap = AllocHeap::new(HeapConfig { on_dead_weak: Some(hook), ..HeapConfig::default() });
/// # drop(heap);
/// ```
#[derive(Clone)]
pub struct WeakHook(Arc<ReportFn>);

type ReportFn = dyn Fn(&[usize]) + Send + Sync;

impl WeakHook {
    /// A hook that calls `f`.
    pub fn new(f: impl Fn(&[usize]) + Send + Sync + 'static) -> WeakHook {
        WeakHook(Arc::new(f))
    }

    pub(crate) fn report(&self, bases: &[usize]) {
        (self.0)(bases)
    }
}

impl fmt::Debug for WeakHook {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("WeakHook")
    }
}

/// What [`AllocHeap::weak_liveness`] found about an object that has a weak
/// reference.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WeakLiveness {
    /// Marked by the last mark, and its span not swept since: live.
    Marked,
    /// Not marked by the last mark, and its span not swept since (or no
    /// object is there any more): dead.
    Unmarked,
    /// Its span reported its dead weakly referenced objects in this sweep
    /// generation (or the whole sweep is done): the caller's weak slot,
    /// read again now, is exact.
    Reported,
}

impl AllocHeap {
    /// Note that the object at `base` has a weak reference: the sweeper
    /// reports it to the [`WeakHook`] when it frees it.
    ///
    /// # Panics
    /// If `base` is not the start of an object slot of this heap.
    pub fn set_weak(&self, base: usize) {
        let o = self
            .find_object(base)
            .filter(|o| o.base == base)
            .expect("set_weak: not an object base");
        o.span.set_weak(o.index);
    }

    /// Whether every span of the current sweep generation has been swept.
    /// (Acquire: pairs with each sweeper's Release decrement, so a caller
    /// that sees `true` sees every report to the [`WeakHook`].)
    #[inline]
    pub fn sweep_done(&self) -> bool {
        self.unswept.load(Acquire) == 0
    }

    /// Whether the object at `base`, which has a weak bit and whose weak
    /// slot the caller has just read as non-zero, is still alive (module
    /// comment). Exact under three conditions, which the collector keeps:
    /// the sweep generation does not move during the call; no mark runs
    /// unless the sweep is done; and no thread cache held a span across the
    /// last generation change (objects allocated there since would read as
    /// unmarked).
    pub fn weak_liveness(&self, base: usize) -> WeakLiveness {
        if self.sweep_done() {
            return WeakLiveness::Reported;
        }
        let Some(span) = self.region.span_of(base).filter(|s| s.in_use()) else {
            return WeakLiveness::Unmarked;
        };
        // A record reused since the target died may have other bounds
        // (module comment): wrapping arithmetic and the range checks keep
        // the answer "not marked" without an overflow or an index panic.
        let off = base.wrapping_sub(span.start());
        if off >= span.bytes() {
            return WeakLiveness::Unmarked;
        }
        let index = span.index_at(off);
        if index >= span.nelems() {
            return WeakLiveness::Unmarked;
        }
        let marked = span.is_marked_acquire(index);
        if span.weaks_swept() == self.sweepgen.load(Relaxed) {
            WeakLiveness::Reported
        } else if marked {
            WeakLiveness::Marked
        } else {
            WeakLiveness::Unmarked
        }
    }
}

/// A span's side of weak references (the ordering is in `span.rs`).
impl Span {
    /// Give slot `index` a weak bit (atomic: sweepers clear other bits of
    /// the word, of objects they free, at the same time).
    #[inline]
    pub(crate) fn set_weak(&self, index: usize) {
        self.weak_bits_or_new().set(index);
    }

    /// Whether slot `index` is marked, with Acquire: pairs with the
    /// Release store of a sweeper clearing the mark word.
    #[inline]
    pub(crate) fn is_marked_acquire(&self, index: usize) -> bool {
        self.mark_bits.get_acquire(index)
    }

    /// The sweep generation whose dead weakly referenced objects this span
    /// has reported (Acquire: pairs with the Release store below, and with
    /// the one in `Span::init`).
    #[inline]
    pub(crate) fn weaks_swept(&self) -> u32 {
        self.weaks_swept.load(Acquire)
    }

    /// Report every allocated, unmarked object with a weak bit to
    /// `on_dead_weak` (by base, up to 64 at a time), then record generation
    /// `sweepgen` as reported. First thing a sweep does: no mark bit has
    /// changed yet.
    pub(crate) fn report_dead_weaks(&self, sweepgen: u32, on_dead_weak: Option<&WeakHook>) {
        if let (Some(hook), Some(weak_bits)) = (on_dead_weak, self.weak_bits()) {
            let nelems = self.nelems();
            let fi = self.freeindex.load(Relaxed);
            let mut bases = [0usize; 64];
            for w in 0..nelems.div_ceil(64) {
                let weak = weak_bits.word(w);
                if weak == 0 {
                    continue;
                }
                let mut dead = weak & self.allocated_word(w, nelems, fi) & !self.mark_bits.word(w);
                let mut n = 0;
                while dead != 0 {
                    bases[n] = self.object_base(w * 64 + dead.trailing_zeros() as usize);
                    n += 1;
                    dead &= dead - 1;
                }
                if n > 0 {
                    hook.report(&bases[..n]);
                }
            }
        }
        self.weaks_swept.store(sweepgen, Release);
    }
}
