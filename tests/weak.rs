//! Weak references are cleared by the sweeper, not in a pause: a dead
//! target reads as gone as soon as the mark that found it dead ends (before
//! its memory is swept), its reference is cleared when it is swept, and
//! neither ever hands out a freed object, with many threads upgrading while
//! cycles mark and sweep. (Run these also with `GCDEBUG=gccheckmark=1` and
//! `GCDEBUG=gcstress=1`: the many-threads test reads the environment.)

use std::sync::{Arc, Condvar, Mutex};

use tricolor::{DebugFlags, Heap, HeapBuilder, Member, Mutator, NoGc, Root, Trace, Tracer, Weak};

#[path = "common/reuse.rs"]
mod reuse;
use reuse::{heap, leaf_at, Leaf};

#[test]
fn the_sweeper_clears_a_dead_target_before_its_address_is_reused() {
    let heap = heap();
    let mut m = heap.mutator();
    let (w, addr) = {
        let a = m.alloc(Leaf { value: 7 });
        (Weak::new(&m, a), format!("{a:p}"))
    };
    // `collect` finishes the sweep: the sweeper has freed the target.
    m.collect();
    assert!(
        w.is_cleared(),
        "the sweeper freed the target but left its weak reference"
    );
    let mut keep = Vec::new();
    let reused = leaf_at(&m, &addr, &mut keep);
    assert_eq!(reused.value, keep.len() as u64);
    assert!(
        w.upgrade(&m).is_none(),
        "upgrade handed out the object now at the address"
    );
}

/// Opened once: blocks the sweeper in a destructor until then.
#[derive(Default)]
struct Gate {
    open: Mutex<bool>,
    opened: Condvar,
}

impl Gate {
    fn open(&self) {
        *self.open.lock().unwrap() = true;
        self.opened.notify_all();
    }
}

/// Opens the gate when dropped, also when the test fails, so the heap's
/// final sweep does not wait for the blocked sweeper forever.
struct OpenOnDrop(Arc<Gate>);

impl Drop for OpenOnDrop {
    fn drop(&mut self) {
        self.0.open();
    }
}

/// A heap object whose destructor (run by whichever thread sweeps it)
/// waits for the gate.
struct Blocker(Arc<Gate>);

impl Drop for Blocker {
    fn drop(&mut self) {
        let mut open = self.0.open.lock().unwrap();
        while !*open {
            open = self.0.opened.wait(open).unwrap();
        }
    }
}

// SAFETY: holds no GC pointer.
unsafe impl Trace for Blocker {
    const NEEDS_TRACE: bool = false;
    fn trace(&self, _: &mut Tracer<'_>) {}
}
// SAFETY: holds no GC pointer.
unsafe impl NoGc for Blocker {}

/// Big enough to be in a later size class than `Blocker`, so the
/// background sweeper (which goes through the classes in order) reaches
/// its span only after the blocker's.
#[derive(Trace)]
struct Big {
    id: u64,
    pad: [u64; 63],
}

#[test]
fn upgrade_sees_a_dead_target_as_gone_before_its_span_is_swept() {
    // gcstress: `safepoint` runs a cycle and returns once its mark ended,
    // without finishing the sweep (as an allocation-triggered cycle does).
    let heap = HeapBuilder::new()
        .debug(DebugFlags {
            gcstress: true,
            gccheckmark: true,
            ..DebugFlags::DEFAULT
        })
        .build()
        .unwrap();
    let mut m = heap.mutator();
    let gate = Arc::new(Gate::default());
    let _open_at_end = OpenOnDrop(gate.clone());
    let (dead, live) = {
        m.alloc(Blocker(gate.clone()));
        let dead = Weak::new(
            &m,
            m.alloc(Big {
                id: 1,
                pad: [1; 63],
            }),
        );
        let live = m.root(m.alloc(Big {
            id: 2,
            pad: [2; 63],
        }));
        (dead, live)
    };
    let w_live = Weak::new(&m, live.get(&m));
    m.safepoint();
    // The background sweeper is stuck in the blocker's destructor (or has
    // not started), and nothing else sweeps: `Big`'s span is unswept.
    assert!(
        !dead.is_cleared(),
        "the span was swept: the test lost its point"
    );
    assert!(
        dead.upgrade(&m).is_none(),
        "a target the mark found dead came back"
    );
    let b = w_live
        .upgrade(&m)
        .expect("a marked target in an unswept span");
    assert_eq!((b.id, b.pad[62]), (2, 2));
    gate.open();
    m.collect();
    assert!(dead.is_cleared());
    assert_eq!(w_live.upgrade(&m).map(|b| b.id), Some(2));
}

#[derive(Trace)]
struct Item {
    id: u64,
    check: u64,
    next: Member<Item>,
}

fn check_of(id: u64) -> u64 {
    id.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ 0x5555
}

/// Fail unless `w`'s target, if any, is item `id`, intact (a freed object
/// reused or poisoned by the sweeper would not be).
fn upgrade_item(m: &Mutator, w: &Weak<Item>, id: u64) -> bool {
    match w.upgrade(m) {
        Some(item) => {
            assert_eq!(
                (item.id, item.check),
                (id, check_of(id)),
                "a freed item upgraded"
            );
            true
        }
        None => false,
    }
}

/// An item's id and a weak reference to it.
type Tracked = (u64, Weak<Item>);

/// One thread: rounds of a rooted chain of items and as many garbage items,
/// each weakly referenced; the last two chains stay rooted. Every round
/// upgrades every weak reference: those into rooted chains must be there,
/// the others may be gone, and once gone stay gone.
fn churn(heap: &Heap, thread: u64, rounds: u64) -> usize {
    const PER_ROUND: u64 = 64;
    let mut m = heap.mutator();
    let mut chains: Vec<(Root<Item>, Vec<Tracked>)> = Vec::new();
    let mut loose: Vec<(u64, Weak<Item>, bool)> = Vec::new();
    let mut cleared = 0;
    for round in 0..rounds {
        let base = (thread << 40) | (round << 16);
        let (head, weaks) = {
            let mut head = m.alloc(Item {
                id: base,
                check: check_of(base),
                next: Member::null(),
            });
            let mut weaks = vec![(base, Weak::new(&m, head))];
            for i in 1..PER_ROUND {
                let id = base + i;
                let item = m.alloc(Item {
                    id,
                    check: check_of(id),
                    next: Member::null(),
                });
                item.next.set(&m, Some(head));
                head = item;
                weaks.push((id, Weak::new(&m, item)));
                let junk = base + PER_ROUND + i;
                let g = m.alloc(Item {
                    id: junk,
                    check: check_of(junk),
                    next: Member::null(),
                });
                loose.push((junk, Weak::new(&m, g), false));
            }
            (m.root(head), weaks)
        };
        chains.push((head, weaks));
        if chains.len() > 2 {
            let (_, weaks) = chains.remove(0);
            loose.extend(weaks.into_iter().map(|(id, w)| (id, w, false)));
        }
        for (_, weaks) in &chains {
            for (id, w) in weaks {
                assert!(
                    upgrade_item(&m, w, *id),
                    "item {id:#x} of a rooted chain lost"
                );
            }
        }
        for (id, w, gone) in &mut loose {
            let there = upgrade_item(&m, w, *id);
            assert!(!(there && *gone), "item {id:#x} came back");
            *gone = !there;
        }
        cleared += loose.iter().filter(|(_, w, _)| w.is_cleared()).count();
        // Give up references to items that are gone: their slots are reused.
        loose.retain(|(_, w, gone)| !(*gone && w.is_cleared()));
        m.safepoint();
    }
    drop(chains);
    m.collect();
    assert!(loose.iter().all(|(_, w, _)| w.is_cleared()));
    cleared
}

#[test]
fn many_threads_upgrade_many_weak_references_while_cycles_run() {
    let heap = HeapBuilder::new()
        .from_env()
        .unwrap()
        .gc_percent(Some(5))
        .build()
        .unwrap();
    let cleared: usize = std::thread::scope(|s| {
        let threads: Vec<_> = (0..4)
            .map(|t| {
                let heap = &heap;
                s.spawn(move || churn(heap, t, 150))
            })
            .collect();
        threads.into_iter().map(|t| t.join().unwrap()).sum()
    });
    let stats = heap.stats();
    let paced = stats.num_gc - stats.num_forced_gc;
    assert!(paced >= 2, "only {paced} cycles ran beside the mutators");
    assert!(
        cleared > 0,
        "no weak reference was ever cleared while running"
    );
}
