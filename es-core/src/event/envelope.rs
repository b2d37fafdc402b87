//! [`Envelope`]: a decoded event with the facts its store recorded about it.

use std::time::SystemTime;

use uuid::Uuid;

use crate::{DecodeError, Event, Metadata, MetadataError, StoredEvent};

/// A typed event together with where and when it was stored.
///
/// # Examples
/// ```
/// # use es_core::{Envelope, Event, EventStore, ExpectedVersion, MemoryStore, NewEvent};
/// # use serde::{Deserialize, Serialize};
/// # use schemars::JsonSchema;
/// #[derive(Debug, PartialEq, Serialize, Deserialize, JsonSchema, Event)]
/// struct Deposited { amount: u64 }
///
/// let store = MemoryStore::new();
/// store.append("acc-1", ExpectedVersion::NoStream, vec![NewEvent::encode(&Deposited { amount: 5 })?])?;
/// let stored = store.read_stream("acc-1", 1)?.next().unwrap()?;
/// let envelopes = Envelope::<Deposited>::decode(&stored)?;
/// assert_eq!(envelopes[0].stream_version, 1);
/// assert_eq!(envelopes[0].event, Deposited { amount: 5 });
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Envelope<E> {
    /// Position in the store's global order.
    pub position: u64,
    /// The stream the event belongs to.
    pub stream_id: String,
    /// Version of the stream after the stored event.
    pub stream_version: u64,
    /// The id of the stored event.
    pub event_id: Uuid,
    /// The metadata stored with the event, as the JSON text it was appended with.
    pub metadata: Metadata,
    /// When the store recorded the event.
    pub recorded_at: SystemTime,
    /// The event, upcast to today's type.
    pub event: E,
}

impl<E: Event> Envelope<E> {
    /// Decodes a stored event into envelopes, one per event it becomes (usually one; none for
    /// a tag removed on purpose; several when an upcaster splits it).
    ///
    /// # Errors
    /// The [`DecodeError`] of [`Event::decode`].
    pub fn decode(stored: &StoredEvent) -> Result<Vec<Self>, DecodeError> {
        Ok(E::decode(stored)?
            .into_iter()
            .map(|event| Self::wrap(stored, event))
            .collect())
    }

    /// Wraps an already decoded event with the facts of the stored event it came from.
    #[must_use]
    pub fn wrap(stored: &StoredEvent, event: E) -> Self {
        Self {
            position: stored.position,
            stream_id: stored.stream_id.clone(),
            stream_version: stored.stream_version,
            event_id: stored.event_id,
            metadata: stored.metadata.clone(),
            recorded_at: stored.recorded_at,
            event,
        }
    }
}

/// A decoded event with the facts its store recorded about it, borrowed: what
/// [`ParallelReplay::run_ref`](crate::ParallelReplay::run_ref) hands to its function, without
/// an owned copy of the stream id or the metadata.
///
/// [`to_envelope`](Self::to_envelope) makes an owned [`Envelope`] of it.
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub struct EnvelopeRef<'a, E> {
    /// Position in the store's global order.
    pub position: u64,
    /// The stream the event belongs to.
    pub stream_id: &'a str,
    /// Version of the stream after the stored event.
    pub stream_version: u64,
    /// The id of the stored event.
    pub event_id: Uuid,
    /// The metadata stored with the event, as the text of a JSON object (`{}` when empty);
    /// not parsed on the replay path.
    pub metadata: &'a [u8],
    /// When the store recorded the event.
    pub recorded_at: SystemTime,
    /// The event, upcast to today's type.
    pub event: &'a E,
}

impl<E: Clone> EnvelopeRef<'_, E> {
    /// An owned envelope: the stream id and the metadata's text copied (not parsed), the event
    /// cloned.
    ///
    /// # Errors
    /// When the metadata is not a JSON object's text (a store gives back what it accepted, so
    /// only a hand-made envelope can fail).
    pub fn to_envelope(&self) -> Result<Envelope<E>, MetadataError> {
        let metadata = super::metadata_from_text(self.metadata)?;
        Ok(Envelope {
            position: self.position,
            stream_id: self.stream_id.to_owned(),
            stream_version: self.stream_version,
            event_id: self.event_id,
            metadata,
            recorded_at: self.recorded_at,
            event: self.event.clone(),
        })
    }
}
