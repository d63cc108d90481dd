//! Lox values, in the two places they live.
//!
//! - `Value<'m>` is what the Rust code passes around between safepoints: a
//!   plain enum whose object case is an unrooted `Gc<'m, Obj>`. It can never
//!   be held across `Mutator::safepoint` (the borrow checker sees to that).
//! - `Slot` is a value stored *inside* the GC heap (stack slots, constants,
//!   table entries, closed upvalues, a bound method's receiver): one
//!   NaN-boxed word in the collector's `NanBox`, which the marker reads
//!   while the VM runs and which every store updates through the write
//!   barrier (a number overwriting an object included). It is also the
//!   collector's `Slot`, with the raw word as its value, so that the
//!   library's containers can hold Lox values (fields and methods in a
//!   `GcMap`; the stack and the globals grow with `GcArray::resized`).

use std::fmt;

use tricolor::{Gc, Mutator, NanBox, NanValue, Trace};

use crate::object::Obj;

/// A Lox value outside the heap, valid until the next safepoint.
#[derive(Clone, Copy)]
pub enum Value<'m> {
    Nil,
    Bool(bool),
    Number(f64),
    Obj(Gc<'m, Obj>),
}

impl<'m> Value<'m> {
    /// The object, if the value is one.
    #[inline]
    pub fn as_obj(self) -> Option<Gc<'m, Obj>> {
        match self {
            Value::Obj(o) => Some(o),
            _ => None,
        }
    }

    /// The referenced object for the whole of `'m`, if the value is one.
    #[inline]
    pub fn obj_ref(self) -> Option<&'m Obj> {
        self.as_obj().map(Gc::as_ref)
    }

    /// The value as a slot word.
    #[inline(always)]
    pub fn word(self) -> NanValue<'m, Obj> {
        match self {
            Value::Obj(o) => NanValue::from_gc(o),
            Value::Nil => NanValue::from_bits(TAG_NIL),
            Value::Bool(false) => NanValue::from_bits(TAG_FALSE),
            Value::Bool(true) => NanValue::from_bits(TAG_TRUE),
            Value::Number(n) => NanValue::from_f64(n),
        }
    }
}

impl fmt::Display for Value<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Value::Nil => f.write_str("nil"),
            Value::Bool(b) => write!(f, "{b}"),
            Value::Number(n) => f.write_str(&format_number(n)),
            Value::Obj(o) => fmt::Display::fmt(Gc::as_ref(o), f),
        }
    }
}

/// Format a number as C's `printf("%g", n)` does, which is how clox prints
/// numbers: six significant digits, trailing zeros removed, exponent form
/// outside `1e-4 <= |n| < 1e6`, and glibc's spellings of the specials.
pub fn format_number(n: f64) -> String {
    if n.is_nan() {
        return if n.is_sign_negative() { "-nan" } else { "nan" }.to_string();
    }
    if n.is_infinite() {
        return if n < 0.0 { "-inf" } else { "inf" }.to_string();
    }
    if n == 0.0 {
        return if n.is_sign_negative() { "-0" } else { "0" }.to_string();
    }
    // Fast path for the common case: small integers print as themselves.
    if n.fract() == 0.0 && n.abs() < 1e6 {
        return format!("{}", n as i64);
    }
    // %g picks the style from the exponent the number has once rounded to
    // six significant digits, which `{:.5e}` computes for us.
    let sci = format!("{n:.5e}");
    let (mantissa, exp) = sci.split_once('e').expect("{:e} has an exponent");
    let exp: i32 = exp.parse().expect("{:e} exponent is an integer");
    if !(-4..6).contains(&exp) {
        let sign = if exp < 0 { '-' } else { '+' };
        format!("{}e{sign}{:02}", strip_zeros(mantissa), exp.unsigned_abs())
    } else {
        let decimals = (5 - exp) as usize;
        strip_zeros(&format!("{n:.decimals$}")).to_string()
    }
}

/// Drop trailing fractional zeros and then a trailing point, as `%g` does.
fn strip_zeros(s: &str) -> &str {
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.')
    } else {
        s
    }
}

// The NaN-boxing of a slot's word. Objects are the collector's pointer
// words (`NanValue::from_gc`, top 16 bits 0xFFFC); numbers are their own
// IEEE bits, every NaN as the default NaN `0x7FF8…` (`NanValue::from_f64`);
// nil and the booleans are quiet NaNs with other payloads. So a word is a
// number exactly when its `QNAN` bits are not all set.
const QNAN: u64 = 0x7ffc_0000_0000_0000;
const TAG_NIL: u64 = QNAN | 1;
const TAG_FALSE: u64 = QNAN | 2;
const TAG_TRUE: u64 = QNAN | 3;
/// A global variable slot not defined yet (see `globals.rs`). Never read
/// as a value: the VM checks for it first.
const TAG_UNDEFINED: u64 = QNAN | 4;

/// A Lox value stored inside a GC object: one word the collector traces.
#[derive(Trace)]
pub struct Slot {
    word: NanBox<Obj>,
}

impl Slot {
    /// A slot holding `nil`.
    pub fn nil() -> Slot {
        Slot {
            word: NanBox::from_bits(TAG_NIL),
        }
    }

    /// A slot holding `value`, to be moved into an object about to be
    /// allocated, as `NanBox::new` (a pointer in it must be inside an
    /// allocated object by the next safepoint).
    pub fn of(value: Value<'_>) -> Slot {
        Slot {
            word: NanBox::new(value.word()),
        }
    }

    /// Whether this is a global slot not defined yet.
    #[inline(always)]
    pub fn is_undefined(&self) -> bool {
        self.word.get().bits() == TAG_UNDEFINED
    }

    /// The value, valid as long as the borrow of the slot.
    #[inline(always)]
    pub fn get(&self) -> Value<'_> {
        let word = self.word.get();
        if let Some(o) = word.as_gc() {
            return Value::Obj(o);
        }
        match word.bits() {
            TAG_NIL => Value::Nil,
            TAG_FALSE => Value::Bool(false),
            TAG_TRUE => Value::Bool(true),
            bits => Value::Number(f64::from_bits(bits)),
        }
    }

    /// The number in the slot, if it holds one (the interpreter's fast
    /// path for arithmetic and comparisons).
    #[inline(always)]
    pub fn number(&self) -> Option<f64> {
        let bits = self.word.get().bits();
        (bits & QNAN != QNAN).then(|| f64::from_bits(bits))
    }

    /// Lox truthiness of the slot's value (only `nil` and `false` are
    /// false), from the word alone.
    #[inline(always)]
    pub fn is_falsey(&self) -> bool {
        matches!(self.word.get().bits(), TAG_NIL | TAG_FALSE)
    }

    /// clox's `valuesEqual` on the words, without decoding them: numbers
    /// by IEEE equality (so `nan != nan`, `0 == -0`), objects by identity
    /// (strings are interned, so identity is equality). Equal words are
    /// equal values except the NaN number (every NaN is stored as the one
    /// canonical NaN), and unequal words are equal values only as 0 and -0
    /// (every other value has one word).
    #[inline(always)]
    pub fn equals(&self, other: &Slot) -> bool {
        let (a, b) = (self.word.get().bits(), other.word.get().bits());
        if a == b {
            a != NanValue::<Obj>::from_f64(f64::NAN).bits()
        } else {
            (a | b) << 1 == 0
        }
    }

    /// Copy `src` into this slot (`set(m, src.get())`, without decoding
    /// the value: a slot of the heap needs no check of what it holds).
    #[inline(always)]
    pub fn copy_from(&self, m: &Mutator, src: &Slot) {
        self.word.copy_from(m, &src.word);
    }

    /// Store the number `n` (`set(m, Value::Number(n))`, without the match).
    #[inline(always)]
    pub fn set_number(&self, m: &Mutator, n: f64) {
        self.word.set_f64(m, n);
    }

    /// Store nil.
    #[inline(always)]
    pub fn set_nil(&self, m: &Mutator) {
        self.word.set_bits(m, TAG_NIL);
    }

    /// Store a boolean.
    #[inline(always)]
    pub fn set_bool(&self, m: &Mutator, b: bool) {
        self.word.set_bits(m, if b { TAG_TRUE } else { TAG_FALSE });
    }

    /// Store `value` (through the write barrier for objects).
    #[inline(always)]
    pub fn set(&self, m: &Mutator, value: Value<'_>) {
        self.word.set(m, value.word());
    }

    /// The word of `nil`.
    pub fn nil_word() -> NanValue<'static, Obj> {
        NanValue::from_bits(TAG_NIL)
    }

    /// The word of a global slot no definition has run for yet.
    pub fn undefined_word() -> NanValue<'static, Obj> {
        NanValue::from_bits(TAG_UNDEFINED)
    }
}

/// The library's view of a slot: its raw word (the inherent `get`/`set`
/// above decode and encode Lox values, and take precedence in method
/// calls).
impl tricolor::Slot for Slot {
    type Value<'a> = NanValue<'a, Obj>;

    fn null() -> Slot {
        Slot::nil()
    }

    fn new(word: NanValue<'_, Obj>) -> Slot {
        Slot {
            word: NanBox::new(word),
        }
    }

    #[inline(always)]
    fn get(&self) -> NanValue<'_, Obj> {
        self.word.get()
    }

    #[inline(always)]
    fn set(&self, m: &Mutator, word: NanValue<'_, Obj>) {
        self.word.set(m, word);
    }
}
