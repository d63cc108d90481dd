//! External memory: bytes an object owns outside the heap pace the
//! collector and show in the stats while it lives, and go when it dies.

use tricolor::{ExternalMemory, HeapBuilder, Trace};

const MIB: usize = 1 << 20;

#[derive(Trace)]
struct Buffer {
    data: Vec<u8>,
    external: ExternalMemory,
}

#[test]
fn a_64_mib_buffer_brings_the_next_cycle_forward_and_is_released_with_its_object() {
    let heap = HeapBuilder::new().gc_percent(Some(100)).build().unwrap();
    let mut m = heap.mutator();
    // A small heap is far below the first trigger (the 4 MiB minimum goal).
    let small = m.root(m.alloc(Buffer {
        data: vec![0; 1024],
        external: m.external_memory(0),
    }));
    assert!(!m.safepoint_needed());
    let data = vec![1u8; 64 * MIB];
    let external = m.external_memory(data.capacity());
    let big = m.root(m.alloc(Buffer { data, external }));
    assert!(
        m.safepoint_needed(),
        "64 MiB outside the heap puts it past the trigger"
    );
    assert_eq!(heap.stats().external_bytes, 64 * MIB);
    // The cycle that safepoint starts completes as we keep reaching
    // safepoints.
    while heap.stats().num_gc == 0 {
        m.safepoint();
        std::thread::yield_now();
    }

    m.collect();
    let stats = heap.stats();
    assert!(
        stats.last_marked >= 64 * MIB,
        "the live buffer's bytes count as marked: {}",
        stats.last_marked
    );
    assert!(
        stats.next_gc >= 128 * MIB,
        "the goal grows from them: {}",
        stats.next_gc
    );
    assert_eq!(stats.external_bytes, 64 * MIB);
    assert_eq!(big.get(&m).data[12345], 1);

    big.get(&m).external.resize(&m, 32 * MIB);
    assert_eq!(heap.stats().external_bytes, 32 * MIB);
    drop(big);
    m.collect();
    let stats = heap.stats();
    assert_eq!(
        stats.external_bytes, 0,
        "released when the object was swept"
    );
    assert!(stats.last_marked < MIB, "{}", stats.last_marked);
    assert!(stats.next_gc < 8 * MIB, "{}", stats.next_gc);
    assert_eq!(small.get(&m).data.len(), 1024);
}

#[test]
fn resizing_with_another_heaps_mutator_is_refused() {
    let (h1, h2) = (
        HeapBuilder::new().build().unwrap(),
        HeapBuilder::new().build().unwrap(),
    );
    let (m1, m2) = (h1.mutator(), h2.mutator());
    let token = m1.external_memory(10);
    let refused = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| token.resize(&m2, 20)));
    assert!(refused.is_err());
    assert_eq!(token.bytes(), 10);
    assert_eq!(h1.stats().external_bytes, 10);
    drop(token);
    assert_eq!(h1.stats().external_bytes, 0);
}
