//! The pretty-printed expansion of representative inputs, pinned by insta snapshots under
//! `src/snapshots/` (review changes with `cargo insta review`).

use syn::{parse_quote, DeriveInput};

use crate::expand;

fn expand_pretty(input: &DeriveInput) -> String {
    let tokens = expand::derive(input);
    match syn::parse2::<syn::File>(tokens.clone()) {
        Ok(file) => prettyplease::unparse(&file),
        Err(error) => panic!("the expansion is not valid Rust ({error}):\n{tokens}"),
    }
}

#[test]
fn struct_first_version() {
    let input: DeriveInput = parse_quote! {
        #[event(name = "FundsWithdrawn", version = 1)]
        pub struct FundsWithdrawn {
            pub amount: u64,
        }
    };
    insta::assert_snapshot!(expand_pretty(&input));
}

#[test]
fn struct_with_upcast_from_and_alias() {
    let input: DeriveInput = parse_quote! {
        #[event(name = "AccountOpened", version = 2, upcast_from = AccountCreatedV1, alias = "AccountStarted")]
        pub struct AccountOpened {
            pub owner: String,
            pub initial_deposit: u64,
        }
    };
    insta::assert_snapshot!(expand_pretty(&input));
}

#[test]
fn struct_with_try_upcast() {
    let input: DeriveInput = parse_quote! {
        #[event(name = "PriceChanged", version = 2, upcast_from = legacy::PriceChangedV1, try_upcast)]
        pub struct PriceChanged {
            pub cents: u64,
        }
    };
    insta::assert_snapshot!(expand_pretty(&input));
}

#[test]
fn struct_written_as_its_previous_version_and_reading_newer_ones() {
    let input: DeriveInput = parse_quote! {
        #[event(name = "FundsDeposited", version = 3, upcast_from = FundsDepositedV2, write_as = FundsDepositedV2, read_newer)]
        pub struct FundsDeposited {
            pub amount: u64,
            pub memo: Option<String>,
        }
    };
    insta::assert_snapshot!(expand_pretty(&input));
}

#[test]
fn enum_with_removed_and_raw_upcast() {
    let input: DeriveInput = parse_quote! {
        #[event(removed("CartViewed", ("OrderPrinted", 1)))]
        #[event(raw_upcast(from = ("ItemsAdded", 1), with = migrations::split_items, schema = legacy::ItemsAddedV1))]
        #[event(raw_upcast(from = ("ItemsRemoved", 1), with_ref = migrations::drop_items))]
        pub enum OrderEvent {
            Placed(OrderPlaced),
            ItemAdded(ItemAdded),
        }
    };
    insta::assert_snapshot!(expand_pretty(&input));
}

#[test]
fn attribute_errors_expand_to_compile_errors_and_a_fallback_impl() {
    let input: DeriveInput = parse_quote! {
        #[event(crate = "renamed_es", version = 0, verison = 2)]
        pub struct Broken {
            pub n: u32,
        }
    };
    insta::assert_snapshot!(expand_pretty(&input));
}

/// With `crate = "..."` nothing in the expansion names `es_core`, so it works when es-core is
/// renamed in Cargo.toml (the fallback beside a compile error included); the path is written
/// once, in `use renamed_es as _es`.
#[test]
fn renamed_crate_is_used_everywhere() {
    let inputs: [DeriveInput; 3] = [
        parse_quote! {
            #[event(crate = "renamed_es", version = 2, upcast_from = V1, try_upcast)]
            struct V2 { n: u64 }
        },
        parse_quote! {
            #[event(crate = "renamed_es", removed("Old"), raw_upcast(from = ("Older", 1), with = f))]
            enum E { A(V2) }
        },
        parse_quote! {
            #[event(crate = "renamed_es", version = 0)]
            struct Broken { n: u64 }
        },
    ];
    for input in &inputs {
        let expansion = expand::derive(input).to_string();
        let idents = || expansion.split(|c: char| !(c.is_alphanumeric() || c == '_'));
        assert_eq!(
            idents().filter(|&i| i == "renamed_es").count(),
            1,
            "{expansion}"
        );
        assert!(idents().all(|i| i != "es_core"), "{expansion}");
    }
}
