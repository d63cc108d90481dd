//! The end of a mark, from an allocating mutator's side.
//!
//! Mark termination inside an allocation (gc-core's `world.rs`): a mutator
//! that builds a large structure between two safepoints lets the cycle that
//! started at its last safepoint end in the middle of the build, while it
//! holds unrooted `Gc`s, and none of their targets is freed. Checkmark
//! verifies every such mark.
//!
//! The goal: a mutator that allocates faster than the mark proceeds is held
//! at the heap goal (assist, then wait for the mark's end) instead of
//! growing the heap past it.

use tricolor::{DebugFlags, Gc, Heap, HeapBuilder, Member, Mutator, Trace};

#[derive(Trace)]
struct Node {
    left: Member<Node>,
    right: Member<Node>,
    depth: u32,
}

/// A complete tree built bottom-up with no safepoint and no root: every
/// subtree lives only in `Gc`s on this thread's stack until its parent is
/// allocated.
fn build<'m>(m: &'m Mutator, depth: u32) -> Gc<'m, Node> {
    let (left, right) = if depth == 0 {
        (Member::null(), Member::null())
    } else {
        (build(m, depth - 1).into(), build(m, depth - 1).into())
    };
    m.alloc(Node { left, right, depth })
}

/// Nodes in the tree, checking each node's depth against its place.
fn count(node: &Node, depth: u32) -> usize {
    assert_eq!(node.depth, depth, "a node was freed and reused");
    1 + [node.left.get(), node.right.get()]
        .into_iter()
        .flatten()
        .map(|child| count(&child, depth - 1))
        .sum::<usize>()
}

/// Builds trees until cycles have ended inside three builds; returns how
/// many builds it took.
fn build_until_cycles_end_inside(m: &mut Mutator) -> usize {
    let heap = m.heap().clone();
    let depth = 16;
    let mut ended_inside = 0;
    for round in 1..=200 {
        let before = heap.stats().num_gc;
        let tree = build(m, depth);
        // A cycle can only start at a safepoint, so one that ended during
        // the build started before it and ended in an allocation.
        let ended = heap.stats().num_gc > before;
        assert_eq!(count(&tree, depth), (1 << (depth + 1)) - 1);
        ended_inside += ended as usize;
        m.safepoint();
        if ended_inside == 3 {
            return round;
        }
    }
    panic!("no cycle ended inside a build in 200 rounds (it ended {ended_inside} times)");
}

/// A heap whose every mark termination re-marks from the roots and aborts
/// on an object the concurrent mark missed.
fn checkmark_heap() -> Heap {
    let checkmark = DebugFlags {
        gccheckmark: true,
        ..DebugFlags::default()
    };
    HeapBuilder::new().debug(checkmark).build().unwrap()
}

#[test]
fn cycles_end_inside_allocations_and_free_nothing_held() {
    let heap = checkmark_heap();
    let mut m = heap.mutator();
    build_until_cycles_end_inside(&mut m);
}

/// Two mutators building at once: both park in allocations for the same
/// mark termination.
#[test]
fn two_mutators_park_in_allocations_for_one_termination() {
    let heap = checkmark_heap();
    let threads: Vec<_> = (0..2)
        .map(|_| {
            let heap = heap.clone();
            std::thread::spawn(move || build_until_cycles_end_inside(&mut heap.mutator()))
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
}

/// Background marking throttled to 1% of the cores cannot keep up with a
/// thread allocating garbage flat out; without the wait at the goal, the
/// heap at mark end would be many times the goal.
#[test]
fn a_mutator_faster_than_the_mark_is_held_at_the_goal() {
    let heap: Heap = HeapBuilder::new()
        .mark_cpu_fraction(Some(0.01))
        .build()
        .unwrap();
    let mut m = heap.mutator();
    let _live = m.root(build(&m, 19));
    m.collect();
    let first = heap.stats().num_gc;
    while heap.stats().num_gc < first + 4 {
        for _ in 0..10_000 {
            m.alloc([0u64; 7]);
        }
        m.safepoint();
    }
    let r = heap.last_cycle().unwrap();
    // Slack: the spans and objects taken between two polls.
    assert!(
        r.heap_end <= r.goal + (2 << 20),
        "heap at mark end {} B, goal {} B: {r:?}",
        r.heap_end,
        r.goal
    );
    assert!(
        r.goal_wait >= std::time::Duration::from_millis(1),
        "the mutator was never held at the goal: {r:?}"
    );
}
