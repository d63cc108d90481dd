//! Weak bits: the sweeper reports exactly the freed objects that have one,
//! while their memory is intact, and `weak_liveness` reads the last mark
//! until a span has reported.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};

use gc_alloc::{
    size_class_of, AllocFlags, AllocHeap, HeapConfig, SpanClass, ThreadCache, WeakHook,
    WeakLiveness,
};

const PLAIN: AllocFlags = AllocFlags {
    tag: 0,
    needs_drop: false,
    black: false,
};

/// A heap whose hook records every reported base, after checking that the
/// object still holds what was written into it (its index + 1).
fn heap(reported: Arc<Mutex<Vec<usize>>>) -> Arc<AllocHeap> {
    let hook = WeakHook::new(move |bases: &[usize]| {
        for &b in bases {
            // SAFETY: reported objects are not freed yet; each holds a u64.
            let v = unsafe { *(b as *const u64) };
            assert!(
                v != 0 && v != 0xDBDB_DBDB_DBDB_DBDB,
                "reported after its memory was freed"
            );
        }
        reported.lock().unwrap().extend_from_slice(bases);
    });
    AllocHeap::new(HeapConfig {
        reserve_bytes: 1 << 30,
        on_dead_weak: Some(hook),
        ..HeapConfig::default()
    })
    .unwrap()
}

fn alloc(cache: &mut ThreadCache, spc: SpanClass, value: u64) -> usize {
    let p = cache.alloc(spc, PLAIN).unwrap().as_ptr();
    // SAFETY: a fresh 64-byte slot.
    unsafe { *(p as *mut u64) = value };
    p as usize
}

fn mark(heap: &AllocHeap, p: usize) {
    let o = heap.find_object(p).unwrap();
    o.span.mark(o.index);
}

#[test]
fn the_sweeper_reports_exactly_the_dead_objects_with_a_weak_bit() {
    let reported = Arc::new(Mutex::new(Vec::new()));
    let heap = heap(reported.clone());
    let mut cache = ThreadCache::new(heap.clone());
    let spc = SpanClass::new(size_class_of(64).unwrap(), true);
    let n = 3000;
    let objs: Vec<usize> = (0..n).map(|i| alloc(&mut cache, spc, i + 1)).collect();
    let weak = |i: u64| i % 3 == 0;
    let live = |i: u64| i % 2 == 0;
    for (i, &p) in (0..).zip(&objs) {
        if weak(i) {
            heap.set_weak(p);
        }
        if live(i) {
            mark(&heap, p);
        }
    }
    // As the collector does: no span stays cached across the change.
    cache.flush();
    heap.next_sweep_generation();
    assert!(!heap.sweep_done());
    for (i, &p) in (0..).zip(&objs) {
        let expected = if live(i) {
            WeakLiveness::Marked
        } else {
            WeakLiveness::Unmarked
        };
        assert_eq!(
            heap.weak_liveness(p),
            expected,
            "object {i} before the sweep"
        );
    }
    assert!(reported.lock().unwrap().is_empty());

    // An object in a span made during this sweep generation reads as
    // reported (there is nothing to report), though the sweep is not done.
    let mut other = ThreadCache::new(heap.clone());
    let fresh = alloc(
        &mut other,
        SpanClass::new(size_class_of(256).unwrap(), true),
        1,
    );
    heap.set_weak(fresh);
    assert_eq!(heap.weak_liveness(fresh), WeakLiveness::Reported);

    heap.finish_sweep();
    assert!(heap.sweep_done());
    let got: HashSet<usize> = reported.lock().unwrap().drain(..).collect();
    let want: HashSet<usize> = (0..)
        .zip(&objs)
        .filter(|&(i, _)| weak(i) && !live(i))
        .map(|(_, &p)| p)
        .collect();
    assert_eq!(got, want);
    assert!(objs
        .iter()
        .all(|&p| heap.weak_liveness(p) == WeakLiveness::Reported));

    // Next generation: the freed slots come back without a weak bit, so
    // only the surviving weak objects are reported when everything dies.
    let reused: Vec<usize> = (0..n / 2).map(|_| alloc(&mut cache, spc, 9)).collect();
    assert!(
        reused.iter().any(|p| want.contains(p)),
        "no reported slot reused"
    );
    cache.flush();
    other.flush();
    heap.next_sweep_generation();
    heap.finish_sweep();
    let got: HashSet<usize> = reported.lock().unwrap().drain(..).collect();
    let want: HashSet<usize> = (0..)
        .zip(&objs)
        .filter(|&(i, _)| weak(i) && live(i))
        .map(|(_, &p)| p)
        .chain([fresh])
        .collect();
    assert_eq!(got, want);
}
