//! Concurrent marking under stress: several mutator threads mutate a shared
//! graph while cycles run back to back, with `gccheckmark` verifying every
//! mark. Bounded in operations, never in time. Links are both `Member`s
//! and `NanBox`es, so both slot kinds' barriers are exercised.

use tricolor::{
    DebugFlags, Gc, GcArray, GlobalRoot, HeapBuilder, Member, Mutator, NanBox, NanValue, Root,
    Trace,
};

mod common;
use common::DropCounter;
#[path = "common/census.rs"]
mod census;
use census::Census;
#[path = "../examples/shared/rng.rs"]
mod rng;
use rng::Rng;

#[derive(Trace)]
struct Node {
    id: u64,
    sum: u64,
    next: Member<Node>,
    /// A NaN-boxed link: a node, or a number when cut.
    side: NanBox<Node>,
    dropped: DropCounter,
}

fn node<'m>(m: &'m Mutator, id: u64, census: &Census) -> Gc<'m, Node> {
    m.alloc(Node {
        id,
        sum: checksum(id),
        next: Member::null(),
        side: NanBox::from_f64(0.0),
        dropped: census.made_one(),
    })
}

fn checksum(id: u64) -> u64 {
    id.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ 0xDEAD_BEEF
}

/// Read a node and fail if its contents are not what was written: a freed
/// and reused (or poisoned) object shows up here.
fn verify(n: &Node) {
    assert_eq!(
        n.sum,
        checksum(n.id),
        "node {} corrupted: freed while reachable?",
        n.id
    );
}

const SLOTS: usize = 64;

/// The nodes `n` links to.
fn links(n: &Node) -> impl Iterator<Item = Gc<'_, Node>> {
    n.next.get().into_iter().chain(n.side.get().as_gc())
}

fn walk(n: &Node, depth: u32, seen: &mut usize) {
    verify(n);
    *seen += 1;
    if depth > 0 {
        for c in links(n) {
            walk(&c, depth - 1, seen);
        }
    }
}

fn mutate(
    m: &mut Mutator,
    graph: &GlobalRoot<GcArray<Member<Node>>>,
    census: &Census,
    seed: u64,
    ops: usize,
) {
    let mut rng = Rng(seed);
    // A side link taken out of the graph and kept only in this thread's
    // roots for a while (across safepoints), then put back.
    let mut held: Option<Root<Node>> = None;
    for op in 0..ops {
        {
            let g = graph.get(m);
            let slot = &g[rng.below(SLOTS)];
            match rng.below(7) {
                0 | 1 => {
                    let id = seed << 32 | op as u64;
                    let n = node(m, id, census);
                    // Link the old occupant below the new node, then replace it:
                    // the barrier sees both the deletion and the insertion.
                    n.next.set(m, slot.get());
                    slot.set(m, Some(n));
                }
                2 => {
                    // Move a deep subtree: find a node some steps down the
                    // chain, store it into another node, then cut it from its
                    // old parent. Without the barrier's deletion half the
                    // marker can miss the moved subtree.
                    let other = &g[rng.below(SLOTS)];
                    if let (Some(mut parent), Some(b)) = (slot.get(), other.get()) {
                        for _ in 0..rng.below(24) {
                            match Gc::as_ref(parent).next.get() {
                                Some(next) if next.next.get().is_some() => parent = next,
                                _ => break,
                            }
                        }
                        verify(&parent);
                        if let Some(moved) = parent.next.get() {
                            b.side.set(m, NanValue::from_gc(moved));
                            parent.next.set(m, None);
                        }
                    }
                }
                5 => {
                    // Move a side link to another node and overwrite the old
                    // one with a number: the deletion is a non-pointer store.
                    let other = &g[rng.below(SLOTS)];
                    if let (Some(a), Some(b)) = (slot.get(), other.get()) {
                        let moved = a.side.get();
                        b.side.set(m, moved);
                        a.side.set(m, NanValue::from_f64(op as f64));
                    }
                }
                3 => slot.set(m, None),
                6 => match held.take() {
                    // Once this thread's roots are scanned, a pointer taken
                    // from the heap into them is safe only because the
                    // number store that unlinks it shades it (deletion half).
                    None => {
                        // From deep in a chain, where objects are old and
                        // likely still unmarked.
                        let mut at = slot.get();
                        for _ in 0..rng.below(32) {
                            match at {
                                Some(a) if a.side.get().is_gc() => break,
                                Some(a) => at = Gc::as_ref(a).next.get(),
                                None => break,
                            }
                        }
                        if let Some(a) = at {
                            if let Some(p) = a.side.get().as_gc() {
                                held = Some(m.root(p));
                                a.side.set(m, NanValue::from_f64(-1.0));
                            }
                        }
                    }
                    Some(r) => {
                        if let Some(a) = slot.get() {
                            let p = r.get(m);
                            verify(&p);
                            a.side.set(m, NanValue::from_gc(p));
                        }
                    }
                },
                _ => {
                    if let Some(n) = slot.get() {
                        let mut seen = 0;
                        walk(&n, 6, &mut seen);
                    }
                }
            }
        }
        if op % 16 == 0 {
            m.safepoint();
        }
    }
}

fn stress(builder: HeapBuilder) {
    let heap = builder.gc_percent(Some(1)).build().unwrap();
    let census = Census::default();
    let graph = {
        let m = heap.mutator();
        let g = m.alloc_array(SLOTS, |_| Member::<Node>::null());
        // Long chains from every slot, so that marking takes long enough for
        // the mutators to move things under it.
        for (s, slot) in g.iter().enumerate() {
            for i in 0..200 {
                let id = (s * 1000 + i) as u64;
                let n = node(&m, id, &census);
                n.next.set(&m, slot.get());
                slot.set(&m, Some(n));
            }
        }
        GlobalRoot::new(&m, g)
    };
    std::thread::scope(|s| {
        for t in 1..=3u64 {
            let (heap, census, graph) = (heap.clone(), &census, &graph);
            s.spawn(move || {
                let mut m = heap.mutator();
                // At least 100k operations, and on until cycles have run
                // beside them (a fast machine finishes 100k before a few
                // cycles end).
                let mut round = 0;
                while round < 10 || heap.stats().num_gc <= 5 {
                    let seed = t * 0x1234_5678_9ABC + round;
                    mutate(&mut m, graph, census, seed, 10_000);
                    round += 1;
                }
            });
        }
    });
    let mut m = heap.mutator();
    let cycles = heap.stats().num_gc;
    assert!(
        cycles > 5,
        "cycles should have run during the mutation: {cycles}"
    );
    eprintln!("{cycles} cycles during the mutation");
    // What the shadow model says is reachable: walk the graph.
    let reachable = {
        let mut seen = std::collections::HashSet::new();
        let mut stack: Vec<u64> = Vec::new();
        let g = graph.get(&m);
        let mut nodes = Vec::new();
        for slot in g.iter() {
            if let Some(n) = slot.get() {
                nodes.push(n);
            }
        }
        while let Some(n) = nodes.pop() {
            verify(&n);
            if seen.insert(n.id) {
                stack.push(n.id);
                nodes.extend(links(Gc::as_ref(n)));
            }
        }
        seen.len()
    };
    m.collect();
    m.collect();
    assert_eq!(
        census.alive(),
        reachable,
        "after two full cycles exactly the reachable nodes are alive"
    );
}

fn checkmark() -> DebugFlags {
    DebugFlags {
        gccheckmark: true,
        ..DebugFlags::default()
    }
}

// Several rounds: each races the mutators against the marker differently
// (with the write barrier disabled, one round catches it about half the time).
#[test]
fn concurrent_mark_with_checkmark_keeps_everything_reachable() {
    for _ in 0..5 {
        stress(HeapBuilder::new().debug(checkmark()));
    }
}

#[test]
fn two_throttled_mark_workers_share_the_work_and_agree_on_termination() {
    for _ in 0..3 {
        stress(
            HeapBuilder::new()
                .debug(checkmark())
                .mark_workers(2)
                .mark_cpu_fraction(Some(0.25)),
        );
    }
}

#[test]
fn stop_the_world_mark_gives_the_same_results() {
    stress(HeapBuilder::new().debug(DebugFlags {
        gcstoptheworld: true,
        ..checkmark()
    }));
}

/// A pointer handed from one thread's roots to the global table while
/// marking runs must be shaded: the table was scanned in the first pause and
/// the thread's roots no longer hold it when they are scanned.
#[test]
fn global_roots_carry_objects_between_threads_during_marking() {
    let heap = HeapBuilder::new()
        .gc_percent(Some(1))
        .debug(checkmark())
        .build()
        .unwrap();
    let census = Census::default();
    let shared = {
        let m = heap.mutator();
        GlobalRoot::new(&m, node(&m, 0, &census))
    };
    std::thread::scope(|s| {
        for t in 1..=2u64 {
            let (heap, census, shared) = (heap.clone(), &census, &shared);
            s.spawn(move || {
                let mut m = heap.mutator();
                for i in 0..20_000u64 {
                    let r = m.root(node(&m, t << 32 | i, census));
                    // Garbage keeps cycles coming.
                    for _ in 0..4 {
                        node(&m, 0, census);
                    }
                    m.safepoint();
                    shared.set(&m, r.get(&m));
                    drop(r);
                    m.safepoint();
                    verify(&shared.get(&m));
                }
            });
        }
    });
    let mut m = heap.mutator();
    m.collect();
    verify(&shared.get(&m));
}
