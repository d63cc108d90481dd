//! Tree-allocation throughput: tricolor against ownership (`Box`), reference
//! counting (`Rc`) and three crates.io collectors (`gc`, `dumpster`,
//! `gc-arena`) on the two classic GC workloads, in one criterion run so the
//! ratios are read off one report.
//!
//! - `binary_trees_16`: the Benchmarks Game binary-trees at depth 16 (a
//!   stretch tree of depth 17, a long-lived tree of depth 16, then
//!   2^(16-d+4) trees of depth d for d = 4, 6, .., 16, each built bottom-up
//!   and checked by counting its nodes). About 15 million short-lived nodes.
//! - `gcbench`: Boehm and Ellis's GCBench with the standard parameters
//!   (stretch depth 18, a long-lived top-down tree of depth 16, a long-lived
//!   array of 500,000 doubles, then for d = 4, 6, .., 16 as many top-down
//!   trees as fit in twice the stretch tree, and as many bottom-up ones).
//!   Top-down construction stores freshly allocated children into an
//!   existing parent, so it exercises each collector's write path
//!   (`RefCell`, `GcCell`, `Lock` + `Gc::write`, `Member::set`).
//!
//! One criterion iteration is one whole program run on a fresh heap: heap
//! creation, the workload, and freeing everything at the end are all timed,
//! because that is what a program pays and the collectors differ in where
//! they put the cost (on drop, at a safepoint, at teardown). The node
//! counts are summed and asserted against the known totals on every
//! iteration, so an implementation that skips work fails instead of looking
//! fast.
//!
//! The drivers (loop structure, checksums) are written once, generic over
//! the [`BinaryTrees`] and [`GcBench`] traits; each implementation module
//! only says how to build, count and keep trees. Where a collector has to
//! be told when it may run, it is told after every tree: `Mutator::safepoint`
//! for tricolor, `Arena::collect_debt` for gc-arena. `gc` collects inside
//! allocation and `dumpster` frees on drop, so they need no such call.
//!
//! The tricolor trees are the examples' own (examples/shared/trees.rs), and
//! the `Box`, `Rc`, `gc` and `dumpster` modules share one piece of code,
//! `ptr_imp!`, over their pointer and cell types.

// `criterion_main!` defines an undocumented `pub fn main`.
#![allow(missing_docs)]

use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion, SamplingMode};

// ---------------------------------------------------------------------------
// Drivers
// ---------------------------------------------------------------------------

/// What an implementation provides for binary-trees. `Default` makes a
/// fresh, empty heap.
trait BinaryTrees: Default {
    /// Build a tree of `depth` bottom-up, return its node count, let it die.
    fn temp_tree(&mut self, depth: u32) -> u64;
    /// Build the long-lived tree of `depth` (bottom-up) and keep it alive.
    fn make_long_lived(&mut self, depth: u32);
    /// Node count of the long-lived tree.
    fn check_long_lived(&mut self) -> u64;
}

/// What an implementation provides for GCBench. `Default` makes a fresh,
/// empty heap.
trait GcBench: Default {
    /// Allocate a node, then give it children down to `depth`, each parent
    /// allocated before its children and the children stored into it.
    /// Returns the node count if `want_check`, else 0; the tree then dies.
    fn top_down(&mut self, depth: u32, want_check: bool) -> u64;
    /// Build a tree of `depth` children first. Returns the node count if
    /// `want_check`, else 0; the tree then dies.
    fn bottom_up(&mut self, depth: u32, want_check: bool) -> u64;
    /// Build the long-lived tree top-down and keep it alive.
    fn make_long_lived(&mut self, depth: u32);
    /// Keep `values` alive in the heap.
    fn keep_array(&mut self, values: Vec<f64>);
    /// Node count of the long-lived tree.
    fn check_long_lived(&mut self) -> u64;
    /// Element 1000 of the long-lived array.
    fn array_1000(&mut self) -> f64;
}

const BT_DEPTH: u32 = 16;
const BT_MIN_DEPTH: u32 = 4;
/// Stretch (2^18 - 1) + each depth's 2^(20-d) * (2^(d+1) - 1) + long-lived
/// (2^17 - 1).
const BT_EXPECTED: u64 = 14_985_902;

/// The whole binary-trees program; returns the sum of all node counts.
fn binary_trees<B: BinaryTrees>() -> u64 {
    let mut imp = B::default();
    let mut sum = imp.temp_tree(BT_DEPTH + 1);
    imp.make_long_lived(BT_DEPTH);
    let mut d = BT_MIN_DEPTH;
    while d <= BT_DEPTH {
        for _ in 0..1u64 << (BT_DEPTH - d + BT_MIN_DEPTH) {
            sum += imp.temp_tree(d);
        }
        d += 2;
    }
    sum + imp.check_long_lived()
}

const GCB_STRETCH_DEPTH: u32 = 18;
const GCB_LONG_LIVED_DEPTH: u32 = 16;
const GCB_ARRAY_SIZE: usize = 500_000;
const GCB_MIN_DEPTH: u32 = 4;
const GCB_MAX_DEPTH: u32 = 16;
/// Stretch (2^19 - 1) + the last top-down and bottom-up tree of each depth
/// (2 * (2^(d+1) - 1)) + long-lived (2^17 - 1).
const GCB_EXPECTED: u64 = 1_004_848;

fn gcb_tree_size(depth: u32) -> u64 {
    (1 << (depth + 1)) - 1
}

/// The whole GCBench program; returns the sum of the node counts it checks
/// (the stretch tree, the last tree of each kind and depth, the long-lived
/// tree) and asserts the long-lived array survived.
fn gcbench<G: GcBench>() -> u64 {
    let mut imp = G::default();
    let mut sum = imp.bottom_up(GCB_STRETCH_DEPTH, true);
    imp.make_long_lived(GCB_LONG_LIVED_DEPTH);
    let mut values = vec![0.0; GCB_ARRAY_SIZE];
    for (i, v) in values.iter_mut().enumerate().take(GCB_ARRAY_SIZE / 2) {
        *v = 1.0 / i as f64;
    }
    imp.keep_array(values);
    let mut d = GCB_MIN_DEPTH;
    while d <= GCB_MAX_DEPTH {
        let iters = 2 * gcb_tree_size(GCB_STRETCH_DEPTH) / gcb_tree_size(d);
        for i in 0..iters {
            sum += imp.top_down(d, i == iters - 1);
        }
        for i in 0..iters {
            sum += imp.bottom_up(d, i == iters - 1);
        }
        d += 2;
    }
    assert_eq!(imp.array_1000(), 1.0 / 1000.0, "long-lived array corrupted");
    sum + imp.check_long_lived()
}

// ---------------------------------------------------------------------------
// Box, Rc, gc and dumpster: one piece of code over four pointer types
// ---------------------------------------------------------------------------

/// The code of the implementation modules for a pointer `$ptr<T>` made by
/// `$ptr::new(value)` that dereferences to `T`: `Box`, `Rc`, and the `Gc`s
/// of rust-gc and dumpster.
///
/// `ptr_imp! { ptr: P, cell: C; struct Node .. struct GNode .. }` is a whole
/// module for a shared pointer `P`, whose top-down stores go through `C`, a
/// `RefCell`-like cell (`borrow`, `borrow_mut`); the module imports `P` and
/// `C`. It passes in its `Node` and `GNode`, which carry the collector's own
/// derives and field attributes. (They have to be written at the call site
/// anyway: dumpster's derive gives the code it generates the spans of the
/// fields, and with fields written in this macro its `self` would resolve
/// here, where there is none.)
///
/// `@bottom_up P` (binary-trees' construction and count) and `@imp P` (the
/// `Imp` that keeps the long-lived data, and the two workload traits) are
/// the parts `Box` uses as well, next to its own top-down construction
/// through `&mut`.
macro_rules! ptr_imp {
    (ptr: $ptr:ident, cell: $cell:ident; $($types:item)*) => {
        $($types)*

        ptr_imp!(@bottom_up $ptr);

        fn new_gnode(l: Option<$ptr<GNode>>, r: Option<$ptr<GNode>>) -> $ptr<GNode> {
            $ptr::new(GNode {
                left: $cell::new(l),
                right: $cell::new(r),
                _i: 0,
                _j: 0,
            })
        }

        fn populate(depth: u32, n: &GNode) {
            if depth == 0 {
                return;
            }
            *n.left.borrow_mut() = Some(new_gnode(None, None));
            *n.right.borrow_mut() = Some(new_gnode(None, None));
            populate(depth - 1, n.left.borrow().as_ref().unwrap());
            populate(depth - 1, n.right.borrow().as_ref().unwrap());
        }

        fn top_down(depth: u32) -> $ptr<GNode> {
            let t = new_gnode(None, None);
            populate(depth, &t);
            t
        }

        fn make_tree(depth: u32) -> $ptr<GNode> {
            if depth == 0 {
                return new_gnode(None, None);
            }
            let l = make_tree(depth - 1);
            let r = make_tree(depth - 1);
            new_gnode(Some(l), Some(r))
        }

        fn gcheck(n: &GNode) -> u64 {
            match (&*n.left.borrow(), &*n.right.borrow()) {
                (Some(l), Some(r)) => 1 + gcheck(l) + gcheck(r),
                _ => 1,
            }
        }

        ptr_imp!(@imp $ptr);
    };

    (@bottom_up $ptr:ident) => {
        fn bottom_up(depth: u32) -> $ptr<Node> {
            if depth == 0 {
                return $ptr::new(Node {
                    left: None,
                    right: None,
                });
            }
            let l = bottom_up(depth - 1);
            let r = bottom_up(depth - 1);
            $ptr::new(Node {
                left: Some(l),
                right: Some(r),
            })
        }

        fn check(n: &Node) -> u64 {
            match (&n.left, &n.right) {
                (Some(l), Some(r)) => 1 + check(l) + check(r),
                _ => 1,
            }
        }
    };

    (@imp $ptr:ident) => {
        use super::{BinaryTrees, GcBench};

        #[derive(Default)]
        pub struct Imp {
            long_lived: Option<$ptr<Node>>,
            g_long_lived: Option<$ptr<GNode>>,
            array: Option<$ptr<Vec<f64>>>,
        }

        impl BinaryTrees for Imp {
            fn temp_tree(&mut self, depth: u32) -> u64 {
                check(&bottom_up(depth))
            }
            fn make_long_lived(&mut self, depth: u32) {
                self.long_lived = Some(bottom_up(depth));
            }
            fn check_long_lived(&mut self) -> u64 {
                check(self.long_lived.as_ref().unwrap())
            }
        }

        impl GcBench for Imp {
            fn top_down(&mut self, depth: u32, want_check: bool) -> u64 {
                let t = top_down(depth);
                if want_check {
                    gcheck(&t)
                } else {
                    0
                }
            }
            fn bottom_up(&mut self, depth: u32, want_check: bool) -> u64 {
                let t = make_tree(depth);
                if want_check {
                    gcheck(&t)
                } else {
                    0
                }
            }
            fn make_long_lived(&mut self, depth: u32) {
                self.g_long_lived = Some(top_down(depth));
            }
            fn keep_array(&mut self, values: Vec<f64>) {
                self.array = Some($ptr::new(values));
            }
            fn check_long_lived(&mut self) -> u64 {
                gcheck(self.g_long_lived.as_ref().unwrap())
            }
            fn array_1000(&mut self) -> f64 {
                self.array.as_ref().unwrap()[1000]
            }
        }
    };
}

// ---------------------------------------------------------------------------
// Box: ownership, freed on drop
// ---------------------------------------------------------------------------

mod boxed {
    struct Node {
        left: Option<Box<Node>>,
        right: Option<Box<Node>>,
    }

    #[derive(Default)]
    struct GNode {
        left: Option<Box<GNode>>,
        right: Option<Box<GNode>>,
        _i: i32,
        _j: i32,
    }

    fn populate(depth: u32, n: &mut GNode) {
        if depth == 0 {
            return;
        }
        n.left = Some(Box::default());
        n.right = Some(Box::default());
        populate(depth - 1, n.left.as_mut().unwrap());
        populate(depth - 1, n.right.as_mut().unwrap());
    }

    fn top_down(depth: u32) -> Box<GNode> {
        let mut t = Box::default();
        populate(depth, &mut t);
        t
    }

    fn make_tree(depth: u32) -> Box<GNode> {
        if depth == 0 {
            return Box::default();
        }
        let l = make_tree(depth - 1);
        let r = make_tree(depth - 1);
        Box::new(GNode {
            left: Some(l),
            right: Some(r),
            _i: 0,
            _j: 0,
        })
    }

    fn gcheck(n: &GNode) -> u64 {
        match (&n.left, &n.right) {
            (Some(l), Some(r)) => 1 + gcheck(l) + gcheck(r),
            _ => 1,
        }
    }

    // Bottom-up trees and `Imp` as for the shared pointers.
    ptr_imp!(@bottom_up Box);
    ptr_imp!(@imp Box);
}

// ---------------------------------------------------------------------------
// std::rc::Rc: reference counting, RefCell for the top-down stores
// ---------------------------------------------------------------------------

mod refcounted {
    use std::cell::RefCell;
    use std::rc::Rc;

    ptr_imp! {
        ptr: Rc, cell: RefCell;

        struct Node {
            left: Option<Rc<Node>>,
            right: Option<Rc<Node>>,
        }

        struct GNode {
            left: RefCell<Option<Rc<GNode>>>,
            right: RefCell<Option<Rc<GNode>>>,
            _i: i32,
            _j: i32,
        }
    }
}

// ---------------------------------------------------------------------------
// gc (rust-gc 0.5): thread-local stop-the-world mark-sweep, collects inside
// `Gc::new` past a byte threshold; GcCell for the top-down stores
// ---------------------------------------------------------------------------

#[allow(non_local_definitions)] // emitted by gc_derive 0.5
mod rust_gc {
    use gc::{Finalize, Gc, GcCell, Trace};

    ptr_imp! {
        ptr: Gc, cell: GcCell;

        #[derive(Trace, Finalize)]
        struct Node {
            left: Option<Gc<Node>>,
            right: Option<Gc<Node>>,
        }

        #[derive(Trace, Finalize)]
        struct GNode {
            left: GcCell<Option<Gc<GNode>>>,
            right: GcCell<Option<Gc<GNode>>>,
            #[unsafe_ignore_trace]
            _i: i32,
            #[unsafe_ignore_trace]
            _j: i32,
        }
    }
}

// ---------------------------------------------------------------------------
// dumpster 2 (unsync::Gc): reference counting plus a cycle collector that
// runs from drops; RefCell for the top-down stores
// ---------------------------------------------------------------------------

mod dumpster_gc {
    use std::cell::RefCell;

    use dumpster::unsync::Gc;
    use dumpster::Trace;

    ptr_imp! {
        ptr: Gc, cell: RefCell;

        #[derive(Trace)]
        struct Node {
            left: Option<Gc<Node>>,
            right: Option<Gc<Node>>,
        }

        #[derive(Trace)]
        struct GNode {
            left: RefCell<Option<Gc<GNode>>>,
            right: RefCell<Option<Gc<GNode>>>,
            _i: i32,
            _j: i32,
        }
    }
}

// ---------------------------------------------------------------------------
// gc-arena 0.7: incremental mark-sweep over a single-rooted arena; pointers
// live only inside `mutate` closures, the program pays the collection debt
// between them (after every tree here); Lock + Gc::write barrier for the
// top-down stores
// ---------------------------------------------------------------------------

mod arena {
    use gc_arena::barrier::unlock;
    use gc_arena::lock::Lock;
    use gc_arena::{Arena, Collect, Gc, Mutation, Rootable};

    use super::{BinaryTrees, GcBench};

    #[derive(Collect)]
    #[collect(no_drop)]
    struct Node<'gc> {
        left: Option<Gc<'gc, Node<'gc>>>,
        right: Option<Gc<'gc, Node<'gc>>>,
    }

    fn bottom_up<'gc>(mc: &Mutation<'gc>, depth: u32) -> Gc<'gc, Node<'gc>> {
        if depth == 0 {
            return Gc::new(
                mc,
                Node {
                    left: None,
                    right: None,
                },
            );
        }
        let l = bottom_up(mc, depth - 1);
        let r = bottom_up(mc, depth - 1);
        Gc::new(
            mc,
            Node {
                left: Some(l),
                right: Some(r),
            },
        )
    }

    fn check(n: &Node<'_>) -> u64 {
        match (n.left, n.right) {
            (Some(l), Some(r)) => 1 + check(&l) + check(&r),
            _ => 1,
        }
    }

    #[derive(Collect)]
    #[collect(no_drop)]
    struct GNode<'gc> {
        left: Lock<Option<Gc<'gc, GNode<'gc>>>>,
        right: Lock<Option<Gc<'gc, GNode<'gc>>>>,
        _i: i32,
        _j: i32,
    }

    fn new_gnode<'gc>(
        mc: &Mutation<'gc>,
        l: Option<Gc<'gc, GNode<'gc>>>,
        r: Option<Gc<'gc, GNode<'gc>>>,
    ) -> Gc<'gc, GNode<'gc>> {
        Gc::new(
            mc,
            GNode {
                left: Lock::new(l),
                right: Lock::new(r),
                _i: 0,
                _j: 0,
            },
        )
    }

    fn populate<'gc>(mc: &Mutation<'gc>, depth: u32, n: Gc<'gc, GNode<'gc>>) {
        if depth == 0 {
            return;
        }
        let l = new_gnode(mc, None, None);
        let r = new_gnode(mc, None, None);
        unlock!(Gc::write(mc, n), GNode, left).set(Some(l));
        unlock!(Gc::write(mc, n), GNode, right).set(Some(r));
        populate(mc, depth - 1, l);
        populate(mc, depth - 1, r);
    }

    fn top_down<'gc>(mc: &Mutation<'gc>, depth: u32) -> Gc<'gc, GNode<'gc>> {
        let t = new_gnode(mc, None, None);
        populate(mc, depth, t);
        t
    }

    fn make_tree<'gc>(mc: &Mutation<'gc>, depth: u32) -> Gc<'gc, GNode<'gc>> {
        if depth == 0 {
            return new_gnode(mc, None, None);
        }
        let l = make_tree(mc, depth - 1);
        let r = make_tree(mc, depth - 1);
        new_gnode(mc, Some(l), Some(r))
    }

    fn gcheck(n: &GNode<'_>) -> u64 {
        match (n.left.get(), n.right.get()) {
            (Some(l), Some(r)) => 1 + gcheck(&l) + gcheck(&r),
            _ => 1,
        }
    }

    #[derive(Collect)]
    #[collect(no_drop)]
    struct Root<'gc> {
        long_lived: Option<Gc<'gc, Node<'gc>>>,
        g_long_lived: Option<Gc<'gc, GNode<'gc>>>,
        array: Option<Gc<'gc, Vec<f64>>>,
    }

    pub struct Imp {
        arena: Arena<Rootable![Root<'_>]>,
    }

    impl Default for Imp {
        fn default() -> Imp {
            Imp {
                arena: Arena::new(|_| Root {
                    long_lived: None,
                    g_long_lived: None,
                    array: None,
                }),
            }
        }
    }

    impl BinaryTrees for Imp {
        fn temp_tree(&mut self, depth: u32) -> u64 {
            let c = self.arena.mutate(|mc, _| check(&bottom_up(mc, depth)));
            self.arena.collect_debt();
            c
        }
        fn make_long_lived(&mut self, depth: u32) {
            self.arena
                .mutate_root(|mc, root| root.long_lived = Some(bottom_up(mc, depth)));
            self.arena.collect_debt();
        }
        fn check_long_lived(&mut self) -> u64 {
            self.arena
                .mutate(|_, root| check(&root.long_lived.unwrap()))
        }
    }

    impl GcBench for Imp {
        fn top_down(&mut self, depth: u32, want_check: bool) -> u64 {
            let c = self.arena.mutate(|mc, _| {
                let t = top_down(mc, depth);
                if want_check {
                    gcheck(&t)
                } else {
                    0
                }
            });
            self.arena.collect_debt();
            c
        }
        fn bottom_up(&mut self, depth: u32, want_check: bool) -> u64 {
            let c = self.arena.mutate(|mc, _| {
                let t = make_tree(mc, depth);
                if want_check {
                    gcheck(&t)
                } else {
                    0
                }
            });
            self.arena.collect_debt();
            c
        }
        fn make_long_lived(&mut self, depth: u32) {
            self.arena
                .mutate_root(|mc, root| root.g_long_lived = Some(top_down(mc, depth)));
            self.arena.collect_debt();
        }
        fn keep_array(&mut self, values: Vec<f64>) {
            self.arena
                .mutate_root(|mc, root| root.array = Some(Gc::new(mc, values)));
            self.arena.collect_debt();
        }
        fn check_long_lived(&mut self) -> u64 {
            self.arena
                .mutate(|_, root| gcheck(&root.g_long_lived.unwrap()))
        }
        fn array_1000(&mut self) -> f64 {
            self.arena.mutate(|_, root| root.array.unwrap()[1000])
        }
    }
}

#[path = "../examples/shared/trees.rs"]
mod trees;

// ---------------------------------------------------------------------------
// tricolor: one mutator, `Member::set` (write barrier) for every store,
// a safepoint after every tree
// ---------------------------------------------------------------------------

mod ours {
    use tricolor::{Heap, Mutator, Root};

    use super::trees::GNode;
    use super::{BinaryTrees, GcBench};

    /// binary-trees' node: two children and no payload.
    type Node = super::trees::Node<()>;

    /// Fields drop in order: roots, then the mutator, then the heap.
    pub struct Imp {
        long_lived: Option<Root<Node>>,
        g_long_lived: Option<Root<GNode>>,
        array: Option<Root<Vec<f64>>>,
        m: Mutator,
        _heap: Heap,
    }

    impl Default for Imp {
        fn default() -> Imp {
            let heap = Heap::new();
            Imp {
                long_lived: None,
                g_long_lived: None,
                array: None,
                m: heap.mutator(),
                _heap: heap,
            }
        }
    }

    impl BinaryTrees for Imp {
        fn temp_tree(&mut self, depth: u32) -> u64 {
            let c = Node::bottom_up(&self.m, depth).check();
            self.m.safepoint();
            c
        }
        fn make_long_lived(&mut self, depth: u32) {
            self.long_lived = Some(self.m.root(Node::bottom_up(&self.m, depth)));
            self.m.safepoint();
        }
        fn check_long_lived(&mut self) -> u64 {
            self.long_lived.as_ref().unwrap().get(&self.m).check()
        }
    }

    impl GcBench for Imp {
        fn top_down(&mut self, depth: u32, want_check: bool) -> u64 {
            let t = GNode::top_down(&self.m, depth);
            let c = if want_check { t.check() } else { 0 };
            self.m.safepoint();
            c
        }
        fn bottom_up(&mut self, depth: u32, want_check: bool) -> u64 {
            let t = GNode::bottom_up(&self.m, depth);
            let c = if want_check { t.check() } else { 0 };
            self.m.safepoint();
            c
        }
        fn make_long_lived(&mut self, depth: u32) {
            self.g_long_lived = Some(self.m.root(GNode::top_down(&self.m, depth)));
            self.m.safepoint();
        }
        fn keep_array(&mut self, values: Vec<f64>) {
            self.array = Some(self.m.root(self.m.alloc(values)));
            self.m.safepoint();
        }
        fn check_long_lived(&mut self) -> u64 {
            self.g_long_lived.as_ref().unwrap().get(&self.m).check()
        }
        fn array_1000(&mut self) -> f64 {
            self.array.as_ref().unwrap().get(&self.m)[1000]
        }
    }
}

// ---------------------------------------------------------------------------
// Criterion wiring
// ---------------------------------------------------------------------------

/// Each implementation: its name in the report, and its two workloads.
type Workloads = (&'static str, fn() -> u64, fn() -> u64);

const IMPLS: [Workloads; 6] = [
    ("box", binary_trees::<boxed::Imp>, gcbench::<boxed::Imp>),
    (
        "rc",
        binary_trees::<refcounted::Imp>,
        gcbench::<refcounted::Imp>,
    ),
    ("gc", binary_trees::<rust_gc::Imp>, gcbench::<rust_gc::Imp>),
    (
        "dumpster",
        binary_trees::<dumpster_gc::Imp>,
        gcbench::<dumpster_gc::Imp>,
    ),
    (
        "gc-arena",
        binary_trees::<arena::Imp>,
        gcbench::<arena::Imp>,
    ),
    ("tricolor", binary_trees::<ours::Imp>, gcbench::<ours::Imp>),
];

/// One group: every implementation's `pick`ed workload, its checksum
/// asserted on every iteration.
fn group(c: &mut Criterion, name: &str, pick: fn(&Workloads) -> fn() -> u64, expected: u64) {
    let mut g = c.benchmark_group(name);
    // One iteration is a whole program run (tens to hundreds of ms): flat
    // sampling, few samples.
    g.sampling_mode(SamplingMode::Flat)
        .sample_size(10)
        .warm_up_time(Duration::from_secs(2))
        .measurement_time(Duration::from_secs(10));
    for imp in &IMPLS {
        let run = pick(imp);
        g.bench_function(imp.0, |b| {
            b.iter(|| {
                let sum = run();
                assert_eq!(sum, expected, "{name}/{}: wrong checksum", imp.0);
                sum
            })
        });
    }
    g.finish();
}

fn trees(c: &mut Criterion) {
    group(c, "binary_trees_16", |w| w.1, BT_EXPECTED);
    group(c, "gcbench", |w| w.2, GCB_EXPECTED);
}

criterion_group!(benches, trees);
criterion_main!(benches);
