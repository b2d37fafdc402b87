//! The impl emitted beside `compile_error!` when the input has errors.

use proc_macro2::TokenStream;
use quote::quote;
use syn::{Data, DeriveInput};

/// A minimal impl, so the user sees the attribute error rather than a cascade of "`X` does not
/// implement `Event`" errors. A struct without generics also gets a placeholder
/// `VersionedEvent` impl, for the enums and `upcast_from`s that name it. Goes inside the block
/// where es-core is `_es`, like every expansion.
pub fn items(input: &DeriveInput) -> TokenStream {
    let ident = &input.ident;
    let (impl_generics, ty_generics, where_clause) = input.generics.split_for_impl();
    let versioned = (matches!(input.data, Data::Struct(_)) && input.generics.params.is_empty())
        .then(|| {
            let rust_type = ident.to_string();
            quote! {
                #[automatically_derived]
                impl _es::VersionedEvent for #ident {
                    const TAG: &'static str = "";
                    const VERSION: u32 = 0;
                    const LINK: _es::codec::ChainLink = _es::__private::placeholder_link(#rust_type);
                    fn upcast_from_version(
                        _: u32,
                        _: _es::codec::RawPayload<'_>,
                    ) -> ::core::result::Result<Self, _es::codec::UpcastError> {
                        ::core::unreachable!()
                    }
                }
            }
        });
    quote! {
        #[automatically_derived]
        impl #impl_generics _es::Event for #ident #ty_generics #where_clause {
            const CHAINS: &'static [&'static _es::codec::ChainLink] = &[];
            fn event_type(&self) -> &'static str {
                ::core::unreachable!()
            }
            fn event_version(&self) -> u32 {
                ::core::unreachable!()
            }
            fn encode_payload(
                &self,
            ) -> ::core::result::Result<::std::vec::Vec<u8>, _es::__private::serde_json::Error> {
                ::core::unreachable!()
            }
            fn decode(
                _: &_es::StoredEvent,
            ) -> ::core::result::Result<_es::Decoded<Self>, _es::DecodeError> {
                ::core::unreachable!()
            }
        }
        #versioned
    }
}
