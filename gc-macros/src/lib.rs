//! `#[derive(Trace)]` for the tricolor garbage collector.
//!
//! Use it through the `tricolor` facade (`use tricolor::Trace;`), which
//! re-exports the derive next to the trait of the same name.

mod attr;
mod errors;
mod expand;
mod recursion;

use proc_macro::TokenStream;

/// Derives `tricolor::Trace` for a struct or enum.
///
/// The generated `trace` hands every field to the tracer, and `NEEDS_TRACE`
/// is `true` exactly when some field type's `NEEDS_TRACE` is, so a type made
/// only of numbers and strings lands in noscan spans and is never scanned.
///
/// ```ignore
/// use tricolor::{Member, Trace};
///
/// #[derive(Trace)]
/// struct Closure {
///     code: Member<Function>,
///     upvalues: Vec<Member<Upvalue>>,
///     name: String,
/// }
///
/// #[derive(Trace)]
/// enum Value {
///     Nil,
///     Int(i64),
///     Closure(Member<Closure>),
///     List(Vec<Value>),
///     Native { name: &'static str, arity: u8 },
/// }
///
/// #[derive(Trace)]
/// #[trace(no_gc)]
/// struct Span {
///     start: u32,
///     end: u32,
/// }
/// ```
///
/// # What is generated
///
/// - `unsafe impl Trace for Type` with `NEEDS_TRACE` the `||` of the fields'
///   consts and a `trace` that calls `Trace::trace` on each field (through a
///   `match` for enums). Each type parameter `T` gets a `T: Trace` bound; the
///   user's own bounds, where-clause, lifetimes and const parameters are kept
///   as written. Unit structs, fieldless enums and empty
///   enums get `NEEDS_TRACE = false` and an empty `trace`.
/// - A compile-time check that the type does not implement `Drop` (see
///   below).
/// - For each `#[trace(skip)]` field, a compile-time check that its type
///   implements `NoGc` (see below).
/// - With `#[trace(no_gc)]`, an `unsafe impl NoGc` as well (see below).
///
/// # Attributes
///
/// On the struct or enum:
///
/// - `#[trace(crate = "path")]`: the crate that exports `Trace`, `Tracer`
///   and `NoGc`, instead of `::tricolor`; for code that depends on
///   `gc-core` directly (`crate = "gc_core"`), lives inside it
///   (`crate = "crate"`) or renamed the dependency. The path only names the
///   traits being implemented: no check that soundness rests on goes
///   through it. The `#[trace(skip)]` check is an inherent method of the
///   real `Tracer` (which the `trace` signature forces), so a module that
///   re-exports `Trace` and `Tracer` beside a `NoGc` of its own cannot
///   satisfy it; an impl of a look-alike `Trace` is not the real one and
///   cannot be allocated.
/// - `#[trace(no_gc)]`: also implement `NoGc`, so the type can sit inside
///   `Cell`, `RefCell`, `Mutex`, `Rc` and the other containers that require
///   it. The impl carries a `FieldType: NoGc` bound for every field (skipped
///   ones included), so the compiler rejects it when a field may hold a GC
///   pointer.
///
/// On a field:
///
/// - `#[trace(skip)]`: the field is not traced, does not count towards
///   `NEEDS_TRACE`, and need not implement `Trace`. Accepted only when the
///   field's type implements the collector's `NoGc`, i.e. provably holds no
///   GC pointer; otherwise the derive fails to compile with an unsatisfied
///   `NoGc` bound on the field's type. A field whose type
///   involves a type parameter needs that bound spelled out
///   (`struct Cache<K: NoGc> { #[trace(skip)] keys: Vec<K> }`).
///
///   For a foreign type that implements neither `Trace` nor `NoGc`, such as
///   `regex::Regex`, wrap it: `struct Re(regex::Regex); unsafe impl
///   tricolor::NoGc for Re {}` then `#[trace(skip)] re: Re`. The
///   `unsafe impl` is where you promise that no value of the type, nor
///   anything it owns, ever holds a GC pointer; if that is false, the
///   collector frees objects the field still points to.
///
///   ```ignore
///   use tricolor::{Member, NoGc, Trace};
///
///   struct Re(regex::Regex);
///
///   // SAFETY: a compiled regex owns only its own allocations.
///   unsafe impl NoGc for Re {}
///
///   #[derive(Trace)]
///   struct Pattern {
///       source: Member<LoxString>,
///       #[trace(skip)]
///       compiled: Re,
///   }
///   ```
///
///   (The former `#[trace(unsafe_skip)]`, which let safe code leave a GC
///   pointer untraced, is now a compile error.)
///
/// Several keys may share one attribute: `#[trace(crate = "gc_core", no_gc)]`.
/// An unknown key, or a key in the wrong place, is a compile error.
///
/// # Destructors are forbidden
///
/// A type deriving `Trace` must not implement `Drop`: its destructor would
/// run during sweep, when GC objects it can still reach may already be freed.
/// Such an impl fails to compile with "conflicting implementations of trait
/// `TraceTypesMustNotImplementDrop`". Fields with destructors (`Vec`,
/// `String`, ...) are fine, as they never look at GC objects. Release outside
/// resources explicitly, or keep them in a non-GC owner.
///
/// # Recursive types
///
/// A type that contains itself, such as `Value` above (`List(Vec<Value>)`),
/// works: when computing `NEEDS_TRACE`, occurrences of the type itself are
/// treated as contributing nothing, which is exact since every GC pointer in
/// a finite value sits in some non-recursive field. This applies to `Self`
/// and to the type's name with its own generic parameters (`List<T>` inside
/// `List<T>`). Mutually recursive types, or a recursive use with different
/// generic arguments, are rejected by rustc with a cycle error (E0391); give
/// one of the types a hand-written `unsafe impl Trace`.
///
/// # Not supported
///
/// Unions (the collector cannot know which field is live) and
/// `#[repr(packed)]` types (fields are traced by reference, which a packed
/// layout may misalign) are compile errors.
#[proc_macro_derive(Trace, attributes(trace))]
pub fn derive_trace(input: TokenStream) -> TokenStream {
    let input = syn::parse_macro_input!(input as syn::DeriveInput);
    expand::derive(&input)
        .unwrap_or_else(syn::Error::into_compile_error)
        .into()
}
