//! gc-core: the tricolor collector.
//!
//! A precise, non-moving, concurrent mark-sweep collector after Go's runtime
//! design (background mark workers, hybrid write barrier, two short
//! stop-the-world pauses per cycle), on top of the `gc-alloc` span
//! allocator. Users see:
//! - [`Heap`] (built by [`HeapBuilder`] or from the environment) and one
//!   [`Mutator`] per thread that uses it;
//! - [`Gc<'m, T>`](Gc), an unrooted pointer that lives until the mutator's
//!   next safepoint, [`Root<T>`](Root) / [`GlobalRoot<T>`](GlobalRoot) that
//!   outlive safepoints, [`Member<T>`](Member) pointer fields inside GC
//!   objects, [`GcArray<T>`](GcArray) for sequences of them, and
//!   [`Weak<T>`](Weak) (and the weak-keyed [`WeakMap`] and [`WeakSet`]),
//!   and [`NanBox<T>`](NanBox), a one-word NaN-boxed value slot for
//!   dynamically typed VMs; [`ExternalMemory`] tells the pacer about memory
//!   objects own outside the heap;
//! - [`Trace`], normally derived, which tells the marker where a type keeps
//!   its GC pointers.
//!
//! Files, one concept each: `object` (layout and headers), `gc` (`Gc`,
//! `Member`), `nanbox` (`NanBox`), `array` (`GcArray`), `roots`, `weak`,
//! `weak_map` (`WeakMap`, `WeakSet`), `identity` (`Eq`/`Hash`/`{:p}` of
//! pointers and handles), `external` (`ExternalMemory`), `mark`, `grey` (the grey pool and
//! its termination), `world` (stop-the-world handshake),
//! `mutator`, `builder` (settings), `heap` (the shared instance), `cycle` (one collection), `pacer`, `sweep` (background sweeper),
//! `signal` (waking background threads), `sync` (the primitives loom models swap),
//! `config` (environment), `stats` (counters and gctrace).

mod array;
mod barrier;
mod builder;
mod census;
mod config;
mod cputime;
mod cycle;
mod external;
mod gc;
mod grey;
mod heap;
mod identity;
mod mark;
mod mutator;
mod mutator_stats;
mod nanbox;
mod object;
mod pacer;
mod paths;
mod publish;
mod roots;
mod signal;
mod stall;
mod stats;
mod sweep;
mod sync;
mod trace;
mod trace_impls;
mod weak;
mod weak_map;
mod world;

pub use array::GcArray;
pub use builder::{GcError, HeapBuilder};
pub use census::{Census, TypeCensus, CENSUS_TOP};
pub use config::{ConfigError, DebugFlags};
pub use external::ExternalMemory;
pub use gc::{Gc, Member};
pub use gc_alloc::{AllocError, AllocStats};
pub use heap::Heap;
pub use mutator::Mutator;
pub use mutator_stats::MutatorStats;
pub use nanbox::{NanBox, NanValue};
pub use paths::{PathStep, PathTarget, RetentionPath, RootKind};
pub use roots::{GlobalRoot, Root};
pub use stats::{CycleRecord, GcStats, PAUSE_HISTORY};
pub use trace::{NoGc, Trace, Tracer};
pub use weak::Weak;
pub use weak_map::{WeakMap, WeakSet};

// Pointer slots are one `usize` word, and `NanBox` keeps 64-bit value words
// in them.
#[cfg(not(target_pointer_width = "64"))]
compile_error!("tricolor supports 64-bit targets only");
