//! The virtual machine: clox's `run()` loop over the byte code, with all of
//! its state that points into the GC heap kept in the heap itself.
//!
//! This file has the VM's root, its entry points (`interpret`, and `run`,
//! which takes the safepoints), the stack's growth and runtime errors. The
//! interpreter loop is `dispatch.rs`; the instructions' semantics are
//! there and in `calls.rs` (calls and returns), `upvalues.rs` (closures
//! and captured variables) and `classes.rs` (classes, instances,
//! properties).
//!
//! Rooting. Everything the VM must keep across a safepoint is reachable
//! from one root, a `VmState` object: the value stack (a `GcVec<Slot>`),
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
//! top is `sp`, kept by `execute`, not the vector's length: the vector is kept
//! exactly as long as its backing array (every slot above `sp` holds a
//! dead value or nil), so `execute` can hold that array itself
//! (`GcVec::as_array`), one word in a register where a slice would take
//! two, which measurably slows the dispatch loop. It borrows the array
//! again only after growing the stack (`grow_stack`), the one place the
//! vector moves to a new array; every store into it is a slot's barriered
//! `set`, and the growth switches arrays with a barriered store.

mod calls;
mod classes;
mod dispatch;
mod upvalues;

use std::io::{self, BufWriter, Stdout, Write};
use std::time::Instant;

use tricolor::{Gc, GcArray, GcVec, Member, Mutator, Root, Trace};

use crate::compiler;
use crate::globals::{self, GlobalNames};
use crate::object::{self, NativeFn, Obj};
use crate::strings::Interner;
use crate::value::{Slot, Value};

/// clox's limits: call depth, and the stack a full set of frames can use.
pub const FRAMES_MAX: usize = 64;
pub const STACK_MAX: usize = FRAMES_MAX * 256;
const INITIAL_STACK: usize = 256;
// The stack doubles from INITIAL_STACK, and lands on STACK_MAX exactly.
const _: () = assert!((STACK_MAX / INITIAL_STACK).is_power_of_two());
const _: () = assert!(STACK_MAX % INITIAL_STACK == 0);

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

/// Why `execute` returns. Inside it, the `Err` of an instruction that
/// leaves the loop.
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
    /// The active frames, kept here between runs of `execute`, which holds
    /// them in locals while it runs.
    frames: Vec<CallFrame>,
    /// Stack top, the index of the first free slot, between runs of
    /// `execute`.
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

/// A runtime error leaving `execute`, its message built out of line to
/// keep the loop small.
#[cold]
#[inline(never)]
fn error<S: Into<String>>(message: S) -> Exit {
    Exit::Error(message.into())
}
