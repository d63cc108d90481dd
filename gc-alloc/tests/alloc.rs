//! gc-alloc against real mmapped memory and real threads.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use gc_alloc::{
    AllocError, AllocFlags, AllocHeap, FreeHook, HeapConfig, SpanClass, SpanHint, ThreadCache,
    TypeTag, ARENA_SIZE,
};

fn heap() -> Arc<AllocHeap> {
    AllocHeap::new(HeapConfig {
        reserve_bytes: 4 << 30,
        ..HeapConfig::default()
    })
    .unwrap()
}

const PLAIN: AllocFlags = AllocFlags {
    tag: 0,
    needs_drop: false,
    black: false,
};

/// Resident set size of this process in bytes, from /proc/self/statm.
fn rss() -> usize {
    let s = std::fs::read_to_string("/proc/self/statm").unwrap();
    let pages: usize = s.split_whitespace().nth(1).unwrap().parse().unwrap();
    pages * 4096
}

#[test]
fn threads_get_disjoint_aligned_objects_whose_contents_survive() {
    let heap = heap();
    let sizes = [
        8usize, 16, 24, 48, 100, 512, 1000, 4096, 20000, 40000, 100_000,
    ];
    let objects: Vec<Vec<(usize, usize)>> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..4u8)
            .map(|t| {
                let heap = heap.clone();
                s.spawn(move || {
                    let mut cache = ThreadCache::new(heap);
                    let mut mine = Vec::new();
                    for i in 0..3000 {
                        let size = sizes[i % sizes.len()];
                        let p = cache.alloc_size(size, i % 2 == 0, PLAIN).unwrap().as_ptr();
                        assert_eq!(p as usize % 8, 0, "misaligned object");
                        if size >= 32 {
                            assert_eq!(
                                p as usize % 16,
                                0,
                                "objects of 32 B and more are 16-aligned"
                            );
                        }
                        // SAFETY: the slot is ours and `size` bytes long.
                        unsafe {
                            std::ptr::write_bytes(p, t.wrapping_mul(31).wrapping_add(i as u8), size)
                        };
                        mine.push((p as usize, size));
                    }
                    for (i, &(p, size)) in mine.iter().enumerate() {
                        let want = t.wrapping_mul(31).wrapping_add(i as u8);
                        // SAFETY: as above, and no other thread was given this slot.
                        let bytes = unsafe { std::slice::from_raw_parts(p as *const u8, size) };
                        assert!(
                            bytes.iter().all(|&b| b == want),
                            "thread {t} object {i} was overwritten"
                        );
                    }
                    mine
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let mut all: Vec<(usize, usize)> = objects.into_iter().flatten().collect();
    all.sort();
    for w in all.windows(2) {
        assert!(
            w[0].0 + w[0].1 <= w[1].0,
            "objects {:#x}+{} and {:#x} overlap",
            w[0].0,
            w[0].1,
            w[1].0
        );
    }
}

#[test]
fn interior_pointers_find_their_object_and_foreign_addresses_do_not() {
    let heap = heap();
    let mut cache = ThreadCache::new(heap.clone());
    for size in [8usize, 24, 100, 3000, 32768, 70_000, 1 << 20] {
        let p = cache.alloc_size(size, false, PLAIN).unwrap().as_ptr() as usize;
        for off in [0, 1, size / 2, size - 1] {
            let o = heap
                .find_object(p + off)
                .unwrap_or_else(|| panic!("size {size} offset {off}: not found"));
            assert_eq!(o.base, p, "size {size} offset {off}");
            assert!(o.span.elem_size() >= size);
        }
    }
    let on_stack = 5u64;
    assert!(heap.find_object(&on_stack as *const u64 as usize).is_none());
    let boxed = Box::new(5u64);
    assert!(heap.find_object(&*boxed as *const u64 as usize).is_none());
    assert!(heap.find_object(0).is_none());
    let other = self::heap();
    let q = ThreadCache::new(other.clone())
        .alloc_size(64, false, PLAIN)
        .unwrap()
        .as_ptr() as usize;
    assert!(
        heap.find_object(q).is_none(),
        "an object of another heap is not ours"
    );
    assert!(other.find_object(q).is_some());
}

static DROPPED: AtomicUsize = AtomicUsize::new(0);

/// The type tag of the objects `sweep_frees_exactly_the_unmarked...` makes.
const COUNTED: TypeTag = 0xC0;

unsafe fn count_drop(p: std::ptr::NonNull<u8>, tag: TypeTag) {
    assert_eq!(
        tag, COUNTED,
        "hook called in a span that did not ask for it"
    );
    assert_eq!(
        // SAFETY: the hook gets freed slots that held a u64 written below.
        unsafe { *(p.as_ptr() as *const u64) } % 2,
        1,
        "hook called for a marked object"
    );
    DROPPED.fetch_add(1, Ordering::Relaxed);
}

/// Through a span hint (the marker's shortcut), every address finds what
/// the page map finds: the same span, slot and base, for bases and
/// interior addresses, in the hinted span, in other spans and outside the
/// heap.
#[test]
fn a_span_hint_finds_what_the_map_finds() {
    let heap = heap();
    let mut cache = ThreadCache::new(heap.clone());
    let mut addrs = Vec::new();
    for size in [16, 48, 16, 4096, 16] {
        for _ in 0..600 {
            let p = cache.alloc_size(size, false, PLAIN).unwrap();
            addrs.push(p.as_ptr() as usize);
            addrs.push(p.as_ptr() as usize + size / 2);
        }
    }
    addrs.push(0);
    addrs.push(usize::MAX);
    let mut hint = SpanHint::default();
    for &a in &addrs {
        let direct = heap.find_object(a);
        let near = heap.find_object_near(a, &mut hint);
        assert_eq!(direct.is_some(), near.is_some(), "{a:#x}");
        if let (Some(d), Some(n)) = (direct, near) {
            assert!(std::ptr::eq(d.span, n.span));
            assert_eq!((d.index, d.base), (n.index, n.base));
        }
    }
}

/// A heap whose sweeper calls `on_free`, a cache on it, and the span
/// class of 64-byte objects with pointers.
fn heap_with_hook(on_free: FreeHook) -> (Arc<AllocHeap>, ThreadCache, SpanClass) {
    let heap = AllocHeap::new(HeapConfig {
        reserve_bytes: 1 << 30,
        on_free: Some(on_free),
        ..HeapConfig::default()
    })
    .unwrap();
    let cache = ThreadCache::new(heap.clone());
    let spc = SpanClass::new(gc_alloc::size_class_of(64).unwrap(), false);
    (heap, cache, spc)
}

#[test]
fn sweep_frees_exactly_the_unmarked_and_reuses_their_slots() {
    let (heap, mut cache, spc) = heap_with_hook(count_drop);
    let n = 10_000usize;
    let objs: Vec<usize> = (0..n)
        .map(|i| {
            // The first allocation flags the span; the others need not.
            let flags = AllocFlags {
                tag: COUNTED,
                needs_drop: i % 128 == 0,
                black: false,
            };
            let p = cache.alloc(spc, flags).unwrap().as_ptr();
            // SAFETY: a fresh 64-byte slot.
            unsafe { *(p as *mut u64) = i as u64 };
            p as usize
        })
        .collect();
    // Keep every even object: mark it.
    for (i, &p) in objs.iter().enumerate() {
        if i % 2 == 0 {
            let o = heap.find_object(p).unwrap();
            assert!(
                o.span.mark(o.index),
                "first mark must report that it marked"
            );
            assert!(
                !o.span.mark(o.index),
                "second mark must report already marked"
            );
        }
    }
    heap.next_sweep_generation();
    cache.flush();
    heap.finish_sweep();
    assert_eq!(DROPPED.load(Ordering::Relaxed), n / 2, "every freed object");
    for (i, &p) in objs.iter().enumerate() {
        let o = heap.find_object(p).unwrap();
        assert_eq!(o.span.is_allocated(o.index), i % 2 == 0, "object {i}");
        if i % 2 == 0 {
            assert_eq!(
                // SAFETY: a surviving object.
                unsafe { *(p as *const u64) },
                i as u64,
                "survivor {i} changed"
            );
        }
    }
    let stats = heap.stats();
    assert_eq!(stats.frees, (n / 2) as u64);
    assert_eq!(stats.allocated_objects, (n / 2) as u64);
    // Freed slots are handed out again, and only those.
    let freed: HashSet<usize> = objs
        .iter()
        .enumerate()
        .filter(|(i, _)| i % 2 == 1)
        .map(|(_, &p)| p)
        .collect();
    let counted = AllocFlags {
        tag: COUNTED,
        ..PLAIN
    };
    for _ in 0..n / 2 {
        let p = cache.alloc(spc, counted).unwrap().as_ptr() as usize;
        assert!(freed.contains(&p), "allocation {p:#x} is not a freed slot");
    }
}

unsafe fn no_drop_expected(_: std::ptr::NonNull<u8>, tag: TypeTag) {
    panic!("on_free called in a span of tag {tag:#x}, which never asked for it");
}

/// The sweeper runs `on_free` only in spans an allocation flagged.
#[test]
fn spans_that_never_asked_for_on_free_free_without_it() {
    let (heap, mut cache, spc) = heap_with_hook(no_drop_expected);
    let objs: Vec<usize> = (0..1000)
        .map(|_| cache.alloc(spc, PLAIN).unwrap().as_ptr() as usize)
        .collect();
    heap.next_sweep_generation();
    cache.flush();
    heap.finish_sweep();
    assert!(objs.iter().all(|&p| heap
        .find_object(p)
        .is_none_or(|o| !o.span.is_allocated(o.index))));
}

/// Objects of different type tags never share a span, even when one cache
/// allocates them interleaved from one size class, and a span's free slots
/// go back only to allocations of its tag.
#[test]
fn each_span_holds_one_type_tag() {
    let heap = heap();
    let mut cache = ThreadCache::new(heap.clone());
    let spc = SpanClass::new(gc_alloc::size_class_of(32).unwrap(), true);
    let tagged = |tag| AllocFlags { tag, ..PLAIN };
    let tags: [TypeTag; 3] = [0x10, 0x20, 0x30];
    let objs: Vec<(TypeTag, usize)> = (0..3000)
        .map(|i| {
            let tag = tags[i % 3];
            (
                tag,
                cache.alloc(spc, tagged(tag)).unwrap().as_ptr() as usize,
            )
        })
        .collect();
    let mut span_tags: HashMap<usize, TypeTag> = HashMap::new();
    for &(tag, p) in &objs {
        let o = heap.find_object(p).unwrap();
        assert_eq!(o.span.tag(), tag, "object {p:#x}");
        assert_eq!(heap.tag_of(p), Some(tag));
        assert_eq!(*span_tags.entry(o.span.start()).or_insert(tag), tag);
    }
    // Keep only the objects of the first tag; the others' slots are freed.
    for &(tag, p) in &objs {
        if tag == tags[0] {
            let o = heap.find_object(p).unwrap();
            o.span.mark(o.index);
        }
    }
    heap.next_sweep_generation();
    cache.flush();
    heap.finish_sweep();
    // Spans left with free slots hold the first tag only: allocations of
    // another tag take fresh spans, never those slots.
    let kept: HashSet<usize> = objs
        .iter()
        .filter(|(tag, _)| *tag == tags[0])
        .map(|&(_, p)| heap.find_object(p).unwrap().span.start())
        .collect();
    for _ in 0..1000 {
        let p = cache.alloc(spc, tagged(tags[1])).unwrap().as_ptr() as usize;
        let o = heap.find_object(p).unwrap();
        assert!(!kept.contains(&o.span.start()), "tag 0x20 in a 0x10 span");
        assert_eq!(o.span.tag(), tags[1]);
    }
    let p = cache.alloc(spc, tagged(tags[0])).unwrap().as_ptr() as usize;
    assert!(
        kept.contains(&heap.find_object(p).unwrap().span.start()),
        "a free slot of the first tag's spans is reused"
    );
}

#[test]
fn empty_spans_return_pages_and_rss_falls() {
    let heap = heap();
    let mut cache = ThreadCache::new(heap.clone());
    let before = rss();
    let n = (256 << 20) / 128;
    for i in 0..n {
        let p = cache.alloc_size(128, true, PLAIN).unwrap().as_ptr();
        // SAFETY: touch the fresh 128-byte slot so its page is resident.
        unsafe { std::ptr::write_bytes(p, i as u8, 128) };
    }
    let grown = rss();
    assert!(
        grown > before + (200 << 20),
        "RSS {before} -> {grown}: pages were not touched"
    );
    // The lock-free count the pacer reads in its pause is the snapshot's.
    let committed = heap.committed_bytes();
    assert!(committed >= 256 << 20, "committed {committed}");
    assert_eq!(committed, heap.stats().committed_bytes);
    let span_bytes = heap.stats().span_bytes;
    // Nothing marked: everything is garbage.
    heap.next_sweep_generation();
    cache.flush();
    heap.finish_sweep();
    let stats = heap.stats();
    assert_eq!(stats.allocated_objects, 0);
    assert!(
        stats.span_bytes < span_bytes / 100,
        "spans not returned: {} of {span_bytes}",
        stats.span_bytes
    );
    // Scavenging keeps what the last eight periods needed at their peak;
    // once eight periods pass with the heap small, it goes back.
    for period in 0..8 {
        assert_eq!(
            heap.scavenge(0),
            0,
            "memory in use {period} periods ago is retained"
        );
    }
    let released = heap.scavenge(0);
    assert!(released >= 250 << 20, "released only {released}");
    assert_eq!(heap.committed_bytes(), committed - released);
    assert_eq!(heap.committed_bytes(), heap.stats().committed_bytes);
    let after = rss();
    assert!(
        after < grown - (200 << 20),
        "RSS did not fall: {grown} -> {after}"
    );
    assert!(heap.stats().released_bytes >= released);
    // Released pages come back as fresh memory.
    let p = cache.alloc_size(128, true, PLAIN).unwrap().as_ptr();
    // SAFETY: a fresh slot.
    unsafe { std::ptr::write_bytes(p, 7, 128) };
}

#[test]
fn heap_limit_is_an_error_and_the_heap_keeps_working() {
    let heap = AllocHeap::new(HeapConfig {
        reserve_bytes: 1 << 30,
        limit_bytes: 8 << 20,
        ..HeapConfig::default()
    })
    .unwrap();
    let mut cache = ThreadCache::new(heap.clone());
    let mut kept = Vec::new();
    let err = loop {
        match cache.alloc_size(4096, true, PLAIN) {
            Ok(p) => kept.push(p.as_ptr() as usize),
            Err(e) => break e,
        }
    };
    assert!(
        matches!(err, AllocError::HeapLimit { limit, .. } if limit == 8 << 20),
        "{err:?}"
    );
    assert!(err.to_string().contains("heap limit"), "{err}");
    assert!(
        kept.len() * 4096 >= 6 << 20,
        "stopped too early: {}",
        kept.len()
    );
    assert!(matches!(
        heap.alloc_large(1 << 20, true, PLAIN),
        Err(AllocError::HeapLimit { .. })
    ));
    // Free half (mark the other half), and allocation works again.
    for &p in kept.iter().step_by(2) {
        let o = heap.find_object(p).unwrap();
        o.span.mark(o.index);
    }
    heap.next_sweep_generation();
    cache.flush();
    heap.finish_sweep();
    for _ in 0..100 {
        cache.alloc_size(4096, true, PLAIN).unwrap();
    }
    heap.set_limit(64 << 20);
    heap.alloc_large(1 << 20, true, PLAIN).unwrap();
}

#[test]
fn address_space_exhaustion_is_an_error() {
    let heap = AllocHeap::new(HeapConfig {
        reserve_bytes: 64 << 20,
        ..HeapConfig::default()
    })
    .unwrap();
    let err = heap.alloc_large(100 << 20, true, PLAIN).unwrap_err();
    assert!(matches!(err, AllocError::AddressSpace { .. }), "{err:?}");
    heap.alloc_large(1 << 20, true, PLAIN).unwrap();
}

#[test]
fn a_refused_reservation_is_an_error_unless_fallback_is_allowed() {
    // 1 EiB is more than any x86-64 or AArch64 user address space.
    let huge = HeapConfig {
        reserve_bytes: 1 << 60,
        reserve_fallback: false,
        ..HeapConfig::default()
    };
    let err = AllocHeap::new(huge.clone()).err().expect("1 EiB reserved");
    assert!(
        matches!(err, AllocError::Os { what: "mmap", .. }),
        "{err:?}"
    );
    let heap = AllocHeap::new(HeapConfig {
        reserve_fallback: true,
        ..huge
    })
    .unwrap();
    assert!(heap.stats().reserved_bytes < 1 << 60);
    let err = AllocHeap::new(HeapConfig {
        reserve_bytes: usize::MAX,
        reserve_fallback: false,
        ..HeapConfig::default()
    })
    .err()
    .expect("usize::MAX reserved");
    assert!(matches!(err, AllocError::TooLarge { .. }), "{err:?}");
}

#[test]
fn the_reservation_is_rounded_up_to_whole_arenas() {
    let heap = AllocHeap::new(HeapConfig {
        reserve_bytes: ARENA_SIZE + 1,
        reserve_fallback: false,
        ..HeapConfig::default()
    })
    .unwrap();
    assert_eq!(heap.stats().reserved_bytes, 2 * ARENA_SIZE);
}

#[test]
fn sweeping_one_span_while_other_threads_allocate() {
    let heap = heap();
    let mut cache = ThreadCache::new(heap.clone());
    let keep: Vec<usize> = (0..50_000)
        .map(|i| {
            let p = cache.alloc_size(32, true, PLAIN).unwrap().as_ptr() as usize;
            if i % 4 == 0 {
                let o = heap.find_object(p).unwrap();
                o.span.mark(o.index);
                // SAFETY: a fresh 32-byte slot.
                unsafe { *(p as *mut usize) = p };
            }
            p
        })
        .collect();
    heap.next_sweep_generation();
    cache.flush();
    std::thread::scope(|s| {
        s.spawn(|| heap.finish_sweep());
        for _ in 0..2 {
            s.spawn(|| {
                let mut c = ThreadCache::new(heap.clone());
                for _ in 0..50_000 {
                    let p = c.alloc_size(32, true, PLAIN).unwrap().as_ptr();
                    // SAFETY: a fresh slot; writing it must not disturb survivors.
                    unsafe { *(p as *mut usize) = 0 };
                }
            });
        }
    });
    for &p in keep.iter().step_by(4) {
        assert_eq!(
            // SAFETY: survivors were marked.
            unsafe { *(p as *const usize) },
            p,
            "a survivor was handed out again"
        );
    }
}

/// A span whose sweep frees every object keeps its pages as an empty span of
/// its class (`central.rs`): a cache of another tag maps it again without
/// new pages, and `release_empty_spans` (which `finish_sweep` also runs)
/// gives the rest back to the page heap.
#[test]
fn emptied_spans_are_mapped_again_for_any_tag_then_released() {
    let heap = heap();
    let mut cache = ThreadCache::new(heap.clone());
    let old = AllocFlags { tag: 1, ..PLAIN };
    let new = AllocFlags { tag: 2, ..PLAIN };
    // Four one-page spans of the 64-byte class, full.
    let first: Vec<usize> = (0..4 * 128)
        .map(|_| cache.alloc_size(64, true, old).unwrap().as_ptr() as usize)
        .collect();
    cache.flush();
    let span_bytes = heap.stats().span_bytes;
    assert_eq!(span_bytes, 4 * 8192);
    // Nothing marked: sweeping empties all four, which keep their pages.
    heap.next_sweep_generation();
    while heap.sweep_one() {}
    let stats = heap.stats();
    assert_eq!(stats.allocated_objects, 0);
    assert_eq!(
        stats.span_bytes, span_bytes,
        "emptied spans keep their pages"
    );
    assert_eq!(heap.listed_spans(), 4, "in their class's empty list");
    let p = cache.alloc_size(64, true, new).unwrap().as_ptr() as usize;
    assert!(first.contains(&p), "an emptied span was mapped again");
    assert_eq!(heap.tag_of(p), Some(2));
    assert_eq!(heap.stats().span_bytes, span_bytes, "no new pages");
    assert_eq!(heap.release_empty_spans(), 3);
    assert_eq!(heap.stats().span_bytes, 8192);
    for &start in first.iter().step_by(128).filter(|&&a| a != p) {
        assert_eq!(heap.tag_of(start), None, "released spans are unmapped");
    }
    cache.flush();
}
