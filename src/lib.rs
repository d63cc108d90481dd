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
//!         list = cell.get().cdr.get();
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
//! `Copy` pointer that dereferences to `&T` and borrows the mutator. The
//! collector only runs at this thread's [`safepoint`](Mutator::safepoint),
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
//! stop-the-world pause waits until each running mutator reaches one. A
//! thread that never calls it delays collection for every thread but never
//! breaks it. [`Mutator::safepoint_needed`] is a cheap poll that takes
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
//!   `NoGc` field untraced (use it for foreign types without a `Trace` impl,
//!   wrapped in a newtype with `unsafe impl NoGc`);
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
//! | `GCDEBUG` | | Comma-separated `key=1` / `key=0` switches, listed below. |
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
//!
//! An unknown `GCDEBUG` key is ignored, with one warning on stderr, as Go
//! ignores unknown `GODEBUG` keys; a bad value of a known key is an error.
//! The collector also emits `tracing` debug events and spans for each
//! cycle's phases.
//!
//! ## Reading gctrace
//!
//! ```text
//! gc 7 @1.032s 3%: 0.018+2.1+0.041 ms clock, 0.036+0.9/1.8/0.2+0.082 ms cpu, 38->40->21 MB, 42 MB goal, 0 MB stacks, 0 MB globals, 2 P
//! ```
//!
//! - `gc 7`: the cycle number; `@1.032s`: when it started, since the heap
//!   was built; `3%`: the share of CPU time spent collecting since then.
//! - `0.018+2.1+0.041 ms clock`: wall time of the first pause (sweep
//!   termination: marking switched on), the concurrent mark, and the second
//!   pause (mark termination). Pauses are timed from the moment every
//!   mutator has stopped; how long threads took to reach a safepoint is
//!   [`GcStats::stop_wait_max`].
//! - `0.036+0.9/1.8/0.2+0.082 ms cpu`: CPU time of the first pause (its
//!   wall time times the threads it held), marking split into mutator
//!   assists / background workers / idle workers, and the second pause.
//!   (Go's idle workers mark on otherwise idle processors; here every
//!   background worker's time is in the middle figure and idle is 0.)
//! - `38->40->21 MB`: the heap when marking started, when it ended, and
//!   what the mark found live. `42 MB goal`: the heap size this cycle aimed
//!   to finish under.
//! - `0 MB stacks`: the bytes of the mutators' root tables (Go's goroutine
//!   stacks); `0 MB globals`: of the global root table.
//! - `2 P`: the number of background mark workers.
//! - A trailing ` (forced)` marks a cycle started by `collect`.
//!
//! Durations under 10 ms show two significant digits, longer ones whole
//! milliseconds, as Go prints them. [`Heap::stats`] returns the same
//! figures and more as a [`GcStats`].

pub use gc_core::*;
pub use gc_macros::Trace;
