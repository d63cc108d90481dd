//! Mark time with one and with two background mark workers:
//! `mark_workers [tree depth = 21] [collections = 5] [bottom-up | top-down]`.
//!
//! Builds one rooted binary tree (a depth-first scan of it never holds more
//! than one pending sibling per level, the case where a second worker gets
//! work only through the grey pool's balancing, gc-core's `grey.rs`), then
//! runs full collections with the mutator waiting in `collect`, so the
//! workers have the cores to themselves. Prints the median mark wall time
//! and the workers' CPU per worker count, and the speedup.
//!
//! The tree is built bottom-up by default (children before parents: the
//! marker meets the nodes in the order they lie in memory) or top-down
//! (parents first: the marker jumps around memory, the case gc-core's
//! `prefetch.rs` is for).

use std::time::Duration;

use tricolor::{HeapBuilder, Mutator};

#[allow(dead_code)]
#[path = "shared/trees.rs"]
mod trees;

type Node = trees::Node<()>;

/// Median mark wall time and background CPU of `runs` full collections of a
/// tree of `depth`, with `workers` mark workers.
fn mark_times(workers: usize, depth: u32, runs: usize, top_down: bool) -> (Duration, Duration) {
    let heap = HeapBuilder::new().mark_workers(workers).build().unwrap();
    let mut m: Mutator = heap.mutator();
    let tree = m.root(if top_down {
        Node::top_down(&m, depth)
    } else {
        Node::bottom_up(&m, depth)
    });
    m.collect();
    let mut walls = Vec::new();
    let mut cpus = Vec::new();
    for _ in 0..runs {
        m.collect();
        let r = heap.last_cycle().unwrap();
        walls.push(r.mark_wall);
        cpus.push(r.background_cpu);
    }
    assert_eq!(Node::check(&tree.get(&m)), (1 << (depth + 1)) - 1);
    walls.sort();
    cpus.sort();
    (walls[runs / 2], cpus[runs / 2])
}

fn main() {
    let mut args = std::env::args().skip(1);
    let depth: u32 = args.next().map_or(21, |a| a.parse().expect("tree depth"));
    let runs: usize = args.next().map_or(5, |a| a.parse().expect("collections"));
    let top_down = match args.next().as_deref() {
        None | Some("bottom-up") => false,
        Some("top-down") => true,
        Some(other) => panic!("tree layout {other:?}: say bottom-up or top-down"),
    };
    let objects = (1u64 << (depth + 1)) - 1;
    let layout = if top_down { "top-down" } else { "bottom-up" };
    println!("live {layout} tree of depth {depth}: {objects} objects; median of {runs} marks");
    let mut one = Duration::ZERO;
    for workers in [1, 2] {
        let (wall, cpu) = mark_times(workers, depth, runs, top_down);
        println!(
            "{workers} worker(s): mark {:.1} ms wall, {:.1} ms worker CPU, {:.1} ns/object",
            wall.as_secs_f64() * 1e3,
            cpu.as_secs_f64() * 1e3,
            wall.as_nanos() as f64 / objects as f64
        );
        if workers == 1 {
            one = wall;
        } else {
            println!(
                "speedup with 2 workers: {:.2}x",
                one.as_secs_f64() / wall.as_secs_f64()
            );
        }
    }
}
