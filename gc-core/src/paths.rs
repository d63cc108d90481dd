//! Why is this alive: one shortest path from a root to a given object.
//!
//! [`Mutator::path_to`] stops the world and searches breadth-first from
//! every root at once (global roots first, then each mutator's root set in
//! attach order), following each object's out-edges as its `Trace` impl
//! reports them (a collecting [`Tracer`](crate::Tracer)), until
//! it reaches the target. The path found is one of the shortest; among
//! equally short ones, the first root in that order wins.
//!
//! Cost: the world stays stopped for the search, which visits (and keeps a
//! hash-map entry for) every object closer to the roots than the target:
//! up to the whole reachable heap. It is a debugging tool, not for hot
//! paths. The pause shows in [`GcStats::pauses`](crate::GcStats::pauses).
//!
//! Safety of the walk: with every mutator stopped, reachable objects cannot
//! change; they are not freed meanwhile either (a reachable object was
//! marked by the last mark or allocated since, into a swept span, so the
//! sweeper never frees it), and mark workers only read objects.

use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::panic::Location;
use std::sync::atomic::Ordering::*;
use std::sync::Arc;
use std::thread::ThreadId;
use std::time::Instant;

use crate::heap::HeapInner;
use crate::mark::Tracer;
use crate::mutator::Mutator;
use crate::object::vtable_of;
use crate::roots::{GlobalRoot, Root};
use crate::trace::Trace;
use crate::weak::Weak;
use crate::world::StopKind;

/// Where a retention path starts.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum RootKind {
    /// A [`GlobalRoot`].
    Global,
    /// A [`Root`] of a mutator, named by the mutator's thread. (Not
    /// `Mutator`: a second item of that name would make compiler errors
    /// about `Mutator` print its full path.)
    Thread {
        /// The mutator's thread name, if it has one.
        thread_name: Option<String>,
        /// The mutator's thread.
        thread_id: ThreadId,
        /// Where the mutator was attached.
        attached_at: &'static Location<'static>,
    },
}

/// One object on a retention path.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct PathStep {
    /// The object's type, as `std::any::type_name` gives it.
    pub type_name: &'static str,
    /// The object's address, as [`Gc::as_ptr`](crate::Gc::as_ptr) gives it.
    pub address: usize,
}

/// A shortest chain of references from a root to an object: why the
/// object is alive. Its `Display` is one line per step:
///
/// ```text
/// global root
///   -> leak::Registry @ 0x7f3a00001000
///   -> leak::Session @ 0x7f3a00002040
///   -> alloc::string::String @ 0x7f3a000030a0
/// ```
///
/// A mutator root prints as
/// `root of the mutator on thread "main" (ThreadId(1)), attached at src/main.rs:7:21`.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct RetentionPath {
    /// The root that holds the first object.
    pub root: RootKind,
    /// The objects from the one the root points to down to the target
    /// (last). A target held directly by a root is the only step.
    pub steps: Vec<PathStep>,
}

impl fmt::Display for RetentionPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.root {
            RootKind::Global => write!(f, "global root")?,
            RootKind::Thread {
                thread_name,
                thread_id,
                attached_at,
            } => {
                write!(f, "root of the mutator on ")?;
                match thread_name {
                    Some(n) => write!(f, "thread {n:?}")?,
                    None => write!(f, "an unnamed thread")?,
                }
                write!(f, " ({thread_id:?}), attached at {attached_at}")?;
            }
        }
        for s in &self.steps {
            write!(f, "\n  -> {} @ {:#x}", s.type_name, s.address)?;
        }
        Ok(())
    }
}

/// Something that names a GC object: [`Weak`], [`Root`], [`GlobalRoot`].
pub trait PathTarget: sealed::Sealed {
    /// The object's base address, 0 if there is none (a cleared `Weak`).
    #[doc(hidden)]
    fn target_base(&self, m: &Mutator) -> usize;
}

mod sealed {
    pub trait Sealed {}
}

impl<T: Trace + 'static> sealed::Sealed for Weak<T> {}
impl<T: Trace + 'static> PathTarget for Weak<T> {
    fn target_base(&self, m: &Mutator) -> usize {
        self.upgrade(m).map_or(0, |g| g.base())
    }
}

impl<T: Trace + 'static> sealed::Sealed for Root<T> {}
impl<T: Trace + 'static> PathTarget for Root<T> {
    fn target_base(&self, m: &Mutator) -> usize {
        self.get(m).base()
    }
}

impl<T: Trace + Send + Sync + 'static> sealed::Sealed for GlobalRoot<T> {}
impl<T: Trace + Send + Sync + 'static> PathTarget for GlobalRoot<T> {
    fn target_base(&self, m: &Mutator) -> usize {
        self.get(m).base()
    }
}

impl Mutator {
    /// One shortest path from a root to `target`'s object, or `None` if no
    /// root reaches it (it is garbage awaiting collection, or a cleared
    /// `Weak`). Stops the world for the search (see the module docs of
    /// `paths.rs`: it may visit the whole reachable heap).
    ///
    /// ```
    /// use tricolor::{GlobalRoot, Heap, Member, RootKind, Trace, Weak};
    ///
    /// #[derive(Trace)]
    /// struct Cache { entry: Member<Entry> }
    /// #[derive(Trace)]
    /// struct Entry { payload: Member<String> }
    ///
    /// let heap = Heap::new();
    /// let mut m = heap.mutator();
    /// let payload = m.alloc(String::from("should have been freed"));
    /// let entry = m.alloc(Entry { payload: Member::null() });
    /// entry.payload.set(&m, Some(payload));
    /// let cache = m.alloc(Cache { entry: Member::null() });
    /// cache.entry.set(&m, Some(entry));
    /// let _forgotten = GlobalRoot::new(&m, cache);
    /// let w = Weak::new(&m, payload);
    ///
    /// let path = m.path_to(&w).expect("still reachable");
    /// assert_eq!(path.root, RootKind::Global);
    /// let types: Vec<&str> = path.steps.iter().map(|s| s.type_name).collect();
    /// assert!(types[0].ends_with("Cache") && types[1].ends_with("Entry"));
    /// assert_eq!(types[2], "alloc::string::String");
    /// println!("{path}");
    /// ```
    pub fn path_to(&mut self, target: &impl PathTarget) -> Option<RetentionPath> {
        let base = target.target_base(self);
        if base == 0 {
            return None;
        }
        let inner = self.heap_inner().clone();
        self.blocking(|| inner.path_search(base))
    }
}

/// Marks the start of a path in the parent map.
const FROM_ROOT: usize = 0;

impl HeapInner {
    /// Stop the world and search for `target` from the roots. Called by a
    /// thread that is not a running mutator.
    fn path_search(self: &Arc<Self>, target: usize) -> Option<RetentionPath> {
        self.stop_world(StopKind::Full, "retention path search", None);
        let t = Instant::now();
        // Restart the world even if a `Trace` impl panics during the search.
        let _restart = Restart(self);
        // Root sets in search order: globals, then mutators.
        let mut kinds = vec![RootKind::Global];
        let mut queue = VecDeque::new();
        // Object -> the object that reached it first (or FROM_ROOT).
        let mut parent: HashMap<usize, usize> = HashMap::new();
        // Object held by a root -> index of its root kind.
        let mut root_of: HashMap<usize, usize> = HashMap::new();
        let mut visit_root = |p: usize, kind: usize| {
            if p != 0 && !parent.contains_key(&p) {
                parent.insert(p, FROM_ROOT);
                root_of.insert(p, kind);
                queue.push_back(p);
            }
        };
        self.globals.for_each(|s| visit_root(s.load(Acquire), 0));
        for m in self.mutators.lock().iter() {
            kinds.push(RootKind::Thread {
                thread_name: m.info.thread_name.clone(),
                thread_id: m.info.thread_id,
                attached_at: m.info.attached_at,
            });
            let kind = kinds.len() - 1;
            m.roots.for_each(|s| visit_root(s.load(Acquire), kind));
        }
        let mut found = false;
        while let Some(x) = queue.pop_front() {
            if x == target {
                found = true;
                break;
            }
            // SAFETY: `x` is reachable from a root, so allocated and
            // initialised, and stays so while the world is stopped (see
            // the module comment).
            let vt = unsafe { vtable_of(&self.alloc, x) };
            let mut tracer = Tracer::collecting(&self.alloc);
            // SAFETY: the vtable's trace function belongs to the object's
            // type.
            unsafe { (vt.trace)(x, &mut tracer) };
            for &c in tracer.collected() {
                // A correct `Trace` reports only object bases; anything else
                // would abort the next mark, and is not followed here.
                if self.alloc.find_object(c).is_none_or(|o| o.base != c) {
                    continue;
                }
                parent.entry(c).or_insert_with(|| {
                    queue.push_back(c);
                    x
                });
            }
        }
        let path = found.then(|| {
            let mut steps = Vec::new();
            let mut at = target;
            loop {
                // SAFETY: as above, every object on the path is reachable.
                let vt = unsafe { vtable_of(&self.alloc, at) };
                steps.push(PathStep {
                    type_name: (vt.type_name)(),
                    address: at,
                });
                match parent[&at] {
                    FROM_ROOT => break,
                    p => at = p,
                }
            }
            steps.reverse();
            RetentionPath {
                root: kinds[root_of[&at]].clone(),
                steps,
            }
        });
        self.record_pause(t.elapsed());
        path
    }
}

/// Restarts the world when dropped.
struct Restart<'a>(&'a HeapInner);

impl Drop for Restart<'_> {
    fn drop(&mut self) {
        self.0.world.start();
    }
}
