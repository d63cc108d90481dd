//! The page allocator: hands out runs of contiguous pages for spans and
//! coalesces runs when they are freed.
//!
//! Pages are numbered from the start of the heap's reservation. Free runs are
//! kept twice: by start page (to find neighbours when coalescing, and for
//! address-ordered first fit) and by (length, start) (best fit, lowest
//! address among equals, in O(log n), when first fit finds nothing soon).
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

/// Scavenger periods (one per background sweep, so one per GC cycle) whose
/// peak page use stays resident.
const PEAK_PERIODS: usize = 8;

/// Free runs `alloc` looks at in address order before it falls back to
/// best fit.
const FIRST_FIT_RUNS: usize = 64;

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
    /// The peaks of the last `PEAK_PERIODS` periods (`take_peak`), newest
    /// at `recent_next - 1`.
    recent_peaks: [usize; PEAK_PERIODS],
    recent_next: usize,
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
            recent_peaks: [0; PEAK_PERIODS],
            recent_next: 0,
            released_pages: 0,
            released_total: 0,
        }
    }

    /// Take `n` free pages, if any: from the lowest-addressed run that
    /// fits among the first `FIRST_FIT_RUNS` runs, else from the best
    /// fitting run. Low addresses first keeps allocation on the resident
    /// pages at the bottom of the heap while the scavenger releases from the
    /// top (Go's page allocator is address-ordered for the same reason);
    /// the bound keeps a fragmented heap from making this a long scan.
    pub(crate) fn alloc(&mut self, n: usize) -> Option<usize> {
        let first_fit = self
            .by_start
            .iter()
            .take(FIRST_FIT_RUNS)
            .find(|&(_, &len)| len >= n)
            .map(|(&start, &len)| (len, start));
        let (len, start) = match first_fit {
            Some(run) => run,
            None => *self.by_size.range((n, 0)..).next()?,
        };
        self.remove_run(start, len);
        if len > n {
            self.insert_run(start + n, len - n);
        }
        self.in_use_pages += n;
        self.peak_in_use_pages = self.peak_in_use_pages.max(self.in_use_pages);
        self.released_pages -= self.clear_released(start, n);
        Some(start)
    }

    /// The most pages in use at once over the last `PEAK_PERIODS` periods
    /// (a period ends at each call): what the heap needed recently and will
    /// likely need again. Keeping it resident, rather than only the last
    /// period's peak, stops the scavenger from releasing pages every cycle
    /// that the next cycles fault back in (system time that grew to a sixth
    /// of binary-trees' run time on one core).
    pub(crate) fn take_peak(&mut self) -> usize {
        let peak = std::mem::replace(&mut self.peak_in_use_pages, self.in_use_pages);
        self.recent_peaks[self.recent_next] = peak;
        self.recent_next = (self.recent_next + 1) % PEAK_PERIODS;
        self.recent_peaks.iter().copied().max().unwrap_or(peak)
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

    /// Committed pages whose memory the OS has not been given back.
    pub(crate) fn resident_pages(&self) -> usize {
        self.committed_pages - self.released_pages
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
        let free_resident = self.resident_pages() - self.in_use_pages;
        let mut excess = free_resident.saturating_sub(keep);
        let mut out = Vec::new();
        // Highest addresses first, the top of each run: allocation is best
        // fit (smallest run, lowest address), so it takes the resident holes
        // low in the heap before it reaches released pages at the top, and
        // released memory is not faulted back in while resident free pages
        // remain (Go's scavenger also works down from the top).
        let runs: Vec<(usize, usize)> = self.by_start.iter().rev().map(|(&s, &n)| (s, n)).collect();
        'runs: for (start, len) in runs {
            // Walk the run down from its top, releasing each stretch of
            // still-resident pages.
            let mut end = start + len;
            while end > start {
                if excess == 0 {
                    break 'runs;
                }
                if self.is_released(end - 1) {
                    end -= 1;
                    continue;
                }
                let mut first = end - 1;
                while first > start && end - first < excess && !self.is_released(first - 1) {
                    first -= 1;
                }
                let newly = self.set_released(first, end - first);
                excess -= newly;
                self.released_pages += newly;
                self.released_total += newly;
                out.push((first, end - first));
                end = first;
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

    fn is_released(&self, page: usize) -> bool {
        self.released[page / 64] & (1 << (page % 64)) != 0
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
