//! CPU time of the calling thread, for the collector's CPU figures.
//!
//! gctrace's `ms cpu` fields and `GC CPU %` sum what the collector's
//! threads actually ran (the kernel's per-thread CPU clock), not wall time
//! multiplied by thread counts: a worker sleeping to hold its CPU share, or
//! a thread waiting for the world to stop, costs nothing here.

use std::time::Duration;

/// CPU time the calling thread has used since it started.
pub(crate) fn thread_cpu() -> Duration {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec; the clock id is a
    // constant every supported OS (Linux, macOS, the BSDs) defines.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    if rc != 0 {
        return Duration::ZERO;
    }
    Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}

/// Measures the calling thread's CPU time from its creation on.
pub(crate) struct CpuTimer(Duration);

impl CpuTimer {
    pub(crate) fn start() -> CpuTimer {
        CpuTimer(thread_cpu())
    }

    /// CPU time this thread used since `start` (or the last `lap`).
    pub(crate) fn lap(&mut self) -> Duration {
        let now = thread_cpu();
        let d = now.saturating_sub(self.0);
        self.0 = now;
        d
    }

    /// CPU time this thread used since `start`.
    pub(crate) fn elapsed(&self) -> Duration {
        thread_cpu().saturating_sub(self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_work_not_sleep() {
        let t = CpuTimer::start();
        std::thread::sleep(Duration::from_millis(50));
        let slept = t.elapsed();
        let t = CpuTimer::start();
        let mut x = 0u64;
        for i in 0..20_000_000u64 {
            x = std::hint::black_box(x.wrapping_mul(31).wrapping_add(i));
        }
        let worked = t.elapsed();
        assert!(slept < worked, "sleeping {slept:?} vs working {worked:?}");
    }
}
