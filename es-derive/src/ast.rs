//! The derive's model of its input: borrows the syn tree, keeps the original nodes for spans.

use syn::{Data, DeriveInput, Fields, Ident, Path, Type};

use crate::attr::{self, EnumAttrs, StructAttrs};
use crate::ctxt::Ctxt;

pub enum Input<'a> {
    Struct(VersionStruct<'a>),
    Enum(EventEnum<'a>),
}

/// One published version of an event type.
pub struct VersionStruct<'a> {
    pub ident: &'a Ident,
    pub attrs: StructAttrs,
}

/// The domain's event enum: one variant per event type.
pub struct EventEnum<'a> {
    pub original: &'a DeriveInput,
    pub ident: &'a Ident,
    pub attrs: EnumAttrs,
    pub variants: Vec<Variant<'a>>,
}

pub struct Variant<'a> {
    pub ident: &'a Ident,
    /// The type held by the variant's single field.
    pub ty: &'a Type,
}

impl<'a> Input<'a> {
    /// The model of `input`, or `None` when its shape rules out a derive (errors recorded).
    pub fn from_syn(cx: &Ctxt, input: &'a DeriveInput) -> Option<Self> {
        if !input.generics.params.is_empty() {
            cx.error_spanned_by(
                &input.generics,
                "`#[derive(Event)]` does not support generic parameters: an event version is a concrete type with one stable schema",
            );
        }
        match &input.data {
            Data::Struct(data) => {
                attr::reject_on_fields(cx, &data.fields);
                Some(Input::Struct(VersionStruct {
                    ident: &input.ident,
                    attrs: attr::parse_struct(cx, &input.attrs),
                }))
            }
            Data::Enum(data) => {
                let attrs = attr::parse_enum(cx, &input.attrs);
                let variants = data
                    .variants
                    .iter()
                    .filter_map(|variant| Variant::from_syn(cx, variant))
                    .collect();
                Some(Input::Enum(EventEnum {
                    original: input,
                    ident: &input.ident,
                    attrs,
                    variants,
                }))
            }
            Data::Union(data) => {
                cx.error_spanned_by(
                    data.union_token,
                    "`#[derive(Event)]` works on a version struct or an event enum, not on a union",
                );
                None
            }
        }
    }
}

impl Input<'_> {
    /// The path to es-core given with `crate = "..."`, if any.
    pub fn krate(&self) -> Option<&Path> {
        match self {
            Input::Struct(s) => s.attrs.krate.as_ref(),
            Input::Enum(e) => e.attrs.krate.as_ref(),
        }
    }
}

impl<'a> Variant<'a> {
    fn from_syn(cx: &Ctxt, variant: &'a syn::Variant) -> Option<Self> {
        attr::parse_variant(cx, &variant.attrs);
        attr::reject_on_fields(cx, &variant.fields);
        match &variant.fields {
            Fields::Unnamed(fields) if fields.unnamed.len() == 1 => Some(Variant {
                ident: &variant.ident,
                ty: &fields.unnamed[0].ty,
            }),
            Fields::Unit => {
                cx.error_spanned_by(&variant.ident, variant_shape_message(&variant.ident));
                None
            }
            _ => {
                cx.error_spanned_by(&variant.fields, variant_shape_message(&variant.ident));
                None
            }
        }
    }
}

fn variant_shape_message(ident: &Ident) -> String {
    format!(
        "each variant of an event enum holds one event type, like `{ident}({ident}Event)` where `{ident}Event` is a version struct with `#[derive(Event)]`"
    )
}
