//! Pointer fields given at construction (`Member::new`, `gc.into()`,
//! `NanBox::new`): objects built in one expression survive cycles, their
//! children are shaded when built while marking, and a pointer slot that
//! escapes the object being built stops the process at the next safepoint.

use std::process::Command;

use tricolor::{DebugFlags, Gc, Heap, HeapBuilder, Member, Mutator, NanBox, NanValue, Trace};

#[derive(Trace)]
struct Pair {
    car: Member<Pair>,
    cdr: Member<Pair>,
    value: NanBox<Pair>,
    n: u64,
}

fn pair<'m>(
    m: &'m Mutator,
    car: Option<Gc<'_, Pair>>,
    cdr: Option<Gc<'_, Pair>>,
    n: u64,
) -> Gc<'m, Pair> {
    m.alloc(Pair {
        car: car.into(),
        cdr: cdr.into(),
        value: match car {
            Some(c) => NanBox::new(NanValue::from_gc(c)),
            None => NanBox::from_f64(n as f64),
        },
        n,
    })
}

/// Sum of `n` over the tree, following `car`, `cdr` and the `NanBox`.
fn sum(p: &Pair) -> u64 {
    let mut total = p.n;
    for child in [p.car.get(), p.cdr.get()].into_iter().flatten() {
        total += sum(Gc::as_ref(child));
    }
    if let Some(v) = p.value.get().as_gc() {
        assert_eq!(v.n, p.car.get().unwrap().n, "NanBox and car disagree");
    }
    total
}

/// A tree of depth `d` built bottom-up with constructor pointers only.
fn tree<'m>(m: &'m Mutator, d: u32) -> Gc<'m, Pair> {
    if d == 0 {
        return pair(m, None, None, 1);
    }
    let l = tree(m, d - 1);
    let r = tree(m, d - 1);
    pair(m, Some(l), Some(r), 1)
}

/// A heap that re-marks from the roots after every mark (gccheckmark).
fn checkmark_heap(percent: u32) -> Heap {
    HeapBuilder::new()
        .gc_percent(Some(percent))
        .debug(DebugFlags {
            gccheckmark: true,
            ..DebugFlags::default()
        })
        .build()
        .unwrap()
}

#[test]
fn objects_built_with_pointers_survive_cycles() {
    let heap = checkmark_heap(100);
    let mut m = heap.mutator();
    let t = m.root(tree(&m, 12));
    for _ in 0..3 {
        m.collect();
        assert_eq!(sum(Gc::as_ref(t.get(&m))), (1 << 13) - 1);
    }
}

/// Marking runs while trees are built and replaced; the only path to a new
/// subtree is the object built around it, so unshaded children would be
/// freed (and checkmark, or the checksums, would catch it).
#[test]
fn building_while_marking_shades_the_children() {
    let heap = checkmark_heap(30);
    let mut m = heap.mutator();
    let keep = m.root(tree(&m, 3));
    for i in 0..30_000u64 {
        {
            // Take the old tree out of the root, then hang it under a new
            // object: the root no longer holds it, only the new object does.
            let old = keep.get(&m);
            keep.set(&m, pair(&m, None, None, 0));
            let fresh = tree(&m, 4);
            keep.set(&m, pair(&m, Some(old), Some(fresh), 0));
        }
        m.safepoint();
        if i % 64 == 0 {
            // Drop the accumulated spine now and then.
            let t = keep.get(&m);
            let right = t.cdr.get().unwrap();
            keep.set(&m, right);
        }
        assert!(sum(Gc::as_ref(keep.get(&m))) >= (1 << 5) - 1);
    }
    assert!(heap.stats().num_gc > 0, "no cycle ran beside the mutator");
}

/// Child process for `an_escaped_pointer_slot_aborts_at_the_safepoint`.
#[test]
fn escape_child() {
    if std::env::var("TRICOLOR_ESCAPE_CHILD").is_err() {
        return;
    }
    let heap = Heap::new();
    let mut m = heap.mutator();
    let leaf = pair(&m, None, None, 1);
    let escaped: Vec<Member<Pair>> = vec![leaf.into()];
    m.safepoint();
    drop(escaped);
    eprintln!("the safepoint let an escaped pointer slot through");
}

#[test]
fn an_escaped_pointer_slot_aborts_at_the_safepoint() {
    let out = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "escape_child", "--nocapture", "--test-threads=1"])
        .env("TRICOLOR_ESCAPE_CHILD", "1")
        .env("GCDEBUG", "gcstress=1")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "the child finished: {stderr}");
    assert!(
        stderr.contains("were not inside an allocated object at a safepoint"),
        "{stderr}"
    );
    assert!(
        stderr.contains("tests/construct.rs"),
        "no caller location: {stderr}"
    );
    assert!(!stderr.contains("let an escaped pointer slot through"));
}

/// Child process for `a_slot_from_another_thread_cannot_hide_an_escaped_one`:
/// a slot leaked on this thread, and a slot made on another thread into
/// another heap, published here (the allocation panics as foreign).
#[test]
fn hide_child() {
    if std::env::var("TRICOLOR_HIDE_CHILD").is_err() {
        return;
    }
    let (h, h2) = (Heap::new(), Heap::new());
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let m2 = h2.mutator();
        tx.send(Member::new(pair(&m2, None, None, 2))).unwrap();
        // That thread's tally stays 1, and its heap is never collected.
        std::mem::forget(m2);
    })
    .join()
    .unwrap();
    let from_elsewhere: Member<Pair> = rx.recv().unwrap();
    let mut m = h.mutator();
    let victim = pair(&m, None, None, 7);
    let leaked: &'static Member<Pair> = Box::leak(Box::new(Member::new(victim)));
    let foreign = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        m.alloc(Pair {
            car: from_elsewhere,
            cdr: Member::null(),
            value: NanBox::from_f64(0.0),
            n: 0,
        });
    }));
    assert!(foreign.is_err(), "the foreign pointer was accepted");
    m.collect();
    m.collect();
    eprintln!(
        "collect let an escaped pointer slot through: {}",
        leaked.get().is_some()
    );
}

/// A slot is `Send`; publishing one made on another thread must not take
/// this thread's escaped slot off the tally (publish.rs). Before the fix,
/// the child collected the victim and read reused memory through `leaked`.
#[test]
fn a_slot_from_another_thread_cannot_hide_an_escaped_one() {
    let out = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "hide_child", "--nocapture", "--test-threads=1"])
        .env("TRICOLOR_HIDE_CHILD", "1")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "the child finished: {stderr}");
    assert!(
        stderr.contains("were not inside an allocated object"),
        "{stderr}"
    );
    assert!(!stderr.contains("let an escaped pointer slot through"));
}

#[test]
fn a_pointer_into_another_heap_is_refused_at_alloc() {
    let (a, b) = (Heap::new(), Heap::new());
    let (ma, mb) = (a.mutator(), b.mutator());
    let foreign = pair(&mb, None, None, 1);
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        ma.alloc(Pair {
            car: foreign.into(),
            cdr: Member::null(),
            value: NanBox::from_f64(0.0),
            n: 0,
        });
    }));
    let err = r.unwrap_err();
    let msg = err
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| err.downcast_ref::<String>().cloned())
        .unwrap();
    assert!(msg.contains("another heap"), "{msg}");
}
