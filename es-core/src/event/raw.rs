//! Raw upcasting: a stored event as JSON ([`RawEvent`], [`RawPayload`]) and the enum-level
//! [`RawUpcaster`] that rewrites it before typed decoding.

use serde::de::DeserializeOwned;

use crate::{StoredEvent, UpcastError};

/// A stored event as a [`RawUpcaster`] reads and writes it: type tag, schema version, and the
/// payload as a JSON value.
#[derive(Debug, Clone, PartialEq)]
pub struct RawEvent {
    /// The event type (the stored name of the type).
    pub event_type: String,
    /// The schema version of the payload, as on [`StoredEvent`] and
    /// [`NewEvent`](crate::NewEvent).
    pub schema_version: u32,
    /// The payload.
    pub payload: serde_json::Value,
}

impl RawEvent {
    /// A raw event of `event_type` at `schema_version`.
    #[must_use]
    pub fn new(
        event_type: impl Into<String>,
        schema_version: u32,
        payload: serde_json::Value,
    ) -> Self {
        Self {
            event_type: event_type.into(),
            schema_version,
            payload,
        }
    }
}

/// An enum-level upcaster on the JSON form, registered for one stored `(tag, version)` with
/// `#[event(raw_upcast(from = ("Tag", n), with = path::to::function))]`.
///
/// It receives the stored event as a [`RawEvent`] together with the whole [`StoredEvent`]
/// (stream id, stream version, position, recorded-at and metadata, for a change that needs
/// them), and returns the events it becomes, in order: one to rename or restructure, several
/// to split, none to drop. Each output decodes through the enum's typed chains
/// ([`RawPayload::Value`]), so it may name any tag and version a variant's chain decodes, old
/// or current. An output that is itself a raw upcaster's input or a removed tag is an error
/// ([`DecodeErrorKind::RawUpcastReentry`](crate::DecodeErrorKind::RawUpcastReentry)): raw
/// upcasters never run on each other's output, so they cannot loop.
///
/// An `Err` becomes [`DecodeErrorKind::UpcastFailed`](crate::DecodeErrorKind::UpcastFailed),
/// placed at the stored event. Raw upcasters run only for their own `(tag, version)`: events
/// of other tags and versions never reach them, and never pay for a JSON value.
///
/// # Examples
/// ```
/// use es_core::RawEvent;
/// use es_core::{Event, EventStore, ExpectedVersion, MemoryStore, NewEvent, StoredEvent};
/// # use schemars::JsonSchema;
/// # use serde::{Deserialize, Serialize};
/// use serde_json::json;
///
/// #[derive(Debug, PartialEq, Serialize, Deserialize, JsonSchema, Event)]
/// #[event(name = "Withdrawn", version = 1)]
/// struct Withdrawn { amount: u64 }
///
/// /// A transfer of 2018 was a withdrawal plus a fee: two withdrawals today.
/// fn split_transfer(
///     raw: RawEvent,
///     _stored: &StoredEvent,
/// ) -> Result<Vec<RawEvent>, Box<dyn std::error::Error + Send + Sync>> {
///     let amount = raw.payload["amount"].clone();
///     let fee = raw.payload["fee"].clone();
///     Ok(vec![
///         RawEvent::new("Withdrawn", 1, json!({ "amount": amount })),
///         RawEvent::new("Withdrawn", 1, json!({ "amount": fee })),
///     ])
/// }
///
/// #[derive(Debug, PartialEq, Event)]
/// #[event(raw_upcast(from = ("TransferMade", 1), with = split_transfer))]
/// enum AccountEvent { Withdrawn(Withdrawn) }
///
/// let store = MemoryStore::new();
/// let legacy = NewEvent::new("TransferMade", 1, json!({ "amount": 30, "fee": 1 }));
/// store.append("acc-1", ExpectedVersion::NoStream, vec![legacy])?;
/// let stored = store.read_stream("acc-1", 1)?.next().unwrap()?;
/// assert_eq!(
///     AccountEvent::decode(&stored)?.into_vec(),
///     [
///         AccountEvent::Withdrawn(Withdrawn { amount: 30 }),
///         AccountEvent::Withdrawn(Withdrawn { amount: 1 }),
///     ]
/// );
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub type RawUpcaster =
    fn(RawEvent, &StoredEvent) -> Result<Vec<RawEvent>, Box<dyn std::error::Error + Send + Sync>>;

/// A stored payload on its way through the upcasters: JSON text straight from the store, or a
/// JSON value already rewritten by a raw upcaster.
#[derive(Debug, Clone)]
pub enum RawPayload<'a> {
    /// JSON text, parsed straight into the struct of its stored version.
    Json(&'a [u8]),
    /// A JSON value.
    Value(serde_json::Value),
}

impl RawPayload<'_> {
    /// Parses the payload into `T`.
    ///
    /// # Errors
    /// [`UpcastError::MalformedJson`] when the text is not JSON, [`UpcastError::WrongShape`]
    /// when it is JSON but not a `T`.
    pub fn parse<T: DeserializeOwned>(self) -> Result<T, UpcastError> {
        match self {
            RawPayload::Json(bytes) => {
                serde_json::from_slice(bytes).map_err(UpcastError::from_json)
            }
            RawPayload::Value(value) => {
                serde_json::from_value(value).map_err(UpcastError::WrongShape)
            }
        }
    }
}
