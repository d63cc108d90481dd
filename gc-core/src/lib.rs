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
//! - containers for mutable data in the heap: [`GcVec<S>`](GcVec) and
//!   [`GcMap<K, V>`](GcMap) over [`Slot`]s (`Member`, `NanBox`,
//!   [`Plain`] words, or the user's own), [`GcStr`] strings and
//!   plain-data slices ([`Mutator::alloc_slice_copy`]);
//! - [`Trace`], normally derived, which tells the marker where a type keeps
//!   its GC pointers.
//!
//! Files, one concept each: `object` (layout and headers), `gc` (`Gc`,
//! `Member`), `nanbox` (`NanBox`), `array` (`GcArray`), `roots`, `weak`,
//! `weak_map` (`WeakMap`, `WeakSet`), `identity` (`Eq`/`Hash`/`{:p}` of
//! pointers and handles), `external` (`ExternalMemory`), `mark`, `grey` (the grey pool and
//! its termination), `world` (stop-the-world handshake),
//! `slot` (what containers hold), `plain` (`Plain` words), `vec` (`GcVec`),
//! `key` (map keys, `ByContent`), `map` (`GcMap`), `str` (`GcStr`, slices),
//! `mutator`, `builder` (settings), `heap` (the shared instance), `cycle` (one collection), `pacer`, `sweep` (background sweeper),
//! `signal` (waking background threads), `sync` (the primitives loom models swap),
//! `config` (environment), `stats` (counters and gctrace).

mod array;
mod barrier;
mod builder;
mod config;
mod cycle;
mod external;
mod gc;
mod grey;
mod heap;
mod identity;
mod key;
mod map;
mod mark;
mod mutator;
mod nanbox;
mod object;
mod pacer;
mod plain;
mod publish;
mod roots;
mod signal;
mod slot;
mod stats;
mod str;
mod sweep;
mod sync;
mod trace;
mod trace_impls;
mod vec;
mod weak;
mod weak_map;
mod world;

pub use array::GcArray;
pub use builder::{GcError, HeapBuilder};
pub use config::{ConfigError, DebugFlags};
pub use external::ExternalMemory;
pub use gc::{Gc, Member};
pub use gc_alloc::{AllocError, AllocStats};
pub use heap::Heap;
pub use key::{ByContent, Key};
pub use map::GcMap;
pub use mutator::Mutator;
pub use nanbox::{NanBox, NanValue};
pub use plain::{Plain, PlainWord};
pub use roots::{GlobalRoot, Root};
pub use slot::Slot;
pub use stats::{GcStats, PAUSE_HISTORY};
pub use str::GcStr;
pub use trace::{NoGc, Trace, Tracer};
pub use vec::GcVec;
pub use weak::Weak;
pub use weak_map::{WeakMap, WeakSet};

// Pointer slots are one `usize` word, and `NanBox` keeps 64-bit value words
// in them.
#[cfg(not(target_pointer_width = "64"))]
compile_error!("tricolor supports 64-bit targets only");
