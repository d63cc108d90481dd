//! A broken `Trace` implementation is caught, not silently followed: when
//! one hides a pointer from the marker, its target is freed, and when the
//! stale pointer later reaches the marker it aborts with a message that
//! names the problem and the type that held the pointer (instead of marking
//! a free slot, which would make the next allocation there look live). The
//! aborting case runs in a child process: this test binary, run again with
//! an environment variable set.

use std::sync::atomic::{AtomicBool, Ordering};

use tricolor::{DebugFlags, HeapBuilder, Member, Trace, Tracer};

/// Sized so that nothing else in this test shares its span class.
#[derive(Trace, Default)]
struct Leaf {
    payload: [u64; 13],
}

struct Hider {
    next: Member<Leaf>,
    report: AtomicBool,
}

// SAFETY: deliberately broken, to test that the collector catches it:
// `next` is hidden from the marker until `report` is set.
unsafe impl Trace for Hider {
    fn trace(&self, tracer: &mut Tracer<'_>) {
        if self.report.load(Ordering::Relaxed) {
            self.next.trace(tracer);
        }
    }
}

/// Runs in a child process (see `a_pointer_to_a_freed_object_aborts`).
#[test]
fn stale_pointer_child() {
    if std::env::var("TRICOLOR_BAD_TRACE_CHILD").is_err() {
        return;
    }
    // gccheckmark turns the check on in release builds too.
    let heap = HeapBuilder::new()
        .debug(DebugFlags {
            gccheckmark: true,
            ..DebugFlags::default()
        })
        .build()
        .unwrap();
    let mut m = heap.mutator();
    // `keep` holds the span, so freeing `victim` frees only its slot.
    let keep = m.root(m.alloc(Leaf::default()));
    let victim = m.alloc(Leaf::default());
    let hider = m.root(m.alloc(Hider {
        next: Member::null(),
        report: AtomicBool::new(false),
    }));
    hider.get(&m).next.set(&m, Some(victim));
    m.collect();
    hider.get(&m).report.store(true, Ordering::Relaxed);
    m.collect();
    drop(keep);
    eprintln!("the stale pointer was not caught");
}

#[test]
fn a_pointer_to_a_freed_object_aborts() {
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "stale_pointer_child", "--nocapture"])
        .env("TRICOLOR_BAD_TRACE_CHILD", "1")
        .env_remove("GCDEBUG")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "the child did not abort:\n{stderr}");
    assert!(
        stderr.contains("while scanning a bad_trace::Hider, which is a free slot"),
        "no report naming the problem and the holder:\n{stderr}"
    );
}
