//! Where the mark worker runs: once per mark, if the running mutators are
//! at least as many as the CPUs it may use, it moves to the next of those
//! CPUs and gets its full CPU mask back.
//!
//! Why: Linux's load balancer leaves three busy threads on two CPUs where
//! they are, since moving one would only change which CPU runs two. So with
//! as many busy mutators as cores, the marker shares one core with the same
//! mutator for the whole run, and a program that splits its work evenly
//! between its mutators waits for the one that paid for all the marking.
//! Measured on parallel binary-trees (2 mutators, 2 cores): run-queue wait
//! per mutator 0.33 s against 0.78 s, the first finishing up to 0.65 s
//! (20%) before the second; moving the worker on (at every job, in a
//! first version) made it 0.58 s against 0.62 s. Go's scheduler gets the
//! same from moving goroutines between its Ps.
//!
//! Only when the mutators fill the CPUs: with a CPU to spare the kernel
//! already runs the worker there, and moving it onto a mutator's CPU would
//! make the two share it until the balancer noticed, milliseconds later
//! (GCBench, whose marks last a millisecond or two, went from 0.17 to
//! 0.27 s when the worker moved at every mark). The caller counts the
//! running mutators once the mark is under way, when the one that started
//! the cycle runs again.
//!
//! The move pins the thread to one CPU for the length of two system calls
//! and then restores the mask it had, so the kernel stays free to move it
//! again. A thread allowed a single CPU (as under `taskset -c 0`) never
//! moves, and on other systems this does nothing.

/// If `busy` threads besides the caller fill the CPUs its affinity mask
/// allows, move the calling thread to the CPU after the one it runs on,
/// among those, leaving the mask as it was. Best effort: a failed call
/// leaves the thread where the kernel put it.
pub(crate) fn move_on_if_crowded(busy: usize) {
    #[cfg(target_os = "linux")]
    linux::move_on_if_crowded(busy);
    #[cfg(not(target_os = "linux"))]
    let _ = busy;
}

#[cfg(target_os = "linux")]
mod linux {
    use std::mem::{size_of, zeroed};

    pub(super) fn move_on_if_crowded(busy: usize) {
        let Some(allowed) = affinity() else { return };
        // SAFETY: `allowed` is an initialised cpu_set_t.
        let cpus = unsafe { libc::CPU_COUNT(&allowed) };
        if cpus >= 2 && busy >= cpus as usize {
            move_to_next_cpu(&allowed);
        }
    }

    /// Move to the CPU after this one in `allowed`, then restore `allowed`.
    pub(super) fn move_to_next_cpu(allowed: &libc::cpu_set_t) {
        // SAFETY: sched_getcpu takes no arguments and only reads the CPU
        // the calling thread runs on.
        let here = unsafe { libc::sched_getcpu() };
        let cpus = libc::CPU_SETSIZE as usize;
        let Ok(here) = usize::try_from(here) else {
            return;
        };
        let Some(next) = (1..cpus)
            .map(|i| (here + i) % cpus)
            // SAFETY: `allowed` is an initialised cpu_set_t and every index
            // is below CPU_SETSIZE.
            .find(|&c| unsafe { libc::CPU_ISSET(c, allowed) })
        else {
            return;
        };
        // SAFETY: an all-zero cpu_set_t is the empty set.
        let mut one: libc::cpu_set_t = unsafe { zeroed() };
        // SAFETY: `next` is below CPU_SETSIZE.
        unsafe { libc::CPU_SET(next, &mut one) };
        if set_affinity(&one) {
            set_affinity(allowed);
        }
    }

    /// The calling thread's CPU mask, if the call succeeds.
    pub(super) fn affinity() -> Option<libc::cpu_set_t> {
        // SAFETY: an all-zero cpu_set_t is the empty set.
        let mut set: libc::cpu_set_t = unsafe { zeroed() };
        // SAFETY: pid 0 is the calling thread; the size is that of `set`,
        // which the kernel writes.
        let r = unsafe { libc::sched_getaffinity(0, size_of::<libc::cpu_set_t>(), &mut set) };
        (r == 0).then_some(set)
    }

    /// Set the calling thread's CPU mask; false if the kernel refused it.
    fn set_affinity(set: &libc::cpu_set_t) -> bool {
        // SAFETY: pid 0 is the calling thread; the size is that of `set`,
        // which the kernel only reads.
        unsafe { libc::sched_setaffinity(0, size_of::<libc::cpu_set_t>(), set) == 0 }
    }
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;

    fn mask() -> Vec<usize> {
        let set = linux::affinity().expect("sched_getaffinity");
        (0..libc::CPU_SETSIZE as usize)
            // SAFETY: `set` is initialised and `c` is below CPU_SETSIZE.
            .filter(|&c| unsafe { libc::CPU_ISSET(c, &set) })
            .collect()
    }

    /// The move leaves the thread its whole mask, however often it runs:
    /// the kernel must stay free to place the thread.
    #[test]
    fn moving_keeps_the_mask() {
        let before = mask();
        let allowed = linux::affinity().unwrap();
        for _ in 0..8 {
            linux::move_to_next_cpu(&allowed);
            assert_eq!(mask(), before);
            move_on_if_crowded(usize::MAX);
            assert_eq!(mask(), before);
        }
    }
}
