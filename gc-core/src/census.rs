//! Heap census by type: after a mark, the live objects counted per type.
//!
//! The census walks the mark bitmaps of every span at mark termination,
//! with the world stopped, after the caches are flushed and before the
//! sweep generation moves: every marked slot is then a live object whose
//! span's tag names its type. It costs nothing on the mark path; a cycle
//! that takes one (each cycle with `GCDEBUG=gccensus=1`, or the cycle a
//! [`Heap::census`] call runs) makes its mark termination pause longer by
//! one pass over the live objects' mark bits.
//!
//! Sizes are slot sizes (the object's value and size-class rounding; a
//! large object's whole pages), the unit of the marked bytes in
//! gctrace, so a census's total equals the cycle's marked bytes exactly
//! unless objects hold [`ExternalMemory`](crate::ExternalMemory): the
//! marked bytes count it too, the census only heap slots.
//!
//! `GCDEBUG=gccensus=1` prints after each cycle's gctrace line, to stderr,
//! one line per type for the [`CENSUS_TOP`] types with the most bytes
//! (most bytes first, ties by name), then one line for the other types if
//! any, then the total:
//! ```text
//! gccensus: cycle=3 objects=524288 bytes=16777216 type=binary_trees::trees::Node<()>
//! gccensus: cycle=3 objects=2 bytes=96 type=alloc::string::String
//! gccensus: cycle=3 objects=7 bytes=448 others=5
//! gccensus: cycle=3 objects=524297 bytes=16777760 total
//! ```
//! Fields are separated by single spaces; the type name, which may contain
//! spaces, is the rest of the line after `type=`.

use std::collections::HashMap;
use std::fmt;
use std::sync::atomic::Ordering::*;
use std::sync::Arc;

use gc_alloc::AllocHeap;

use crate::heap::{Heap, HeapInner};
use crate::mutator::Mutator;
use crate::mutator_state::attached_here;
use crate::object::{vtable, VTable};

/// Types listed one by one in `gccensus` lines.
pub const CENSUS_TOP: usize = 20;

/// The live objects of one type.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct TypeCensus {
    /// The type's name, as `std::any::type_name` gives it.
    pub type_name: &'static str,
    /// Live objects of the type.
    pub objects: u64,
    /// Their bytes, in slot sizes.
    pub bytes: usize,
}

/// The live heap by type after one cycle's mark.
///
/// ```
/// use tricolor::{Heap, Member, Trace};
///
/// #[derive(Trace, Default)]
/// struct Node { next: Member<Node> }
///
/// let heap = Heap::new();
/// let mut m = heap.mutator();
/// let list = {
///     let mut head = m.alloc(Node::default());
///     for _ in 0..99 {
///         let n = m.alloc(Node::default());
///         n.next.set(&m, Some(head));
///         head = n;
///     }
///     m.root(head)
/// };
/// let census = m.census();
/// let nodes = census.types.iter().find(|t| t.type_name.ends_with("Node")).unwrap();
/// assert_eq!(nodes.objects, 100);
/// assert_eq!(census.bytes, heap.stats().last_marked);
/// # drop(list);
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Census {
    /// The cycle whose mark this census counts.
    pub cycle: u64,
    /// Live objects in all.
    pub objects: u64,
    /// Live bytes in all: the cycle's marked bytes less the external memory
    /// counted in them.
    pub bytes: usize,
    /// One entry per type, most bytes first (ties by name).
    pub types: Vec<TypeCensus>,
}

impl Census {
    /// Count the marked objects of `alloc` by type.
    ///
    /// The caller keeps the marks stable and every marked slot initialised
    /// (the world stopped after a mark: see the module comment).
    pub(crate) fn take(alloc: &AllocHeap, cycle: u64) -> Census {
        // Keyed by vtable address (cheap); one type may have several
        // vtables (one per codegen unit), merged by name below. Objects of
        // a span often share a type, so the last lookup is reused.
        let mut entries: Vec<(&'static VTable, u64, usize)> = Vec::new();
        let mut index: HashMap<usize, usize> = HashMap::new();
        let mut last = (0, 0);
        alloc.for_each_marked(|_, size, key| {
            if key != last.0 {
                // SAFETY: `key` is the tag of a span in use of a heap this
                // crate built (the caller keeps the world stopped, so no
                // span is freed meanwhile).
                let vt = unsafe { vtable(key) };
                let i = *index.entry(key).or_insert_with(|| {
                    entries.push((vt, 0, 0));
                    entries.len() - 1
                });
                last = (key, i);
            }
            let e = &mut entries[last.1];
            e.1 += 1;
            e.2 += size;
        });
        let mut by_name: HashMap<&'static str, TypeCensus> = HashMap::new();
        for (vt, objects, bytes) in entries {
            let type_name = (vt.type_name)();
            let t = by_name.entry(type_name).or_insert(TypeCensus {
                type_name,
                objects: 0,
                bytes: 0,
            });
            t.objects += objects;
            t.bytes += bytes;
        }
        let mut types: Vec<TypeCensus> = by_name.into_values().collect();
        types.sort_by(|a, b| b.bytes.cmp(&a.bytes).then(a.type_name.cmp(b.type_name)));
        Census {
            cycle,
            objects: types.iter().map(|t| t.objects).sum(),
            bytes: types.iter().map(|t| t.bytes).sum(),
            types,
        }
    }
}

/// The `gccensus` lines (see the module comment), each ending in a newline.
impl fmt::Display for Census {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let c = self.cycle;
        for t in self.types.iter().take(CENSUS_TOP) {
            writeln!(
                f,
                "gccensus: cycle={c} objects={} bytes={} type={}",
                t.objects, t.bytes, t.type_name
            )?;
        }
        let rest = self.types.get(CENSUS_TOP..).unwrap_or_default();
        if !rest.is_empty() {
            let objects: u64 = rest.iter().map(|t| t.objects).sum();
            let bytes: usize = rest.iter().map(|t| t.bytes).sum();
            writeln!(
                f,
                "gccensus: cycle={c} objects={objects} bytes={bytes} others={}",
                rest.len()
            )?;
        }
        writeln!(
            f,
            "gccensus: cycle={c} objects={} bytes={} total",
            self.objects, self.bytes
        )
    }
}

impl HeapInner {
    /// Whether this cycle's mark termination takes a census.
    pub(crate) fn census_wanted(&self) -> bool {
        self.debug.gccensus || self.census_requests.load(Acquire) > 0
    }

    /// Run a full cycle that takes a census and return it. Called by a
    /// thread that is not a running mutator.
    fn census_sync(self: &Arc<Self>) -> Census {
        self.census_requests.fetch_add(1, AcqRel);
        self.collect_sync(true);
        self.census_requests.fetch_sub(1, AcqRel);
        self.last_census
            .lock()
            .clone()
            .expect("a cycle run while a census was requested took one")
    }
}

impl Heap {
    /// Run a full collection and count the live heap by type (see
    /// [`Census`]). From a thread with no mutator for this heap.
    ///
    /// # Panics
    /// If this thread has a mutator for this heap: use
    /// [`Mutator::census`] instead.
    pub fn census(&self) -> Census {
        assert!(
            !attached_here(&self.inner),
            "Heap::census on a thread with a Mutator for this heap would deadlock; call Mutator::census"
        );
        self.inner.census_sync()
    }

    /// The census the latest cycle took, if any took one (every cycle does
    /// with `GCDEBUG=gccensus=1`).
    pub fn last_census(&self) -> Option<Census> {
        self.inner.last_census.lock().clone()
    }
}

impl Mutator {
    /// Run a full collection and count the live heap by type (see
    /// [`Census`]); the objects this mutator's roots reach are included.
    pub fn census(&mut self) -> Census {
        let inner = self.heap_inner().clone();
        self.blocking(|| inner.census_sync())
    }
}
