//! `GcMap<K, V>`: a hash map in the GC heap whose keys and values are slots.
//!
//! Layout: open addressing with linear probing over a `GcArray<Entry>`
//! whose length is a power of two, as clox's `table.c`. Each entry is a tag
//! word, a key slot and a value slot. The tag says whether the entry is
//! empty (0), a tombstone (1), or full: then it is the key's mixed hash with
//! the top bit set, compared before the key. The marker never reads the
//! tags; it traces every key and value slot of the array, so the
//! invariants are the same as `GcVec`'s:
//! - every store into a key or value is the slot's barriered `set`;
//! - an entry that is not full holds no pointer: `remove` nulls the key and
//!   value it turns into a tombstone, so a removed object is not kept alive;
//! - growing (or purging tombstones) fills a complete new array first, with
//!   barriered stores into the new, still private array, and then switches
//!   the `Member` with one `set`. The marker sees either the old array or
//!   the new one, each holding every live entry; the switch's deletion
//!   barrier keeps the old array (and what a borrow of it reads) alive.
//!
//! At most 3/4 of the entries are full or tombstones, so a probe ends at an
//! empty entry; the probe is also bounded by the table length, so two
//! threads racing on one map (possible through a `GlobalRoot`) can lose an
//! update but never loop forever or read out of bounds.

use std::borrow::Borrow;
use std::fmt;
use std::hash::Hash;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering::Relaxed};

use crate::array::GcArray;
use crate::gc::Member;
use crate::key::{content_hash, ByContent, Key};
use crate::mark::Tracer;
use crate::mutator::Mutator;
use crate::slot::Slot;
use crate::trace::Trace;

const EMPTY: u64 = 0;
const TOMBSTONE: u64 = 1;
const FULL: u64 = 1 << 63;
const MIN_CAPACITY: usize = 8;

/// The tag of a full entry whose key hashes to `hash`: Fibonacci hashing,
/// with the product's well-mixed high half rotated down to where the
/// probe takes its index bits.
#[inline(always)]
fn tag(hash: u64) -> u64 {
    hash.wrapping_mul(0x9E37_79B9_7F4A_7C15).rotate_left(32) | FULL
}

struct Entry<K, V> {
    tag: AtomicU64,
    key: K,
    value: V,
}

impl<K: Slot, V: Slot> Entry<K, V> {
    fn empty() -> Entry<K, V> {
        Entry {
            tag: AtomicU64::new(EMPTY),
            key: K::null(),
            value: V::null(),
        }
    }
}

// SAFETY: the key and value are the entry's only slots, both traced; the
// tag is an integer.
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
/// ```
/// use tricolor::{GcMap, GcStr, Heap, Member, Plain};
///
/// let heap = Heap::new();
/// let mut m = heap.mutator();
/// // Interned symbols as identity keys, numbers as values.
/// let map = m.alloc(GcMap::<Member<GcStr>, Plain<f64>>::new());
/// let scores = map.get(); // `Gc::get`: the `&GcMap`
/// let (ann, bob) = (m.alloc_str("ann"), m.alloc_str("bob"));
/// scores.insert(&m, Some(ann), 1.5);
/// scores.insert(&m, Some(bob), 2.0);
/// assert_eq!(scores.insert(&m, Some(ann), 3.0), Some(1.5));
/// assert_eq!(scores.get(Some(ann)), Some(3.0));
/// assert_eq!(scores.remove(&m, Some(bob)), Some(2.0));
/// assert_eq!(scores.len(), 1);
/// let map = m.root(map);
/// m.collect();
/// let (name, score) = map.get(&m).get().iter().next().unwrap();
/// assert_eq!((name.unwrap().as_str(), score), ("ann", 3.0));
/// ```
pub struct GcMap<K, V> {
    /// Null until the first insertion; length a power of two.
    table: Member<GcArray<Entry<K, V>>>,
    /// Full entries.
    len: AtomicUsize,
    /// Full entries and tombstones.
    used: AtomicUsize,
}

impl<K: Key, V: Slot> Default for GcMap<K, V> {
    fn default() -> GcMap<K, V> {
        GcMap::new()
    }
}

impl<K: Key, V: Slot> GcMap<K, V> {
    /// An empty map; it allocates on the first insertion.
    pub const fn new() -> GcMap<K, V> {
        GcMap {
            table: Member::null(),
            len: AtomicUsize::new(0),
            used: AtomicUsize::new(0),
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
    /// let squares = m.alloc(GcMap::<Plain<u32>, Plain<u32>>::with_capacity(&m, 100)).get();
    /// (0..100).for_each(|i| { squares.insert(&m, i, i * i); });
    /// assert_eq!(squares.get(9), Some(81));
    /// ```
    #[track_caller]
    pub fn with_capacity(m: &Mutator, capacity: usize) -> GcMap<K, V> {
        GcMap {
            table: Member::new(m.alloc_array(table_size(capacity), |_| Entry::empty())),
            len: AtomicUsize::new(0),
            used: AtomicUsize::new(0),
        }
    }

    /// The number of entries.
    #[inline]
    pub fn len(&self) -> usize {
        self.len.load(Relaxed)
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
        self.table.get().map_or(&[], |t| &t.get()[..])
    }

    /// The full entry whose tag is `tag` and whose key `eq` accepts.
    #[inline(always)]
    fn find(&self, tag: u64, mut eq: impl FnMut(K::Value<'_>) -> bool) -> Option<&Entry<K, V>> {
        let entries = self.entries();
        let mask = entries.len().wrapping_sub(1);
        let mut i = tag as usize & mask;
        for _ in 0..entries.len() {
            let e = &entries[i];
            let t = e.tag.load(Relaxed);
            if t == tag && eq(e.key.get()) {
                return Some(e);
            }
            if t == EMPTY {
                return None;
            }
            i = (i + 1) & mask;
        }
        None
    }

    /// The entry holding `key`.
    #[inline(always)]
    fn entry(&self, key: K::Value<'_>) -> Option<&Entry<K, V>> {
        self.find(tag(K::key_hash(key)), |k| K::key_eq(k, key))
    }

    /// The value stored under `key`.
    #[inline]
    pub fn get(&self, key: K::Value<'_>) -> Option<V::Value<'_>> {
        self.entry(key).map(|e| e.value.get())
    }

    /// The slot holding the value stored under `key`: read it, or `set` it
    /// to overwrite the value without probing again.
    #[inline]
    pub fn get_slot(&self, key: K::Value<'_>) -> Option<&V> {
        self.entry(key).map(|e| &e.value)
    }

    /// Whether `key` has an entry.
    #[inline]
    pub fn contains_key(&self, key: K::Value<'_>) -> bool {
        self.entry(key).is_some()
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
        let tag = tag(K::key_hash(key));
        if let Some(e) = self.find(tag, |k| K::key_eq(k, key)) {
            // Readable for the borrow of `self`: the store shades it while
            // marking, and no cycle ends before the next safepoint.
            let old = e.value.get();
            e.value.set(m, value);
            return Some(old);
        }
        let mut entries = self.entries();
        if (self.used.load(Relaxed) + 1) * 4 > entries.len() * 3 {
            entries = self.rehash(m, self.len() + 1);
        }
        let e = match free_entry(entries, tag) {
            Some(e) => e,
            // Only if another thread filled the table meanwhile.
            None => {
                free_entry(self.rehash(m, self.len() + 1), tag).expect("a fresh table has room")
            }
        };
        if e.tag.load(Relaxed) == EMPTY {
            self.used.fetch_add(1, Relaxed);
        }
        e.key.set(m, key);
        e.value.set(m, value);
        e.tag.store(tag, Relaxed);
        self.len.fetch_add(1, Relaxed);
        None
    }

    /// Remove the entry for `key`; its value, if there was one. The entry's
    /// slots are nulled, so the map no longer keeps the key or value alive.
    #[track_caller]
    pub fn remove(&self, m: &Mutator, key: K::Value<'_>) -> Option<V::Value<'_>> {
        let e = self.entry(key)?;
        // Readable for the borrow of `self`, as in `insert`.
        let old = e.value.get();
        e.tag.store(TOMBSTONE, Relaxed);
        e.key.set(m, K::null().get());
        e.value.set(m, V::null().get());
        self.len.fetch_sub(1, Relaxed);
        Some(old)
    }

    /// Remove every entry (the backing array is dropped).
    #[track_caller]
    pub fn clear(&self, m: &Mutator) {
        self.table.set(m, None);
        self.len.store(0, Relaxed);
        self.used.store(0, Relaxed);
    }

    /// The entries, in no particular order, from the backing array as it
    /// is now (entries inserted meanwhile may or may not be seen).
    pub fn iter(&self) -> impl Iterator<Item = (K::Value<'_>, V::Value<'_>)> + '_ {
        self.entries()
            .iter()
            .filter(|e| e.tag.load(Relaxed) & FULL != 0)
            .map(|e| (e.key.get(), e.value.get()))
    }

    /// Move the live entries to a new array sized for `len` of them, at
    /// most half full.
    #[cold]
    #[inline(never)]
    #[track_caller]
    fn rehash(&self, m: &Mutator, len: usize) -> &[Entry<K, V>] {
        let new = m.alloc_array(table_size(len), |_| Entry::<K, V>::empty());
        // Stores into the new array run the barrier like any other (the
        // array is in the heap, black if allocated while marking); nobody
        // can see it until the switch below.
        for old in self.entries() {
            let t = old.tag.load(Relaxed);
            if t & FULL != 0 {
                let e = free_entry(&new.get()[..], t).expect("a fresh table has room");
                e.key.set(m, old.key.get());
                e.value.set(m, old.value.get());
                e.tag.store(t, Relaxed);
            }
        }
        self.table.set(m, Some(new));
        self.used.store(self.len(), Relaxed);
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
        self.find(tag(content_hash(key)), |k| {
            k.is_some_and(|k| Borrow::<Q>::borrow(k.get()) == key)
        })
        .map(|e| e.value.get())
    }
}

/// The power-of-two table length for `len` entries, at most half full.
fn table_size(len: usize) -> usize {
    len.saturating_mul(2)
        .checked_next_power_of_two()
        .expect("GcMap capacity overflow")
        .max(MIN_CAPACITY)
}

/// The first entry that is not full on `tag`'s probe path (the table is at
/// most 3/4 used, so there is one unless threads raced on the map).
#[inline]
fn free_entry<K, V>(entries: &[Entry<K, V>], tag: u64) -> Option<&Entry<K, V>> {
    let mask = entries.len().wrapping_sub(1);
    let mut i = tag as usize & mask;
    for _ in 0..entries.len() {
        if entries[i].tag.load(Relaxed) & FULL == 0 {
            return Some(&entries[i]);
        }
        i = (i + 1) & mask;
    }
    None
}

// SAFETY: the map's only GC pointer is its table, traced here; the table
// traces its entries.
unsafe impl<K: Key, V: Slot> Trace for GcMap<K, V> {
    #[inline]
    fn trace(&self, tracer: &mut Tracer<'_>) {
        self.table.trace(tracer);
    }
}

impl<K: Key, V: Slot> fmt::Debug for GcMap<K, V> {
    // The length only: keys and values may point back at the map.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GcMap").field("len", &self.len()).finish()
    }
}
