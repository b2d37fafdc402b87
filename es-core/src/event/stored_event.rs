//! [`StoredEvent`]: an event as a store returns it.

use std::time::SystemTime;

use serde_json::Value;
use uuid::Uuid;

use crate::Metadata;

/// An event read back from a store, still in the shape it was written in.
///
/// Turn it into today's types with [`Event::decode`](crate::Event::decode), the one decode
/// point every read path goes through.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredEvent {
    /// Position in the store's global order; counts from 1 and only grows.
    pub position: u64,
    /// The stream the event belongs to.
    pub stream_id: String,
    /// Version of the stream after this event; the first event of a stream has version 1.
    pub stream_version: u64,
    /// The unique id given to the event when it was appended.
    pub event_id: Uuid,
    /// The type tag the event was written with.
    pub event_type: String,
    /// The schema version the payload was written with.
    pub schema_version: u32,
    /// The payload as JSON text, exactly as written.
    pub payload: Vec<u8>,
    /// The metadata object written with the event, as the JSON text it was appended with.
    pub metadata: Metadata,
    /// When the store recorded the event.
    pub recorded_at: SystemTime,
}

impl StoredEvent {
    /// Parses the payload into a JSON value.
    ///
    /// # Errors
    /// When the payload is not valid JSON.
    pub fn payload_json(&self) -> Result<Value, serde_json::Error> {
        serde_json::from_slice(&self.payload)
    }

    /// A metadata entry by key.
    #[must_use]
    pub fn metadata_value(&self, key: &str) -> Option<&Value> {
        self.metadata.get(key)
    }
}
