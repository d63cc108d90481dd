//! Per-mutator roots: the lock-free root table, `Root::clone`, and roots
//! cloned and dropped while their mutator is stopped and a mark worker may
//! be scanning its table (checkmark verifies every mark).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use tricolor::{DebugFlags, Gc, Heap, HeapBuilder, Member, Mutator, Root, Trace};

mod common;
use common::DropCounter;

#[derive(Trace)]
struct Node {
    id: u64,
    check: u64,
    next: Member<Node>,
    drops: DropCounter,
}

fn check(id: u64) -> u64 {
    id.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ 0x5EED
}

fn node<'m>(m: &'m Mutator, id: u64, drops: &Arc<AtomicUsize>) -> Gc<'m, Node> {
    m.alloc(Node {
        id,
        check: check(id),
        next: Member::null(),
        drops: DropCounter(drops.clone()),
    })
}

/// Fails if the node was freed and its memory reused or poisoned.
fn verify(n: &Node) {
    assert_eq!(n.check, check(n.id), "node {} corrupted", n.id);
}

#[test]
fn roots_span_many_chunks_and_their_slots_are_reused() {
    let heap = HeapBuilder::new().build().unwrap();
    let mut m = heap.mutator();
    let drops = Arc::new(AtomicUsize::new(0));
    let mut roots: Vec<Root<Node>> = (0..1000).map(|i| m.root(node(&m, i, &drops))).collect();
    m.collect();
    roots.iter().for_each(|r| verify(&r.get(&m)));
    assert_eq!(drops.load(Ordering::SeqCst), 0);
    // Drop every other root: exactly those objects die.
    let mut i = 0;
    roots.retain(|_| {
        i += 1;
        i % 2 == 0
    });
    m.collect();
    assert_eq!(drops.load(Ordering::SeqCst), 500);
    // Freed slots are taken again and hold their new targets.
    roots.extend((1000..1500).map(|i| m.root(node(&m, i, &drops))));
    m.collect();
    for r in &roots {
        verify(&r.get(&m));
    }
    assert_eq!(drops.load(Ordering::SeqCst), 500);
    drop(roots);
    m.collect();
    assert_eq!(drops.load(Ordering::SeqCst), 1500);
}

#[test]
fn a_clone_keeps_the_object_after_the_original_is_dropped() {
    let heap = HeapBuilder::new().build().unwrap();
    let mut m = heap.mutator();
    let drops = Arc::new(AtomicUsize::new(0));
    let r = m.root(node(&m, 7, &drops));
    let c = r.clone();
    assert_eq!(r, c);
    drop(r);
    m.collect();
    assert_eq!(c.get(&m).id, 7);
    assert_eq!(drops.load(Ordering::SeqCst), 0);
    drop(c);
    m.collect();
    assert_eq!(drops.load(Ordering::SeqCst), 1);
}

#[test]
fn roots_outliving_their_mutator_can_still_be_cloned_and_dropped() {
    let heap = HeapBuilder::new().build().unwrap();
    let drops = Arc::new(AtomicUsize::new(0));
    let r = {
        let m = heap.mutator();
        m.root(node(&m, 1, &drops))
    };
    let c = r.clone();
    drop(r);
    drop(c);
    heap.collect();
    assert_eq!(drops.load(Ordering::SeqCst), 1);
}

const CHECKMARK: DebugFlags = DebugFlags {
    gccheckmark: true,
    ..DebugFlags::DEFAULT
};

/// The owner clones its roots and then drops the originals inside
/// `blocking`, where a mark worker may be scanning its table. The clones
/// take the free slots at the other end of the table, so every other round
/// the targets move from the slots a scan reaches last to those it reads
/// first: without clones waiting for a scan in progress, a scan could miss
/// them all (checkmark aborts, or `verify` sees them freed). Each object is
/// held by its roots only; another thread keeps cycles coming.
fn shuffle_roots_while_stopped(heap: Heap, rounds: u64) {
    const ROOTS: u64 = 4096;
    let drops = Arc::new(AtomicUsize::new(0));
    std::thread::scope(|s| {
        let (h, d) = (heap.clone(), drops.clone());
        s.spawn(move || {
            let mut m = h.mutator();
            for i in 0..rounds * 2000 {
                node(&m, i, &d);
                if i % 64 == 0 {
                    m.safepoint();
                }
            }
        });
        let mut m = heap.mutator();
        // Each object is held by its root only.
        let mut roots: Vec<Root<Node>> = (0..ROOTS).map(|i| m.root(node(&m, i, &drops))).collect();
        for round in 0..rounds {
            roots = m.blocking(move || {
                let clones = roots.iter().map(Root::clone).collect();
                drop(roots);
                clones
            });
            if round % 8 == 0 {
                roots.iter().for_each(|r| verify(&r.get(&m)));
            }
            m.safepoint();
        }
        roots.iter().for_each(|r| verify(&r.get(&m)));
    });
    assert!(heap.stats().num_gc > 3, "cycles ran during the test");
}

#[test]
fn roots_cloned_and_dropped_while_stopped_stay_sound_under_concurrent_marking() {
    for _ in 0..3 {
        shuffle_roots_while_stopped(
            HeapBuilder::new()
                .gc_percent(Some(1))
                .debug(CHECKMARK)
                .build()
                .unwrap(),
            300,
        );
    }
}

#[test]
fn roots_cloned_while_stopped_stay_sound_under_stop_the_world_marking() {
    shuffle_roots_while_stopped(
        HeapBuilder::new()
            .gc_percent(Some(1))
            .debug(DebugFlags {
                gcstoptheworld: true,
                ..CHECKMARK
            })
            .build()
            .unwrap(),
        100,
    );
}
