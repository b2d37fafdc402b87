//! [`StoredEvent`]: an event as a store returns it.

use std::cell::RefCell;
use std::time::SystemTime;

use serde_json::Value;
use uuid::Uuid;

use crate::{Metadata, MetadataError};

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
        crate::event::raw::from_json_text(&self.payload)
    }

    /// A metadata entry by key.
    #[must_use]
    pub fn metadata_value(&self, key: &str) -> Option<&Value> {
        self.metadata.get(key)
    }
}

/// A stored event borrowed from a store's read buffer: the same facts as [`StoredEvent`],
/// with the stream id, type tag, payload and metadata left where the store read them.
///
/// Replays decode these through [`Event::decode_ref`](crate::Event::decode_ref), so an event
/// that is decoded and applied is never copied out of the buffer. The metadata stays JSON
/// text; nothing on the replay path parses it.
///
/// # Examples
/// ```
/// use es_core::{EventStore, ExpectedVersion, MemoryStore, NewEvent, StoredEventRef};
/// use serde_json::json;
///
/// let store = MemoryStore::new();
/// store.append("acc-1", ExpectedVersion::Any, vec![NewEvent::new("Opened", 1, json!({}))])?;
/// let stored = store.read_all(1)?.next().unwrap()?;
/// let borrowed = StoredEventRef::from(&stored);
/// assert_eq!((borrowed.stream_id, borrowed.payload), ("acc-1", &b"{}"[..]));
/// assert_eq!(borrowed.to_stored()?, stored);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Copy)]
pub struct StoredEventRef<'a> {
    /// Position in the store's global order; counts from 1 and only grows.
    pub position: u64,
    /// The stream the event belongs to.
    pub stream_id: &'a str,
    /// Version of the stream after this event; the first event of a stream has version 1.
    pub stream_version: u64,
    /// The unique id given to the event when it was appended.
    pub event_id: Uuid,
    /// The type tag the event was written with.
    pub event_type: &'a str,
    /// The schema version the payload was written with.
    pub schema_version: u32,
    /// The payload as JSON text, exactly as written.
    pub payload: &'a [u8],
    /// When the store recorded the event.
    pub recorded_at: SystemTime,
    /// The metadata object's JSON text (`{}` when empty), as stored.
    metadata: &'a [u8],
    /// The owned event this one borrows from, when it does: raw upcasters receive it as it is.
    owned: Option<&'a StoredEvent>,
}

impl<'a> StoredEventRef<'a> {
    /// A borrowed event whose metadata is the JSON text `metadata` (empty for an empty
    /// object), as a store read it; it is never parsed here ([`Metadata`] parses it when a key
    /// is asked for).
    #[must_use]
    #[allow(clippy::too_many_arguments)]
    pub fn from_parts(
        position: u64,
        stream_id: &'a str,
        stream_version: u64,
        event_id: Uuid,
        event_type: &'a str,
        schema_version: u32,
        payload: &'a [u8],
        metadata: &'a [u8],
        recorded_at: SystemTime,
    ) -> Self {
        Self {
            position,
            stream_id,
            stream_version,
            event_id,
            event_type,
            schema_version,
            payload,
            recorded_at,
            metadata: if metadata.is_empty() { b"{}" } else { metadata },
            owned: None,
        }
    }

    /// The metadata object's JSON text (`{}` when empty), exactly as stored; not parsed.
    #[must_use]
    pub fn metadata_text(&self) -> &'a [u8] {
        self.metadata
    }

    /// The metadata as an owned [`Metadata`]: its text copied, parsed only when a key is asked
    /// for.
    ///
    /// # Errors
    /// When the stored text is not a JSON object's (a store gives back what it accepted, so
    /// only a hand-made borrowed event can fail).
    pub fn metadata(&self) -> Result<Metadata, MetadataError> {
        if let Some(owned) = self.owned {
            return Ok(owned.metadata.clone());
        }
        metadata_from_text(self.metadata)
    }

    /// Lends `f` the whole stored event, for a hand-written `decode` or a raw upcaster: the
    /// owned event this one borrows from, or else an owned copy, made in the buffers of the
    /// thread's previous copy (a replay through a raw upcaster then copies each event without
    /// allocating).
    ///
    /// # Errors
    /// The decode error of metadata that is not an object's text (only a hand-made event's).
    #[inline]
    pub(crate) fn with_whole<T>(
        &self,
        f: impl FnOnce(&StoredEvent) -> T,
    ) -> Result<T, crate::DecodeError> {
        if let Some(owned) = self.owned {
            return Ok(f(owned));
        }
        let metadata = self
            .metadata()
            .map_err(|e| crate::__private::metadata_error(self, &e))?;
        Ok(SPARE_COPY.with(|spare| {
            if let Ok(mut copy) = spare.try_borrow_mut() {
                self.copy_into(&mut copy, metadata);
                let result = f(&copy);
                // A large payload's buffer is not kept for the next event.
                if copy.payload.capacity() > KEPT_PAYLOAD {
                    copy.payload = Vec::new();
                }
                result
            } else {
                // A decode nested in `f` (a hand-written `decode` decoding another event).
                let mut copy = empty();
                self.copy_into(&mut copy, metadata);
                f(&copy)
            }
        }))
    }

    /// Makes `copy` this event, in its buffers, with `metadata` (this event's, owned). Every
    /// field is named, so a field added to `StoredEvent` must be copied here too.
    fn copy_into(&self, copy: &mut StoredEvent, metadata: Metadata) {
        let StoredEvent {
            position,
            stream_id,
            stream_version,
            event_id,
            event_type,
            schema_version,
            payload,
            metadata: copied_metadata,
            recorded_at,
        } = copy;
        *position = self.position;
        stream_id.clear();
        stream_id.push_str(self.stream_id);
        *stream_version = self.stream_version;
        *event_id = self.event_id;
        event_type.clear();
        event_type.push_str(self.event_type);
        *schema_version = self.schema_version;
        payload.clear();
        payload.extend_from_slice(self.payload);
        *copied_metadata = metadata;
        *recorded_at = self.recorded_at;
    }

    /// An owned copy.
    ///
    /// # Errors
    /// The error of [`metadata`](Self::metadata).
    pub fn to_stored(&self) -> Result<StoredEvent, MetadataError> {
        if let Some(owned) = self.owned {
            return Ok(owned.clone());
        }
        let mut copy = empty();
        self.copy_into(&mut copy, self.metadata()?);
        Ok(copy)
    }
}

thread_local! {
    /// The copy [`StoredEventRef::with_whole`] lends, kept for its buffers.
    static SPARE_COPY: RefCell<StoredEvent> = RefCell::new(empty());
}

/// An event with nothing allocated, to fill.
fn empty() -> StoredEvent {
    StoredEvent {
        position: 0,
        stream_id: String::new(),
        stream_version: 0,
        event_id: Uuid::nil(),
        event_type: String::new(),
        schema_version: 0,
        payload: Vec::new(),
        metadata: Metadata::default(),
        recorded_at: SystemTime::UNIX_EPOCH,
    }
}

/// The largest payload buffer a thread keeps for the next event it copies or lends to a raw
/// upcaster: larger ones are freed, so a rare large event does not stay in memory.
pub(crate) const KEPT_PAYLOAD: usize = 64 * 1024;

impl<'a> From<&'a StoredEvent> for StoredEventRef<'a> {
    fn from(stored: &'a StoredEvent) -> Self {
        Self {
            position: stored.position,
            stream_id: &stored.stream_id,
            stream_version: stored.stream_version,
            event_id: stored.event_id,
            event_type: &stored.event_type,
            schema_version: stored.schema_version,
            payload: &stored.payload,
            recorded_at: stored.recorded_at,
            metadata: stored.metadata.as_bytes(),
            owned: Some(stored),
        }
    }
}

/// Owned metadata of a stored object's text (`{}` allocates nothing); not parsed.
pub(crate) fn metadata_from_text(text: &[u8]) -> Result<Metadata, MetadataError> {
    if text == b"{}" {
        return Ok(Metadata::default());
    }
    std::str::from_utf8(text)
        .ok()
        .and_then(|text| Metadata::from_stored(text.to_owned()))
        .ok_or(MetadataError::NotAnObject {
            kind: "text that is not a JSON object",
        })
}

#[cfg(test)]
mod tests {
    use std::time::SystemTime;

    use uuid::Uuid;

    use super::{StoredEventRef, KEPT_PAYLOAD, SPARE_COPY};

    fn borrowed(payload: &[u8]) -> StoredEventRef<'_> {
        StoredEventRef::from_parts(
            7,
            "acc-1",
            2,
            Uuid::nil(),
            "Deposited",
            1,
            payload,
            br#"{"k":1}"#,
            SystemTime::UNIX_EPOCH,
        )
    }

    #[test]
    fn a_lent_copy_is_the_event_and_keeps_its_buffers_for_the_next_unless_large() {
        let small = br#"{"amount":30}"#;
        let copied = borrowed(small)
            .with_whole(super::StoredEvent::clone)
            .expect("copies");
        assert_eq!(
            (
                copied.position,
                copied.stream_id.as_str(),
                copied.stream_version
            ),
            (7, "acc-1", 2)
        );
        assert_eq!(
            (copied.event_type.as_str(), copied.schema_version),
            ("Deposited", 1)
        );
        assert_eq!(
            (copied.payload.as_slice(), copied.metadata.as_str()),
            (&small[..], r#"{"k":1}"#)
        );
        assert!(SPARE_COPY.with(|spare| spare.borrow().payload.capacity()) >= small.len());

        let large = vec![b' '; KEPT_PAYLOAD + 1];
        let len = borrowed(&large)
            .with_whole(|whole| whole.payload.len())
            .expect("copies");
        assert_eq!(len, KEPT_PAYLOAD + 1);
        assert_eq!(
            SPARE_COPY.with(|spare| spare.borrow().payload.capacity()),
            0
        );

        // Lent again while lent (a hand-written decode decoding another event): a fresh copy.
        let nested = borrowed(small)
            .with_whole(|_| borrowed(b"[]").with_whole(|inner| inner.payload.clone()))
            .expect("copies")
            .expect("copies");
        assert_eq!(nested, b"[]");
    }
}
