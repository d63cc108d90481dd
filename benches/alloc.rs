//! Allocation speed: the gc-alloc thread-cache fast path against `Box::new`
//! (system malloc) at 16 B, 64 B, 256 B and 2 KiB, in one criterion group so
//! the ratio is read off one run. Only allocation is timed: `Box`es are freed
//! and the GC heap is swept outside the timed loop.

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use gc_alloc::{size_class_of, AllocFlags, AllocHeap, HeapConfig, SpanClass, ThreadCache};

const BATCH: u64 = 10_000;

fn boxes<const N: usize>(iters: u64) -> Duration {
    let mut kept: Vec<Box<[u8; N]>> = Vec::with_capacity(BATCH as usize);
    let mut total = Duration::ZERO;
    let mut left = iters;
    while left > 0 {
        let n = left.min(BATCH);
        let t = Instant::now();
        for _ in 0..n {
            kept.push(black_box(Box::new([0u8; N])));
        }
        total += t.elapsed();
        kept.clear();
        left -= n;
    }
    total
}

fn gc_objects(cache: &mut ThreadCache, size: usize, iters: u64) -> Duration {
    let spc = SpanClass::new(size_class_of(size).expect("small size"), true);
    let mut total = Duration::ZERO;
    let mut left = iters;
    while left > 0 {
        let n = left.min(BATCH);
        let t = Instant::now();
        for _ in 0..n {
            black_box(
                cache
                    .alloc(spc, AllocFlags::default())
                    .expect("allocation failed"),
            );
        }
        total += t.elapsed();
        // Nothing is marked: sweeping frees the whole batch.
        cache.heap().next_sweep_generation();
        cache.flush();
        cache.heap().finish_sweep();
        left -= n;
    }
    total
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

criterion_group!(benches, alloc);
criterion_main!(benches);
