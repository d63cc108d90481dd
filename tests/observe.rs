//! Seeing inside the heap: the figures the collector reports (marked bytes,
//! per-mutator stats, the census by type, the pacer trace), checked against
//! heaps whose contents the test knows. Retention paths are in `paths.rs`,
//! stall reports in `stall.rs`.

use tricolor::{DebugFlags, Heap, HeapBuilder, Member, Trace};

/// 56-byte objects (link, 48 bytes of payload) in 64-byte slots.
#[derive(Trace, Default)]
struct Link {
    next: Member<Link>,
    pad: [u64; 6],
}

/// 8-byte objects (a link).
#[derive(Trace, Default)]
struct Ballast {
    next: Member<Ballast>,
}

/// Objects allocated while a cycle marks are allocated black; they survive
/// it and must count in its marked bytes (the first binary-trees cycle
/// reported 0 MB marked with a 47 MB tree built during its mark).
#[test]
fn objects_allocated_while_marking_count_as_marked() {
    let census_on = DebugFlags {
        gccensus: true,
        ..DebugFlags::default()
    };
    // A high GCPERCENT keeps the list's build below the goal, where a
    // mutator would wait for the mark to end.
    let heap = HeapBuilder::new()
        .debug(census_on)
        .gc_percent(Some(1000))
        .build()
        .unwrap();
    let mut m = heap.mutator();
    // Allocation parks for mark termination, so a cycle can end in the
    // middle of the list's build. Rooted ballast gives the mark work enough
    // to outlast the build; if the cycle ended anyway, try again with more.
    let n = (32 << 20) / 64;
    let mut ballast_len = 1 << 20;
    let (cycle, ballast, list) = loop {
        assert!(ballast_len <= 1 << 25, "the mark never outlasted the build");
        let ballast = {
            let mut head = m.alloc(Ballast::default());
            for _ in 1..ballast_len {
                head = m.alloc(Ballast { next: head.into() });
            }
            m.root(head)
        };
        // A cycle that marks the ballast sets the goal from it.
        m.collect();
        // Garbage past the trigger (well below the goal), then a safepoint:
        // a cycle starts.
        let before = heap.stats();
        let trigger = heap.last_cycle().unwrap().next_trigger;
        while heap.stats().heap_in_use < trigger {
            for _ in 0..1000 {
                m.alloc([0u64; 8]);
            }
        }
        m.safepoint();
        let list = {
            let mut head = m.alloc(Link::default());
            for _ in 1..n {
                let l = m.alloc(Link::default());
                l.next.set(&m, Some(head));
                head = l;
            }
            m.root(head)
        };
        if heap.stats().num_gc == before.num_gc {
            break (before.num_gc + 1, ballast, list);
        }
        ballast_len *= 2;
    };
    while heap.stats().num_gc < cycle {
        m.safepoint();
        std::thread::yield_now();
    }
    let record = heap.last_cycle().unwrap();
    assert_eq!(record.number, cycle);
    assert_eq!(heap.stats().last_marked, record.marked);
    let ballast_bytes = ballast_len * std::mem::size_of::<Ballast>();
    assert!(
        record.marked >= n * 64 + ballast_bytes
            && record.marked < n * 64 + ballast_bytes + (1 << 20),
        "cycle {cycle} marked {} bytes; the list alone is {}, the ballast {ballast_bytes}",
        record.marked,
        n * 64
    );
    let census = heap.last_census().unwrap();
    assert_eq!(census.cycle, cycle);
    assert_eq!(
        census.bytes, record.marked,
        "the census counts black objects too"
    );
    let links = census.types.iter().find(|t| t.type_name.ends_with("Link"));
    assert_eq!(links.unwrap().objects, n as u64);
    drop((list, ballast));
}

/// Per-mutator figures name the thread and where it attached.
#[test]
fn stats_list_each_mutator_with_its_thread_and_attach_site() {
    let heap = HeapBuilder::new().build().unwrap();
    let h = heap.clone();
    std::thread::Builder::new()
        .name("census-taker".into())
        .spawn(move || {
            let mut m = h.mutator();
            let line = line!() - 1;
            for _ in 0..10_000 {
                m.alloc([0u64; 8]);
            }
            m.collect();
            let s = h.stats();
            assert_eq!(s.mutators.len(), 1);
            let me = &s.mutators[0];
            assert_eq!(me.thread_name.as_deref(), Some("census-taker"));
            assert_eq!(me.thread_id, std::thread::current().id());
            assert_eq!(me.attached_at.file(), file!());
            assert_eq!(me.attached_at.line(), line);
            assert!(me.allocated_bytes >= 10_000 * 64, "{me:?}");
        })
        .unwrap()
        .join()
        .unwrap();
    assert!(heap.stats().mutators.is_empty(), "the mutator detached");
}

/// Runs in a child process (see `pacer_trace_lines_parse_field_by_field`).
#[test]
fn pacer_child() {
    if std::env::var("TRICOLOR_PACER_CHILD").is_err() {
        return;
    }
    let heap = Heap::new();
    let mut m = heap.mutator();
    let _keep = m.root(m.alloc([0u64; 16]));
    for _ in 0..300_000 {
        m.alloc([0u64; 8]);
        m.safepoint();
    }
    m.collect();
}

/// The lines of a child's stderr that were written whole: the collector
/// prints a cycle's lines after the `collect` that ran it returns, so the
/// child may exit in the middle of one.
fn complete_lines(s: &str) -> std::str::Lines<'_> {
    s[..s.rfind('\n').map_or(0, |i| i + 1)].lines()
}

const PACER_KEYS: [&str; 12] = [
    "cycle",
    "trigger_mb",
    "goal_mb",
    "heap_end_mb",
    "live_mb",
    "end_over_goal",
    "assist_mb",
    "worker_util",
    "next_trigger_mb",
    "next_goal_mb",
    "goal_wait_ms",
    "mark_speed",
];

/// A gcpacer line's values, in `PACER_KEYS` order; panics naming the field
/// that does not parse.
fn parse_pacer_line(line: &str) -> Vec<f64> {
    let rest = line.strip_prefix("gcpacer: ").expect(line);
    let fields: Vec<&str> = rest.split(' ').collect();
    assert_eq!(fields.len(), PACER_KEYS.len(), "{line}");
    fields
        .iter()
        .zip(PACER_KEYS)
        .map(|(f, key)| {
            let (k, v) = f.split_once('=').expect(line);
            assert_eq!(k, key, "{line}");
            if key == "cycle" {
                v.parse::<u64>().expect(line) as f64
            } else {
                let (_, decimals) = v.split_once('.').expect(line);
                assert_eq!(decimals.len(), 2, "two decimals in {key}: {line}");
                v.parse().expect(line)
            }
        })
        .collect()
}

#[test]
fn pacer_trace_lines_parse_field_by_field() {
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "pacer_child", "--nocapture", "--test-threads=1"])
        .env("TRICOLOR_PACER_CHILD", "1")
        .env("GCDEBUG", "gcpacertrace=1")
        .env("GCPERCENT", "100")
        .output()
        .unwrap();
    let stderr = String::from_utf8(out.stderr).unwrap();
    let lines: Vec<&str> = complete_lines(&stderr)
        .filter(|l| l.starts_with("gcpacer:"))
        .collect();
    assert!(lines.len() >= 3, "too few gcpacer lines:\n{stderr}");
    for (i, line) in lines.iter().enumerate() {
        let v = parse_pacer_line(line);
        let [cycle, trigger, goal, heap_end, live, over, assist, util, next_trigger, next_goal, goal_wait, speed] =
            v[..]
        else {
            unreachable!()
        };
        assert_eq!(cycle as usize, i + 1, "{line}");
        assert!(trigger <= goal && next_trigger <= next_goal, "{line}");
        assert!(live <= heap_end + 0.01, "{line}");
        assert!((over - heap_end / goal).abs() <= 0.01, "{line}");
        assert!(assist >= 0.0 && util >= 0.0 && goal_wait >= 0.0, "{line}");
        assert!(next_goal >= live, "{line}");
        assert!(speed > 0.0 && speed <= 1.0, "{line}");
    }
}

/// The line shows the record's own figures.
#[test]
fn pacer_trace_matches_the_cycle_record() {
    let heap = HeapBuilder::new().build().unwrap();
    let mut m = heap.mutator();
    let _keep = m.root(m.alloc_array(100_000, |_| 0u64));
    m.collect();
    let r = heap.last_cycle().unwrap();
    let v = parse_pacer_line(&r.pacer_trace());
    let mb = |b: usize| b as f64 / (1 << 20) as f64;
    let expect = [
        r.number as f64,
        mb(r.trigger),
        mb(r.goal),
        mb(r.heap_end),
        mb(r.marked),
        r.heap_end as f64 / r.goal as f64,
        mb(r.assist_bytes),
        r.worker_utilization,
        mb(r.next_trigger),
        mb(r.next_goal),
        r.goal_wait.as_secs_f64() * 1e3,
        r.mark_speed,
    ];
    for ((got, want), key) in v.iter().zip(expect).zip(PACER_KEYS) {
        assert!((got - want).abs() <= 0.005, "{key}: {got} vs {want}");
    }
    assert!(r.marked >= 800_000, "the rooted array is live: {r:?}");
}

#[derive(Trace)]
struct Named {
    name: String,
    link: Member<Link>,
}

/// The census counts each type's live objects, and sums to the marked heap.
#[test]
fn census_counts_live_objects_by_type_and_sums_to_marked() {
    let heap = HeapBuilder::new().build().unwrap();
    let mut m = heap.mutator();
    let mut roots = Vec::new();
    for i in 0..1000 {
        let link = m.alloc(Link::default());
        let named = m.alloc(Named {
            name: format!("n{i}"),
            link: Member::null(),
        });
        named.link.set(&m, Some(link));
        roots.push(m.root(named));
        m.alloc(Link::default()); // garbage
    }
    let array = m.root(m.alloc_array(50_000, |i| i as u64));
    let census = m.census();
    let record = heap.last_cycle().unwrap();
    assert_eq!(census.cycle, record.number);
    assert_eq!(census.bytes, record.marked);
    assert_eq!(census.bytes, heap.stats().last_marked);
    let by = |suffix: &str| {
        census
            .types
            .iter()
            .find(|t| t.type_name.ends_with(suffix))
            .unwrap_or_else(|| panic!("no {suffix} in {census:?}"))
            .clone()
    };
    assert_eq!(by("::Link").objects, 1000, "garbage links are not counted");
    assert_eq!(by("::Named").objects, 1000);
    let arrays = by("GcArray<u64>");
    assert_eq!(arrays.objects, 1);
    assert!(arrays.bytes >= 400_000, "{arrays:?}");
    assert_eq!(census.types[0], arrays, "most bytes first");
    assert_eq!(census.objects, census.types.iter().map(|t| t.objects).sum());
    assert_eq!(heap.last_census(), Some(census));
    drop((roots, array));
}

/// Runs in a child process (see `gccensus_lines_sum_to_the_gctrace_marked_heap`).
#[test]
fn census_child() {
    if std::env::var("TRICOLOR_CENSUS_CHILD").is_err() {
        return;
    }
    let heap = Heap::new();
    let mut m = heap.mutator();
    let _keep = m.root(m.alloc_array(200_000, |_| 1u64));
    let mut kept = Vec::new();
    for i in 0..200_000u64 {
        let l = m.alloc(Link::default());
        let s = m.alloc(i.to_string());
        if i % 8 == 0 {
            kept.push((m.root(l), m.root(s)));
        }
        m.safepoint();
    }
    m.collect();
}

#[test]
fn gccensus_lines_sum_to_the_gctrace_marked_heap() {
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "census_child", "--nocapture", "--test-threads=1"])
        .env("TRICOLOR_CENSUS_CHILD", "1")
        .env("GCDEBUG", "gctrace=1,gccensus=1")
        .output()
        .unwrap();
    let stderr = String::from_utf8(out.stderr).unwrap();
    let mut cycles = 0;
    let mut marked_mb = None;
    let (mut objects, mut bytes) = (0u64, 0usize);
    for line in complete_lines(&stderr) {
        if line.starts_with("gc ") {
            // gc N @T P%: clock, cpu, H0->H1->M MB, ...
            let heap = line.split(", ").nth(2).unwrap();
            let m = heap
                .split("->")
                .nth(2)
                .unwrap()
                .strip_suffix(" MB")
                .unwrap();
            marked_mb = Some(m.parse::<usize>().unwrap());
            continue;
        }
        let Some(rest) = line.strip_prefix("gccensus: ") else {
            continue;
        };
        let f: Vec<&str> = rest.splitn(4, ' ').collect();
        let value = |i: usize, key: &str| f[i].strip_prefix(key).expect(line).to_string();
        assert_eq!(
            value(0, "cycle=").parse::<usize>().unwrap(),
            cycles + 1,
            "{line}"
        );
        let o: u64 = value(1, "objects=").parse().unwrap();
        let b: usize = value(2, "bytes=").parse().unwrap();
        if f[3] == "total" {
            assert_eq!(
                (o, b),
                (objects, bytes),
                "the lines sum to the total: {line}"
            );
            assert_eq!(Some(b >> 20), marked_mb.take(), "{line}");
            cycles += 1;
            (objects, bytes) = (0, 0);
        } else {
            assert!(
                f[3].starts_with("type=") || f[3].starts_with("others="),
                "{line}"
            );
            objects += o;
            bytes += b;
        }
    }
    assert!(cycles >= 2, "too few censuses:\n{stderr}");
    assert!(stderr.contains("type=alloc::string::String"), "{stderr}");
}
