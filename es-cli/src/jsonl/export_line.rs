//! One line as `export` writes it.

use base64::Engine as _;
use es_core::{StoredEvent, Uuid};
use serde::Serialize;
use serde_json::value::RawValue;

use super::time::format_time;

/// One event per line, as `export` writes it. The payload goes out byte for byte: as JSON
/// when its bytes are one JSON value on one line, otherwise as `payload_text` (UTF-8) or
/// `payload_base64`, so an export never fails on the event it is meant to rescue and never
/// changes it. The metadata's text goes out the same way: as `metadata` when it is one line
/// with nothing around the object, otherwise as the string `metadata_text`.
#[derive(Debug, Serialize)]
pub struct ExportedEvent<'a> {
    pub position: u64,
    pub stream_id: &'a str,
    pub stream_version: u64,
    pub event_id: Uuid,
    pub event_type: &'a str,
    pub schema_version: u32,
    pub recorded_at: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub metadata: Option<&'a RawValue>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub metadata_text: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub payload: Option<&'a RawValue>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub payload_text: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub payload_base64: Option<String>,
}

impl<'a> ExportedEvent<'a> {
    /// The line for `stored`.
    pub fn new(stored: &'a StoredEvent) -> Self {
        let (mut payload, mut payload_text, mut payload_base64) = (None, None, None);
        match std::str::from_utf8(&stored.payload) {
            Ok(text) => match as_json_on_one_line(text) {
                Some(raw) => payload = Some(raw),
                None => payload_text = Some(text),
            },
            Err(_) => {
                payload_base64 =
                    Some(base64::engine::general_purpose::STANDARD.encode(&stored.payload));
            }
        }
        let metadata = as_json_on_one_line(stored.metadata.as_str());
        let metadata_text = metadata.is_none().then(|| stored.metadata.as_str());
        Self {
            position: stored.position,
            stream_id: &stored.stream_id,
            stream_version: stored.stream_version,
            event_id: stored.event_id,
            event_type: &stored.event_type,
            schema_version: stored.schema_version,
            recorded_at: format_time(stored.recorded_at),
            metadata,
            metadata_text,
            payload,
            payload_text,
            payload_base64,
        }
    }
}

/// `text` as a raw JSON value, when it is exactly one (at any depth: `serde_json` skips
/// over a raw value without recursion) with no surrounding whitespace and no line break.
fn as_json_on_one_line(text: &str) -> Option<&RawValue> {
    if text.contains(['\n', '\r']) {
        return None;
    }
    let raw: &RawValue = serde_json::from_str(text).ok()?;
    (raw.get().len() == text.len()).then_some(raw)
}
