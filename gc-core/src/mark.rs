//! Marking: shading objects and draining the grey stack.
//!
//! Colours are as in Go: an object is white if its mark bit is clear, grey
//! if its bit is set and it is on a grey stack, black if its bit is set and
//! it has been scanned. Shading sets the mark bit with an atomic `fetch_or`;
//! the thread whose call set it pushes the object (unless its span is noscan,
//! in which case it is black at once). The grey stack is an explicit `Vec`,
//! never recursion, so a 10-million-node list marks in constant native stack.
//!
//! Everything a [`Tracer`] reports must be 0 or the base of an object of the
//! tracer's heap: an address that is not is a broken `Trace` implementation
//! (or memory corruption) and aborts with the type's name.

use gc_alloc::AllocHeap;

use crate::object::{header, VTable};

/// Receives the GC pointers a [`Trace`](crate::Trace) implementation reports.
pub struct Tracer<'a> {
    heap: &'a AllocHeap,
    grey: &'a mut Vec<usize>,
    marked_bytes: usize,
    scanning: Option<&'static VTable>,
}

impl<'a> Tracer<'a> {
    pub(crate) fn new(heap: &'a AllocHeap, grey: &'a mut Vec<usize>) -> Tracer<'a> {
        Tracer {
            heap,
            grey,
            marked_bytes: 0,
            scanning: None,
        }
    }

    /// Shade the object at `base` (0 is ignored).
    #[inline]
    pub(crate) fn edge(&mut self, base: usize) {
        if base == 0 {
            return;
        }
        let Some(o) = self.heap.find_object(base) else {
            bad_pointer(base, self.scanning.map_or("a root", |vt| (vt.type_name)()));
        };
        if o.span.mark(o.index) {
            self.marked_bytes += o.span.elem_size();
            if !o.span.noscan() {
                self.grey.push(base);
            }
        }
    }

    /// Scan grey objects until none is left.
    pub(crate) fn drain(&mut self) {
        while let Some(base) = self.grey.pop() {
            // SAFETY: only marked, allocated, initialised objects are pushed,
            // and they stay allocated until the cycle's sweep.
            let vt = unsafe { header(base) };
            self.scanning = Some(vt);
            // SAFETY: the header's trace function belongs to the object's type.
            unsafe { (vt.trace)(base + vt.offset, self) };
        }
        self.scanning = None;
    }

    /// Bytes of objects this tracer marked.
    pub(crate) fn marked_bytes(&self) -> usize {
        self.marked_bytes
    }
}

#[cold]
fn bad_pointer(addr: usize, holder: &str) -> ! {
    eprintln!(
        "tricolor: found {addr:#x} while scanning {holder}, which is not an object of this heap; \
         a Trace implementation reported something that is not a GC pointer. Aborting."
    );
    std::process::abort()
}
