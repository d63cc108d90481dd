//! External memory: bytes a GC object owns outside the heap (a `Vec`'s
//! buffer, a file mapping), made visible to the pacer and to the stats.
//!
//! An [`ExternalMemory`] token, stored in the object, stands for the bytes.
//! It is counted like the heap bytes of its object:
//! - **pacing**: making or growing a token raises the heap's pacing counter
//!   (`heap_live`, which the trigger is compared with, raising the
//!   mutator's safepoint poll once past it), so a safepoint starts the next
//!   cycle sooner. The mark counts the token's bytes as marked when it
//!   scans the object holding it (`Trace` reports them), and
//!   mark termination resets the counter to the marked bytes, as it does
//!   for heap bytes: the bytes of a live object stay in the pacer's heap
//!   (and in the goal computed from it); those of a dead one leave it at
//!   the first mark termination that does not find the object. A token made
//!   while marking counts as marked at once, like an object allocated
//!   black. So gctrace's heap figures (`H0->H1->M MB`, the goal) include
//!   external memory.
//! - **stats**: [`GcStats::external_bytes`](crate::GcStats::external_bytes)
//!   is the exact sum over the tokens that exist, dead objects' included
//!   until the sweeper drops them (it runs the objects' destructors, which
//!   drop their tokens), like `heap_in_use`.
//!
//! The mark can count a token only where `trace` reaches it: a plain field,
//! or inside `Option`, `Box`, `Vec` and the like. A token inside a cell
//! (`RefCell<ExternalMemory>`) or a `#[trace(skip)]` field is `NoGc` and
//! still counted in the stats, but leaves the pacer's heap at the next mark
//! termination. Resize with [`ExternalMemory::resize`] instead, which takes
//! `&self`.
//!
//! Shrinking a token, or dropping one, lowers the stats at once and the
//! pacer's heap at the next mark termination (as freeing heap bytes does).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use crate::mark::Tracer;
use crate::mutator::Mutator;
use crate::trace::{NoGc, Trace};

/// Memory owned outside the heap by the object that holds this token; see
/// [`Mutator::external_memory`].
pub struct ExternalMemory {
    /// The heap's exact count of external bytes (`HeapInner::external`).
    total: Arc<AtomicUsize>,
    bytes: AtomicUsize,
}

impl Mutator {
    /// A token standing for `bytes` of memory outside the heap, to store in
    /// the object that owns that memory: the pacer counts the bytes as part
    /// of the heap while the object lives (so cycles come sooner), and
    /// [`GcStats::external_bytes`](crate::GcStats::external_bytes) shows
    /// them until the object is swept. Keep it in a field that `trace`
    /// reaches (not in a cell); see [`ExternalMemory::resize`] to change
    /// the size.
    ///
    /// ```
    /// use tricolor::{ExternalMemory, Heap, Trace};
    ///
    /// #[derive(Trace)]
    /// struct Buffer { data: Vec<u8>, external: ExternalMemory }
    ///
    /// let heap = Heap::new();
    /// let mut m = heap.mutator();
    /// let data = vec![0u8; 1 << 20];
    /// let external = m.external_memory(data.capacity());
    /// let buffer = m.root(m.alloc(Buffer { data, external }));
    /// assert_eq!(heap.stats().external_bytes, 1 << 20);
    /// drop(buffer);
    /// m.collect();
    /// assert_eq!(heap.stats().external_bytes, 0);
    /// ```
    pub fn external_memory(&self, bytes: usize) -> ExternalMemory {
        let total = self.heap_inner().external.clone();
        total.fetch_add(bytes, Ordering::Relaxed);
        charge(self, bytes);
        ExternalMemory {
            total,
            bytes: AtomicUsize::new(bytes),
        }
    }
}

/// Add `bytes` to the pacer's heap, as marked if a cycle is marking; raise
/// `m`'s safepoint poll if that took the heap past its trigger (as a
/// thread cache does when it takes memory).
fn charge(m: &Mutator, bytes: usize) {
    let inner = m.heap_inner();
    inner.alloc.add_heap_live(bytes);
    if m.marking() {
        inner.pool.add_marked_bytes(bytes);
    }
    if inner.alloc.over_trigger() {
        m.shared().poll.store(true, Ordering::Relaxed);
    }
}

impl ExternalMemory {
    /// The bytes this token stands for.
    pub fn bytes(&self) -> usize {
        self.bytes.load(Ordering::Relaxed)
    }

    /// Change the bytes this token stands for (after the buffer grew or
    /// shrank). Growth counts at once toward the next cycle, as a new token.
    ///
    /// ```
    /// use std::sync::Mutex;
    /// use tricolor::{ExternalMemory, Heap, Trace};
    ///
    /// #[derive(Trace)]
    /// struct Buffer { data: Mutex<Vec<u8>>, external: ExternalMemory }
    ///
    /// let heap = Heap::new();
    /// let m = heap.mutator();
    /// let b = m.alloc(Buffer { data: Mutex::new(Vec::new()), external: m.external_memory(0) });
    /// let mut data = b.data.lock().unwrap();
    /// data.resize(4096, 0);
    /// b.external.resize(&m, data.capacity());
    /// assert_eq!(heap.stats().external_bytes, 4096);
    /// ```
    ///
    /// # Panics
    /// If `m` is attached to another heap than the one that made the token.
    #[track_caller]
    pub fn resize(&self, m: &Mutator, bytes: usize) {
        if !Arc::ptr_eq(&self.total, &m.heap_inner().external) {
            foreign_token();
        }
        let old = self.bytes.swap(bytes, Ordering::Relaxed);
        if bytes >= old {
            self.total.fetch_add(bytes - old, Ordering::Relaxed);
            charge(m, bytes - old);
        } else {
            self.total.fetch_sub(old - bytes, Ordering::Relaxed);
        }
    }
}

impl Drop for ExternalMemory {
    fn drop(&mut self) {
        self.total
            .fetch_sub(*self.bytes.get_mut(), Ordering::Relaxed);
    }
}

impl std::fmt::Debug for ExternalMemory {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ExternalMemory({} bytes)", self.bytes())
    }
}

// SAFETY: the token holds no GC pointer; its `trace` only reports its size
// to the mark's byte count.
unsafe impl Trace for ExternalMemory {
    // Objects holding a token must be scanned so that the mark counts it.
    const NEEDS_TRACE: bool = true;

    fn trace(&self, tracer: &mut Tracer<'_>) {
        tracer.external_bytes(self.bytes());
    }
}

// SAFETY: as above: no GC pointer, ever.
unsafe impl NoGc for ExternalMemory {}

#[cold]
#[track_caller]
fn foreign_token() -> ! {
    panic!("tricolor: an ExternalMemory was resized with a Mutator of another heap")
}
