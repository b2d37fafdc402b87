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
/// placed at the stored event. When an output does not fit its version's struct, the upcaster
/// runs once more on the same stored event, to name the field that does not fit
/// ([`DecodeError::field`](crate::DecodeError::field)): write it as a pure function of its
/// arguments. Raw upcasters run only for their own `(tag, version)`: events
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
    /// [`UpcastError::MalformedJson`] when the text is not JSON; [`UpcastError::WrongField`]
    /// naming the field, or [`UpcastError::WrongShape`] when no field can be named, when it is
    /// JSON but not a `T`.
    #[inline]
    pub fn parse<T: DeserializeOwned>(self) -> Result<T, UpcastError> {
        match self {
            RawPayload::Json(bytes) => {
                serde_json::from_slice(bytes).map_err(|error| json_error::<T>(bytes, error))
            }
            RawPayload::Value(value) => {
                serde_json::from_value(value).map_err(UpcastError::WrongShape)
            }
        }
    }
}

/// The error of JSON text that did not parse into `T`: [`UpcastError::WrongField`] naming the
/// field when the text is JSON of another shape and a field can be named. Called only when
/// parsing failed: the text is parsed again, through a deserializer that tracks the path.
#[cold]
fn json_error<T: DeserializeOwned>(bytes: &[u8], error: serde_json::Error) -> UpcastError {
    if !error.is_data() {
        return UpcastError::from_json(error);
    }
    match field_path::<T>(bytes) {
        Some(field) => UpcastError::WrongField {
            field,
            source: error,
        },
        None => UpcastError::WrongShape(error),
    }
}

/// The path of the field of `bytes` that does not fit `T`, as `title` or `items[2].sku`; for a
/// missing field, the path of the field that is missing. `None` when the payload as a whole
/// does not fit (a string where `T` is an object, say), or when it parses after all.
pub(crate) fn field_path<T: DeserializeOwned>(bytes: &[u8]) -> Option<String> {
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    let error = serde_path_to_error::deserialize::<_, T>(&mut deserializer).err()?;
    let path = error.path();
    let mut field = if path.iter().next().is_some() {
        path.to_string()
    } else {
        String::new()
    };
    // serde's message for a missing field, whatever the format: "missing field `name`".
    let message = error.inner().to_string();
    if let Some(missing) = message
        .strip_prefix("missing field `")
        .and_then(|rest| rest.split_once('`'))
        .map(|(name, _)| name)
    {
        if !field.is_empty() {
            field.push('.');
        }
        field.push_str(missing);
    }
    (!field.is_empty()).then_some(field)
}
