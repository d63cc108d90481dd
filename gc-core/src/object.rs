//! Object layout: a GC object is its value, with no header.
//!
//! ```text
//! base ──► [ T ]      its span (gc-alloc) ──► tag = &'static VTable of T
//! ```
//!
//! Every object is allocated with its type's vtable as gc-alloc's type tag,
//! and a span holds objects of one tag only (a "big bag of pages"), so the
//! marker and the sweeper find an object's vtable through the span they
//! look up anyway, and an object costs only its value's size class.
//! A span's tag is stored before any of its slots is handed out, under the
//! locks that hand the span to a thread cache, so a reader that learned of
//! an object through its published address reads the right tag.
//!
//! A vtable's address stands for its type. One type may have several
//! vtables (one per codegen unit that instantiates it): a thread cache
//! keys its lines by the vtable an allocation names, and its spans carry
//! the type's canonical vtable (`canonical_tag`: the first one seen for its
//! `TypeId`), so every allocation of a type shares the type's spans.
//!
//! Alignment: slots of every size class from 32 B up are 16-byte aligned, so
//! types aligned to 16 get an object of at least 32 B; larger alignments are
//! refused with a panic naming the type.

use std::any::TypeId;
use std::collections::HashMap;
use std::ptr::NonNull;
use std::sync::{LazyLock, RwLock};

use gc_alloc::{size_class_of, AllocHeap, SpanClass, TypeTag};

use crate::mark::Tracer;
use crate::trace::Trace;

/// Object addresses end below this: `NanBox` encodes an address in 48 bits,
/// and `HeapBuilder::build` refuses a reservation that ends above it.
pub(crate) const ADDRESS_LIMIT: usize = 1 << 48;

/// Per-type information the collector needs from an object's address.
pub(crate) struct VTable {
    /// Trace the object at this address.
    pub(crate) trace: unsafe fn(usize, &mut Tracer<'_>),
    /// Drop the object at this address, if the type needs it.
    pub(crate) drop: Option<unsafe fn(usize)>,
    /// The type's name, for diagnostics (checkmark reports, panics).
    pub(crate) type_name: fn() -> &'static str,
    /// The type's identity, which its vtables share (`canonical_tag`).
    type_id: fn() -> TypeId,
}

/// Compile-time layout of objects holding a `T`.
pub(crate) struct ObjectType<T>(std::marker::PhantomData<T>);

impl<T: Trace + 'static> ObjectType<T> {
    /// Bytes the object needs: its value's size, at least one byte (so
    /// that distinct objects have distinct addresses), and at least 32 when
    /// 16-byte alignment matters.
    pub(crate) const SIZE: usize = {
        let a = std::mem::align_of::<T>();
        assert!(a <= 16, "GC objects support alignment up to 16 bytes");
        let s = std::mem::size_of::<T>();
        if a > 8 && s < 32 {
            32
        } else if s == 0 {
            1
        } else {
            s
        }
    };

    /// The span class of small objects, `None` for large ones.
    pub(crate) const SPAN_CLASS: Option<SpanClass> = match size_class_of(Self::SIZE) {
        Some(c) => Some(SpanClass::new(c, !T::NEEDS_TRACE)),
        None => None,
    };

    pub(crate) const VTABLE: &'static VTable = &VTable {
        trace: trace_value::<T>,
        drop: if std::mem::needs_drop::<T>() {
            Some(drop_value::<T>)
        } else {
            None
        },
        type_name: std::any::type_name::<T>,
        type_id: TypeId::of::<T>,
    };

    /// The type tag of objects holding a `T`: their vtable's address.
    #[inline(always)]
    pub(crate) fn tag() -> TypeTag {
        Self::VTABLE as *const VTable as TypeTag
    }
}

/// # Safety
/// `addr` is the value of a live object of type `T`.
unsafe fn trace_value<T: Trace>(addr: usize, tracer: &mut Tracer<'_>) {
    // SAFETY: by the contract, `addr` points at a live, initialised `T`.
    unsafe { &*(addr as *const T) }.trace(tracer)
}

/// # Safety
/// `addr` is the value of an object of type `T` that is being freed and is
/// never touched again.
unsafe fn drop_value<T>(addr: usize) {
    // SAFETY: by the contract, the value is initialised and dropped once.
    unsafe { std::ptr::drop_in_place(addr as *mut T) }
}

/// The vtable a type tag stands for.
///
/// # Safety
/// `tag` is the tag of a span of a heap built by this crate, in use: every
/// such span was allocated with `ObjectType::tag` (the mutator's allocation
/// paths are the only ones that pass a tag to gc-alloc).
#[inline]
pub(crate) unsafe fn vtable(tag: TypeTag) -> &'static VTable {
    // SAFETY: by the contract the tag is the address of a `&'static VTable`.
    unsafe { &*(tag as *const VTable) }
}

/// The vtable of the object at `base` in `alloc`, read from its span.
///
/// # Safety
/// `base` is an allocated object of `alloc`, a heap this crate built, and
/// its span is not freed meanwhile (`vtable`'s contract).
#[inline]
pub(crate) unsafe fn vtable_of(alloc: &AllocHeap, base: usize) -> &'static VTable {
    let tag = alloc
        .tag_of(base)
        .expect("an allocated object is in a span");
    // SAFETY: by the contract, the span is this crate's and in use.
    unsafe { vtable(tag) }
}

/// The first tag seen for each type (`canonical_tag`).
static CANONICAL: LazyLock<RwLock<HashMap<TypeId, TypeTag>>> = LazyLock::new(Default::default);

/// gc-alloc's `canonical_tag` hook: the tag all of `tag`'s type's spans
/// carry. Called when a thread cache line takes a new tag, not per object.
///
/// # Safety
/// `tag` is `ObjectType::<T>::tag()` for some `T` (the mutator's
/// allocation paths pass no other tag to gc-alloc).
pub(crate) unsafe fn canonical_tag(tag: TypeTag) -> TypeTag {
    // SAFETY: by the contract the tag is the address of a vtable.
    let id = (unsafe { vtable(tag) }.type_id)();
    // The map only grows and its values are `&'static` vtables, so a lock
    // poisoned by a panic elsewhere still holds a valid map.
    let known = CANONICAL
        .read()
        .unwrap_or_else(|e| e.into_inner())
        .get(&id)
        .copied();
    known.unwrap_or_else(|| {
        *CANONICAL
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .entry(id)
            .or_insert(tag)
    })
}

/// Write a new object's value into a fresh slot.
///
/// # Safety
/// `slot` is an unused slot of at least `ObjectType::<T>::SIZE` bytes,
/// aligned for `T`, in a span whose tag is `ObjectType::<T>::tag()`.
#[inline]
pub(crate) unsafe fn init<T: Trace + 'static>(slot: NonNull<u8>, value: T) {
    // SAFETY: by the contract the slot is ours, large enough and aligned;
    // nothing else can see it before the caller publishes its address.
    unsafe { (slot.as_ptr() as *mut T).write(value) }
}

/// The sweeper's hook: drop an unreachable object that has a destructor.
///
/// A panic in a destructor would unwind through the sweeper with the span
/// half swept, so it aborts the process with a message instead.
///
/// # Safety
/// `base` is an initialised object that is unreachable and being freed, in
/// a span whose tag is `tag`.
pub(crate) unsafe fn drop_object(base: NonNull<u8>, tag: TypeTag) {
    let base = base.as_ptr() as usize;
    // SAFETY: the sweeper passes the tag of the object's span, which this
    // crate's allocation paths set (`vtable`'s contract).
    let vt = unsafe { vtable(tag) };
    if let Some(drop) = vt.drop {
        let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            // SAFETY: the object is unreachable and freed exactly once.
            unsafe { drop(base) }
        }));
        if r.is_err() {
            eprintln!(
                "tricolor: the destructor of a `{}` panicked while the collector swept it; \
                 a destructor run by the collector must not panic. Aborting.",
                (vt.type_name)()
            );
            std::process::abort();
        }
    }
}
