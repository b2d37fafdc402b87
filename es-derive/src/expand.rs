//! Code generation only: every decision was made by `ast`, `attr` and `check`.
//!
//! Every expansion is one `const _: () = { use <es-core> as _es; ... };` block: es-core's path
//! (`::es_core`, or the `crate = "..."` given) is written once, and the items inside reach it
//! as `_es`.

use proc_macro2::{Literal, TokenStream};
use quote::{format_ident, quote, quote_spanned, ToTokens};
use syn::spanned::Spanned;
use syn::{DeriveInput, Ident, LitStr, Path, Type};

use crate::ast::{EventEnum, Input, Variant, VersionStruct};
use crate::attr::{RawUpcast, Removed};
use crate::ctxt::Ctxt;
use crate::fallback;

pub fn derive(input: &DeriveInput) -> TokenStream {
    let cx = Ctxt::new();
    let parsed = Input::from_syn(&cx, input);
    let krate = parsed.as_ref().and_then(Input::krate);
    let items = match (cx.check(), &parsed) {
        (Ok(()), Some(Input::Struct(s))) => expand_struct(s),
        (Ok(()), Some(Input::Enum(e))) => expand_enum(e),
        (Err(error), _) => {
            let mut out = error.to_compile_error();
            out.extend(in_const_block(krate, &fallback::items(input)));
            return out;
        }
        (Ok(()), None) => fallback::items(input),
    };
    in_const_block(krate, &items)
}

/// `items` inside `const _: () = { ... };`, with es-core in scope as `_es`. The block first
/// names the version marker of this derive's version, so that with an es-core of another
/// version the first error says that the versions must match.
fn in_const_block(krate: Option<&Path>, items: &TokenStream) -> TokenStream {
    let krate = krate.map_or_else(|| quote!(::es_core), ToTokens::to_token_stream);
    let marker = version_marker(env!("CARGO_PKG_VERSION"));
    quote! {
        const _: () = {
            use #krate as _es;
            const _: () = _es::__private::#marker;
            #items
        };
    }
}

/// The item of es-core's `__private` that exists only in the es-core of `version`.
fn version_marker(version: &str) -> Ident {
    let suffix = version.replace(['.', '-', '+'], "_");
    format_ident!("es_derive_and_es_core_versions_must_match_{suffix}")
}

/// A type or path as written, without spaces, for messages.
fn display(tokens: &impl ToTokens) -> String {
    tokens.to_token_stream().to_string().replace(' ', "")
}

/// A `u32` literal without suffix, as a user would write it.
fn int(value: u32) -> Literal {
    Literal::u32_unsuffixed(value)
}

fn expand_struct(s: &VersionStruct<'_>) -> TokenStream {
    let ident = s.ident;
    let event_type = &s.event_type;
    let version = int(s.attrs.version.as_ref().map_or(1, |v| v.value.0));
    let aliases = s.attrs.aliases.iter();
    let rust_type = ident.to_string();

    let UpcastParts {
        previous_link,
        upcast_step,
        order_assertion,
    } = upcast_parts(s, &version);
    let WriteParts {
        write_as_link,
        written,
        encode,
        write_as_assertion,
    } = write_parts(s);
    let read_newer = s.attrs.read_newer.is_some();
    // Spanned at the struct's name: a struct without `JsonSchema` gets one error, there.
    let schema = quote_spanned! {ident.span()=> _es::__private::event_schema::<#ident>};

    quote! {
        #[automatically_derived]
            impl _es::VersionedEvent for #ident {
                const TAG: &'static str = #event_type;
                const VERSION: u32 = #version;
                const LINK: _es::codec::ChainLink = _es::codec::ChainLink {
                    tag: #event_type,
                    aliases: &[#(#aliases),*],
                    version: #version,
                    rust_type: #rust_type,
                    schema: #schema,
                    previous: #previous_link,
                    write_as: #write_as_link,
                    read_newer: #read_newer,
                };

                #[inline]
                fn upcast_from_version(
                    version: u32,
                    payload: _es::codec::RawPayload<'_>,
                ) -> ::core::result::Result<Self, _es::codec::UpcastError> {
                    <Self as _es::VersionedEvent>::upcast_from_version_then(
                        version,
                        payload,
                        |__es_event| __es_event,
                    )
                }

                #[inline]
                fn upcast_from_version_then<__EsOut, __EsThen: ::core::ops::FnOnce(Self) -> __EsOut>(
                    version: u32,
                    payload: _es::codec::RawPayload<'_>,
                    __es_then: __EsThen,
                ) -> ::core::result::Result<__EsOut, _es::codec::UpcastError> {
                    if version == #version {
                        return payload.parse::<Self>().map(__es_then);
                    }
                    #upcast_step
                }
            }

            #[automatically_derived]
            impl _es::Event for #ident {
                const CHAINS: &'static [&'static _es::codec::ChainLink] =
                    &[&<Self as _es::VersionedEvent>::LINK];

                fn event_type(&self) -> &'static str {
                    <#written as _es::VersionedEvent>::TAG
                }

                fn event_version(&self) -> u32 {
                    <#written as _es::VersionedEvent>::VERSION
                }

                fn encode_payload(
                    &self,
                ) -> ::core::result::Result<::std::vec::Vec<u8>, _es::__private::serde_json::Error> {
                    _es::__private::serde_json::to_vec(#encode)
                }

                fn decode(
                    stored: &_es::StoredEvent,
                ) -> ::core::result::Result<_es::Decoded<Self>, _es::DecodeError> {
                    _es::__private::decode_struct::<Self>(&_es::StoredEventRef::from(stored))
                }

                #[inline]
                fn decode_ref(
                    stored: &_es::StoredEventRef<'_>,
                ) -> ::core::result::Result<_es::Decoded<Self>, _es::DecodeError> {
                    _es::__private::decode_struct::<Self>(stored)
                }
            }

        #order_assertion
        #write_as_assertion
    }
}

/// What `write_as` changes in a struct's expansion.
struct WriteParts {
    /// The `write_as` field of the struct's `ChainLink`.
    write_as_link: TokenStream,
    /// The version struct whose tag and version are written.
    written: TokenStream,
    /// The value serialized as the payload, a reference.
    encode: TokenStream,
    /// The check that `write_as` names the version of `upcast_from`.
    write_as_assertion: TokenStream,
}

fn write_parts(s: &VersionStruct<'_>) -> WriteParts {
    let (Some(write_as), Some(from)) = (&s.attrs.write_as, &s.attrs.upcast_from) else {
        return WriteParts {
            write_as_link: quote!(::core::option::Option::None),
            written: quote!(Self),
            encode: quote!(self),
            write_as_assertion: TokenStream::new(),
        };
    };
    let (target, previous) = (&write_as.value, &from.value);
    let message = format!(
        "`write_as = {}` must name the version this one upcasts from, `upcast_from = {}`: while a release learns a version it writes the previous one, which the release before it reads",
        display(target),
        display(previous),
    );
    // The conversion is spanned at the type the user wrote, so a missing `From<Self>` or
    // `Clone` is reported there; `self` keeps the derive's span, or it would not resolve when
    // the attribute comes from a `macro_rules!` macro.
    let downcast = quote_spanned! {target.span()=> _es::__private::downcast::<Self, #target>};
    let encode = quote!(&#downcast(self));
    let assertion = quote_spanned! {target.span()=>
        const _: () = ::core::assert!(
            _es::__private::same_version(
                &<#target as _es::VersionedEvent>::LINK,
                &<#previous as _es::VersionedEvent>::LINK,
            ),
            "{}",
            #message
        );
    };
    WriteParts {
        write_as_link: quote!(::core::option::Option::Some(&<#target as _es::VersionedEvent>::LINK)),
        written: target.to_token_stream(),
        encode,
        write_as_assertion: assertion,
    }
}

/// What `upcast_from` adds to a struct's expansion.
struct UpcastParts {
    /// The `previous` field of the struct's `ChainLink`.
    previous_link: TokenStream,
    /// The body of `upcast_from_version_then` for an older version.
    upcast_step: TokenStream,
    /// The check that `upcast_from` names a lower version.
    order_assertion: TokenStream,
}

fn upcast_parts(s: &VersionStruct<'_>, version: &Literal) -> UpcastParts {
    let ident = s.ident;
    match &s.attrs.upcast_from {
        Some(from) => {
            let prev = &from.value;
            let prev_name = display(prev);
            // The conversion is spanned at the type `upcast_from` names, so a missing `From` or
            // `TryFrom` is reported there, saying what to write; `__es_previous` keeps the
            // derive's span, or it would not resolve when the attribute comes from a
            // `macro_rules!` macro. The names of the locals start with `__es_`: a closure's
            // parameter named like a user's `const` or `static` in scope would be taken for it.
            let step = if s.attrs.try_upcast.is_some() {
                let try_upcast =
                    quote_spanned! {prev.span()=> _es::__private::try_upcast::<#prev, Self>};
                // A step that may fail gives a `Result` of `__es_then`'s result, flattened here.
                quote! {
                    <#prev as _es::VersionedEvent>::upcast_from_version_then(
                        version,
                        payload,
                        |__es_previous| #try_upcast(__es_previous, #prev_name).map(__es_then),
                    )
                    .and_then(|__es_stepped| __es_stepped)
                }
            } else {
                let upcast = quote_spanned! {prev.span()=> _es::__private::upcast::<#prev, Self>};
                quote! {
                    <#prev as _es::VersionedEvent>::upcast_from_version_then(
                        version,
                        payload,
                        |__es_previous| __es_then(#upcast(__es_previous)),
                    )
                }
            };
            let message = format!(
                "`upcast_from = {prev_name}` must name an earlier version: its `version` must be lower than {version}, the version of `{ident}`"
            );
            let assertion = quote_spanned! {prev.span()=>
                const _: () = ::core::assert!(
                    <#prev as _es::VersionedEvent>::VERSION < #version,
                    "{}",
                    #message
                );
            };
            UpcastParts {
                previous_link: quote!(::core::option::Option::Some(&<#prev as _es::VersionedEvent>::LINK)),
                upcast_step: step,
                order_assertion: assertion,
            }
        }
        None => UpcastParts {
            previous_link: quote!(::core::option::Option::None),
            upcast_step: quote! {
                let _ = (payload, __es_then);
                ::core::result::Result::Err(_es::codec::UpcastError::NotInChain { version })
            },
            order_assertion: TokenStream::new(),
        },
    }
}

fn expand_enum(e: &EventEnum<'_>) -> TokenStream {
    let ident = e.ident;
    let variant = e.variants.iter().map(|v| v.ident).collect::<Vec<_>>();
    let ty = e.variants.iter().map(|v| v.ty).collect::<Vec<_>>();
    let assertions = enum_assertions(e);

    let raw_versions = e
        .attrs
        .raw_upcasts
        .iter()
        .map(raw_upcast_version)
        .chain(e.attrs.removed.iter().map(removed_version))
        .collect::<Vec<_>>();
    let raw_versions_const = (!raw_versions.is_empty()).then(|| {
        quote! {
            const RAW_VERSIONS: &'static [_es::codec::VersionInfo] = &[#(#raw_versions),*];
        }
    });
    let raw_upcasts = e.attrs.raw_upcasts.iter().map(raw_upcast_arm);
    let removed = e.attrs.removed.iter().map(removed_arm);
    let typed_dispatch = typed_dispatch(e);

    quote! {
        #[automatically_derived]
        impl _es::Event for #ident {
            const CHAINS: &'static [&'static _es::codec::ChainLink] =
                &[#(&<#ty as _es::VersionedEvent>::LINK),*];

                #raw_versions_const

                fn event_type(&self) -> &'static str {
                    match self {
                        #(Self::#variant(__es_event) => <#ty as _es::Event>::event_type(__es_event),)*
                    }
                }

                fn event_version(&self) -> u32 {
                    match self {
                        #(Self::#variant(__es_event) => <#ty as _es::Event>::event_version(__es_event),)*
                    }
                }

                fn encode_payload(
                    &self,
                ) -> ::core::result::Result<::std::vec::Vec<u8>, _es::__private::serde_json::Error> {
                    match self {
                        #(Self::#variant(__es_event) => <#ty as _es::Event>::encode_payload(__es_event),)*
                    }
                }

                fn decode(
                    stored: &_es::StoredEvent,
                ) -> ::core::result::Result<_es::Decoded<Self>, _es::DecodeError> {
                    <Self as _es::Event>::decode_ref(&_es::StoredEventRef::from(stored))
                }

                #[inline]
                fn decode_ref(
                    stored: &_es::StoredEventRef<'_>,
                ) -> ::core::result::Result<_es::Decoded<Self>, _es::DecodeError> {
                    let event_type = stored.event_type;
                    let version = stored.schema_version;
                    // A raw upcaster's input is never in a typed chain (checked at compile
                    // time), so it is looked for first: a version and a tag compared per
                    // upcaster instead of every chain walked for a tag none of them has.
                    #(#raw_upcasts)*
                    if let ::core::option::Option::Some(result) = __es_decode_typed(
                        event_type,
                        version,
                        _es::codec::RawPayload::Json(stored.payload),
                        _es::Decoded::one,
                    ) {
                        return result.map_err(|error| _es::__private::from_upcast(stored, error));
                    }
                    #(#removed)*
                    if let ::core::option::Option::Some(result) =
                        _es::__private::decode_newer::<Self>(stored, __es_decode_typed_self)
                    {
                        return result.map(_es::Decoded::one);
                    }
                    ::core::result::Result::Err(_es::__private::not_found(
                        stored,
                        <Self as _es::Event>::CHAINS,
                        <Self as _es::Event>::RAW_VERSIONS,
                    ))
                }
            }

        #typed_dispatch

        #assertions
    }
}

/// The `decode` branch of a raw upcaster: only its own (event type, version) reaches it.
fn raw_upcast_arm(raw: &RawUpcast) -> TokenStream {
    let event_type = &raw.from.event_type;
    let version = int(raw.from.version);
    let name = display(&raw.with);
    let with = &raw.with;
    let (form, decode) = if raw.lent {
        ("RawRefUpcaster", quote!(decode_raw_ref))
    } else {
        ("RawUpcaster", quote!(decode_raw))
    };
    let form = Ident::new(form, with.span());
    // Coerced where the user wrote the path, so a wrong signature is reported there.
    let upcaster = quote_spanned! {with.span()=>
        {
            let __es_upcaster: _es::codec::#form = #with;
            __es_upcaster
        }
    };
    quote! {
        if version == #version && event_type == #event_type {
            return _es::__private::#decode::<Self>(stored, #name, #upcaster, __es_decode_typed_self);
        }
    }
}

/// The `decode` branch of a removed event type: no event.
fn removed_arm(removed: &Removed) -> TokenStream {
    let event_type = &removed.event_type;
    let condition = if let Some(version) = removed.version.map(int) {
        quote!(event_type == #event_type && version == #version)
    } else {
        quote!(event_type == #event_type)
    };
    quote! {
        if #condition {
            return ::core::result::Result::Ok(_es::Decoded::none());
        }
    }
}

/// The dispatch of a stored `(event type, version)` to the variant whose chain contains it, shared by stored
/// events and the outputs of raw upcasters. Its type parameters and the locals it adds have
/// names no user item has, so that neither a variant's type named `T` nor a `const then` in
/// scope is taken for them.
fn typed_dispatch(e: &EventEnum<'_>) -> TokenStream {
    let ident = e.ident;
    let variant = e.variants.iter().map(|v| v.ident);
    let ty = e.variants.iter().map(|v| v.ty);
    quote! {
        /// Decodes a stored `(event type, version)` through the variant whose chain contains it,
        /// handing the event to `__es_then`.
        #[inline]
        fn __es_decode_typed<__EsOut, __EsThen: ::core::ops::FnOnce(#ident) -> __EsOut>(
            event_type: &str,
            version: u32,
            payload: _es::codec::RawPayload<'_>,
            __es_then: __EsThen,
        ) -> ::core::option::Option<::core::result::Result<__EsOut, _es::codec::UpcastError>> {
            #(
                if <#ty as _es::VersionedEvent>::LINK.contains(event_type, version) {
                    return ::core::option::Option::Some(
                        <#ty as _es::VersionedEvent>::upcast_from_version_then(
                            version,
                            payload,
                            |__es_event| __es_then(#ident::#variant(__es_event)),
                        ),
                    );
                }
            )*
            let _ = __es_then;
            ::core::option::Option::None
        }

        /// `__es_decode_typed` giving the event itself, for the outputs of raw upcasters and
        /// the tolerant read of newer versions.
        fn __es_decode_typed_self(
            event_type: &str,
            version: u32,
            payload: _es::codec::RawPayload<'_>,
        ) -> ::core::option::Option<::core::result::Result<#ident, _es::codec::UpcastError>> {
            __es_decode_typed(event_type, version, payload, |__es_event| __es_event)
        }
    }
}

fn raw_upcast_version(raw: &RawUpcast) -> TokenStream {
    let event_type = &raw.from.event_type;
    let version = int(raw.from.version);
    let name = display(&raw.with);
    let schema = raw.schema.as_ref().map_or_else(
        || quote!(_es::__private::any_json_schema),
        |ty: &Path| quote!(_es::__private::root_schema::<#ty>),
    );
    quote!(_es::__private::raw_upcast_version(#event_type, #version, #name, #schema))
}

fn removed_version(removed: &Removed) -> TokenStream {
    let event_type = &removed.event_type;
    let version = optional_version(removed.version);
    quote!(_es::__private::removed_version(#event_type, #version))
}

fn optional_version(version: Option<u32>) -> TokenStream {
    if let Some(version) = version.map(int) {
        quote!(::core::option::Option::Some(#version))
    } else {
        quote!(::core::option::Option::None)
    }
}

/// The checks that need the chains of the variants' types, defined elsewhere: `const`
/// assertions, each spanned at the token to fix and naming the clash.
fn enum_assertions(e: &EventEnum<'_>) -> TokenStream {
    let ident = e.ident;
    let mut out = TokenStream::new();
    for (i, later) in e.variants.iter().enumerate() {
        for earlier in &e.variants[..i] {
            out.extend(one_chain_per_variant(ident, earlier, later));
        }
    }
    for removed in &e.attrs.removed {
        let what = match removed.version {
            None => format!("tag `{}` is removed", removed.event_type.value()),
            Some(v) => format!("(`{}`, {v}) is removed", removed.event_type.value()),
        };
        out.extend(not_decoded_by_variants(
            e,
            &removed.node,
            &removed.event_type,
            removed.version,
            &what,
            "a stored tag is either removed or decoded, not both",
        ));
    }
    for raw in &e.attrs.raw_upcasts {
        let what = format!(
            "(`{}`, {}) has a `raw_upcast`",
            raw.from.event_type.value(),
            raw.from.version
        );
        out.extend(not_decoded_by_variants(
            e,
            &raw.from.node,
            &raw.from.event_type,
            Some(raw.from.version),
            &what,
            "a stored (tag, version) is either rewritten by its raw upcaster or decoded by a typed chain, not both",
        ));
    }
    out
}

/// Asserts that two variants decode no stored (event type, schema version) in common: neither
/// holds an earlier version of the other's chain (the enum holds the current version of each
/// event type), and their chains share no version.
fn one_chain_per_variant(ident: &Ident, earlier: &Variant<'_>, later: &Variant<'_>) -> TokenStream {
    let (a, b) = (earlier.ty, later.ty);
    let link = |ty: &Type| quote!(&<#ty as _es::VersionedEvent>::LINK);
    let (link_a, link_b) = (link(a), link(b));
    // Spanned at the variant to remove.
    let older = |old: &Variant<'_>, current: &Variant<'_>| {
        let message = format!(
            "variant `{}` of `{ident}` holds `{}`, an earlier version of the event type whose current version `{}` variant `{}` holds: an event enum holds only the current version of each event type, and stored events of earlier versions decode into its variant through `upcast_from`; remove variant `{}`",
            old.ident,
            display(old.ty),
            display(current.ty),
            current.ident,
            old.ident,
        );
        let (old_link, current_link) = (link(old.ty), link(current.ty));
        quote_spanned! {old.ty.span()=>
            const _: () = ::core::assert!(
                !_es::__private::is_earlier_version(#old_link, #current_link),
                "{}",
                #message
            );
        }
    };
    let (a_older, b_older) = (older(earlier, later), older(later, earlier));
    let before = format!(
        "variants `{}` and `{}` of `{ident}` both decode the stored ",
        earlier.ident, later.ident,
    );
    let after = format!(
        ", through `{}` and `{}`: each stored (event type, schema version) must decode into one variant; change an event type's `name`, an `alias` or a `version`",
        display(a),
        display(b),
    );
    // Spanned at the variant to change.
    let clash = quote_spanned! {b.span()=>
        const _: () = {
            if _es::__private::is_earlier_version(#link_a, #link_b)
                || _es::__private::is_earlier_version(#link_b, #link_a)
            {
                // Reported by the assertions above, as two versions of one chain.
            } else if let ::core::option::Option::Some((event_type, version)) =
                _es::__private::shared_version(#link_a, #link_b)
            {
                ::core::panic!(
                    "{}",
                    _es::__private::ConstMessage::clash(#before, event_type, version, #after).as_str()
                );
            }
        };
    };
    quote!(#a_older #b_older #clash)
}

/// Asserts that no variant's chain decodes `event_type` (at `version`, or at any version).
fn not_decoded_by_variants(
    e: &EventEnum<'_>,
    span: &impl Spanned,
    event_type: &LitStr,
    version: Option<u32>,
    what: &str,
    rule: &str,
) -> TokenStream {
    let ident = e.ident;
    let version = optional_version(version);
    e.variants
        .iter()
        .map(|Variant { ident: variant, ty }| {
            let message = format!(
                "{what} on `{ident}`, but variant `{variant}` decodes it through `{}`: {rule}",
                display(ty)
            );
            quote_spanned! {span.span()=>
                const _: () = ::core::assert!(
                    !_es::__private::chain_decodes(
                        &<#ty as _es::VersionedEvent>::LINK,
                        #event_type,
                        #version,
                    ),
                    "{}",
                    #message
                );
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::version_marker;

    #[test]
    fn the_version_marker_names_the_version() {
        assert_eq!(
            version_marker("0.1.0"),
            "es_derive_and_es_core_versions_must_match_0_1_0"
        );
        assert_eq!(
            version_marker("1.2.0-rc.1+build.7"),
            "es_derive_and_es_core_versions_must_match_1_2_0_rc_1_build_7"
        );
    }
}
