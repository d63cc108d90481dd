//! Boehm and Ellis's GCBench on the tricolor heap with the standard
//! parameters: stretch depth 18, a long-lived tree of depth 16 built
//! top-down, a long-lived array of 500,000 doubles, then trees of depth
//! 4..16 (step 2) built top-down (children stored into an existing parent,
//! through the write barrier) and bottom-up. stdout matches the harness's
//! expected output; stderr gets time, cycles and pauses.

use std::time::Instant;

use tricolor::Heap;

#[path = "shared/report.rs"]
mod report;
#[path = "shared/trees.rs"]
mod trees;

use trees::GNode;

const STRETCH_DEPTH: u32 = 18;
const LONG_LIVED_DEPTH: u32 = 16;
const ARRAY_SIZE: usize = 500_000;
const MIN_DEPTH: u32 = 4;
const MAX_DEPTH: u32 = 16;

fn tree_size(depth: u32) -> u64 {
    (1 << (depth + 1)) - 1
}

fn main() {
    let start = Instant::now();
    let heap = Heap::new();
    let mut m = heap.mutator();

    let c = GNode::bottom_up(&m, STRETCH_DEPTH).check();
    println!("stretch tree of depth {STRETCH_DEPTH}\t check: {c}");
    m.safepoint();

    let long_lived = m.root(GNode::top_down(&m, LONG_LIVED_DEPTH));
    let mut values = vec![0.0f64; ARRAY_SIZE];
    for (i, v) in values.iter_mut().enumerate().take(ARRAY_SIZE / 2) {
        *v = 1.0 / i as f64;
    }
    let array = m.root(m.alloc(values));

    let mut d = MIN_DEPTH;
    while d <= MAX_DEPTH {
        let iters = 2 * tree_size(STRETCH_DEPTH) / tree_size(d);
        let mut td = 0;
        for i in 0..iters {
            let t = GNode::top_down(&m, d);
            if i == iters - 1 {
                td = t.check();
            }
            m.safepoint();
        }
        let mut bu = 0;
        for i in 0..iters {
            let t = GNode::bottom_up(&m, d);
            if i == iters - 1 {
                bu = t.check();
            }
            m.safepoint();
        }
        println!("{iters}\t trees of depth {d}\t top-down check: {td}\t bottom-up check: {bu}");
        d += 2;
    }
    println!(
        "long lived tree of depth {LONG_LIVED_DEPTH}\t check: {}",
        long_lived.get(&m).check()
    );
    let ok = array.get(&m)[1000] == 1.0 / 1000.0;
    println!(
        "long lived array of {ARRAY_SIZE} doubles\t check: {}",
        if ok { "ok" } else { "FAILED" }
    );
    report::report(&heap, start);
}
