//! The page allocator: hands out runs of contiguous pages for spans and
//! coalesces runs when they are freed.
//!
//! Pages are numbered from the start of the heap's reservation. Free runs are
//! kept twice: by start page (to find neighbours when coalescing) and by
//! (length, start) (best fit, lowest address among equals, in O(log n)).
//! The heap grows by committing whole arenas at the end of the committed
//! range; new arena pages join the free runs.
//!
//! Released pages: a bitmap with one bit per committed page says whether the
//! page's memory has been given back to the OS. New arena pages start
//! released (never touched); handing a page out clears its bit; the
//! scavenger sets it again when it `madvise`s a free page away. So
//! `committed_pages - released_pages` is exactly the memory the heap may hold
//! resident.
//!
//! Everything here runs under the heap's page lock.

use std::collections::{BTreeMap, BTreeSet};

use crate::arena::ARENA_PAGES;

pub(crate) struct PageAlloc {
    by_start: BTreeMap<usize, usize>,
    by_size: BTreeSet<(usize, usize)>,
    released: Vec<u64>,
    /// Pages in committed arenas.
    pub(crate) committed_pages: usize,
    /// Pages currently handed out as spans.
    pub(crate) in_use_pages: usize,
    /// Most pages in use at once since the last `take_peak`.
    peak_in_use_pages: usize,
    /// Committed pages whose memory is back with the OS.
    pub(crate) released_pages: usize,
    /// Pages returned to the OS since the heap started.
    pub(crate) released_total: usize,
}

impl PageAlloc {
    pub(crate) fn new() -> PageAlloc {
        PageAlloc {
            by_start: BTreeMap::new(),
            by_size: BTreeSet::new(),
            released: Vec::new(),
            committed_pages: 0,
            in_use_pages: 0,
            peak_in_use_pages: 0,
            released_pages: 0,
            released_total: 0,
        }
    }

    /// Take the best-fitting free run of `n` pages, if any.
    pub(crate) fn alloc(&mut self, n: usize) -> Option<usize> {
        let &(len, start) = self.by_size.range((n, 0)..).next()?;
        self.remove_run(start, len);
        if len > n {
            self.insert_run(start + n, len - n);
        }
        self.in_use_pages += n;
        self.peak_in_use_pages = self.peak_in_use_pages.max(self.in_use_pages);
        self.released_pages -= self.clear_released(start, n);
        Some(start)
    }

    /// The most pages in use at once since the last call; starts a new period.
    pub(crate) fn take_peak(&mut self) -> usize {
        std::mem::replace(&mut self.peak_in_use_pages, self.in_use_pages)
    }

    /// Return pages `start..start+n` and merge them with free neighbours.
    pub(crate) fn free(&mut self, mut start: usize, mut n: usize) {
        self.in_use_pages -= n;
        if let Some((&prev, &plen)) = self.by_start.range(..start).next_back() {
            if prev + plen == start {
                self.remove_run(prev, plen);
                start = prev;
                n += plen;
            }
        }
        if let Some(&next_len) = self.by_start.get(&(start + n)) {
            self.remove_run(start + n, next_len);
            n += next_len;
        }
        self.insert_run(start, n);
    }

    /// Add one arena's pages (all released: never touched) at the end.
    pub(crate) fn grow_arena(&mut self) {
        let start = self.committed_pages;
        self.committed_pages += ARENA_PAGES;
        self.released.resize(self.committed_pages / 64, u64::MAX);
        self.released_pages += ARENA_PAGES;
        self.in_use_pages += ARENA_PAGES;
        self.free(start, ARENA_PAGES);
    }

    /// Pick free, unreleased pages to give back to the OS until at most
    /// `keep` free pages stay resident; marks them released and returns the
    /// runs for the caller to `madvise` (still under the page lock).
    pub(crate) fn scavenge(&mut self, keep: usize) -> Vec<(usize, usize)> {
        let free_resident = self.committed_pages - self.in_use_pages - (self.released_pages);
        let mut excess = free_resident.saturating_sub(keep);
        let mut out = Vec::new();
        // Largest runs first: fewer syscalls, and small runs are the ones
        // most likely to be reused soon.
        let runs: Vec<(usize, usize)> = self
            .by_size
            .iter()
            .rev()
            .map(|&(len, start)| (start, len))
            .collect();
        for (start, len) in runs {
            if excess == 0 {
                break;
            }
            let take = len.min(excess);
            let newly = self.set_released(start, take);
            if newly > 0 {
                excess = excess.saturating_sub(newly);
                self.released_pages += newly;
                self.released_total += newly;
                out.push((start, take));
            }
        }
        out
    }

    fn insert_run(&mut self, start: usize, n: usize) {
        self.by_start.insert(start, n);
        self.by_size.insert((n, start));
    }

    fn remove_run(&mut self, start: usize, n: usize) {
        self.by_start.remove(&start);
        self.by_size.remove(&(n, start));
    }

    /// Clear the released bits of a range; returns how many were set.
    fn clear_released(&mut self, start: usize, n: usize) -> usize {
        self.update_released(start, n, false)
    }

    /// Set the released bits of a range; returns how many were clear.
    fn set_released(&mut self, start: usize, n: usize) -> usize {
        self.update_released(start, n, true)
    }

    fn update_released(&mut self, start: usize, n: usize, set: bool) -> usize {
        let mut changed = 0;
        let mut page = start;
        let end = start + n;
        while page < end {
            let word = page / 64;
            let lo = page % 64;
            let hi = (end - word * 64).min(64);
            let mask = if hi - lo == 64 {
                u64::MAX
            } else {
                ((1u64 << (hi - lo)) - 1) << lo
            };
            let w = &mut self.released[word];
            if set {
                changed += (!*w & mask).count_ones() as usize;
                *w |= mask;
            } else {
                changed += (*w & mask).count_ones() as usize;
                *w &= !mask;
            }
            page = word * 64 + hi;
        }
        changed
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alloc_free_coalesces() {
        let mut p = PageAlloc::new();
        p.grow_arena();
        let a = p.alloc(3).unwrap();
        let b = p.alloc(5).unwrap();
        let c = p.alloc(2).unwrap();
        assert_eq!(p.in_use_pages, 10);
        p.free(b, 5);
        p.free(a, 3);
        p.free(c, 2);
        assert_eq!(p.in_use_pages, 0);
        assert_eq!(p.by_start.len(), 1, "all runs merged back into one");
        assert_eq!(p.alloc(ARENA_PAGES), Some(0));
        assert_eq!(p.alloc(1), None);
    }

    #[test]
    fn released_accounting() {
        let mut p = PageAlloc::new();
        p.grow_arena();
        assert_eq!(p.released_pages, ARENA_PAGES);
        let a = p.alloc(100).unwrap();
        assert_eq!(p.released_pages, ARENA_PAGES - 100);
        p.free(a, 100);
        let runs = p.scavenge(10);
        assert_eq!(runs.iter().map(|r| r.1).sum::<usize>(), 90);
        assert_eq!(p.released_pages, ARENA_PAGES - 10);
        assert!(p.scavenge(10).is_empty());
    }
}
