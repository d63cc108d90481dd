//! `#[derive(Trace)]` and the std impls in gc-core, checked through which
//! impls exist and what `NEEDS_TRACE` says. The compile-fail side lives in
//! `tests-ui/tests/derive_ui.rs`.

// The derive's output must stay quiet in strict user crates. Most types here
// exist only to be named in types, so dead code is allowed at the top and
// checked in `strict` at the end instead.
#![deny(warnings, unused, nonstandard_style, rust_2018_idioms)]
#![allow(dead_code)]

use std::cell::{Cell, RefCell};
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet, VecDeque};
use std::hash::{BuildHasherDefault, DefaultHasher};
use std::marker::PhantomData;
use std::rc::Rc;
use std::sync::{Arc, Mutex};

use tricolor::{NoGc, Trace, Tracer};

/// Stands in for a GC pointer: `NEEDS_TRACE` is true and it is not `NoGc`.
#[derive(Clone, Default)]
struct Traced;

// SAFETY: holds no GC pointer, and claiming `NEEDS_TRACE = true` is always
// allowed.
unsafe impl Trace for Traced {
    fn trace(&self, _tracer: &mut Tracer<'_>) {}
}

/// Implements neither trait.
struct Foreign;

/// The documented escape hatch for a foreign type: a newtype whose
/// `unsafe impl NoGc` is the promise. It still implements no `Trace`.
struct Wrapped(Foreign);

// SAFETY: `Foreign` holds nothing.
unsafe impl NoGc for Wrapped {}

fn needs_trace<T: Trace + ?Sized>() -> bool {
    T::NEEDS_TRACE
}

fn assert_trace<T: Trace + ?Sized>() {}

fn assert_no_gc<T: NoGc + ?Sized>() {}

/// Whether `$ty: $trait`, as a `bool`, for negative checks: the inherent
/// const exists only when the bound holds and otherwise the trait's `false`
/// is found.
macro_rules! implements {
    ($ty:ty: $trait:path) => {{
        struct Probe<T: ?Sized>(PhantomData<T>);
        trait Fallback {
            const IMPLEMENTS: bool = false;
        }
        impl<T: ?Sized> Fallback for Probe<T> {}
        impl<T: ?Sized + $trait> Probe<T> {
            // Read only where the bound holds, i.e. never in a negative check.
            #[allow(dead_code)]
            const IMPLEMENTS: bool = true;
        }
        Probe::<$ty>::IMPLEMENTS
    }};
}

#[derive(Trace)]
struct Plain {
    count: u32,
    name: String,
    samples: Vec<f64>,
    label: Option<Box<str>>,
    pair: (u8, char),
    table: HashMap<String, i64>,
    source: &'static str,
}

#[test]
fn struct_of_leaves_needs_no_trace() {
    assert!(!needs_trace::<Plain>());
}

#[derive(Trace)]
struct Generic<T> {
    value: T,
    count: usize,
}

#[test]
fn generic_struct_follows_its_parameter() {
    assert!(!needs_trace::<Generic<u8>>());
    assert!(needs_trace::<Generic<Traced>>());
    assert!(needs_trace::<Generic<Vec<Traced>>>());
}

#[test]
fn generic_impl_requires_trace_parameters() {
    assert_trace::<Generic<String>>();
    assert!(implements!(Generic<Traced>: Trace));
    assert!(!implements!(Generic<Foreign>: Trace));
}

#[derive(Trace)]
struct Bounded<'a, T: Clone, const N: usize>
where
    T: Default,
{
    items: [T; N],
    borrowed: PhantomData<&'a T>,
}

#[test]
fn user_bounds_lifetimes_and_const_generics_are_kept() {
    assert!(!needs_trace::<Bounded<'_, u8, 4>>());
    assert!(needs_trace::<Bounded<'_, Traced, 1>>());
}

#[derive(Trace)]
struct Unit;

#[derive(Trace)]
struct EmptyTuple();

#[derive(Trace)]
struct EmptyNamed {}

#[derive(Trace)]
enum Never {}

#[test]
fn types_without_fields_need_no_trace() {
    assert!(!needs_trace::<Unit>());
    assert!(!needs_trace::<EmptyTuple>());
    assert!(!needs_trace::<EmptyNamed>());
    assert!(!needs_trace::<Never>());
}

#[derive(Trace)]
enum Value<T> {
    Nil,
    Tuple(u8, T),
    Named { text: String, inner: T },
    EmptyTuple(),
    EmptyNamed {},
}

#[derive(Trace)]
enum Fieldless {
    A,
    B,
}

#[test]
fn enums_of_every_variant_kind() {
    assert!(!needs_trace::<Value<u8>>());
    assert!(needs_trace::<Value<Traced>>());
    assert!(!needs_trace::<Fieldless>());
    assert!(!implements!(Value<Foreign>: Trace));
}

/// Claims `NEEDS_TRACE = true` although it is `NoGc`, so that skipping it
/// visibly changes `NEEDS_TRACE`.
struct TracedNoGc;

// SAFETY: holds no GC pointer, and claiming `NEEDS_TRACE = true` is always
// allowed.
unsafe impl Trace for TracedNoGc {
    fn trace(&self, _tracer: &mut Tracer<'_>) {}
}

// SAFETY: holds no GC pointer.
unsafe impl NoGc for TracedNoGc {}

#[derive(Trace)]
struct Skipping {
    #[trace(skip)]
    wrapped: Wrapped,
    #[trace(skip)]
    traced: TracedNoGc,
    kept: u8,
}

#[derive(Trace)]
struct Unskipped {
    traced: TracedNoGc,
    kept: u8,
}

#[derive(Trace)]
enum SkippingEnum {
    Tuple(#[trace(skip)] TracedNoGc, u8),
    Named {
        #[trace(skip)]
        skipped: TracedNoGc,
        kept: String,
    },
}

#[derive(Trace)]
struct SkippingSome {
    #[trace(skip)]
    wrapped: Wrapped,
    traced: Traced,
}

/// Skipped fields that involve type parameters: `PhantomData<T>` is `NoGc`
/// for every `T`, `Vec<K>` only when the user's bound says `K: NoGc`.
#[derive(Trace)]
struct SkippingGeneric<T, K: NoGc> {
    #[trace(skip)]
    marker: PhantomData<T>,
    #[trace(skip)]
    keys: Vec<K>,
    kept: T,
}

#[test]
fn skip_removes_the_field() {
    assert!(needs_trace::<Unskipped>());
    assert!(!needs_trace::<Skipping>());
    assert!(!needs_trace::<SkippingEnum>());
    assert!(needs_trace::<SkippingSome>());
    assert!(!needs_trace::<SkippingGeneric<u8, TracedNoGc>>());
    assert!(needs_trace::<SkippingGeneric<Traced, TracedNoGc>>());
}

#[test]
fn skip_accepts_a_no_gc_newtype_around_a_foreign_type() {
    assert!(!implements!(Wrapped: Trace));
    assert_trace::<Skipping>();
    assert_trace::<SkippingSome>();
    // Skipping adds no `NoGc` requirement on the other parameters.
    assert_trace::<SkippingGeneric<Traced, u8>>();
}

/// Field and binding names that the generated code also uses.
#[derive(Trace)]
struct Clashing {
    tracer: u8,
    __field0: Traced,
}

#[derive(Trace)]
enum ClashingEnum {
    Named { tracer: Traced, __field0: u8 },
}

#[test]
fn field_names_do_not_clash_with_generated_names() {
    assert!(needs_trace::<Clashing>());
    assert!(needs_trace::<ClashingEnum>());
}

#[derive(Trace)]
#[trace(no_gc)]
struct Span {
    start: u32,
    end: u32,
}

#[derive(Trace)]
#[trace(no_gc)]
struct Pair<T> {
    left: T,
    right: T,
}

#[derive(Trace)]
#[trace(no_gc)]
struct NoGcSkipping {
    #[trace(skip)]
    wrapped: Wrapped,
}

/// A skipped field stays in the `NoGc` bounds: `T: NoGc` holds for every
/// `T` the `Trace` impl accepts, but the `NoGc` impl does not rely on that.
#[derive(Trace)]
#[trace(no_gc)]
struct NoGcSkippingGeneric<T: NoGc> {
    #[trace(skip)]
    value: T,
}

/// A skipped self-reference of a `no_gc` type.
#[derive(Trace)]
#[trace(no_gc)]
struct NoGcSkippingSelf {
    #[trace(skip)]
    next: Option<Rc<Self>>,
    value: u32,
}

#[test]
fn no_gc_gives_a_checked_no_gc_impl() {
    assert_no_gc::<Span>();
    assert_no_gc::<Pair<String>>();
    assert_no_gc::<NoGcSkipping>();
    assert_no_gc::<NoGcSkippingGeneric<Wrapped>>();
    assert!(!needs_trace::<NoGcSkippingGeneric<TracedNoGc>>());
    assert_no_gc::<NoGcSkippingSelf>();
    assert!(!needs_trace::<NoGcSkippingSelf>());
    assert!(!implements!(Pair<Traced>: NoGc));
    assert!(!implements!(Plain: NoGc));
    // What `NoGc` is for: the cells accept it.
    assert_trace::<RefCell<Span>>();
    assert!(!needs_trace::<RefCell<Span>>());
}

#[derive(Trace)]
#[trace(crate = "gc_core")]
struct ViaCore {
    inner: Traced,
    #[trace(skip)]
    skipped: Wrapped,
}

#[derive(Trace)]
#[trace(crate = "tricolor", no_gc)]
struct ViaFacade {
    inner: u8,
}

#[test]
fn crate_path_can_be_overridden() {
    assert!(needs_trace::<ViaCore>());
    assert_no_gc::<ViaFacade>();
}

#[derive(Trace)]
enum Expr {
    Int(i64),
    Add(Box<Expr>, Box<Self>),
    Call { callee: Box<Expr>, args: Vec<Expr> },
}

#[derive(Trace)]
enum TracedExpr {
    Leaf(Traced),
    Node(Vec<TracedExpr>),
}

#[derive(Trace)]
enum Mixed {
    Nil,
    Pairs(Vec<(Mixed, Traced)>),
}

#[derive(Trace)]
struct List<T> {
    head: T,
    tail: Option<Box<List<T>>>,
}

#[derive(Trace)]
#[trace(no_gc)]
struct SharedNode {
    next: Option<Rc<SharedNode>>,
    value: u32,
}

#[test]
fn recursive_types_count_only_their_other_fields() {
    assert!(!needs_trace::<Expr>());
    assert!(needs_trace::<TracedExpr>());
    assert!(needs_trace::<Mixed>());
    assert!(!needs_trace::<List<u8>>());
    assert!(needs_trace::<List<Traced>>());
    assert!(!needs_trace::<SharedNode>());
    assert_no_gc::<SharedNode>();
}

#[test]
fn leaves() {
    assert!(!needs_trace::<u8>());
    assert!(!needs_trace::<f64>());
    assert!(!needs_trace::<()>());
    assert!(!needs_trace::<str>());
    assert!(!needs_trace::<String>());
    assert!(!needs_trace::<Box<str>>());
    assert!(!needs_trace::<&'static str>());
    assert!(!needs_trace::<std::path::PathBuf>());
    assert!(!needs_trace::<std::time::Duration>());
    assert!(!needs_trace::<std::time::Instant>());
    assert!(!needs_trace::<std::sync::atomic::AtomicUsize>());
    assert_no_gc::<(u8, String, std::time::Duration, &'static str)>();
}

#[test]
fn containers_follow_their_elements() {
    assert!(!needs_trace::<Vec<u8>>());
    assert!(needs_trace::<Vec<Traced>>());
    assert!(needs_trace::<VecDeque<Traced>>());
    assert!(needs_trace::<Option<Traced>>());
    assert!(!needs_trace::<Result<u8, String>>());
    assert!(needs_trace::<Result<u8, Traced>>());
    assert!(needs_trace::<Result<Traced, u8>>());
    assert!(needs_trace::<Box<Traced>>());
    assert!(needs_trace::<Box<[Traced]>>());
    assert!(!needs_trace::<Box<[u8]>>());
    assert!(needs_trace::<[Traced; 2]>());
    assert!(!needs_trace::<[u8; 2]>());
    assert!(needs_trace::<HashMap<String, Traced>>());
    assert!(needs_trace::<HashMap<Traced, u8>>());
    assert!(!needs_trace::<BTreeMap<u8, String>>());
    assert!(needs_trace::<BTreeMap<u8, Traced>>());
    assert!(needs_trace::<HashSet<Traced>>());
    assert!(!needs_trace::<BTreeSet<u8>>());
    assert!(!needs_trace::<PhantomData<Traced>>());
    assert_no_gc::<HashMap<String, Vec<u8>>>();
    // The hash builder is owned state like the elements.
    type DefaultBuilder = BuildHasherDefault<DefaultHasher>;
    assert!(!needs_trace::<HashMap<u8, u8, DefaultBuilder>>());
    assert!(needs_trace::<HashMap<u8, u8, Traced>>());
    assert!(needs_trace::<HashSet<u8, Traced>>());
    assert_no_gc::<HashSet<u8, DefaultBuilder>>();
    assert_no_gc::<PhantomData<Traced>>();
    assert!(!implements!(Vec<Traced>: NoGc));
}

#[test]
fn tuples_follow_their_elements() {
    assert!(!needs_trace::<(u8,)>());
    assert!(needs_trace::<(Traced,)>());
    assert!(needs_trace::<(u8, Traced)>());
    type Twelve<T> = (u8, u8, u8, u8, u8, u8, u8, u8, u8, u8, u8, T);
    assert!(!needs_trace::<Twelve<u8>>());
    assert!(needs_trace::<Twelve<Traced>>());
    assert_no_gc::<Twelve<String>>();
    assert!(!implements!(Twelve<Traced>: NoGc));
}

#[test]
fn cells_and_shared_ownership_need_no_gc_contents() {
    assert!(!needs_trace::<Cell<u32>>());
    assert!(!needs_trace::<RefCell<Vec<String>>>());
    assert!(!needs_trace::<Mutex<u8>>());
    assert!(!needs_trace::<Rc<str>>());
    assert!(!needs_trace::<Arc<Vec<u8>>>());
    assert_no_gc::<Arc<str>>();
    assert!(!implements!(RefCell<Traced>: Trace));
    assert!(!implements!(Cell<Traced>: Trace));
    assert!(!implements!(Mutex<Traced>: Trace));
    assert!(!implements!(Rc<Traced>: Trace));
    assert!(!implements!(Arc<Traced>: Trace));
}

/// Types that are fully used, so that `dead_code` can be denied: anything
/// the derive emits unused would fail the build here.
#[deny(dead_code)]
mod strict {
    use super::*;

    #[derive(Trace)]
    #[trace(no_gc)]
    struct Marker;

    #[derive(Trace)]
    #[trace(no_gc)]
    struct Id(u32);

    #[derive(Trace)]
    enum Tree<T> {
        Leaf(T),
        Node {
            children: Vec<Self>,
            #[trace(skip)]
            marker: Marker,
        },
    }

    #[test]
    fn derived_code_adds_no_dead_code() {
        let tree = Tree::Node {
            children: vec![Tree::Leaf(Id(7))],
            marker: Marker,
        };
        let leaves = match &tree {
            Tree::Node {
                children,
                marker: Marker,
            } => children
                .iter()
                .map(|child| match child {
                    Tree::Leaf(Id(id)) => *id,
                    Tree::Node { .. } => 0,
                })
                .sum::<u32>(),
            Tree::Leaf(Id(id)) => *id,
        };
        assert_eq!(leaves, 7);
        assert!(!needs_trace::<Tree<Id>>());
    }
}

/// Plain `'static` data needs no `unsafe`: function pointers, `&'static
/// str` and enums of plain data derive or implement `Trace`, and a generic
/// type holding a `Member<T>` needs no hand-written `T: 'static`.
#[derive(Trace)]
struct WithStatics<T> {
    link: tricolor::Member<T>,
    op: fn(i64, i64) -> i64,
    name: &'static str,
    kind: PlainKind,
}

#[derive(Trace, Clone, Copy, PartialEq, Debug)]
#[trace(no_gc)]
enum PlainKind {
    Add,
    Mul,
}

#[test]
fn plain_static_data_and_generic_members_derive_without_unsafe() {
    const { assert!(!<fn(i64, i64) -> i64 as Trace>::NEEDS_TRACE) };
    let heap = tricolor::Heap::new();
    let mut m = heap.mutator();
    let target = m.alloc(String::from("target"));
    let g = m.alloc(WithStatics {
        link: target.into(),
        op: |a, b| a * b,
        name: "mul",
        kind: PlainKind::Mul,
    });
    let g = m.root(g);
    m.collect();
    let g = g.get(&m);
    assert_eq!((g.op)(6, 7), 42);
    assert_eq!((g.name, g.kind), ("mul", PlainKind::Mul));
    assert_ne!(g.kind, PlainKind::Add);
    assert_eq!(g.link.get().unwrap().as_str(), "target");
}

/// Plain `Copy` data from other crates as fields, without `unsafe`: the
/// type needs no trace, and the values survive collections.
#[test]
fn static_wraps_foreign_plain_data() {
    use std::net::Ipv4Addr;
    use std::time::Duration;
    use tricolor::{Gc, Heap, Member, Static};

    #[derive(Trace)]
    struct Peer {
        addr: Static<Ipv4Addr>,
        timeout: Static<Duration>,
        next: Member<Peer>,
    }
    assert!(!needs_trace::<Static<Ipv4Addr>>());
    assert_no_gc::<Static<Duration>>();
    let heap = Heap::new();
    let mut m = heap.mutator();
    let mut head = m.alloc(Peer {
        addr: Static::new(Ipv4Addr::new(10, 0, 0, 0)),
        timeout: Duration::ZERO.into(),
        next: Member::null(),
    });
    for i in 1..=1000u32 {
        head = m.alloc(Peer {
            addr: Ipv4Addr::from(0x0a00_0000 + i).into(),
            timeout: Duration::from_millis(i.into()).into(),
            next: head.into(),
        });
    }
    let head = m.root(head);
    m.collect();
    for i in 0..10_000u64 {
        m.alloc(Static::new(i));
    }
    m.collect();
    let mut at = Some(head.get(&m));
    let mut i = 1000u32;
    while let Some(p) = at {
        assert_eq!(p.addr.get(), Ipv4Addr::from(0x0a00_0000 + i));
        assert_eq!(*p.timeout, Duration::from_millis(i.into()));
        at = Gc::as_ref(p).next.get();
        i = i.wrapping_sub(1);
    }
    assert_eq!(i, u32::MAX, "the whole list survived");
}
