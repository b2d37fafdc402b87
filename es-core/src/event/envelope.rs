//! [`Envelope`]: a decoded event with the facts its store recorded about it.

use std::time::SystemTime;

use uuid::Uuid;

use crate::{DecodeError, Event, Metadata, StoredEvent};

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

    /// Decodes a stored event it owns, appending the envelopes to `out`: the stream id and
    /// metadata move into the envelope instead of being copied when there is one event.
    pub(crate) fn decode_into(stored: StoredEvent, out: &mut Vec<Self>) -> Result<(), DecodeError> {
        let mut events = E::decode(&stored)?.into_iter();
        if events.len() == 1 {
            if let Some(event) = events.next() {
                out.push(Self {
                    position: stored.position,
                    stream_id: stored.stream_id,
                    stream_version: stored.stream_version,
                    event_id: stored.event_id,
                    metadata: stored.metadata,
                    recorded_at: stored.recorded_at,
                    event,
                });
            }
            return Ok(());
        }
        out.extend(events.map(|event| Self::wrap(&stored, event)));
        Ok(())
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
