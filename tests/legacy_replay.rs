//! Backward compatibility: legacy event logs checked in under `fixtures/` replay into today's
//! types, and what they become is pinned by insta snapshots (review changes with
//! `cargo insta review`).

use es_core::{Event, EventStore, ExpectedVersion, MemoryStore, NewEvent};
use es_examples::account::AccountEvent;
use serde_json::{json, Value};

/// Loads a fixture of JSON lines `{"stream", "type", "version", "payload"}` into a store, in
/// order, as raw events written by older code.
fn load_fixture(text: &str) -> MemoryStore {
    let store = MemoryStore::new();
    for (line_no, line) in text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
    {
        let record: Value = serde_json::from_str(line)
            .unwrap_or_else(|e| panic!("fixture line {}: {e}", line_no + 1));
        let field = |name: &str| {
            record
                .get(name)
                .unwrap_or_else(|| panic!("line {}: no `{name}`", line_no + 1))
        };
        let stream = field("stream").as_str().expect("stream is a string");
        let tag = field("type").as_str().expect("type is a string");
        let version =
            u32::try_from(field("version").as_u64().expect("version is a number")).expect("u32");
        let event = NewEvent::new(tag, version, field("payload").clone());
        store
            .append(stream, ExpectedVersion::Any, vec![event])
            .expect("append fixture event");
    }
    store
}

/// Each stored event beside what today's code decodes it into.
fn replay(store: &MemoryStore) -> Value {
    let rows: Vec<Value> = store
        .read_all(1)
        .expect("read_all")
        .map(|stored| {
            let stored = stored.expect("readable");
            let decoded: Vec<Value> = AccountEvent::decode(&stored)
                .unwrap_or_else(|e| panic!("{e}"))
                .into_iter()
                .map(|event| {
                    let payload: Value = serde_json::from_slice(&event.encode_payload().expect("encodes"))
                        .expect("payload is JSON");
                    json!({ "type": event.event_type(), "version": event.event_version(), "payload": payload })
                })
                .collect();
            json!({
                "stored": {
                    "stream": stored.stream_id,
                    "stream_version": stored.stream_version,
                    "type": stored.event_type,
                    "version": stored.schema_version,
                    "payload": stored.payload_json().expect("payload is JSON"),
                },
                "current": decoded,
            })
        })
        .collect();
    Value::Array(rows)
}

#[test]
fn bank_log_of_2019_replays_into_current_events() {
    let store = load_fixture(include_str!("fixtures/bank_legacy.jsonl"));
    insta::assert_json_snapshot!(replay(&store));
}

#[test]
fn bank_log_of_2019_replays_to_the_same_balances() {
    use es_core::Repository;
    use es_examples::account::Account;
    let repo =
        Repository::<Account, _>::new(load_fixture(include_str!("fixtures/bank_legacy.jsonl")));
    let balances: Vec<(String, u64, String)> = ["acc-001", "acc-002", "acc-003"]
        .iter()
        .map(|id| {
            let loaded = repo.load(id).expect("load");
            (
                (*id).to_owned(),
                loaded.state.balance,
                loaded.state.currency,
            )
        })
        .collect();
    assert_eq!(
        balances,
        [
            ("acc-001".into(), 120, "EUR".into()),
            ("acc-002".into(), 15, "EUR".into()),
            ("acc-003".into(), 7, "GBP".into()),
        ]
    );
}
