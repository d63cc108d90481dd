//! `GcMap<K, V>`: a hash map in the GC heap whose keys and values are slots.
//!
//! Layout: open addressing with linear probing over a `GcArray<Entry>`
//! whose length is a power of two, as clox's `table.c`; an entry is just a
//! key slot and a value slot (two words for pointer keys and values). An
//! entry whose key is the key type's null value (`K::null()`: a null
//! pointer, a zero word) is vacant. The null key itself is a legal key: its
//! value lives beside the table, in the map. Removal shifts the entries
//! after the removed one back (Knuth's algorithm R for linear probing), so
//! there are no tombstones and every probe for a missing key ends at the
//! vacant entry where it would go.
//!
//! The marker traces every key and value slot of the array (and the null
//! key's value), so the invariants are the same as `GcVec`'s:
//! - every store into a key or value is the slot's barriered `set`;
//! - a vacant entry holds no pointer: `remove` nulls the entry it frees at
//!   the end of the shift, so a removed object is not kept alive. While
//!   entries shift, each live key and value is in at least one slot at
//!   every moment (copied to its new place before its old place is
//!   overwritten), and each overwritten one is shaded by the barrier;
//! - growing fills a complete new array first, with barriered stores into
//!   the new, still private array, and then switches the `Member` with one
//!   `set`. The marker sees either the old array or the new one, each
//!   holding every live entry; the switch's deletion barrier keeps the old
//!   array (and what a borrow of it reads) alive.
//!
//! At most 3/4 of the entries are used, so a probe ends at a vacant entry;
//! probes are also bounded by the table length, and the counters are plain
//! relaxed loads and stores (no atomic read-modify-write on the fast path):
//! two threads racing on one map (possible through a `GlobalRoot`) can lose
//! updates but never loop forever or read out of bounds.

use std::borrow::Borrow;
use std::fmt;
use std::hash::Hash;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicUsize, Ordering::Relaxed};

use crate::array::GcArray;
use crate::gc::{Gc, Member};
use crate::key::{content_hash, ByContent, Key};
use crate::mark::Tracer;
use crate::mutator::Mutator;
use crate::slot::Slot;
use crate::trace::Trace;

const MIN_CAPACITY: usize = 8;

/// A key's hash mixed once (Fibonacci hashing), for both `home` and
/// `key_bit`.
#[inline(always)]
fn mix(hash: u64) -> u64 {
    hash.wrapping_mul(0x9E37_79B9_7F4A_7C15)
}

/// Where the probe for a key whose mixed hash is `mixed` starts: the
/// product's well-mixed high half rotated down to the index bits.
#[inline(always)]
fn home(mixed: u64, mask: usize) -> usize {
    mixed.rotate_left(32) as usize & mask
}

/// The bit of `key_bits` (`GcMap`) that a key whose mixed hash is `mixed`
/// sets: five bits of the product that `home` does not use for the index.
#[inline(always)]
fn key_bit(mixed: u64) -> u32 {
    1 << ((mixed >> 26) & 31)
}

/// Whether `key` is the key type's null value.
#[inline(always)]
fn is_null<K: Key>(key: K::Value<'_>) -> bool {
    K::key_eq(key, K::null().get())
}

struct Entry<K, V> {
    key: K,
    value: V,
}

impl<K: Slot, V: Slot> Entry<K, V> {
    fn vacant() -> Entry<K, V> {
        Entry {
            key: K::null(),
            value: V::null(),
        }
    }
}

// SAFETY: the key and value are the entry's only contents, both traced.
unsafe impl<K: Trace, V: Trace> Trace for Entry<K, V> {
    const NEEDS_TRACE: bool = K::NEEDS_TRACE || V::NEEDS_TRACE;
    #[inline]
    fn trace(&self, tracer: &mut Tracer<'_>) {
        self.key.trace(tracer);
        self.value.trace(tracer);
    }
}

/// A hash map in the GC heap. Keys and values are [`Slot`]s: GC pointers
/// (`Member`, compared by identity, or [`ByContent`] for content), value
/// words (`NanBox`), [`Plain`](crate::Plain) data, or an interpreter's own
/// value slot. Every store runs the slots' write barrier; the map grows by
/// rehashing into a new backing [`GcArray`].
///
/// Method calls on a `Gc<GcMap<K, V>>` reach the map (`scores.get(key)`);
/// [`Gc::as_ref`](crate::Gc::as_ref) gives a `&GcMap` that outlives the
/// `Gc` value.
///
/// ```
/// use tricolor::{GcMap, GcStr, Heap, Member, Plain};
///
/// let heap = Heap::new();
/// let mut m = heap.mutator();
/// // Interned symbols as identity keys, numbers as values.
/// let scores = m.alloc(GcMap::<Member<GcStr>, Plain<f64>>::new());
/// let (ann, bob) = (m.alloc_str("ann"), m.alloc_str("bob"));
/// scores.insert(&m, Some(ann), 1.5);
/// scores.insert(&m, Some(bob), 2.0);
/// assert_eq!(scores.insert(&m, Some(ann), 3.0), Some(1.5));
/// assert_eq!(scores.get(Some(ann)), Some(3.0));
/// assert_eq!(scores.remove(&m, Some(bob)), Some(2.0));
/// assert_eq!(scores.len(), 1);
/// let scores = m.root(scores);
/// m.collect();
/// let scores = scores.get(&m);
/// let (name, score) = scores.iter().next().unwrap();
/// assert_eq!((name.unwrap().as_str(), score), ("ann", 3.0));
/// ```
pub struct GcMap<K, V> {
    /// Null until the first insertion; length a power of two.
    table: Member<GcArray<Entry<K, V>>>,
    /// Used entries of the table (the null key is not counted).
    used: AtomicUsize,
    /// Always `K::null()`: what `iter` hands out as the null key.
    null_key: K,
    /// The null key's value, if `has_null`; `V::null()` otherwise.
    null_value: V,
    has_null: AtomicBool,
    /// A one-word Bloom filter of the keys ever inserted since the last
    /// `clear`: the `key_bit` of each. A lookup whose bit is clear misses
    /// without touching the table, which answers most misses of a small
    /// map (an interpreter asking whether an instance's fields shadow a
    /// method, on every method call) from the map's own word. Removal
    /// leaves bits set, so the filter only ever errs towards probing. It
    /// shares the word of `has_null`, so the map is no larger.
    key_bits: AtomicU32,
}

impl<K: Key, V: Slot> Default for GcMap<K, V> {
    fn default() -> GcMap<K, V> {
        GcMap::new()
    }
}

impl<K: Key, V: Slot> GcMap<K, V> {
    /// An empty map; it allocates on the first insertion.
    pub fn new() -> GcMap<K, V> {
        GcMap {
            table: Member::null(),
            used: AtomicUsize::new(0),
            null_key: K::null(),
            null_value: V::null(),
            has_null: AtomicBool::new(false),
            key_bits: AtomicU32::new(0),
        }
    }

    /// An empty map with room for `capacity` entries before it grows, to
    /// be allocated before this thread's next safepoint, like
    /// [`Member::new`].
    ///
    /// ```
    /// use tricolor::{GcMap, Heap, Plain};
    ///
    /// let heap = Heap::new();
    /// let m = heap.mutator();
    /// let squares = m.alloc(GcMap::<Plain<u32>, Plain<u32>>::with_capacity(&m, 100));
    /// (0..100).for_each(|i| { squares.insert(&m, i, i * i); });
    /// assert_eq!(squares.get(9), Some(81));
    /// ```
    #[track_caller]
    pub fn with_capacity(m: &Mutator, capacity: usize) -> GcMap<K, V> {
        GcMap {
            table: Member::new(m.alloc_array(table_size(capacity), |_| Entry::vacant())),
            ..GcMap::new()
        }
    }

    /// The number of entries.
    #[inline]
    pub fn len(&self) -> usize {
        self.used.load(Relaxed) + self.has_null.load(Relaxed) as usize
    }

    /// Whether there are no entries.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The length of the backing array (at most 3/4 of it is used before
    /// the map grows).
    #[inline]
    pub fn capacity(&self) -> usize {
        self.entries().len()
    }

    /// The entries' array, empty before the first insertion.
    #[inline(always)]
    fn entries(&self) -> &[Entry<K, V>] {
        self.table.get().map_or(&[], |t| &Gc::as_ref(t)[..])
    }

    /// Probe for the non-null key whose mixed hash is `mixed` that `eq`
    /// accepts: its index, or `Err` with the vacant index that ends the
    /// probe (where the key would go), or `Err(None)` if the table is empty
    /// or full.
    #[inline(always)]
    fn probe(
        entries: &[Entry<K, V>],
        mixed: u64,
        mut eq: impl FnMut(K::Value<'_>) -> bool,
    ) -> Result<usize, Option<usize>> {
        let mask = entries.len().wrapping_sub(1);
        let mut i = home(mixed, mask);
        for _ in 0..entries.len() {
            let key = entries[i].key.get();
            if eq(key) {
                return Ok(i);
            }
            if is_null::<K>(key) {
                return Err(Some(i));
            }
            i = (i + 1) & mask;
        }
        Err(None)
    }

    /// The entry holding the non-null `key`.
    #[inline(always)]
    fn entry(&self, key: K::Value<'_>) -> Option<&Entry<K, V>> {
        let mixed = mix(K::key_hash(key));
        if self.key_bits.load(Relaxed) & key_bit(mixed) == 0 {
            return None;
        }
        let entries = self.entries();
        let i = Self::probe(entries, mixed, |k| K::key_eq(k, key)).ok()?;
        Some(&entries[i])
    }

    /// The slot holding the value stored under `key`: read it, or `set` it
    /// to overwrite the value without probing again.
    #[inline]
    pub fn get_slot(&self, key: K::Value<'_>) -> Option<&V> {
        if is_null::<K>(key) {
            return self.has_null.load(Relaxed).then_some(&self.null_value);
        }
        self.entry(key).map(|e| &e.value)
    }

    /// The value stored under `key`.
    #[inline]
    pub fn get(&self, key: K::Value<'_>) -> Option<V::Value<'_>> {
        self.get_slot(key).map(V::get)
    }

    /// Whether `key` has an entry.
    #[inline]
    pub fn contains_key(&self, key: K::Value<'_>) -> bool {
        self.get_slot(key).is_some()
    }

    /// Store `value` under `key`; the value it replaces, if any.
    ///
    /// # Panics
    /// If the map is not inside a GC object of `m`'s heap, the heap is out
    /// of memory, or as [`Slot::set`].
    #[track_caller]
    pub fn insert(
        &self,
        m: &Mutator,
        key: K::Value<'_>,
        value: V::Value<'_>,
    ) -> Option<V::Value<'_>> {
        if is_null::<K>(key) {
            let old = self.null_value.get();
            self.null_value.set(m, value);
            return self.has_null.swap(true, Relaxed).then_some(old);
        }
        let mixed = mix(K::key_hash(key));
        let mut entries = self.entries();
        let vacant = match Self::probe(entries, mixed, |k| K::key_eq(k, key)) {
            Ok(i) => {
                // Readable for the borrow of `self`: the store shades it
                // while marking, and no cycle starts before the next safepoint.
                let old = entries[i].value.get();
                entries[i].value.set(m, value);
                return Some(old);
            }
            Err(vacant) => vacant,
        };
        let used = self.used.load(Relaxed);
        let vacant = match vacant {
            Some(i) if (used + 1) * 4 <= entries.len() * 3 => i,
            _ => {
                entries = self.rehash(m, used + 1);
                Self::probe(entries, mixed, |k| K::key_eq(k, key))
                    .err()
                    .flatten()
                    .expect("a new table has room for the key")
            }
        };
        let e = &entries[vacant];
        e.value.set(m, value);
        let bit = key_bit(mixed);
        if self.key_bits.load(Relaxed) & bit == 0 {
            self.key_bits.fetch_or(bit, Relaxed);
        }
        e.key.set(m, key);
        self.used.store(used + 1, Relaxed);
        None
    }

    /// Remove the entry for `key`; its value, if there was one. The slots
    /// it frees are nulled, so the map no longer keeps the key or value
    /// alive.
    #[track_caller]
    pub fn remove(&self, m: &Mutator, key: K::Value<'_>) -> Option<V::Value<'_>> {
        if is_null::<K>(key) {
            if !self.has_null.swap(false, Relaxed) {
                return None;
            }
            let old = self.null_value.get();
            self.null_value.set(m, V::null().get());
            return Some(old);
        }
        let entries = self.entries();
        let i = Self::probe(entries, mix(K::key_hash(key)), |k| K::key_eq(k, key)).ok()?;
        // Readable for the borrow of `self`, as in `insert`.
        let old = entries[i].value.get();
        // Shift back each following entry of the cluster whose home is not
        // cyclically between the hole and it, so probes still reach it.
        let mask = entries.len() - 1;
        let mut hole = i;
        let mut j = (i + 1) & mask;
        for _ in 0..entries.len() {
            let k = entries[j].key.get();
            if is_null::<K>(k) {
                break;
            }
            let h = home(mix(K::key_hash(k)), mask);
            if j.wrapping_sub(h) & mask >= j.wrapping_sub(hole) & mask {
                entries[hole].key.set(m, k);
                entries[hole].value.set(m, entries[j].value.get());
                hole = j;
            }
            j = (j + 1) & mask;
        }
        entries[hole].key.set(m, K::null().get());
        entries[hole].value.set(m, V::null().get());
        self.used
            .store(self.used.load(Relaxed).saturating_sub(1), Relaxed);
        Some(old)
    }

    /// Remove every entry (the backing array is dropped).
    #[track_caller]
    pub fn clear(&self, m: &Mutator) {
        self.table.set(m, None);
        self.used.store(0, Relaxed);
        self.null_value.set(m, V::null().get());
        self.has_null.store(false, Relaxed);
        self.key_bits.store(0, Relaxed);
    }

    /// The entries, in no particular order, from the backing array as it
    /// is now (entries inserted meanwhile may or may not be seen).
    pub fn iter(&self) -> impl Iterator<Item = (K::Value<'_>, V::Value<'_>)> + '_ {
        let null = self
            .has_null
            .load(Relaxed)
            .then(|| (self.null_key.get(), self.null_value.get()));
        let entries = self
            .entries()
            .iter()
            .map(|e| (e.key.get(), e.value.get()))
            .filter(|&(k, _)| !is_null::<K>(k));
        null.into_iter().chain(entries)
    }

    /// Move the entries to a new array sized for `len` of them, at most
    /// half full.
    #[cold]
    #[inline(never)]
    #[track_caller]
    fn rehash(&self, m: &Mutator, len: usize) -> &[Entry<K, V>] {
        let new = m.alloc_array(table_size(len), |_| Entry::<K, V>::vacant());
        let slots: &[Entry<K, V>] = &Gc::as_ref(new)[..];
        // Stores into the new array run the barrier like any other (the
        // array is in the heap, black if allocated while marking); nobody
        // can see it until the switch below.
        for old in self.entries() {
            let k = old.key.get();
            if !is_null::<K>(k) {
                let i = Self::probe(slots, mix(K::key_hash(k)), |_| false)
                    .err()
                    .flatten()
                    .expect("a new table has room for every entry");
                slots[i].key.set(m, k);
                slots[i].value.set(m, old.value.get());
            }
        }
        self.table.set(m, Some(new));
        self.entries()
    }
}

impl<T, V> GcMap<ByContent<Member<T>>, V>
where
    T: Trace + Hash + Eq + Send + Sync + 'static,
    V: Slot,
{
    /// The value stored under the key whose contents equal `key`, without
    /// making a GC object for it: `map.get_by("name")` on a map keyed by
    /// [`GcStr`](crate::GcStr) contents.
    ///
    /// ```
    /// use tricolor::{ByContent, GcMap, GcStr, Heap, Member};
    ///
    /// let heap = Heap::new();
    /// let m = heap.mutator();
    /// let env = m.alloc(GcMap::<ByContent<Member<GcStr>>, Member<GcStr>>::new());
    /// env.insert(&m, Some(m.alloc_str("greeting")), Some(m.alloc_str("hello")));
    /// assert_eq!(&*env.get_by("greeting").unwrap().unwrap(), "hello");
    /// assert!(env.get_by("other").is_none());
    /// ```
    pub fn get_by<Q: Hash + Eq + ?Sized>(&self, key: &Q) -> Option<V::Value<'_>>
    where
        T: Borrow<Q>,
    {
        let entries = self.entries();
        let i = Self::probe(entries, mix(content_hash(key)), |k| {
            k.is_some_and(|k| Borrow::<Q>::borrow(Gc::as_ref(k)) == key)
        })
        .ok()?;
        Some(entries[i].value.get())
    }
}

/// The power-of-two table length for `len` entries, at most half full.
fn table_size(len: usize) -> usize {
    len.saturating_mul(2)
        .checked_next_power_of_two()
        .expect("GcMap capacity overflow")
        .max(MIN_CAPACITY)
}

// SAFETY: the map's GC pointers are its table (which traces its entries)
// and the null key's slots, all traced here.
unsafe impl<K: Key, V: Slot> Trace for GcMap<K, V> {
    #[inline]
    fn trace(&self, tracer: &mut Tracer<'_>) {
        self.table.trace(tracer);
        self.null_key.trace(tracer);
        self.null_value.trace(tracer);
    }
}

impl<K: Key, V: Slot> fmt::Debug for GcMap<K, V> {
    // The length only: keys and values may point back at the map.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GcMap").field("len", &self.len()).finish()
    }
}
