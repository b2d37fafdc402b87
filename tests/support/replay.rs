//! Legacy logs as JSON Lines fixtures, replayed into today's types for snapshot tests.

use es_core::{DecodeError, Event, EventStore, ExpectedVersion, MemoryStore, NewEvent};
use serde_json::{json, Value};

/// Loads a fixture of JSON lines `{"stream", "type", "version", "payload", "metadata"?}` into a
/// store, in order, as raw events written by older code.
///
/// # Panics
/// On a malformed fixture line: fixtures are test data.
#[must_use]
pub fn load_fixture(text: &str) -> MemoryStore {
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
        let mut event = NewEvent::new(tag, version, field("payload").clone());
        if let Some(metadata) = record.get("metadata") {
            let metadata = metadata.as_object().expect("metadata is an object").clone();
            event = event.with_metadata_map(metadata);
        }
        store
            .append(stream, ExpectedVersion::Any, vec![event])
            .expect("append fixture event");
    }
    store
}

/// Appends `event` to `stream` in a fresh [`MemoryStore`], reads it back and decodes it as
/// `E`, as every read path does: what an event written by older code becomes today.
///
/// # Errors
/// The [`DecodeError`] of [`Event::decode`].
///
/// # Panics
/// When the memory store refuses the append or the read, which it does not.
pub fn decode_stored<E: Event>(stream: &str, event: NewEvent) -> Result<Vec<E>, DecodeError> {
    let store = MemoryStore::new();
    store
        .append(stream, ExpectedVersion::NoStream, vec![event])
        .expect("append to a new stream");
    let stored = store
        .read_stream(stream, 1)
        .expect("read")
        .next()
        .expect("the appended event")
        .expect("readable");
    Ok(E::decode(&stored)?.into_vec())
}

/// Each stored event beside what `E` decodes it into (`current`, zero or more events).
///
/// # Panics
/// When an event does not decode: the fixtures are expected to replay.
#[must_use]
pub fn replay<E: Event>(store: &MemoryStore) -> Value {
    let rows: Vec<Value> = store
        .read_all(1)
        .expect("read_all")
        .map(|stored| {
            let stored = stored.expect("readable");
            let decoded: Vec<Value> = E::decode(&stored)
                .unwrap_or_else(|e| panic!("{e}"))
                .into_iter()
                .map(|event| {
                    let payload: Value =
                        serde_json::from_slice(&event.encode_payload().expect("encodes"))
                            .expect("payload is JSON");
                    json!({ "type": event.event_type(), "version": event.event_version(), "payload": payload })
                })
                .collect();
            let mut as_stored = json!({
                "stream": stored.stream_id,
                "stream_version": stored.stream_version,
                "type": stored.event_type,
                "version": stored.schema_version,
                "payload": stored.payload_json().expect("payload is JSON"),
            });
            if !stored.metadata.is_empty() {
                as_stored["metadata"] = Value::Object(stored.metadata.as_map().clone());
            }
            json!({ "stored": as_stored, "current": decoded })
        })
        .collect();
    Value::Array(rows)
}
