//! [`NewEvent`]: an event on its way into a store.

use std::time::SystemTime;

use serde_json::Value;
use uuid::Uuid;

use crate::{Event, Metadata, MetadataError};

/// An event to append: type tag, schema version, JSON payload, metadata and a unique id.
///
/// Build one from a typed event with [`NewEvent::encode`], or from raw parts with
/// [`NewEvent::new`] (legacy or imported data, written under an older schema).
///
/// The event id makes appends idempotent: re-appending a batch whose ids are already stored at
/// the same stream versions succeeds without writing anything.
///
/// # Examples
/// ```
/// use es_core::NewEvent;
/// use serde_json::json;
///
/// let legacy = NewEvent::new("AccountCreated", 1, json!({ "owner": "ada" }))
///     .with_metadata("source", json!("import-2019"));
/// assert_eq!(legacy.event_type(), "AccountCreated");
/// assert_eq!(legacy.schema_version(), 1);
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct NewEvent {
    event_id: Uuid,
    event_type: String,
    schema_version: u32,
    payload: Vec<u8>,
    metadata: Metadata,
    recorded_at: Option<SystemTime>,
}

/// Error of [`NewEvent::encode`]: the typed event could not be serialized to JSON.
#[derive(Debug, thiserror::Error)]
#[error("cannot encode event `{event_type}` v{schema_version} as JSON")]
#[non_exhaustive]
pub struct EncodeError {
    /// The event's type tag.
    pub event_type: &'static str,
    /// The event's schema version.
    pub schema_version: u32,
    /// What `serde_json` reported.
    #[source]
    pub source: serde_json::Error,
}

impl NewEvent {
    /// A raw event with a fresh id. `schema_version` is the version of the payload's shape.
    ///
    /// Fresh ids are UUID version 7: a millisecond timestamp and 74 random bits, so ids made
    /// one after another sort together, and an index on them (PostgreSQL's unique key on event
    /// ids) takes new entries at its end rather than all over it.
    #[must_use]
    #[allow(clippy::needless_pass_by_value)] // owned, so callers can pass `json!(...)` inline
    pub fn new(event_type: impl Into<String>, schema_version: u32, payload: Value) -> Self {
        Self::from_json_bytes(event_type, schema_version, payload.to_string().into_bytes())
    }

    /// A raw event whose payload is JSON text already serialized, taken as is.
    ///
    /// Nothing checks that the bytes are valid JSON; a typed read of a malformed payload fails
    /// with [`DecodeErrorKind::MalformedJson`](crate::DecodeErrorKind::MalformedJson).
    #[must_use]
    pub fn from_json_bytes(
        event_type: impl Into<String>,
        schema_version: u32,
        payload: Vec<u8>,
    ) -> Self {
        Self {
            event_id: Uuid::now_v7(),
            event_type: event_type.into(),
            schema_version,
            payload,
            metadata: Metadata::default(),
            recorded_at: None,
        }
    }

    /// Encodes a typed event under its current tag and version.
    ///
    /// # Errors
    /// [`EncodeError`] when `serde_json` cannot serialize the event (for example a map with
    /// non-string keys).
    ///
    /// # Examples
    /// ```
    /// # use es_core::{Event, NewEvent};
    /// # use serde::{Deserialize, Serialize};
    /// # use schemars::JsonSchema;
    /// #[derive(Serialize, Deserialize, JsonSchema, Event)]
    /// #[event(name = "Deposited", version = 1)]
    /// struct Deposited { amount: u64 }
    ///
    /// let new = NewEvent::encode(&Deposited { amount: 50 })?;
    /// assert_eq!((new.event_type(), new.schema_version()), ("Deposited", 1));
    /// assert_eq!(new.payload(), br#"{"amount":50}"#);
    /// # Ok::<(), es_core::EncodeError>(())
    /// ```
    pub fn encode<E: Event>(event: &E) -> Result<Self, EncodeError> {
        let payload = event.encode_payload().map_err(|source| EncodeError {
            event_type: event.event_type(),
            schema_version: event.event_version(),
            source,
        })?;
        Ok(Self::from_json_bytes(
            event.event_type(),
            event.event_version(),
            payload,
        ))
    }

    /// Replaces the event id, for callers that derive ids from their own data (imports,
    /// retries across processes).
    #[must_use]
    pub fn with_event_id(mut self, event_id: Uuid) -> Self {
        self.event_id = event_id;
        self
    }

    /// Adds one metadata entry (for example `correlation_id`), replacing an earlier one (see
    /// [`Metadata::insert`]).
    #[must_use]
    #[allow(clippy::needless_pass_by_value)] // owned, so callers can pass `json!(...)` inline
    pub fn with_metadata(mut self, key: impl Into<String>, value: Value) -> Self {
        self.metadata.insert(key, &value);
        self
    }

    /// Replaces the whole metadata object: a [`serde_json::Map`] (written as its compact JSON)
    /// or a [`Metadata`] (kept byte for byte, as when copying a stored event).
    #[must_use]
    pub fn with_metadata_map(mut self, metadata: impl Into<Metadata>) -> Self {
        self.metadata = metadata.into();
        self
    }

    /// Replaces the whole metadata object with the JSON text `json`, which the stores keep
    /// byte for byte (imports, events relayed from another system).
    ///
    /// # Errors
    /// [`MetadataError`] when `json` is not acceptable metadata (see [`Metadata::from_json`]).
    ///
    /// # Examples
    /// ```
    /// use es_core::{EventStore, ExpectedVersion, MemoryStore, NewEvent};
    /// use serde_json::json;
    ///
    /// let text = r#"{"trace":123456789012345678901234567890,"at":1.10}"#;
    /// let event = NewEvent::new("Pinged", 1, json!({})).with_metadata_json(text)?;
    /// let store = MemoryStore::new();
    /// store.append("s", ExpectedVersion::NoStream, vec![event])?;
    /// let stored = store.read_all(1)?.next().unwrap()?;
    /// assert_eq!(stored.metadata.as_str(), text);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn with_metadata_json(mut self, json: impl Into<String>) -> Result<Self, MetadataError> {
        self.metadata = Metadata::from_json(json)?;
        Ok(self)
    }

    /// Keeps an original recording time (imports, migrations) instead of the append time.
    /// Stores do not reorder events by it: a log whose times go backwards stays in append
    /// order.
    #[must_use]
    pub fn with_recorded_at(mut self, recorded_at: SystemTime) -> Self {
        self.recorded_at = Some(recorded_at);
        self
    }

    /// The original recording time given with [`NewEvent::with_recorded_at`], if any.
    #[must_use]
    pub fn recorded_at(&self) -> Option<SystemTime> {
        self.recorded_at
    }

    /// The unique id of this event.
    #[must_use]
    pub fn event_id(&self) -> Uuid {
        self.event_id
    }

    /// The type tag.
    #[must_use]
    pub fn event_type(&self) -> &str {
        &self.event_type
    }

    /// The schema version of the payload.
    #[must_use]
    pub fn schema_version(&self) -> u32 {
        self.schema_version
    }

    /// The payload as JSON text.
    #[must_use]
    pub fn payload(&self) -> &[u8] {
        &self.payload
    }

    /// The metadata object.
    #[must_use]
    pub fn metadata(&self) -> &Metadata {
        &self.metadata
    }

    /// Splits the event into its parts, for store implementations.
    #[must_use]
    pub fn into_parts(self) -> NewEventParts {
        NewEventParts {
            event_id: self.event_id,
            event_type: self.event_type,
            schema_version: self.schema_version,
            payload: self.payload,
            metadata: self.metadata,
            recorded_at: self.recorded_at,
        }
    }
}

/// The parts of a [`NewEvent`], owned, for store implementations.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct NewEventParts {
    /// The unique id of the event.
    pub event_id: Uuid,
    /// The type tag.
    pub event_type: String,
    /// The schema version of the payload.
    pub schema_version: u32,
    /// The payload as JSON text.
    pub payload: Vec<u8>,
    /// The metadata object, as JSON text.
    pub metadata: Metadata,
    /// An original recording time to keep instead of the append time.
    pub recorded_at: Option<SystemTime>,
}
