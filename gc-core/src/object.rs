//! Object layout: every GC object is a header word followed by the value.
//!
//! ```text
//! base ──► [ &'static VTable ][ padding to align_of::<T>() ][ T ]
//! ```
//!
//! The header lets the marker trace, and the sweeper drop, an object knowing
//! only its address. It is written before the object's address is published
//! anywhere and never changes, so reading it needs no synchronisation beyond
//! the one that published the address. `Gc`, `Member` and roots all hold the
//! base address; the value sits at a per-type constant offset.
//!
//! Alignment: slots of every size class from 32 B up are 16-byte aligned, so
//! types aligned to 16 get an object of at least 32 B; larger alignments are
//! refused with a panic naming the type.

use std::ptr::NonNull;

use gc_alloc::{size_class_of, SpanClass};

use crate::mark::Tracer;
use crate::trace::Trace;

/// Object addresses end below this: `NanBox` encodes an address in 48 bits,
/// and `HeapBuilder::build` refuses a reservation that ends above it.
pub(crate) const ADDRESS_LIMIT: usize = 1 << 48;

/// Per-type information the collector needs from an object's address.
pub(crate) struct VTable {
    /// Trace the value at `base + offset`.
    pub(crate) trace: unsafe fn(usize, &mut Tracer<'_>),
    /// Drop the value at `base + offset`, if the type needs it.
    pub(crate) drop: Option<unsafe fn(usize)>,
    /// Offset of the value from the object's base.
    pub(crate) offset: usize,
    /// The type's name, for diagnostics (checkmark reports, panics).
    pub(crate) type_name: fn() -> &'static str,
}

/// Compile-time layout of objects holding a `T`.
pub(crate) struct ObjectType<T>(std::marker::PhantomData<T>);

impl<T: Trace + 'static> ObjectType<T> {
    /// Offset of the value from the object's base.
    pub(crate) const OFFSET: usize = {
        let a = std::mem::align_of::<T>();
        assert!(a <= 16, "GC objects support alignment up to 16 bytes");
        if a > 8 {
            a
        } else {
            8
        }
    };

    /// Bytes the object needs (at least 32 when 16-byte alignment matters).
    pub(crate) const SIZE: usize = {
        let s = Self::OFFSET + std::mem::size_of::<T>();
        if std::mem::align_of::<T>() > 8 && s < 32 {
            32
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
        offset: Self::OFFSET,
        type_name: std::any::type_name::<T>,
    };
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

/// The header of the object at `base`.
///
/// # Safety
/// `base` is the base of an initialised object.
#[inline]
pub(crate) unsafe fn header(base: usize) -> &'static VTable {
    // SAFETY: by the contract the header word was written at allocation and
    // holds a `&'static VTable`.
    unsafe { *(base as *const &'static VTable) }
}

/// Write a new object's header and value into a fresh slot.
///
/// # Safety
/// `slot` is an unused slot of at least `ObjectType::<T>::SIZE` bytes,
/// aligned as `T` needs once offset.
#[inline]
pub(crate) unsafe fn init<T: Trace + 'static>(slot: NonNull<u8>, value: T) {
    // SAFETY: by the contract the slot is ours, large enough and aligned;
    // nothing else can see it before the caller publishes its address.
    unsafe {
        write_header::<T>(slot);
        (slot.as_ptr().add(ObjectType::<T>::OFFSET) as *mut T).write(value);
    }
}

/// Write the header of an object of type `T` into a fresh slot.
///
/// # Safety
/// `slot` is an unused slot of at least one word, not yet visible to others.
#[inline]
pub(crate) unsafe fn write_header<T: Trace + 'static>(slot: NonNull<u8>) {
    // SAFETY: by the contract the first word of the slot is ours.
    unsafe { (slot.as_ptr() as *mut &'static VTable).write(ObjectType::<T>::VTABLE) }
}

/// The sweeper's hook: drop an unreachable object that has a destructor.
///
/// A panic in a destructor would unwind through the sweeper with the span
/// half swept, so it aborts the process with a message instead.
///
/// # Safety
/// `base` is an initialised object that is unreachable and being freed.
pub(crate) unsafe fn drop_object(base: NonNull<u8>) {
    let base = base.as_ptr() as usize;
    // SAFETY: the sweeper only calls this for initialised, freed objects.
    let vt = unsafe { header(base) };
    if let Some(drop) = vt.drop {
        let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            // SAFETY: the object is unreachable and freed exactly once.
            unsafe { drop(base + vt.offset) }
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
