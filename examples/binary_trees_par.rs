//! binary-trees with K mutator threads on one tricolor heap, the shape of
//! the harness's `c/bt_malloc_par.c`, `go/binarytrees_par` and
//! `rust/src/bin/box_par.rs`: `binary_trees_par [N=21] [K=cores]`.
//!
//! The main thread builds and checks the stretch tree, then builds the
//! long-lived tree and keeps it rooted. For each depth d = 4, 6, ..., N the
//! 2^(N-d+4) trees are split into K contiguous chunks; worker w builds and
//! checks the trees of chunk w of every depth, each with its own mutator,
//! reaching a safepoint after every tree (workers do not wait for each
//! other between depths). The main thread waits in a safe region
//! (`Mutator::blocking`), adds the partial sums and prints the lines in
//! depth order: stdout is the same as `binary_trees`'. stderr gets the GC
//! summary.

use std::time::Instant;

use tricolor::Heap;

#[path = "shared/report.rs"]
mod report;
// GCBench's half of the shared tree code is not used here.
#[allow(dead_code)]
#[path = "shared/trees.rs"]
mod trees;

/// binary-trees' node: two children and no payload.
type Node = trees::Node<()>;

const MIN_DEPTH: u32 = 4;

fn usage() -> ! {
    eprintln!("usage: binary_trees_par [N=21] [K>=1, default: the number of cores]");
    std::process::exit(2)
}

fn arg<T: std::str::FromStr>(i: usize, default: T) -> T {
    match std::env::args().nth(i) {
        Some(a) => a.parse().unwrap_or_else(|_| usage()),
        None => default,
    }
}

/// Worker `w` of `k`: build and check its chunk of every depth's trees;
/// returns the partial check sums in depth order.
fn worker(heap: &Heap, w: u64, k: u64, max_depth: u32) -> Vec<u64> {
    let mut m = heap.mutator();
    (MIN_DEPTH..=max_depth)
        .step_by(2)
        .map(|d| {
            let iters = 1u64 << (max_depth - d + MIN_DEPTH);
            let (lo, hi) = (iters * w / k, iters * (w + 1) / k);
            let mut sum = 0;
            for _ in lo..hi {
                sum += Node::bottom_up(&m, d).check();
                m.safepoint();
            }
            sum
        })
        .collect()
}

fn main() {
    let n: u32 = arg(1, 21);
    let cores = std::thread::available_parallelism().map_or(1, |c| c.get() as u64);
    let k: u64 = arg(2, cores);
    if k == 0 {
        usage();
    }
    let start = Instant::now();
    let heap = Heap::new();
    let mut m = heap.mutator();
    let max_depth = n.max(MIN_DEPTH + 2);
    let stretch = max_depth + 1;

    let c = Node::bottom_up(&m, stretch).check();
    println!("stretch tree of depth {stretch}\t check: {c}");
    m.safepoint();

    let long_lived = m.root(Node::bottom_up(&m, max_depth));
    // The main thread only waits from here on: in a safe region, so the
    // workers' cycles do not wait for it.
    let sums: Vec<Vec<u64>> = m.blocking(|| {
        std::thread::scope(|s| {
            let handles: Vec<_> = (0..k)
                .map(|w| {
                    let heap = &heap;
                    s.spawn(move || worker(heap, w, k, max_depth))
                })
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().expect("a worker panicked"))
                .collect()
        })
    });
    for (i, d) in (MIN_DEPTH..=max_depth).step_by(2).enumerate() {
        let iters = 1u64 << (max_depth - d + MIN_DEPTH);
        let sum: u64 = sums.iter().map(|s| s[i]).sum();
        println!("{iters}\t trees of depth {d}\t check: {sum}");
    }
    println!(
        "long lived tree of depth {max_depth}\t check: {}",
        long_lived.get(&m).check()
    );
    report::report(&heap, start);
}
