//! A raw upcaster's `JsonPayload`: passed on unchanged, the stored text is parsed straight into
//! the output's version (no JSON value in between); read or changed, it is a value; and stored
//! text that is not JSON fails as malformed JSON whatever the upcaster does with it, on the
//! owned and the borrowed decode paths alike.

use std::ops::ControlFlow;

use es_core::{
    DecodeError, DecodeErrorKind, Decoded, Event, EventStore, ExpectedVersion, FileStore,
    JsonPayload, MemoryStore, NewEvent, RawEvent, StoredEvent,
};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::json;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema, Event)]
#[event(name = "Deposited", version = 1)]
struct Deposited {
    amt: u64,
}

type Upcast = Result<Vec<RawEvent>, Box<dyn std::error::Error + Send + Sync>>;

/// Passes the payload on under the current tag.
#[allow(clippy::unnecessary_wraps)]
fn rename(raw: RawEvent, _: &StoredEvent) -> Upcast {
    Ok(vec![RawEvent::new("Deposited", 1, raw.payload)])
}

/// Reads a field to decide, then passes the payload on: deposits of 0 are dropped.
#[allow(clippy::unnecessary_wraps)]
fn peek(raw: RawEvent, _: &StoredEvent) -> Upcast {
    if raw.payload["amt"] == 0 {
        return Ok(Vec::new());
    }
    Ok(vec![RawEvent::new("Deposited", 1, raw.payload)])
}

/// Reads a struct from the payload and builds a new one.
fn parse(raw: RawEvent, _: &StoredEvent) -> Upcast {
    let old: Deposited = raw.payload.parse()?;
    Ok(vec![RawEvent::new(
        "Deposited",
        1,
        json!({ "amt": old.amt * 100 }),
    )])
}

/// Changes the payload in place: it becomes a value.
#[allow(clippy::unnecessary_wraps)]
fn change(mut raw: RawEvent, _: &StoredEvent) -> Upcast {
    let amt = raw.payload["amt"].as_u64().unwrap_or(0);
    raw.payload["amt"] = json!(amt + 1);
    Ok(vec![RawEvent::new("Deposited", 1, raw.payload)])
}

/// Never looks at the payload.
#[allow(clippy::unnecessary_wraps, clippy::needless_pass_by_value)]
fn ignore(_: RawEvent, _: &StoredEvent) -> Upcast {
    Ok(vec![RawEvent::new("Deposited", 1, json!({ "amt": 7 }))])
}

#[derive(Debug, Clone, PartialEq, Event)]
#[event(raw_upcast(from = ("Renamed", 1), with = rename))]
#[event(raw_upcast(from = ("Peeked", 1), with = peek))]
#[event(raw_upcast(from = ("Parsed", 1), with = parse))]
#[event(raw_upcast(from = ("Changed", 1), with = change))]
#[event(raw_upcast(from = ("Ignored", 1), with = ignore))]
enum Account {
    Deposited(Deposited),
}

const LEGACY_TAGS: [&str; 5] = ["Renamed", "Peeked", "Parsed", "Changed", "Ignored"];

/// What `payload` stored under each legacy tag decodes into (or the error), through
/// `Event::decode` on a `MemoryStore`'s events and `Event::decode_ref` on a `FileStore`'s,
/// which must agree.
fn decode_each(payload: &[u8]) -> Vec<(&'static str, Result<Vec<Account>, DecodeError>)> {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let file = FileStore::open(dir.path()).expect("open");
    let memory = MemoryStore::new();
    for tag in LEGACY_TAGS {
        let event = || NewEvent::from_json_bytes(tag, 1, payload.to_vec());
        for store in [&file as &dyn EventStore, &memory] {
            store
                .append(&format!("acc-{tag}"), ExpectedVersion::Any, vec![event()])
                .expect("append");
        }
    }
    let owned: Vec<_> = memory
        .read_all(1)
        .expect("read")
        .map(|stored| Account::decode(&stored.expect("readable")).map(Decoded::into_vec))
        .collect();
    let mut borrowed = Vec::new();
    file.visit_all(1, &mut |stored| {
        borrowed.push(Account::decode_ref(stored).map(Decoded::into_vec));
        ControlFlow::Continue(())
    })
    .expect("read");
    assert_eq!(owned.len(), LEGACY_TAGS.len());
    for ((tag, owned), borrowed) in LEGACY_TAGS.iter().zip(&owned).zip(&borrowed) {
        match (owned, borrowed) {
            (Ok(owned), Ok(borrowed)) => assert_eq!(owned, borrowed, "{tag}"),
            (Err(owned), Err(borrowed)) => {
                assert_eq!(owned.to_string(), borrowed.to_string(), "{tag}");
            }
            _ => panic!("{tag}: owned {owned:?}, borrowed {borrowed:?}"),
        }
    }
    LEGACY_TAGS.into_iter().zip(owned).collect()
}

fn deposited(amt: u64) -> Vec<Account> {
    vec![Account::Deposited(Deposited { amt })]
}

#[test]
fn upcasters_that_pass_read_parse_change_or_ignore_the_payload_decode_it() {
    let decoded: Vec<_> = decode_each(br#"{"amt": 3}"#)
        .into_iter()
        .map(|(tag, result)| (tag, result.expect("decodes")))
        .collect();
    assert_eq!(
        decoded,
        [
            ("Renamed", deposited(3)),
            ("Peeked", deposited(3)),
            ("Parsed", deposited(300)),
            ("Changed", deposited(4)),
            ("Ignored", deposited(7)),
        ]
    );
    let dropped = decode_each(br#"{"amt": 0}"#);
    assert_eq!(dropped[1].0, "Peeked");
    assert_eq!(dropped[1].1.as_ref().expect("decodes"), &Vec::new());
}

#[test]
fn stored_text_that_is_not_json_fails_as_malformed_json_whatever_the_upcaster_does() {
    for (tag, result) in decode_each(br#"{"amt": 3"#) {
        let error = result.expect_err(tag);
        assert!(
            matches!(error.kind, DecodeErrorKind::MalformedJson(_)),
            "{tag}: {:?}",
            error.kind
        );
        assert_eq!(
            (
                error.event_type.as_str(),
                error.schema_version,
                error.stream_id.as_str()
            ),
            (tag, 1, format!("acc-{tag}").as_str())
        );
        assert!(error.position > 0, "{tag}: {error}");
    }
}

#[test]
fn a_payload_passed_on_is_parsed_from_the_stored_text_and_a_changed_one_from_its_value() {
    // A repeated key tells text from value: a JSON value keeps the last one silently, parsing
    // the text into the struct refuses it, as it does for a stored `Deposited` v1.
    let repeated = br#"{"amt": 1, "amt": 2}"#;
    let direct = Account::decode(&StoredEvent {
        event_type: "Deposited".to_owned(),
        ..stored(repeated)
    })
    .expect_err("a repeated field does not decode");
    assert!(
        causes(&direct).contains("duplicate field `amt`"),
        "{direct}"
    );
    for (tag, result) in decode_each(repeated) {
        match tag {
            "Renamed" | "Peeked" => {
                let error = result.expect_err(tag);
                let cause = causes(&error);
                assert!(cause.contains("duplicate field `amt`"), "{tag}: {cause}");
            }
            // Read whole as a value (the last `amt`), then written anew.
            "Changed" => assert_eq!(result.expect(tag), deposited(3)),
            "Ignored" => assert_eq!(result.expect(tag), deposited(7)),
            _ => {}
        }
    }
}

/// An error and its sources, one after the other.
fn causes(error: &(dyn std::error::Error + 'static)) -> String {
    std::iter::successors(Some(error), |e| e.source())
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(": ")
}

fn stored(payload: &[u8]) -> StoredEvent {
    let store = MemoryStore::new();
    store
        .append(
            "acc",
            ExpectedVersion::Any,
            vec![NewEvent::from_json_bytes("Renamed", 1, payload.to_vec())],
        )
        .expect("append");
    let stored = store
        .read_all(1)
        .expect("read")
        .next()
        .expect("one event")
        .expect("readable");
    stored
}

#[test]
fn a_json_payload_reads_like_a_value_and_compares_by_value() {
    let mut payload = JsonPayload::from(json!({ "amt": 3, "tags": ["a"] }));
    assert_eq!(payload["tags"][0], "a");
    assert_eq!(
        payload.clone().parse::<Deposited>().expect("parses"),
        Deposited { amt: 3 }
    );
    payload["amt"] = json!(4);
    assert_eq!(payload, json!({ "amt": 4, "tags": ["a"] }));
    assert_eq!(
        format!("{payload:?}"),
        format!("{:?}", json!({ "amt": 4, "tags": ["a"] }))
    );
    assert_eq!(
        serde_json::to_string(&payload).expect("serializes"),
        r#"{"amt":4,"tags":["a"]}"#
    );
    assert_eq!(
        payload.clone().into_value(),
        json!({ "amt": 4, "tags": ["a"] })
    );
}
