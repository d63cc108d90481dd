//! Hash tables keyed by interned strings (fields, methods), stored
//! in the GC heap.
//!
//! Open addressing with linear probing over a `GcArray<Entry>`, as clox's
//! table.c. The entries must be inside the heap (their keys and values are
//! GC pointers set through the barrier), so growing allocates a bigger array,
//! re-inserts, and lets the old array become garbage. Keys are compared by
//! identity: all strings are interned. Lox never removes a field or method,
//! so there are no tombstones.

use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};

use tricolor::{Gc, GcArray, Member, Mutator, Trace};

use crate::object::{hash_of, Obj};
use crate::value::{Slot, Value};

#[derive(Trace, Default)]
pub struct Table {
    /// Null until the first insertion; length a power of two.
    entries: Member<GcArray<Entry>>,
    count: AtomicUsize,
}

#[derive(Trace)]
pub struct Entry {
    key: Member<Obj>,
    value: Slot,
}

impl Entry {
    fn empty() -> Entry {
        Entry {
            key: Member::null(),
            value: Slot::nil(),
        }
    }
}

/// The entry holding `key`, or the empty one where it would go. The table
/// is never full (load factor at most 3/4), so the probe ends.
#[inline]
fn find<'a>(entries: &'a [Entry], key: Gc<'_, Obj>) -> &'a Entry {
    let mask = entries.len() - 1;
    let mut i = hash_of(key) as usize & mask;
    loop {
        let e = &entries[i];
        match e.key.get() {
            None => return e,
            Some(k) if Gc::ptr_eq(k, key) => return e,
            Some(_) => i = (i + 1) & mask,
        }
    }
}

impl Table {
    /// The value stored under `key`.
    #[inline]
    pub fn get<'a>(&'a self, key: Gc<'_, Obj>) -> Option<Value<'a>> {
        let entries = self.entries.get()?.get();
        let e = find(entries, key);
        if e.key.is_null() {
            None
        } else {
            Some(e.value.get())
        }
    }

    /// The slot holding the value stored under `key`.
    #[inline]
    pub fn get_slot<'a>(&'a self, key: Gc<'_, Obj>) -> Option<&'a Slot> {
        let entries = self.entries.get()?.get();
        let e = find(entries, key);
        if e.key.is_null() {
            None
        } else {
            Some(&e.value)
        }
    }

    /// Store `value` under `key`; true if the key is new.
    pub fn set(&self, m: &Mutator, key: Gc<'_, Obj>, value: Value<'_>) -> bool {
        let count = self.count.load(Relaxed);
        let capacity = self.entries.get().map_or(0, |e| e.len());
        if (count + 1) * 4 > capacity * 3 {
            self.grow(m, if capacity < 8 { 8 } else { capacity * 2 });
        }
        let entries = self.entries.get().expect("grown above");
        let e = find(entries.get(), key);
        let is_new = e.key.is_null();
        if is_new {
            e.key.set(m, Some(key));
            self.count.store(count + 1, Relaxed);
        }
        e.value.set(m, value);
        is_new
    }

    /// Overwrite the value under `key` if it is present; false if it is not
    /// (clox's assignment to an undefined global).
    pub fn set_existing(&self, m: &Mutator, key: Gc<'_, Obj>, value: Value<'_>) -> bool {
        let Some(entries) = self.entries.get() else {
            return false;
        };
        let e = find(entries.get(), key);
        if e.key.is_null() {
            return false;
        }
        e.value.set(m, value);
        true
    }

    /// Copy every entry of `from` into `self` (inheritance copies methods).
    pub fn add_all(&self, m: &Mutator, from: &Table) {
        if let Some(entries) = from.entries.get() {
            for e in entries.iter() {
                if let Some(k) = e.key.get() {
                    self.set(m, k, e.value.get());
                }
            }
        }
    }

    fn grow(&self, m: &Mutator, capacity: usize) {
        let new = m.alloc_array(capacity, |_| Entry::empty());
        if let Some(old) = self.entries.get() {
            for e in old.iter() {
                if let Some(k) = e.key.get() {
                    let dst = find(new.get(), k);
                    dst.key.set(m, Some(k));
                    dst.value.set(m, e.value.get());
                }
            }
        }
        self.entries.set(m, Some(new));
    }
}
