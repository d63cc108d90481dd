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
//! Dead entries are dropped by a rebuild once per collection cycle, after
//! its sweep has cleared their weak references (`tricolor::PruneClock`),
//! and whenever the table fills up. The test is `Weak::is_cleared`, which
//! never shades: upgrading during a mark would keep every string made
//! since the last cycle, garbage or not, for one more. Pruning every cycle
//! keeps the table (and the heap's table of weak references) at the
//! strings one cycle makes, instead of letting dead entries pile up until
//! the table doubles; a rebuild costs O(entries), amortised by the
//! allocation that paced the cycle.

use tricolor::{Gc, Mutator, PruneClock, Weak};

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
    /// When to drop the entries of collected strings.
    prune: PruneClock,
    /// The live entries during a rebuild (kept for its memory).
    scratch: Vec<Entry>,
}

impl Interner {
    pub fn new() -> Interner {
        Interner {
            entries: (0..MIN_CAPACITY).map(|_| None).collect(),
            used: 0,
            prune: PruneClock::new(),
            scratch: Vec::new(),
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
            }
        }
        if self.prune.due(m) || self.used * 4 > self.entries.len() * 3 {
            self.rebuild();
        }
        s
    }

    /// Drop the entries whose strings were collected and re-insert the
    /// others into a table at most half full. Both vectors keep their
    /// memory: the table shrinks after a cycle's prune and the cycle's
    /// strings grow it back, which would otherwise fault fresh pages in
    /// every cycle.
    fn rebuild(&mut self) {
        let mut live = std::mem::take(&mut self.scratch);
        live.extend(
            self.entries
                .iter_mut()
                .filter_map(Option::take)
                .filter(|e| !e.string.is_cleared()),
        );
        let capacity = (live.len() * 2).next_power_of_two().max(MIN_CAPACITY);
        self.entries.resize_with(capacity, || None);
        self.used = live.len();
        let mask = capacity - 1;
        for e in live.drain(..) {
            let mut i = e.hash as usize & mask;
            while self.entries[i].is_some() {
                i = (i + 1) & mask;
            }
            self.entries[i] = Some(e);
        }
        self.scratch = live;
    }
}
