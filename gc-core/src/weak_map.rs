//! Weak-keyed tables that live outside the GC heap: [`WeakMap`] (keys by
//! identity, values on the Rust side) and [`WeakSet`] (members found by
//! content: an intern table).
//!
//! Each entry holds a [`Weak`] to its key and the key's 64-bit hash, so the
//! key itself is stored once, in the heap, and nothing here keeps it alive.
//! Tables are `hashbrown::HashTable`s, which look entries up by a hash the
//! caller computes and erase in place: a well-kept crate for exactly this.
//!
//! Dead entries. When the sweeper frees a key it clears the key's weak
//! reference; the entry stays until pruned. A lookup never matches a dead
//! entry, cleared or not yet (identity lookups compare a live key's address,
//! which no dead key has; content lookups upgrade candidates, which fails for
//! a key found dead), so until then it costs only space and probe length.
//! [`prune`] drops every cleared entry in one pass over the table, in place
//! (no rebuild, no rehash). Inserting prunes on its own at most once per
//! completed collection cycle (the first insert after the cycle's sweep is
//! done, so its dead keys are cleared by then), so pruning costs
//! O(entries) per cycle, which the allocation that paced the cycle pays
//! for: amortised O(1) per insert. Lookups are O(1) expected and take
//! `&self`.
//!
//! Soundness: reading a candidate's contents needs a strong pointer, so a
//! content lookup upgrades the candidates whose full hash matches, which
//! while marking shades them (`weak.rs`); an unequal candidate with an equal
//! hash therefore survives one more cycle. Identity lookups only compare a
//! weak slot's word with a `Gc` the caller holds and dereference nothing.
//!
//! Values are ordinary Rust values: they are not traced, and a value that
//! holds a strong handle to its own key (a `Root`, a `GlobalRoot`) keeps
//! the entry alive forever. These are not ephemerons.
//!
//! [`prune`]: WeakMap::prune

use std::borrow::Borrow;
use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hash};

use hashbrown::hash_table::Entry as TableEntry;
use hashbrown::HashTable;

use crate::gc::Gc;
use crate::identity::addr_hash;
use crate::mutator::Mutator;
use crate::prune_clock::PruneClock;
use crate::trace::Trace;
use crate::weak::Weak;

struct MapEntry<K, V> {
    hash: u64,
    key: Weak<K>,
    value: V,
}

/// A hash map from weakly held GC objects, by identity, to Rust values: an
/// entry goes away once its key is collected (lazily: [`prune`](Self::prune)
/// drops dead entries, and inserting prunes at most once per completed
/// cycle, so it costs amortised O(1) per insert). Use it to attach data to objects without a field for it.
///
/// ```
/// use tricolor::{Heap, WeakMap};
///
/// let heap = Heap::new();
/// let mut m = heap.mutator();
/// let mut names = WeakMap::new();
/// let kept = m.root(m.alloc(1u64));
/// names.insert(&m, kept.get(&m), "kept");
/// names.insert(&m, m.alloc(2u64), "dropped");
/// m.collect();
/// names.prune();
/// assert_eq!(names.len(), 1);
/// assert_eq!(names.get(kept.get(&m)), Some(&"kept"));
/// ```
pub struct WeakMap<K, V> {
    table: HashTable<MapEntry<K, V>>,
    pruned: PruneClock,
}

impl<K, V> Default for WeakMap<K, V> {
    fn default() -> Self {
        WeakMap {
            table: HashTable::new(),
            pruned: PruneClock::new(),
        }
    }
}

impl<K, V> WeakMap<K, V> {
    /// An empty map.
    pub fn new() -> Self {
        Self::default()
    }

    /// Entries, counting those whose key died since the last prune.
    pub fn len(&self) -> usize {
        self.table.len()
    }

    /// Whether there is no entry, dead or alive.
    pub fn is_empty(&self) -> bool {
        self.table.is_empty()
    }

    /// Drop the entries whose key was collected (swept: see
    /// [`Weak::is_cleared`]): one pass, in place.
    pub fn prune(&mut self) {
        self.table.retain(|e| !e.key.is_cleared());
    }

    /// Drop every entry.
    pub fn clear(&mut self) {
        self.table.clear();
    }
}

impl<K: Trace + 'static, V> WeakMap<K, V> {
    fn find(&self, key: Gc<'_, K>) -> Option<&MapEntry<K, V>> {
        let base = key.base();
        self.table.find(addr_hash(base), |e| e.key.target() == base)
    }

    /// The value for `key`.
    pub fn get(&self, key: Gc<'_, K>) -> Option<&V> {
        self.find(key).map(|e| &e.value)
    }

    /// Whether `key` has an entry.
    pub fn contains_key(&self, key: Gc<'_, K>) -> bool {
        self.find(key).is_some()
    }

    /// The value for `key`, mutably.
    pub fn get_mut(&mut self, key: Gc<'_, K>) -> Option<&mut V> {
        let base = key.base();
        (self.table)
            .find_mut(addr_hash(base), |e| e.key.target() == base)
            .map(|e| &mut e.value)
    }

    /// Give `key` the value `value`; returns the value it had.
    ///
    /// # Panics
    /// If `key` is from another heap than `m`'s.
    #[track_caller]
    pub fn insert(&mut self, m: &Mutator, key: Gc<'_, K>, value: V) -> Option<V> {
        match self.entry(m, key) {
            TableEntry::Occupied(mut o) => Some(std::mem::replace(&mut o.get_mut().value, value)),
            TableEntry::Vacant(v) => {
                let hash = addr_hash(key.base());
                let key = Weak::new(m, key);
                v.insert(MapEntry { hash, key, value });
                None
            }
        }
    }

    /// The value for `key`, inserting `make()` first if it has none.
    ///
    /// # Panics
    /// If `key` is from another heap than `m`'s.
    #[track_caller]
    pub fn get_or_insert_with(
        &mut self,
        m: &Mutator,
        key: Gc<'_, K>,
        make: impl FnOnce() -> V,
    ) -> &mut V {
        let entry = match self.entry(m, key) {
            TableEntry::Occupied(o) => o.into_mut(),
            TableEntry::Vacant(v) => {
                let hash = addr_hash(key.base());
                let value = make();
                let key = Weak::new(m, key);
                v.insert(MapEntry { hash, key, value }).into_mut()
            }
        };
        &mut entry.value
    }

    /// Remove `key`'s entry; returns its value.
    pub fn remove(&mut self, key: Gc<'_, K>) -> Option<V> {
        let base = key.base();
        match self
            .table
            .find_entry(addr_hash(base), |e| e.key.target() == base)
        {
            Ok(o) => Some(o.remove().0.value),
            Err(_) => None,
        }
    }

    /// The live entries, for `m`'s borrow. Upgrading shades the keys while
    /// a cycle marks, so iterating then keeps every key alive that cycle.
    ///
    /// # Panics
    /// If `m` is attached to another heap than the keys'.
    pub fn iter<'a, 'm>(&'a self, m: &'m Mutator) -> impl Iterator<Item = (Gc<'m, K>, &'a V)> + 'a
    where
        'm: 'a,
    {
        self.table
            .iter()
            .filter_map(move |e| Some((e.key.upgrade(m)?, &e.value)))
    }

    /// The table entry for `key`, pruning first if one is due (`PruneClock`).
    fn entry(&mut self, m: &Mutator, key: Gc<'_, K>) -> TableEntry<'_, MapEntry<K, V>> {
        if self.pruned.due(m) {
            self.prune();
        }
        let base = key.base();
        self.table
            .entry(addr_hash(base), |e| e.key.target() == base, |e| e.hash)
    }
}

/// A set of weakly held GC objects found by content: an intern table. A
/// member is stored once, in the heap, and forgotten once collected
/// (lazily, as [`WeakMap`]'s entries are).
///
/// Look members up by a borrowed form (`K: Borrow<Q>`, hashed with `S`),
/// or by a hash and an equality test of your own ([`find`](Self::find),
/// [`find_or_insert_with`](Self::find_or_insert_with)) when the key is not
/// a `Borrow` of the object, as for strings inside an enum of object kinds.
/// Use one of the two ways for a given set: they hash differently.
///
/// ```
/// use tricolor::{Heap, WeakSet};
///
/// let heap = Heap::new();
/// let mut m = heap.mutator();
/// let mut symbols: WeakSet<String> = WeakSet::new();
/// let a = symbols.get_or_insert_with(&m, "lambda", |s| m.alloc(s.to_string()));
/// let b = symbols.get_or_insert_with(&m, "lambda", |s| m.alloc(s.to_string()));
/// assert_eq!(a, b); // the same object
/// let kept = m.root(a);
/// m.collect();
/// assert_eq!(symbols.get(&m, "lambda"), Some(kept.get(&m)));
/// ```
pub struct WeakSet<K, S = RandomState> {
    table: HashTable<(u64, Weak<K>)>,
    hasher: S,
    pruned: PruneClock,
}

impl<K> WeakSet<K> {
    /// An empty set hashing with a randomly seeded SipHash.
    pub fn new() -> Self {
        Self::with_hasher(RandomState::new())
    }
}

impl<K> Default for WeakSet<K> {
    fn default() -> Self {
        Self::new()
    }
}

impl<K, S> WeakSet<K, S> {
    /// An empty set hashing borrowed keys with `hasher`.
    pub fn with_hasher(hasher: S) -> Self {
        WeakSet {
            table: HashTable::new(),
            hasher,
            pruned: PruneClock::new(),
        }
    }

    /// Members, counting those collected since the last prune.
    pub fn len(&self) -> usize {
        self.table.len()
    }

    /// Whether there is no member, dead or alive.
    pub fn is_empty(&self) -> bool {
        self.table.is_empty()
    }

    /// Drop the members that were collected (swept: see
    /// [`Weak::is_cleared`]): one pass, in place.
    pub fn prune(&mut self) {
        self.table.retain(|(_, w)| !w.is_cleared());
    }
}

impl<K: Trace + 'static, S: BuildHasher> WeakSet<K, S> {
    /// The member equal to `key`.
    ///
    /// # Panics
    /// If `m` is attached to another heap than the members'.
    #[track_caller]
    pub fn get<'m, Q>(&self, m: &'m Mutator, key: &Q) -> Option<Gc<'m, K>>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.find(m, self.hasher.hash_one(key), |k| k.borrow() == key)
    }

    /// The member equal to `key`, adding `make(key)` (which must equal
    /// `key`) if there is none.
    ///
    /// # Panics
    /// If `m` or the made object belong to another heap than the members.
    #[track_caller]
    pub fn get_or_insert_with<'m, Q>(
        &mut self,
        m: &'m Mutator,
        key: &Q,
        make: impl FnOnce(&Q) -> Gc<'m, K>,
    ) -> Gc<'m, K>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        let hash = self.hasher.hash_one(key);
        self.find_or_insert_with(m, hash, |k| k.borrow() == key, || make(key))
    }

    /// The member with hash `hash` for which `eq` holds. Only members with
    /// that exact hash are upgraded and tested.
    ///
    /// # Panics
    /// If `m` is attached to another heap than the members'.
    #[track_caller]
    pub fn find<'m>(
        &self,
        m: &'m Mutator,
        hash: u64,
        mut eq: impl FnMut(&K) -> bool,
    ) -> Option<Gc<'m, K>> {
        let mut found = None;
        self.table.find(hash, |(h, w)| {
            if *h != hash {
                return false;
            }
            found = w.upgrade(m).filter(|k| eq(Gc::as_ref(*k)));
            found.is_some()
        });
        found
    }

    /// [`find`](Self::find), adding `make()` (with hash `hash`, for which
    /// `eq` holds) if there is no such member.
    ///
    /// # Panics
    /// If `m` or the made object belong to another heap than the members.
    #[track_caller]
    pub fn find_or_insert_with<'m>(
        &mut self,
        m: &'m Mutator,
        hash: u64,
        eq: impl FnMut(&K) -> bool,
        make: impl FnOnce() -> Gc<'m, K>,
    ) -> Gc<'m, K> {
        if let Some(k) = self.find(m, hash, eq) {
            return k;
        }
        if self.pruned.due(m) {
            self.prune();
        }
        let k = make();
        let weak = Weak::new(m, k);
        self.table.insert_unique(hash, (hash, weak), |(h, _)| *h);
        k
    }

    /// The live members, for `m`'s borrow (upgrading shades them while a
    /// cycle marks).
    ///
    /// # Panics
    /// If `m` is attached to another heap than the members'.
    pub fn iter<'a, 'm: 'a>(&'a self, m: &'m Mutator) -> impl Iterator<Item = Gc<'m, K>> + 'a {
        self.table.iter().filter_map(move |(_, w)| w.upgrade(m))
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Condvar, Mutex};

    use super::WeakMap;
    use crate::{DebugFlags, HeapBuilder, NoGc, Trace, Tracer};

    /// A heap object whose destructor, run by the background sweeper,
    /// waits until `open` is set: it holds that sweep up.
    struct Blocker(Arc<(Mutex<bool>, Condvar)>);

    impl Drop for Blocker {
        fn drop(&mut self) {
            let (open, opened) = &*self.0;
            let mut open = open.lock().unwrap();
            while !*open {
                open = opened.wait(open).unwrap();
            }
        }
    }

    /// Opens the gate when dropped, also when the test fails first, so
    /// that dropping the heap (which finishes the sweep) cannot hang.
    struct Open(Arc<(Mutex<bool>, Condvar)>);

    impl Drop for Open {
        fn drop(&mut self) {
            *self.0 .0.lock().unwrap() = true;
            self.0 .1.notify_all();
        }
    }

    // SAFETY: holds no GC pointer.
    unsafe impl Trace for Blocker {
        const NEEDS_TRACE: bool = false;
        fn trace(&self, _: &mut Tracer<'_>) {}
    }
    // SAFETY: holds no GC pointer.
    unsafe impl NoGc for Blocker {}

    /// The once-per-cycle prune waits for the cycle's sweep: spent before
    /// the sweeper cleared the dead keys, it would leave them a cycle more.
    #[test]
    fn inserting_prunes_once_the_cycle_is_swept() {
        // gcstress: `safepoint` runs a cycle and returns without sweeping.
        let heap = HeapBuilder::new()
            .debug(DebugFlags {
                gcstress: true,
                ..DebugFlags::DEFAULT
            })
            .build()
            .unwrap();
        let mut m = heap.mutator();
        let gate = Arc::new((Mutex::new(false), Condvar::new()));
        let open = Open(gate.clone());
        let mut map = WeakMap::new();
        // Keys in a later size class than the blocker: the background
        // sweeper, going through the classes in order, stops before them.
        let kept = m.root(m.alloc([2u64; 64]));
        m.alloc(Blocker(gate.clone()));
        map.insert(&m, m.alloc([1u64; 64]), 1);
        m.safepoint();
        // No allocation of a key (which would sweep the keys' span).
        map.insert(&m, kept.get(&m), 2);
        assert_eq!(map.len(), 2, "the dead key is not cleared yet");
        drop(open);
        m.heap_inner().alloc.finish_sweep();
        map.insert(&m, kept.get(&m), 3);
        assert_eq!(map.len(), 1, "the insert after the sweep pruned");
        assert_eq!(map.get(kept.get(&m)), Some(&3));
    }
}
