//! Code generation only: every decision was made by `ast`, `attr` and `check`.

use proc_macro2::{Literal, TokenStream};
use quote::{quote, quote_spanned, ToTokens};
use syn::spanned::Spanned;
use syn::{Data, DeriveInput, Path};

use crate::ast::{EventEnum, Input, Variant, VersionStruct};
use crate::attr::{crate_path, RawUpcast, Removed};
use crate::ctxt::Ctxt;

pub fn derive(input: &DeriveInput) -> TokenStream {
    let cx = Ctxt::new();
    let parsed = Input::from_syn(&cx, input);
    let krate = crate_path(parsed.as_ref().and_then(Input::krate));
    match (cx.check(), parsed) {
        (Ok(()), Some(Input::Struct(s))) => expand_struct(&s),
        (Ok(()), Some(Input::Enum(e))) => expand_enum(&e),
        (Err(error), _) => {
            let mut out = error.to_compile_error();
            out.extend(fallback(input, &krate));
            out
        }
        (Ok(()), None) => fallback(input, &krate),
    }
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
    let krate = crate_path(s.attrs.krate.as_ref());
    let ident = s.ident;
    let event_type = &s.event_type;
    let version = int(s.attrs.version.as_ref().map_or(1, |v| v.value.0));
    let aliases = s.attrs.aliases.iter();
    let rust_type = ident.to_string();

    let UpcastParts {
        previous_link,
        upcast_step,
        order_assertion,
    } = upcast_parts(s, &krate, &version);

    quote! {
        const _: () = {
            #[automatically_derived]
            impl #krate::VersionedEvent for #ident {
                const TAG: &'static str = #event_type;
                const VERSION: u32 = #version;
                const LINK: #krate::codec::ChainLink = #krate::codec::ChainLink {
                    tag: #event_type,
                    aliases: &[#(#aliases),*],
                    version: #version,
                    rust_type: #rust_type,
                    schema: #krate::__private::root_schema::<Self>,
                    previous: #previous_link,
                };

                fn upcast_from_version(
                    version: u32,
                    payload: #krate::codec::RawPayload<'_>,
                ) -> ::core::result::Result<Self, #krate::codec::UpcastError> {
                    if version == #version {
                        return payload.parse::<Self>();
                    }
                    #upcast_step
                }
            }

            #[automatically_derived]
            impl #krate::Event for #ident {
                const CHAINS: &'static [&'static #krate::codec::ChainLink] =
                    &[&<Self as #krate::VersionedEvent>::LINK];

                fn event_type(&self) -> &'static str {
                    <Self as #krate::VersionedEvent>::TAG
                }

                fn event_version(&self) -> u32 {
                    <Self as #krate::VersionedEvent>::VERSION
                }

                fn encode_payload(
                    &self,
                ) -> ::core::result::Result<::std::vec::Vec<u8>, #krate::__private::serde_json::Error> {
                    #krate::__private::serde_json::to_vec(self)
                }

                fn decode(
                    stored: &#krate::StoredEvent,
                ) -> ::core::result::Result<#krate::Decoded<Self>, #krate::DecodeError> {
                    #krate::__private::decode_struct::<Self>(stored)
                }
            }

            #order_assertion
        };
    }
}

/// What `upcast_from` adds to a struct's expansion.
struct UpcastParts {
    /// The `previous` field of the struct's `ChainLink`.
    previous_link: TokenStream,
    /// The body of `upcast_from_version` for an older version.
    upcast_step: TokenStream,
    /// The check that `upcast_from` names a lower version.
    order_assertion: TokenStream,
}

fn upcast_parts(s: &VersionStruct<'_>, krate: &TokenStream, version: &Literal) -> UpcastParts {
    let ident = s.ident;
    match &s.attrs.upcast_from {
        Some(from) => {
            let prev = &from.value;
            let prev_name = display(prev);
            let step = if s.attrs.try_upcast.is_some() {
                quote! {
                    <Self as ::core::convert::TryFrom<#prev>>::try_from(previous)
                        .map_err(|e| #krate::codec::UpcastError::failed(#prev_name, e))
                }
            } else {
                quote! {
                    ::core::result::Result::Ok(<Self as ::core::convert::From<#prev>>::from(previous))
                }
            };
            let upcast = quote! {
                let previous = <#prev as #krate::VersionedEvent>::upcast_from_version(version, payload)?;
                #step
            };
            let message = format!(
                "`upcast_from = {prev_name}` must name an earlier version: its `version` must be lower than {version}, the version of `{ident}`"
            );
            let assertion = quote_spanned! {prev.span()=>
                const _: () = ::core::assert!(
                    <#prev as #krate::VersionedEvent>::VERSION < #version,
                    "{}",
                    #message
                );
            };
            UpcastParts {
                previous_link: quote!(::core::option::Option::Some(&<#prev as #krate::VersionedEvent>::LINK)),
                upcast_step: upcast,
                order_assertion: assertion,
            }
        }
        None => UpcastParts {
            previous_link: quote!(::core::option::Option::None),
            upcast_step: quote! {
                let _ = payload;
                ::core::result::Result::Err(#krate::codec::UpcastError::NotInChain { version })
            },
            order_assertion: TokenStream::new(),
        },
    }
}

fn expand_enum(e: &EventEnum<'_>) -> TokenStream {
    let krate = crate_path(e.attrs.krate.as_ref());
    let ident = e.ident;
    let variant = e.variants.iter().map(|v| v.ident).collect::<Vec<_>>();
    let ty = e.variants.iter().map(|v| v.ty).collect::<Vec<_>>();
    let assertions = enum_assertions(e, &krate);

    let raw_versions = e
        .attrs
        .raw_upcasts
        .iter()
        .map(|raw| raw_upcast_version(raw, &krate))
        .chain(
            e.attrs
                .removed
                .iter()
                .map(|removed| removed_version(removed, &krate)),
        )
        .collect::<Vec<_>>();
    let raw_versions_const = (!raw_versions.is_empty()).then(|| {
        quote! {
            const RAW_VERSIONS: &'static [#krate::codec::VersionInfo] = &[#(#raw_versions),*];
        }
    });
    let raw_upcasts = e
        .attrs
        .raw_upcasts
        .iter()
        .map(|raw| raw_upcast_arm(raw, &krate));
    let removed = e
        .attrs
        .removed
        .iter()
        .map(|removed| removed_arm(removed, &krate));
    let typed_dispatch = typed_dispatch(e, &krate);

    quote! {
        const _: () = {
            #[automatically_derived]
            impl #krate::Event for #ident {
                const CHAINS: &'static [&'static #krate::codec::ChainLink] =
                    &[#(&<#ty as #krate::VersionedEvent>::LINK),*];

                #raw_versions_const

                fn event_type(&self) -> &'static str {
                    match self {
                        #(Self::#variant(_) => <#ty as #krate::VersionedEvent>::TAG,)*
                    }
                }

                fn event_version(&self) -> u32 {
                    match self {
                        #(Self::#variant(_) => <#ty as #krate::VersionedEvent>::VERSION,)*
                    }
                }

                fn encode_payload(
                    &self,
                ) -> ::core::result::Result<::std::vec::Vec<u8>, #krate::__private::serde_json::Error> {
                    match self {
                        #(Self::#variant(event) => #krate::__private::serde_json::to_vec(event),)*
                    }
                }

                fn decode(
                    stored: &#krate::StoredEvent,
                ) -> ::core::result::Result<#krate::Decoded<Self>, #krate::DecodeError> {
                    let tag = stored.event_type.as_str();
                    let version = stored.schema_version;
                    if let ::core::option::Option::Some(result) = __es_decode_typed(
                        tag,
                        version,
                        #krate::codec::RawPayload::Json(&stored.payload),
                    ) {
                        return result
                            .map(#krate::Decoded::one)
                            .map_err(|error| #krate::DecodeError::from_upcast(stored, error));
                    }
                    #(#raw_upcasts)*
                    #(#removed)*
                    ::core::result::Result::Err(#krate::__private::not_found(
                        stored,
                        <Self as #krate::Event>::CHAINS,
                        <Self as #krate::Event>::RAW_VERSIONS,
                    ))
                }
            }

            #typed_dispatch

            #assertions
        };
    }
}

/// The `decode` branch of a raw upcaster: only its own (tag, version) reaches it.
fn raw_upcast_arm(raw: &RawUpcast, krate: &TokenStream) -> TokenStream {
    let tag = &raw.from.event_type;
    let version = int(raw.from.version);
    let name = display(&raw.with);
    let with = &raw.with;
    // Coerced where the user wrote the path, so a wrong signature is reported there.
    let upcaster = quote_spanned! {with.span()=>
        {
            let upcaster: #krate::codec::RawUpcaster = #with;
            upcaster
        }
    };
    quote! {
        if tag == #tag && version == #version {
            return #krate::__private::decode_raw::<Self>(stored, #name, #upcaster, __es_decode_typed);
        }
    }
}

/// The `decode` branch of a removed tag: no event.
fn removed_arm(removed: &Removed, krate: &TokenStream) -> TokenStream {
    let tag = &removed.event_type;
    let condition = if let Some(version) = removed.version.map(int) {
        quote!(tag == #tag && version == #version)
    } else {
        quote!(tag == #tag)
    };
    quote! {
        if #condition {
            return ::core::result::Result::Ok(#krate::Decoded::none());
        }
    }
}

/// The dispatch of a `(tag, version)` to the variant whose chain contains it, shared by stored
/// events and the outputs of raw upcasters.
fn typed_dispatch(e: &EventEnum<'_>, krate: &TokenStream) -> TokenStream {
    let ident = e.ident;
    let variant = e.variants.iter().map(|v| v.ident);
    let ty = e.variants.iter().map(|v| v.ty);
    quote! {
        /// Decodes a stored `(tag, version)` through the variant whose chain contains it.
        fn __es_decode_typed(
            tag: &str,
            version: u32,
            payload: #krate::codec::RawPayload<'_>,
        ) -> ::core::option::Option<::core::result::Result<#ident, #krate::codec::UpcastError>> {
            #(
                if <#ty as #krate::VersionedEvent>::LINK.contains(tag, version) {
                    return ::core::option::Option::Some(
                        <#ty as #krate::VersionedEvent>::upcast_from_version(version, payload)
                            .map(#ident::#variant),
                    );
                }
            )*
            ::core::option::Option::None
        }
    }
}

fn raw_upcast_version(raw: &RawUpcast, krate: &TokenStream) -> TokenStream {
    let tag = &raw.from.event_type;
    let version = int(raw.from.version);
    let name = display(&raw.with);
    let schema = raw.schema.as_ref().map_or_else(
        || quote!(#krate::__private::any_json_schema),
        |ty: &Path| quote!(#krate::__private::root_schema::<#ty>),
    );
    quote!(#krate::__private::raw_upcast_version(#tag, #version, #name, #schema))
}

fn removed_version(removed: &Removed, krate: &TokenStream) -> TokenStream {
    let tag = &removed.event_type;
    let version = optional_version(removed.version);
    quote!(#krate::__private::removed_version(#tag, #version))
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
fn enum_assertions(e: &EventEnum<'_>, krate: &TokenStream) -> TokenStream {
    let ident = e.ident;
    let mut out = TokenStream::new();
    for (i, later) in e.variants.iter().enumerate() {
        for earlier in &e.variants[..i] {
            let (a, b) = (earlier.ty, later.ty);
            let before = format!(
                "variants `{}` and `{}` of `{ident}` both decode the stored ",
                earlier.ident, later.ident,
            );
            let after = format!(
                ", through `{}` and `{}`: each stored (tag, version) must decode into one variant; change a tag, an alias or a version",
                display(a),
                display(b),
            );
            out.extend(quote_spanned! {b.span()=>
                const _: () = {
                    if let ::core::option::Option::Some((tag, version)) = #krate::__private::shared_version(
                        &<#a as #krate::VersionedEvent>::LINK,
                        &<#b as #krate::VersionedEvent>::LINK,
                    ) {
                        ::core::panic!(
                            "{}",
                            #krate::__private::ConstMessage::clash(#before, tag, version, #after).as_str()
                        );
                    }
                };
            });
        }
    }
    for removed in &e.attrs.removed {
        let what = match removed.version {
            None => format!("tag `{}` is removed", removed.event_type.value()),
            Some(v) => format!("(`{}`, {v}) is removed", removed.event_type.value()),
        };
        out.extend(not_decoded_by_variants(
            e,
            krate,
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
            krate,
            &raw.from.node,
            &raw.from.event_type,
            Some(raw.from.version),
            &what,
            "a stored (tag, version) is either rewritten by its raw upcaster or decoded by a typed chain, not both",
        ));
    }
    out
}

/// Asserts that no variant's chain decodes `tag` (at `version`, or at any version).
fn not_decoded_by_variants(
    e: &EventEnum<'_>,
    krate: &TokenStream,
    span: &impl Spanned,
    tag: &syn::LitStr,
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
                    !#krate::__private::chain_decodes(
                        &<#ty as #krate::VersionedEvent>::LINK,
                        #tag,
                        #version,
                    ),
                    "{}",
                    #message
                );
            }
        })
        .collect()
}

/// A minimal impl emitted beside `compile_error!`, so the user sees the attribute error rather
/// than a cascade of "`X` does not implement `Event`" errors. A struct without generics also
/// gets a placeholder `VersionedEvent` impl, for the enums and `upcast_from`s that name it.
fn fallback(input: &DeriveInput, krate: &TokenStream) -> TokenStream {
    let ident = &input.ident;
    let (impl_generics, ty_generics, where_clause) = input.generics.split_for_impl();
    let versioned = (matches!(input.data, Data::Struct(_)) && input.generics.params.is_empty())
        .then(|| {
            let rust_type = ident.to_string();
            quote! {
                #[automatically_derived]
                impl #krate::VersionedEvent for #ident {
                    const TAG: &'static str = "";
                    const VERSION: u32 = 0;
                    const LINK: #krate::codec::ChainLink = #krate::__private::placeholder_link(#rust_type);
                    fn upcast_from_version(
                        _: u32,
                        _: #krate::codec::RawPayload<'_>,
                    ) -> ::core::result::Result<Self, #krate::codec::UpcastError> {
                        ::core::unreachable!()
                    }
                }
            }
        });
    quote! {
        const _: () = {
            #[automatically_derived]
            impl #impl_generics #krate::Event for #ident #ty_generics #where_clause {
                const CHAINS: &'static [&'static #krate::codec::ChainLink] = &[];
                fn event_type(&self) -> &'static str {
                    ::core::unreachable!()
                }
                fn event_version(&self) -> u32 {
                    ::core::unreachable!()
                }
                fn encode_payload(
                    &self,
                ) -> ::core::result::Result<::std::vec::Vec<u8>, #krate::__private::serde_json::Error> {
                    ::core::unreachable!()
                }
                fn decode(
                    _: &#krate::StoredEvent,
                ) -> ::core::result::Result<#krate::Decoded<Self>, #krate::DecodeError> {
                    ::core::unreachable!()
                }
            }
            #versioned
        };
    }
}
