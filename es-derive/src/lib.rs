//! `#[derive(Event)]`, re-exported by `es-core`: depend on `es-core` and write
//! `use es_core::Event;`.

mod ast;
mod attr;
mod check;
mod ctxt;
mod expand;
#[cfg(test)]
mod expansion_snapshots;
mod fallback;
mod symbol;
mod value;

use proc_macro::TokenStream;
use syn::{parse_macro_input, DeriveInput};

/// Derives `es_core::Event` on a version struct or on the domain's event enum; see `es_core`.
#[proc_macro_derive(Event, attributes(event))]
pub fn derive_event(input: TokenStream) -> TokenStream {
    let input = parse_macro_input!(input as DeriveInput);
    expand::derive(&input).into()
}
