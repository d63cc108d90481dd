//! Shapes (V8's hidden classes): where an instance keeps each field.
//!
//! An instance's field values are one `GcArray<Slot>`; its shape maps each
//! field name to an index in it. Instances of a class that got the same
//! fields in the same order share one shape, so the name-to-index maps are
//! few and stay in cache, while an instance is its object and one array of
//! values (a binary tree node with three fields: 64 + 40 bytes). With a
//! `GcMap` of fields per instance, each instance also carried its own
//! hash table: for a walk over a large tree, three to four cache lines per
//! node in two places of the heap where clox's malloc puts its instance and
//! table side by side.
//!
//! Shapes form a tree per class: the class's empty shape is the root, and
//! adding field `f` to an instance of shape `s` moves it to `s`'s
//! transition by `f`, made on first use. Invariants:
//! - a shape never changes once made, except for gaining transitions:
//!   its `index` holds exactly its parent's entries plus its own field, at
//!   the next index, so an instance's values array is indexed densely from
//!   0 and a field's index never changes while the instance has it (Lox
//!   cannot delete fields);
//! - an instance's values array is at least as long as its shape has
//!   fields. `add_field` grows the array before it switches the shape, so
//!   every index the shape gives is in bounds (and is bounds-checked
//!   anyway).

use tricolor::{Gc, GcArray, GcMap, Member, Mutator, Plain, Trace};

use crate::object::{Instance, Obj};
use crate::value::{Slot, Value};

/// Where each field of the instances of one shape is.
#[derive(Trace)]
pub struct Shape {
    /// Field name (an interned string) to its index in the values array.
    index: GcMap<Member<Obj>, Plain<u32>>,
    /// The shape an instance moves to by adding a field, by its name.
    transitions: GcMap<Member<Obj>, Member<Shape>>,
}

impl Shape {
    /// A shape without fields: a new class's root.
    pub fn empty(m: &Mutator) -> Gc<'_, Shape> {
        m.alloc(Shape {
            index: GcMap::new(),
            transitions: GcMap::new(),
        })
    }

    /// The index of field `name`, if instances of this shape have it.
    #[inline(always)]
    pub fn find(&self, name: Gc<'_, Obj>) -> Option<usize> {
        self.index.get(Some(name)).map(|i| i as usize)
    }

    /// How many fields instances of this shape have.
    #[inline]
    pub fn len(&self) -> usize {
        self.index.len()
    }

    /// The shape with this one's fields and then `name` (which this one
    /// lacks).
    fn with<'m>(&'m self, m: &'m Mutator, name: Gc<'m, Obj>) -> Gc<'m, Shape> {
        if let Some(next) = self.transitions.get(Some(name)) {
            return next.expect("a transition is a shape");
        }
        let next = m.alloc(Shape {
            index: GcMap::with_capacity(m, self.len() + 1),
            transitions: GcMap::new(),
        });
        for (field, i) in self.index.iter() {
            next.index.insert(m, field, i);
        }
        next.index.insert(m, Some(name), self.len() as u32);
        self.transitions.insert(m, Some(name), Some(next));
        next
    }
}

/// `instance.name = value` for a field the instance does not have yet:
/// move it to the next shape, first growing its values array if that
/// shape's fields do not fit. A new array is as long as the most fields an
/// instance of the class has had (`Class::field_hint`), so a class whose
/// `init` sets all its fields allocates each instance's array once.
#[inline(never)]
pub fn add_field<'m>(m: &'m Mutator, instance: &'m Instance, name: Gc<'m, Obj>, value: Value<'m>) {
    let next = instance.shape().with(m, name);
    let index = next.len() - 1;
    let class = instance.class();
    let hint = class.field_hint.get().max(index + 1);
    class.field_hint.set(hint);
    let old = instance.values.get();
    let old_len = old.map_or(0, |a| a.len());
    if index >= old_len {
        let len = hint.max(2 * old_len);
        let values: Gc<'m, GcArray<Slot>> = m.alloc_array(len, |_| Slot::nil());
        if let Some(old) = old {
            for (new, old) in values.iter().zip(old.iter()) {
                new.copy_from(m, old);
            }
        }
        instance.values.set(m, Some(values));
    }
    instance.values()[index].set(m, value);
    instance.shape.set(m, Some(next));
}
