//! Support for directly recursive types such as
//! `enum Value { Int(i64), List(Vec<Value>) }`.
//!
//! `NEEDS_TRACE` is an associated const built from the fields' consts. For a
//! field type that contains the type being derived, that const would depend on
//! itself, and rustc rejects the cycle (E0391); the `NoGc` where-clause would
//! likewise overflow (E0275). So before a field type is used in either place,
//! every occurrence of the type itself is replaced by an uninhabited stand-in
//! whose `NEEDS_TRACE` is `false`: `::core::convert::Infallible`, spelled as
//! an absolute path so that no user item can be read in its place (a name
//! the derive declared itself could be shadowed by a user type or alias of
//! the same name, and a `Member<X>` field would count as untraced).
//!
//! This computes the least fixed point, which is the right answer: values are
//! finite, so a GC pointer inside a recursive value sits in some field that
//! does not go back to the type itself, and every such field still counts.
//! `Vec<Value>` contributes nothing, `Vec<(Value, Member<X>)>` still makes the
//! type traced.
//!
//! Only spellings that certainly mean the type itself are replaced: `Self`, and
//! the bare name with exactly the type's own generic parameters as arguments
//! (`List<T>` inside `List<T>`). A name with other arguments (polymorphic
//! recursion such as `List<Box<T>>`) may have a different `NEEDS_TRACE`, so it
//! is left alone; such types, and mutually recursive ones, still hit the cycle
//! error at compile time, never a wrong answer.
//!
//! `Infallible` implements `Trace` and `NoGc`. That the stand-in is `NoGc`
//! even where the type itself is not cannot make a wrong impl: the consts
//! and bounds are only computed with it; the `trace` body, type-checked
//! with the real field types, still requires every bound the real type
//! needs (a `RefCell<Self>` field of a type that is not `NoGc` fails there).

use quote::ToTokens;
use syn::{parse_quote, GenericArgument, GenericParam, Generics, Ident, PathArguments, Type};

/// Rewrites field types of one derived type, replacing the type itself by a
/// stand-in.
pub struct SelfReplacer<'a> {
    name: &'a Ident,
    /// The type's own generic parameters, as they would be spelled as
    /// arguments (`'a`, `T`, `N`).
    own_args: Vec<String>,
}

impl<'a> SelfReplacer<'a> {
    pub fn new(name: &'a Ident, generics: &Generics) -> Self {
        let own_args = generics
            .params
            .iter()
            .map(|param| match param {
                GenericParam::Lifetime(l) => l.lifetime.to_string(),
                GenericParam::Type(t) => t.ident.to_string(),
                GenericParam::Const(c) => c.ident.to_string(),
            })
            .collect();
        SelfReplacer { name, own_args }
    }

    /// `ty` with every certain self-reference replaced by the stand-in.
    pub fn replace(&mut self, ty: &Type) -> Type {
        let mut ty = ty.clone();
        self.visit(&mut ty);
        ty
    }

    fn visit(&mut self, ty: &mut Type) {
        match ty {
            Type::Path(path) if path.qself.is_none() => {
                if self.is_self(&path.path) {
                    *ty = parse_quote!(::core::convert::Infallible);
                    return;
                }
                // Only type arguments are descended into: they name the
                // contents of containers. Associated-type bindings, `Fn`
                // sugar and projections are left alone, as the stand-in is
                // only equivalent to the type where it is held by value.
                for segment in &mut path.path.segments {
                    if let PathArguments::AngleBracketed(args) = &mut segment.arguments {
                        for arg in &mut args.args {
                            if let GenericArgument::Type(inner) = arg {
                                self.visit(inner);
                            }
                        }
                    }
                }
            }
            Type::Array(array) => self.visit(&mut array.elem),
            Type::Group(group) => self.visit(&mut group.elem),
            Type::Paren(paren) => self.visit(&mut paren.elem),
            Type::Reference(reference) => self.visit(&mut reference.elem),
            Type::Slice(slice) => self.visit(&mut slice.elem),
            Type::Tuple(tuple) => tuple.elems.iter_mut().for_each(|elem| self.visit(elem)),
            _ => {}
        }
    }

    fn is_self(&self, path: &syn::Path) -> bool {
        if path.leading_colon.is_some() || path.segments.len() != 1 {
            return false;
        }
        let segment = &path.segments[0];
        if segment.ident == "Self" {
            return segment.arguments.is_empty();
        }
        if segment.ident != *self.name {
            return false;
        }
        let args: Vec<String> = match &segment.arguments {
            PathArguments::None => Vec::new(),
            PathArguments::AngleBracketed(args) => args
                .args
                .iter()
                .map(|arg| arg.to_token_stream().to_string())
                .collect(),
            PathArguments::Parenthesized(_) => return false,
        };
        args == self.own_args
    }
}
