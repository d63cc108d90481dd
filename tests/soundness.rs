//! Run-time halves of the safe API's soundness rules (issue 9): every store
//! checks that its slot belongs to the mutator's heap whatever the value,
//! handles refuse a mutator they do not belong to, and derive-introduced
//! names cannot be captured by user names. The compile-time halves are the
//! `tests-ui/tests/ui/api_*_is_invariant.rs` and `tests-ui/tests/ui/derive_*`
//! cases.

use std::panic::{catch_unwind, AssertUnwindSafe};

use tricolor::{Gc, GlobalRoot, Heap, HeapBuilder, Member, NanBox, NanValue, Trace, Weak};

#[derive(Trace)]
struct Leaf {
    value: u64,
}

#[derive(Trace)]
struct Slots {
    member: Member<Leaf>,
    boxed: NanBox<Leaf>,
}

fn heap() -> Heap {
    HeapBuilder::new().build().unwrap()
}

/// The panic message of `f`, which must panic.
fn panic_message(f: impl FnOnce()) -> String {
    let err = catch_unwind(AssertUnwindSafe(f)).expect_err("the store was accepted");
    err.downcast_ref::<String>()
        .cloned()
        .or_else(|| err.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_default()
}

/// Heap A's slot holds a pointer; heap B's mutator stores a number into it.
/// Before, the check ran only for pointer values, so the pointer was deleted
/// without heap A's deletion barrier. Now the store is refused untouched.
#[test]
fn a_number_cannot_overwrite_another_heaps_slot() {
    let (a, b) = (heap(), heap());
    let (ma, mb) = (a.mutator(), b.mutator());
    let target = ma.alloc(Leaf { value: 7 });
    let slots = ma.alloc(Slots {
        member: Member::null(),
        boxed: NanBox::from_f64(0.0),
    });
    slots.boxed.set(&ma, NanValue::from_gc(target));
    let msg = panic_message(|| slots.boxed.set(&mb, NanValue::from_f64(1.0)));
    assert!(
        msg.contains("not inside a GC object of this mutator's heap"),
        "{msg}"
    );
    assert_eq!(slots.boxed.get().as_gc().unwrap().value, 7, "slot changed");
}

/// The mirror case: heap A's pointer stored into heap A's slot through heap
/// B's mutator. The message names the slot, not a `Trace` impl.
#[test]
fn a_store_through_another_heaps_mutator_is_refused() {
    let (a, b) = (heap(), heap());
    let (ma, mb) = (a.mutator(), b.mutator());
    let target = ma.alloc(Leaf { value: 1 });
    let slots = ma.alloc(Slots {
        member: Member::null(),
        boxed: NanBox::from_f64(0.0),
    });
    let msg = panic_message(|| slots.member.set(&mb, Some(target)));
    assert!(msg.contains("Member store into a slot"), "{msg}");
    let msg = panic_message(|| slots.member.set(&mb, None));
    assert!(msg.contains("Member store into a slot"), "{msg}");
    let msg = panic_message(|| slots.boxed.set(&mb, NanValue::from_gc(target)));
    assert!(msg.contains("NanBox store into a slot"), "{msg}");
    assert!(slots.member.is_null());
}

#[test]
fn roots_refuse_a_mutator_they_do_not_belong_to() {
    let (a, b) = (heap(), heap());
    let (ma, mb) = (a.mutator(), b.mutator());
    let root = ma.root(ma.alloc(Leaf { value: 1 }));
    let other = mb.alloc(Leaf { value: 2 });
    let msg = panic_message(|| root.set(&mb, other));
    assert!(msg.contains("Root was used with a Mutator"), "{msg}");
    let global = GlobalRoot::new(&ma, ma.alloc(Leaf { value: 3 }));
    let msg = panic_message(|| global.set(&mb, other));
    assert!(
        msg.contains("GlobalRoot was used with a Mutator of another heap"),
        "{msg}"
    );
    let msg = panic_message(|| {
        GlobalRoot::new(&ma, other);
    });
    assert!(msg.contains("another heap"), "{msg}");
    let msg = panic_message(|| {
        Weak::new(&ma, other);
    });
    assert!(msg.contains("another heap"), "{msg}");
    let weak = Weak::new(&ma, ma.alloc(Leaf { value: 4 }));
    let msg = panic_message(|| {
        weak.upgrade(&mb);
    });
    assert!(
        msg.contains("Weak was used with a Mutator of another heap"),
        "{msg}"
    );
    assert_eq!(root.get(&ma).value, 1);
    assert_eq!(global.get(&ma).value, 3);
}

/// A field-type alias named like the stand-in the derive used to declare
/// for self-references: it must count as the `Member` it is.
#[allow(non_camel_case_types)]
type __TraceRecursionStandIn = Member<Leaf>;

#[derive(Trace)]
enum List {
    Nil,
    Cons(Box<List>),
    Hidden(__TraceRecursionStandIn),
}

#[test]
fn derive_names_cannot_be_captured_by_user_names() {
    const { assert!(<List as Trace>::NEEDS_TRACE) };
    let heap = heap();
    let mut m = heap.mutator();
    let leaf = m.alloc(Leaf { value: 9 });
    let list = m.root(m.alloc(List::Cons(Box::new(List::Hidden(leaf.into())))));
    m.collect();
    m.collect();
    let List::Cons(inner) = Gc::as_ref(list.get(&m)) else {
        panic!("shape changed")
    };
    let List::Hidden(member) = &**inner else {
        panic!("shape changed")
    };
    assert_eq!(member.get().unwrap().value, 9);
    assert!(matches!(List::Nil, List::Nil));
}

/// `copy_from` checks only that the source slot is in the mutator's heap
/// instead of decoding its word: a source in another heap, or outside any
/// heap holding another heap's pointer, takes the full store and is refused;
/// a copy within the heap moves the pointer.
#[test]
fn copy_from_refuses_what_set_refuses() {
    fn slots(m: &tricolor::Mutator) -> Gc<'_, Slots> {
        m.alloc(Slots {
            member: Member::null(),
            boxed: NanBox::from_f64(0.0),
        })
    }
    let (a, b) = (heap(), heap());
    let (ma, mb) = (a.mutator(), b.mutator());
    let (in_a, in_b) = (slots(&ma), slots(&mb));
    let target_b = mb.alloc(Leaf { value: 2 });
    in_b.member.set(&mb, Some(target_b));
    in_b.boxed.set(&mb, NanValue::from_gc(target_b));
    let msg = panic_message(|| in_a.member.copy_from(&ma, &in_b.member));
    assert!(msg.contains("another heap"), "{msg}");
    let msg = panic_message(|| in_a.boxed.copy_from(&ma, &in_b.boxed));
    assert!(msg.contains("another heap"), "{msg}");
    let outside = NanBox::new(NanValue::from_gc(target_b));
    let msg = panic_message(|| in_a.boxed.copy_from(&ma, &outside));
    assert!(msg.contains("another heap"), "{msg}");
    // The refused slot, moved into heap B's object, is published there.
    mb.alloc(Slots {
        member: Member::null(),
        boxed: outside,
    });
    // Heap B's own mutator may not store into heap A's slot either.
    let msg = panic_message(|| in_a.boxed.copy_from(&mb, &in_b.boxed));
    assert!(msg.contains("NanBox store into a slot"), "{msg}");
    let msg = panic_message(|| in_a.boxed.set_f64(&mb, 1.0));
    assert!(msg.contains("NanBox store into a slot"), "{msg}");
    assert!(in_a.member.is_null() && in_a.boxed.get().as_gc().is_none());

    let target_a = ma.alloc(Leaf { value: 1 });
    let other_a = slots(&ma);
    other_a.member.set(&ma, Some(target_a));
    other_a.boxed.set(&ma, NanValue::from_gc(target_a));
    in_a.member.copy_from(&ma, &other_a.member);
    in_a.boxed.copy_from(&ma, &other_a.boxed);
    assert_eq!(in_a.member.get().unwrap().value, 1);
    assert_eq!(in_a.boxed.get().as_gc().unwrap().value, 1);
    in_a.boxed.set_f64(&ma, f64::NAN);
    assert!(f64::from_bits(in_a.boxed.get().bits()).is_nan());
    in_a.boxed.set_bits(&ma, 0x7FF8_0000_0000_0001);
    assert_eq!(in_a.boxed.get().bits(), 0x7FF8_0000_0000_0001);
}
