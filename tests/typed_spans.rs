//! Typed spans under load: objects of many types, several of them sharing a
//! size class, allocated interleaved by two threads while cycles run back
//! to back with `gccheckmark` on. Every span holds one type, and a thread
//! cache keeps one span per (class, type) in a direct-mapped table, so with
//! forty types its lines collide and give spans back all the time. The
//! marker traces each object, and the sweeper drops it, as its own type:
//! a mix-up would corrupt a list, miss a mark (checkmark aborts) or run the
//! wrong destructor (the drop counts would not add up).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use tricolor::{DebugFlags, HeapBuilder, Member, Mutator, Root, Trace};

mod common;
use common::DropCounter;

/// What every node type can do, so one driver builds lists of all of them.
trait Node: Trace + Send + Sized + 'static {
    /// Push a node with `id` on the list at `head`; the new head.
    fn push(
        m: &Mutator,
        head: Option<&Root<Self>>,
        id: u64,
        drops: &Arc<AtomicUsize>,
    ) -> Root<Self>;
    /// Walk the list from `head`, checking every node; its length.
    fn check(m: &Mutator, head: &Root<Self>) -> u64;
}

/// A node type: `head` puts the link first, `tail` last (`repr(C)`), so
/// types of one size class differ in where their pointer is, and tracing
/// one as another reads a number as a pointer.
macro_rules! node_struct {
    ($name:ident, $w:expr, head) => {
        #[derive(Trace)]
        #[repr(C)]
        struct $name {
            next: Member<$name>,
            id: u64,
            pad: [u64; $w],
            drops: DropCounter,
        }
    };
    ($name:ident, $w:expr, tail) => {
        #[derive(Trace)]
        #[repr(C)]
        struct $name {
            id: u64,
            pad: [u64; $w],
            drops: DropCounter,
            next: Member<$name>,
        }
    };
}

/// Node types named `$name` with `$w` payload words: sizes 24 to 56 bytes,
/// so each size class is shared by several types of both layouts.
macro_rules! node_types {
    ($($name:ident: $w:expr, $layout:ident),* $(,)?) => {
        $(
            node_struct!($name, $w, $layout);

            impl Node for $name {
                fn push(
                    m: &Mutator,
                    head: Option<&Root<Self>>,
                    id: u64,
                    drops: &Arc<AtomicUsize>,
                ) -> Root<Self> {
                    let n = m.alloc($name {
                        next: Member::null(),
                        id,
                        pad: [id ^ $w; $w],
                        drops: DropCounter(drops.clone()),
                    });
                    n.next.set(m, head.map(|h| h.get(m)));
                    m.root(n)
                }

                fn check(m: &Mutator, head: &Root<Self>) -> u64 {
                    let mut len = 0;
                    let mut at = Some(head.get(m));
                    let mut want = None;
                    while let Some(n) = at {
                        let n: &$name = tricolor::Gc::as_ref(n);
                        if let Some(w) = want {
                            assert_eq!(n.id, w, "{}: list out of order", stringify!($name));
                        }
                        assert!(n.pad.iter().all(|&p| p == n.id ^ $w), "{}", stringify!($name));
                        want = n.id.checked_sub(1);
                        len += 1;
                        at = n.next.get();
                    }
                    len
                }
            }
        )*

        /// Allocate `rounds` nodes of every type, interleaved, keeping the
        /// last `keep` of each list; returns the nodes allocated. (Each
        /// list is a local named after its type.)
        #[allow(non_snake_case)]
        fn churn(m: &mut Mutator, rounds: u64, keep: u64, drops: &Arc<AtomicUsize>) -> u64 {
            $( let mut $name: Option<Root<$name>> = None; )*
            for id in 0..rounds {
                if id % keep == 0 {
                    // Start the lists afresh: the old ones become garbage.
                    $( $name = None; )*
                }
                $( $name = Some(<$name as Node>::push(m, $name.as_ref(), id % keep, drops)); )*
                m.safepoint();
            }
            $(
                let head = $name.as_ref().unwrap();
                assert_eq!(<$name as Node>::check(m, head), (rounds - 1) % keep + 1);
            )*
            let types = [$(stringify!($name)),*].len() as u64;
            rounds * types
        }
    };
}

node_types!(
    A0: 0, head, A1: 1, head, A2: 2, head, A3: 3, head, A4: 4, head,
    B0: 0, tail, B1: 1, tail, B2: 2, tail, B3: 3, tail, B4: 4, tail,
    C0: 0, head, C1: 1, head, C2: 2, head, C3: 3, head, C4: 4, head,
    D0: 0, tail, D1: 1, tail, D2: 2, tail, D3: 3, tail, D4: 4, tail,
    E0: 0, head, E1: 1, head, E2: 2, head, E3: 3, head, E4: 4, head,
    F0: 0, tail, F1: 1, tail, F2: 2, tail, F3: 3, tail, F4: 4, tail,
    G0: 0, head, G1: 1, head, G2: 2, head, G3: 3, head, G4: 4, head,
    H0: 0, tail, H1: 1, tail, H2: 2, tail, H3: 3, tail, H4: 4, tail,
);

#[test]
fn forty_types_interleaved_on_two_threads_stay_apart() {
    // Checkmark verifies every cycle's marks; a low GCPERCENT runs many.
    let checked = DebugFlags {
        gccheckmark: true,
        ..DebugFlags::default()
    };
    let heap = HeapBuilder::new()
        .debug(checked)
        .gc_percent(Some(25))
        .build()
        .unwrap();
    let drops = Arc::new(AtomicUsize::new(0));
    let threads: Vec<_> = (0..2)
        .map(|_| {
            let heap = heap.clone();
            let drops = drops.clone();
            std::thread::spawn(move || {
                let mut m = heap.mutator();
                churn(&mut m, 3000, 500, &drops)
            })
        })
        .collect();
    let allocated: u64 = threads.into_iter().map(|t| t.join().unwrap()).sum();
    let cycles = heap.stats().num_gc;
    assert!(cycles >= 3, "only {cycles} cycles ran");
    // Every list is garbage now: a collection frees every node, each by
    // its own type's destructor, exactly once.
    heap.collect();
    heap.collect();
    assert_eq!(drops.load(Ordering::SeqCst) as u64, allocated);
}
