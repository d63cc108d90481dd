//! Settings a user can get wrong: the address-space reservation (from code
//! and `GCRESERVE`) and unknown `GCDEBUG` keys, which are ignored with one
//! warning instead of stopping the program.

use tricolor::{AllocError, GcError, Heap, HeapBuilder};

/// A `from_vars` lookup over a fixed list.
fn vars(list: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
    let list: Vec<(String, String)> = list
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    move |k| list.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone())
}

#[test]
fn the_reservation_is_settable_and_caps_the_heap() {
    let heap = HeapBuilder::new()
        .gc_percent(None)
        .reserve(128 << 20)
        .build()
        .unwrap();
    assert_eq!(heap.stats().heap_reserved, 128 << 20);
    let m = heap.mutator();
    let mut kept = 0usize;
    let err = loop {
        match m.try_alloc([0u64; 1024]) {
            Ok(_) => kept += 8 << 10,
            Err(e) => break e,
        }
    };
    assert!(
        matches!(err, AllocError::AddressSpace { reserved, .. } if reserved == 128 << 20),
        "{err:?}"
    );
    assert!((64 << 20..=128 << 20).contains(&kept), "{kept}");
}

#[test]
fn a_reservation_the_os_refuses_is_an_error_naming_the_size() {
    // 1 EiB is more than any x86-64 or AArch64 user address space.
    let err = HeapBuilder::new().reserve(1 << 60).build().err().unwrap();
    assert!(
        matches!(err, GcError::Reserve { bytes, .. } if bytes == 1 << 60),
        "{err:?}"
    );
    let msg = err.to_string();
    assert!(
        msg.contains("1152921504606846976 bytes") && msg.contains("GCRESERVE"),
        "{msg}"
    );
}

#[test]
fn gcreserve_sets_the_reservation_and_a_bad_value_names_it() {
    let heap = HeapBuilder::new()
        .from_vars(vars(&[("GCRESERVE", "192MiB")]))
        .unwrap()
        .build()
        .unwrap();
    assert_eq!(heap.stats().heap_reserved, 192 << 20);
    for bad in ["lots", "0", "64GB"] {
        let e = HeapBuilder::new()
            .from_vars(vars(&[("GCRESERVE", bad)]))
            .unwrap_err();
        assert_eq!((e.variable.as_str(), e.value.as_str()), ("GCRESERVE", bad));
        assert!(e.to_string().contains("GiB"), "{e}");
    }
}

/// Runs in a child process (see `unknown_gcdebug_keys_warn_once_and_are_ignored`).
#[test]
fn unknown_gcdebug_key_child() {
    if std::env::var("TRICOLOR_UNKNOWN_KEY_CHILD").is_err() {
        return;
    }
    for _ in 0..2 {
        let heap = Heap::new();
        let mut m = heap.mutator();
        m.safepoint();
        // gcstress, given next to the unknown keys, still applies.
        assert_eq!(heap.stats().num_gc, 1);
    }
}

#[test]
fn unknown_gcdebug_keys_warn_once_and_are_ignored() {
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "unknown_gcdebug_key_child",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("TRICOLOR_UNKNOWN_KEY_CHILD", "1")
        .env("GCDEBUG", "madeupkey=1,gcstress=1,other=x")
        .output()
        .unwrap();
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(out.status.success(), "the child failed:\n{stderr}");
    let warnings: Vec<&str> = stderr.lines().filter(|l| l.contains("unknown")).collect();
    assert_eq!(warnings.len(), 1, "{stderr}");
    assert!(
        warnings[0].contains("GCDEBUG")
            && warnings[0].contains("madeupkey, other")
            && warnings[0].contains("gctrace"),
        "{}",
        warnings[0]
    );
}

#[test]
fn a_bad_value_of_a_known_gcdebug_key_is_still_an_error() {
    let e = HeapBuilder::new()
        .from_vars(vars(&[("GCDEBUG", "gccheckmark=yes")]))
        .unwrap_err();
    assert_eq!(
        e.to_string(),
        "invalid GCDEBUG=\"gccheckmark=yes\": expected gccheckmark=0 or gccheckmark=1"
    );
}
