//! Decoding never panics: each way a stored event can fail to decode has its own error, and
//! every message names the stream, stream version, global position, tag and version, also when
//! a `TryFrom` step or a raw upcaster fails or returns an event that does not decode.

use es_core::{
    DecodeError, DecodeErrorKind, Event, EventStore, ExpectedVersion, MemoryStore, NewEvent,
    StoredEvent,
};
use es_examples::account::AccountEvent;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::json;

/// Stores `events` in stream `acc-7` after two unrelated events, so stream version and global
/// position differ, and returns the last one as stored.
fn stored_after_noise(event: NewEvent) -> StoredEvent {
    let store = MemoryStore::new();
    store
        .append(
            "noise",
            ExpectedVersion::Any,
            vec![NewEvent::new("Noise", 1, json!({}))],
        )
        .expect("append");
    let opened = NewEvent::new(
        "AccountOpened",
        3,
        json!({ "owner": "a", "initial_deposit": 1, "currency": "EUR" }),
    );
    store
        .append("acc-7", ExpectedVersion::NoStream, vec![opened, event])
        .expect("append");
    let stored = store
        .read_stream("acc-7", 2)
        .expect("read")
        .next()
        .expect("the event")
        .expect("readable");
    stored
}

fn decode_error<E: Event>(stored: &StoredEvent) -> DecodeError {
    match E::decode(stored) {
        Ok(decoded) => panic!("expected a decode error, got {} events", decoded.len()),
        Err(e) => e,
    }
}

fn assert_names_context(error: &DecodeError, tag: &str, version: u32) {
    let message = error.to_string();
    for part in [
        format!("`{tag}` v{version}"),
        "stream `acc-7`".to_owned(),
        "at version 2".to_owned(),
        "(position 3)".to_owned(),
    ] {
        assert!(
            message.contains(&part),
            "{message:?} should contain {part:?}"
        );
    }
    assert_eq!(
        (
            error.stream_id.as_str(),
            error.stream_version,
            error.position
        ),
        ("acc-7", 2, 3)
    );
    assert_eq!(
        (error.event_type.as_str(), error.schema_version),
        (tag, version)
    );
}

#[test]
fn unknown_tag_is_unknown_type() {
    let stored = stored_after_noise(NewEvent::new("AccountFrozen", 1, json!({})));
    let error = decode_error::<AccountEvent>(&stored);
    assert!(
        matches!(error.kind, DecodeErrorKind::UnknownType),
        "{:?}",
        error.kind
    );
    assert_names_context(&error, "AccountFrozen", 1);
    assert!(error.to_string().ends_with("unknown event type"), "{error}");
}

#[test]
fn version_newer_than_the_code_is_future_version() {
    let stored = stored_after_noise(NewEvent::new("FundsDeposited", 3, json!({ "amount": 1 })));
    let error = decode_error::<AccountEvent>(&stored);
    assert!(
        matches!(error.kind, DecodeErrorKind::FutureVersion { latest: 2, .. }),
        "{:?}",
        error.kind
    );
    assert_names_context(&error, "FundsDeposited", 3);
    assert!(
        error
            .to_string()
            .contains("newer than the latest this code knows (v2)"),
        "{error}"
    );
}

#[derive(Debug, Serialize, Deserialize, JsonSchema, es_core::Event)]
#[event(name = "Gappy", version = 1)]
struct GappyV1 {
    n: u32,
}

/// Version 2 was never published as a struct: v3 upcasts straight from v1.
#[derive(Debug, Serialize, Deserialize, JsonSchema, es_core::Event)]
#[event(name = "Gappy", version = 3, upcast_from = GappyV1)]
struct Gappy {
    n: u64,
}

impl From<GappyV1> for Gappy {
    fn from(v1: GappyV1) -> Self {
        Self { n: u64::from(v1.n) }
    }
}

#[test]
fn version_missing_from_the_chain_is_missing_version() {
    let stored = stored_after_noise(NewEvent::new("Gappy", 2, json!({ "n": 1 })));
    let error = decode_error::<Gappy>(&stored);
    match &error.kind {
        DecodeErrorKind::MissingVersion { known } => assert_eq!(known, &[1, 3]),
        other => panic!("expected MissingVersion, got {other:?}"),
    }
    assert_names_context(&error, "Gappy", 2);
    assert!(
        error
            .to_string()
            .contains("missing from its upcaster chain (known: v1, v3)"),
        "{error}"
    );
    let v1 = stored_after_noise(NewEvent::new("Gappy", 1, json!({ "n": 4 })));
    assert_eq!(Gappy::decode(&v1).expect("v1 decodes").into_vec()[0].n, 4);
}

#[test]
fn invalid_json_is_malformed_json() {
    let stored = stored_after_noise(NewEvent::from_json_bytes(
        "FundsWithdrawn",
        1,
        br#"{"amount": 3"#.to_vec(),
    ));
    let error = decode_error::<AccountEvent>(&stored);
    assert!(
        matches!(error.kind, DecodeErrorKind::MalformedJson(_)),
        "{:?}",
        error.kind
    );
    assert_names_context(&error, "FundsWithdrawn", 1);
    let source = std::error::Error::source(&error).expect("serde_json's error is the source");
    assert!(source.to_string().contains("EOF"), "{source}");
}

#[test]
fn json_of_the_wrong_shape_is_wrong_shape() {
    // v1 of FundsDeposited has `amt`; this payload has the v2 field under the v1 version.
    let stored = stored_after_noise(NewEvent::new("FundsDeposited", 1, json!({ "amount": 5 })));
    let error = decode_error::<AccountEvent>(&stored);
    assert!(
        matches!(error.kind, DecodeErrorKind::WrongShape(_)),
        "{:?}",
        error.kind
    );
    assert_names_context(&error, "FundsDeposited", 1);
    let source = std::error::Error::source(&error).expect("serde_json's error is the source");
    assert!(
        source.to_string().contains("missing field `amt`"),
        "{source}"
    );
    assert!(
        !error.to_string().contains("missing field"),
        "Display does not repeat the cause"
    );
}

#[test]
fn every_stored_version_of_the_chain_decodes_to_the_current_variant() {
    use es_examples::account::{AccountOpened, FundsDeposited};
    let cases = [
        ("AccountCreated", 1, json!({ "owner": "a", "balance": 9 })),
        (
            "AccountOpened",
            2,
            json!({ "owner": "a", "initial_deposit": 9 }),
        ),
        (
            "AccountOpened",
            3,
            json!({ "owner": "a", "initial_deposit": 9, "currency": "EUR" }),
        ),
    ];
    for (tag, version, payload) in cases {
        let stored = stored_after_noise(NewEvent::new(tag, version, payload));
        let decoded = AccountEvent::decode(&stored).expect("decodes").into_vec();
        assert_eq!(
            decoded,
            [AccountEvent::Opened(AccountOpened {
                owner: "a".into(),
                initial_deposit: 9,
                currency: "EUR".into()
            })],
            "{tag} v{version}"
        );
    }
    let stored = stored_after_noise(NewEvent::new("FundsDeposited", 1, json!({ "amt": 5 })));
    assert_eq!(
        AccountEvent::decode(&stored).expect("decodes").into_vec(),
        [AccountEvent::Deposited(FundsDeposited { amount: 5 })]
    );
}

#[test]
fn each_step_of_a_chain_hands_its_event_on_and_then_runs_only_on_success() {
    use es_core::codec::{RawPayload, UpcastError, VersionedEvent};
    use es_tests::order::{OrderShipped, PriceSet};
    let shipped = |version| {
        OrderShipped::upcast_from_version_then(
            version,
            RawPayload::Json(br#"{ "carrier": "DHL" }"#),
            |event| (version, event),
        )
    };
    for version in [1, 2] {
        assert_eq!(
            shipped(version).expect("upcasts"),
            (
                version,
                OrderShipped {
                    carrier: "DHL".into(),
                    tracking_number: None
                }
            )
        );
    }
    assert!(matches!(
        shipped(4),
        Err(UpcastError::NotInChain { version: 4 })
    ));

    // A `TryFrom` step: its value on success, its error (and no call of `then`) on failure.
    let price = |text: &str, calls: &mut u32| {
        let payload =
            serde_json::to_vec(&json!({ "sku": "tea-01", "price": text })).expect("serializes");
        PriceSet::upcast_from_version_then(1, RawPayload::Json(&payload), |event| {
            *calls += 1;
            event.cents
        })
    };
    let mut calls = 0;
    assert_eq!(price("12.50", &mut calls).expect("a price"), 1250);
    assert_eq!(calls, 1);
    match price("12,50", &mut calls) {
        Err(UpcastError::Failed { from, source }) => {
            assert_eq!(from, "PriceSetV1");
            assert_eq!(source.to_string(), "`12,50` is not a price like `12.50`");
        }
        other => panic!("expected a failed step, got {other:?}"),
    }
    assert_eq!(calls, 1, "`then` runs only for an event that upcast");
    // The same as `upcast_from_version`, which is `then` = identity.
    let payload = br#"{ "carrier": "UPS" }"#;
    assert_eq!(
        OrderShipped::upcast_from_version(1, RawPayload::Json(payload)).expect("upcasts"),
        OrderShipped::upcast_from_version_then(1, RawPayload::Json(payload), |event| event)
            .expect("upcasts")
    );
}

#[test]
fn encoding_writes_the_current_tag_and_version() {
    use es_examples::account::AccountOpened;
    let event = AccountEvent::Opened(AccountOpened {
        owner: "b".into(),
        initial_deposit: 1,
        currency: "USD".into(),
    });
    let new = NewEvent::encode(&event).expect("encodes");
    assert_eq!(
        (new.event_type(), new.schema_version()),
        ("AccountOpened", 3)
    );
    let stored = stored_after_noise(new);
    assert_eq!(
        AccountEvent::decode(&stored)
            .expect("round trip")
            .into_vec(),
        [event]
    );
}

/// Decodes `event` as an `OrderEvent`, checks that it failed in the upcaster `from` with the
/// stored event's context, and returns the message of the upcaster's own error.
fn upcast_failure(event: NewEvent, from: &str) -> String {
    let (tag, version) = (event.event_type().to_owned(), event.schema_version());
    let error = decode_error::<es_tests::order::OrderEvent>(&stored_after_noise(event));
    match &error.kind {
        DecodeErrorKind::UpcastFailed { from: failed, .. } => assert_eq!(*failed, from),
        other => panic!("expected UpcastFailed, got {other:?}"),
    }
    assert_names_context(&error, &tag, version);
    assert!(
        error
            .to_string()
            .ends_with(&format!("upcast from `{from}` failed")),
        "{error}"
    );
    std::error::Error::source(&error)
        .expect("the upcaster's error is the source")
        .to_string()
}

#[test]
fn failed_try_upcast_is_upcast_failed_with_its_error_as_source() {
    let price = json!({ "sku": "tea-01", "price": "12,50" });
    assert_eq!(
        upcast_failure(NewEvent::new("PriceSet", 1, price), "PriceSetV1"),
        "`12,50` is not a price like `12.50`"
    );
}

#[test]
fn failed_raw_upcaster_is_upcast_failed_with_its_error_as_source() {
    let items = json!({ "items": "tea" });
    let source = upcast_failure(NewEvent::new("ItemsAdded", 1, items), "split_items");
    assert!(source.contains("invalid type"), "{source}");
}

#[test]
fn raw_upcaster_input_that_is_not_json_is_malformed_json() {
    use es_tests::order::OrderEvent;
    let stored = stored_after_noise(NewEvent::from_json_bytes(
        "ItemsAdded",
        1,
        br#"{"items": ["#.to_vec(),
    ));
    let error = decode_error::<OrderEvent>(&stored);
    assert!(
        matches!(error.kind, DecodeErrorKind::MalformedJson(_)),
        "{:?}",
        error.kind
    );
    assert_names_context(&error, "ItemsAdded", 1);
}

#[test]
fn raw_upcast_inputs_count_as_known_versions() {
    use es_tests::order::OrderEvent;
    let stored = stored_after_noise(NewEvent::new("ItemsAdded", 2, json!({ "items": [] })));
    let error = decode_error::<OrderEvent>(&stored);
    assert!(
        matches!(error.kind, DecodeErrorKind::FutureVersion { latest: 1, .. }),
        "{:?}",
        error.kind
    );
    assert_names_context(&error, "ItemsAdded", 2);
}

/// An event type whose raw upcasters return events that do not decode, one way each.
#[allow(clippy::unnecessary_wraps)] // infallible upcasters, with the signature of `RawUpcaster`
mod faulty {
    use es_core::RawEvent;
    use es_core::{Event, StoredEvent};
    use schemars::JsonSchema;
    use serde::{Deserialize, Serialize};
    use serde_json::json;

    type Upcast = Result<Vec<RawEvent>, Box<dyn std::error::Error + Send + Sync>>;

    #[derive(Debug, PartialEq, Serialize, Deserialize, JsonSchema, Event)]
    #[event(name = "Counted", version = 1)]
    pub struct Counted {
        pub n: u32,
    }

    pub fn to_itself(raw: RawEvent, _: &StoredEvent) -> Upcast {
        Ok(vec![raw])
    }

    pub fn to_removed(_: RawEvent, _: &StoredEvent) -> Upcast {
        Ok(vec![RawEvent::new("Gone", 3, json!({}))])
    }

    pub fn to_wrong_shape(_: RawEvent, _: &StoredEvent) -> Upcast {
        Ok(vec![
            RawEvent::new("Counted", 1, json!({ "n": 1 })),
            RawEvent::new("Counted", 1, json!({ "n": "two" })),
        ])
    }

    pub fn to_future_version(_: RawEvent, _: &StoredEvent) -> Upcast {
        Ok(vec![RawEvent::new("Counted", 9, json!({ "n": 1 }))])
    }

    #[derive(Debug, PartialEq, Event)]
    #[event(removed("Gone"))]
    #[event(raw_upcast(from = ("Loop", 1), with = to_itself))]
    #[event(raw_upcast(from = ("ToGone", 1), with = to_removed))]
    #[event(raw_upcast(from = ("Shapeless", 1), with = to_wrong_shape))]
    #[event(raw_upcast(from = ("Hasty", 1), with = to_future_version))]
    pub enum FaultyEvent {
        Counted(Counted),
    }
}

/// The message of the error decoding `tag` v1 with `FaultyEvent`, and its raw output.
fn raw_output_error(tag: &str) -> (String, es_core::RawUpcastOutputError) {
    let stored = stored_after_noise(NewEvent::new(tag, 1, json!({})));
    let error = decode_error::<faulty::FaultyEvent>(&stored);
    assert_names_context(&error, tag, 1);
    let message = error.to_string();
    match error.kind {
        DecodeErrorKind::RawUpcastOutput(output) => (message, *output),
        other => panic!("expected RawUpcastOutput, got {other:?}"),
    }
}

#[test]
fn raw_upcaster_output_that_is_a_raw_input_is_refused_so_upcasters_cannot_loop() {
    let (message, output) = raw_output_error("Loop");
    assert_eq!(
        (output.upcaster, output.event_type.as_str(), output.version),
        ("to_itself", "Loop", 1)
    );
    assert!(
        matches!(output.cause, DecodeErrorKind::RawUpcastReentry),
        "{:?}",
        output.cause
    );
    assert!(
        message.ends_with(
            "raw upcaster `to_itself` returned `Loop` v1, which does not decode: it is itself a raw upcaster's input or a removed tag, and raw upcasters' outputs decode through the typed chains only"
        ),
        "{message}"
    );
}

#[test]
fn raw_upcaster_output_that_is_a_removed_tag_is_refused() {
    let (_, output) = raw_output_error("ToGone");
    assert_eq!((output.event_type.as_str(), output.version), ("Gone", 3));
    assert!(
        matches!(output.cause, DecodeErrorKind::RawUpcastReentry),
        "{:?}",
        output.cause
    );
}

#[test]
fn raw_upcaster_output_of_the_wrong_shape_is_wrong_shape_with_serde_as_source() {
    let stored = stored_after_noise(NewEvent::new("Shapeless", 1, json!({})));
    let error = decode_error::<faulty::FaultyEvent>(&stored);
    let source = std::error::Error::source(&error).expect("serde_json's error is the source");
    assert!(source.to_string().contains("invalid type"), "{source}");
    assert!(
        error.to_string().ends_with(
            "raw upcaster `to_wrong_shape` returned `Counted` v1, which does not decode: payload does not match the shape of its version at field `n`"
        ),
        "{error}"
    );
    assert_eq!(
        error.field(),
        Some("n"),
        "the field of the second returned event"
    );
}

#[test]
fn raw_upcaster_output_of_a_future_version_is_future_version() {
    let (message, output) = raw_output_error("Hasty");
    assert!(
        matches!(
            output.cause,
            DecodeErrorKind::FutureVersion { latest: 1, .. }
        ),
        "{:?}",
        output.cause
    );
    assert!(
        message.ends_with("returned `Counted` v9, which does not decode: version 9 is newer than the latest this code knows (v1)"),
        "{message}"
    );
}

/// Payloads of the wrong shape: the error names the field, by its path in the payload.
mod shaped {
    use es_core::Event;
    use schemars::JsonSchema;
    use serde::{Deserialize, Serialize};

    #[derive(Debug, Serialize, Deserialize, JsonSchema, Event)]
    #[event(name = "TaskAdded", version = 1)]
    pub struct TaskAddedV1 {
        pub title: String,
    }

    #[derive(Debug, Serialize, Deserialize, JsonSchema, Event)]
    #[event(name = "TaskAdded", version = 2, upcast_from = TaskAddedV1)]
    pub struct TaskAdded {
        pub title: String,
        pub items: Vec<Item>,
        pub status: Status,
    }

    #[derive(Debug, Serialize, Deserialize, JsonSchema)]
    pub struct Item {
        pub sku: String,
        pub qty: u32,
    }

    #[derive(Debug, Serialize, Deserialize, JsonSchema)]
    pub enum Status {
        Open,
        Done { by: String },
    }

    impl From<TaskAddedV1> for TaskAdded {
        fn from(v1: TaskAddedV1) -> Self {
            Self {
                title: v1.title,
                items: Vec::new(),
                status: Status::Open,
            }
        }
    }

    #[derive(Debug, Event)]
    pub enum TaskEvent {
        Added(TaskAdded),
    }
}

/// Decodes `payload` stored as `TaskAdded` v`version`; the error must be `WrongShape`, with
/// the stored event's context.
fn wrong_shape(version: u32, payload: serde_json::Value) -> DecodeError {
    let stored = stored_after_noise(NewEvent::new("TaskAdded", version, payload));
    let error = decode_error::<shaped::TaskEvent>(&stored);
    assert!(
        matches!(error.kind, DecodeErrorKind::WrongShape(_)),
        "{:?}",
        error.kind
    );
    assert_names_context(&error, "TaskAdded", version);
    error
}

fn v2(items: serde_json::Value, status: serde_json::Value) -> serde_json::Value {
    let mut payload = json!({ "title": "tea" });
    payload["items"] = items;
    payload["status"] = status;
    payload
}

#[test]
fn a_field_of_the_wrong_type_is_named_with_the_stored_event() {
    // An older version of the chain, as the enum decodes it, and as the struct does.
    let error = wrong_shape(1, json!({ "title": 5 }));
    assert_eq!(error.field(), Some("title"));
    assert!(
        error.to_string().ends_with(
            "cannot decode event `TaskAdded` v1 in stream `acc-7` at version 2 (position 3): payload does not match the shape of its version at field `title`"
        ),
        "{error}"
    );
    let source = std::error::Error::source(&error).expect("serde_json's error is the source");
    assert!(
        source
            .to_string()
            .starts_with("invalid type: integer `5`, expected a string"),
        "{source}"
    );
    let stored = stored_after_noise(NewEvent::new("TaskAdded", 1, json!({ "title": 5 })));
    let by_struct = decode_error::<shaped::TaskAdded>(&stored);
    assert_eq!(by_struct.field(), Some("title"));
}

#[test]
fn a_nested_field_is_named_by_its_path() {
    let items = json!([
        { "sku": "a", "qty": 1 },
        { "sku": "b", "qty": 2 },
        { "sku": 7, "qty": 3 },
    ]);
    let error = wrong_shape(2, v2(items, json!("Open")));
    assert_eq!(error.field(), Some("items[2].sku"));
    assert!(
        error.to_string().ends_with("at field `items[2].sku`"),
        "{error}"
    );
}

#[test]
fn a_missing_field_is_named_by_its_path() {
    let error = wrong_shape(1, json!({}));
    assert_eq!(error.field(), Some("title"));
    let items = json!([{ "sku": "a", "qty": 1 }, { "sku": "b" }]);
    let error = wrong_shape(2, v2(items, json!("Open")));
    assert_eq!(error.field(), Some("items[1].qty"));
    let source = std::error::Error::source(&error).expect("serde_json's error is the source");
    assert!(
        source.to_string().contains("missing field `qty`"),
        "{source}"
    );
}

#[test]
fn a_payload_of_the_wrong_type_as_a_whole_names_no_field() {
    let error = wrong_shape(2, json!(["tea"]));
    assert_eq!(error.field(), None);
    assert!(
        error
            .to_string()
            .ends_with("payload does not match the shape of its version"),
        "{error}"
    );
}

#[test]
fn an_unknown_or_misshapen_enum_variant_is_named() {
    let error = wrong_shape(2, v2(json!([]), json!("Archived")));
    assert_eq!(error.field(), Some("status"));
    let source = std::error::Error::source(&error).expect("serde_json's error is the source");
    assert!(
        source.to_string().contains("unknown variant `Archived`"),
        "{source}"
    );
    let error = wrong_shape(2, v2(json!([]), json!({ "Done": { "by": 5 } })));
    assert_eq!(error.field(), Some("status.Done.by"));
}

#[test]
fn a_decode_error_of_another_kind_names_no_field() {
    let stored = stored_after_noise(NewEvent::from_json_bytes(
        "TaskAdded",
        1,
        br#"{"title": "tea""#.to_vec(),
    ));
    let error = decode_error::<shaped::TaskEvent>(&stored);
    assert!(
        matches!(error.kind, DecodeErrorKind::MalformedJson(_)),
        "{:?}",
        error.kind
    );
    assert_eq!(error.field(), None);
}

#[test]
fn an_event_not_stored_yet_is_named_without_a_position() {
    // Position 0: decoded before it is stored, as `es import --check` decodes a line.
    let mut stored = stored_after_noise(NewEvent::new("TaskAdded", 1, json!({ "title": 5 })));
    stored.position = 0;
    let error = decode_error::<shaped::TaskEvent>(&stored);
    assert_eq!(
        error.to_string(),
        "cannot decode event `TaskAdded` v1 in stream `acc-7` at version 2: payload does not match the shape of its version at field `title`"
    );
}
