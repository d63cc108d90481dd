//! Allocation speed: the gc-alloc thread-cache fast path against `Box::new`
//! (system malloc) at 16 B, 64 B, 256 B and 2 KiB, in one criterion group so
//! the ratio is read off one run. Only allocation is timed: `Box`es are freed
//! and the GC heap is swept outside the timed loop.
//!
//! Group `roots`: making and dropping a `Root` (and cloning one) against one
//! 16-byte allocation through the same `Mutator`, so the cost of a root is
//! read as a multiple of an allocation's.

// `criterion_main!` defines an undocumented `pub fn main`.
#![allow(missing_docs)]

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use gc_alloc::{size_class_of, AllocFlags, AllocHeap, HeapConfig, SpanClass, ThreadCache};
use tricolor::HeapBuilder;

const BATCH: u64 = 10_000;

/// Time `alloc_batch(n)` over batches of at most `BATCH` allocations,
/// running `release` (untimed) after each batch.
fn batched(iters: u64, mut alloc_batch: impl FnMut(u64), mut release: impl FnMut()) -> Duration {
    let mut total = Duration::ZERO;
    let mut left = iters;
    while left > 0 {
        let n = left.min(BATCH);
        let t = Instant::now();
        alloc_batch(n);
        total += t.elapsed();
        release();
        left -= n;
    }
    total
}

fn boxes<const N: usize>(iters: u64) -> Duration {
    let kept = std::cell::RefCell::new(Vec::<Box<[u8; N]>>::with_capacity(BATCH as usize));
    batched(
        iters,
        |n| (0..n).for_each(|_| kept.borrow_mut().push(black_box(Box::new([0u8; N])))),
        || kept.borrow_mut().clear(),
    )
}

fn gc_objects(cache: &mut ThreadCache, size: usize, iters: u64) -> Duration {
    let spc = SpanClass::new(size_class_of(size).expect("small size"), true);
    let cache = std::cell::RefCell::new(cache);
    batched(
        iters,
        |n| {
            let mut c = cache.borrow_mut();
            for _ in 0..n {
                black_box(
                    c.alloc(spc, AllocFlags::default())
                        .expect("allocation failed"),
                );
            }
        },
        || {
            // Nothing is marked: sweeping frees the whole batch.
            let mut c = cache.borrow_mut();
            c.heap().next_sweep_generation();
            c.flush();
            c.heap().finish_sweep();
        },
    )
}

fn alloc(c: &mut Criterion) {
    let heap = AllocHeap::new(HeapConfig::default()).expect("heap");
    let mut cache = ThreadCache::new(heap);
    let mut g = c.benchmark_group("alloc");
    g.throughput(criterion::Throughput::Elements(1));
    macro_rules! size {
        ($n:literal) => {
            g.bench_function(BenchmarkId::new("box", $n), |b| b.iter_custom(boxes::<$n>));
            g.bench_function(BenchmarkId::new("gc-alloc", $n), |b| {
                b.iter_custom(|i| gc_objects(&mut cache, $n, i))
            });
        };
    }
    size!(16);
    size!(64);
    size!(256);
    size!(2048);
    g.finish();
}

fn roots(c: &mut Criterion) {
    let heap = HeapBuilder::new().build().expect("heap");
    // Collecting between batches (untimed) needs `&mut`, allocating `&`.
    let m = std::cell::RefCell::new(heap.mutator());
    let mut g = c.benchmark_group("roots");
    g.throughput(criterion::Throughput::Elements(1));
    g.bench_function("alloc 16 B", |b| {
        b.iter_custom(|iters| {
            batched(
                iters,
                |n| {
                    let m = m.borrow();
                    (0..n).for_each(|i| {
                        black_box(m.alloc(i));
                    });
                },
                || m.borrow_mut().collect(),
            )
        })
    });
    let m = m.into_inner();
    let target = m.alloc(0u64);
    g.bench_function("root create+drop", |b| b.iter(|| m.root(target)));
    let root = m.root(target);
    g.bench_function("root clone+drop", |b| b.iter(|| root.clone()));
    g.finish();
}

criterion_group!(benches, alloc, roots);
criterion_main!(benches);
