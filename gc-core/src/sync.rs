//! The synchronisation primitives of the modelled components (the
//! stop-the-world handshake, the grey pool, the wake-up signal), so that
//! `--cfg loom` can swap in loom's checked versions.
//!
//! Normally these are `std`'s atomics and `parking_lot`'s `Mutex` and
//! `Condvar`, re-exported as they are (no cost). Under `cfg(loom)` they are
//! loom's, wrapped in the `parking_lot` API the collector is written
//! against (`lock()` returns the guard, `Condvar::wait` takes `&mut guard`).
//! loom's condition variable never times out, so under loom `wait_for`
//! is a plain `wait`: a model then deadlocks, and fails, if a wake-up only
//! ever happened because a timeout fired.

#[cfg(not(loom))]
pub(crate) use parking_lot::{Condvar, Mutex};
#[cfg(not(loom))]
pub(crate) use std::sync::atomic::{fence, AtomicBool, AtomicUsize};

#[cfg(loom)]
pub(crate) use loom::sync::atomic::{fence, AtomicBool, AtomicUsize};
#[cfg(loom)]
pub(crate) use loom_shim::{Condvar, Mutex};

#[cfg(loom)]
mod loom_shim {
    use std::ops::{Deref, DerefMut};
    use std::time::Duration;

    /// loom's mutex with `parking_lot`'s API (no poisoning).
    #[derive(Default)]
    pub(crate) struct Mutex<T>(loom::sync::Mutex<T>);

    /// The guard is held in an `Option` only so that `Condvar::wait` can
    /// move it into loom's by-value `wait` and put the new one back.
    pub(crate) struct MutexGuard<'a, T>(Option<loom::sync::MutexGuard<'a, T>>);

    impl<T> Mutex<T> {
        pub(crate) fn lock(&self) -> MutexGuard<'_, T> {
            MutexGuard(Some(self.0.lock().unwrap_or_else(|e| e.into_inner())))
        }
    }

    impl<T> Deref for MutexGuard<'_, T> {
        type Target = T;
        fn deref(&self) -> &T {
            self.0.as_deref().expect("guard is only empty inside wait")
        }
    }

    impl<T> DerefMut for MutexGuard<'_, T> {
        fn deref_mut(&mut self) -> &mut T {
            self.0
                .as_deref_mut()
                .expect("guard is only empty inside wait")
        }
    }

    /// loom's condition variable with `parking_lot`'s API.
    #[derive(Default)]
    pub(crate) struct Condvar(loom::sync::Condvar);

    impl Condvar {
        pub(crate) fn wait<T>(&self, guard: &mut MutexGuard<'_, T>) {
            let g = guard.0.take().expect("guard is only empty inside wait");
            guard.0 = Some(self.0.wait(g).unwrap_or_else(|e| e.into_inner()));
        }

        /// Without a timeout: see the module comment.
        pub(crate) fn wait_for<T>(&self, guard: &mut MutexGuard<'_, T>, _timeout: Duration) {
            self.wait(guard);
        }

        pub(crate) fn notify_all(&self) {
            self.0.notify_all();
        }
    }
}
