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
//! Everything a [`Tracer`] reports must be 0 or the base of an object of the
//! tracer's heap: an address that is not is a broken `Trace` implementation
//! (or memory corruption) and aborts with the type's name.

use std::collections::HashSet;

use gc_alloc::AllocHeap;

use crate::grey::{Drainer, GreyPool};
use crate::object::{header, VTable};

/// Receives the GC pointers a [`Trace`](crate::Trace) implementation reports.
pub struct Tracer<'a> {
    heap: &'a AllocHeap,
    grey: Vec<usize>,
    marked_bytes: usize,
    scanning: Option<&'static VTable>,
    /// A mode other than marking, if any (one branch on the mark path).
    special: Option<Special>,
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
            marked_bytes: 0,
            scanning: None,
            special: None,
        }
    }

    /// A tracer that only records the non-null edges it is given; read them
    /// with [`collected`](Self::collected).
    pub(crate) fn collecting(heap: &'a AllocHeap) -> Tracer<'a> {
        Tracer {
            special: Some(Special::Collect),
            ..Tracer::new(heap)
        }
    }

    /// The edges a [`collecting`](Self::collecting) tracer recorded.
    pub(crate) fn collected(&self) -> &[usize] {
        &self.grey
    }

    /// Shade the object at `base` (0 is ignored).
    #[inline]
    pub(crate) fn edge(&mut self, base: usize) {
        if base == 0 {
            return;
        }
        if self.special.is_some() {
            return self.special_edge(base);
        }
        let o = self.find(base);
        if o.span.mark(o.index) {
            self.marked_bytes += o.span.elem_size();
            // Allocated black, its bulk mark still pending: black, so not
            // scanned (gc-alloc's cache.rs).
            if !o.span.noscan() && !o.span.is_allocated_black(o.index) {
                self.grey.push(base);
            }
        }
    }

    /// The object at `base`, or an abort naming what held the bad pointer.
    #[inline]
    fn find(&self, base: usize) -> gc_alloc::ObjectRef<'a> {
        match self.heap.find_object(base) {
            Some(o) => o,
            None => bad_pointer(base, self.scanning.map_or("a root", |vt| (vt.type_name)())),
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
                        missed(base, self.scanning);
                    }
                    if !o.span.noscan() {
                        self.grey.push(base);
                    }
                }
            }
            None => unreachable!("special_edge without a special mode"),
        }
    }

    /// Scan one grey object.
    #[inline]
    fn scan(&mut self, base: usize) {
        // SAFETY: only marked, allocated, initialised objects are queued, and
        // they stay allocated until the cycle's sweep.
        let vt = unsafe { header(base) };
        self.scanning = Some(vt);
        // SAFETY: the header's trace function belongs to the object's type.
        unsafe { (vt.trace)(base + vt.offset, self) };
        self.scanning = None;
    }

    /// Scan the local grey stack empty.
    pub(crate) fn drain(&mut self) {
        let _guard = AbortOnUnwind;
        while let Some(base) = self.grey.pop() {
            self.scan(base);
        }
    }

    /// Drain shared work from `pool` until it has none (or, with a budget,
    /// until about `budget` objects were scanned). Publishes marked bytes.
    pub(crate) fn drain_pool(&mut self, pool: &GreyPool, budget: Option<usize>) {
        let _guard = AbortOnUnwind;
        pool.drain(self, budget);
    }

    /// Hand local grey objects and the marked-bytes count to the pool.
    pub(crate) fn flush_to(&mut self, pool: &GreyPool) {
        if !self.grey.is_empty() {
            pool.extend(self.grey.drain(..));
        }
        pool.add_marked_bytes(std::mem::take(&mut self.marked_bytes));
    }
}

impl Drainer for Tracer<'_> {
    fn grey(&mut self) -> &mut Vec<usize> {
        &mut self.grey
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
    let mut t = Tracer::new(heap);
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
fn missed(base: usize, holder: Option<&'static VTable>) -> ! {
    // SAFETY: `base` was found as an allocated object of this heap, reached
    // from the roots, so its header is initialised.
    let ty = unsafe { (header(base).type_name)() };
    eprintln!(
        "tricolor: checkmark failed: the {ty} at {base:#x}, reachable from {}, was not marked; \
         the write barrier or root scan missed it. Aborting.",
        holder.map_or("a root".to_string(), |vt| format!("a {}", (vt.type_name)()))
    );
    std::process::abort()
}

#[cold]
fn bad_pointer(addr: usize, holder: &str) -> ! {
    eprintln!(
        "tricolor: found {addr:#x} while scanning {holder}, which is not an object of this heap; \
         a Trace implementation reported something that is not a GC pointer. Aborting."
    );
    std::process::abort()
}
