//! Marking: shading objects, grey work, draining, and the checkmark pass.
//!
//! Colours are as in Go: an object is white if its mark bit is clear, grey
//! if its bit is set and it waits in a grey stack or the shared pool, black
//! if its bit is set and it has been scanned. Shading sets the mark bit with
//! an atomic `fetch_or`; only the thread whose call set it queues the object
//! (unless its span is noscan: then it is black at once). Grey stacks are
//! explicit `Vec`s, never recursion, so a 10-million-node list marks in
//! constant native stack.
//!
//! Work distribution is the grey pool's (`grey.rs`): marking is complete
//! when the pool is empty and no drainer is active; barrier shades land in
//! the pool too, so the terminator re-checks it with the world stopped.
//!
//! Everything a [`Tracer`] reports must be 0 or the base of an allocated
//! object of the tracer's heap: anything else is a broken `Trace`
//! implementation (or memory corruption) and aborts with the holder's type.
//! An address outside every span is always caught; one inside an object, or
//! in a free slot (a pointer the marker was hidden from while its target was
//! freed), is caught in debug builds and under `GCDEBUG=gccheckmark`
//! (whether a slot is allocated cannot be told while a thread caches its
//! span; the checkmark pass runs after the caches are flushed, so there it
//! always can).

use std::collections::HashSet;

use gc_alloc::{AllocHeap, ObjectRef, SpanHint, TypeTag};

use crate::grey::{Drainer, GreyPool};
use crate::object::{vtable, vtable_of, VTable};
use crate::prefetch::PrefetchQueue;

/// Receives the GC pointers a [`Trace`](crate::Trace) implementation reports.
pub struct Tracer<'a> {
    heap: &'a AllocHeap,
    grey: Vec<usize>,
    /// The span of the last object found (gc-alloc's `span_hint.rs`). A
    /// tracer lives within one mark phase (or the checkmark pass of its
    /// pause), and no span holding a reachable object is freed before that
    /// mark ends: sweeping finishes before marking starts (`cycle.rs`).
    near: SpanHint<'a>,
    /// Takes objects off `grey`, through a prefetching FIFO where the
    /// heap's layout makes the scan miss the cache (`prefetch.rs`).
    queue: PrefetchQueue,
    marked_bytes: usize,
    /// Bytes this tracer has handed to a pool's count so far.
    flushed_bytes: usize,
    scanning: Option<&'static VTable>,
    /// A mode other than marking, if any (one branch on the mark path).
    special: Option<Special>,
    /// Check that each reported address is an allocated object's base.
    verify: bool,
}

/// What a [`Tracer`] does with edges when it is not marking.
enum Special {
    /// Checkmark: objects visited so far; marks are checked, not set.
    Check(HashSet<usize>),
    /// Record every non-null edge in `grey`, touching nothing: for looking
    /// at one object's pointers (`publish.rs`).
    Collect,
}

impl<'a> Tracer<'a> {
    pub(crate) fn new(heap: &'a AllocHeap) -> Tracer<'a> {
        Tracer {
            heap,
            grey: Vec::new(),
            near: SpanHint::default(),
            queue: PrefetchQueue::default(),
            marked_bytes: 0,
            flushed_bytes: 0,
            scanning: None,
            special: None,
            verify: cfg!(debug_assertions),
        }
    }

    /// Also check reported addresses in release builds if `on`.
    pub(crate) fn verifying(mut self, on: bool) -> Tracer<'a> {
        self.verify |= on;
        self
    }

    /// A tracer that only records the non-null edges it is given; read them
    /// with [`collected`](Self::collected).
    pub(crate) fn collecting(heap: &'a AllocHeap) -> Tracer<'a> {
        Tracer::collecting_into(heap, Vec::new())
    }

    /// As [`collecting`](Self::collecting), recording into `buffer`
    /// (cleared first), which [`into_collected`](Self::into_collected) hands
    /// back: lets a caller reuse one allocation.
    pub(crate) fn collecting_into(heap: &'a AllocHeap, mut buffer: Vec<usize>) -> Tracer<'a> {
        buffer.clear();
        Tracer {
            special: Some(Special::Collect),
            grey: buffer,
            ..Tracer::new(heap)
        }
    }

    /// The buffer of a collecting tracer, with the edges it recorded.
    pub(crate) fn into_collected(self) -> Vec<usize> {
        self.grey
    }

    /// The edges a [`collecting`](Self::collecting) tracer recorded.
    pub(crate) fn collected(&self) -> &[usize] {
        &self.grey
    }

    /// Shade the object at `base` (0 is ignored).
    ///
    /// Inlined into every `Trace` implementation (through `Gc`'s): as a
    /// call, its register saves and returns took 14% of a tree's mark time
    /// (`examples/mark_workers`: 9.7 against 8.3 ns per object).
    #[inline(always)]
    pub(crate) fn edge(&mut self, base: usize) {
        if base == 0 {
            return;
        }
        if self.special.is_some() {
            return self.special_edge(base);
        }
        let o = self.find(base);
        // Allocated black, its bulk mark still pending: black already. The
        // allocating cache sets its mark bit, and counts it, when the span
        // leaves the cache (at the latest in mark termination's flush,
        // before anything is swept; gc-alloc's cache.rs). Setting the bit
        // here would be a locked read-modify-write for nothing, and while
        // marking every object built with pointers shades its fresh
        // children this way.
        if o.span.is_allocated_black(o.index) {
            return;
        }
        if o.span.mark(o.index) {
            self.marked_bytes += o.span.elem_size();
            if !o.span.noscan() {
                self.grey.push(base);
            }
        }
    }

    /// The object at `base`, or an abort naming what held the bad pointer.
    #[inline(always)]
    fn find(&mut self, base: usize) -> ObjectRef<'a> {
        let Some(o) = self.heap.find_object_near(base, &mut self.near) else {
            bad_pointer(base, self.scanning, "is not an object of this heap");
        };
        if self.verify {
            self.check_object(base);
        }
        o
    }

    /// `base`, an address inside an object, must be the first byte of an
    /// allocated object. Out of line, and finding the object again, so the
    /// mark path does not keep its `ObjectRef` in memory for this check.
    #[cold]
    #[inline(never)]
    fn check_object(&self, base: usize) {
        let o = &self
            .heap
            .find_object(base)
            .expect("find checked the address");
        if o.base != base {
            bad_pointer(
                base,
                self.scanning,
                &format!(
                    "points {} bytes into the {}-byte object slot at {:#x}",
                    base - o.base,
                    o.span.elem_size(),
                    o.base
                ),
            );
        }
        if self.heap.is_allocated(o) == Some(false) {
            bad_pointer(
                base,
                self.scanning,
                "is a free slot (its object was freed while the marker could not see this pointer)",
            );
        }
    }

    #[cold]
    fn special_edge(&mut self, base: usize) {
        match &mut self.special {
            Some(Special::Collect) => self.grey.push(base),
            Some(Special::Check(checked)) => {
                if checked.insert(base) {
                    let o = self.find(base);
                    if !o.span.is_marked(o.index) {
                        missed(base, o.span.tag(), self.scanning);
                    }
                    if !o.span.noscan() {
                        self.grey.push(base);
                    }
                }
            }
            None => unreachable!("special_edge without a special mode"),
        }
    }

    /// Count `bytes` of memory outside the heap, owned by the object being
    /// scanned (`external.rs`), as marked. Only a marking tracer counts.
    #[inline]
    pub(crate) fn external_bytes(&mut self, bytes: usize) {
        if self.special.is_none() {
            self.marked_bytes += bytes;
        }
    }

    /// Scan one grey object.
    #[inline]
    fn scan(&mut self, base: usize) {
        // SAFETY: only marked, allocated, initialised objects are queued,
        // and they stay allocated until the cycle's sweep.
        let vt = unsafe { vtable_of(self.heap, base) };
        self.scanning = Some(vt);
        // SAFETY: the vtable is the object's type's, and the object is
        // initialised and stays allocated while it is scanned.
        unsafe { (vt.trace)(base, self) };
        self.scanning = None;
    }

    /// Scan the local grey stack empty.
    pub(crate) fn drain(&mut self) {
        let _guard = AbortOnUnwind;
        while let Some(base) = self.queue.next(&mut self.grey) {
            self.scan(base);
        }
    }

    /// Drain shared work from `pool` until it has none (or, with a budget,
    /// until about `budget` objects were scanned), publishing the marked
    /// bytes; returns the objects scanned (see [`GreyPool::drain`]).
    pub(crate) fn drain_pool(&mut self, pool: &GreyPool, budget: Option<usize>) -> usize {
        let _guard = AbortOnUnwind;
        pool.drain(self, budget)
    }

    /// Hand local grey objects and the marked-bytes count to the pool.
    pub(crate) fn flush_to(&mut self, pool: &GreyPool) {
        self.queue.spill(&mut self.grey);
        if !self.grey.is_empty() {
            pool.extend(self.grey.drain(..));
        }
        let bytes = std::mem::take(&mut self.marked_bytes);
        self.flushed_bytes += bytes;
        pool.add_marked_bytes(bytes);
    }

    /// Bytes of the objects this tracer marked and handed to a pool.
    pub(crate) fn flushed_bytes(&self) -> usize {
        self.flushed_bytes
    }
}

impl Drainer for Tracer<'_> {
    fn grey(&mut self) -> &mut Vec<usize> {
        &mut self.grey
    }

    fn next(&mut self) -> Option<usize> {
        self.queue.next(&mut self.grey)
    }

    fn tick(&mut self, scanned: usize) {
        self.queue.tick(scanned);
    }

    fn scan(&mut self, base: usize) {
        Tracer::scan(self, base);
    }

    fn flush(&mut self, pool: &GreyPool) {
        self.flush_to(pool);
    }
}

/// `GCDEBUG=gccheckmark=1`: walk everything reachable from `roots` and abort
/// with a report if any of it is unmarked. Runs with the world stopped after
/// marking completes; uses its own visited set and leaves mark bits alone.
pub(crate) fn checkmark(heap: &AllocHeap, roots: impl IntoIterator<Item = usize>) -> usize {
    let mut t = Tracer::new(heap).verifying(true);
    t.special = Some(Special::Check(HashSet::new()));
    for r in roots {
        t.edge(r);
    }
    t.drain();
    match t.special {
        Some(Special::Check(c)) => c.len(),
        _ => 0,
    }
}

/// A panic out of a `Trace` implementation would leave grey work taken from
/// the pool and never returned, so every later mark would wait for it
/// forever: abort instead (docs/design.md asks for abort or recovery).
struct AbortOnUnwind;

impl Drop for AbortOnUnwind {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!("tricolor: a Trace implementation panicked during marking; aborting.");
            std::process::abort();
        }
    }
}

#[cold]
fn missed(base: usize, tag: TypeTag, holder: Option<&'static VTable>) -> ! {
    // SAFETY: `tag` is the tag of the span in use that holds `base`, an
    // object of this heap reached from the roots.
    let ty = unsafe { (vtable(tag).type_name)() };
    eprintln!(
        "tricolor: checkmark failed: the {ty} at {base:#x}, reachable from {}, was not marked; \
         the write barrier or root scan missed it. Aborting.",
        holder.map_or("a root".to_string(), |vt| format!("a {}", (vt.type_name)()))
    );
    std::process::abort()
}

#[cold]
fn bad_pointer(addr: usize, holder: Option<&'static VTable>, problem: &str) -> ! {
    let holder = holder.map_or("a root".to_string(), |vt| format!("a {}", (vt.type_name)()));
    eprintln!(
        "tricolor: found {addr:#x} while scanning {holder}, which {problem}; \
         a Trace implementation reported something that is not a GC pointer. Aborting."
    );
    std::process::abort()
}

#[cfg(test)]
mod tests {
    use gc_alloc::{AllocFlags, AllocHeap, HeapConfig, ThreadCache};

    use super::Tracer;

    /// Runs in a child process (see `an_interior_pointer_aborts`). No
    /// `Trace` implementation can report such an address through the safe
    /// API, so this hands it to the marker directly.
    #[test]
    fn interior_pointer_child() {
        if std::env::var("TRICOLOR_INTERIOR_CHILD").is_err() {
            return;
        }
        let heap = AllocHeap::new(HeapConfig::default()).unwrap();
        let mut cache = ThreadCache::new(heap.clone());
        let p = cache.alloc_size(64, false, AllocFlags::default()).unwrap();
        Tracer::new(&heap)
            .verifying(true)
            .edge(p.as_ptr() as usize + 16);
        eprintln!("the interior pointer was not caught");
    }

    #[test]
    fn an_interior_pointer_aborts() {
        let out = std::process::Command::new(std::env::current_exe().unwrap())
            .args([
                "--exact",
                "mark::tests::interior_pointer_child",
                "--nocapture",
            ])
            .env("TRICOLOR_INTERIOR_CHILD", "1")
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "the child did not abort:\n{stderr}");
        assert!(
            stderr.contains("while scanning a root, which points 16 bytes into the 64-byte"),
            "no report naming the problem:\n{stderr}"
        );
    }
}
