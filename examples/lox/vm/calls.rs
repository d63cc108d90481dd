//! Calls and returns: entering a closure (`CALL`, `INVOKE`,
//! `SUPER_INVOKE`), calling the other callables (bound methods, classes,
//! natives), `RETURN`, and the frames, call cache and method cache
//! `execute` keeps.
//!
//! A call pushes a frame: the callee's `ip`, `base` and code (its closure
//! included) into `execute`'s frames. The closures reach `VmState::frames`,
//! the frames' roots, only when `execute` returns for a safepoint
//! (`save_frames`); until then the frames hold them as `Gc`s. Slot 0 of the new frame, the
//! stack slot below the arguments, holds the callee, or for a method or an
//! initializer the receiver (`this`). Every call is a safepoint, taken
//! only if the collector asks for one; a call that completes at once (a
//! native, a class without `init`) is one too. clox's limits apply: the
//! argument count must match the arity, and at most `FRAMES_MAX` frames.
//!
//! The hot path (`call_closure`) is inlined into the loop; callables other
//! than closures go through `Vm::prepare_call`, out of line.

use tricolor::{Gc, GcArray, Member, Mutator};

use super::classes::{superclass_at, undefined_property};
use super::dispatch::Interp;
use super::upvalues::close_upvalues;
use super::{error, Exit, Vm, FRAMES_MAX};
use crate::object::{self, Class, NativeFn, Obj};
use crate::value::{Slot, Value};

/// A frame's closure and what `execute` caches of its function, so that
/// neither a call that hits the call cache nor a return walks closure ->
/// function -> code again. `object` is the closure as a heap object, for
/// `VmState::frames` (written when `execute` returns, `save_frames`) and
/// the upvalue instructions (`Interp::closure`); a `&Closure` beside it
/// made every call write, and every return read, one more word (measured:
/// invocation, method_call and fib 4-10% slower).
#[derive(Clone, Copy)]
pub(super) struct Code<'m> {
    pub(super) object: Gc<'m, Obj>,
    pub(super) code: &'m [u8],
    pub(super) consts: &'m [Slot],
    pub(super) arity: usize,
}

impl<'m> Code<'m> {
    /// The code of `object`, a closure.
    #[inline]
    fn of(object: Gc<'m, Obj>) -> Code<'m> {
        let function = Gc::as_ref(object).closure().function();
        Code {
            object,
            arity: function.arity,
            code: function.code(),
            consts: &Gc::as_ref(function.constants.get().expect("a function has constants"))[..],
        }
    }

    /// The code of the frame at `depth`, from its rooted closure.
    pub(super) fn of_frame(frame_closures: &'m GcArray<Member<Obj>>, depth: usize) -> Code<'m> {
        Code::of(
            frame_closures[depth]
                .get()
                .expect("an active frame has a closure"),
        )
    }
}

/// An active frame as `execute` keeps it: where it is and its code.
#[derive(Clone, Copy)]
pub(super) struct Frame<'m> {
    pub(super) ip: usize,
    pub(super) base: usize,
    pub(super) code: Code<'m>,
}

/// Entries in `execute`'s cache of called closures (a power of two).
pub(super) const CALL_CACHE: usize = 16;

/// The code of recently called closures, direct-mapped by address: most
/// calls hit, and skip closure -> function -> code/constants. A closure's
/// function and its code never change, and a cached `Gc` keeps its address
/// from being reused until `execute` returns.
pub(super) type CallCache<'m> = [(Option<Gc<'m, Obj>>, Code<'m>); CALL_CACHE];

/// `closure`'s line in the call cache.
#[inline(always)]
fn call_cache_index(closure: Gc<'_, Obj>) -> usize {
    cache_index(Gc::as_ptr(closure) as usize, CALL_CACHE)
}

/// The line of `key` in a direct-mapped cache of `lines` lines (a power
/// of two): the top bits of a Fibonacci hash. Object addresses are
/// multiples of their size class (often 64), so their low bits would
/// crowd a few lines.
#[inline(always)]
fn cache_index(key: usize, lines: usize) -> usize {
    key.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> (usize::BITS - lines.trailing_zeros())
}

/// Entries in `execute`'s method cache (a power of two).
pub(super) const METHOD_CACHE: usize = 64;

/// A method found by `INVOKE`, `SUPER_INVOKE` or a class's call: the
/// class and name it was looked up by (as addresses; a class of 0 marks an
/// empty line) and the method's code.
#[derive(Clone, Copy)]
pub(super) struct MethodLine<'m> {
    class: usize,
    name: usize,
    code: Code<'m>,
}

impl<'m> MethodLine<'m> {
    pub(super) fn empty(code: Code<'m>) -> MethodLine<'m> {
        MethodLine {
            class: 0,
            name: 0,
            code,
        }
    }
}

/// Recent method lookups, direct-mapped by class and name: an invocation
/// that hits skips the class's method table and the call cache. Sound for
/// `execute`'s lifetime: a class and a name found through `'m` borrows
/// keep their addresses until `execute` returns (no cycle starts before
/// the next safepoint, so nothing they point to is freed and no new
/// object takes their address), and a class's methods change only when
/// its declaration runs (`METHOD`, `INHERIT`), which empties the cache.
pub(super) type MethodCache<'m> = [MethodLine<'m>; METHOD_CACHE];

/// The line of the pair (`a`, `b`) of addresses in a direct-mapped cache
/// of `lines` lines: the method cache's (class, name) and the field
/// cache's (shape, name).
#[inline(always)]
pub(super) fn pair_cache_index(a: usize, b: usize, lines: usize) -> usize {
    cache_index(a ^ b.rotate_left(32), lines)
}

impl<'m> Interp<'m, '_> {
    /// `CALL`: call the value below the `argc` arguments on top.
    #[inline(always)]
    pub(super) fn call(&mut self, argc: usize) -> Result<(), Exit> {
        let callee = self.peek(argc);
        self.call_value(callee, argc)
    }

    /// `INVOKE`: `receiver.name(args)` without making a bound method
    /// (clox's `invoke`).
    #[inline(always)]
    pub(super) fn invoke(&mut self, name: Gc<'m, Obj>, argc: usize) -> Result<(), Exit> {
        let receiver = self.peek(argc);
        let Some(instance) = receiver.obj_ref().and_then(Obj::as_instance) else {
            return Err(error("Only instances have methods."));
        };
        // A field holding a callable shadows a method of the same name.
        if let Some(field) = self.field(instance, name) {
            let field = field.get();
            self.stack[self.sp - 1 - argc].set(self.m, field);
            self.call_value(field, argc)
        } else {
            self.invoke_from_class(instance.class(), name, argc)
        }
    }

    /// `SUPER_INVOKE`: `super.name(args)`, the superclass on top of the
    /// arguments.
    #[inline(always)]
    pub(super) fn super_invoke(&mut self, name: Gc<'m, Obj>, argc: usize) -> Result<(), Exit> {
        self.sp -= 1;
        let superclass = superclass_at(self.stack, self.sp);
        self.invoke_from_class(superclass, name, argc)
    }

    /// `RETURN` (`nil`: `RETURN_NIL`): pop the running frame; its result
    /// (the value on top, or nil) replaces its slots.
    #[inline(always)]
    pub(super) fn return_from_call(&mut self, nil: bool) -> Result<(), Exit> {
        let result = self.sp - 1;
        if !self.state.open_upvalues.is_null() {
            close_upvalues(self.m, self.state, self.stack, self.base);
        }
        self.depth -= 1;
        if self.depth == 0 {
            return Err(Exit::Done);
        }
        // The caller's slots are below `base`, so no growth.
        self.sp = self.base;
        match nil {
            true => self.stack[self.sp].set_nil(self.m),
            false => self.stack[self.sp].copy_from(self.m, &self.stack[result]),
        }
        self.sp += 1;
        self.load_frame();
        Ok(())
    }

    #[inline(always)]
    fn invoke_from_class(
        &mut self,
        class: &'m Class,
        name: Gc<'m, Obj>,
        argc: usize,
    ) -> Result<(), Exit> {
        match self.find_method(class, name) {
            Some(code) => self.enter(code, argc),
            None => Err(undefined_property(name)),
        }
    }

    /// The code of `class`'s method `name`, through the method cache.
    #[inline(always)]
    fn find_method(&mut self, class: &'m Class, name: Gc<'m, Obj>) -> Option<Code<'m>> {
        let (class_key, name_key) = (class as *const Class as usize, Gc::as_ptr(name) as usize);
        let line = &mut self.method_cache[pair_cache_index(class_key, name_key, METHOD_CACHE)];
        if line.class == class_key && line.name == name_key {
            return Some(line.code);
        }
        let method = class
            .methods()
            .get(Some(name))?
            .as_gc()
            .expect("methods are closures");
        let code = Code::of(method);
        *line = MethodLine {
            class: class_key,
            name: name_key,
            code,
        };
        Some(code)
    }

    /// Call `class` (clox's `callValue` on a class): a new instance
    /// replaces the class as slot 0 (`this`), then the initializer runs;
    /// without one the call completes at once and takes no arguments.
    #[inline(always)]
    fn instantiate(
        &mut self,
        class_object: Gc<'m, Obj>,
        class: &'m Class,
        argc: usize,
    ) -> Result<(), Exit> {
        let instance = object::new_instance(self.m, class_object);
        self.stack[self.sp - 1 - argc].set(self.m, Value::Obj(instance));
        let init = self.state.init_string.get().expect("the VM has \"init\"");
        match self.find_method(class, init) {
            Some(code) => self.enter(code, argc),
            None if argc != 0 => Err(arity_error(0, argc)),
            None => self.poll_safepoint(),
        }
    }

    /// Forget every cached method lookup: a class's methods are changing.
    #[inline(always)]
    pub(super) fn forget_methods(&mut self) {
        for line in self.method_cache.iter_mut() {
            line.class = 0;
        }
    }

    /// Enter `callee`, a closure object, with the `argc` arguments on top
    /// of the stack (clox's `call`): push its frame, root its closure, and
    /// make it the running frame.
    #[inline(always)]
    fn call_closure(&mut self, callee: Gc<'m, Obj>, argc: usize) -> Result<(), Exit> {
        let line = &mut self.call_cache[call_cache_index(callee)];
        let c = match line.0 {
            Some(cached) if Gc::ptr_eq(cached, callee) => line.1,
            _ => {
                let c = Code::of(callee);
                *line = (Some(callee), c);
                c
            }
        };
        self.enter(c, argc)
    }

    /// Enter the closure whose code is `c`: `call_closure` once the code
    /// is known. Its closure is not stored in `VmState::frames` here but
    /// when `execute` returns (`save_frames`): until then `c` holds it.
    #[inline(always)]
    fn enter(&mut self, c: Code<'m>, argc: usize) -> Result<(), Exit> {
        if argc != c.arity {
            return Err(arity_error(c.arity, argc));
        }
        if self.depth == FRAMES_MAX {
            return Err(error("Stack overflow."));
        }
        self.frames[(self.depth - 1) % FRAMES_MAX].ip = self.ip;
        self.ip = 0;
        self.base = self.sp - argc - 1;
        self.frames[self.depth % FRAMES_MAX] = Frame {
            ip: self.ip,
            base: self.base,
            code: c,
        };
        self.depth += 1;
        self.code = c.code;
        self.consts = c.consts;
        self.poll_safepoint()
    }

    /// Call any callable value (clox's `callValue`): closures, bound
    /// methods and initializers enter a frame through `enter`; a native or
    /// a class without `init` completes at once.
    #[inline(always)]
    fn call_value(&mut self, callee: Value<'m>, argc: usize) -> Result<(), Exit> {
        if let Some(object) = callee.as_obj() {
            match Gc::as_ref(object) {
                Obj::Closure(_) => return self.call_closure(object, argc),
                Obj::Class(class) => return self.instantiate(object, class, argc),
                _ => {}
            }
        }
        match self
            .vm
            .prepare_call(self.m, self.stack, self.sp, callee, argc)?
        {
            Some(closure) => self.call_closure(closure, argc),
            // The result is in the callee's slot.
            None => {
                self.sp -= argc;
                self.poll_safepoint()
            }
        }
    }
}

impl Vm {
    /// The rest of clox's `callValue` for `callee` with the `argc`
    /// arguments on top of the stack (closures and classes are
    /// `call_value`'s): put a bound method's receiver in the callee's slot
    /// and return the closure to enter, or run a native to completion and
    /// return `None`, the result in the callee's slot.
    #[inline(never)]
    fn prepare_call<'m>(
        &self,
        m: &'m Mutator,
        stack: &'m GcArray<Slot>,
        sp: usize,
        callee: Value<'m>,
        argc: usize,
    ) -> Result<Option<Gc<'m, Obj>>, Exit> {
        let Value::Obj(obj) = callee else {
            return Err(error("Can only call functions and classes."));
        };
        match Gc::as_ref(obj) {
            Obj::BoundMethod(bound) => {
                stack[sp - 1 - argc].set(m, bound.receiver.get());
                let method = bound.method.get().expect("a bound method has a method");
                Ok(Some(method))
            }
            Obj::Native(native) => {
                let result = self.call_native(native.function);
                stack[sp - 1 - argc].set(m, result);
                Ok(None)
            }
            _ => Err(error("Can only call functions and classes.")),
        }
    }

    fn call_native(&self, function: NativeFn) -> Value<'static> {
        match function {
            // clox's clock() is processor time; seconds since the VM started
            // serve the same purpose (timing a benchmark) portably.
            NativeFn::Clock => Value::Number(self.started.elapsed().as_secs_f64()),
        }
    }
}

#[cold]
#[inline(never)]
fn arity_error(arity: usize, argc: usize) -> Exit {
    error(format!("Expected {arity} arguments but got {argc}."))
}
