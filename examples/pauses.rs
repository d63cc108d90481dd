//! Pause times under a large live heap:
//! `pauses [live MiB = 1024] [mark CPU fraction, e.g. 0.25; default: use idle cores]`.
//!
//! Keeps a live heap of small objects (64-byte list nodes hanging off a
//! rooted table) while the mutator keeps replacing random lists with new
//! ones, so the collector runs cycle after cycle with the full heap live.
//! Prints the number of cycles, the max / p99 / median stop-the-world pause,
//! and the mutator's throughput (node replacements per second) with the
//! collector running vs. on a heap with `GCPERCENT=off`.

use std::time::{Duration, Instant};

use tricolor::{GcArray, Heap, HeapBuilder, Member, Mutator, Root, Trace};

#[path = "shared/rng.rs"]
mod rng;
use rng::Rng;

#[derive(Trace, Default)]
struct Node {
    next: Member<Node>,
    payload: [u64; 4],
}

const LISTS: usize = 1 << 16;
/// Bytes per node slot (a link and a 32-byte payload round to 48 B).
const NODE_BYTES: usize = 48;

fn build_list(m: &Mutator, len: usize, seed: u64) -> Option<tricolor::Gc<'_, Node>> {
    let mut head = None;
    for i in 0..len {
        let n = m.alloc(Node {
            payload: [seed, i as u64, 0, 0],
            ..Node::default()
        });
        n.next.set(m, head);
        head = Some(n);
    }
    head
}

/// Fill the table, then replace `ops` random lists; returns the time the
/// replacements took.
fn run(heap: &Heap, live_mib: usize, ops: usize) -> Duration {
    let mut m = heap.mutator();
    let per_list = (live_mib << 20) / NODE_BYTES / LISTS;
    let table: Root<GcArray<Member<Node>>> = m.root(m.alloc_array(LISTS, |_| Member::null()));
    for i in 0..LISTS {
        let t = table.get(&m);
        t[i].set(&m, build_list(&m, per_list, i as u64));
        if i % 64 == 0 {
            m.safepoint();
        }
    }
    let mut rng = Rng(0x2545_F491_4F6C_DD1D);
    let start = Instant::now();
    for op in 0..ops {
        let t = table.get(&m);
        let i = rng.below(LISTS);
        t[i].set(&m, build_list(&m, per_list, op as u64));
        m.safepoint();
    }
    start.elapsed()
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let k = ((p * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[k - 1]
}

fn main() {
    let live_mib: usize = std::env::args().nth(1).map_or(1024, |a| {
        a.parse().unwrap_or_else(|_| {
            eprintln!("usage: pauses [live MiB = 1024]");
            std::process::exit(2)
        })
    });
    let mark_cpu: Option<f64> = std::env::args().nth(2).map(|a| {
        a.parse().unwrap_or_else(|_| {
            eprintln!("usage: pauses [live MiB = 1024] [mark CPU fraction]");
            std::process::exit(2)
        })
    });
    // Replace twice the live heap, so several cycles run.
    let ops = 2 * LISTS;

    let heap = HeapBuilder::new()
        .from_env()
        .unwrap_or_else(|e| panic!("{e}"))
        .mark_cpu_fraction(mark_cpu)
        .build()
        .expect("heap");
    let with_gc = run(&heap, live_mib, ops);
    let s = heap.stats();
    let mut pauses = s.pauses.clone();
    pauses.sort();
    drop(heap);

    let off = HeapBuilder::new().gc_percent(None).build().expect("heap");
    let without_gc = run(&off, live_mib, ops);
    drop(off);

    let us = |d: Duration| d.as_secs_f64() * 1e6;
    let rate = |d: Duration| ops as f64 / d.as_secs_f64();
    println!("live heap          {live_mib} MiB in {LISTS} lists of small objects");
    println!("cycles             {}", s.num_gc);
    println!(
        "stw pauses         max {:.1} us, p99 {:.1} us, median {:.1} us ({} pauses kept)",
        us(s.pause_max),
        us(percentile(&pauses, 0.99)),
        us(percentile(&pauses, 0.5)),
        pauses.len()
    );
    println!(
        "throughput         {:.0} list replacements/s with GC, {:.0}/s with GCPERCENT=off: {:.0}%",
        rate(with_gc),
        rate(without_gc),
        100.0 * rate(with_gc) / rate(without_gc)
    );
    println!(
        "safepoint wait     max {:.1} us (to reach a safepoint once a stop is requested)",
        us(s.stop_wait_max)
    );
    println!(
        "GC CPU             {:.1}% of all cores",
        s.gc_cpu_fraction * 100.0
    );
}
