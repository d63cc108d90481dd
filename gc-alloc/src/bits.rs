//! Per-slot bitmaps of a span (alloc, mark and weak bits), sized to the
//! span: the first [`INLINE_SLOTS`] bits live in the span record, the rest in
//! a second half allocated only for spans with more slots.
//!
//! Why two halves: only the 8-byte class has more than 512 slots in a span
//! (1024), so bitmaps of [`MAX_OBJS_PER_SPAN`] bits inline would leave half of
//! every other span's bitmaps empty. With three bitmaps per record that was
//! 128 bytes of a ~360-byte record, about 4 MB of span records in a 250 MB
//! heap (Go sizes its mark bits to the span for the same reason).
//!
//! Invariants:
//! - `reserve(nelems)` installs the high half before the span's record is
//!   published with that many slots (`Span::init` runs before the page map
//!   points at the record), so every reader that finds a span through the
//!   page map, a lock or a thread cache sees it.
//! - The high half, once installed, is freed only when the bitmap is
//!   dropped (with its record). A record reused for a class with fewer slots
//!   keeps it, so a stale `&Bits` never dangles. once_cell's `OnceBox` is
//!   exactly that: installed by one compare-and-swap, read with one Acquire
//!   load, freed by its drop.
//! - A reader that indexes past the low half of a bitmap without a high half
//!   (possible only for a stale reader of a reused record, which the
//!   record's module comment already tolerates) reads zero bits and sets
//!   none, rather than touching memory that is not there.

use std::sync::atomic::{AtomicU64, Ordering::*};

use once_cell::race::OnceBox;

use crate::size_class::MAX_OBJS_PER_SPAN;

/// Slots whose bits live in the span record itself.
pub(crate) const INLINE_SLOTS: usize = 512;
const LOW_WORDS: usize = INLINE_SLOTS / 64;
const HIGH_WORDS: usize = MAX_OBJS_PER_SPAN / 64 - LOW_WORDS;

type High = [AtomicU64; HIGH_WORDS];

/// A bitmap with one bit per object slot.
pub(crate) struct Bits {
    low: [AtomicU64; LOW_WORDS],
    /// Words `LOW_WORDS..`, unset while no span of this record has had
    /// more than [`INLINE_SLOTS`] slots (module comment).
    high: OnceBox<High>,
}

impl Bits {
    /// An empty bitmap with room for `nelems` slots.
    pub(crate) fn new(nelems: usize) -> Bits {
        let bits = Bits {
            low: std::array::from_fn(|_| AtomicU64::new(0)),
            high: OnceBox::new(),
        };
        bits.reserve(nelems);
        bits
    }

    /// Make room for `nelems` slots: the high half, if they need it and it
    /// is not there yet. Its words start clear.
    pub(crate) fn reserve(&self, nelems: usize) {
        if nelems > INLINE_SLOTS {
            self.high
                .get_or_init(|| Box::new(std::array::from_fn(|_| AtomicU64::new(0))));
        }
    }

    /// Word `w`, or `None` past the low half of a bitmap without a high half.
    #[inline]
    fn at(&self, w: usize) -> Option<&AtomicU64> {
        if w < LOW_WORDS {
            return Some(&self.low[w]);
        }
        self.high.get()?.get(w - LOW_WORDS)
    }

    /// Word `w` of a bitmap that has room for it: one the caller reserved
    /// (through its span's `init`) for the span it owns.
    #[inline]
    fn reserved(&self, w: usize) -> &AtomicU64 {
        self.at(w)
            .expect("a span's bitmap word beyond the room reserved for it")
    }

    #[inline]
    pub(crate) fn word(&self, w: usize) -> u64 {
        self.at(w).map_or(0, |a| a.load(Relaxed))
    }

    #[inline]
    pub(crate) fn get(&self, i: usize) -> bool {
        self.word(i / 64) & (1 << (i % 64)) != 0
    }

    /// `get` with Acquire: pairs with the Release store that clears a mark
    /// word in `Span::sweep` (the span's module comment).
    #[inline]
    pub(crate) fn get_acquire(&self, i: usize) -> bool {
        self.at(i / 64)
            .is_some_and(|a| a.load(Acquire) & (1 << (i % 64)) != 0)
    }

    /// Set bit `i`; true if this call set it.
    #[inline]
    pub(crate) fn set(&self, i: usize) -> bool {
        let bit = 1u64 << (i % 64);
        let Some(w) = self.at(i / 64) else {
            return false;
        };
        // A plain load first: re-marking an already marked object (the
        // common case for shared subgraphs) then costs no locked instruction.
        w.load(Relaxed) & bit == 0 && w.fetch_or(bit, AcqRel) & bit == 0
    }

    /// Set the bits of `mask` in word `w`; returns the word as it was.
    pub(crate) fn or_word(&self, w: usize, mask: u64) -> u64 {
        self.reserved(w).fetch_or(mask, AcqRel)
    }

    /// Clear the bits of `mask` in word `w`.
    pub(crate) fn clear_in_word(&self, w: usize, mask: u64) {
        self.reserved(w).fetch_and(!mask, Relaxed);
    }

    /// Store `value` as word `w`.
    pub(crate) fn store_word(&self, w: usize, value: u64, order: std::sync::atomic::Ordering) {
        self.reserved(w).store(value, order);
    }

    /// Clear the first `words` words.
    pub(crate) fn clear_all(&self, words: usize) {
        for w in 0..words {
            self.store_word(w, 0, Relaxed);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_bitmaps_have_no_high_half_and_large_ones_do() {
        let small = Bits::new(INLINE_SLOTS);
        assert!(small.high.get().is_none());
        assert!(!small.set(INLINE_SLOTS), "no room past the low half");
        assert!(!small.get(INLINE_SLOTS));
        let large = Bits::new(MAX_OBJS_PER_SPAN);
        assert!(large.high.get().is_some());
        for i in [0, 63, INLINE_SLOTS - 1, INLINE_SLOTS, MAX_OBJS_PER_SPAN - 1] {
            assert!(large.set(i), "bit {i} starts clear");
            assert!(!large.set(i), "bit {i} is set once");
            assert!(large.get(i) && large.get_acquire(i));
        }
        assert_eq!(large.word(MAX_OBJS_PER_SPAN / 64 - 1), 1 << 63);
    }

    #[test]
    fn reserving_keeps_the_high_half_across_reuse() {
        let bits = Bits::new(8);
        bits.reserve(MAX_OBJS_PER_SPAN);
        let high: *const High = bits.high.get().expect("reserved");
        bits.set(MAX_OBJS_PER_SPAN - 1);
        bits.clear_all(MAX_OBJS_PER_SPAN / 64);
        bits.reserve(16);
        bits.reserve(MAX_OBJS_PER_SPAN);
        assert!(
            std::ptr::eq(bits.high.get().expect("kept"), high),
            "installed once"
        );
        assert!(!bits.get(MAX_OBJS_PER_SPAN - 1), "cleared");
    }
}
