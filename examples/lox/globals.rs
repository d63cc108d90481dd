//! Global variables by slot number instead of by hash lookup.
//!
//! clox keeps globals in a hash table keyed by the name string, so every
//! global access hashes and probes. Here the compiler gives each distinct
//! global name a slot number once (`GlobalNames`, on the Rust side,
//! persistent across REPL lines), the instructions carry it, and the values
//! live in one `GcVec<Slot>` in the VM's rooted state, indexed directly
//! (the vector is kept as long as its capacity, so the VM can index its
//! backing array, `GcVec::as_array`).
//! Lox's late binding is kept: a slot no `var`/`fun`/`class` has defined
//! yet holds the `undefined` marker, and reading or assigning it is clox's
//! "Undefined variable" error, raised when the instruction runs. The
//! instructions still name the variable's string constant too, for that
//! message, which also keeps clox's 256-constants-per-chunk accounting.

use std::collections::HashMap;

use tricolor::{GcVec, Mutator};

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

/// Make `values` hold at least `len` slots (at least 64, doubling; new
/// slots undefined), its whole capacity. Called between compiling and
/// running, so no running `execute` holds the old backing array.
pub fn reserve(m: &Mutator, values: &GcVec<Slot>, len: usize) {
    let old_len = values.len();
    if old_len >= len {
        return;
    }
    values.reserve(m, len.max(64) - old_len);
    values.resize(m, values.capacity(), Slot::undefined_word());
}
