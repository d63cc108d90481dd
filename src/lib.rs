//! # tricolor
//!
//! A garbage collector for Rust programs that need one: interpreters and
//! VMs first. It follows the Go runtime's design: a size-class span
//! allocator over `mmap`, precise tri-colour mark-sweep over registered
//! roots, marking **concurrent** with the program (background workers plus a
//! hybrid write barrier), two short stop-the-world pauses per cycle whose
//! length does not depend on the heap's size, lazy and background sweeping,
//! and a `GCPERCENT` / `GCMEMLIMIT` pacer. Objects never move.
//!
//! The API is safe: the compiler rejects keeping an unrooted pointer across
//! a point where the collector may run, changing a pointer field without the
//! write barrier, or sending a thread's pointers to another thread. What a
//! type cannot express is checked at run time: which heap a slot or pointer
//! belongs to (a panic at the caller's line), and pointer fields made for
//! an object that was never allocated (an abort at the next safepoint).
//!
//! The package is `tricolor-gc`; the library is `tricolor`. The design the
//! code follows, with its invariants and soundness arguments, is
//! `docs/design.md` in the repository.
//!
//! ## A first program
//!
//! ```
//! use tricolor::{Gc, GlobalRoot, Heap, Member, Mutator, Trace};
//!
//! /// A cons cell. Pointer fields are `Member`s; other fields are plain data.
//! #[derive(Trace)]
//! struct Pair {
//!     car: i64,
//!     cdr: Member<Pair>,
//! }
//!
//! /// A new cell in front of `list`: pointer fields can be given at
//! /// construction (`into` makes a `Member` from a `Gc` or an `Option<Gc>`).
//! fn cons<'m>(m: &'m Mutator, car: i64, list: Option<Gc<'m, Pair>>) -> Gc<'m, Pair> {
//!     m.alloc(Pair { car, cdr: list.into() })
//! }
//!
//! fn sum(mut list: Option<Gc<'_, Pair>>) -> i64 {
//!     let mut total = 0;
//!     while let Some(cell) = list {
//!         total += cell.car;
//!         list = Gc::as_ref(cell).cdr.get(); // `as_ref`: a `&Pair` that outlives `cell`
//!     }
//!     total
//! }
//!
//! let heap = Heap::new(); // settings from GCPERCENT, GCMEMLIMIT, GCRESERVE, GCDEBUG
//! let mut m = heap.mutator(); // attach this thread
//!
//! // A root keeps the list alive across safepoints.
//! let list = m.root(cons(&m, 0, None));
//! for i in 1..=1000 {
//!     let longer = cons(&m, i, Some(list.get(&m)));
//!     list.set(&m, longer);
//!     m.alloc(format!("garbage {i}")); // dies at once
//!     m.safepoint(); // the collector may run here: only rooted objects survive
//! }
//! assert_eq!(sum(Some(list.get(&m))), 500_500);
//!
//! // Sharing with other threads goes through a GlobalRoot. The main thread
//! // waits for them inside `blocking`, so their collections need not wait
//! // for it.
//! let shared = GlobalRoot::new(&m, m.alloc(String::from("shared")));
//! m.blocking(|| {
//!     std::thread::scope(|s| {
//!         s.spawn(|| {
//!             let mut m2 = heap.mutator(); // one mutator per thread
//!             assert_eq!(shared.get(&m2).as_str(), "shared");
//!             m2.collect();
//!         });
//!     })
//! });
//! // Changing a pointer field later goes through `set`, which runs the
//! // write barrier: here it cuts the list after its first cell.
//! list.get(&m).cdr.set(&m, None);
//! m.collect(); // the other 1000 cells are garbage now
//! assert_eq!(sum(Some(list.get(&m))), 1000);
//! assert!(heap.stats().num_gc >= 2);
//! ```
//!
//! ## The rules
//!
//! **Threads.** A [`Heap`] is shared by every thread that uses it (it is a
//! cheap handle: clone it). Each such thread attaches with
//! [`Heap::mutator`] and uses the returned [`Mutator`] for everything; a
//! `Mutator` cannot leave its thread. One mutator per heap per thread: a
//! second one on the same thread panics, because the two would wait for
//! each other at the next collection. [`Heap::collect`] is for threads
//! without a mutator; on a thread that has one, call [`Mutator::collect`].
//!
//! **Unrooted pointers.** [`Mutator::alloc`] returns a [`Gc<'m, T>`](Gc): a
//! `Copy` pointer that dereferences to `&T` and borrows the mutator. Like
//! `Rc`, it has no methods of its own, so `gc.method()` is always `T`'s:
//! [`Gc::as_ref`] (a `&'m T` that outlives the `Gc` value), [`Gc::as_ptr`]
//! and [`Gc::ptr_eq`] are called as functions. A collection only starts at
//! this thread's [`safepoint`](Mutator::safepoint),
//! [`collect`](Mutator::collect) and [`blocking`](Mutator::blocking), which
//! take `&mut Mutator`, so the compiler ends every `Gc` before them. What
//! must outlive a safepoint is rooted.
//!
//! **Roots.** [`Mutator::root`] registers a [`Root<T>`](Root), read with
//! [`get`](Root::get) and repointed with [`set`](Root::set); dropping it
//! unregisters it. A `Root` belongs to its mutator's thread. A
//! [`GlobalRoot<T>`](GlobalRoot) belongs to the heap and is `Send + Sync`
//! when `T` is: it is how objects are shared between threads (which is why
//! shared objects must be `Sync`). A [`Weak<T>`](Weak) does not keep its
//! target alive; [`upgrade`](Weak::upgrade) returns `None` once the target
//! is collected.
//!
//! **Safepoints.** Call [`Mutator::safepoint`] regularly: an interpreter
//! does it at calls and backward jumps. A collection starts at the safepoint
//! of a thread that finds the heap past its trigger, and every
//! stop-the-world pause waits until each running mutator reaches one (a
//! mark's end also takes a thread at its next allocation, so building a
//! large structure between two safepoints does not hold the heap past its
//! goal). A thread that never calls it delays collection for every thread
//! but never breaks it. [`Mutator::safepoint_needed`] is a cheap poll that takes
//! `&self`, for loops that hold `Gc`s and only want to root their state
//! when the collector actually asks.
//!
//! **Blocking.** Wrap anything that may block (I/O, locks, sleeping,
//! joining threads, waiting on channels) in [`Mutator::blocking`]. Inside,
//! the thread counts as stopped, so other threads' collections go ahead
//! without it. Blocking outside it stalls every thread at its next pause,
//! and waiting on a thread that is itself waiting for a pause deadlocks.
//!
//! **Pointer fields and the barrier.** A pointer inside a GC object is a
//! [`Member<T>`](Member). Give it at construction with [`Member::new`] or
//! `gc.into()` (`m.alloc(Pair { car: a.into(), cdr: b.into() })`), or
//! start with [`Member::null`]; read it with [`get`](Member::get); change it
//! with [`set`](Member::set), which runs the write barrier while a mark is
//! in progress. Safe code never gets `&mut` to a heap object, so there is no
//! other way to change a pointer. `set` panics (at your line) on a `Member`
//! outside the heap (on the stack, in a `Vec`'s buffer) and on a target
//! from another heap. A `Member` made by `new` or `into` must be inside an
//! allocated object by the thread's next safepoint: one that escapes (kept
//! in a local `Vec`, dropped unused) aborts the process there, since the
//! collector could not see what it points to. Sequences of pointers are
//! [`GcArray<T>`](GcArray), allocated with [`Mutator::alloc_array`], whose
//! elements live inside the object. A dynamically typed VM can keep a value
//! in one NaN-boxed word, [`NanBox<T>`](NanBox): a number, the VM's own
//! tags, or a pointer the marker traces.
//!
//! **What a heap object may be.** Any `T: Trace + Send + 'static` with
//! alignment up to 16 bytes. `Send`, because the collector's sweeper thread
//! runs destructors. Derive [`Trace`]:
//! - every field must be `Trace`: numbers, strings, `Vec`, `Box`, `Option`,
//!   maps, tuples and arrays of `Trace` types are;
//! - the type must not implement `Drop` (its destructor would run during a
//!   sweep, when GC objects it can reach may already be freed; fields with
//!   destructors, such as `String`, are fine);
//! - `Cell`, `RefCell`, `Mutex`, `Rc` and `Arc` may hold only data that can
//!   never contain a GC pointer ([`NoGc`]); `#[trace(no_gc)]` makes a
//!   derived type `NoGc` when its fields are, and `#[trace(skip)]` leaves a
//!   `NoGc` field untraced;
//! - plain `Copy` data from other crates (addresses, durations, ids) goes in
//!   a [`Static<T>`](Static) field, no `unsafe` needed; a foreign type that
//!   owns memory and has no `Trace` impl needs a newtype with `unsafe impl
//!   NoGc`;
//! - unions and `#[repr(packed)]` types are rejected.
//!
//! Types with no GC pointer at all are never scanned by the marker.
//! Allocation panics if the heap cannot grow (the hard cap or the address
//! space reservation is reached); [`Mutator::try_alloc`] returns the
//! [`AllocError`] instead.
//!
//! ## Settings
//!
//! [`Heap::new`] reads these environment variables and panics on a bad
//! value; [`HeapBuilder`] sets the same things in code, and
//! [`HeapBuilder::from_env`] reads the environment returning a
//! [`ConfigError`] instead of panicking. A bad value is always an error that
//! names the variable, the value and the accepted forms, never silently
//! replaced by a default.
//!
//! | variable | default | meaning |
//! |---|---|---|
//! | `GCPERCENT` | `100` | Heap growth between cycles: each cycle aims to end before the heap reaches what the last mark found live plus this many percent (at least 4 MiB × `GCPERCENT`/100). `off` disables automatic collection. |
//! | `GCMEMLIMIT` | `off` | Soft memory limit (`512MiB`; suffixes `B`, `KiB`, `MiB`, `GiB`, `TiB`). Cycles come more often as the heap approaches it; allocation does not fail because of it. |
//! | `GCRESERVE` | `64GiB` | Address space reserved for the heap, same units. It costs no memory but caps the heap; if the OS refuses an explicit size, building the heap fails (the default falls back to less). |
//! | `GCDEBUG` | | Comma-separated `key=value` settings, listed below. |
//!
//! `GCDEBUG` keys (the fields of [`DebugFlags`]):
//! - `gctrace=1`: print one line per cycle to stderr, in Go's format (below).
//! - `gccheckmark=1`: after each mark, stop the world, mark again from the
//!   roots and abort naming the type of any reachable object the concurrent
//!   mark missed. This checks the barrier and the root scans.
//! - `gcstress=1`: run a full cycle at every safepoint (slow; makes a
//!   collector bug or a wrong `unsafe impl Trace` show up at once).
//! - `gcstoptheworld=1`: do the whole mark inside one pause, as a reference
//!   to compare the concurrent collector with.
//! - `gcpacertrace=1`: print the pacer's line per cycle (see
//!   [Seeing inside the heap](#seeing-inside-the-heap)).
//! - `gccensus=1`: print the live heap by type after each cycle (same).
//! - `stallwarn=<ms>`: after how long a wait for a mutator that does not
//!   reach a safepoint is reported on stderr (default 5000; 0: never).
//!
//! An unknown `GCDEBUG` key is ignored, with one warning on stderr, as Go
//! ignores unknown `GODEBUG` keys; a bad value of a known key is an error.
//! The collector also emits `tracing` spans for each cycle's phases (see
//! [Seeing inside the heap](#seeing-inside-the-heap)).
//!
//! ## Reading gctrace
//!
//! ```text
//! gc 7 @1.032s 3%: 0.018+2.1+0.041 ms clock, 0.036+0.9/1.8/0.2+0.082 ms cpu, 38->40->21 MB, 42 MB goal, 0 MB stacks, 0 MB globals, 2 P
//! ```
//!
//! - `gc 7`: the cycle number; `@1.032s`: when it started, since the heap
//!   was built; `3%`: the share of all cores' time since then that the
//!   collector's threads used ([`GcStats::gc_cpu_fraction`]).
//! - `0.018+2.1+0.041 ms clock`: wall time of the first pause (sweep
//!   termination: marking switched on), the concurrent mark, and the second
//!   pause (mark termination). Pauses are timed from the moment every
//!   mutator has stopped; how long threads took to reach a safepoint is
//!   [`GcStats::stop_wait_max`].
//! - `0.036+0.9/1.8/0+0.082 ms cpu`: CPU time the collecting thread used in
//!   the first pause, marking split into mutator assists / background
//!   workers / idle workers, and the second pause, all read from the
//!   threads' own CPU clocks (Go multiplies its pauses by its thread
//!   count). Go's idle workers mark on otherwise idle processors; here every
//!   background worker's time is in the middle figure and idle is 0.
//! - `38->40->21 MB`: the heap when marking started, when it ended, and
//!   what the mark found live (including what was allocated during it). `42 MB goal`: the heap size this cycle aimed
//!   to finish under.
//! - `0 MB stacks`: the bytes of the mutators' root tables (Go's goroutine
//!   stacks); `0 MB globals`: of the global root table.
//! - `2 P`: the number of background mark workers.
//! - A trailing ` (forced)` marks a cycle started by `collect`.
//!
//! Durations under 10 ms show two significant digits, longer ones whole
//! milliseconds, as Go prints them. [`Heap::stats`] returns the same
//! figures and more as a [`GcStats`].
//!
//! ## Seeing inside the heap
//!
//! What is filling the heap, who keeps an object alive, why the collector
//! waited:
//!
//! - **Census by type.** [`Mutator::census`] (or [`Heap::census`] on a
//!   thread without a mutator) runs a cycle and returns a [`Census`]: live
//!   objects and bytes per type, most bytes first; its total is the cycle's
//!   marked heap (less any [`ExternalMemory`], which that also counts).
//!   `GCDEBUG=gccensus=1` prints the top [`CENSUS_TOP`] types
//!   after each cycle, then the rest and the total (the type name is the
//!   rest of its line):
//!   ```text
//!   gccensus: cycle=3 objects=524288 bytes=16777216 type=binary_trees::trees::Node<()>
//!   gccensus: cycle=3 objects=2 bytes=96 type=alloc::string::String
//!   gccensus: cycle=3 objects=524290 bytes=16777312 total
//!   ```
//!   A census reads every span's mark bits inside the mark termination
//!   pause (binary-trees: about 3 ns per object); cycles without one pay
//!   nothing for it.
//! - **Why is this alive.** [`Mutator::path_to`] stops the world and
//!   returns one shortest [`RetentionPath`] from a root to an object: the
//!   root (a [`GlobalRoot`], or a mutator's [`Root`] with its thread and
//!   where it was attached) and the type and address of each object on the
//!   way.
//!
//! ```
//! use tricolor::{GlobalRoot, Heap, Member, RootKind, Trace, Weak};
//!
//! #[derive(Trace)]
//! struct Session { buffer: Member<Vec<u8>> }
//!
//! let heap = Heap::new();
//! let mut m = heap.mutator();
//! let buffer = m.alloc(vec![0u8; 4096]);
//! let session = m.alloc(Session { buffer: buffer.into() });
//! let _registry = GlobalRoot::new(&m, session); // forgotten: a leak
//! let w = Weak::new(&m, buffer);
//! m.collect();
//!
//! let path = m.path_to(&w).expect("still reachable");
//! assert_eq!(path.root, RootKind::Global);
//! assert!(path.steps[0].type_name.ends_with("Session"));
//! println!("{path}"); // global root / -> ...::Session @ 0x... / -> alloc::vec::Vec<u8> @ 0x...
//! ```
//!
//! - **Stalls.** A stop-the-world (or a concurrent mark's root scans) that
//!   waits longer than `GCDEBUG=stallwarn=<ms>` for a mutator prints which
//!   ones, how long, and the usual causes, then again each time the wait
//!   doubles:
//!   ```text
//!   tricolor: stall: waited 5.00 s to stop the world (mark termination, cycle 3) for 1 mutator not at a safepoint:
//!   tricolor: stall:   thread "loader" (ThreadId(7)), attached at src/main.rs:41:22
//!   tricolor: stall: usual causes: a blocking call (thread join, lock, channel receive, sleep, I/O) outside Mutator::blocking, or a long loop without Mutator::safepoint; next report at 10.00 s
//!   ```
//!   [`MutatorStats::safepoint_wait_max`] keeps each mutator's longest wait.
//! - **The pacer.** `GCDEBUG=gcpacertrace=1` prints per cycle the trigger
//!   and goal it ran against, the heap at mark end, the live heap, their
//!   ratio (above 1.00: the mark overshot its goal), assist work, worker
//!   utilisation and the next trigger and goal
//!   ([`CycleRecord::pacer_trace`] defines the format):
//!   ```text
//!   gcpacer: cycle=12 trigger_mb=8.00 goal_mb=16.00 heap_end_mb=15.20 live_mb=7.90 end_over_goal=0.95 assist_mb=0.50 worker_util=0.98 next_trigger_mb=14.10 next_goal_mb=15.80 goal_wait_ms=0.00 mark_speed=1.00
//!   ```
//! - **Numbers, not text.** Each cycle's figures are a [`CycleRecord`]:
//!   the latest from [`Heap::last_cycle`], every one through
//!   [`HeapBuilder::on_cycle`]. [`Heap::stats`] has the totals and one
//!   [`MutatorStats`] per attached mutator (thread, attach site, safepoint
//!   wait, time parked, bytes allocated).
//! - **`tracing`.** Each phase of a cycle is a span (target `tricolor`,
//!   level DEBUG), in cycle order and never overlapping:
//!   `gc_sweep_termination`, `gc_mark`, `gc_mark_termination`, `gc_sweep`,
//!   with the cycle number, heap sizes, goal, pause and workers as fields.
//!   With `tracing-subscriber`:
//!   ```ignore
//!   tracing_subscriber::fmt()
//!       .with_max_level(tracing::Level::DEBUG)
//!       .with_span_events(tracing_subscriber::fmt::format::FmtSpan::CLOSE)
//!       .init();
//!   // stderr, per phase: ... DEBUG gc_mark_termination{cycle=1 retries=0 heap_end=...
//!   //   marked=... next_goal=... pause_us=20}: tricolor: close time.busy=...
//!   ```

pub use gc_core::*;
pub use gc_macros::Trace;
