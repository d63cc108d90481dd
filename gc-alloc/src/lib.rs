//! gc-alloc: a size-class segregated span allocator over `mmap`, after Go's
//! mheap / mcentral / mcache design, for the tricolor garbage collector.
//!
//! Layers, bottom up, one file each:
//! - `arena`: one reserved address range per heap, committed
//!   in 64 MiB arenas; the page -> span map.
//! - `pages`: runs of 8 KiB pages for spans, coalescing on free, and the
//!   record of which free pages were returned to the OS.
//! - [`size_class`]: the size-class table (Go's 68 classes plus a few that
//!   bound rounding waste) and lookups.
//! - [`Span`]: a run of pages of one span class with alloc,
//!   mark, drop and weak bitmaps and a sweep generation.
//! - `central`: per span class lists of partial/full × swept/unswept spans.
//! - [`ThreadCache`]: per-thread lock-free allocation.
//! - [`AllocHeap`]: ties them together, sweeps, scavenges, counts.
//! - `weak`: which objects have weak references, reported by the sweeper
//!   when it frees them ([`WeakHook`]), and [`WeakLiveness`] for a weak
//!   slot read before its target's span is swept.
//!
//! The allocator knows nothing of tracing: the collector marks objects
//! through [`Span::mark`], advances the sweep generation, and sweeps; this
//! crate turns unmarked slots back into free space and calls the configured
//! hooks for objects that need a destructor or have a weak reference.
//!
//! ```
//! use gc_alloc::{AllocFlags, AllocHeap, HeapConfig, ThreadCache};
//!
//! let heap = AllocHeap::new(HeapConfig::default()).unwrap();
//! let mut cache = ThreadCache::new(heap.clone());
//! let p = cache.alloc_size(24, true, AllocFlags::default()).unwrap();
//! let obj = heap.find_object(p.as_ptr() as usize + 5).unwrap();
//! assert_eq!(obj.base, p.as_ptr() as usize);
//! ```

mod arena;
mod bits;
mod cache;
mod central;
mod error;
mod heap;
mod pages;
pub mod size_class;
mod span;
mod span_alloc;
mod span_hint;
mod stats;
mod sweep;
mod weak;

pub use arena::ARENA_SIZE;
pub use cache::ThreadCache;
pub use error::AllocError;
pub use heap::{
    AllocFlags, AllocHeap, CanonicalTag, FreeHook, HeapConfig, ObjectRef, TypeTag, DEFAULT_RESERVE,
};
pub use size_class::{size_class_of, SpanClass, MAX_SMALL_SIZE, PAGE_SIZE};
pub use span::{Span, SweepResult};
pub use span_hint::SpanHint;
pub use stats::{AllocStats, ClassStats};
pub use weak::{WeakHook, WeakLiveness};
