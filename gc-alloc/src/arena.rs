//! The heap's address space: one contiguous reservation, committed in 64 MiB
//! arenas, plus the page -> span map.
//!
//! The whole heap lives in a single range reserved at start-up with
//! `mmap(PROT_NONE, MAP_NORESERVE)`: reserving costs no memory, and it makes
//! "is this address ours?" a subtraction and a compare, which the barrier and
//! the object lookup do on every call. Arenas are committed (made readable
//! and writable) in order as the page allocator grows; pages are returned to
//! the OS with `madvise(MADV_DONTNEED)`, which keeps the mapping (a later
//! touch gets fresh zero pages).
//!
//! The span map has one `AtomicPtr<Span>` per page of the reservation, in its
//! own `MAP_NORESERVE` mapping, so only the entries of committed arenas ever
//! take memory. An entry is written (Release) when a span is set up, before
//! any object of the span can be handed out, and read (Acquire) by lookups.

use std::ptr::{self, NonNull};
use std::sync::atomic::{AtomicPtr, Ordering};

use crate::error::AllocError;
use crate::size_class::{PAGE_SHIFT, PAGE_SIZE};
use crate::span::Span;

/// Bytes per arena: the unit in which the reservation is committed.
pub const ARENA_SIZE: usize = 64 << 20;
/// Pages per arena.
pub const ARENA_PAGES: usize = ARENA_SIZE / PAGE_SIZE;

/// An anonymous `mmap` mapping, unmapped on drop.
struct Mapping {
    base: NonNull<u8>,
    len: usize,
}

impl Mapping {
    fn new(len: usize, prot: libc::c_int) -> Result<Mapping, AllocError> {
        // SAFETY: an anonymous private mapping at an address of the kernel's
        // choosing touches no existing memory; failure is reported as
        // MAP_FAILED and handled below.
        let p = unsafe {
            libc::mmap(
                ptr::null_mut(),
                len,
                prot,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_NORESERVE,
                -1,
                0,
            )
        };
        if p == libc::MAP_FAILED {
            return Err(AllocError::Os {
                what: "mmap",
                bytes: len,
                errno: errno(),
            });
        }
        Ok(Mapping {
            base: NonNull::new(p.cast()).expect("mmap returned null"),
            len,
        })
    }
}

impl Drop for Mapping {
    fn drop(&mut self) {
        // SAFETY: `base..base+len` is exactly the range this value mapped, and
        // the owner (Region) is being dropped, so nothing points into it.
        unsafe { libc::munmap(self.base.as_ptr().cast(), self.len) };
    }
}

fn errno() -> i32 {
    std::io::Error::last_os_error().raw_os_error().unwrap_or(0)
}

/// The reserved address range of one heap and its page -> span map.
pub(crate) struct Region {
    heap: Mapping,
    base: usize,
    len: usize,
    map: Mapping,
}

// SAFETY: the raw mappings are plain memory owned by the Region; all shared
// access to them goes through atomics (span map) or through the allocator's
// own synchronisation (object memory).
unsafe impl Send for Region {}
// SAFETY: as for Send.
unsafe impl Sync for Region {}

impl Region {
    /// Reserve `len` bytes (rounded up to whole arenas), aligned to an arena.
    pub(crate) fn reserve(len: usize) -> Result<Region, AllocError> {
        // The mapping is one arena longer than `len`, to align its start.
        let len = len
            .max(1)
            .checked_next_multiple_of(ARENA_SIZE)
            .filter(|l| l.checked_add(ARENA_SIZE).is_some())
            .ok_or(AllocError::TooLarge { requested: len })?;
        let heap = Mapping::new(len + ARENA_SIZE, libc::PROT_NONE)?;
        let base = (heap.base.as_ptr() as usize).next_multiple_of(ARENA_SIZE);
        let pages = len / PAGE_SIZE;
        let map = Mapping::new(
            pages * std::mem::size_of::<AtomicPtr<Span>>(),
            libc::PROT_READ | libc::PROT_WRITE,
        )?;
        Ok(Region {
            heap,
            base,
            len,
            map,
        })
    }

    /// First byte of the heap.
    #[inline]
    pub(crate) fn base(&self) -> usize {
        self.base
    }

    /// Bytes reserved.
    #[inline]
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// Whether `addr` lies inside the reservation.
    #[inline]
    pub(crate) fn contains(&self, addr: usize) -> bool {
        addr.wrapping_sub(self.base) < self.len
    }

    /// Make arena number `index` readable and writable.
    pub(crate) fn commit_arena(&self, index: usize) -> Result<(), AllocError> {
        assert!((index + 1) * ARENA_SIZE <= self.len);
        let start = self.base + index * ARENA_SIZE;
        debug_assert!(start >= self.heap.base.as_ptr() as usize);
        // SAFETY: the range is inside our PROT_NONE reservation (asserted
        // above) and no object lives there yet, so changing its protection
        // cannot affect any live reference.
        let rc = unsafe {
            libc::mprotect(
                start as *mut libc::c_void,
                ARENA_SIZE,
                libc::PROT_READ | libc::PROT_WRITE,
            )
        };
        if rc != 0 {
            return Err(AllocError::Os {
                what: "mprotect",
                bytes: ARENA_SIZE,
                errno: errno(),
            });
        }
        Ok(())
    }

    /// Give the physical memory of pages `first..first+n` back to the OS.
    /// The caller guarantees no object lives there.
    pub(crate) fn release_pages(&self, first: usize, n: usize) {
        let start = self.base + first * PAGE_SIZE;
        debug_assert!(self.contains(start) && self.contains(start + n * PAGE_SIZE - 1));
        // SAFETY: the pages are free (the page allocator owns them and holds
        // its lock), so discarding their contents loses nothing; the mapping
        // stays valid and a later touch reads zeroes.
        unsafe {
            libc::madvise(
                start as *mut libc::c_void,
                n * PAGE_SIZE,
                libc::MADV_DONTNEED,
            )
        };
    }

    fn map_slot(&self, page: usize) -> &AtomicPtr<Span> {
        assert!(page < self.len / PAGE_SIZE);
        // SAFETY: the map mapping holds `len / PAGE_SIZE` zero-initialised
        // AtomicPtr slots (all-zero bits are a valid null AtomicPtr), `page`
        // is in bounds (asserted), and the mapping lives as long as `self`.
        unsafe { &*self.map.base.as_ptr().cast::<AtomicPtr<Span>>().add(page) }
    }

    /// Point pages `first..first+n` at `span` (null to clear).
    pub(crate) fn set_span(&self, first: usize, n: usize, span: *const Span) {
        for page in first..first + n {
            self.map_slot(page)
                .store(span.cast_mut(), Ordering::Release);
        }
    }

    /// The span covering `addr`, if `addr` is in the heap and in a span.
    #[inline]
    pub(crate) fn span_of(&self, addr: usize) -> Option<&Span> {
        if !self.contains(addr) {
            return None;
        }
        let p = self
            .map_slot((addr - self.base) >> PAGE_SHIFT)
            .load(Ordering::Acquire);
        // SAFETY: non-null entries point at Span records owned by the heap's
        // span pool, which frees none of them before the heap (and with it
        // this Region) is dropped.
        unsafe { p.as_ref() }
    }
}
