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
//!   [`Weak<T>`](Weak) (and the weak-keyed [`WeakMap`] and [`WeakSet`];
//!   [`PruneClock`] says when a weak table of your own should prune),
//!   and [`NanBox<T>`](NanBox), a one-word NaN-boxed value slot for
//!   dynamically typed VMs; [`ExternalMemory`] tells the pacer about memory
//!   objects own outside the heap;
//! - containers for mutable data in the heap: [`GcVec<S>`](GcVec) and
//!   [`GcMap<K, V>`](GcMap) over [`Slot`]s (`Member`, `NanBox`,
//!   [`Plain`] words, or the user's own), [`GcStr`] strings and
//!   plain-data slices ([`Mutator::alloc_slice_copy`]);
//! - [`Trace`], normally derived, which tells the marker where a type keeps
//!   its GC pointers.
//!
//! # Seeing inside the heap
//!
//! What is filling the heap, who keeps an object alive, why the collector
//! waited:
//! - **Census by type**: [`Mutator::census`] / [`Heap::census`] run a cycle
//!   and count its live objects and bytes per type ([`Census`]);
//!   `GCDEBUG=gccensus=1` prints the top types after every cycle in a
//!   fixed format (see [`Census`]'s module docs, `census.rs`). The total is
//!   the cycle's marked heap exactly (less any [`ExternalMemory`], which
//!   the marked figure also counts).
//! - **Why is this alive**: [`Mutator::path_to`] returns one shortest
//!   [`RetentionPath`] from a root (global, or a mutator's, with its thread
//!   and attach site) to an object, naming the type of each object on the
//!   way.
//! - **Stalls**: when stopping the world, or a concurrent mark's root
//!   scans, waits longer than `GCDEBUG=stallwarn=<ms>` (default 5000) for a
//!   mutator that is not at a safepoint, stderr gets a `tricolor: stall:`
//!   report naming it (thread, id, where it was attached) and the usual
//!   causes, again each time the wait doubles.
//! - **Per-cycle figures**: `GCDEBUG=gctrace=1` (Go's format, CPU from
//!   thread CPU clocks) and `GCDEBUG=gcpacertrace=1` (trigger, goal, heap at
//!   mark end, assists, worker utilisation) print a line each; the same
//!   numbers come as a [`CycleRecord`] from [`Heap::last_cycle`] or, for
//!   every cycle, from [`HeapBuilder::on_cycle`]. [`Heap::stats`] has the
//!   totals ([`GcStats`]) and per-mutator figures ([`MutatorStats`]).
//! - **`tracing`**: each phase of a cycle is a span (target `tricolor`,
//!   level DEBUG): `gc_sweep_termination`, `gc_mark`,
//!   `gc_mark_termination`, `gc_sweep`, in cycle order, with the cycle
//!   number, heap sizes, goal, pause and workers as fields (`events.rs`
//!   lists them). For example, with `tracing-subscriber`:
//!
//! ```
//! use tracing_subscriber::fmt::format::FmtSpan;
//!
//! // Print each phase's span with its fields and duration when it closes.
//! let _ = tracing_subscriber::fmt()
//!     .with_max_level(tracing::Level::DEBUG)
//!     .with_span_events(FmtSpan::CLOSE)
//!     .with_writer(std::io::stderr)
//!     .try_init();
//! let heap = tricolor::Heap::new();
//! let mut m = heap.mutator();
//! m.collect();
//! // stderr, one line per span as it closes, e.g.:
//! // ... DEBUG gc_sweep_termination{cycle=1 heap_before=0 trigger=3984589 goal=4194304
//! //     workers=1 forced=true stop_wait_us=0 pause_us=4}: tricolor: close time.busy=14.0µs ...
//! ```
//!
//! Files, one concept each: `object` (layout and type tags), `gc` (`Gc`,
//! `Member`), `nanbox` (`NanBox`), `array` (`GcArray`), `roots`, `weak`,
//! `weak_map` (`WeakMap`, `WeakSet`), `prune_clock` (`PruneClock`), `identity` (`Eq`/`Hash`/`{:p}` of
//! pointers and handles), `external` (`ExternalMemory`), `mark`, `grey` (the grey pool and
//! its termination), `world` (stop-the-world handshake),
//! `slot` (what containers hold), `plain` (`Plain` words), `vec` (`GcVec`),
//! `key` (map keys, `ByContent`), `map` (`GcMap`), `str` (`GcStr`, slices),
//! `slots` (the root and weak tables the collector scans), `mutator_state`
//! (what the collector sees of a mutator), `mutator`, `builder` (settings), `heap` (the shared instance), `cycle` (one collection), `pacer`, `sweep` (background sweeper),
//! `signal` (waking background threads), `sync` (the primitives loom models swap),
//! `config` (environment), `stats` (counters, `CycleRecord`, gctrace and gcpacer lines),
//! `cputime` (thread CPU clocks), `mutator_stats` (per-mutator identity and figures),
//! `census` (live heap by type), `paths` (retention paths), `stall` (stall reports),
//! `events` (tracing spans, the per-cycle callback).

mod array;
mod barrier;
mod builder;
mod census;
mod config;
mod cputime;
mod cycle;
mod events;
mod external;
mod gc;
mod grey;
mod heap;
mod identity;
mod key;
mod map;
mod mark;
mod mutator;
mod mutator_state;
mod mutator_stats;
mod nanbox;
mod object;
mod pacer;
mod paths;
mod placement;
mod plain;
mod prefetch;
mod prune_clock;
mod publish;
mod roots;
mod signal;
mod slot;
mod slots;
mod stall;
mod static_data;
mod stats;
mod str;
mod sweep;
mod sync;
mod termination;
mod trace;
mod trace_impls;
mod vec;
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
pub use key::{ByContent, Key};
pub use map::GcMap;
pub use mutator::Mutator;
pub use mutator_stats::MutatorStats;
pub use nanbox::{NanBox, NanValue};
pub use paths::{PathStep, PathTarget, RetentionPath, RootKind};
pub use plain::{Plain, PlainWord};
pub use prune_clock::PruneClock;
pub use roots::{GlobalRoot, Root};
pub use slot::Slot;
pub use static_data::Static;
pub use stats::{CycleRecord, GcStats, PAUSE_HISTORY};
pub use str::GcStr;
pub use trace::{NoGc, Trace, Tracer};
pub use vec::GcVec;
pub use weak::Weak;
pub use weak_map::{WeakMap, WeakSet};

// Pointer slots are one `usize` word, and `NanBox` keeps 64-bit value words
// in them.
#[cfg(not(target_pointer_width = "64"))]
compile_error!("tricolor supports 64-bit targets only");
