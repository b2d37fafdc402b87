//! One line read by `import`: this tool's own format, or an EventStoreDB-style export. Every
//! key is read explicitly, so an error names the key, and a key nobody reads is an error.

use std::time::SystemTime;

use base64::Engine as _;
use es_core::{Metadata, NewEvent, Uuid};
use serde_json::value::RawValue;
use serde_json::Value;

use super::fields::{integer, kind, string, Fields};
use super::time::parse_time;

/// The keys of this tool's format.
pub const NATIVE_KEYS: &[&str] = &[
    "position",
    "stream_id",
    "stream_version",
    "event_id",
    "event_type",
    "schema_version",
    "recorded_at",
    "metadata",
    "metadata_text",
    "payload",
    "payload_text",
    "payload_base64",
];

/// The keys of an EventStoreDB-style line.
pub const EVENTSTOREDB_KEYS: &[&str] = &[
    "streamId",
    "eventNumber",
    "eventType",
    "eventId",
    "data",
    "metadata",
    "created",
];

/// The metadata keys an EventStoreDB-style line may carry its schema version under.
pub const SCHEMA_VERSION_KEYS: &[&str] = &["schemaVersion", "schema_version", "$schemaVersion"];

/// An event to import, with the stream version it must get.
#[derive(Debug)]
pub struct ImportedEvent {
    pub stream_id: String,
    pub stream_version: u64,
    pub event: NewEvent,
    /// Whether the line gave the event id (otherwise it is new and random).
    pub has_id: bool,
}

/// Parses one line of either format.
///
/// # Errors
/// A message saying what is wrong with the line, naming the key.
pub fn parse_line(line: &str) -> Result<ImportedEvent, String> {
    let fields = Fields::parse(line).map_err(|e| format!("not a JSON object: {e}"))?;
    let parts = match (fields.has("event_type"), fields.has("eventType")) {
        (true, false) => native(&fields)?,
        (false, true) => eventstoredb(&fields)?,
        (true, true) => {
            return Err(
                "the line has both `event_type` (this tool's format) and `eventType` (EventStoreDB-style)"
                    .to_owned(),
            )
        }
        (false, false) => {
            return Err(
                "not an event: the key `event_type` (this tool's format) or `eventType` (EventStoreDB-style) is missing"
                    .to_owned(),
            )
        }
    };
    parts.into_imported()
}

/// What both formats say about an event, before it becomes a [`NewEvent`].
struct Parts {
    stream_id: String,
    stream_version: u64,
    event_type: String,
    schema_version: u32,
    event_id: Option<Uuid>,
    recorded_at: Option<SystemTime>,
    metadata: Metadata,
    payload: Vec<u8>,
}

impl Parts {
    fn into_imported(self) -> Result<ImportedEvent, String> {
        if self.stream_id.is_empty() {
            return Err("the stream id is empty".to_owned());
        }
        if self.event_type.is_empty() {
            return Err("the event type is empty".to_owned());
        }
        let mut event =
            NewEvent::from_json_bytes(self.event_type, self.schema_version, self.payload)
                .with_metadata_map(self.metadata);
        if let Some(id) = self.event_id {
            event = event.with_event_id(id);
        }
        if let Some(time) = self.recorded_at {
            event = event.with_recorded_at(time);
        }
        Ok(ImportedEvent {
            stream_id: self.stream_id,
            stream_version: self.stream_version,
            event,
            has_id: self.event_id.is_some(),
        })
    }
}

fn native(fields: &Fields<'_>) -> Result<Parts, String> {
    fields.only_known_keys(NATIVE_KEYS)?;
    if let Some(position) = fields.take("position") {
        // Accepted for round trips; the importing store assigns positions.
        integer("position", position)?;
    }
    let stream_id = string("stream_id", fields.required("stream_id")?)?;
    let stream_version = integer("stream_version", fields.required("stream_version")?)?;
    if stream_version == 0 {
        return Err("`stream_version` must be at least 1: stream versions count from 1".to_owned());
    }
    let event_id = fields
        .take("event_id")
        .map(|raw| uuid("event_id", raw))
        .transpose()?;
    let event_type = string("event_type", fields.required("event_type")?)?;
    let schema_version = schema_version("schema_version", fields.required("schema_version")?)?;
    let recorded_at = fields
        .take("recorded_at")
        .map(|raw| time("recorded_at", raw))
        .transpose()?;
    let metadata = match (fields.take("metadata"), fields.take("metadata_text")) {
        (Some(raw), None) => metadata(raw.get()).map_err(|e| format!("`metadata`: {e}"))?,
        (None, Some(raw)) => {
            metadata(&string("metadata_text", raw)?).map_err(|e| format!("`metadata_text`: {e}"))?
        }
        (None, None) => Metadata::default(),
        (Some(_), Some(_)) => {
            return Err("give the metadata once: `metadata` or `metadata_text`".to_owned())
        }
    };
    let payload = match (
        fields.take("payload"),
        fields.take("payload_text"),
        fields.take("payload_base64"),
    ) {
        (Some(raw), None, None) => raw.get().as_bytes().to_vec(),
        (None, Some(raw), None) => string("payload_text", raw)?.into_bytes(),
        (None, None, Some(raw)) => base64::engine::general_purpose::STANDARD
            .decode(string("payload_base64", raw)?)
            .map_err(|e| format!("`payload_base64` is not base64: {e}"))?,
        (None, None, None) => return Err("the key `payload` is missing".to_owned()),
        _ => {
            return Err(
                "give the payload once: `payload`, `payload_text` or `payload_base64`".to_owned(),
            )
        }
    };
    Ok(Parts {
        stream_id,
        stream_version,
        event_type,
        schema_version,
        event_id,
        recorded_at,
        metadata,
        payload,
    })
}

fn eventstoredb(fields: &Fields<'_>) -> Result<Parts, String> {
    fields.only_known_keys(EVENTSTOREDB_KEYS)?;
    let stream_id = string("streamId", fields.required("streamId")?)?;
    let event_number = integer("eventNumber", fields.required("eventNumber")?)?;
    let stream_version = event_number.checked_add(1).ok_or_else(|| {
        format!("`eventNumber` {event_number} is too large: the stream version would be one more")
    })?;
    let event_type = string("eventType", fields.required("eventType")?)?;
    let event_id = fields
        .take("eventId")
        .map(|raw| uuid("eventId", raw))
        .transpose()?;
    let payload = eventstoredb_data(fields.required("data")?);
    let mut metadata = eventstoredb_metadata(fields.take("metadata"))?;
    let recorded_at = fields
        .take("created")
        .map(|raw| time("created", raw))
        .transpose()?;
    let given: Vec<&str> = SCHEMA_VERSION_KEYS
        .iter()
        .copied()
        .filter(|key| metadata.contains_key(key))
        .collect();
    if let [first, second, ..] = given[..] {
        return Err(format!(
            "the metadata gives the schema version twice, as `{first}` and as `{second}`"
        ));
    }
    let schema_version = match given.first().and_then(|key| metadata.remove(key)) {
        Some(value) => positive_u32(&value).ok_or_else(|| {
            format!(
                "metadata `{}` must be an integer from 1 to 4294967295, not {value}",
                given[0]
            )
        })?,
        None => 1,
    };
    Ok(Parts {
        stream_id,
        stream_version,
        event_type,
        schema_version,
        event_id,
        recorded_at,
        metadata,
        payload,
    })
}

/// EventStoreDB data: JSON as written, or a string holding JSON text, which is stored as that
/// text; a string that is not JSON is stored as the JSON string.
fn eventstoredb_data(raw: &RawValue) -> Vec<u8> {
    if let Ok(text) = serde_json::from_str::<String>(raw.get()) {
        if serde_json::from_str::<&RawValue>(&text).is_ok() {
            return text.into_bytes();
        }
    }
    raw.get().as_bytes().to_vec()
}

/// The metadata of the JSON text `text`, kept byte for byte.
fn metadata(text: &str) -> Result<Metadata, String> {
    Metadata::from_json(text).map_err(|e| e.to_string())
}

/// EventStoreDB metadata: absent, null, an object, or (often) a string holding a JSON object.
fn eventstoredb_metadata(raw: Option<&RawValue>) -> Result<Metadata, String> {
    let Some(raw) = raw else {
        return Ok(Metadata::default());
    };
    let at = |e: String| format!("`metadata`: {e}");
    match kind(raw) {
        "null" => Ok(Metadata::default()),
        "a string" => {
            let text = string("metadata", raw)?;
            if text.trim().is_empty() {
                Ok(Metadata::default())
            } else {
                metadata(&text).map_err(at)
            }
        }
        _ => metadata(raw.get()).map_err(at),
    }
}

fn positive_u32(value: &Value) -> Option<u32> {
    value
        .as_u64()
        .and_then(|v| u32::try_from(v).ok())
        .filter(|v| *v > 0)
}

fn schema_version(key: &str, raw: &RawValue) -> Result<u32, String> {
    let n = integer(key, raw)?;
    u32::try_from(n)
        .ok()
        .filter(|n| *n > 0)
        .ok_or_else(|| format!("`{key}` must be from 1 to 4294967295, not {n}"))
}

fn uuid(key: &str, raw: &RawValue) -> Result<Uuid, String> {
    let text = string(key, raw)?;
    Uuid::parse_str(&text).map_err(|e| format!("`{key}` is not a UUID: {e}"))
}

fn time(key: &str, raw: &RawValue) -> Result<SystemTime, String> {
    parse_time(&string(key, raw)?).map_err(|e| format!("`{key}`: {e}"))
}
