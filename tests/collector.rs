//! The collector end to end: real heaps, real threads, real cycles.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use tricolor::{
    DebugFlags, Gc, GlobalRoot, Heap, HeapBuilder, Member, Mutator, NanBox, NanValue, Trace, Weak,
};

mod common;
use common::DropCounter as Counted;

#[derive(Trace)]
struct Obj {
    next: Member<Obj>,
    other: Member<Obj>,
    value: u64,
    check: u64,
    drops: Counted,
}

fn obj<'m>(m: &'m Mutator, value: u64, drops: &Arc<AtomicUsize>) -> Gc<'m, Obj> {
    m.alloc(Obj {
        next: Member::null(),
        other: Member::null(),
        value,
        check: value.wrapping_mul(0x9E37_79B9_7F4A_7C15),
        drops: Counted(drops.clone()),
    })
}

fn verify(o: &Obj) {
    assert_eq!(
        o.check,
        o.value.wrapping_mul(0x9E37_79B9_7F4A_7C15),
        "object {} corrupted",
        o.value
    );
}

fn quiet_heap() -> Heap {
    HeapBuilder::new().build().unwrap()
}

#[test]
fn reachable_objects_survive_many_cycles_intact() {
    let heap = quiet_heap();
    let mut m = heap.mutator();
    let drops = Arc::new(AtomicUsize::new(0));
    let head = {
        let mut head = obj(&m, 0, &drops);
        for i in 1..2000 {
            let o = obj(&m, i, &drops);
            o.next.set(&m, Some(head));
            head = o;
        }
        m.root(head)
    };
    for cycle in 0..20 {
        // Garbage in between, so freed slots get reused.
        for i in 0..5000 {
            obj(&m, 1_000_000 + i, &drops);
        }
        m.collect();
        let mut n = 0;
        let mut cur = Some(head.get(&m));
        while let Some(o) = cur {
            verify(&o);
            assert_eq!(o.value, 1999 - n, "cycle {cycle}");
            n += 1;
            cur = Gc::as_ref(o).next.get();
        }
        assert_eq!(n, 2000);
    }
    assert_eq!(
        drops.load(Ordering::SeqCst),
        20 * 5000,
        "exactly the garbage was dropped"
    );
}

#[test]
fn unreachable_cycles_are_freed_and_dropped_exactly_once() {
    let heap = quiet_heap();
    let mut m = heap.mutator();
    let drops = Arc::new(AtomicUsize::new(0));
    for i in 0..1000 {
        let a = obj(&m, i, &drops);
        let b = obj(&m, i, &drops);
        a.next.set(&m, Some(b));
        b.next.set(&m, Some(a));
        a.other.set(&m, Some(a));
    }
    m.collect();
    assert_eq!(drops.load(Ordering::SeqCst), 2000);
    m.collect();
    m.collect();
    assert_eq!(drops.load(Ordering::SeqCst), 2000, "no second drop");
    assert_eq!(heap.stats().heap_objects, 0);
}

#[test]
fn dropping_a_root_releases_its_object() {
    let heap = quiet_heap();
    let mut m = heap.mutator();
    let drops = Arc::new(AtomicUsize::new(0));
    let r = m.root(obj(&m, 7, &drops));
    m.collect();
    assert_eq!(drops.load(Ordering::SeqCst), 0);
    verify(&r.get(&m));
    drop(r);
    m.collect();
    assert_eq!(drops.load(Ordering::SeqCst), 1);
}

/// A value cell whose one word is a number or a pointer.
#[derive(Trace)]
struct Cell {
    value: NanBox<Obj>,
}

#[test]
fn nanbox_slots_keep_pointers_alive_and_numbers_release_them() {
    let heap = quiet_heap();
    let mut m = heap.mutator();
    let drops = Arc::new(AtomicUsize::new(0));
    let cells = m.root(m.alloc_array(3, |_| NanBox::<Obj>::from_f64(0.0)));
    {
        let c = cells.get(&m);
        c[0].set(&m, NanValue::from_gc(obj(&m, 10, &drops)));
        c[1].set(&m, NanValue::from_gc(obj(&m, 11, &drops)));
        c[2].set(&m, NanValue::from_f64(2.5));
    }
    m.collect();
    assert_eq!(drops.load(Ordering::SeqCst), 0);
    {
        let c = cells.get(&m);
        verify(&c[0].get().as_gc().expect("still a pointer"));
        assert_eq!(c[1].get().as_gc().map(|o| o.value), Some(11));
        assert_eq!(f64::from_bits(c[2].get().bits()), 2.5);
        // Overwriting a pointer with a number drops the last reference.
        c[1].set(&m, NanValue::from_f64(-0.0));
    }
    m.collect();
    assert_eq!(drops.load(Ordering::SeqCst), 1);
    let c = cells.get(&m);
    verify(&c[0].get().as_gc().expect("still a pointer"));
    assert!(!c[1].get().is_gc());
    assert_eq!(c[1].get().bits(), (-0.0f64).to_bits());
    // A one-field struct of a NanBox traces the same way.
    let cell = m.alloc(Cell {
        value: NanBox::from_bits(7),
    });
    cell.value.set(&m, c[0].get());
    assert!(Gc::ptr_eq(
        cell.value.get().as_gc().unwrap(),
        c[0].get().as_gc().unwrap()
    ));
}

#[test]
fn nanbox_numbers_never_read_back_as_pointers() {
    // Every NaN, whatever its payload, is stored as the default NaN.
    for bits in [
        0xFFFC_0000_0000_0000u64,
        0xFFFC_1234_5678_9ABC,
        0x7FFC_0000_0000_0001,
    ] {
        let v = NanValue::<Obj>::from_f64(f64::from_bits(bits));
        assert_eq!(v.bits(), 0x7FF8_0000_0000_0000, "{bits:#x}");
        assert!(!v.is_gc());
    }
    // Other numbers keep their bits.
    for n in [0.0, -0.0, -1.5, f64::INFINITY, f64::NEG_INFINITY, f64::MAX] {
        assert_eq!(NanValue::<Obj>::from_f64(n).bits(), n.to_bits());
    }
}

#[test]
#[should_panic(expected = "encode GC pointers")]
fn nanbox_immediates_cannot_use_the_pointer_pattern() {
    NanValue::<Obj>::from_bits(0xFFFC_0000_0000_1000);
}

#[test]
#[should_panic(expected = "not inside a GC object")]
fn nanbox_outside_the_heap_cannot_hold_a_pointer() {
    let heap = quiet_heap();
    let m = heap.mutator();
    let drops = Arc::new(AtomicUsize::new(0));
    let outside = NanBox::<Obj>::from_f64(1.0);
    outside.set(&m, NanValue::from_gc(obj(&m, 1, &drops)));
}

#[test]
#[should_panic(expected = "another heap")]
fn nanbox_rejects_an_object_of_another_heap() {
    let (h1, h2) = (quiet_heap(), quiet_heap());
    let (m1, m2) = (h1.mutator(), h2.mutator());
    let drops = Arc::new(AtomicUsize::new(0));
    let cell = m1.alloc(Cell {
        value: NanBox::from_f64(0.0),
    });
    cell.value.set(&m1, NanValue::from_gc(obj(&m2, 2, &drops)));
}

#[test]
fn weak_references_clear_when_the_target_dies() {
    let heap = quiet_heap();
    let mut m = heap.mutator();
    let drops = Arc::new(AtomicUsize::new(0));
    let strong = m.root(obj(&m, 1, &drops));
    let w_live = Weak::new(&m, strong.get(&m));
    let w_dead = Weak::new(&m, obj(&m, 2, &drops));
    m.collect();
    assert_eq!(w_live.upgrade(&m).map(|o| o.value), Some(1));
    assert!(w_dead.upgrade(&m).is_none());
    drop(strong);
    m.collect();
    assert!(w_live.upgrade(&m).is_none());
    assert_eq!(drops.load(Ordering::SeqCst), 2);
}

#[test]
fn a_ten_million_node_list_marks_without_recursion() {
    #[derive(Trace, Default)]
    struct Link {
        next: Member<Link>,
    }
    let heap = quiet_heap();
    let mut m = heap.mutator();
    let n = 10_000_000;
    let head = {
        let mut head = m.alloc(Link::default());
        for _ in 1..n {
            let l = m.alloc(Link::default());
            l.next.set(&m, Some(head));
            head = l;
        }
        m.root(head)
    };
    m.collect();
    let mut len = 0;
    let mut cur = Some(head.get(&m));
    while let Some(l) = cur {
        len += 1;
        cur = Gc::as_ref(l).next.get();
    }
    assert_eq!(len, n);
    // A link is one 8-byte slot (objects have no header).
    assert!(heap.stats().last_marked >= n * 8, "every link was marked");
}

#[test]
fn wide_graphs_survive() {
    let heap = quiet_heap();
    let mut m = heap.mutator();
    let drops = Arc::new(AtomicUsize::new(0));
    let hub = m.root(obj(&m, 0, &drops));
    // Every object points at the hub and at its predecessor: many edges into
    // one object and one long chain.
    let mut prev = hub.get(&m);
    for i in 1..50_000 {
        let o = obj(&m, i, &drops);
        o.other.set(&m, Some(hub.get(&m)));
        o.next.set(&m, Some(prev));
        prev = o;
    }
    hub.get(&m).next.set(&m, Some(prev));
    m.collect();
    let mut count = 0;
    let mut cur = Gc::as_ref(hub.get(&m)).next.get();
    while let Some(o) = cur {
        if o.value == 0 {
            break;
        }
        verify(&o);
        assert!(Gc::ptr_eq(o.other.get().unwrap(), hub.get(&m)));
        count += 1;
        cur = Gc::as_ref(o).next.get();
    }
    assert_eq!(count, 49_999);
    assert_eq!(drops.load(Ordering::SeqCst), 0);
}

#[test]
fn threads_allocate_and_collect_on_one_heap_and_share_objects() {
    let heap = HeapBuilder::new().gc_percent(Some(10)).build().unwrap();
    let drops = Arc::new(AtomicUsize::new(0));
    let shared = {
        let m = heap.mutator();
        GlobalRoot::new(&m, obj(&m, 42, &drops))
    };
    std::thread::scope(|s| {
        for t in 0..4u64 {
            let heap = heap.clone();
            let drops = drops.clone();
            let shared = &shared;
            s.spawn(move || {
                let mut m = heap.mutator();
                let mine = m.root(obj(&m, t, &drops));
                for round in 0..200u64 {
                    let mut last = mine.get(&m);
                    for i in 0..200 {
                        let o = obj(&m, t * 1_000_000 + round * 1000 + i, &drops);
                        o.next.set(&m, Some(last));
                        o.other.set(&m, Some(shared.get(&m)));
                        last = o;
                    }
                    verify(&last);
                    assert_eq!(shared.get(&m).value, 42);
                    m.safepoint();
                    if round % 50 == 0 {
                        m.collect();
                    }
                    verify(&mine.get(&m));
                    assert_eq!(mine.get(&m).value, t);
                }
            });
        }
    });
    let mut m = heap.mutator();
    m.collect();
    assert_eq!(shared.get(&m).value, 42);
    assert!(heap.stats().num_gc >= 16);
    // Every temporary and every thread's own root object, once; the shared one lives.
    assert_eq!(drops.load(Ordering::SeqCst), 4 * 200 * 200 + 4);
}

#[test]
fn a_thread_blocked_in_a_safe_region_does_not_stall_collection() {
    let heap = quiet_heap();
    let (tx, rx) = std::sync::mpsc::channel::<()>();
    let blocked = {
        let heap = heap.clone();
        std::thread::spawn(move || {
            let mut m = heap.mutator();
            m.blocking(|| rx.recv().unwrap());
        })
    };
    let mut m = heap.mutator();
    for _ in 0..5 {
        m.collect();
    }
    assert_eq!(heap.stats().num_gc, 5);
    tx.send(()).unwrap();
    blocked.join().unwrap();
}

#[test]
#[should_panic(expected = "not inside a GC object")]
fn member_outside_the_heap_cannot_hold_a_pointer() {
    let heap = quiet_heap();
    let m = heap.mutator();
    let drops = Arc::new(AtomicUsize::new(0));
    let outside: Member<Obj> = Member::null();
    outside.set(&m, Some(obj(&m, 1, &drops)));
}

#[test]
#[should_panic(expected = "another heap")]
fn a_gc_from_another_heap_is_rejected() {
    let (h1, h2) = (quiet_heap(), quiet_heap());
    let (m1, m2) = (h1.mutator(), h2.mutator());
    let drops = Arc::new(AtomicUsize::new(0));
    let a = obj(&m1, 1, &drops);
    let b = obj(&m2, 2, &drops);
    a.next.set(&m1, Some(b));
}

#[test]
fn the_heap_limit_is_an_error_and_collection_recovers() {
    let heap = HeapBuilder::new()
        .gc_percent(None)
        .max_heap(16 << 20)
        .build()
        .unwrap();
    let mut m = heap.mutator();
    let mut n = 0;
    let err = loop {
        match m.try_alloc([0u64; 64]) {
            Ok(_) => n += 1,
            Err(e) => break e,
        }
    };
    assert!(n > 1000);
    assert!(err.to_string().contains("heap limit"), "{err}");
    m.collect();
    m.try_alloc([0u64; 64])
        .expect("the heap works again after collecting");
}

#[test]
fn bad_environment_values_name_the_variable() {
    let env = |vars: &'static [(&'static str, &'static str)]| {
        move |k: &str| {
            vars.iter()
                .find(|(n, _)| *n == k)
                .map(|(_, v)| v.to_string())
        }
    };
    let e = HeapBuilder::new()
        .from_vars(env(&[("GCPERCENT", "fast")]))
        .unwrap_err();
    assert_eq!(e.variable, "GCPERCENT");
    assert!(
        e.to_string().contains("\"fast\"") && e.to_string().contains("off"),
        "{e}"
    );
    let e = HeapBuilder::new()
        .from_vars(env(&[("GCMEMLIMIT", "1GB")]))
        .unwrap_err();
    assert!(
        e.to_string().starts_with("invalid GCMEMLIMIT=\"1GB\""),
        "{e}"
    );
    let e = HeapBuilder::new()
        .from_vars(env(&[("GCDEBUG", "gctrace=yes")]))
        .unwrap_err();
    assert_eq!(e.variable, "GCDEBUG");
    let ok = HeapBuilder::new()
        .from_vars(env(&[
            ("GCPERCENT", "off"),
            ("GCMEMLIMIT", "64MiB"),
            ("GCDEBUG", "gctrace=1"),
        ]))
        .unwrap();
    ok.build().unwrap();
}

#[test]
fn gcstress_collects_at_every_safepoint() {
    let heap = HeapBuilder::new()
        .debug(DebugFlags {
            gcstress: true,
            ..DebugFlags::default()
        })
        .build()
        .unwrap();
    let mut m = heap.mutator();
    for _ in 0..10 {
        m.alloc(1u64);
        m.safepoint();
    }
    assert_eq!(heap.stats().num_gc, 10);
}

/// Runs in a child process (see `gctrace_lines_have_go_format`).
#[test]
fn gctrace_child() {
    if std::env::var("TRICOLOR_GCTRACE_CHILD").is_err() {
        return;
    }
    let heap = Heap::new();
    let mut m = heap.mutator();
    let keep = m.root(m.alloc(vec![0u8; 1]));
    for _ in 0..200_000 {
        m.alloc([0u64; 8]);
        m.safepoint();
    }
    m.collect();
    drop(keep);
}

#[test]
fn gctrace_lines_have_go_format() {
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "gctrace_child",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("TRICOLOR_GCTRACE_CHILD", "1")
        .env("GCDEBUG", "gctrace=1")
        .env("GCPERCENT", "100")
        .output()
        .unwrap();
    let stderr = String::from_utf8(out.stderr).unwrap();
    let lines: Vec<&str> = stderr.lines().filter(|l| l.starts_with("gc ")).collect();
    assert!(lines.len() >= 3, "too few gctrace lines:\n{stderr}");
    for (i, line) in lines.iter().enumerate() {
        // gc N @T.TTTs P%: a+b+c ms clock, a+b/c/d+e ms cpu, X->Y->Z MB, G MB goal, R MB stacks, L MB globals, W P
        let f: Vec<&str> = line.split(' ').collect();
        assert_eq!(f[1].parse::<usize>().unwrap(), i + 1, "{line}");
        assert!(f[2].starts_with('@') && f[2].ends_with('s'), "{line}");
        assert!(
            f[2][1..f[2].len() - 1].split_once('.').unwrap().1.len() == 3,
            "{line}"
        );
        assert!(
            f[3].ends_with("%:") && f[3][..f[3].len() - 2].parse::<u32>().is_ok(),
            "{line}"
        );
        let clock: Vec<f64> = f[4].split('+').map(|x| x.parse().unwrap()).collect();
        assert_eq!(clock.len(), 3, "{line}");
        assert_eq!((f[5], f[6]), ("ms", "clock,"), "{line}");
        let cpu: Vec<&str> = f[7].split(['+', '/']).collect();
        assert_eq!(cpu.len(), 5, "{line}");
        assert!(cpu.iter().all(|x| x.parse::<f64>().is_ok()), "{line}");
        assert_eq!((f[8], f[9]), ("ms", "cpu,"), "{line}");
        let heap: Vec<usize> = f[10].split("->").map(|x| x.parse().unwrap()).collect();
        assert_eq!(heap.len(), 3, "{line}");
        assert_eq!(f[11], "MB,");
        assert!(
            f[12].parse::<usize>().unwrap() >= 4,
            "the goal is at least 4 MB: {line}"
        );
        assert_eq!(&f[13..15], ["MB", "goal,"]);
        assert!(
            f[15].parse::<usize>().is_ok() && f[16] == "MB" && f[17] == "stacks,",
            "{line}"
        );
        assert!(
            f[18].parse::<usize>().is_ok() && f[19] == "MB" && f[20] == "globals,",
            "{line}"
        );
        assert!(
            f[21].parse::<usize>().unwrap() >= 1 && f[22] == "P",
            "{line}"
        );
    }
    assert!(
        lines.last().unwrap().ends_with(" P (forced)"),
        "the last cycle was forced: {}",
        lines.last().unwrap()
    );
    assert!(!lines[0].ends_with("(forced)"));
}

#[test]
fn a_panic_inside_a_safe_region_leaves_the_mutator_consistent() {
    let heap = quiet_heap();
    let mut m = heap.mutator();
    let drops = Arc::new(AtomicUsize::new(0));
    let keep = m.root(obj(&m, 5, &drops));
    let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        m.blocking(|| panic!("boom"));
    }));
    assert!(caught.is_err());
    // The mutator is running again: collections wait for it, its roots hold.
    let other = {
        let heap = heap.clone();
        std::thread::spawn(move || {
            let mut m2 = heap.mutator();
            m2.collect();
        })
    };
    m.blocking(|| other.join().unwrap());
    m.collect();
    verify(&keep.get(&m));
    assert_eq!(drops.load(Ordering::SeqCst), 0);
}
