//! Tolerant reading (`#[event(read_newer)]`): release N decodes a newer version of a tag with
//! its latest struct when the newer payload fits it, so a change that only adds optional
//! fields ships in one release. A payload that does not fit is a `FutureVersion` error naming
//! the stored event, never a silent default.

use es_core::{DecodeErrorKind, Event, NewEvent};
use es_tests::replay::decode_stored;

/// Release N: `FundsDeposited` v2 is the latest, and reads newer versions that fit it.
mod release_n {
    use es_core::Event;
    use schemars::JsonSchema;
    use serde::{Deserialize, Serialize};

    #[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema, Event)]
    #[event(name = "FundsDeposited", version = 1)]
    pub struct FundsDepositedV1 {
        pub amt: u64,
    }

    #[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema, Event)]
    #[event(
        name = "FundsDeposited",
        version = 2,
        upcast_from = FundsDepositedV1,
        read_newer
    )]
    pub struct FundsDeposited {
        pub amount: u64,
    }

    impl From<FundsDepositedV1> for FundsDeposited {
        fn from(v1: FundsDepositedV1) -> Self {
            Self { amount: v1.amt }
        }
    }

    #[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema, Event)]
    #[event(name = "FundsWithdrawn", version = 1)]
    pub struct FundsWithdrawn {
        pub amount: u64,
    }

    #[derive(Debug, Clone, PartialEq, Eq, Event)]
    pub enum BankEvent {
        Deposited(FundsDeposited),
        Withdrawn(FundsWithdrawn),
    }
}

/// Release N+1 variants of `FundsDeposited` v3.
mod release_n1 {
    use es_core::Event;
    use schemars::JsonSchema;
    use serde::{Deserialize, Serialize};

    use super::release_n::FundsDeposited as FundsDepositedV2;

    /// Forward compatible: adds an optional field.
    #[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema, Event)]
    #[event(name = "FundsDeposited", version = 3, upcast_from = FundsDepositedV2)]
    pub struct WithMemo {
        pub amount: u64,
        #[serde(default)]
        pub memo: Option<String>,
    }

    impl From<FundsDepositedV2> for WithMemo {
        fn from(v2: FundsDepositedV2) -> Self {
            Self {
                amount: v2.amount,
                memo: None,
            }
        }
    }

    /// Not forward compatible: `amount` renamed `cents`.
    #[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema, Event)]
    #[event(name = "FundsDeposited", version = 3, upcast_from = FundsDepositedV2)]
    pub struct Renamed {
        pub cents: u64,
    }

    impl From<FundsDepositedV2> for Renamed {
        fn from(v2: FundsDepositedV2) -> Self {
            Self { cents: v2.amount }
        }
    }
}

/// The bank's `FundsDeposited` v2 as the examples publish it, without `read_newer`.
use es_examples::account::AccountEvent as StrictBankEvent;

#[test]
fn a_forward_compatible_v3_decodes_as_v2_in_release_n() {
    let v3 = release_n1::WithMemo {
        amount: 50,
        memo: Some("rent".into()),
    };
    let written = NewEvent::encode(&v3).expect("encodes");
    assert_eq!(
        (written.event_type(), written.schema_version()),
        ("FundsDeposited", 3)
    );
    assert_eq!(
        decode_stored::<release_n::BankEvent>("acc-1", written).expect("fits v2"),
        [release_n::BankEvent::Deposited(release_n::FundsDeposited {
            amount: 50
        })]
    );
    // Without the optional field too, and on the struct's own decode point.
    let without_memo = NewEvent::new("FundsDeposited", 3, serde_json::json!({ "amount": 7 }));
    assert_eq!(
        decode_stored::<release_n::FundsDeposited>("acc-1", without_memo).expect("fits v2"),
        [release_n::FundsDeposited { amount: 7 }]
    );
    // Any newer version, as long as it fits.
    let v9 = NewEvent::new(
        "FundsDeposited",
        9,
        serde_json::json!({ "amount": 8, "x": [1] }),
    );
    assert_eq!(
        decode_stored::<release_n::BankEvent>("acc-1", v9).expect("fits v2"),
        [release_n::BankEvent::Deposited(release_n::FundsDeposited {
            amount: 8
        })]
    );
}

#[test]
fn a_v3_that_renamed_a_field_does_not_decode_and_the_error_names_the_stored_event() {
    let written = NewEvent::encode(&release_n1::Renamed { cents: 50 }).expect("encodes");
    let error = decode_stored::<release_n::BankEvent>("acc-1", written).expect_err("does not fit");
    assert_eq!(
        (
            error.stream_id.as_str(),
            error.stream_version,
            error.position
        ),
        ("acc-1", 1, 1)
    );
    assert_eq!(
        (error.event_type.as_str(), error.schema_version),
        ("FundsDeposited", 3)
    );
    match &error.kind {
        DecodeErrorKind::FutureVersion {
            latest: 2,
            unfit: Some(unfit),
        } => assert_eq!(unfit.into, "FundsDeposited"),
        other => panic!("expected FutureVersion with the reason, got {other:?}"),
    }
    assert_eq!(
        error.to_string(),
        "cannot decode event `FundsDeposited` v3 in stream `acc-1` at version 1 (position 1): \
         version 3 is newer than the latest this code knows (v2), and its payload does not fit \
         `FundsDeposited` at field `amount`, which reads newer versions only when they fit"
    );
    assert_eq!(error.field(), Some("amount"), "the missing field");
    let source = std::error::Error::source(&error).expect("serde's reason");
    assert!(
        source.to_string().starts_with("missing field `amount`"),
        "{source}"
    );
}

#[test]
fn a_v3_that_changed_a_field_type_does_not_fit() {
    let retyped = NewEvent::new(
        "FundsDeposited",
        3,
        serde_json::json!({ "amount": "50.00" }),
    );
    let error = decode_stored::<release_n::BankEvent>("acc-1", retyped).expect_err("no fit");
    assert!(
        matches!(
            error.kind,
            DecodeErrorKind::FutureVersion {
                latest: 2,
                unfit: Some(_)
            }
        ),
        "{error:?}"
    );
    let not_json = NewEvent::from_json_bytes("FundsDeposited", 3, b"{ amount".to_vec());
    let error = decode_stored::<release_n::BankEvent>("acc-1", not_json).expect_err("no fit");
    assert!(
        matches!(
            error.kind,
            DecodeErrorKind::FutureVersion {
                latest: 2,
                unfit: Some(_)
            }
        ),
        "{error:?}"
    );
}

#[test]
fn without_read_newer_every_newer_version_is_a_future_version() {
    let v3 = NewEvent::encode(&release_n1::WithMemo {
        amount: 50,
        memo: None,
    })
    .expect("encodes");
    let error = decode_stored::<StrictBankEvent>("acc-1", v3).expect_err("not opted in");
    assert!(
        matches!(
            error.kind,
            DecodeErrorKind::FutureVersion {
                latest: 2,
                unfit: None
            }
        ),
        "{error:?}"
    );
}

#[test]
fn read_newer_is_per_tag_and_known_versions_decode_as_before() {
    // `FundsWithdrawn` did not opt in.
    let newer = NewEvent::new("FundsWithdrawn", 2, serde_json::json!({ "amount": 5 }));
    let error = decode_stored::<release_n::BankEvent>("acc-1", newer).expect_err("strict");
    assert!(
        matches!(
            error.kind,
            DecodeErrorKind::FutureVersion {
                latest: 1,
                unfit: None
            }
        ),
        "{error:?}"
    );
    // Stored v1 still upcasts; an unknown tag is still unknown.
    let v1 = NewEvent::new("FundsDeposited", 1, serde_json::json!({ "amt": 3 }));
    assert_eq!(
        decode_stored::<release_n::BankEvent>("acc-1", v1).expect("upcasts"),
        [release_n::BankEvent::Deposited(release_n::FundsDeposited {
            amount: 3
        })]
    );
    let unknown = NewEvent::new("FeeCharged", 1, serde_json::json!({}));
    let error = decode_stored::<release_n::BankEvent>("acc-1", unknown).expect_err("unknown");
    assert!(
        matches!(error.kind, DecodeErrorKind::UnknownType),
        "{error:?}"
    );
    // The struct's own encoding is untouched by `read_newer`.
    let event = release_n::BankEvent::Deposited(release_n::FundsDeposited { amount: 1 });
    assert_eq!(
        (event.event_type(), event.event_version()),
        ("FundsDeposited", 2)
    );
}
