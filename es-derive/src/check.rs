//! Checks that span several attributes or variants. Checks that need facts the macro cannot
//! see (the versions and tags of types defined elsewhere) are `const` assertions in the
//! expansion instead.

use quote::ToTokens;

use crate::ast::{EventEnum, Input, VersionStruct};
use crate::ctxt::Ctxt;

pub fn check(cx: &Ctxt, input: &Input<'_>) {
    match input {
        Input::Struct(s) => check_struct(cx, s),
        Input::Enum(e) => check_enum(cx, e),
    }
}

fn check_struct(cx: &Ctxt, s: &VersionStruct<'_>) {
    if let (Some(flag), None) = (&s.attrs.try_upcast, &s.attrs.upcast_from) {
        cx.syn_error(syn::Error::new(
            flag.key_span,
            "`try_upcast` needs `upcast_from`: it makes the upcast from the previous version use `TryFrom`",
        ));
    }
    if let (Some(from), None) = (&s.attrs.upcast_from, &s.attrs.version) {
        cx.syn_error(syn::Error::new(
            from.key_span,
            "a struct with `upcast_from` needs an explicit `version`, greater than the previous version's",
        ));
    }
}

fn check_enum(cx: &Ctxt, e: &EventEnum<'_>) {
    let Some(enum_data) = (match &e.original.data {
        syn::Data::Enum(data) => Some(data),
        _ => None,
    }) else {
        return;
    };
    if enum_data.variants.is_empty() {
        cx.error_spanned_by(
            e.ident,
            "an event enum needs at least one variant, one per event type",
        );
    }
    for (i, variant) in e.variants.iter().enumerate() {
        let ty = variant.ty.to_token_stream().to_string();
        if let Some(first) = e.variants[..i]
            .iter()
            .find(|earlier| earlier.ty.to_token_stream().to_string() == ty)
        {
            cx.error_spanned_by(
                variant.ty,
                format!(
                    "`{ty}` is already the event type of variant `{}`: each stored (tag, version) must decode into one variant",
                    first.ident
                ),
            );
        }
    }
}
