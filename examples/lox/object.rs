//! Heap objects: every Lox object is one `Obj` in the GC heap.
//!
//! A single enum (rather than one GC type per kind) because a `Slot` or a
//! table entry must be able to point at any kind of object through one
//! `Member<Obj>`. Variants keep their GC pointers in `Member`s and their
//! mutable scalars in atomics: the marker may read an object while the VM
//! runs, and GC objects must be `Send + Sync` for `Member<Obj>` to be.
//! Variable-length parts (constants, upvalue arrays, string bytes, byte
//! code) are separate `GcArray` objects; methods are the library's
//! `GcMap`, keyed by interned strings (identity), and an instance's fields
//! are an array of values indexed through a shared shape (`shape.rs`).
//! Keeping even the pointer-free ones in the GC heap rather than in `Box`es
//! means `Obj` has no destructor, so the sweeper frees dead objects without
//! calling into them, and all of a program's memory counts towards the
//! pacer's heap goal.
//!
//! Two ways to give an object its pointers, chosen by how often it is made:
//! - objects made once (functions, at compile time; classes) are built
//!   with them: `m.alloc(Obj::Class(Class { name: name.into(), .. }))`
//!   (`into` makes a `Member` the allocation publishes, `Slot::of` a value
//!   slot);
//! - objects a program makes at run time in bulk (strings, instances,
//!   closures, bound methods, upvalues) are allocated with null pointers
//!   that are `set` once the object is in the heap. Publishing pointers
//!   given at construction traces the new object, which costs more than
//!   the stores: building them that way made binary_trees and strings
//!   about 6% slower.
//!
//! The constructors the interpreter loop calls are kept out of line:
//! inlined there, their allocation code takes registers from the whole loop
//! (measured: fib ran 10% more instructions, most in the loop's barrier
//! checks).

use std::fmt;
use std::sync::atomic::AtomicUsize;

use tricolor::{Gc, GcArray, GcMap, GcStr, Member, Mutator, Plain, Trace};

use crate::chunk::ChunkBuilder;
use crate::shape::Shape;
use crate::value::{Slot, Value};

/// A class's methods by name. Names are interned strings, so the map's
/// identity keys are string equality, as clox's table compares pointers.
pub type Table = GcMap<Member<Obj>, Slot>;

// Every object fits a 64-byte slot (see `Class`).
const _: () = assert!(std::mem::size_of::<Obj>() <= 64);

#[derive(Trace)]
pub enum Obj {
    String(LoxString),
    Function(Function),
    Native(Native),
    Closure(Closure),
    Upvalue(Upvalue),
    Class(Class),
    Instance(Instance),
    BoundMethod(BoundMethod),
}

/// An immutable, interned string (see `strings.rs`): two Lox strings are
/// equal exactly when they are the same object.
///
/// The characters are a separate `GcStr` rather than a `Box<str>` so that
/// they count towards the GC heap: the pacer only sees memory the
/// collector allocated, and a string-heavy program would otherwise grow
/// its malloc heap without ever triggering a collection.
#[derive(Trace)]
pub struct LoxString {
    text: Member<GcStr>,
}

impl LoxString {
    #[inline]
    pub fn bytes(&self) -> &[u8] {
        self.text().as_bytes()
    }

    /// The text.
    #[inline]
    pub fn text(&self) -> &str {
        Gc::as_ref(self.text.get().expect("a string has its text")).as_str()
    }
}

/// A compiled function: byte code plus its constants.
#[derive(Trace)]
pub struct Function {
    pub arity: usize,
    pub upvalue_count: usize,
    /// `None` for the top-level script.
    pub name: Member<Obj>,
    pub code: Member<GcArray<u8>>,
    /// The source line of each byte of `code`, for runtime error traces.
    pub lines: Member<GcArray<u32>>,
    pub constants: Member<GcArray<Slot>>,
}

/// The built-in functions. An enum rather than a function pointer, so the
/// object stays plain data the collector can reason about.
#[derive(Trace, Clone, Copy)]
pub enum NativeFn {
    Clock,
}

#[derive(Trace)]
pub struct Native {
    pub function: NativeFn,
}

#[derive(Trace)]
pub struct Closure {
    pub function: Member<Obj>,
    /// Null when the function captures nothing (saves an allocation).
    pub upvalues: Member<GcArray<Member<Obj>>>,
}

/// `location` while open: the captured variable's index in the value
/// stack (an index, not an address, so the stack can be reallocated when
/// it grows). Closed: `CLOSED`, and the value lives in `closed`.
#[derive(Trace)]
pub struct Upvalue {
    pub location: AtomicUsize,
    pub closed: Slot,
    /// The next open upvalue, lower on the stack (the VM's sorted list).
    pub next: Member<Obj>,
}

pub const CLOSED: usize = usize::MAX;

/// A class. Its methods are a map of their own, not a field, which keeps
/// `Class` no larger than `Function` (`Obj` is as large as its largest
/// variant, and every object should fit one 64-byte slot).
#[derive(Trace)]
pub struct Class {
    pub name: Member<Obj>,
    pub methods: Member<Table>,
    /// The shape of its instances before they have fields (`shape.rs`).
    pub shape: Member<Shape>,
    /// The most fields an instance of the class has had: how long a new
    /// instance's values array is made.
    pub field_hint: Plain<usize>,
}

/// An instance: its class, and its fields as a shape (names to indexes)
/// and an array of values (see `shape.rs`).
#[derive(Trace)]
pub struct Instance {
    pub class: Member<Obj>,
    /// Null for the class's empty shape (`Class::shape`).
    pub shape: Member<Shape>,
    /// Null until the first field; at least as long as the shape has
    /// fields.
    pub values: Member<GcArray<Slot>>,
}

#[derive(Trace)]
pub struct BoundMethod {
    pub receiver: Slot,
    pub method: Member<Obj>,
}

// Accessors. The VM only calls the panicking ones where the compiler
// guarantees the kind (a frame's closure, a constant that is a string...).
impl Obj {
    #[inline]
    pub fn as_string(&self) -> Option<&LoxString> {
        match self {
            Obj::String(s) => Some(s),
            _ => None,
        }
    }

    #[inline]
    pub fn as_instance(&self) -> Option<&Instance> {
        match self {
            Obj::Instance(i) => Some(i),
            _ => None,
        }
    }

    #[inline]
    pub fn as_class(&self) -> Option<&Class> {
        match self {
            Obj::Class(c) => Some(c),
            _ => None,
        }
    }

    #[inline]
    pub fn string(&self) -> &LoxString {
        self.as_string().expect("a string object")
    }

    #[inline]
    pub fn function(&self) -> &Function {
        match self {
            Obj::Function(f) => f,
            _ => panic!("expected a function object"),
        }
    }

    #[inline]
    pub fn closure(&self) -> &Closure {
        match self {
            Obj::Closure(c) => c,
            _ => panic!("expected a closure object"),
        }
    }

    #[inline]
    pub fn upvalue(&self) -> &Upvalue {
        match self {
            Obj::Upvalue(u) => u,
            _ => panic!("expected an upvalue object"),
        }
    }

    #[inline]
    pub fn class(&self) -> &Class {
        self.as_class().expect("a class object")
    }
}

impl Class {
    /// The methods by name.
    #[inline]
    pub fn methods(&self) -> &Table {
        Gc::as_ref(self.methods.get().expect("a class has methods"))
    }
}

impl Instance {
    /// The instance's class.
    #[inline]
    pub fn class(&self) -> &Class {
        Gc::as_ref(self.class.get().expect("an instance has a class")).class()
    }

    /// Where its fields are: its class's empty shape while its own is
    /// null (which saves a new instance that store).
    #[inline]
    pub fn shape(&self) -> &Shape {
        match self.shape.get() {
            Some(shape) => Gc::as_ref(shape),
            None => Gc::as_ref(self.class().shape.get().expect("a class has a shape")),
        }
    }

    /// Its field values, indexed as its shape says.
    #[inline(always)]
    pub fn values(&self) -> &GcArray<Slot> {
        Gc::as_ref(
            self.values
                .get()
                .expect("an instance with fields has values"),
        )
    }
}

impl Closure {
    /// The closure's function.
    #[inline]
    pub fn function(&self) -> &Function {
        Gc::as_ref(self.function.get().expect("closure has a function")).function()
    }

    /// The `i`th captured upvalue.
    #[inline]
    pub fn upvalue(&self, i: usize) -> &Upvalue {
        let array = Gc::as_ref(self.upvalues.get().expect("closure has upvalues"));
        Gc::as_ref(array[i].get().expect("upvalue is set")).upvalue()
    }
}

/// FNV-1a, 32 bits, as clox's `hashString`.
pub fn hash_bytes(s: &[u8]) -> u32 {
    s.iter().fold(2_166_136_261u32, |h, &b| {
        (h ^ b as u32).wrapping_mul(16_777_619)
    })
}

/// A new string object (only `Interner::intern` calls this, for contents
/// not already interned).
pub fn new_string<'m>(m: &'m Mutator, text: &str) -> Gc<'m, Obj> {
    let text = m.alloc_str(text);
    let obj = m.alloc(Obj::String(LoxString {
        text: Member::null(),
    }));
    obj.string().text.set(m, Some(text));
    obj
}

/// Allocate a function from what the compiler built: the constants go into
/// a `GcArray` of slots, the code and line numbers into arrays too.
pub fn new_function<'m>(
    m: &'m Mutator,
    name: Option<Gc<'m, Obj>>,
    arity: usize,
    upvalue_count: usize,
    chunk: ChunkBuilder<'m>,
) -> Gc<'m, Obj> {
    let (code, lines, constants) = (&chunk.code, &chunk.lines, &chunk.constants);
    m.alloc(Obj::Function(Function {
        arity,
        upvalue_count,
        name: name.into(),
        code: m.alloc_slice_copy(code).into(),
        lines: m.alloc_slice_copy(lines).into(),
        constants: m
            .alloc_array(constants.len(), |i| Slot::of(constants[i]))
            .into(),
    }))
}

pub fn new_native(m: &Mutator, function: NativeFn) -> Gc<'_, Obj> {
    m.alloc(Obj::Native(Native { function }))
}

/// A closure over `function` with the captured `upvalues` (`None` when it
/// captures nothing).
#[inline(never)]
pub fn new_closure<'m>(
    m: &'m Mutator,
    function: Gc<'m, Obj>,
    upvalues: Option<Gc<'m, GcArray<Member<Obj>>>>,
) -> Gc<'m, Obj> {
    let obj = m.alloc(Obj::Closure(Closure {
        function: Member::null(),
        upvalues: Member::null(),
    }));
    let c = obj.closure();
    c.function.set(m, Some(function));
    c.upvalues.set(m, upvalues);
    obj
}

/// An open upvalue for stack slot `location`, in front of `next` in the
/// VM's list of open upvalues.
pub fn new_upvalue<'m>(m: &'m Mutator, location: usize, next: Option<Gc<'m, Obj>>) -> Gc<'m, Obj> {
    let obj = m.alloc(Obj::Upvalue(Upvalue {
        location: AtomicUsize::new(location),
        closed: Slot::nil(),
        next: Member::null(),
    }));
    obj.upvalue().next.set(m, next);
    obj
}

#[inline(never)]
pub fn new_class<'m>(m: &'m Mutator, name: Gc<'m, Obj>) -> Gc<'m, Obj> {
    m.alloc(Obj::Class(Class {
        name: name.into(),
        methods: m.alloc(Table::new()).into(),
        shape: Shape::empty(m).into(),
        field_hint: Plain::new(0),
    }))
}

#[inline(never)]
pub fn new_instance<'m>(m: &'m Mutator, class: Gc<'m, Obj>) -> Gc<'m, Obj> {
    let obj = m.alloc(Obj::Instance(Instance {
        class: Member::null(),
        shape: Member::null(),
        values: Member::null(),
    }));
    if let Obj::Instance(i) = Gc::as_ref(obj) {
        i.class.set(m, Some(class));
    }
    obj
}

#[inline(never)]
pub fn new_bound_method<'m>(
    m: &'m Mutator,
    receiver: Value<'m>,
    method: Gc<'m, Obj>,
) -> Gc<'m, Obj> {
    let obj = m.alloc(Obj::BoundMethod(BoundMethod {
        receiver: Slot::nil(),
        method: Member::null(),
    }));
    if let Obj::BoundMethod(b) = Gc::as_ref(obj) {
        b.receiver.set(m, receiver);
        b.method.set(m, Some(method));
    }
    obj
}

impl Function {
    #[inline]
    pub fn code(&self) -> &[u8] {
        &Gc::as_ref(self.code.get().expect("a function has code"))[..]
    }

    /// The source line of the byte at `offset` in the code.
    pub fn line(&self, offset: usize) -> u32 {
        self.lines.get().expect("a function has line numbers")[offset]
    }

    fn write_name(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name.get() {
            None => f.write_str("<script>"),
            Some(name) => write!(f, "<fn {}>", name.string().text()),
        }
    }
}

/// clox's `printObject`.
impl fmt::Display for Obj {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Obj::String(s) => f.write_str(s.text()),
            Obj::Function(func) => func.write_name(f),
            Obj::Native(_) => f.write_str("<native fn>"),
            Obj::Closure(c) => c.function().write_name(f),
            Obj::Upvalue(_) => f.write_str("upvalue"),
            Obj::Class(c) => {
                let name = c.name.get().expect("class has a name");
                f.write_str(name.string().text())
            }
            Obj::Instance(i) => {
                let class = i.class.get().expect("instance has a class");
                let name = class.class().name.get().expect("class has a name");
                write!(f, "{} instance", name.string().text())
            }
            Obj::BoundMethod(b) => {
                let method = b.method.get().expect("bound method has a method");
                method.closure().function().write_name(f)
            }
        }
    }
}
