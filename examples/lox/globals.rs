//! Global variables by slot number instead of by hash lookup.
//!
//! clox keeps globals in a hash table keyed by the name string, so every
//! global access hashes and probes. Here the compiler gives each distinct
//! global name a slot number once (`GlobalNames`, on the Rust side,
//! persistent across REPL lines), the instructions carry it, and the values
//! live in one `GcArray<Slot>` in the VM's rooted state, indexed directly.
//! Lox's late binding is kept: a slot no `var`/`fun`/`class` has defined
//! yet holds the `undefined` marker, and reading or assigning it is clox's
//! "Undefined variable" error, raised when the instruction runs. The
//! instructions still name the variable's string constant too, for that
//! message, which also keeps clox's 256-constants-per-chunk accounting.

use std::collections::HashMap;

use tricolor::{GcArray, Member, Mutator};

use crate::value::Slot;

/// Slot numbers of the global names compiled so far.
#[derive(Default)]
pub struct GlobalNames {
    slots: HashMap<Box<str>, u16>,
}

impl GlobalNames {
    /// The slot for `name`, given out on first use; `None` past the
    /// 65,536 slots a two-byte operand can name.
    pub fn slot(&mut self, name: &str) -> Option<u16> {
        if let Some(&slot) = self.slots.get(name) {
            return Some(slot);
        }
        let slot = u16::try_from(self.slots.len()).ok()?;
        self.slots.insert(name.into(), slot);
        Some(slot)
    }

    /// Slots given out.
    pub fn len(&self) -> usize {
        self.slots.len()
    }
}

/// Make the value array in `values` hold at least `len` slots (doubling;
/// new slots undefined). Called between compiling and running, so no
/// running `execute` holds the old array.
pub fn reserve(m: &Mutator, values: &Member<GcArray<Slot>>, len: usize) {
    let old = values.get();
    let old_len = old.map_or(0, |a| a.len());
    if old_len >= len {
        return;
    }
    let len = len.max(old_len * 2).max(64);
    let new = match old {
        Some(old) => old.resized(m, len, Slot::undefined_word()),
        None => m.alloc_array(len, |_| Slot::undefined()),
    };
    values.set(m, Some(new));
}
