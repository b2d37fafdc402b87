//! Code generation only: every decision was made by `ast`, `attr` and `check`.

use proc_macro2::TokenStream;
use quote::{quote, quote_spanned, ToTokens};
use syn::spanned::Spanned;
use syn::DeriveInput;

use crate::ast::{EventEnum, Input, VersionStruct};
use crate::attr::crate_path;
use crate::check;
use crate::ctxt::Ctxt;

pub fn derive(input: &DeriveInput) -> TokenStream {
    let cx = Ctxt::new();
    let parsed = Input::from_syn(&cx, input);
    if let Some(parsed) = &parsed {
        check::check(&cx, parsed);
    }
    match (cx.check(), parsed) {
        (Ok(()), Some(Input::Struct(s))) => expand_struct(&s),
        (Ok(()), Some(Input::Enum(e))) => expand_enum(&e),
        (Err(error), _) => {
            let mut out = error.to_compile_error();
            out.extend(fallback(input));
            out
        }
        (Ok(()), None) => fallback(input),
    }
}

fn expand_struct(s: &VersionStruct<'_>) -> TokenStream {
    let krate = crate_path(s.attrs.krate.as_ref());
    let ident = s.ident;
    let tag = s
        .attrs
        .name
        .as_ref()
        .map_or_else(|| ident.to_string(), |name| name.value.value());
    let version = s.attrs.version.as_ref().map_or(1, |v| v.value.0);
    let aliases = s.attrs.aliases.iter();
    let rust_type = ident.to_string();

    let (previous_link, upcast_step, order_assertion) = match &s.attrs.upcast_from {
        Some(from) => {
            let prev = &from.value;
            let prev_name = prev.to_token_stream().to_string().replace(' ', "");
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
                    #message
                );
            };
            (
                quote!(::core::option::Option::Some(&<#prev as #krate::VersionedEvent>::LINK)),
                upcast,
                assertion,
            )
        }
        None => (
            quote!(::core::option::Option::None),
            quote! {
                let _ = payload;
                ::core::result::Result::Err(#krate::codec::UpcastError::NotInChain { version })
            },
            TokenStream::new(),
        ),
    };

    quote! {
        const _: () = {
            #[automatically_derived]
            impl #krate::VersionedEvent for #ident {
                const TAG: &'static str = #tag;
                const VERSION: u32 = #version;
                const LINK: #krate::codec::ChainLink = #krate::codec::ChainLink {
                    tag: #tag,
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

fn expand_enum(e: &EventEnum<'_>) -> TokenStream {
    let krate = crate_path(e.attrs.krate.as_ref());
    let ident = e.ident;
    let variant = e.variants.iter().map(|v| v.ident).collect::<Vec<_>>();
    let ty = e.variants.iter().map(|v| v.ty).collect::<Vec<_>>();

    let mut overlap_assertions = TokenStream::new();
    for (i, later) in e.variants.iter().enumerate() {
        for earlier in &e.variants[..i] {
            let (a, b) = (earlier.ty, later.ty);
            let message = format!(
                "variants `{}` and `{}` of `{ident}` both decode the same stored (tag, version): \
                 `{}` and `{}` share a version with the same tag or alias",
                earlier.ident,
                later.ident,
                a.to_token_stream().to_string().replace(' ', ""),
                b.to_token_stream().to_string().replace(' ', ""),
            );
            overlap_assertions.extend(quote_spanned! {b.span()=>
                const _: () = ::core::assert!(
                    !#krate::__private::chains_overlap(
                        &<#a as #krate::VersionedEvent>::LINK,
                        &<#b as #krate::VersionedEvent>::LINK,
                    ),
                    #message
                );
            });
        }
    }

    quote! {
        const _: () = {
            #[automatically_derived]
            impl #krate::Event for #ident {
                const CHAINS: &'static [&'static #krate::codec::ChainLink] =
                    &[#(&<#ty as #krate::VersionedEvent>::LINK),*];

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
                    #(
                        if <#ty as #krate::VersionedEvent>::LINK.contains(tag, version) {
                            return #krate::__private::decode_in_chain::<#ty>(stored)
                                .map(|event| #krate::Decoded::one(Self::#variant(event)));
                        }
                    )*
                    ::core::result::Result::Err(#krate::__private::not_found(
                        stored,
                        <Self as #krate::Event>::CHAINS,
                    ))
                }
            }

            #overlap_assertions
        };
    }
}

/// A minimal `Event` impl emitted beside `compile_error!`, so the user sees the attribute error
/// rather than a cascade of "`X` does not implement `Event`" errors.
fn fallback(input: &DeriveInput) -> TokenStream {
    let ident = &input.ident;
    let (impl_generics, ty_generics, where_clause) = input.generics.split_for_impl();
    quote! {
        const _: () = {
            #[automatically_derived]
            impl #impl_generics ::es_core::Event for #ident #ty_generics #where_clause {
                const CHAINS: &'static [&'static ::es_core::codec::ChainLink] = &[];
                fn event_type(&self) -> &'static str {
                    ::core::unreachable!()
                }
                fn event_version(&self) -> u32 {
                    ::core::unreachable!()
                }
                fn encode_payload(
                    &self,
                ) -> ::core::result::Result<::std::vec::Vec<u8>, ::es_core::__private::serde_json::Error> {
                    ::core::unreachable!()
                }
                fn decode(
                    _: &::es_core::StoredEvent,
                ) -> ::core::result::Result<::es_core::Decoded<Self>, ::es_core::DecodeError> {
                    ::core::unreachable!()
                }
            }
        };
    }
}
