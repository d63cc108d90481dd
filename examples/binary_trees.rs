//! The Benchmarks Game binary-trees workload on the tricolor heap, single
//! mutator thread. `binary_trees [depth=21]`; stdout matches the reference
//! program, stderr gets time, cycles and pauses.

use std::time::Instant;

use tricolor::{Gc, Heap, Member, Mutator, Trace};

#[path = "shared/report.rs"]
mod report;

#[derive(Trace, Default)]
struct Node {
    left: Member<Node>,
    right: Member<Node>,
}

/// A tree of `depth`, children allocated before their parent.
fn bottom_up(m: &Mutator, depth: u32) -> Gc<'_, Node> {
    let node = if depth == 0 {
        m.alloc(Node::default())
    } else {
        let l = bottom_up(m, depth - 1);
        let r = bottom_up(m, depth - 1);
        let n = m.alloc(Node::default());
        n.left.set(m, Some(l));
        n.right.set(m, Some(r));
        n
    };
    node
}

fn check(n: &Node) -> u64 {
    match (n.left.get(), n.right.get()) {
        (Some(l), Some(r)) => 1 + check(&l) + check(&r),
        _ => 1,
    }
}

fn main() {
    let n: u32 = match std::env::args().nth(1) {
        Some(a) => a.parse().unwrap_or_else(|_| {
            eprintln!("usage: binary_trees [depth=21]");
            std::process::exit(2)
        }),
        None => 21,
    };
    let start = Instant::now();
    let heap = Heap::new();
    let mut m = heap.mutator();
    let min_depth = 4;
    let max_depth = n.max(min_depth + 2);
    let stretch = max_depth + 1;

    let c = check(&bottom_up(&m, stretch));
    println!("stretch tree of depth {stretch}\t check: {c}");
    m.safepoint();

    let long_lived = m.root(bottom_up(&m, max_depth));
    let mut d = min_depth;
    while d <= max_depth {
        let iters = 1u64 << (max_depth - d + min_depth);
        let mut sum = 0;
        for _ in 0..iters {
            sum += check(&bottom_up(&m, d));
            m.safepoint();
        }
        println!("{iters}\t trees of depth {d}\t check: {sum}");
        d += 2;
    }
    println!(
        "long lived tree of depth {max_depth}\t check: {}",
        check(&long_lived.get(&m))
    );
    report::report(&heap, start);
}
