//! The JSON Lines format of `export` and `import`; `docs/jsonl.md` documents it.

use std::time::SystemTime;

use es_core::{NewEvent, StoredEvent, Uuid};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// One event per line, as `export` writes it.
#[derive(Debug, Serialize)]
pub struct ExportedEvent<'a> {
    pub position: u64,
    pub stream_id: &'a str,
    pub stream_version: u64,
    pub event_id: Uuid,
    pub event_type: &'a str,
    pub schema_version: u32,
    pub recorded_at: String,
    pub metadata: &'a Map<String, Value>,
    pub payload: Value,
}

impl<'a> ExportedEvent<'a> {
    /// The line for `stored`; a payload that is not JSON is exported as a JSON string of its
    /// bytes, so an export never fails on the event it is meant to rescue.
    pub fn new(stored: &'a StoredEvent) -> Self {
        let payload = serde_json::from_slice(&stored.payload).unwrap_or_else(|_| {
            Value::String(String::from_utf8_lossy(&stored.payload).into_owned())
        });
        Self {
            position: stored.position,
            stream_id: &stored.stream_id,
            stream_version: stored.stream_version,
            event_id: stored.event_id,
            event_type: &stored.event_type,
            schema_version: stored.schema_version,
            recorded_at: format_time(stored.recorded_at),
            metadata: &stored.metadata,
            payload,
        }
    }
}

/// RFC 3339 in UTC with microseconds.
pub fn format_time(time: SystemTime) -> String {
    crate::rfc3339::format_time(time)
}

/// A line read by `import`: this tool's own format, or an EventStoreDB-style export.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum ImportLine {
    Native(NativeLine),
    EventStoreDb(EventStoreDbLine),
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct NativeLine {
    #[serde(default)]
    #[allow(dead_code)] // accepted for round trips; the importing store assigns positions
    position: Option<u64>,
    stream_id: String,
    stream_version: u64,
    #[serde(default)]
    event_id: Option<Uuid>,
    event_type: String,
    schema_version: u32,
    #[serde(default)]
    recorded_at: Option<String>,
    #[serde(default)]
    metadata: Map<String, Value>,
    payload: Value,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct EventStoreDbLine {
    stream_id: String,
    /// Counts from 0 in EventStoreDB; stream versions here count from 1.
    event_number: u64,
    event_type: String,
    #[serde(default)]
    event_id: Option<Uuid>,
    data: Value,
    #[serde(default)]
    metadata: Option<Value>,
    #[serde(default)]
    created: Option<String>,
}

/// An event to import, with the stream version it must get.
#[derive(Debug)]
pub struct ImportedEvent {
    pub stream_id: String,
    pub stream_version: u64,
    pub event: NewEvent,
    /// Whether the line gave the event id (otherwise it is new and random).
    pub has_id: bool,
}

/// The metadata keys an EventStoreDB-style line may carry its schema version under.
pub const SCHEMA_VERSION_KEYS: &[&str] = &["schemaVersion", "schema_version", "$schemaVersion"];

/// What both formats say about an event, before it becomes a [`NewEvent`].
struct Parts {
    stream_id: String,
    stream_version: u64,
    event_type: String,
    schema_version: u32,
    event_id: Option<Uuid>,
    recorded_at: Option<String>,
    metadata: Map<String, Value>,
    payload: Value,
}

impl Parts {
    fn into_imported(self) -> Result<ImportedEvent, String> {
        if self.stream_version == 0 {
            return Err("stream versions count from 1".to_owned());
        }
        let mut event = NewEvent::new(self.event_type, self.schema_version, self.payload)
            .with_metadata_map(self.metadata);
        if let Some(id) = self.event_id {
            event = event.with_event_id(id);
        }
        if let Some(time) = self.recorded_at {
            event = event.with_recorded_at(parse_time(&time)?);
        }
        Ok(ImportedEvent {
            stream_id: self.stream_id,
            stream_version: self.stream_version,
            event,
            has_id: self.event_id.is_some(),
        })
    }
}

/// Parses one line of either format.
///
/// # Errors
/// A message saying what is wrong with the line.
pub fn parse_line(line: &str) -> Result<ImportedEvent, String> {
    let parsed: ImportLine = serde_json::from_str(line).map_err(|e| {
        format!("not an event in either format (this tool's export, or EventStoreDB-style with streamId, eventNumber, eventType, data): {e}")
    })?;
    let parts = match parsed {
        ImportLine::Native(line) => Parts {
            stream_id: line.stream_id,
            stream_version: line.stream_version,
            event_type: line.event_type,
            schema_version: line.schema_version,
            event_id: line.event_id,
            recorded_at: line.recorded_at,
            metadata: line.metadata,
            payload: line.payload,
        },
        ImportLine::EventStoreDb(line) => {
            let mut metadata = eventstoredb_metadata(line.metadata)?;
            let mut schema_version = 1;
            for key in SCHEMA_VERSION_KEYS {
                if let Some(value) = metadata.remove(*key) {
                    schema_version = value
                        .as_u64()
                        .and_then(|v| u32::try_from(v).ok())
                        .filter(|v| *v > 0)
                        .ok_or_else(|| format!("metadata `{key}` must be a positive integer"))?;
                }
            }
            let payload = match line.data {
                // Some exports carry the data as a JSON string.
                Value::String(text) => serde_json::from_str(&text).unwrap_or(Value::String(text)),
                other => other,
            };
            Parts {
                stream_id: line.stream_id,
                stream_version: line.event_number + 1,
                event_type: line.event_type,
                schema_version,
                event_id: line.event_id,
                recorded_at: line.created,
                metadata,
                payload,
            }
        }
    };
    parts.into_imported()
}

/// EventStoreDB metadata: absent, an object, or (often) a string holding a JSON object.
fn eventstoredb_metadata(metadata: Option<Value>) -> Result<Map<String, Value>, String> {
    match metadata {
        None | Some(Value::Null) => Ok(Map::new()),
        Some(Value::Object(map)) => Ok(map),
        Some(Value::String(text)) if text.trim().is_empty() => Ok(Map::new()),
        Some(Value::String(text)) => match serde_json::from_str(&text) {
            Ok(Value::Object(map)) => Ok(map),
            _ => Err("metadata is a string that is not a JSON object".to_owned()),
        },
        Some(_) => Err("metadata must be an object".to_owned()),
    }
}

fn parse_time(text: &str) -> Result<SystemTime, String> {
    crate::rfc3339::parse_time(text)
}
