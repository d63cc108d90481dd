//! Byte code: the instruction set and the chunk the compiler builds.
//!
//! The instruction set is clox's, one byte per opcode followed by its
//! operands (a constant or slot index byte, a 16-bit big-endian jump
//! offset, or an argument count), plus a few fused instructions for common
//! pairs (as CPython's and Lua's compilers do): `this.name` reads and
//! writes, arithmetic and comparison with a number literal on the right,
//! `==` with a literal on the right, `>=`/`<=` without a separate `NOT`, a
//! conditional jump that pops its condition on both paths, and returning
//! nil. Each behaves exactly as the sequence it
//! replaces, errors and their lines included. Global variable
//! instructions carry a two-byte slot number after the name constant (see
//! `globals.rs`). Opcodes are plain `u8`
//! constants rather than an enum so the VM can `match` on the raw byte
//! without converting it.
//!
//! While a function is compiled its chunk is a `ChunkBuilder`, ordinary
//! Rust vectors whose constants are unrooted `Value`s: compilation never
//! reaches a safepoint, so nothing it allocates can be collected before
//! `object::new_function` moves the constants into the heap.

use crate::value::Value;

pub mod op {
    pub const CONSTANT: u8 = 0;
    pub const NIL: u8 = 1;
    pub const TRUE: u8 = 2;
    pub const FALSE: u8 = 3;
    pub const POP: u8 = 4;
    pub const GET_LOCAL: u8 = 5;
    pub const SET_LOCAL: u8 = 6;
    pub const GET_GLOBAL: u8 = 7;
    pub const DEFINE_GLOBAL: u8 = 8;
    pub const SET_GLOBAL: u8 = 9;
    pub const GET_UPVALUE: u8 = 10;
    pub const SET_UPVALUE: u8 = 11;
    pub const GET_PROPERTY: u8 = 12;
    pub const SET_PROPERTY: u8 = 13;
    pub const GET_SUPER: u8 = 14;
    pub const EQUAL: u8 = 15;
    pub const GREATER: u8 = 16;
    pub const LESS: u8 = 17;
    pub const ADD: u8 = 18;
    pub const SUBTRACT: u8 = 19;
    pub const MULTIPLY: u8 = 20;
    pub const DIVIDE: u8 = 21;
    pub const NOT: u8 = 22;
    pub const NEGATE: u8 = 23;
    pub const PRINT: u8 = 24;
    pub const JUMP: u8 = 25;
    pub const JUMP_IF_FALSE: u8 = 26;
    pub const LOOP: u8 = 27;
    pub const CALL: u8 = 28;
    pub const INVOKE: u8 = 29;
    pub const SUPER_INVOKE: u8 = 30;
    pub const CLOSURE: u8 = 31;
    pub const CLOSE_UPVALUE: u8 = 32;
    pub const RETURN: u8 = 33;
    pub const CLASS: u8 = 34;
    pub const INHERIT: u8 = 35;
    pub const METHOD: u8 = 36;
    /// `this.name` (`GET_LOCAL 0` + `GET_PROPERTY`), operand the name.
    pub const GET_THIS_PROPERTY: u8 = 37;
    /// `this.name = value` with only the value on the stack; leaves it.
    pub const SET_THIS_PROPERTY: u8 = 38;
    /// `CONSTANT k` + the operation, for a number constant `k`.
    pub const ADD_CONSTANT: u8 = 39;
    pub const SUBTRACT_CONSTANT: u8 = 40;
    pub const LESS_CONSTANT: u8 = 41;
    pub const GREATER_CONSTANT: u8 = 42;
    /// `LESS` + `NOT` (`>=`) and `GREATER` + `NOT` (`<=`): as in clox,
    /// `a >= b` is `!(a < b)`, which differs from IEEE `>=` for NaN.
    pub const NOT_LESS: u8 = 43;
    pub const NOT_GREATER: u8 = 44;
    /// `JUMP_IF_FALSE` whose condition is popped on both paths (an `if`
    /// or loop condition: the `POP` after the jump and at its target).
    pub const POP_JUMP_IF_FALSE: u8 = 45;
    /// `NIL` + `RETURN`: a function's implicit return, and `return;`.
    pub const RETURN_NIL: u8 = 46;
    /// A literal + `EQUAL` (`x == 0`, `s == "a"`, `node == nil`), operand
    /// the literal's constant (nil and the booleans get one).
    pub const EQUAL_CONSTANT: u8 = 47;
}

/// A chunk under construction.
#[derive(Default)]
pub struct ChunkBuilder<'m> {
    pub code: Vec<u8>,
    /// The source line of each byte in `code`.
    pub lines: Vec<u32>,
    pub constants: Vec<Value<'m>>,
}

impl<'m> ChunkBuilder<'m> {
    pub fn write(&mut self, byte: u8, line: u32) {
        self.code.push(byte);
        self.lines.push(line);
    }

    /// Drop the bytes from `len` on (to replace them by a fused
    /// instruction; no jump may target inside them).
    pub fn truncate(&mut self, len: usize) {
        self.code.truncate(len);
        self.lines.truncate(len);
    }

    /// Append a constant and return its index (the caller enforces the
    /// 256-constant limit of the one-byte operand).
    pub fn add_constant(&mut self, value: Value<'m>) -> usize {
        self.constants.push(value);
        self.constants.len() - 1
    }
}
