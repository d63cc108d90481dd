//! Classes, instances and properties: `CLASS`, `INHERIT`, `METHOD`,
//! `GET_PROPERTY`/`SET_PROPERTY` (and their `this.name` forms) and
//! `GET_SUPER`. (Method calls are in `calls.rs`.)
//!
//! Methods are a `GcMap` keyed by interned name; fields are an array of
//! values indexed through the instance's shape (`shape.rs`). A field
//! shadows a method of the same name. Inheritance copies the superclass's methods
//! down into the subclass when `INHERIT` runs, before the subclass's own
//! `METHOD`s overwrite them, so a method lookup is one map probe. Reading
//! a method as a property makes a bound method (an allocation); `INVOKE`
//! avoids it.
//!
//! A field's index is found through `execute`'s field cache, direct-mapped
//! by (shape, name), before the shape's map: a shape never changes the
//! index of a field it has (`shape.rs`), so a line never goes stale while
//! its shape and name keep their addresses, which they do until `execute`
//! returns (no cycle starts before the next safepoint, so nothing is freed
//! and no new object takes their address).
//!
//! The instructions' hot paths (a field that exists) are inlined into the
//! loop; allocating or rare ones are out of line.

use tricolor::{Gc, GcArray, Mutator};

use super::calls::pair_cache_index;
use super::dispatch::Interp;
use super::{error, Exit};
use crate::object::{self, Class, Instance, Obj};
use crate::shape::add_field;
use crate::value::{Slot, Value};

/// Entries in `execute`'s field cache (a power of two).
pub(super) const FIELD_CACHE: usize = 64;

/// A field's index in the values of instances of `shape` (addresses; a
/// shape of 0 marks an empty line).
#[derive(Clone, Copy, Default)]
pub(super) struct FieldLine {
    shape: usize,
    name: usize,
    index: usize,
}

/// Recent field lookups, by shape and name.
pub(super) type FieldCache = [FieldLine; FIELD_CACHE];

impl<'m> Interp<'m, '_> {
    /// The slot of `instance`'s field `name`, if it has one.
    #[inline(always)]
    pub(super) fn field(&mut self, instance: &'m Instance, name: Gc<'m, Obj>) -> Option<&'m Slot> {
        // A null shape is the class's empty one: no fields.
        let shape = instance.shape.get()?;
        let (shape_key, name_key) = (Gc::as_ptr(shape) as usize, Gc::as_ptr(name) as usize);
        let line = &mut self.field_cache[pair_cache_index(shape_key, name_key, FIELD_CACHE)];
        let index = if line.shape == shape_key && line.name == name_key {
            line.index
        } else {
            let index = Gc::as_ref(shape).find(name)?;
            *line = FieldLine {
                shape: shape_key,
                name: name_key,
                index,
            };
            index
        };
        Some(&instance.values()[index])
    }

    /// `receiver.name` for the instance in stack slot `receiver`, stored in
    /// `dst`, a stack slot: a field, or a bound method of its class (out of
    /// line, and reading the receiver again, so the loop does not keep it).
    #[inline(always)]
    pub(super) fn get_property(
        &mut self,
        name: Gc<'m, Obj>,
        receiver: usize,
        dst: &'m Slot,
    ) -> Result<(), Exit> {
        let receiver = &self.stack[receiver];
        let Some(instance) = receiver.get().obj_ref().and_then(Obj::as_instance) else {
            return Err(error("Only instances have properties."));
        };
        if let Some(value) = self.field(instance, name) {
            dst.copy_from(self.m, value);
            return Ok(());
        }
        get_method(self.m, receiver, name, dst)
    }

    /// `receiver.name = value` for the instance in stack slot `receiver`,
    /// the value on top of the stack (not popped).
    #[inline(always)]
    pub(super) fn set_property(&mut self, name: Gc<'m, Obj>, receiver: usize) -> Result<(), Exit> {
        let receiver = self.stack[receiver].get();
        let Some(instance) = receiver.obj_ref().and_then(Obj::as_instance) else {
            return Err(error("Only instances have fields."));
        };
        let value = self.top();
        match self.field(instance, name) {
            Some(field) => field.copy_from(self.m, value),
            None => add_field(self.m, instance, name, value.get()),
        }
        Ok(())
    }

    /// `GET_SUPER`: `super.name` as a method of the superclass on top
    /// (popped) bound to `this` below it.
    #[inline(always)]
    pub(super) fn get_super(&mut self, name: Gc<'m, Obj>) -> Result<(), Exit> {
        self.sp -= 1;
        let superclass = superclass_at(self.stack, self.sp);
        match bind_method(self.m, superclass, name, self.peek(0)) {
            Some(bound) => self.top().set(self.m, Value::Obj(bound)),
            None => return Err(undefined_property(name)),
        }
        Ok(())
    }

    /// `CLASS`: push a new class without methods.
    #[inline(always)]
    pub(super) fn push_class(&mut self, name: Gc<'m, Obj>) -> Result<(), Exit> {
        self.push(Value::Obj(object::new_class(self.m, name)))
    }

    /// `INHERIT`: the superclass below the subclass on top (popped) gives
    /// it its methods.
    #[inline(always)]
    pub(super) fn inherit(&mut self) -> Result<(), Exit> {
        if !inherit(self.m, self.peek(1), self.peek(0)) {
            return Err(error("Superclass must be a class."));
        }
        self.sp -= 1;
        Ok(())
    }

    /// `METHOD`: the closure on top (popped) becomes method `name` of the
    /// class below it.
    #[inline(always)]
    pub(super) fn define_method(&mut self, name: Gc<'m, Obj>) {
        add_method(self.m, name, self.peek(1), self.peek(0));
        self.sp -= 1;
    }
}

/// The class the compiler left at `stack[sp]` for `super` accesses.
#[inline]
pub(super) fn superclass_at(stack: &GcArray<Slot>, sp: usize) -> &Class {
    stack[sp]
        .get()
        .obj_ref()
        .expect("'super' is a class")
        .class()
}

/// `GET_PROPERTY` of a name that is not a field of the instance in
/// `receiver`: its class's method bound to it, stored in `dst`.
#[inline(never)]
fn get_method(m: &Mutator, receiver: &Slot, name: Gc<'_, Obj>, dst: &Slot) -> Result<(), Exit> {
    let receiver = receiver.get();
    let instance = receiver.obj_ref().and_then(Obj::as_instance);
    let class = instance.expect("get_property checked the receiver").class();
    match bind_method(m, class, name, receiver) {
        Some(bound) => dst.set(m, Value::Obj(bound)),
        None => return Err(undefined_property(name)),
    }
    Ok(())
}

/// A bound method for `class.name` on `receiver`, or `None` if the class
/// has no such method.
#[inline]
fn bind_method<'m>(
    m: &'m Mutator,
    class: &'m Class,
    name: Gc<'_, Obj>,
    receiver: Value<'m>,
) -> Option<Gc<'m, Obj>> {
    let method = class.methods().get(Some(name))?.as_gc()?;
    Some(object::new_bound_method(m, receiver, method))
}

#[cold]
#[inline(never)]
pub(super) fn undefined_property(name: Gc<'_, Obj>) -> Exit {
    error(format!("Undefined property '{}'.", name.string().text()))
}

/// Copy `superclass`'s methods into `subclass`; false if the superclass
/// is not a class.
#[inline(never)]
fn inherit(m: &Mutator, superclass: Value<'_>, subclass: Value<'_>) -> bool {
    let Some(superclass) = superclass.obj_ref().and_then(Obj::as_class) else {
        return false;
    };
    let subclass = subclass.obj_ref().expect("OP_INHERIT on a class").class();
    // Copy-down inheritance: methods defined later in the subclass
    // overwrite the copies.
    for (name, method) in superclass.methods().iter() {
        subclass.methods().insert(m, name, method);
    }
    true
}

/// Add `method` to `class` as `name`.
#[inline(never)]
fn add_method(m: &Mutator, name: Gc<'_, Obj>, class: Value<'_>, method: Value<'_>) {
    let class = class.obj_ref().expect("OP_METHOD on a class").class();
    class.methods().insert(m, Some(name), method.word());
}
