//! String interning, so that string equality (and table lookup) is pointer
//! identity, as in clox.
//!
//! clox's intern table is a weak hash set that its collector sweeps. Here
//! it is an open-addressing table on the Rust side whose entries hold a
//! `tricolor::Weak` to the string plus its hash and length: the collector
//! clears a weak reference when its string dies, and interning the same
//! contents later simply allocates a new string (reusing the dead entry's
//! place). The characters live only in the GC heap; the hash and length let
//! a lookup upgrade (and compare the bytes of) only real candidates.
//!
//! Dead entries are dropped when the table fills up and is rebuilt. That
//! needs an `upgrade` per entry, the only liveness test the collector
//! offers; while a cycle is marking, upgrading shades the string, so a dead
//! string that a rebuild happens to look at survives one more cycle. The
//! rebuild runs after the table doubled, so this costs amortised O(1) per
//! interned string.

use tricolor::{Gc, Mutator, Weak};

use crate::object::{self, Obj};

const MIN_CAPACITY: usize = 1024;

struct Entry {
    hash: u32,
    len: usize,
    string: Weak<Obj>,
}

pub struct Interner {
    /// Length a power of two, at most 3/4 full.
    entries: Vec<Option<Entry>>,
    /// `Some` entries, dead or alive.
    used: usize,
}

impl Interner {
    pub fn new() -> Interner {
        Interner {
            entries: (0..MIN_CAPACITY).map(|_| None).collect(),
            used: 0,
        }
    }

    /// The string object with contents `text`.
    pub fn intern<'m>(&mut self, m: &'m Mutator, text: &str) -> Gc<'m, Obj> {
        let bytes = text.as_bytes();
        let hash = object::hash_bytes(bytes);
        let mask = self.entries.len() - 1;
        let mut i = hash as usize & mask;
        // Where the new string goes: the first dead entry for the same
        // contents, else the empty slot that ends the probe.
        let mut dead = None;
        while let Some(e) = &self.entries[i] {
            if e.hash == hash && e.len == bytes.len() {
                // Upgrading while the collector marks shades the string,
                // which keeps a candidate that turns out to differ alive one
                // more cycle; it is never unsound.
                match e.string.upgrade(m) {
                    Some(s) if s.string().bytes() == bytes => return s,
                    Some(_) => {}
                    None => dead = dead.or(Some(i)),
                }
            }
            i = (i + 1) & mask;
        }
        let s = object::new_string(m, text);
        let entry = Entry {
            hash,
            len: bytes.len(),
            string: Weak::new(m, s),
        };
        match dead {
            Some(d) => self.entries[d] = Some(entry),
            None => {
                self.entries[i] = Some(entry);
                self.used += 1;
                if self.used * 4 > self.entries.len() * 3 {
                    self.rebuild(m);
                }
            }
        }
        s
    }

    /// Drop the dead entries and re-insert the live ones into a table that
    /// is at most half full.
    fn rebuild(&mut self, m: &Mutator) {
        let live: Vec<Entry> = self
            .entries
            .drain(..)
            .flatten()
            .filter(|e| e.string.upgrade(m).is_some())
            .collect();
        let capacity = (live.len() * 2).next_power_of_two().max(MIN_CAPACITY);
        self.entries = (0..capacity).map(|_| None).collect();
        self.used = live.len();
        let mask = capacity - 1;
        for e in live {
            let mut i = e.hash as usize & mask;
            while self.entries[i].is_some() {
                i = (i + 1) & mask;
            }
            self.entries[i] = Some(e);
        }
    }
}
