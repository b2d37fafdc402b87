//! The derive's expansion is lint-clean: representative inputs compiled under the strictest
//! lints a user may set. `cargo test` checks the rustc lints, `cargo clippy --all-targets` the
//! pedantic ones.
#![deny(unused_qualifications, clippy::pedantic)]

use es_core::RawEvent;
use es_core::{Event, NewEvent, StoredEvent};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::json;

/// A first version.
#[derive(Debug, PartialEq, Serialize, Deserialize, JsonSchema, Event)]
#[event(name = "Opened", version = 1)]
pub struct OpenedV1 {
    owner: String,
}

/// An upcast with `From`, a renamed tag and an alias.
#[derive(Debug, PartialEq, Serialize, Deserialize, JsonSchema, Event)]
#[event(name = "AccountOpened", version = 2, upcast_from = OpenedV1, alias = "Started")]
pub struct OpenedV2 {
    owner: String,
}

impl From<OpenedV1> for OpenedV2 {
    fn from(v1: OpenedV1) -> Self {
        Self { owner: v1.owner }
    }
}

/// A fallible upcast.
#[derive(Debug, PartialEq, Serialize, Deserialize, JsonSchema, Event)]
#[event(name = "AccountOpened", version = 3, upcast_from = OpenedV2, try_upcast)]
pub struct Opened {
    owner: String,
}

impl TryFrom<OpenedV2> for Opened {
    type Error = &'static str;

    fn try_from(v2: OpenedV2) -> Result<Self, &'static str> {
        if v2.owner.is_empty() {
            Err("no owner")
        } else {
            Ok(Self { owner: v2.owner })
        }
    }
}

/// A version struct used on its own.
#[derive(Debug, PartialEq, Serialize, Deserialize, JsonSchema, Event)]
pub struct Closed {}

/// A raw upcaster that reads its context.
///
/// # Errors
/// Never.
pub fn opened_from_stream(
    raw: RawEvent,
    stored: &StoredEvent,
) -> Result<Vec<RawEvent>, Box<dyn std::error::Error + Send + Sync>> {
    let mut payload = raw.payload;
    payload["owner"] = json!(stored.stream_id);
    Ok(vec![RawEvent::new("Opened", 1, payload)])
}

/// An enum with every enum-level attribute.
#[derive(Debug, PartialEq, Event)]
#[event(removed("Viewed", ("Printed", 2)))]
#[event(raw_upcast(from = ("Created", 1), with = opened_from_stream, schema = OpenedV1))]
pub enum AccountEvent {
    /// Opened.
    Opened(Opened),
    /// Closed.
    Closed(Closed),
}

#[test]
fn representative_inputs_expand_lint_clean_and_decode() {
    let store = es_core::MemoryStore::new();
    let events = vec![
        NewEvent::new("Created", 1, json!({})),
        NewEvent::new("Started", 2, json!({ "owner": "ada" })),
        NewEvent::new("Viewed", 7, json!({})),
        NewEvent::encode(&AccountEvent::Closed(Closed {})).expect("encodes"),
    ];
    es_core::EventStore::append(&store, "acc-1", es_core::ExpectedVersion::NoStream, events)
        .expect("append");
    let decoded: Vec<AccountEvent> = es_core::EventStore::read_stream(&store, "acc-1", 1)
        .expect("read")
        .flat_map(|stored| AccountEvent::decode(&stored.expect("readable")).expect("decodes"))
        .collect();
    assert_eq!(
        decoded,
        [
            AccountEvent::Opened(Opened {
                owner: "acc-1".into()
            }),
            AccountEvent::Opened(Opened {
                owner: "ada".into()
            }),
            AccountEvent::Closed(Closed {}),
        ]
    );
}
