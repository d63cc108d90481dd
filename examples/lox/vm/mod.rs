//! The virtual machine: clox's `run()` loop over the byte code, with all of
//! its state that points into the GC heap kept in the heap itself.
//!
//! Rooting. Everything the VM must keep across a safepoint is reachable
//! from one root, a `VmState` object: the value stack (a `GcArray<Slot>`),
//! the closure of every active call frame, the global variables, the list of
//! open upvalues and the `"init"` string. The Rust side keeps only plain
//! numbers (each frame's instruction pointer and stack base, the stack top)
//! and the weak intern table. So at a safepoint no unrooted `Gc` is needed:
//! `execute` returns, `run` calls `Mutator::safepoint`, and `execute` is
//! entered again and reloads its cached pointers from the root.
//!
//! Safepoints are at every call (after the callee's frame is set up) and
//! every backward jump, as the collector asks: any loop or recursion
//! passes one, so the allocation between two safepoints is bounded by the
//! straight-line code in between. There `execute` polls the cheap
//! `Mutator::safepoint_needed` and leaves the loop only when it is true,
//! so calls and loops stay inside the dispatch loop almost always.
//!
//! The value stack is a `GcVec<Slot>` that starts small and doubles (up
//! to clox's 64 × 256 slots) when full; frames and open upvalues refer to
//! it by index, so moving it to a bigger array invalidates nothing. Its
//! top is `sp`, a local, not the vector's length: the vector is kept
//! exactly as long as its backing array (every slot above `sp` holds a
//! dead value or nil), so `execute` can hold that array itself
//! (`GcVec::as_array`), one word in a register where a slice would take
//! two, which measurably slows the dispatch loop. It borrows the array
//! again only after growing the stack (`grow_stack`), the one place the
//! vector moves to a new array; every store into it is a slot's barriered
//! `set`, and the growth switches arrays with a barriered store.

use std::cmp::Ordering::{Greater, Less};
use std::io::{self, BufWriter, Stdout, Write};
use std::sync::atomic::Ordering::Relaxed;
use std::time::Instant;

use tricolor::{Gc, GcArray, GcVec, Member, Mutator, Root, Trace};

use crate::chunk::op;
use crate::compiler;
use crate::globals::{self, GlobalNames};
use crate::object::{self, Class, NativeFn, Obj, CLOSED};
use crate::strings::Interner;
use crate::value::{Slot, Value};

/// clox's limits: call depth, and the stack a full set of frames can use.
pub const FRAMES_MAX: usize = 64;
pub const STACK_MAX: usize = FRAMES_MAX * 256;
const INITIAL_STACK: usize = 256;
// The stack doubles from INITIAL_STACK, and lands on STACK_MAX exactly.
const _: () = assert!((STACK_MAX / INITIAL_STACK).is_power_of_two());
const _: () = assert!(STACK_MAX % INITIAL_STACK == 0);
/// Entries in `execute`'s cache of called closures (a power of two).
const CALL_CACHE: usize = 16;

/// `closure`'s line in the call cache.
#[inline(always)]
fn call_cache_index(closure: Gc<'_, Obj>) -> usize {
    let address = Gc::as_ptr(closure) as usize;
    (address >> 4) & (CALL_CACHE - 1)
}

/// The VM's heap-resident state, reachable from the VM's one root.
#[derive(Trace)]
struct VmState {
    /// The value stack; as long as its capacity, its top is `Vm::sp`.
    stack: GcVec<Slot>,
    /// Closure of frame `i` at index `i`; entries above the frame count are
    /// stale and harmless.
    frames: Member<GcArray<Member<Obj>>>,
    /// Global variable values by slot (see `globals.rs`); as long as its
    /// capacity.
    globals: GcVec<Slot>,
    /// Open upvalues, sorted by stack index, highest first.
    open_upvalues: Member<Obj>,
    init_string: Member<Obj>,
}

impl VmState {
    /// The stack's backing array: valid until the stack grows
    /// (`grow_stack`), whose caller takes the new one.
    fn stack(&self) -> &GcArray<Slot> {
        self.stack.as_array().expect("the stack fills its vector")
    }

    fn frames(&self) -> &GcArray<Member<Obj>> {
        Gc::as_ref(self.frames.get().expect("the VM has frames"))
    }

    /// The globals' backing array; they grow only between runs of
    /// `execute` (`globals::reserve`).
    fn globals(&self) -> &GcArray<Slot> {
        self.globals
            .as_array()
            .expect("the globals fill their vector")
    }
}

/// A frame's closure and what `execute` caches of its function.
#[derive(Clone, Copy)]
struct Code<'m> {
    closure: &'m object::Closure,
    code: &'m [u8],
    consts: &'m [Slot],
    arity: usize,
}

impl<'m> Code<'m> {
    #[inline]
    fn of(closure: &'m object::Closure) -> Code<'m> {
        let function = closure.function();
        Code {
            closure,
            arity: function.arity,
            code: function.code(),
            consts: &Gc::as_ref(function.constants.get().expect("a function has constants"))[..],
        }
    }

    /// The code of the frame at `depth`, from its rooted closure.
    fn of_frame(frame_closures: &'m GcArray<Member<Obj>>, depth: usize) -> Code<'m> {
        Code::of(
            Gc::as_ref(
                frame_closures[depth]
                    .get()
                    .expect("an active frame has a closure"),
            )
            .closure(),
        )
    }
}

/// An active frame as `execute` keeps it: where it is and its code.
#[derive(Clone, Copy)]
struct Frame<'m> {
    ip: usize,
    base: usize,
    code: Code<'m>,
}

#[derive(Clone, Copy)]
struct CallFrame {
    /// Next instruction, saved when the frame is not running.
    ip: usize,
    /// Stack index of slot 0 (the callee or `this`).
    base: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InterpretResult {
    Ok,
    CompileError,
    RuntimeError,
}

/// How `Vm::prepare_call` resolved a callee.
enum Call<'m> {
    /// Enter this closure (its slot 0 is already in place).
    Enter(Gc<'m, Obj>),
    /// The call has completed; the new stack top.
    Done(usize),
}

/// Why `execute` returned.
enum Exit {
    /// At a call or backward jump: let the collector in, then continue.
    Safepoint,
    /// The script returned.
    Done,
    /// A runtime error with this message; the frames are as they were.
    Error(String),
}

pub struct Vm {
    state: Root<VmState>,
    frames: Vec<CallFrame>,
    /// Stack top: the index of the first free slot.
    sp: usize,
    strings: Interner,
    global_names: GlobalNames,
    /// Scratch space for string concatenation.
    scratch: String,
    out: BufWriter<Stdout>,
    started: Instant,
}

impl Vm {
    pub fn new(m: &Mutator) -> Vm {
        let state = m.alloc(VmState {
            stack: GcVec::with_capacity(m, INITIAL_STACK),
            frames: Member::null(),
            globals: GcVec::new(),
            open_upvalues: Member::null(),
            init_string: Member::null(),
        });
        state.stack.resize(m, INITIAL_STACK, Slot::nil_word());
        state
            .frames
            .set(m, Some(m.alloc_array(FRAMES_MAX, |_| Member::null())));
        let mut strings = Interner::new();
        state.init_string.set(m, Some(strings.intern(m, "init")));
        let mut global_names = GlobalNames::default();
        let clock = global_names.slot("clock").expect("the first global slot");
        globals::reserve(m, &state.globals, global_names.len());
        let native = object::new_native(m, NativeFn::Clock);
        state.globals()[clock as usize].set(m, Value::Obj(native));
        Vm {
            state: m.root(state),
            frames: Vec::with_capacity(FRAMES_MAX),
            sp: 0,
            strings,
            global_names,
            scratch: String::new(),
            out: BufWriter::new(io::stdout()),
            started: Instant::now(),
        }
    }

    /// Compile and run `source` (a file, or one REPL line; globals persist).
    pub fn interpret(&mut self, m: &mut Mutator, source: &str) -> InterpretResult {
        {
            let m: &Mutator = m;
            let Some(function) =
                compiler::compile(m, &mut self.strings, &mut self.global_names, source)
            else {
                return InterpretResult::CompileError;
            };
            // Root the script before the first safepoint: its closure goes
            // in stack slot 0 and frame 0, as clox's interpret() does.
            let closure = object::new_closure(m, function, None);
            let state = Gc::as_ref(self.state.get(m));
            globals::reserve(m, &state.globals, self.global_names.len());
            state.stack()[0].set(m, Value::Obj(closure));
            state.frames()[0].set(m, Some(closure));
            self.sp = 1;
            self.frames.push(CallFrame { ip: 0, base: 0 });
        }
        let result = self.run(m);
        let _ = self.out.flush();
        result
    }

    fn run(&mut self, m: &mut Mutator) -> InterpretResult {
        loop {
            match self.execute(m) {
                Exit::Safepoint => m.safepoint(),
                Exit::Done => return InterpretResult::Ok,
                Exit::Error(message) => {
                    self.runtime_error(m, &message);
                    return InterpretResult::RuntimeError;
                }
            }
        }
    }

    /// Run instructions until a safepoint, the end, or an error. Pointers
    /// into the heap are cached in locals for speed; they all die when this
    /// returns.
    fn execute<'m>(&mut self, m: &'m Mutator) -> Exit {
        let state: &'m VmState = Gc::as_ref(self.state.get(m));
        let frame_closures: &'m GcArray<Member<Obj>> = state.frames();
        let globals: &'m GcArray<Slot> = state.globals();
        let mut stack: &'m GcArray<Slot> = state.stack();
        let mut sp = self.sp;

        // The running frame, cached.
        let mut ip: usize;
        let mut base: usize;
        let mut closure: &'m object::Closure;
        let mut code: &'m [u8];
        let mut consts: &'m [Slot];

        // The active frames, with what each closure caches so a return
        // need not walk closure -> function -> code again. Kept here, in
        // locals, while `execute` runs; `self.frames` holds their `ip` and
        // `base` only between calls of `execute` (`save_frame!`).
        let first = Code::of_frame(frame_closures, 0);
        let mut frames: [Frame<'m>; FRAMES_MAX] = [Frame {
            ip: 0,
            base: 0,
            code: first,
        }; FRAMES_MAX];
        let mut depth = self.frames.len();
        // The code of recently called closures, direct-mapped by address:
        // most calls hit, and skip closure -> function -> code/constants.
        // A closure's function and its code never change, and a cached
        // `Gc` keeps its address from being reused until `execute` returns.
        // (Declared before the loop filling `frames`: the other order made
        // fib ~25% slower, through the hot loop's register allocation.)
        let mut call_cache: [(Option<Gc<'m, Obj>>, Code<'m>); CALL_CACHE] =
            [(None, first); CALL_CACHE];
        for (i, (frame, saved)) in frames.iter_mut().zip(&self.frames).enumerate() {
            *frame = Frame {
                ip: saved.ip,
                base: saved.base,
                code: Code::of_frame(frame_closures, i),
            };
        }

        /// Make the top frame the running one.
        macro_rules! load_frame {
            () => {{
                let frame = frames[(depth - 1) % FRAMES_MAX];
                ip = frame.ip;
                base = frame.base;
                closure = frame.code.closure;
                code = frame.code.code;
                consts = frame.code.consts;
            }};
        }
        /// Store the running state where the rest of the VM sees it, before
        /// leaving `execute`.
        macro_rules! save_frame {
            () => {{
                frames[(depth - 1) % FRAMES_MAX].ip = ip;
                self.save_frames(&frames[..depth], sp);
            }};
        }
        macro_rules! throw {
            ($message:expr) => {{
                save_frame!();
                return Exit::Error(message($message));
            }};
        }
        macro_rules! read_byte {
            () => {{
                let b = code[ip];
                ip += 1;
                b
            }};
        }
        macro_rules! read_short {
            () => {{
                let s = u16::from_be_bytes([code[ip], code[ip + 1]]) as usize;
                ip += 2;
                s
            }};
        }
        macro_rules! read_constant {
            () => {
                consts[read_byte!() as usize].get()
            };
        }
        macro_rules! read_string {
            () => {
                read_constant!()
                    .as_obj()
                    .expect("a name constant is a string")
            };
        }
        macro_rules! peek {
            ($distance:expr) => {
                stack[sp - 1 - $distance].get()
            };
        }
        macro_rules! ensure_room {
            () => {{
                if sp == stack.len() {
                    match grow_stack(m, state, stack) {
                        Some(s) => stack = s,
                        None => throw!("Stack overflow."),
                    }
                }
            }};
        }
        macro_rules! push {
            ($value:expr) => {{
                let value = $value;
                ensure_room!();
                stack[sp].set(m, value);
                sp += 1;
            }};
        }
        /// Push a copy of the slot `$src` (not in the stack, or below `sp`).
        macro_rules! push_slot {
            ($src:expr) => {{
                ensure_room!();
                stack[sp].copy_from(m, $src);
                sp += 1;
            }};
        }
        /// Replace the two operands on top with `$result` of the numbers
        /// `$a` and `$b`, stored by the slot's `$set` (`set_number` or
        /// `set_bool`).
        macro_rules! binary {
            ($set:ident, |$a:ident, $b:ident| $result:expr) => {{
                let (Some($a), Some($b)) = (stack[sp - 2].number(), stack[sp - 1].number()) else {
                    throw!("Operands must be numbers.");
                };
                sp -= 1;
                stack[sp - 1].$set(m, $result);
            }};
        }
        /// The same with the right operand the number constant named by
        /// the operand byte; `$message` is the unfused instruction's error.
        macro_rules! binary_constant {
            ($set:ident, |$a:ident, $b:ident| $result:expr, $message:expr) => {{
                let k = read_byte!() as usize;
                let (Some($a), Some($b)) = (stack[sp - 1].number(), consts[k].number()) else {
                    throw!($message);
                };
                stack[sp - 1].$set(m, $result);
            }};
        }
        /// Enter `$callee`, a closure object, with the `$argc` arguments on
        /// top of the stack (clox's `call`): push its frame, root its
        /// closure, and switch the cached frame state to it. The call is a
        /// safepoint, taken only if the collector wants one.
        macro_rules! call_closure {
            ($callee:expr, $argc:expr) => {{
                let callee: Gc<'m, Obj> = $callee;
                let argc: usize = $argc;
                let line = &mut call_cache[call_cache_index(callee)];
                let c = match line.0 {
                    Some(cached) if Gc::ptr_eq(cached, callee) => line.1,
                    _ => {
                        let c = Code::of(Gc::as_ref(callee).closure());
                        *line = (Some(callee), c);
                        c
                    }
                };
                if argc != c.arity {
                    throw!(arity_error(c.arity, argc));
                }
                if depth == FRAMES_MAX {
                    throw!("Stack overflow.");
                }
                // Recursion often re-enters a depth with the same closure:
                // skip the store (and its barrier) then.
                let entry = &frame_closures[depth];
                if !entry.get().is_some_and(|old| Gc::ptr_eq(old, callee)) {
                    entry.set(m, Some(callee));
                }
                frames[(depth - 1) % FRAMES_MAX].ip = ip;
                ip = 0;
                base = sp - argc - 1;
                frames[depth % FRAMES_MAX] = Frame { ip, base, code: c };
                depth += 1;
                closure = c.closure;
                code = c.code;
                consts = c.consts;
                if m.safepoint_needed() {
                    save_frame!();
                    return Exit::Safepoint;
                }
            }};
        }

        /// Call any callable value (clox's `callValue`): closures, bound
        /// methods and initializers enter a frame through `call_closure!`;
        /// a native or a class without `init` completes at once, which is
        /// a safepoint too.
        macro_rules! call_value {
            ($callee:expr, $argc:expr) => {{
                let argc: usize = $argc;
                match self.prepare_call(m, state, stack, sp, $callee, argc) {
                    Ok(Call::Enter(closure)) => call_closure!(closure, argc),
                    Ok(Call::Done(new_sp)) => {
                        sp = new_sp;
                        if m.safepoint_needed() {
                            save_frame!();
                            return Exit::Safepoint;
                        }
                    }
                    Err(error) => throw!(error),
                }
            }};
        }

        /// `receiver.name` for the instance in stack slot `$receiver`
        /// (operand: the name), stored in slot `$dst`: a field, or a bound
        /// method of its class.
        macro_rules! get_property {
            ($receiver:expr, $dst:expr) => {{
                let name = read_string!();
                let receiver = stack[$receiver].get();
                let Some(instance) = receiver.obj_ref().and_then(Obj::as_instance) else {
                    throw!("Only instances have properties.");
                };
                if let Some(value) = instance.fields.get_slot(Some(name)) {
                    stack[$dst].copy_from(m, value);
                } else {
                    match bind_method(m, instance.class(), name, receiver) {
                        Some(bound) => stack[$dst].set(m, Value::Obj(bound)),
                        None => throw!(undefined_property(name)),
                    }
                }
            }};
        }
        /// `receiver.name = value` for the instance in stack slot
        /// `$receiver` (operand: the name), the value on top of the stack.
        macro_rules! set_property {
            ($receiver:expr) => {{
                let name = read_string!();
                let Some(instance) = stack[$receiver].get().obj_ref().and_then(Obj::as_instance)
                else {
                    throw!("Only instances have fields.");
                };
                let value = &stack[sp - 1];
                match instance.fields.get_slot(Some(name)) {
                    Some(field) => field.copy_from(m, value),
                    None => add_field(m, instance, name, value.get()),
                }
            }};
        }

        macro_rules! invoke_from_class {
            ($class:expr, $name:expr, $argc:expr) => {{
                let name = $name;
                match $class.methods.get(Some(name)) {
                    Some(method) => {
                        call_closure!(method.as_gc().expect("methods are closures"), $argc)
                    }
                    None => throw!(undefined_property(name)),
                }
            }};
        }

        load_frame!();
        loop {
            match read_byte!() {
                op::CONSTANT => {
                    let index = read_byte!() as usize;
                    push_slot!(&consts[index]);
                }
                op::NIL => push!(Value::Nil),
                op::TRUE => push!(Value::Bool(true)),
                op::FALSE => push!(Value::Bool(false)),
                op::POP => sp -= 1,
                op::GET_LOCAL => {
                    let slot = read_byte!() as usize;
                    ensure_room!();
                    stack[sp].copy_from(m, &stack[base + slot]);
                    sp += 1;
                }
                op::SET_LOCAL => {
                    let slot = read_byte!() as usize;
                    stack[base + slot].copy_from(m, &stack[sp - 1]);
                }
                op::GET_GLOBAL => {
                    let name = read_byte!() as usize;
                    let value = &globals[read_short!()];
                    if value.is_undefined() {
                        throw!(undefined_variable(&consts[name]));
                    }
                    push_slot!(value);
                }
                op::DEFINE_GLOBAL => {
                    ip += 1;
                    let slot = read_short!();
                    sp -= 1;
                    globals[slot].copy_from(m, &stack[sp]);
                }
                op::SET_GLOBAL => {
                    let name = read_byte!() as usize;
                    let value = &globals[read_short!()];
                    if value.is_undefined() {
                        throw!(undefined_variable(&consts[name]));
                    }
                    value.copy_from(m, &stack[sp - 1]);
                }
                op::GET_UPVALUE => {
                    let upvalue = closure.upvalue(read_byte!() as usize);
                    let value = match upvalue.location.load(Relaxed) {
                        CLOSED => upvalue.closed.get(),
                        location => stack[location].get(),
                    };
                    push!(value);
                }
                op::SET_UPVALUE => {
                    let upvalue = closure.upvalue(read_byte!() as usize);
                    match upvalue.location.load(Relaxed) {
                        CLOSED => upvalue.closed.set(m, peek!(0)),
                        location => stack[location].set(m, peek!(0)),
                    }
                }
                op::GET_PROPERTY => get_property!(sp - 1, sp - 1),
                op::SET_PROPERTY => {
                    set_property!(sp - 2);
                    // The assigned value replaces the instance as the result.
                    sp -= 1;
                    stack[sp - 1].copy_from(m, &stack[sp]);
                }
                op::GET_THIS_PROPERTY => {
                    ensure_room!();
                    get_property!(base, sp);
                    sp += 1;
                }
                op::SET_THIS_PROPERTY => set_property!(base),
                op::GET_SUPER => {
                    let name = read_string!();
                    sp -= 1;
                    let superclass = superclass_at(stack, sp);
                    match bind_method(m, superclass, name, peek!(0)) {
                        Some(bound) => stack[sp - 1].set(m, Value::Obj(bound)),
                        None => throw!(undefined_property(name)),
                    }
                }
                op::EQUAL => {
                    let equal = peek!(1).equals(peek!(0));
                    sp -= 1;
                    stack[sp - 1].set(m, Value::Bool(equal));
                }
                op::GREATER => binary!(set_bool, |a, b| a > b),
                op::LESS => binary!(set_bool, |a, b| a < b),
                // `!(a < b)`: true when either is NaN.
                op::NOT_LESS => binary!(set_bool, |a, b| a.partial_cmp(&b) != Some(Less)),
                op::NOT_GREATER => binary!(set_bool, |a, b| a.partial_cmp(&b) != Some(Greater)),
                op::LESS_CONSTANT => {
                    binary_constant!(set_bool, |a, b| a < b, "Operands must be numbers.")
                }
                op::GREATER_CONSTANT => {
                    binary_constant!(set_bool, |a, b| a > b, "Operands must be numbers.")
                }
                op::ADD => {
                    if let (Some(a), Some(b)) = (stack[sp - 2].number(), stack[sp - 1].number()) {
                        sp -= 1;
                        stack[sp - 1].set_number(m, a + b);
                        continue;
                    }
                    match self.concatenate(m, peek!(1), peek!(0)) {
                        Some(result) => {
                            sp -= 1;
                            stack[sp - 1].set(m, Value::Obj(result));
                        }
                        None => throw!("Operands must be two numbers or two strings."),
                    }
                }
                op::SUBTRACT => binary!(set_number, |a, b| a - b),
                op::ADD_CONSTANT => binary_constant!(
                    set_number,
                    |a, b| a + b,
                    "Operands must be two numbers or two strings."
                ),
                op::SUBTRACT_CONSTANT => {
                    binary_constant!(set_number, |a, b| a - b, "Operands must be numbers.")
                }
                op::MULTIPLY => binary!(set_number, |a, b| a * b),
                op::DIVIDE => binary!(set_number, |a, b| a / b),
                op::NOT => {
                    let falsey = stack[sp - 1].is_falsey();
                    stack[sp - 1].set_bool(m, falsey);
                }
                op::NEGATE => match peek!(0) {
                    Value::Number(n) => stack[sp - 1].set(m, Value::Number(-n)),
                    _ => throw!("Operand must be a number."),
                },
                op::PRINT => {
                    sp -= 1;
                    self.print(stack[sp].get());
                }
                op::JUMP => {
                    let offset = read_short!();
                    ip += offset;
                }
                op::POP_JUMP_IF_FALSE => {
                    let offset = read_short!();
                    sp -= 1;
                    if stack[sp].is_falsey() {
                        ip += offset;
                    }
                }
                op::JUMP_IF_FALSE => {
                    let offset = read_short!();
                    if stack[sp - 1].is_falsey() {
                        ip += offset;
                    }
                }
                op::LOOP => {
                    let offset = read_short!();
                    ip -= offset;
                    if m.safepoint_needed() {
                        save_frame!();
                        return Exit::Safepoint;
                    }
                }
                op::CALL => {
                    let argc = read_byte!() as usize;
                    let callee = peek!(argc);
                    match callee.as_obj() {
                        Some(obj) if obj.as_closure().is_some() => call_closure!(obj, argc),
                        _ => call_value!(callee, argc),
                    }
                }
                op::INVOKE => {
                    // `receiver.name(args)` without making a bound method
                    // (clox's `invoke`).
                    let name = read_string!();
                    let argc = read_byte!() as usize;
                    let receiver = peek!(argc);
                    let Some(instance) = receiver.obj_ref().and_then(Obj::as_instance) else {
                        throw!("Only instances have methods.");
                    };
                    // A field holding a callable shadows a method of the
                    // same name.
                    if let Some(field) = instance.fields.get_slot(Some(name)) {
                        let field = field.get();
                        stack[sp - 1 - argc].set(m, field);
                        call_value!(field, argc);
                    } else {
                        invoke_from_class!(instance.class(), name, argc);
                    }
                }
                op::SUPER_INVOKE => {
                    let name = read_string!();
                    let argc = read_byte!() as usize;
                    sp -= 1;
                    let superclass = superclass_at(stack, sp);
                    invoke_from_class!(superclass, name, argc);
                }
                op::CLOSURE => {
                    let function = read_constant!()
                        .as_obj()
                        .expect("a closure's constant is a function");
                    let (new, next) = make_closure(m, state, closure, code, ip, base, function);
                    ip = next;
                    push!(Value::Obj(new));
                }
                op::CLOSE_UPVALUE => {
                    close_upvalues(m, state, stack, sp - 1);
                    sp -= 1;
                }
                op::RETURN => {
                    let result = sp - 1;
                    if !state.open_upvalues.is_null() {
                        close_upvalues(m, state, stack, base);
                    }
                    depth -= 1;
                    if depth == 0 {
                        self.frames.clear();
                        self.sp = 0;
                        return Exit::Done;
                    }
                    // The caller's slots are below `base`, so no growth.
                    sp = base;
                    stack[sp].copy_from(m, &stack[result]);
                    sp += 1;
                    load_frame!();
                }
                op::CLASS => {
                    let name = read_string!();
                    push!(Value::Obj(object::new_class(m, name)));
                }
                op::INHERIT => {
                    if !inherit(m, peek!(1), peek!(0)) {
                        throw!("Superclass must be a class.");
                    }
                    sp -= 1;
                }
                op::METHOD => {
                    let name = read_string!();
                    define_method(m, name, peek!(1), peek!(0));
                    sp -= 1;
                }
                other => unreachable!("invalid opcode {other}"),
            }
        }
    }

    /// Keep the frames and stack top of an `execute` that is returning.
    #[inline(never)]
    fn save_frames(&mut self, frames: &[Frame<'_>], sp: usize) {
        self.frames.clear();
        self.frames.extend(frames.iter().map(|f| CallFrame {
            ip: f.ip,
            base: f.base,
        }));
        self.sp = sp;
    }

    /// String concatenation (the cold half of `ADD`); `None` unless both
    /// operands are strings.
    #[inline(never)]
    fn concatenate<'m>(
        &mut self,
        m: &'m Mutator,
        a: Value<'m>,
        b: Value<'m>,
    ) -> Option<Gc<'m, Obj>> {
        let a = a.obj_ref()?.as_string()?;
        let b = b.obj_ref()?.as_string()?;
        // Built in a reused buffer: the string object copies the bytes into
        // the heap if they are new.
        self.scratch.clear();
        self.scratch.push_str(a.text());
        self.scratch.push_str(b.text());
        Some(self.strings.intern(m, &self.scratch))
    }

    #[inline(never)]
    fn print(&mut self, value: Value<'_>) {
        // As clox, output errors (a closed pipe) are ignored.
        let _ = match value.obj_ref().and_then(Obj::as_string) {
            Some(s) => self
                .out
                .write_all(s.bytes())
                .and_then(|_| self.out.write_all(b"\n")),
            None => writeln!(self.out, "{value}"),
        };
    }

    /// The non-closure half of clox's `callValue` for `callee` with the
    /// `argc` arguments on top of the stack: put the receiver or the new
    /// instance in the callee's slot and say which closure to enter, or
    /// run a native (or an initializer-less class) to completion.
    #[inline(never)]
    fn prepare_call<'m>(
        &self,
        m: &'m Mutator,
        state: &'m VmState,
        stack: &'m GcArray<Slot>,
        sp: usize,
        callee: Value<'m>,
        argc: usize,
    ) -> Result<Call<'m>, String> {
        let Value::Obj(obj) = callee else {
            return Err("Can only call functions and classes.".to_string());
        };
        match Gc::as_ref(obj) {
            Obj::Closure(_) => Ok(Call::Enter(obj)),
            Obj::BoundMethod(bound) => {
                stack[sp - 1 - argc].set(m, bound.receiver.get());
                let method = bound.method.get().expect("a bound method has a method");
                Ok(Call::Enter(method))
            }
            Obj::Class(class) => {
                // The new instance replaces the class as slot 0 (`this`).
                let instance = object::new_instance(m, obj);
                stack[sp - 1 - argc].set(m, Value::Obj(instance));
                let init = state.init_string.get().expect("the VM has \"init\"");
                match class.methods.get(Some(init)) {
                    Some(initializer) => Ok(Call::Enter(
                        initializer.as_gc().expect("methods are closures"),
                    )),
                    None if argc != 0 => Err(arity_error(0, argc)),
                    None => Ok(Call::Done(sp - argc)),
                }
            }
            Obj::Native(native) => {
                let result = self.call_native(native.function);
                let sp = sp - argc - 1;
                stack[sp].set(m, result);
                Ok(Call::Done(sp + 1))
            }
            _ => Err("Can only call functions and classes.".to_string()),
        }
    }

    fn call_native(&self, function: NativeFn) -> Value<'static> {
        match function {
            // clox's clock() is processor time; seconds since the VM started
            // serve the same purpose (timing a benchmark) portably.
            NativeFn::Clock => Value::Number(self.started.elapsed().as_secs_f64()),
        }
    }

    /// Report a runtime error with clox's stack trace, then reset the stack.
    fn runtime_error(&mut self, m: &Mutator, message: &str) {
        let _ = self.out.flush();
        let state = Gc::as_ref(self.state.get(m));
        let mut report = format!("{message}\n");
        for (depth, frame) in self.frames.iter().enumerate().rev() {
            let function = Gc::as_ref(
                state.frames()[depth]
                    .get()
                    .expect("an active frame has a closure"),
            )
            .closure()
            .function();
            // `ip` is past the failing instruction (and its operands).
            let line = function.line(frame.ip.saturating_sub(1));
            match function.name.get() {
                None => report.push_str(&format!("[line {line}] in script\n")),
                Some(name) => {
                    report.push_str(&format!("[line {line}] in {}()\n", name.string().text()))
                }
            }
        }
        eprint!("{report}");
        self.sp = 0;
        self.frames.clear();
        state.open_upvalues.set(m, None);
    }
}

#[cold]
#[inline(never)]
fn undefined_variable(name: &Slot) -> String {
    let name = name.get().obj_ref().expect("a variable name is a string");
    format!("Undefined variable '{}'.", name.string().text())
}

fn undefined_property(name: Gc<'_, Obj>) -> String {
    format!("Undefined property '{}'.", name.string().text())
}

/// The class the compiler left at `stack[sp]` for `super` accesses.
fn superclass_at(stack: &GcArray<Slot>, sp: usize) -> &Class {
    stack[sp]
        .get()
        .obj_ref()
        .expect("'super' is a class")
        .class()
}

/// A bound method for `class.name` on `receiver`, or `None` if the class
/// has no such method.
fn bind_method<'m>(
    m: &'m Mutator,
    class: &'m Class,
    name: Gc<'_, Obj>,
    receiver: Value<'m>,
) -> Option<Gc<'m, Obj>> {
    let method = class.methods.get(Some(name))?.as_gc()?;
    Some(object::new_bound_method(m, receiver, method))
}

/// The open upvalue for stack slot `local`, creating it if needed.
fn capture_upvalue<'m>(m: &'m Mutator, state: &'m VmState, local: usize) -> Gc<'m, Obj> {
    let mut prev: Option<&'m object::Upvalue> = None;
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
fn close_upvalues(m: &Mutator, state: &VmState, stack: &GcArray<Slot>, last: usize) {
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

/// Move the stack to an array twice as large, and return that array (the
/// old one is no longer the stack's); `None` at clox's limit.
#[cold]
#[inline(never)]
fn grow_stack<'m>(
    m: &'m Mutator,
    state: &'m VmState,
    old: &GcArray<Slot>,
) -> Option<&'m GcArray<Slot>> {
    if old.len() >= STACK_MAX {
        return None;
    }
    let stack = &state.stack;
    // `reserve` doubles the capacity (copying the slots into the new
    // array, which replaces the old one with a barriered store); the
    // length follows it, so that the whole array is the stack again.
    stack.reserve(m, (old.len() * 2).min(STACK_MAX) - stack.len());
    stack.resize(m, stack.capacity(), Slot::nil_word());
    Some(state.stack())
}

/// A runtime error's message, built out of line to keep `execute` small.
#[cold]
#[inline(never)]
fn message<S: Into<String>>(message: S) -> String {
    message.into()
}

#[cold]
#[inline(never)]
fn arity_error(arity: usize, argc: usize) -> String {
    format!("Expected {arity} arguments but got {argc}.")
}

/// `CLOSURE`: a new closure of `function`, capturing the upvalues its
/// operands (from `ip` in `code`) name; returns it and the next `ip`.
#[inline(never)]
fn make_closure<'m>(
    m: &'m Mutator,
    state: &'m VmState,
    enclosing: &'m object::Closure,
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

/// `INHERIT`: copy `superclass`'s methods into `subclass`; false if the
/// superclass is not a class.
#[inline(never)]
fn inherit(m: &Mutator, superclass: Value<'_>, subclass: Value<'_>) -> bool {
    let Some(superclass) = superclass.obj_ref().and_then(Obj::as_class) else {
        return false;
    };
    let subclass = subclass.obj_ref().expect("OP_INHERIT on a class").class();
    // Copy-down inheritance: methods defined later in the subclass
    // overwrite the copies.
    for (name, method) in superclass.methods.iter() {
        subclass.methods.insert(m, name, method);
    }
    true
}

/// `METHOD`: add `method` to `class` as `name`.
#[inline(never)]
fn define_method(m: &Mutator, name: Gc<'_, Obj>, class: Value<'_>, method: Value<'_>) {
    let class = class.obj_ref().expect("OP_METHOD on a class").class();
    class.methods.insert(m, Some(name), method.word());
}

/// `SET_PROPERTY` of a field the instance does not have yet.
#[inline(never)]
fn add_field(m: &Mutator, instance: &object::Instance, name: Gc<'_, Obj>, value: Value<'_>) {
    instance.fields.insert(m, Some(name), value.word());
}
