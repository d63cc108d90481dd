//! The slot tables the collector scans: heap-wide `SlotTable`s (global
//! roots, weak references) and each mutator's `RootChunks`. Both are boxed
//! chunks of atomic words that never move, so a handle keeps a direct
//! pointer to its slot (`slot_ref`); free slots hold 0, which scans skip.
//! Who may change a table and who may scan it, and why that is sound, is in
//! `roots.rs` (the handles) and `weak.rs`.

use std::ptr::NonNull;
use std::sync::atomic::{AtomicUsize, Ordering};

use parking_lot::Mutex;

const CHUNK: usize = 256;

type Chunk = [AtomicUsize; CHUNK];

/// Boxed chunks of zeroed slots; boxed so that slot addresses, which
/// handles keep, never move.
#[derive(Default)]
struct Chunks(#[allow(clippy::vec_box)] Vec<Box<Chunk>>);

impl Chunks {
    /// Append a chunk; returns its slots, first to last.
    fn grow(&mut self) -> impl DoubleEndedIterator<Item = NonNull<AtomicUsize>> + '_ {
        self.0
            .push(Box::new(std::array::from_fn(|_| AtomicUsize::new(0))));
        let chunk = self.0.last().expect("just pushed");
        chunk.iter().map(NonNull::from)
    }

    fn for_each(&self, f: impl FnMut(&AtomicUsize)) {
        self.0.iter().flat_map(|c| c.iter()).for_each(f);
    }

    fn slots(&self) -> usize {
        self.0.len() * CHUNK
    }
}

struct Slots {
    chunks: Chunks,
    free: Vec<NonNull<AtomicUsize>>,
    used: usize,
}

/// A table of atomic pointer slots with stable addresses, every change
/// under one mutex (global roots).
pub(crate) struct SlotTable {
    slots: Mutex<Slots>,
}

impl Default for SlotTable {
    fn default() -> Self {
        SlotTable {
            slots: Mutex::new(Slots {
                chunks: Chunks::default(),
                free: Vec::new(),
                used: 0,
            }),
        }
    }
}

// SAFETY: the raw pointers in `free` point into chunks owned by the same
// table; all slot contents are atomics.
unsafe impl Send for SlotTable {}
// SAFETY: as above; the bookkeeping is behind the mutex.
unsafe impl Sync for SlotTable {}

impl Slots {
    fn take(&mut self) -> NonNull<AtomicUsize> {
        self.used += 1;
        match self.free.pop() {
            Some(p) => p,
            None => {
                let mut new = self.chunks.grow();
                let first = new.next().expect("chunks are not empty");
                self.free.extend(new.rev());
                first
            }
        }
    }
}

impl SlotTable {
    /// A slot holding `value`.
    pub(crate) fn insert(&self, value: usize) -> NonNull<AtomicUsize> {
        let slot = self.slots.lock().take();
        // SAFETY: the slot is in a chunk owned by this table (never freed
        // before the table) and was free, so no one else uses it.
        unsafe { slot.as_ref() }.store(value, Ordering::Release);
        slot
    }

    /// A new slot holding what `from` holds, read and written in one
    /// critical section, so no scan of the table falls between the two.
    ///
    /// # Safety
    /// `from` came from `insert` or `duplicate` on this table and is in use.
    pub(crate) unsafe fn duplicate(&self, from: NonNull<AtomicUsize>) -> NonNull<AtomicUsize> {
        let mut s = self.slots.lock();
        let slot = s.take();
        // SAFETY: both slots are in chunks owned by this table, and the new
        // one was free.
        let (from, to) = unsafe { (from.as_ref(), slot.as_ref()) };
        to.store(from.load(Ordering::Acquire), Ordering::Release);
        slot
    }

    /// Give a slot back.
    ///
    /// # Safety
    /// `slot` came from `insert` or `duplicate` on this table and is not
    /// used afterwards.
    pub(crate) unsafe fn remove(&self, slot: NonNull<AtomicUsize>) {
        let mut s = self.slots.lock();
        // SAFETY: by the contract the slot belongs to this table.
        unsafe { slot.as_ref() }.store(0, Ordering::Relaxed);
        s.used -= 1;
        s.free.push(slot);
    }

    /// Slots in use.
    pub(crate) fn len(&self) -> usize {
        self.slots.lock().used
    }

    /// Call `f` on every slot (free ones hold 0).
    pub(crate) fn for_each(&self, f: impl FnMut(&AtomicUsize)) {
        self.slots.lock().chunks.for_each(f);
    }
}

/// The collector's view of one mutator's roots: the slots, in chunks that
/// only the owner adds (module comment).
#[derive(Default)]
pub(crate) struct RootChunks {
    chunks: Mutex<Chunks>,
}

impl RootChunks {
    /// Append a chunk (the owner, out of free slots): its slots but the
    /// first go onto `free`, the first is returned.
    pub(crate) fn grow(&self, free: &mut Vec<NonNull<AtomicUsize>>) -> NonNull<AtomicUsize> {
        let mut chunks = self.chunks.lock();
        let mut new = chunks.grow();
        let first = new.next().expect("chunks are not empty");
        free.extend(new.rev());
        first
    }

    /// Slots in the table, free ones included (what a scan reads).
    pub(crate) fn len(&self) -> usize {
        self.chunks.lock().slots()
    }

    /// Call `f` on every slot (free ones hold 0). A scan that marks is made
    /// by the owner, or by a thread holding the owner's `running` lock while
    /// the owner is stopped (module comment).
    pub(crate) fn for_each(&self, f: impl FnMut(&AtomicUsize)) {
        self.chunks.lock().for_each(f);
    }
}

/// Reads the slot of a handle.
///
/// # Safety
/// `slot` is in a table the caller keeps alive.
#[inline]
pub(crate) unsafe fn slot_ref<'a>(slot: NonNull<AtomicUsize>) -> &'a AtomicUsize {
    // SAFETY: by the contract the chunk holding the slot is alive.
    unsafe { slot.as_ref() }
}
