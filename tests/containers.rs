//! `GcVec`, `GcMap`, `GcStr` and plain slices under the collector: every
//! element survives growth and concurrent marking intact (checksums, and
//! `gccheckmark` verifying each mark), and whatever a container gives up
//! (pop, remove, truncate, map removal and overwrite) becomes collectable.
//! Bounded in operations, never in time.

use std::collections::HashMap;

use tricolor::{
    ByContent, DebugFlags, Gc, GcArray, GcMap, GcStr, GcVec, Heap, HeapBuilder, Member, Mutator,
    NanBox, NanValue, Plain, Trace, Weak,
};

mod common;
use common::DropCounter;
#[path = "common/census.rs"]
mod census;
use census::Census;
#[path = "../examples/shared/rng.rs"]
mod rng;
use rng::Rng;

#[derive(Trace)]
struct Node {
    id: u64,
    sum: u64,
    dropped: DropCounter,
}

fn checksum(id: u64) -> u64 {
    id.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ 0xDEAD_BEEF
}

/// A new node `id`, counted in `census`.
fn node<'m>(census: &Census, m: &'m Mutator, id: u64) -> Gc<'m, Node> {
    m.alloc(Node {
        id,
        sum: checksum(id),
        dropped: census.made_one(),
    })
}

/// Fail unless `n` is node `id`, intact (a freed and reused object shows
/// up here).
fn verify(n: &Node, id: u64) {
    assert_eq!(n.id, id, "wrong node");
    assert_eq!(
        n.sum,
        checksum(id),
        "node {id} corrupted: freed while reachable?"
    );
}

const CHECKMARK: DebugFlags = DebugFlags {
    gccheckmark: true,
    ..DebugFlags::DEFAULT
};

const STRESS: DebugFlags = DebugFlags {
    gcstress: true,
    ..CHECKMARK
};

fn heap(debug: DebugFlags) -> Heap {
    HeapBuilder::new()
        .gc_percent(Some(1))
        .debug(debug)
        .build()
        .unwrap()
}

#[test]
fn pop_remove_and_truncate_release_what_they_remove() {
    let heap = HeapBuilder::new().build().unwrap();
    let mut m = heap.mutator();
    let census = Census::default();
    let v = m.root(m.alloc(GcVec::<Member<Node>>::new()));
    let weaks: Vec<Weak<Node>> = {
        let v = Gc::as_ref(v.get(&m));
        (0..6)
            .map(|id| {
                let n = node(&census, &m, id);
                v.push(&m, Some(n));
                Weak::new(&m, n)
            })
            .collect()
    };
    let dead =
        |m: &Mutator| -> Vec<bool> { weaks.iter().map(|w| w.upgrade(m).is_none()).collect() };

    // [0 1 2 3 4 5] -> pop -> [0 1 2 3 4]: 5 goes.
    verify(&v.get(&m).pop(&m).unwrap().unwrap(), 5);
    m.collect();
    assert_eq!(dead(&m), [false, false, false, false, false, true]);

    // remove(1) -> [0 2 3 4], then pop twice -> [0 2]: the slot that
    // `remove` gave up at the end must not still hold 4.
    let vr = Gc::as_ref(v.get(&m));
    verify(&vr.remove(&m, 1).unwrap(), 1);
    verify(&vr.pop(&m).unwrap().unwrap(), 4);
    verify(&vr.pop(&m).unwrap().unwrap(), 3);
    m.collect();
    assert_eq!(dead(&m), [false, true, false, true, true, true]);

    // truncate(1) -> [0]: 2 goes; clear -> []: 0 goes.
    v.get(&m).truncate(&m, 1);
    m.collect();
    assert_eq!(dead(&m), [false, true, true, true, true, true]);
    v.get(&m).clear(&m);
    m.collect();
    assert_eq!(dead(&m), [true; 6]);
    assert_eq!(census.alive(), 0);
    assert!(v.get(&m).capacity() >= 6, "clear keeps the capacity");
}

/// `Gc` has no methods of its own (`Gc::as_ref`, `Gc::as_ptr` and
/// `Gc::ptr_eq` are associated functions), so method calls on a
/// `Gc<GcVec<_>>` or a `Gc<GcMap<_, _>>` are the container's.
#[test]
fn methods_on_a_gc_of_a_container_are_the_containers() {
    let heap = heap(CHECKMARK);
    let mut m = heap.mutator();
    let census = Census::default();
    let list: Gc<'_, GcVec<Member<Node>>> = m.alloc(GcVec::new());
    for id in 0..5 {
        list.push(&m, Some(node(&census, &m, id)));
    }
    assert_eq!(list.len(), 5);
    verify(&list.get(3).unwrap().unwrap(), 3);
    assert!(list.get(5).is_none());
    let by_id: Gc<'_, GcMap<Plain<u64>, Member<Node>>> = m.alloc(GcMap::new());
    by_id.insert(&m, 3, list.get(3).unwrap());
    verify(&by_id.get(3).unwrap().unwrap(), 3);

    let (list, by_id) = (m.root(list), m.root(by_id));
    m.collect();
    let (list, by_id) = (list.get(&m), by_id.get(&m));
    assert_eq!((list.len(), by_id.len()), (5, 1));
    for id in 0..5 {
        verify(&list.get(id as usize).unwrap().unwrap(), id);
    }
    assert!(Gc::ptr_eq(
        list.get(3).unwrap().unwrap(),
        by_id.get(3).unwrap().unwrap()
    ));
}

/// `GcVec::as_array`, how an interpreter indexes its stack: the backing
/// array only while the vector fills it, a new one after growth, and the
/// elements stored through it survive collections.
#[test]
fn as_array_is_the_backing_array_while_the_vector_fills_it() {
    let heap = heap(STRESS);
    let mut m = heap.mutator();
    let census = Census::default();
    let stack = m.root(m.alloc(GcVec::<Member<Node>>::with_capacity(&m, 4)));
    for id in 0..40 {
        {
            let v = stack.get(&m);
            if v.len() <= id as usize {
                v.reserve(&m, 1);
                assert!(v.as_array().is_none(), "len < capacity after reserve");
                v.resize(&m, v.capacity(), None);
            }
            let array = v.as_array().expect("the vector fills its array");
            assert_eq!(array.len(), v.len());
            array[id as usize].set(&m, Some(node(&census, &m, id)));
        }
        m.safepoint(); // a full collection, every time
    }
    let v = stack.get(&m);
    for id in 0..40 {
        verify(&v.get(id as usize).unwrap().unwrap(), id);
    }
    assert_eq!(census.alive(), 40);
}

#[test]
fn map_remove_and_overwrite_release_keys_and_values() {
    let heap = HeapBuilder::new().build().unwrap();
    let mut m = heap.mutator();
    let census = Census::default();
    let map = m.root(m.alloc(GcMap::<Member<Node>, Member<Node>>::new()));
    let (key, old, new) = {
        let map = Gc::as_ref(map.get(&m));
        let (k, a, b) = (
            node(&census, &m, 1),
            node(&census, &m, 2),
            node(&census, &m, 3),
        );
        assert!(map.insert(&m, Some(k), Some(a)).is_none());
        verify(&map.insert(&m, Some(k), Some(b)).unwrap().unwrap(), 2);
        (Weak::new(&m, k), Weak::new(&m, a), Weak::new(&m, b))
    };
    m.collect();
    assert!(
        old.upgrade(&m).is_none(),
        "an overwritten value is released"
    );
    let k = key.upgrade(&m).unwrap();
    verify(&map.get(&m).get(Some(k)).unwrap().unwrap(), 3);
    verify(&map.get(&m).remove(&m, Some(k)).unwrap().unwrap(), 3);
    m.collect();
    assert!(key.upgrade(&m).is_none() && new.upgrade(&m).is_none());
    assert_eq!(census.alive(), 0);
}

#[test]
fn growth_keeps_every_element_under_gcstress() {
    let heap = heap(STRESS);
    let mut m = heap.mutator();
    let census = Census::default();
    #[derive(Trace)]
    struct Both {
        list: GcVec<Member<Node>>,
        by_id: GcMap<Plain<u64>, Member<Node>>,
    }
    let both = m.root(m.alloc(Both {
        list: GcVec::new(),
        by_id: GcMap::new(),
    }));
    const N: u64 = 600;
    for id in 0..N {
        {
            let b = Gc::as_ref(both.get(&m));
            let n = node(&census, &m, id);
            b.list.push(&m, Some(n));
            b.by_id.insert(&m, id, Some(n));
        }
        m.safepoint(); // a full collection, every time
    }
    let b = Gc::as_ref(both.get(&m));
    assert_eq!((b.list.len(), b.by_id.len()), (N as usize, N as usize));
    for (i, n) in b.list.iter().enumerate() {
        verify(&n.unwrap(), i as u64);
    }
    for id in 0..N {
        verify(&b.by_id.get(id).unwrap().unwrap(), id);
    }
    assert!(heap.stats().num_gc >= N);
}

/// One thread's containers and what they should hold.
#[derive(Trace)]
struct Containers {
    list: GcVec<Member<Node>>,
    /// Numbers and nodes in one word each.
    values: GcVec<NanBox<Node>>,
    /// Node (by identity) -> its id.
    by_node: GcMap<Member<Node>, Plain<u64>>,
    /// "k<key>" (by content) -> node.
    by_name: GcMap<ByContent<Member<GcStr>>, Member<Node>>,
}

#[derive(Default)]
struct Shadow {
    list: Vec<u64>,
    /// `Ok(number)` or `Err(node id)`.
    values: Vec<Result<f64, u64>>,
    by_node: std::collections::HashSet<u64>,
    by_name: HashMap<u64, u64>,
}

fn check(c: &Containers, s: &Shadow) {
    assert_eq!(c.list.len(), s.list.len());
    for (n, &id) in c.list.iter().zip(&s.list) {
        verify(&n.unwrap(), id);
    }
    assert_eq!(c.values.len(), s.values.len());
    for (v, want) in c.values.iter().zip(&s.values) {
        match (v.as_gc(), want) {
            (Some(n), Err(id)) => verify(&n, *id),
            (None, Ok(x)) => assert_eq!(f64::from_bits(v.bits()), *x),
            _ => panic!("value of the wrong kind"),
        }
    }
    assert_eq!(c.by_node.len(), s.by_node.len());
    for (n, id) in c.by_node.iter() {
        verify(&n.unwrap(), id);
        assert!(s.by_node.contains(&id));
    }
    assert_eq!(c.by_name.len(), s.by_name.len());
    for (&k, &id) in &s.by_name {
        verify(
            &c.by_name.get_by(format!("k{k}").as_str()).unwrap().unwrap(),
            id,
        );
    }
}

/// One random operation on `c`, mirrored in `s`.
fn step(m: &Mutator, c: &Containers, s: &mut Shadow, census: &Census, rng: &mut Rng, id: u64) {
    let len = s.list.len();
    match rng.below(12) {
        0 | 1 => {
            c.list.push(m, Some(node(census, m, id)));
            s.list.push(id);
        }
        2 if len > 0 => {
            verify(&c.list.pop(m).unwrap().unwrap(), s.list.pop().unwrap());
        }
        3 => {
            let i = rng.below(len + 1);
            c.list.insert(m, i, Some(node(census, m, id)));
            s.list.insert(i, id);
        }
        4 if len > 0 => {
            let i = rng.below(len);
            verify(&c.list.remove(m, i).unwrap(), s.list.remove(i));
        }
        5 if len > 0 => {
            let i = rng.below(len);
            c.list.set(m, i, Some(node(census, m, id)));
            s.list[i] = id;
        }
        6 if len > 0 => {
            let i = rng.below(len);
            let n = c.list.get(i).unwrap().unwrap();
            if rng.below(2) == 0 {
                c.by_node.insert(m, Some(n), n.id);
                s.by_node.insert(n.id);
            } else {
                assert_eq!(
                    c.by_node.remove(m, Some(n)).is_some(),
                    s.by_node.remove(&n.id)
                );
            }
        }
        7 | 8 => {
            let k = rng.below(64) as u64;
            let name = m.alloc_str(&format!("k{k}"));
            let old = c.by_name.insert(m, Some(name), Some(node(census, m, id)));
            assert_eq!(old.map(|n| n.unwrap().id), s.by_name.insert(k, id));
        }
        9 => {
            let k = rng.below(64) as u64;
            let name = m.alloc_str(&format!("k{k}"));
            let old = c.by_name.remove(m, Some(name));
            assert_eq!(old.map(|n| n.unwrap().id), s.by_name.remove(&k));
        }
        10 => {
            if rng.below(2) == 0 {
                c.values.push(m, NanValue::from_gc(node(census, m, id)));
                s.values.push(Err(id));
            } else {
                c.values.push(m, NanValue::from_f64(id as f64));
                s.values.push(Ok(id as f64));
            }
        }
        11 if !s.values.is_empty() => {
            if rng.below(8) == 0 {
                c.values.truncate(m, s.values.len() / 2);
                s.values.truncate(s.values.len() / 2);
            } else {
                c.values.pop(m);
                s.values.pop();
            }
        }
        _ => {}
    }
}

fn run(heap: &Heap, census: &Census, seed: u64, ops: usize) {
    let mut m = heap.mutator();
    let c = m.root(m.alloc(Containers {
        list: GcVec::new(),
        values: GcVec::new(),
        by_node: GcMap::new(),
        by_name: GcMap::new(),
    }));
    let mut s = Shadow::default();
    let mut rng = Rng(seed);
    for op in 0..ops {
        step(
            &m,
            Gc::as_ref(c.get(&m)),
            &mut s,
            census,
            &mut rng,
            seed << 32 | op as u64,
        );
        if op % 8 == 0 {
            m.safepoint();
        }
        if op % 512 == 0 {
            check(Gc::as_ref(c.get(&m)), &s);
        }
    }
    check(Gc::as_ref(c.get(&m)), &s);
    // Empty everything: then nothing this thread made may stay alive.
    let cr = Gc::as_ref(c.get(&m));
    cr.list.clear(&m);
    cr.values.clear(&m);
    cr.by_node.clear(&m);
    cr.by_name.clear(&m);
}

#[test]
fn containers_stay_intact_under_concurrent_marking_with_checkmark() {
    let heap = heap(CHECKMARK);
    let census = Census::default();
    std::thread::scope(|s| {
        for t in 1..=3u64 {
            let (heap, census) = (&heap, &census);
            s.spawn(move || run(heap, census, t * 0x1234_5678_9ABC, 40_000));
        }
    });
    let cycles = heap.stats().num_gc;
    assert!(
        cycles > 5,
        "cycles should have run during the mutation: {cycles}"
    );
    let mut m = heap.mutator();
    m.collect();
    m.collect();
    assert_eq!(census.alive(), 0, "emptied containers keep nothing alive");
}

#[test]
fn containers_stay_intact_under_gcstress() {
    let heap = heap(STRESS);
    let census = Census::default();
    run(&heap, &census, 0xC0FFEE, 3_000);
    let mut m = heap.mutator();
    m.collect();
    assert_eq!(census.alive(), 0);
}

#[test]
fn map_matches_a_std_hashmap_under_random_operations() {
    let heap = HeapBuilder::new().build().unwrap();
    let m = heap.mutator();
    let map = Gc::as_ref(m.alloc(GcMap::<Plain<u64>, Plain<u64>>::new()));
    let mut shadow = HashMap::new();
    let mut rng = Rng(0x5EED);
    for op in 0..200_000u64 {
        // A small key space (0, the null key, included): long clusters,
        // many removals in their middle.
        let k = rng.below(300) as u64;
        if rng.below(3) == 0 {
            assert_eq!(map.remove(&m, k), shadow.remove(&k));
        } else {
            assert_eq!(map.insert(&m, k, op), shadow.insert(k, op));
        }
        if op % 4096 == 0 {
            assert_eq!(map.len(), shadow.len());
            for k in 0..300 {
                assert_eq!(map.get(k), shadow.get(&k).copied(), "key {k}");
            }
            let mut seen: Vec<_> = map.iter().collect();
            seen.sort_unstable();
            let mut want: Vec<_> = shadow.iter().map(|(&k, &v)| (k, v)).collect();
            want.sort_unstable();
            assert_eq!(seen, want);
        }
    }
}

/// Small maps answer lookups through their filter of inserted keys
/// before the table: every key inserted (also after a `clear`, and after
/// removals moved others) must still be found, and absent keys not.
#[test]
fn small_maps_find_every_key_through_their_filter() {
    let heap = HeapBuilder::new().build().unwrap();
    let m = heap.mutator();
    let mut rng = Rng(0xB100);
    for n in 1..40u64 {
        let map = Gc::as_ref(m.alloc(GcMap::<Plain<u64>, Plain<u64>>::new()));
        for round in 0..2 {
            let keys: Vec<u64> = (0..n).map(|_| 1 + rng.below(1 << 30) as u64).collect();
            for &k in &keys {
                map.insert(&m, k, k + round);
            }
            if let Some(&gone) = keys.first() {
                map.remove(&m, gone);
                assert_eq!(map.get(gone), None);
            }
            for &k in &keys[1..] {
                assert_eq!(map.get(k), Some(k + round), "{n} keys, key {k}");
            }
            assert_eq!(map.get(1 << 40), None);
            map.clear(&m);
            assert!(keys.iter().all(|&k| map.get(k).is_none()));
        }
    }
}

#[test]
fn null_keys_are_keys() {
    let heap = HeapBuilder::new().build().unwrap();
    let m = heap.mutator();
    let by_node = Gc::as_ref(m.alloc(GcMap::<Member<Node>, Plain<u32>>::new()));
    assert_eq!(by_node.insert(&m, None, 1), None);
    assert_eq!(by_node.insert(&m, None, 2), Some(1));
    assert_eq!((by_node.get(None), by_node.len()), (Some(2), 1));
    assert_eq!(by_node.iter().collect::<Vec<_>>().len(), 1);
    assert_eq!(by_node.remove(&m, None), Some(2));
    assert!(by_node.is_empty() && by_node.get(None).is_none());
}

#[test]
fn insert_remove_cycles_do_not_grow_the_table() {
    let heap = HeapBuilder::new().build().unwrap();
    let m = heap.mutator();
    let map = Gc::as_ref(m.alloc(GcMap::<Plain<u64>, Plain<u64>>::new()));
    for i in 0..100_000u64 {
        map.insert(&m, i, i);
        assert_eq!(map.remove(&m, i), Some(i));
        assert_eq!(map.get(i), None);
    }
    assert!(map.is_empty());
    assert!(map.capacity() <= 16, "capacity {}", map.capacity());
}

#[test]
fn strings_and_plain_slices() {
    let heap = heap(STRESS);
    let mut m = heap.mutator();
    // Neither is scanned by the marker (noscan spans).
    const { assert!(!<GcStr as Trace>::NEEDS_TRACE && !<GcArray<f64> as Trace>::NEEDS_TRACE) };
    #[derive(Trace)]
    struct Record {
        name: Member<GcStr>,
        samples: Member<GcArray<f64>>,
    }
    let texts: Vec<String> = (0..200).map(|i| format!("string number {i} ✓")).collect();
    let records = m.root(m.alloc(GcVec::<Member<Record>>::new()));
    for (i, t) in texts.iter().enumerate() {
        let r = m.alloc(Record {
            name: m.alloc_str(t).into(),
            samples: m.alloc_slice_copy(&[i as f64, 0.5, -1.0]).into(),
        });
        records.get(&m).push(&m, Some(r));
        m.safepoint();
    }
    let records = Gc::as_ref(records.get(&m));
    for (i, (r, t)) in records.iter().zip(&texts).enumerate() {
        let r = r.unwrap();
        let name = r.name.get().unwrap();
        assert_eq!(name.as_str(), t);
        assert_eq!(*name, *t.as_str());
        assert_eq!(format!("{name}"), *t);
        assert_eq!(r.samples.get().unwrap()[..], [i as f64, 0.5, -1.0]);
    }
}

#[test]
#[should_panic(expected = "not inside a GC object")]
fn a_vector_outside_the_heap_cannot_grow() {
    let heap = HeapBuilder::new().build().unwrap();
    let m = heap.mutator();
    let v = GcVec::<Member<Node>>::new();
    v.push(&m, None);
}
