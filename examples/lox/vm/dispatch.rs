//! The interpreter loop: `Vm::execute` runs instructions until a safepoint,
//! the script's end or a runtime error; `Interp::dispatch`, its `match` on
//! the opcode, says where each instruction's semantics are.
//!
//! Speed comes from keeping the running frame in registers. `execute`
//! builds an `Interp` in its own stack frame: the running frame's `ip`,
//! `base`, code and constants, the stack's array and top, the frame count,
//! and borrows of the active frames and the call, method and field caches.
//! Its heap pointers are `'m` borrows of the mutator, all dead when
//! `execute` returns, which it does before every safepoint (so `run` can
//! take one).
//! The instructions are `#[inline(always)]` methods of `Interp` (here and
//! in `calls.rs`, `upvalues.rs`, `classes.rs`) returning `Result<_, Exit>`:
//! an `Err` leaves the loop through `?`, for a safepoint, the script's end
//! or an error, and `execute` then saves the frames.
//!
//! Invariants that keep the loop as fast as the macros it replaced:
//! - `Interp` never escapes: no method taking it is out of line, and cold
//!   paths (errors, growing the stack, natives, allocating instructions)
//!   take the fields they need by value. So LLVM splits it into scalars
//!   held in registers, as it did the loop's locals.
//! - The frames and the call, method and field caches are `execute`'s
//!   locals that `Interp` borrows, not its fields: their address goes out
//!   of line (`save_frames`), and LLVM does not split a struct whose
//!   address escapes.
//! - The stack is a one-word `&GcArray` (see `mod.rs`), taken again only
//!   from `grow_stack`.
//! - Every heap store is a barriered `set` or `copy_from`.

use std::cmp::Ordering::{Greater, Less};
use std::convert::Infallible;

use tricolor::{Gc, GcArray, Member, Mutator};

use super::calls::{CallCache, Code, Frame, MethodCache, MethodLine, CALL_CACHE, METHOD_CACHE};
use super::classes::{FieldCache, FieldLine, FIELD_CACHE};
use super::{error, grow_stack, CallFrame, Exit, Vm, VmState, FRAMES_MAX};
use crate::chunk::op;
use crate::object::{Closure, Obj};
use crate::value::{Slot, Value};

// The arithmetic instructions' errors.
const NUMBERS: &str = "Operands must be numbers.";
const NUMBERS_OR_STRINGS: &str = "Operands must be two numbers or two strings.";

/// `execute`'s state: the running frame and what it needs at hand.
pub(super) struct Interp<'m, 'v> {
    pub(super) m: &'m Mutator,
    /// For what is not cached here: output, the interner, natives.
    pub(super) vm: &'v mut Vm,
    pub(super) state: &'m VmState,
    pub(super) globals: &'m GcArray<Slot>,
    /// The stack's array, until it grows.
    pub(super) stack: &'m GcArray<Slot>,
    /// Stack top: the index of the first free slot.
    pub(super) sp: usize,
    /// The running frame: next instruction, stack index of its slot 0,
    /// and its closure's code and constants (the closure itself is in
    /// `frames`, `Interp::closure`).
    pub(super) ip: usize,
    pub(super) base: usize,
    pub(super) code: &'m [u8],
    pub(super) consts: &'m [Slot],
    /// The active frames (the running one's `ip` is stale), with what
    /// each closure caches, so a return need not walk closure ->
    /// function -> code again; `Vm::frames` holds their `ip` and `base`
    /// only between runs of `execute`.
    pub(super) frames: &'v mut [Frame<'m>; FRAMES_MAX],
    /// How many frames are active.
    pub(super) depth: usize,
    pub(super) call_cache: &'v mut CallCache<'m>,
    pub(super) method_cache: &'v mut MethodCache<'m>,
    pub(super) field_cache: &'v mut FieldCache,
}

impl Vm {
    /// Run instructions until a safepoint, the end, or an error. Pointers
    /// into the heap are cached for speed; they all die when this returns.
    pub(super) fn execute<'m>(&mut self, m: &'m Mutator) -> Exit {
        let state: &'m VmState = Gc::as_ref(self.state.get(m));
        let frame_closures = state.frames();
        let first = Code::of_frame(frame_closures, 0);
        let mut frames: [Frame<'m>; FRAMES_MAX] = [Frame {
            ip: 0,
            base: 0,
            code: first,
        }; FRAMES_MAX];
        // The set-up's order shows in the loop's register allocation: in
        // the macro-based loop, declaring `call_cache` after the loop
        // filling `frames` made fib ~25% slower; here, taking `globals`,
        // `stack`, `sp` and `depth` before the arrays made the loop run ~8%
        // more instructions (callgrind).
        let mut call_cache: CallCache<'m> = [(None, first); CALL_CACHE];
        let mut method_cache: MethodCache<'m> = [MethodLine::empty(first); METHOD_CACHE];
        let mut field_cache: FieldCache = [FieldLine::default(); FIELD_CACHE];
        for (i, (frame, saved)) in frames.iter_mut().zip(&self.frames).enumerate() {
            *frame = Frame {
                ip: saved.ip,
                base: saved.base,
                code: Code::of_frame(frame_closures, i),
            };
        }
        let depth = self.frames.len();
        let sp = self.sp;
        let mut interp = Interp {
            m,
            vm: self,
            state,
            globals: state.globals(),
            stack: state.stack(),
            sp,
            ip: 0,
            base: 0,
            code: first.code,
            consts: first.consts,
            frames: &mut frames,
            depth,
            call_cache: &mut call_cache,
            method_cache: &mut method_cache,
            field_cache: &mut field_cache,
        };
        interp.load_frame();
        let Err(exit) = interp.dispatch();
        let Interp {
            vm,
            frames,
            depth,
            ip,
            sp,
            ..
        } = interp;
        vm.save_frames(m, frame_closures, frames, depth, ip, sp);
        exit
    }

    /// Keep the state of an `execute` that is returning (its `depth`
    /// frames, the running one at `ip`, and the stack top) where `run`,
    /// the error report and the next `execute` find it. At the script's
    /// end there are no frames and the stack is empty.
    ///
    /// The frames' closures go into `VmState::frames` (the frames' roots)
    /// here, not at each call: a running `execute` holds them as `Gc`s,
    /// which stay valid until the safepoint that follows this.
    #[inline(never)]
    fn save_frames(
        &mut self,
        m: &Mutator,
        frame_closures: &GcArray<Member<Obj>>,
        frames: &[Frame<'_>],
        depth: usize,
        ip: usize,
        sp: usize,
    ) {
        for (entry, frame) in frame_closures.iter().zip(&frames[..depth]) {
            if !entry
                .get()
                .is_some_and(|old| Gc::ptr_eq(old, frame.code.object))
            {
                entry.set(m, Some(frame.code.object));
            }
        }
        self.frames.clear();
        self.frames
            .extend(frames[..depth].iter().map(|f| CallFrame {
                ip: f.ip,
                base: f.base,
            }));
        match self.frames.last_mut() {
            Some(running) => {
                running.ip = ip;
                self.sp = sp;
            }
            None => self.sp = 0,
        }
    }
}

impl<'m> Interp<'m, '_> {
    /// The loop; it leaves only by an `Err`.
    #[inline(always)]
    fn dispatch(&mut self) -> Result<Infallible, Exit> {
        let m = self.m;
        loop {
            match self.read_byte() {
                op::CONSTANT => {
                    let constant = self.read_constant_slot();
                    self.push_slot(constant)?;
                }
                op::NIL => self.push(Value::Nil)?,
                op::TRUE => self.push(Value::Bool(true))?,
                op::FALSE => self.push(Value::Bool(false))?,
                op::POP => self.sp -= 1,
                op::GET_LOCAL => {
                    let slot = self.read_byte() as usize;
                    // The slot first: the stack may move to a new array.
                    let dst = self.next_slot()?;
                    dst.copy_from(m, &self.stack[self.base + slot]);
                    self.sp += 1;
                }
                op::SET_LOCAL => {
                    let slot = self.read_byte() as usize;
                    self.stack[self.base + slot].copy_from(m, self.top());
                }
                op::GET_GLOBAL => {
                    let value = self.defined_global()?;
                    self.push_slot(value)?;
                }
                op::DEFINE_GLOBAL => {
                    self.ip += 1; // The name's constant, for errors only.
                    let slot = self.read_short();
                    self.sp -= 1;
                    self.globals[slot].copy_from(m, &self.stack[self.sp]);
                }
                op::SET_GLOBAL => self.defined_global()?.copy_from(m, self.top()),
                op::GET_UPVALUE => {
                    let index = self.read_byte() as usize;
                    self.get_upvalue(index)?;
                }
                op::SET_UPVALUE => {
                    let index = self.read_byte() as usize;
                    self.set_upvalue(index);
                }
                op::GET_PROPERTY => {
                    let name = self.read_string();
                    self.get_property(name, self.sp - 1, self.top())?;
                }
                op::SET_PROPERTY => {
                    let name = self.read_string();
                    self.set_property(name, self.sp - 2)?;
                    // The assigned value replaces the instance as the result.
                    self.sp -= 1;
                    self.stack[self.sp - 1].copy_from(m, &self.stack[self.sp]);
                }
                op::GET_THIS_PROPERTY => {
                    let name = self.read_string();
                    let dst = self.next_slot()?;
                    self.get_property(name, self.base, dst)?;
                    self.sp += 1;
                }
                op::SET_THIS_PROPERTY => {
                    let name = self.read_string();
                    self.set_property(name, self.base)?;
                }
                op::GET_SUPER => {
                    let name = self.read_string();
                    self.get_super(name)?;
                }
                op::EQUAL => {
                    let left = &self.stack[self.sp - 2];
                    left.set_bool(m, left.equals(&self.stack[self.sp - 1]));
                    self.sp -= 1;
                }
                op::EQUAL_CONSTANT => {
                    let k = self.read_constant_slot();
                    let left = self.top();
                    left.set_bool(m, left.equals(k));
                }
                op::GREATER => self.binary(Slot::set_bool, |a, b| a > b)?,
                op::LESS => self.binary(Slot::set_bool, |a, b| a < b)?,
                // `!(a < b)`: true when either is NaN.
                op::NOT_LESS => {
                    self.binary(Slot::set_bool, |a, b| a.partial_cmp(&b) != Some(Less))?;
                }
                op::NOT_GREATER => {
                    self.binary(Slot::set_bool, |a, b| a.partial_cmp(&b) != Some(Greater))?;
                }
                op::LESS_CONSTANT => {
                    self.binary_constant(Slot::set_bool, |a, b| a < b, NUMBERS)?;
                }
                op::GREATER_CONSTANT => {
                    self.binary_constant(Slot::set_bool, |a, b| a > b, NUMBERS)?;
                }
                op::ADD => match (self.stack[self.sp - 2].number(), self.top().number()) {
                    (Some(a), Some(b)) => {
                        self.sp -= 1;
                        self.top().set_number(m, a + b);
                    }
                    _ => self.concatenate()?,
                },
                op::SUBTRACT => self.binary(Slot::set_number, |a, b| a - b)?,
                op::ADD_CONSTANT => {
                    self.binary_constant(Slot::set_number, |a, b| a + b, NUMBERS_OR_STRINGS)?;
                }
                op::SUBTRACT_CONSTANT => {
                    self.binary_constant(Slot::set_number, |a, b| a - b, NUMBERS)?;
                }
                op::MULTIPLY => self.binary(Slot::set_number, |a, b| a * b)?,
                op::DIVIDE => self.binary(Slot::set_number, |a, b| a / b)?,
                op::NOT => {
                    let falsey = self.top().is_falsey();
                    self.top().set_bool(m, falsey);
                }
                op::NEGATE => match self.peek(0) {
                    Value::Number(n) => self.top().set(m, Value::Number(-n)),
                    _ => return Err(error("Operand must be a number.")),
                },
                op::PRINT => {
                    self.sp -= 1;
                    self.vm.print(self.stack[self.sp].get());
                }
                op::JUMP => {
                    let offset = self.read_short();
                    self.ip += offset;
                }
                op::POP_JUMP_IF_FALSE => {
                    let offset = self.read_short();
                    self.sp -= 1;
                    if self.stack[self.sp].is_falsey() {
                        self.ip += offset;
                    }
                }
                op::JUMP_IF_FALSE => {
                    let offset = self.read_short();
                    if self.top().is_falsey() {
                        self.ip += offset;
                    }
                }
                op::LOOP => {
                    let offset = self.read_short();
                    self.ip -= offset;
                    self.poll_safepoint()?;
                }
                op::CALL => {
                    let argc = self.read_byte() as usize;
                    self.call(argc)?;
                }
                op::INVOKE => {
                    let name = self.read_string();
                    let argc = self.read_byte() as usize;
                    self.invoke(name, argc)?;
                }
                op::SUPER_INVOKE => {
                    let name = self.read_string();
                    let argc = self.read_byte() as usize;
                    self.super_invoke(name, argc)?;
                }
                op::CLOSURE => {
                    let function = self.read_constant_slot().get().as_obj();
                    self.push_closure(function.expect("a closure's constant is a function"))?;
                }
                op::CLOSE_UPVALUE => self.close_upvalue(),
                op::RETURN => self.return_from_call(false)?,
                op::RETURN_NIL => self.return_from_call(true)?,
                op::CLASS => {
                    let name = self.read_string();
                    self.push_class(name)?;
                }
                op::INHERIT => {
                    self.forget_methods();
                    self.inherit()?;
                }
                op::METHOD => {
                    let name = self.read_string();
                    self.forget_methods();
                    self.define_method(name);
                }
                other => unreachable!("invalid opcode {other}"),
            }
        }
    }

    /// Make the top frame the running one.
    #[inline(always)]
    pub(super) fn load_frame(&mut self) {
        let frame = self.frames[(self.depth - 1) % FRAMES_MAX];
        self.ip = frame.ip;
        self.base = frame.base;
        self.code = frame.code.code;
        self.consts = frame.code.consts;
    }

    /// The running frame's closure (for its upvalues).
    #[inline(always)]
    pub(super) fn closure(&self) -> &'m Closure {
        Gc::as_ref(self.frames[(self.depth - 1) % FRAMES_MAX].code.object).closure()
    }

    /// Leave the loop for a safepoint if the collector asks for one.
    #[inline(always)]
    pub(super) fn poll_safepoint(&self) -> Result<(), Exit> {
        if self.m.safepoint_needed() {
            return Err(Exit::Safepoint);
        }
        Ok(())
    }

    // Operands.

    #[inline(always)]
    fn read_byte(&mut self) -> u8 {
        let b = self.code[self.ip];
        self.ip += 1;
        b
    }

    #[inline(always)]
    fn read_short(&mut self) -> usize {
        let s = u16::from_be_bytes([self.code[self.ip], self.code[self.ip + 1]]) as usize;
        self.ip += 2;
        s
    }

    /// The constant named by the operand byte.
    #[inline(always)]
    fn read_constant_slot(&mut self) -> &'m Slot {
        let consts = self.consts;
        &consts[self.read_byte() as usize]
    }

    /// The name (an interned string) named by the operand byte.
    #[inline(always)]
    fn read_string(&mut self) -> Gc<'m, Obj> {
        self.read_constant_slot()
            .get()
            .as_obj()
            .expect("a name constant is a string")
    }

    // The value stack.

    /// The top slot.
    #[inline(always)]
    pub(super) fn top(&self) -> &'m Slot {
        &self.stack[self.sp - 1]
    }

    /// The value `distance` slots below the top.
    #[inline(always)]
    pub(super) fn peek(&self, distance: usize) -> Value<'m> {
        self.stack[self.sp - 1 - distance].get()
    }

    /// The slot a push fills, `stack[sp]`, after growing the stack if it
    /// is full (one bounds check, where a room check before indexing made
    /// two); a stack overflow at clox's limit.
    #[inline(always)]
    fn next_slot(&mut self) -> Result<&'m Slot, Exit> {
        match self.stack.get(self.sp) {
            Some(slot) => Ok(slot),
            None => match grow_stack(self.m, self.state, self.stack) {
                Some(stack) => {
                    self.stack = stack;
                    Ok(&stack[self.sp])
                }
                None => Err(error("Stack overflow.")),
            },
        }
    }

    #[inline(always)]
    pub(super) fn push(&mut self, value: Value<'_>) -> Result<(), Exit> {
        self.next_slot()?.set(self.m, value);
        self.sp += 1;
        Ok(())
    }

    /// Push a copy of `src`, a slot outside the stack.
    #[inline(always)]
    fn push_slot(&mut self, src: &Slot) -> Result<(), Exit> {
        self.next_slot()?.copy_from(self.m, src);
        self.sp += 1;
        Ok(())
    }

    // Arithmetic and comparison.

    /// Replace the two number operands on top with `f(a, b)`, stored by
    /// `set` (`Slot::set_number` or `Slot::set_bool`).
    #[inline(always)]
    fn binary<R>(
        &mut self,
        set: impl FnOnce(&Slot, &Mutator, R),
        f: impl FnOnce(f64, f64) -> R,
    ) -> Result<(), Exit> {
        let (Some(a), Some(b)) = (self.stack[self.sp - 2].number(), self.top().number()) else {
            return Err(error(NUMBERS));
        };
        self.sp -= 1;
        set(self.top(), self.m, f(a, b));
        Ok(())
    }

    /// The same for a fused instruction whose right operand is the number
    /// constant named by the operand byte; `message` is the unfused
    /// instruction's error.
    #[inline(always)]
    fn binary_constant<R>(
        &mut self,
        set: impl FnOnce(&Slot, &Mutator, R),
        f: impl FnOnce(f64, f64) -> R,
        message: &'static str,
    ) -> Result<(), Exit> {
        let k = self.read_constant_slot();
        let (Some(a), Some(b)) = (self.top().number(), k.number()) else {
            return Err(error(message));
        };
        set(self.top(), self.m, f(a, b));
        Ok(())
    }

    /// `ADD` of two strings (the cold half of `ADD`): their concatenation
    /// replaces them.
    #[inline(always)]
    fn concatenate(&mut self) -> Result<(), Exit> {
        let Some(result) = self.vm.concatenate(self.m, self.peek(1), self.peek(0)) else {
            return Err(error(NUMBERS_OR_STRINGS));
        };
        self.sp -= 1;
        self.top().set(self.m, Value::Obj(result));
        Ok(())
    }

    /// The global variable named by the operands (the name's constant,
    /// for the error, and the slot number); an error if it is undefined.
    #[inline(always)]
    fn defined_global(&mut self) -> Result<&'m Slot, Exit> {
        // The name is only read for the error.
        let name = self.read_byte();
        let globals = self.globals;
        let value = &globals[self.read_short()];
        if value.is_undefined() {
            return Err(undefined_variable(&self.consts[name as usize]));
        }
        Ok(value)
    }
}

#[cold]
#[inline(never)]
fn undefined_variable(name: &Slot) -> Exit {
    let name = name.get().obj_ref().expect("a variable name is a string");
    error(format!("Undefined variable '{}'.", name.string().text()))
}
