//! The derive's model of its input: borrows the syn tree, keeps the original nodes for spans.
//! Building it parses the attributes and runs the checks, so a model without recorded errors
//! is ready for code generation.

use syn::{Data, DeriveInput, Fields, Ident, Path, Type};

use crate::attr::{self, EnumAttrs, StructAttrs};
use crate::check;
use crate::ctxt::Ctxt;

pub enum Input<'a> {
    Struct(VersionStruct<'a>),
    Enum(EventEnum<'a>),
}

/// One published version of an event type.
pub struct VersionStruct<'a> {
    pub ident: &'a Ident,
    pub attrs: StructAttrs,
    /// The event type's stored name: `name = "..."`, or the struct's own name.
    pub event_type: String,
}

/// The domain's event enum: one variant per event type.
pub struct EventEnum<'a> {
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
    /// The model of `input`, checked, or `None` when its shape rules out a derive (errors
    /// recorded).
    pub fn from_syn(cx: &Ctxt, input: &'a DeriveInput) -> Option<Self> {
        let model = Self::from_shape(cx, input)?;
        check::check(cx, &model);
        Some(model)
    }

    fn from_shape(cx: &Ctxt, input: &'a DeriveInput) -> Option<Self> {
        if !input.generics.params.is_empty() {
            cx.error_spanned_by(
                &input.generics,
                "`#[derive(Event)]` does not support generic parameters: an event version is a concrete type with one stable schema",
            );
        }
        match &input.data {
            Data::Struct(data) => {
                attr::reject_on_fields(cx, &data.fields);
                let attrs = attr::parse_struct(cx, &input.attrs);
                let event_type = attrs
                    .event_type
                    .as_ref()
                    .map_or_else(|| input.ident.to_string(), |name| name.value.value());
                Some(Input::Struct(VersionStruct {
                    ident: &input.ident,
                    attrs,
                    event_type,
                }))
            }
            Data::Enum(data) => {
                let attrs = attr::parse_enum(cx, &input.attrs);
                let variants = data
                    .variants
                    .iter()
                    .filter_map(|variant| Variant::from_syn(cx, variant))
                    .collect();
                if data.variants.is_empty() {
                    cx.error_spanned_by(
                        &input.ident,
                        "an event enum needs at least one variant, one per event type",
                    );
                }
                Some(Input::Enum(EventEnum {
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
