//! The weak-keyed tables: `WeakMap` (identity keys) and `WeakSet` (content
//! keys, interning): dead entries never match and are pruned without a
//! rebuild, and interning stays sound while cycles mark.

use tricolor::{DebugFlags, HeapBuilder, WeakMap, WeakSet};

#[path = "common/reuse.rs"]
mod reuse;
use reuse::{heap, leaf_at, Leaf};

#[test]
fn weak_map_forgets_dead_keys_and_never_matches_a_reused_address() {
    let heap = heap();
    let mut m = heap.mutator();
    let mut map = WeakMap::new();
    let mut kept = Vec::new();
    for i in 0..100 {
        let k = m.alloc(Leaf { value: i });
        map.insert(&m, k, i * 10);
        if i % 10 == 0 {
            kept.push(m.root(k));
        }
    }
    let dead = {
        let k = m.alloc(Leaf { value: 1000 });
        map.insert(&m, k, 0);
        format!("{k:p}")
    };
    assert_eq!(map.len(), 101);
    assert_eq!(map.insert(&m, kept[1].get(&m), 11), Some(100));
    m.collect();
    // Dead entries stay until pruned, but never match.
    assert_eq!(map.len(), 101);
    let mut keep = Vec::new();
    let reused = leaf_at(&m, &dead, &mut keep);
    assert_eq!(map.get(reused), None);
    // The first insert after a cycle prunes on its own.
    map.insert(&m, reused, 5);
    assert_eq!(map.len(), 11);
    assert_eq!(map.get(reused), Some(&5));
    assert_eq!(map.get(kept[1].get(&m)), Some(&11));
    assert_eq!(map.get(kept[2].get(&m)), Some(&200));
    assert_eq!(map.remove(kept[2].get(&m)), Some(200));
    assert!(!map.contains_key(kept[2].get(&m)));
    *map.get_or_insert_with(&m, kept[3].get(&m), || 0) += 1;
    assert_eq!(map.get(kept[3].get(&m)), Some(&301));
    let mut live: Vec<u64> = map.iter(&m).map(|(k, _)| k.value).collect();
    live.sort();
    assert_eq!(live.len(), 10);
    drop(kept);
    drop(keep);
    m.collect();
    map.prune();
    assert!(map.is_empty());
}

#[test]
fn weak_set_interns_by_content_and_forgets_the_dead() {
    let heap = heap();
    let mut m = heap.mutator();
    let mut set: WeakSet<String> = WeakSet::new();
    let a = set.get_or_insert_with(&m, "car", |s| m.alloc(s.to_string()));
    let b = set.get_or_insert_with(&m, "car", |s| m.alloc(s.to_string()));
    assert_eq!(a, b);
    let cdr = m.root(set.get_or_insert_with(&m, "cdr", |s| m.alloc(s.to_string())));
    assert_eq!(set.len(), 2);
    m.collect();
    assert_eq!(set.get(&m, "car"), None, "collected");
    assert_eq!(set.get(&m, "cdr"), Some(cdr.get(&m)));
    let again = set.get_or_insert_with(&m, "car", |s| m.alloc(s.to_string()));
    assert_eq!(again.as_str(), "car");
    assert_eq!(set.len(), 2, "the insert pruned the dead member");

    // By a hash and an equality test of the caller's own.
    let mut by_len: WeakSet<String> = WeakSet::new();
    let x = by_len.find_or_insert_with(&m, 3, |s| s.len() == 3, || m.alloc("xyz".into()));
    let y = by_len.find_or_insert_with(&m, 3, |s| s.len() == 3, || m.alloc("abc".into()));
    assert_eq!(x, y);
    assert_eq!(by_len.find(&m, 3, |s| s == "xyz"), Some(x));
    assert_eq!(by_len.find(&m, 4, |_| true), None);
}

/// Interning while cycles mark concurrently: content lookups upgrade (and
/// so shade) candidates; checkmark verifies every mark, and every interned
/// string must read back intact.
#[test]
fn interning_under_concurrent_marking_is_sound() {
    let heap = HeapBuilder::new()
        .gc_percent(Some(1))
        .debug(DebugFlags {
            gccheckmark: true,
            ..DebugFlags::DEFAULT
        })
        .build()
        .unwrap();
    let mut m = heap.mutator();
    let mut set: WeakSet<String> = WeakSet::new();
    let mut kept = Vec::new();
    for i in 0..50_000u64 {
        let name = format!("sym{}", i % 700);
        let s = set.get_or_insert_with(&m, name.as_str(), |s| m.alloc(s.to_string()));
        assert_eq!(*s, name);
        if i % 97 == 0 {
            kept.push(m.root(s));
        }
        m.alloc(i); // garbage keeps cycles coming
        if i % 16 == 0 {
            m.safepoint();
        }
    }
    assert!(heap.stats().num_gc > 3, "cycles ran during the test");
    m.collect();
    for r in &kept {
        let s = r.get(&m);
        assert_eq!(set.get(&m, s.as_str()), Some(s));
    }
}
