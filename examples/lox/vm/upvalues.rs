//! Closures and the variables they capture: `CLOSURE`, `GET_UPVALUE`,
//! `SET_UPVALUE`, `CLOSE_UPVALUE`, and closing a returning frame's
//! upvalues.
//!
//! As in clox, an upvalue is open while its variable lives on the stack:
//! its `location` is the variable's stack index (an index, so the stack
//! can move when it grows). Open upvalues are in one list,
//! `VmState::open_upvalues`, sorted by stack index, highest first, and a
//! variable has at most one, so closures capturing it share it. When the
//! variable's slot is popped (`CLOSE_UPVALUE`, or a return below it) the
//! upvalue is closed: the value moves into it and `location` becomes
//! `CLOSED`.

use std::sync::atomic::Ordering::Relaxed;

use tricolor::{Gc, GcArray, Member, Mutator};

use super::dispatch::Interp;
use super::{Exit, VmState};
use crate::object::{self, Closure, Obj, Upvalue, CLOSED};
use crate::value::{Slot, Value};

impl<'m> Interp<'m, '_> {
    /// `GET_UPVALUE`: push the running closure's upvalue `index`.
    #[inline(always)]
    pub(super) fn get_upvalue(&mut self, index: usize) -> Result<(), Exit> {
        let upvalue = self.closure().upvalue(index);
        let value = match upvalue.location.load(Relaxed) {
            CLOSED => upvalue.closed.get(),
            location => self.stack[location].get(),
        };
        self.push(value)
    }

    /// `SET_UPVALUE`: the value on top (not popped) into the running
    /// closure's upvalue `index`.
    #[inline(always)]
    pub(super) fn set_upvalue(&mut self, index: usize) {
        let upvalue = self.closure().upvalue(index);
        match upvalue.location.load(Relaxed) {
            CLOSED => upvalue.closed.set(self.m, self.peek(0)),
            location => self.stack[location].set(self.m, self.peek(0)),
        }
    }

    /// `CLOSURE`: push a new closure of `function`, its upvalues named by
    /// the operand pairs that follow.
    #[inline(always)]
    pub(super) fn push_closure(&mut self, function: Gc<'m, Obj>) -> Result<(), Exit> {
        let (closure, next) = make_closure(
            self.m,
            self.state,
            self.closure(),
            self.code,
            self.ip,
            self.base,
            function,
        );
        self.ip = next;
        self.push(Value::Obj(closure))
    }

    /// `CLOSE_UPVALUE`: pop the top slot, closing its upvalue.
    #[inline(always)]
    pub(super) fn close_upvalue(&mut self) {
        close_upvalues(self.m, self.state, self.stack, self.sp - 1);
        self.sp -= 1;
    }
}

/// A new closure of `function`, capturing the upvalues its operands (from
/// `ip` in `code`) name; returns it and the next `ip`.
#[inline(never)]
fn make_closure<'m>(
    m: &'m Mutator,
    state: &'m VmState,
    enclosing: &'m Closure,
    code: &[u8],
    mut ip: usize,
    base: usize,
    function: Gc<'m, Obj>,
) -> (Gc<'m, Obj>, usize) {
    // The upvalue array first, filled from the operands (capturing may
    // allocate, so not inside `alloc_array`'s initialiser), then the
    // closure with both its pointers.
    let count = function.function().upvalue_count;
    let upvalues = (count > 0).then(|| m.alloc_array(count, |_| Member::null()));
    if let Some(array) = upvalues {
        for upvalue in array.iter() {
            let is_local = code[ip] != 0;
            let index = code[ip + 1] as usize;
            ip += 2;
            let captured = if is_local {
                capture_upvalue(m, state, base + index)
            } else {
                Gc::as_ref(enclosing.upvalues.get().expect("enclosing upvalues"))[index]
                    .get()
                    .expect("upvalue is set")
            };
            upvalue.set(m, Some(captured));
        }
    }
    (object::new_closure(m, function, upvalues), ip)
}

/// The open upvalue for stack slot `local`, creating it if needed.
fn capture_upvalue<'m>(m: &'m Mutator, state: &'m VmState, local: usize) -> Gc<'m, Obj> {
    let mut prev: Option<&'m Upvalue> = None;
    let mut cur = state.open_upvalues.get();
    while let Some(u) = cur {
        let upvalue = Gc::as_ref(u).upvalue();
        let location = upvalue.location.load(Relaxed);
        if location == local {
            return u;
        }
        if location < local {
            break;
        }
        prev = Some(upvalue);
        cur = upvalue.next.get();
    }
    let created = object::new_upvalue(m, local, cur);
    match prev {
        None => state.open_upvalues.set(m, Some(created)),
        Some(p) => p.next.set(m, Some(created)),
    }
    created
}

/// Close every open upvalue at stack index `last` or above: move the value
/// into the upvalue, which then no longer refers to the stack.
pub(super) fn close_upvalues(m: &Mutator, state: &VmState, stack: &GcArray<Slot>, last: usize) {
    while let Some(u) = state.open_upvalues.get() {
        let upvalue = u.upvalue();
        let location = upvalue.location.load(Relaxed);
        if location < last {
            break;
        }
        upvalue.closed.set(m, stack[location].get());
        upvalue.location.store(CLOSED, Relaxed);
        state.open_upvalues.set(m, upvalue.next.get());
        upvalue.next.set(m, None);
    }
}
