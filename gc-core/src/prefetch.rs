//! Prefetching grey objects when the heap's layout needs it: a small FIFO
//! between a drainer's grey stack and its scan, used only while the scan
//! jumps around memory.
//!
//! Scanning a grey object starts with a load of the object. A depth-first
//! scan pops the child it pushed a moment ago, so where the heap was
//! allocated in the order the marker visits it (binary-trees' bottom-up
//! trees: each parent right after its subtrees), consecutive scans walk
//! memory in a stream the processor's own prefetcher follows, and that
//! load hits. Where it was not (GCBench's top-down trees, an
//! interpreter's objects), the load misses: 27 ns per object on
//! `examples/mark_workers` with a top-down tree against 6.4 bottom-up.
//!
//! The FIFO (Cher, Hosking and Vijaykumar, "Software prefetching for
//! mark-sweep garbage collection", ASPLOS 2004; Boehm's collector does the
//! same) takes each object off the stack `DEPTH` scans before it is
//! scanned and prefetches it then: 12 instead of 27 ns per object on the
//! top-down tree. It also reorders the scan (several subtrees in turn), and
//! that breaks the stream of an allocation-ordered heap: 9.4 instead of 6.4
//! ns bottom-up. So the queue measures: in windows of `WINDOW` objects
//! scanned straight off the stack it counts the scans more than `NEAR`
//! bytes from the one before, and uses the FIFO for the next `HOLD` windows
//! if more than one in `FAR_SHARE` was, the stack alone if not; then it
//! measures again. With the measuring windows the top-down tree marks at
//! 15 ns per object, the bottom-up one at 6.6.
//!
//! Invariant: an object taken off the grey stack is in the FIFO until it is
//! handed out, so everything the drainer took is still scanned or handed
//! back. [`PrefetchQueue::spill`] returns the FIFO's objects to the stack
//! before the stack is handed to the grey pool, or when the FIFO turns off.
//! Which objects are scanned does not change, only the order.

/// Objects in flight between the stack and the scan: 4 took 14.6, 8 took
/// 12, 16 took 13 ns per object on the top-down tree.
const DEPTH: usize = 8;

/// Objects scanned per measuring window.
const WINDOW: u32 = 4096;

/// Consecutive scans this close need no prefetch: the processor follows
/// them (a few cache lines either way).
const NEAR: usize = 256;

/// More than one far scan in this many turns the FIFO on: about 2% of a
/// bottom-up tree's scans are far, about half of a top-down tree's.
const FAR_SHARE: u32 = 32;

/// Windows the queue keeps a mode before it measures again.
const HOLD: u32 = 16;

/// The FIFO (`len` objects from `slots[head]` on, wrapping) and the
/// measurement that switches it.
#[derive(Default)]
pub(crate) struct PrefetchQueue {
    /// While `Plain`: objects left in the window, counted down by `tick`
    /// (not per object: a store per object cost 5% of a tree's mark).
    plain_left: usize,
    slots: [usize; DEPTH],
    head: usize,
    len: usize,
    mode: Mode,
    /// Windows left in `mode` (`Plain` or `Fifo`) before measuring again.
    windows_left: u32,
    /// While measuring or `Fifo`: objects handed out in the current window.
    seen: u32,
    /// While measuring: objects handed out more than `NEAR` bytes from the
    /// one before.
    far: u32,
    /// While measuring: the object handed out last.
    last: usize,
}

/// How [`PrefetchQueue::next`] takes objects.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
enum Mode {
    /// Straight off the stack, counting far scans.
    #[default]
    Measure,
    /// Straight off the stack (`plain_left` counts the window down).
    Plain,
    /// Through the FIFO.
    Fifo,
}

impl PrefetchQueue {
    /// The next object to scan, `None` when the stack and the FIFO are
    /// both empty.
    #[inline(always)]
    pub(crate) fn next(&mut self, stack: &mut Vec<usize>) -> Option<usize> {
        if self.mode == Mode::Plain {
            return stack.pop();
        }
        self.next_slow(stack)
    }

    /// About `scanned` objects were handed out since the last call: ends a
    /// window of `Plain`. The grey pool's drain loop calls this every few
    /// dozen objects; a drainer that never calls it stays `Plain` after
    /// its first measured window.
    pub(crate) fn tick(&mut self, scanned: usize) {
        if self.mode == Mode::Plain {
            self.plain_left = self.plain_left.saturating_sub(scanned);
            if self.plain_left == 0 {
                self.end_window();
            }
        }
    }

    /// `next` while measuring or using the FIFO. Out of line: inlined
    /// into the drain loop it cost a tree's mark 20% (7.7 against 6.4 ns
    /// per object) even where it never ran.
    #[inline(never)]
    fn next_slow(&mut self, stack: &mut Vec<usize>) -> Option<usize> {
        let base = if self.mode == Mode::Fifo {
            self.next_queued(stack)?
        } else {
            let base = stack.pop()?;
            self.far += (base.abs_diff(self.last) > NEAR) as u32;
            self.last = base;
            base
        };
        self.seen += 1;
        if self.seen == WINDOW {
            if self.mode == Mode::Fifo && self.windows_left == 1 {
                self.spill(stack);
            }
            self.end_window();
        }
        Some(base)
    }

    /// Refill the FIFO from `stack` (prefetching each object taken) and
    /// hand out its oldest object.
    #[inline(always)]
    fn next_queued(&mut self, stack: &mut Vec<usize>) -> Option<usize> {
        while self.len < DEPTH {
            let Some(base) = stack.pop() else { break };
            prefetch(base);
            self.slots[(self.head + self.len) % DEPTH] = base;
            self.len += 1;
        }
        if self.len == 0 {
            return None;
        }
        let base = self.slots[self.head];
        self.head = (self.head + 1) % DEPTH;
        self.len -= 1;
        Some(base)
    }

    /// A window ended: judge the one just measured, or count down the
    /// current mode's windows and measure again after the last (the FIFO
    /// must be empty by then).
    fn end_window(&mut self) {
        if self.mode == Mode::Measure {
            self.mode = if self.far * FAR_SHARE > WINDOW {
                Mode::Fifo
            } else {
                Mode::Plain
            };
            self.windows_left = HOLD;
        } else {
            self.windows_left -= 1;
            if self.windows_left == 0 {
                debug_assert_eq!(self.len, 0, "the FIFO ends its hold empty");
                self.mode = Mode::Measure;
            }
        }
        if self.mode == Mode::Plain {
            self.plain_left = WINDOW as usize;
        }
        self.seen = 0;
        self.far = 0;
    }

    /// Put the FIFO's objects back on `stack`, the next to scan on top.
    pub(crate) fn spill(&mut self, stack: &mut Vec<usize>) {
        while self.len > 0 {
            self.len -= 1;
            stack.push(self.slots[(self.head + self.len) % DEPTH]);
        }
        self.head = 0;
    }
}

/// Ask for the cache line at `addr`. A hint only: it reads nothing the
/// program can observe.
#[inline(always)]
fn prefetch(addr: usize) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: a prefetch never faults and has no effect the program can
    // observe, whatever the address; `_mm_prefetch` needs only SSE, which
    // every x86-64 processor has.
    unsafe {
        use std::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
        _mm_prefetch::<_MM_HINT_T0>(addr as *const i8);
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = addr;
}

#[cfg(test)]
mod tests {
    use super::{Mode, PrefetchQueue, DEPTH, HOLD, WINDOW};

    /// Scattered objects: 4 KiB apart, so every scan is far.
    fn scattered(n: usize) -> Vec<usize> {
        (1..=n).map(|i| i << 12).collect()
    }

    /// Drain `stack` through `q`, each object at `x` pushing `children(x)`;
    /// returns what came out, in order.
    fn drain(
        q: &mut PrefetchQueue,
        stack: &mut Vec<usize>,
        children: impl Fn(usize) -> Vec<usize>,
    ) -> Vec<usize> {
        let mut out = Vec::new();
        while let Some(b) = q.next(stack) {
            out.push(b);
            stack.extend(children(b));
        }
        out
    }

    /// Scattered objects turn the FIFO on after one window, and every
    /// object comes out exactly once, with a spill in the middle.
    #[test]
    fn the_fifo_turns_on_and_loses_nothing() {
        let n = 3 * WINDOW as usize;
        // Every fifth object has one child, one byte past it.
        let children = |b: usize| {
            if b % (5 << 12) == 0 {
                vec![b + 1]
            } else {
                vec![]
            }
        };
        let mut stack = scattered(n);
        let mut q = PrefetchQueue::default();
        let mut seen = Vec::new();
        for _ in 0..WINDOW as usize + 3 {
            let b = q.next(&mut stack).unwrap();
            seen.push(b);
            stack.extend(children(b));
        }
        assert_eq!(
            q.mode,
            Mode::Fifo,
            "a window of far scans left the FIFO off"
        );
        assert!(q.len > 0);
        q.spill(&mut stack);
        assert_eq!(q.len, 0);
        seen.extend(drain(&mut q, &mut stack, children));
        seen.sort_unstable();
        let mut want = scattered(n);
        want.extend(scattered(n).into_iter().flat_map(children));
        want.sort_unstable();
        assert!(seen == want, "objects lost or repeated");
    }

    /// Adjacent objects keep the FIFO off: the scan order is the stack's.
    #[test]
    fn adjacent_objects_keep_the_stack_order() {
        let mut stack: Vec<usize> = (0..2 * WINDOW as usize).map(|i| 4096 + 16 * i).collect();
        let want: Vec<usize> = stack.iter().rev().copied().collect();
        let mut q = PrefetchQueue::default();
        assert_eq!(drain(&mut q, &mut stack, |_| vec![]), want);
        assert_eq!(q.mode, Mode::Plain);
    }

    /// Ticks end a window of `Plain`; after the hold the queue measures
    /// again.
    #[test]
    fn ticks_end_plain_windows() {
        let mut q = PrefetchQueue::default();
        let mut stack: Vec<usize> = (0..WINDOW as usize).map(|i| 4096 + 16 * i).collect();
        drain(&mut q, &mut stack, |_| vec![]);
        assert_eq!(q.mode, Mode::Plain);
        for _ in 0..HOLD {
            assert_eq!(q.mode, Mode::Plain);
            for _ in 0..WINDOW / 64 {
                q.tick(64);
            }
        }
        assert_eq!(q.mode, Mode::Measure);
    }

    /// After its hold the FIFO spills back and the queue measures again.
    #[test]
    fn the_fifo_turns_off_after_its_hold() {
        let mut q = PrefetchQueue::default();
        let far = WINDOW as usize * (HOLD as usize + 1);
        let mut stack = scattered(far + DEPTH);
        for _ in 0..far {
            q.next(&mut stack).unwrap();
        }
        assert_eq!(q.mode, Mode::Measure);
        assert_eq!(q.len, 0, "the FIFO kept objects after turning off");
        assert_eq!(stack.len(), DEPTH);
    }
}
