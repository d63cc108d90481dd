//! Code generation for `#[derive(Trace)]`.

use std::collections::HashSet;

use proc_macro2::{Group, Span, TokenStream, TokenTree};
use quote::{quote, quote_spanned, ToTokens};
use syn::spanned::Spanned;
use syn::{
    parse_quote, parse_quote_spanned, Data, DeriveInput, Fields, Generics, Ident, Member, Path,
    Type,
};

use crate::attr;
use crate::errors::Errors;
use crate::recursion::SelfReplacer;

/// A field that `trace` visits and that counts towards `NEEDS_TRACE`.
struct TracedField<'a> {
    member: Member,
    ty: &'a Type,
}

/// The traced fields of the type, grouped the way `trace` must reach them.
enum Shape<'a> {
    Struct(Vec<TracedField<'a>>),
    Enum(Vec<(&'a Ident, Vec<TracedField<'a>>)>),
}

impl<'a> Shape<'a> {
    /// The shape of `input`; the types of `#[trace(skip)]` fields are
    /// appended to `skipped`.
    fn of(input: &'a DeriveInput, errors: &mut Errors, skipped: &mut Vec<&'a Type>) -> Self {
        match &input.data {
            Data::Struct(data) => Shape::Struct(traced_fields(&data.fields, errors, skipped)),
            Data::Enum(data) => Shape::Enum(
                data.variants
                    .iter()
                    .map(|variant| {
                        attr::variant(&variant.attrs, errors);
                        let fields = traced_fields(&variant.fields, errors, skipped);
                        (&variant.ident, fields)
                    })
                    .collect(),
            ),
            Data::Union(data) => {
                errors.push(syn::Error::new_spanned(
                    data.union_token,
                    "#[derive(Trace)] does not support unions: \
                     the collector cannot know which field holds a value",
                ));
                Shape::Struct(Vec::new())
            }
        }
    }

    fn fields(&self) -> Vec<&TracedField<'a>> {
        match self {
            Shape::Struct(fields) => fields.iter().collect(),
            Shape::Enum(variants) => variants.iter().flat_map(|(_, f)| f).collect(),
        }
    }
}

/// The fields that are traced; the types of skipped ones go to `skipped`.
fn traced_fields<'a>(
    fields: &'a Fields,
    errors: &mut Errors,
    skipped: &mut Vec<&'a Type>,
) -> Vec<TracedField<'a>> {
    fields
        .iter()
        .enumerate()
        .filter(|(_, field)| {
            let skip = attr::field_is_skipped(&field.attrs, errors);
            if skip {
                skipped.push(&field.ty);
            }
            !skip
        })
        .map(|(index, field)| TracedField {
            member: match &field.ident {
                Some(ident) => Member::Named(ident.clone()),
                None => Member::Unnamed(index.into()),
            },
            ty: &field.ty,
        })
        .collect()
}

pub fn derive(input: &DeriveInput) -> syn::Result<TokenStream> {
    let mut errors = Errors::default();
    let container = attr::container(&input.attrs, &mut errors);
    attr::reject_packed(&input.attrs, &mut errors);
    let mut skipped = Vec::new();
    let shape = Shape::of(input, &mut errors, &mut skipped);
    errors.finish()?;

    let krate = &container.krate;
    let name = &input.ident;
    let mut replacer = SelfReplacer::new(name, &input.generics);
    let traced_types: Vec<&Type> = shape.fields().iter().map(|field| field.ty).collect();
    // The types as used in consts and bounds, where a self-reference would
    // make a cycle; `trace` itself uses the real fields. Repeats are dropped,
    // as a bound repeated in the where-clause trips clippy in user crates.
    let checked_types = bound_types(&traced_types, &mut replacer);
    // `NoGc` also needs the skipped fields to be `NoGc`. They always are,
    // as `trace_impl` checks, but leaving them out of the bounds would make
    // the impl's soundness rest on that other check.
    let no_gc_types = container.no_gc.then(|| {
        let all: Vec<&Type> = traced_types.iter().chain(&skipped).copied().collect();
        bound_types(&all, &mut replacer)
    });

    let trace_impl = trace_impl(input, krate, &shape, &checked_types, &skipped);
    let no_gc_impl = no_gc_types.map(|types| no_gc_impl(input, krate, &types));
    let drop_check = drop_check(input);

    Ok(quote! {
        const _: () = {
            #trace_impl
            #no_gc_impl
            #drop_check
        };
    })
}

/// `types` with self-references replaced and repeats dropped, each with the
/// span that diagnostics about it should use.
fn bound_types(types: &[&Type], replacer: &mut SelfReplacer<'_>) -> Vec<(TokenStream, Span)> {
    let mut seen = HashSet::new();
    types
        .iter()
        .map(|field_ty| {
            let ty = replacer.replace(field_ty).into_token_stream();
            let ty = map_spans(ty, &in_expansion);
            // Tokens added after the type take the span of its last token,
            // so a diagnostic covering both underlines the whole type.
            let end = ty
                .clone()
                .into_iter()
                .last()
                .map_or_else(|| at(field_ty), |token| token.span());
            (ty, end)
        })
        .filter(|(ty, _)| seen.insert(ty.to_string()))
        .collect()
}

fn trace_impl(
    input: &DeriveInput,
    krate: &Path,
    shape: &Shape<'_>,
    checked_types: &[(TokenStream, Span)],
    skipped: &[&Type],
) -> TokenStream {
    let name = &input.ident;
    // The bound goes on the parameter rather than into the where-clause,
    // where it would repeat any `where T: ...` of the user's.
    let mut generics = input.generics.clone();
    for param in generics.type_params_mut() {
        param.bounds.push(parse_quote!(#krate::Trace));
        // GC objects are `'static` (the collector keeps them past any
        // borrow), and so is everything a `Member<T>` may point to: saying
        // it here spares the user a hand-written `T: 'static` on every
        // generic type that holds a `Member<T>`.
        param.bounds.push(parse_quote!('static));
    }
    let (impl_generics, ty_generics, where_clause) = generics.split_for_impl();

    let needs_trace = if checked_types.is_empty() {
        quote!(false)
    } else {
        let terms = checked_types
            .iter()
            .map(|(ty, span)| quote_spanned!(*span=> <#ty as #krate::Trace>::NEEDS_TRACE));
        quote!(#(#terms)||*)
    };
    // Hygienic: no name in the user's field types can refer to it.
    let tracer = Ident::new("tracer", Span::mixed_site());
    let skip_checks = skip_checks(&tracer, skipped);
    // Respanned as a whole so that a field type without `Trace` is reported
    // at the field, not across the whole item.
    let trace_call = |field: &TracedField<'_>, place: TokenStream| {
        // Only the location moves: hygienic names (the tracer, enum
        // bindings) keep resolving where they were declared.
        let span = at(field.ty);
        map_spans(quote!(#krate::Trace::trace(#place, #tracer);), &|s| {
            s.located_at(span)
        })
    };
    let body = match shape {
        Shape::Struct(fields) => {
            let calls = fields.iter().map(|field| {
                let member = &field.member;
                trace_call(field, quote!(&self.#member))
            });
            quote!(#(#calls)*)
        }
        // Also covers empty enums, whose `&self` cannot exist.
        Shape::Enum(_) if checked_types.is_empty() => quote!(),
        Shape::Enum(variants) => {
            let arms = variants.iter().map(|(variant, fields)| {
                let bindings: Vec<Ident> = (0..fields.len())
                    .map(|i| Ident::new(&format!("field{i}"), Span::mixed_site()))
                    .collect();
                let members = fields.iter().map(|field| &field.member);
                let calls = fields
                    .iter()
                    .zip(&bindings)
                    .map(|(field, binding)| trace_call(field, binding.to_token_stream()));
                // Brace patterns work for all variant kinds (`V { 0: x, .. }`
                // matches a tuple variant), and `..` covers skipped fields.
                quote!(Self::#variant { #(#members: #bindings,)* .. } => { #(#calls)* })
            });
            quote!(match self { #(#arms)* })
        }
    };

    quote! {
        #[automatically_derived]
        unsafe impl #impl_generics #krate::Trace for #name #ty_generics #where_clause {
            const NEEDS_TRACE: bool = #needs_trace;

            #[inline]
            #[allow(unused_variables)]
            fn trace(&self, #tracer: &mut #krate::Tracer<'_>) {
                #skip_checks
                #body
            }
        }
    }
}

/// Requires every `#[trace(skip)]` field type to implement `NoGc`: only a
/// type that can never hold a GC pointer may go untraced.
///
/// The check is a call, inside `trace`, of an inherent method of the
/// tracer with a `NoGc` bound. The tracer's type is the real `Tracer`
/// (the `Trace` signature forces it whatever `crate = "..."` says), and an
/// inherent method wins over any trait method of the same name, so the
/// bound is always this crate's `NoGc`, never one reached through a
/// user-supplied path. It is type-checked with the impl's generics in
/// scope, so it fails where the type is defined, also when the field type
/// involves a type parameter (`Member<T>`), and costs nothing at run time.
fn skip_checks(tracer: &Ident, skipped: &[&Type]) -> TokenStream {
    let mut seen = HashSet::new();
    let calls = skipped
        .iter()
        .filter(|ty| seen.insert(ty.to_token_stream().to_string()))
        .map(|ty| {
            let span = at(ty);
            let check = quote_spanned!(span=> #tracer.__skipped_field_must_implement_no_gc::<);
            let close = quote_spanned!(span=> >(););
            quote!(#check #ty #close)
        });
    quote!(#(#calls)*)
}

/// A span that points at `tokens` in error messages but still belongs to the
/// derive's expansion, so that lints skipping macro-generated code (clippy's
/// in particular) keep skipping it.
fn at(tokens: &impl Spanned) -> Span {
    in_expansion(tokens.span())
}

fn in_expansion(span: Span) -> Span {
    Span::call_site().located_at(span)
}

/// `tokens` with the span of every token, delimiters included, replaced by
/// `f` of it.
fn map_spans(tokens: TokenStream, f: &impl Fn(Span) -> Span) -> TokenStream {
    tokens
        .into_iter()
        .map(|mut token| {
            if let TokenTree::Group(group) = &token {
                token =
                    TokenTree::Group(Group::new(group.delimiter(), map_spans(group.stream(), f)));
            }
            token.set_span(f(token.span()));
            token
        })
        .collect()
}

/// `NoGc` holds when every field, traced or skipped, is `NoGc`; the
/// where-clause makes the compiler check it, so the impl cannot be wrong.
fn no_gc_impl(
    input: &DeriveInput,
    krate: &Path,
    checked_types: &[(TokenStream, Span)],
) -> TokenStream {
    let name = &input.ident;
    let mut generics: Generics = input.generics.clone();
    let bounds = checked_types
        .iter()
        .map(|(ty, span)| -> syn::WherePredicate {
            // An unsatisfied predicate is reported at the span covering all
            // its tokens, so none may point outside the field's type.
            let bound = map_spans(quote!(#krate::NoGc), &|_| *span);
            parse_quote_spanned!(*span=> #ty: #bound)
        })
        .collect::<Vec<_>>();
    generics.make_where_clause().predicates.extend(bounds);
    let (impl_generics, ty_generics, where_clause) = generics.split_for_impl();
    quote! {
        #[automatically_derived]
        unsafe impl #impl_generics #krate::NoGc for #name #ty_generics #where_clause {}
    }
}

/// Makes `impl Drop` for the derived type a conflicting-implementations
/// error (the technique gc-arena uses): the blanket impl covers every `Drop`
/// type, so the second impl overlaps exactly when the type is `Drop`.
fn drop_check(input: &DeriveInput) -> TokenStream {
    let name = &input.ident;
    let (impl_generics, ty_generics, where_clause) = input.generics.split_for_impl();
    // Mixed-site hygiene: a user item of the same name cannot be confused
    // with this trait (nor shadow it).
    let check = Ident::new("TraceTypesMustNotImplementDrop", Span::mixed_site());
    let own_impl = quote_spanned! {at(name)=>
        impl #impl_generics #check for #name #ty_generics #where_clause {}
    };
    quote! {
        /// A destructor of a traced type would run during sweep, when the GC
        /// objects it can reach may already be freed. If this trait is named
        /// in a "conflicting implementations" error, remove the `Drop` impl
        /// of the type deriving `Trace`; release outside resources
        /// explicitly or from a non-GC owner instead.
        trait #check {}

        #[allow(drop_bounds)]
        impl<T: ::core::ops::Drop + ?::core::marker::Sized> #check for T {}

        #own_impl
    }
}
