//! Lox values, in the two places they live.
//!
//! - `Value<'m>` is what the Rust code passes around between safepoints: a
//!   plain enum whose object case is an unrooted `Gc<'m, Obj>`. It can never
//!   be held across `Mutator::safepoint` (the borrow checker sees to that).
//! - `Slot` is a value stored *inside* the GC heap (stack slots, constants,
//!   table entries, closed upvalues, a bound method's receiver). The marker
//!   may read it while the VM runs, so both halves are atomics: an object
//!   pointer in a `Member<Obj>` (written through the write barrier) and
//!   everything else NaN-boxed in an `AtomicU64`.
//!
//! A slot holds an object exactly when its member is non-null. Storing a
//! non-object clears the member, so a dead object is not kept alive by a
//! slot that has since been overwritten with a number.

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

use tricolor::{Gc, Member, Mutator, Trace};

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
    /// Lox truthiness: only `nil` and `false` are false.
    #[inline]
    pub fn is_falsey(self) -> bool {
        matches!(self, Value::Nil | Value::Bool(false))
    }

    /// clox's `valuesEqual`: numbers by IEEE equality (so `nan != nan`),
    /// objects by identity (strings are interned, so identity is equality).
    #[inline]
    pub fn equals(self, other: Value<'_>) -> bool {
        match (self, other) {
            (Value::Nil, Value::Nil) => true,
            (Value::Bool(a), Value::Bool(b)) => a == b,
            (Value::Number(a), Value::Number(b)) => a == b,
            (Value::Obj(a), Value::Obj(b)) => Gc::ptr_eq(a, b),
            _ => false,
        }
    }

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
        self.as_obj().map(Gc::get)
    }
}

impl fmt::Display for Value<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Value::Nil => f.write_str("nil"),
            Value::Bool(b) => write!(f, "{b}"),
            Value::Number(n) => f.write_str(&format_number(n)),
            Value::Obj(o) => fmt::Display::fmt(o.get(), f),
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

// NaN-boxing of the non-object values in a slot's `bits`. Numbers are their
// own IEEE bits; nil and the booleans are quiet NaNs with payloads no
// arithmetic produces (and `Slot::set` canonicalises a NaN that would
// collide, so a number never reads back as nil or a boolean).
const QNAN: u64 = 0x7ffc_0000_0000_0000;
const TAG_NIL: u64 = QNAN | 1;
const TAG_FALSE: u64 = QNAN | 2;
const TAG_TRUE: u64 = QNAN | 3;

/// A Lox value stored inside a GC object.
#[derive(Trace)]
pub struct Slot {
    bits: AtomicU64,
    obj: Member<Obj>,
}

impl Slot {
    /// A slot holding `nil` (slots are created empty: a `Member` can only be
    /// set once it is inside the heap).
    pub fn nil() -> Slot {
        Slot {
            bits: AtomicU64::new(TAG_NIL),
            obj: Member::null(),
        }
    }

    /// The value, valid as long as the borrow of the slot.
    #[inline(always)]
    pub fn get(&self) -> Value<'_> {
        if let Some(o) = self.obj.get() {
            return Value::Obj(o);
        }
        match self.bits.load(Relaxed) {
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
        let bits = self.bits.load(Relaxed);
        if self.obj.is_null() && (bits & !3 != QNAN || bits == QNAN) {
            Some(f64::from_bits(bits))
        } else {
            None
        }
    }

    /// Copy `src` into this slot (`set(m, src.get())`, without decoding
    /// the value and encoding it again).
    #[inline(always)]
    pub fn copy_from(&self, m: &Mutator, src: &Slot) {
        match src.obj.get() {
            Some(o) => {
                if !self.obj.get().is_some_and(|old| Gc::ptr_eq(old, o)) {
                    self.obj.set(m, Some(o));
                }
            }
            None => self.set_bits(m, src.bits.load(Relaxed)),
        }
    }

    /// Store the number `n` (`set(m, Value::Number(n))`, without the match).
    #[inline(always)]
    pub fn set_number(&self, m: &Mutator, n: f64) {
        self.set_bits(m, canonical_bits(n));
    }

    /// Store a boolean.
    #[inline(always)]
    pub fn set_bool(&self, m: &Mutator, b: bool) {
        self.set_bits(m, if b { TAG_TRUE } else { TAG_FALSE });
    }

    #[inline(always)]
    fn set_bits(&self, m: &Mutator, bits: u64) {
        self.bits.store(bits, Relaxed);
        if !self.obj.is_null() {
            self.obj.set(m, None);
        }
    }

    /// Store `value` (through the write barrier for objects).
    #[inline(always)]
    pub fn set(&self, m: &Mutator, value: Value<'_>) {
        let bits = match value {
            Value::Obj(o) => {
                // Re-storing the same object is common on the stack (`this`
                // pushed statement after statement); skip the barrier then.
                if !self.obj.get().is_some_and(|old| Gc::ptr_eq(old, o)) {
                    self.obj.set(m, Some(o));
                }
                return;
            }
            Value::Nil => TAG_NIL,
            Value::Bool(false) => TAG_FALSE,
            Value::Bool(true) => TAG_TRUE,
            Value::Number(n) => canonical_bits(n),
        };
        self.set_bits(m, bits);
    }
}

/// The bits of `n`, with a NaN that would read back as nil or a boolean
/// replaced by the default NaN.
#[inline(always)]
fn canonical_bits(n: f64) -> u64 {
    let bits = n.to_bits();
    if bits & !3 == QNAN && bits != QNAN {
        f64::NAN.to_bits()
    } else {
        bits
    }
}
