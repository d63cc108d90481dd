//! The write barrier and the one store every pointer slot goes through
//! (Go's `mbarrier.go` and `mwbbuf.go` in one file).
//!
//! # Why a barrier
//! Marking runs beside the mutators, so the heap graph changes under the
//! marker. The tri-colour invariant that keeps the mark sound is the weak
//! one: every white object reachable from a black one is also reachable
//! from a grey one through white objects. A store can break it in two ways,
//! and the hybrid barrier (Yuasa deletion + Dijkstra insertion, as Go's)
//! shades one object for each:
//! - **deletion**: the pointer a store overwrites may be the last grey path
//!   to an object some mutator still holds (its roots scanned already, so
//!   nobody will find it again): shade the old target;
//! - **insertion**: a mutator whose roots have not been scanned yet may store
//!   a pointer it holds only in those roots into a black object, then drop
//!   it from the roots (root stores have no barrier): shade the new target.
//!   Once its roots are scanned, nothing it holds can be hidden that way,
//!   so, as in Go, only a mutator with unscanned roots shades the new
//!   target (`WriteBarrier::shade_pair` says why).
//!
//! Objects allocated while marking are black (their children are shaded by
//! the same rule when they are given at construction, see `publish.rs`).
//! Shading while marking is all a store needs; with marking off it is
//! skipped, since the marking flag only changes when this mutator is stopped
//! (`mutator.rs`).
//!
//! # The one store
//! [`store`] is the only code that writes a pointer into a slot: `Member`,
//! `NanBox`, array elements (which are `Member`s or `NanBox`es), `Root`,
//! `GlobalRoot` and `Weak` all call it, or for object slots one of its
//! two cheaper forms: [`copy`] from another slot of the heap (which holds
//! no foreign pointer, so the new target needs no check) and
//! [`store_non_pointer`] (no new target at all). Whatever the new value is (a
//! pointer, null, a number), it first checks that the slot belongs to the
//! mutator's heap ([`Place`]): an object slot must lie inside the heap's
//! reservation, a root must belong to this mutator, a global or weak slot to
//! this heap. Only then does it run *that* heap's barrier on the old and new
//! targets, so no store can delete a pointer from a heap that is marking
//! without that heap hearing of it. A pointer target must be an object of
//! the same heap. Violations panic at the caller's line before the slot is
//! touched.
//!
//! Which places run the barrier: object fields and global roots (any thread
//! can store into a global root after the first pause scanned them, so the
//! table is a path between threads, like a heap object). A mutator's own
//! roots need none: its root set is scanned as a whole at one of its
//! safepoints, and anything it stores there afterwards came from the heap
//! (the deletion barrier shades it if it is unlinked) or from a new, black
//! allocation. Weak slots need none: a weak reference never keeps its
//! target alive, and `Weak::upgrade` shades what it hands out.
//!
//! Two copies bypass `store`, having no `Mutator` and nothing to check:
//! `Root::clone` (within one root set, so no barrier, and made safe
//! against a concurrent scan of that set by its `running` lock) and
//! `GlobalRoot::clone` (under the global table's lock, which its scan
//! holds); `roots.rs` says why both are sound.
//!
//! # The buffer
//! Shades are batched per mutator (Go's `wbBuf`): [`WriteBarrier`] queues
//! the addresses and marks them in one go when the buffer is full and every
//! time the mutator stops running, so mark termination, which stops every
//! mutator, has seen all of them.

use std::cell::RefCell;
use std::sync::atomic::{AtomicUsize, Ordering};

use crate::heap::HeapInner;
use crate::mutator::Mutator;
use crate::mutator_state::MutatorShared;

/// Entries in a mutator's write-barrier buffer before it is flushed.
const BUFFER_LEN: usize = 512;

/// Where a pointer slot lives, which decides the ownership check.
#[derive(Clone, Copy)]
pub(crate) enum Place<'a> {
    /// A field of a GC object: a `Member`, a `NanBox` or an array element.
    /// The name is for the panic message.
    Object(&'static str),
    /// A [`Root`](crate::Root) of the given mutator.
    Root(&'a MutatorShared),
    /// A [`GlobalRoot`](crate::GlobalRoot) of the given heap.
    Global(&'a HeapInner),
    /// A [`Weak`](crate::Weak) of the given heap.
    Weak(&'a HeapInner),
}

/// Store `new` into `slot` for mutator `m`: check that the slot and the
/// target belong to `m`'s heap, run the barrier where `place` needs it, then
/// publish. `address` decodes a slot word to the object it points at (0 for
/// none), so tagged words (`NanBox`) share this code.
///
/// # Panics
/// If the slot is not `m`'s (another heap's object, another mutator's root,
/// outside any GC object) or the target is from another heap.
#[inline(always)]
#[track_caller]
pub(crate) fn store(
    m: &Mutator,
    place: Place<'_>,
    slot: &AtomicUsize,
    new: usize,
    address: fn(usize) -> usize,
) {
    check_owner(m, place, slot as *const AtomicUsize as usize);
    check_target(m, address(new));
    write(m, place, slot, new, address);
}

/// The write all three stores end in, once their checks passed: the hybrid
/// barrier while marking where `place` needs it (the old target, and the
/// new one while this mutator's roots are unscanned), then publish.
#[inline(always)]
fn write(
    m: &Mutator,
    place: Place<'_>,
    slot: &AtomicUsize,
    new: usize,
    address: fn(usize) -> usize,
) {
    if matches!(place, Place::Object(_) | Place::Global(_)) && m.marking() {
        let old = address(slot.load(Ordering::Relaxed));
        let roots_pending = m.shared().roots_pending.load(Ordering::Acquire);
        // A null `old` with the roots scanned shades nothing: the common
        // case of filling a fresh object while marking, kept off the
        // out-of-line call.
        if old != 0 || roots_pending {
            m.barrier().shade_pair(m, old, address(new), roots_pending);
        }
    }
    slot.store(new, Ordering::Release);
}

/// Copy the word of `src` into `dst`, both object slots, for mutator `m`:
/// [`store`] of `src`'s word, with the target check replaced by a check
/// that `src` lies in `m`'s heap too, which is cheaper than decoding the
/// word. Every slot inside a heap points into that heap, because every
/// write into it is a `store` (which checks the target) or a publication
/// at construction (which checks it too, `publish.rs`). The one exception
/// is a construction-time slot the user moved into an existing object
/// without the barrier (through a `RefCell`, say): it is counted as
/// unpublished, so its thread aborts at its next safepoint, before the
/// foreign target's heap can start a cycle, and a marker that meets a copy
/// of it aborts on a pointer that is not its heap's (`mark.rs`). A `src`
/// outside the heap (a slot not yet moved into an object) takes the full
/// `store`.
///
/// # Panics
/// As [`store`].
#[inline(always)]
#[track_caller]
pub(crate) fn copy(
    m: &Mutator,
    what: &'static str,
    dst: &AtomicUsize,
    src: &AtomicUsize,
    address: fn(usize) -> usize,
) {
    let new = src.load(Ordering::Acquire);
    if !m.barrier().in_heap(src as *const AtomicUsize as usize) {
        return store(m, Place::Object(what), dst, new, address);
    }
    check_owner(m, Place::Object(what), dst as *const AtomicUsize as usize);
    write(m, Place::Object(what), dst, new, address);
}

/// [`store`] of a word that holds no pointer (a number, a tag): the slot's
/// ownership check and the deletion half of the barrier only.
///
/// # Panics
/// If `dst` is not inside an object of `m`'s heap.
#[inline(always)]
#[track_caller]
pub(crate) fn store_non_pointer(
    m: &Mutator,
    what: &'static str,
    dst: &AtomicUsize,
    new: usize,
    address: fn(usize) -> usize,
) {
    debug_assert_eq!(address(new), 0, "store_non_pointer of a pointer");
    check_owner(m, Place::Object(what), dst as *const AtomicUsize as usize);
    write(m, Place::Object(what), dst, new, address);
}

/// Panic unless `place` belongs to `m` (its heap, or itself for a root);
/// `slot` is the slot's address, checked for `Place::Object`. Reads of
/// handles (`Root::get`, `Weak::upgrade`) check the same way.
#[inline(always)]
#[track_caller]
pub(crate) fn check_owner(m: &Mutator, place: Place<'_>, slot: usize) {
    match place {
        Place::Object(what) => {
            if !m.barrier().in_heap(slot) {
                slot_outside_heap(what);
            }
        }
        Place::Root(owner) => {
            if !std::ptr::eq(owner, &**m.shared()) {
                foreign_root();
            }
        }
        Place::Global(heap) | Place::Weak(heap) => {
            if !std::ptr::eq(heap, &**m.heap_inner()) {
                foreign_handle(if matches!(place, Place::Global(_)) {
                    "GlobalRoot"
                } else {
                    "Weak"
                });
            }
        }
    }
}

/// Panic unless `target` (an object base, or 0 for none) lies in `m`'s
/// heap: the check `store` makes on the new value, for callers that must
/// know it passes before they take a lock (`Weak::new`).
#[inline(always)]
#[track_caller]
pub(crate) fn check_target(m: &Mutator, target: usize) {
    if target != 0 && !m.barrier().in_heap(target) {
        foreign_target();
    }
}

/// A mutator's side of the barrier: its heap's address range (copied here
/// so the ownership checks are two compares against registers) and the
/// buffer of pending shades.
pub(crate) struct WriteBarrier {
    range: (usize, usize),
    buffer: RefCell<Vec<usize>>,
}

impl WriteBarrier {
    pub(crate) fn new(range: (usize, usize)) -> WriteBarrier {
        WriteBarrier {
            range,
            buffer: RefCell::new(Vec::with_capacity(BUFFER_LEN)),
        }
    }

    /// Whether `addr` lies inside this heap's reservation.
    #[inline(always)]
    pub(crate) fn in_heap(&self, addr: usize) -> bool {
        addr.wrapping_sub(self.range.0) < self.range.1
    }

    /// The hybrid barrier: shade the old target, and the new one while this
    /// mutator's roots are unscanned (`roots_pending`, which `write` reads
    /// once for both its test and this call). Out of line: stores call it
    /// only while marking, and only when it has something to shade.
    ///
    /// The insertion half is needed only until the scan (module comment),
    /// as in Go, whose barrier shades the new pointer only while the
    /// goroutine's stack is grey: a mutator's roots are scanned at its own
    /// safepoint or while it is not running, so it holds no `Gc` then, and
    /// everything it holds afterwards it read from the heap after the scan
    /// (reachable from a grey object until the deletion half shades it on
    /// unlinking), read from its scanned roots, or allocated black. Null-
    /// then-set construction while marking (`old` null) then shades
    /// nothing. A stale `true` only shades more: the flag turns false by
    /// this thread's own scan or by the collector's while this thread is
    /// not running (the `running` lock orders it), and turns true only
    /// while the world is stopped.
    #[cold]
    #[inline(never)]
    fn shade_pair(&self, m: &Mutator, old: usize, new: usize, roots_pending: bool) {
        self.shade(m, old);
        if roots_pending {
            self.shade(m, new);
        }
    }

    /// Make `base` grey if it is white (0 is ignored), through the buffer.
    #[inline]
    pub(crate) fn shade(&self, m: &Mutator, base: usize) {
        if base != 0 {
            let mut buf = self.buffer.borrow_mut();
            buf.push(base);
            if buf.len() >= BUFFER_LEN {
                m.heap_inner().shade_all(buf.drain(..));
            }
        }
    }

    /// Mark everything queued. Called whenever the mutator stops running.
    pub(crate) fn flush(&self, heap: &HeapInner) {
        let mut buf = self.buffer.borrow_mut();
        if !buf.is_empty() {
            heap.shade_all(buf.drain(..));
        }
    }
}

#[cold]
#[track_caller]
fn slot_outside_heap(what: &str) -> ! {
    panic!(
        "tricolor: {what} store into a slot that is not inside a GC object of this mutator's heap \
         (a {what} on the stack, in a Box, or in another heap's object); pointer slots are written \
         only inside objects of the heap whose Mutator is passed"
    )
}

#[cold]
#[track_caller]
fn foreign_target() -> ! {
    panic!(
        "tricolor: a Gc from another heap was stored into this heap; objects cannot point across heaps"
    )
}

#[cold]
#[track_caller]
fn foreign_root() -> ! {
    panic!("tricolor: a Root was used with a Mutator it was not created by; roots belong to one mutator")
}

#[cold]
#[track_caller]
fn foreign_handle(what: &str) -> ! {
    panic!("tricolor: a {what} was used with a Mutator of another heap")
}

/// loom models of the barrier rule (`RUSTFLAGS="--cfg loom" cargo test -p
/// tricolor-core --release --lib loom`), on a toy heap whose objects have
/// one pointer field each: a marker drains grey objects while one mutator
/// rewires pointers, its barrier buffering the objects it shades (flushed
/// at mark termination, as `WriteBarrier` is); then the terminator shades
/// the buffer and drains, and everything reachable from the root must be
/// marked. The models state `shade_pair`'s argument: once a mutator's roots
/// are scanned the deletion half alone suffices; before, the insertion
/// half is needed too.
#[cfg(all(test, loom))]
mod loom_models {
    use loom::sync::atomic::{AtomicBool, AtomicUsize, Ordering::SeqCst};
    use loom::sync::{Arc, Mutex};
    use loom::thread;

    /// Objects 1..=3 (0 is null); object 1 is the root, scanned: black.
    struct Toy {
        field: [AtomicUsize; 4],
        marked: [AtomicBool; 4],
        grey: Mutex<Vec<usize>>,
    }

    impl Toy {
        fn new(fields: [usize; 4]) -> Arc<Toy> {
            let toy = Toy {
                field: fields.map(AtomicUsize::new),
                marked: [false; 4].map(AtomicBool::new),
                grey: Mutex::new(Vec::new()),
            };
            toy.shade(1);
            Arc::new(toy)
        }

        fn shade(&self, x: usize) {
            if x != 0 && !self.marked[x].swap(true, SeqCst) {
                self.grey.lock().unwrap().push(x);
            }
        }

        fn drain(&self) {
            loop {
                // The guard is dropped before `shade` takes the lock again.
                let Some(x) = self.grey.lock().unwrap().pop() else {
                    return;
                };
                self.shade(self.field[x].load(SeqCst));
            }
        }

        /// Run `mutator` beside a marker, then terminate the mark with what
        /// its barrier buffered, and check every reachable object is marked.
        fn check(toy: Arc<Toy>, mutator: fn(&Toy) -> Vec<usize>) {
            let marker = {
                let toy = toy.clone();
                thread::spawn(move || toy.drain())
            };
            let buffered = mutator(&toy);
            marker.join().unwrap();
            buffered.into_iter().for_each(|x| toy.shade(x));
            toy.drain();
            let mut at = 1;
            while at != 0 {
                assert!(
                    toy.marked[at].load(SeqCst),
                    "object {at} reachable but white"
                );
                at = toy.field[at].load(SeqCst);
            }
        }
    }

    /// Roots scanned: the mutator reads C from the root A and B from C,
    /// links B from A, and unlinks it from C. Only the old targets are
    /// shaded; B, which the marker may miss behind C, is one of them.
    #[test]
    fn loom_deletion_half_suffices_after_the_root_scan() {
        loom::model(|| {
            // A -> C -> B, as objects 1 -> 2 -> 3.
            Toy::check(Toy::new([0, 2, 3, 0]), |toy| {
                let c = toy.field[1].load(SeqCst);
                let b = toy.field[c].load(SeqCst);
                let mut buffer = vec![toy.field[1].swap(b, SeqCst)];
                buffer.push(toy.field[c].swap(0, SeqCst));
                buffer
            });
        });
    }

    /// Roots unscanned: the mutator holds X (object 2) only in its roots,
    /// links it from the black root object and drops it from its roots
    /// before their scan, which then finds nothing. The insertion half
    /// (shading the new target) is what keeps X.
    #[test]
    fn loom_insertion_half_covers_unscanned_roots() {
        loom::model(|| {
            Toy::check(Toy::new([0, 0, 0, 0]), |toy| {
                let x = 2;
                let old = toy.field[1].swap(x, SeqCst);
                vec![old, x]
            });
        });
    }
}
