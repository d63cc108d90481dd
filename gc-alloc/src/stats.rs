//! Allocator statistics, read as one snapshot by [`AllocHeap::stats`](crate::AllocHeap::stats).
//!
//! Object counts (mallocs) of a span are added when its thread cache gives
//! it back, so they lag by what the caches currently hold; bytes counts treat
//! a cached span as fully allocated (Go's convention). Both are exact after
//! every cache is flushed.

/// Counters of one size class.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ClassStats {
    /// Object size of the class (0 for the large-object class).
    pub size: usize,
    /// Objects allocated so far.
    pub mallocs: u64,
    /// Objects freed by sweeping so far.
    pub frees: u64,
}

/// A snapshot of the heap's counters.
#[derive(Clone, Debug, Default)]
pub struct AllocStats {
    /// Bytes in allocated objects, including unreachable ones not yet swept.
    pub allocated_bytes: usize,
    /// Objects allocated and not yet freed.
    pub allocated_objects: u64,
    /// Objects allocated since start.
    pub mallocs: u64,
    /// Objects freed since start.
    pub frees: u64,
    /// Bytes in spans (pages handed out by the page allocator), including
    /// empty spans their class keeps for reuse until the sweep ends.
    pub span_bytes: usize,
    /// Bytes of committed pages not released to the OS (an upper bound on
    /// what the heap holds resident).
    pub committed_bytes: usize,
    /// Bytes returned to the OS since start.
    pub released_bytes: usize,
    /// Address space reserved.
    pub reserved_bytes: usize,
    /// The heap limit.
    pub limit_bytes: usize,
    /// Per size class, index = size class (0 = large objects).
    pub by_class: Vec<ClassStats>,
}
