//! Code generation for `#[derive(Trace)]`.

use std::collections::HashSet;

use proc_macro2::{Group, Span, TokenStream, TokenTree};
use quote::{format_ident, quote, quote_spanned, ToTokens};
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
    let stand_in = Ident::new("__TraceRecursionStandIn", Span::call_site());
    let mut replacer = SelfReplacer::new(name, &input.generics, &stand_in);
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
    let stand_in_items = replacer
        .used
        .then(|| stand_in_items(&stand_in, krate, container.no_gc));
    let drop_check = drop_check(input);

    Ok(quote! {
        const _: () = {
            #trace_impl
            #no_gc_impl
            #stand_in_items
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
    let skip_checks = skip_checks(krate, skipped);

    // A type with nothing to trace must not name `tracer`, or the
    // parameter would be reported unused in the user's crate.
    let tracer = if checked_types.is_empty() {
        format_ident!("_tracer")
    } else {
        format_ident!("tracer")
    };
    // Respanned as a whole so that a field type without `Trace` is reported
    // at the field, not across the whole item.
    let trace_call = |field: &TracedField<'_>, place: TokenStream| {
        let span = at(field.ty);
        map_spans(quote!(#krate::Trace::trace(#place, #tracer);), &|_| span)
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
                    .map(|i| format_ident!("__field{}", i))
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
            const NEEDS_TRACE: bool = {
                #skip_checks
                #needs_trace
            };

            #[inline]
            fn trace(&self, #tracer: &mut #krate::Tracer<'_>) {
                #body
            }
        }
    }
}

/// Requires every `#[trace(skip)]` field type to implement `NoGc`: only a
/// type that can never hold a GC pointer may go untraced.
///
/// The check is a call of a `const fn` with a `NoGc` bound inside
/// `NEEDS_TRACE`, which is type-checked with the impl's generics, bounds and
/// `Self` in scope and costs nothing at run time. Unlike a `NoGc` bound in
/// the impl's where-clause, it fails where the type is defined, also when
/// the field type involves a type parameter (`Member<T>`), rather than
/// leaving a type that silently never implements `Trace`.
fn skip_checks(krate: &Path, skipped: &[&Type]) -> TokenStream {
    if skipped.is_empty() {
        return quote!();
    }
    let mut seen = HashSet::new();
    let calls = skipped
        .iter()
        .filter(|ty| seen.insert(ty.to_token_stream().to_string()))
        .map(|ty| {
            // The tokens before the type take the span of its first token and
            // those after it the span of its last, so that the error, which
            // covers the whole call, underlines exactly the field's type.
            let ty = map_spans(ty.to_token_stream(), &in_expansion);
            let mut tokens = ty.clone().into_iter();
            let start = tokens.next().map_or_else(Span::call_site, |t| t.span());
            let end = tokens.last().map_or(start, |t| t.span());
            let check = quote_spanned!(start=> skipped_field_type_must_implement_no_gc::<);
            let close = quote_spanned!(end=> >(););
            quote!(#check #ty #close)
        });
    quote! {
        const fn skipped_field_type_must_implement_no_gc<T: ?::core::marker::Sized + #krate::NoGc>() {}
        #(#calls)*
    }
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

/// The type that replaces self-references in consts and bounds (see
/// `recursion`). Uninhabited, so `NEEDS_TRACE = false` is trivially true.
fn stand_in_items(stand_in: &Ident, krate: &Path, no_gc: bool) -> TokenStream {
    let no_gc_impl = no_gc.then(|| {
        quote! {
            // SAFETY: the stand-in has no values.
            unsafe impl #krate::NoGc for #stand_in {}
        }
    });
    quote! {
        enum #stand_in {}

        // SAFETY: the stand-in has no values, so it holds no GC pointer.
        unsafe impl #krate::Trace for #stand_in {
            const NEEDS_TRACE: bool = false;

            fn trace(&self, _tracer: &mut #krate::Tracer<'_>) {
                match *self {}
            }
        }

        #no_gc_impl
    }
}

/// Makes `impl Drop` for the derived type a conflicting-implementations
/// error (the technique gc-arena uses): the blanket impl covers every `Drop`
/// type, so the second impl overlaps exactly when the type is `Drop`.
fn drop_check(input: &DeriveInput) -> TokenStream {
    let name = &input.ident;
    let (impl_generics, ty_generics, where_clause) = input.generics.split_for_impl();
    let own_impl = quote_spanned! {at(name)=>
        impl #impl_generics TraceTypesMustNotImplementDrop for #name #ty_generics #where_clause {}
    };
    quote! {
        /// A destructor of a traced type would run during sweep, when the GC
        /// objects it can reach may already be freed. If this trait is named
        /// in a "conflicting implementations" error, remove the `Drop` impl
        /// of the type deriving `Trace`; release outside resources
        /// explicitly or from a non-GC owner instead.
        trait TraceTypesMustNotImplementDrop {}

        #[allow(drop_bounds)]
        impl<T: ::core::ops::Drop + ?::core::marker::Sized> TraceTypesMustNotImplementDrop for T {}

        #own_impl
    }
}
