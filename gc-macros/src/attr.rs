//! Parsing of the `#[trace(...)]` helper attribute and of the `#[repr]`
//! forms the derive cannot handle.
//!
//! Every misuse is reported as a spanned `compile_error!` rather than being
//! ignored: a silently ignored `skip` or `no_gc` typo would change what the
//! collector scans.

use syn::meta::ParseNestedMeta;
use syn::{Attribute, LitStr, Path};

use crate::errors::Errors;

/// What the container-level `#[trace(...)]` attributes asked for.
pub struct ContainerAttrs {
    /// Path of the crate that exports `Trace`, `Tracer` and `NoGc`.
    pub krate: Path,
    /// Whether to also implement `NoGc`.
    pub no_gc: bool,
}

/// Where an attribute was written; decides which keys are accepted.
#[derive(Clone, Copy)]
enum Position {
    Container,
    Variant,
    Field,
}

/// Parses the `#[trace(...)]` attributes of the type itself.
pub fn container(attrs: &[Attribute], errors: &mut Errors) -> ContainerAttrs {
    let mut krate: Option<Path> = None;
    let mut no_gc = false;
    for_each_key(attrs, Position::Container, errors, |key, meta| {
        match key {
            Key::Crate => {
                if krate.is_some() {
                    return Err(meta.error("duplicate `crate` trace attribute"));
                }
                krate = Some(meta.value()?.parse::<LitStr>()?.parse()?);
            }
            Key::NoGc => no_gc = true,
            // `for_each_key` has already rejected field keys here.
            Key::Skip => unreachable!("field key accepted on a container"),
        }
        Ok(())
    });
    ContainerAttrs {
        krate: krate.unwrap_or_else(|| syn::parse_quote!(::tricolor)),
        no_gc,
    }
}

/// Rejects `#[trace(...)]` on an enum variant: no key means anything there.
pub fn variant(attrs: &[Attribute], errors: &mut Errors) {
    for_each_key(attrs, Position::Variant, errors, |_, _| Ok(()));
}

/// Whether a field carries `#[trace(skip)]`. The derive then requires the
/// field's type to implement `NoGc` (see `expand`).
pub fn field_is_skipped(attrs: &[Attribute], errors: &mut Errors) -> bool {
    let mut skipped = false;
    for_each_key(attrs, Position::Field, errors, |_, _| {
        skipped = true;
        Ok(())
    });
    skipped
}

/// Errors on `#[repr(packed)]`: tracing borrows every field, and a borrow
/// of a packed field may be unaligned (E0793), which would surface as an
/// unreadable error inside the generated code.
pub fn reject_packed(attrs: &[Attribute], errors: &mut Errors) {
    for attr in attrs.iter().filter(|a| a.path().is_ident("repr")) {
        let mut packed = false;
        let parsed = attr.parse_nested_meta(|meta| {
            packed |= meta.path.is_ident("packed");
            // Skip `align(8)`, `packed(2)` and friends without caring
            // about their contents.
            if meta.input.peek(syn::token::Paren) {
                let _content;
                syn::parenthesized!(_content in meta.input);
            }
            Ok(())
        });
        errors.check(parsed);
        if packed {
            errors.push(syn::Error::new_spanned(
                attr,
                "#[derive(Trace)] does not support #[repr(packed)] types: \
                 tracing borrows every field, and packed fields may be unaligned",
            ));
        }
    }
}

enum Key {
    Crate,
    NoGc,
    Skip,
}

/// Calls `f` for each key of every `#[trace(...)]` in `attrs`, after
/// checking that the key is known and allowed at `position`.
fn for_each_key(
    attrs: &[Attribute],
    position: Position,
    errors: &mut Errors,
    mut f: impl FnMut(Key, &ParseNestedMeta<'_>) -> syn::Result<()>,
) {
    for attr in attrs.iter().filter(|a| a.path().is_ident("trace")) {
        errors.check(attr.parse_nested_meta(|meta| {
            let key = classify(&meta)?;
            check_position(&key, position, &meta)?;
            f(key, &meta)
        }));
    }
}

fn classify(meta: &ParseNestedMeta<'_>) -> syn::Result<Key> {
    let path = &meta.path;
    if path.is_ident("crate") {
        Ok(Key::Crate)
    } else if path.is_ident("no_gc") {
        Ok(Key::NoGc)
    } else if path.is_ident("skip") {
        Ok(Key::Skip)
    } else if path.is_ident("unsafe_skip") {
        // Rejected wherever it is written: it let safe code leave a GC
        // pointer untraced.
        Err(syn::Error::new_spanned(
            path,
            "`unsafe_skip` was removed: use `#[trace(skip)]` on fields whose type \
             implements `NoGc` (wrap foreign types in a newtype with `unsafe impl NoGc`)",
        ))
    } else {
        let shown = quote::ToTokens::to_token_stream(path)
            .to_string()
            .replace(' ', "");
        Err(syn::Error::new_spanned(
            path,
            format!(
                "unknown trace attribute `{shown}`; expected `crate = \"path\"`, \
                 `no_gc`, or field attribute `skip`"
            ),
        ))
    }
}

fn check_position(key: &Key, position: Position, meta: &ParseNestedMeta<'_>) -> syn::Result<()> {
    let message = match (key, position) {
        (Key::Crate | Key::NoGc, Position::Container) | (Key::Skip, Position::Field) => {
            return Ok(())
        }
        (Key::Skip, _) => {
            "`skip` is a field attribute: put it on a field whose type implements `NoGc`"
        }
        (_, Position::Variant) => {
            "trace attributes are not supported on enum variants: \
             put `crate` and `no_gc` on the enum, `skip` on a field"
        }
        (_, Position::Field) => {
            "`crate` and `no_gc` are container attributes: put them on the struct or enum"
        }
    };
    Err(meta.error(message))
}
