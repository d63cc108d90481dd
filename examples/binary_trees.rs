//! The Benchmarks Game binary-trees workload on the tricolor heap, single
//! mutator thread. `binary_trees [depth=21]`; stdout matches the reference
//! program, stderr gets time, cycles and pauses.

use std::time::Instant;

use tricolor::Heap;

#[path = "shared/report.rs"]
mod report;
// GCBench's half of the shared tree code (`GNode`, `Node::top_down`) is
// not used by binary-trees.
#[allow(dead_code)]
#[path = "shared/trees.rs"]
mod trees;

/// binary-trees' node: two children and no payload.
type Node = trees::Node<()>;

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

    let c = Node::bottom_up(&m, stretch).check();
    println!("stretch tree of depth {stretch}\t check: {c}");
    m.safepoint();

    let long_lived = m.root(Node::bottom_up(&m, max_depth));
    let mut d = min_depth;
    while d <= max_depth {
        let iters = 1u64 << (max_depth - d + min_depth);
        let mut sum = 0;
        for _ in 0..iters {
            sum += Node::bottom_up(&m, d).check();
            m.safepoint();
        }
        println!("{iters}\t trees of depth {d}\t check: {sum}");
        d += 2;
    }
    println!(
        "long lived tree of depth {max_depth}\t check: {}",
        long_lived.get(&m).check()
    );
    report::report(&heap, start);
}
