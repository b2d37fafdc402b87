//! Reading the log in decoded chunks: the catch-up step projections, subscriptions and
//! [`ParallelReplay`](crate::ParallelReplay) share.
//!
//! Events are visited borrowed from the store's read buffer ([`EventStore::visit_range`]) and
//! decoded there ([`Event::decode_ref`]); only what the chunk hands on is owned: owned
//! [`Envelope`]s for the APIs that give them out, or, for borrowed replays, the decoded events
//! with the chunk's stream ids and metadata gathered in one text buffer.

use std::collections::VecDeque;
use std::ops::{ControlFlow, Range};
use std::time::SystemTime;

use uuid::Uuid;

use crate::{DecodeError, Envelope, Event, EventStore, ReadError, StoredEventRef};

/// Stored events after a position, decoded through [`Event::decode_ref`], up to a limit or the
/// first failure.
pub(crate) struct DecodedChunk<Out> {
    /// The decoded events, in log order (a stored event may become none or several).
    pub envelopes: Out,
    /// The position of the last stored event consumed; the starting position when none was.
    pub through: u64,
    /// How many stored events were consumed (decoded, or removed on purpose).
    pub consumed: usize,
    /// What ended the chunk before the limit, just after `through`; `None` at the log's end or
    /// at the limit.
    pub failure: Option<ChunkFailure>,
}

/// Why a chunk ended early.
#[derive(Debug)]
pub(crate) enum ChunkFailure {
    Read(ReadError),
    Decode(DecodeError),
}

/// Where a chunk's decoded events go.
pub(crate) trait ChunkSink<E> {
    /// Forgets the events of an earlier chunk (freeing them here), keeping the capacity.
    fn clear(&mut self);

    /// Decodes `stored` and keeps the events it becomes.
    ///
    /// # Errors
    /// The decode error of the stored event.
    fn decode(&mut self, stored: &StoredEventRef<'_>) -> Result<(), DecodeError>;
}

/// Decodes `stored` and passes each event it becomes to `push`, as an owned envelope.
pub(crate) fn decode_envelopes<E: Event>(
    stored: &StoredEventRef<'_>,
    mut push: impl FnMut(Envelope<E>),
) -> Result<(), DecodeError> {
    let events = E::decode_ref(stored)?;
    if events.is_empty() {
        return Ok(());
    }
    let metadata = stored
        .metadata()
        .map_err(|e| crate::__private::metadata_error(stored, &e))?;
    let stream_id = stored.stream_id.to_owned();
    // `for_each`, not `for`: it hands each event on without a copy of it on the way.
    events.into_iter().for_each(|event| {
        push(Envelope {
            position: stored.position,
            stream_id: stream_id.clone(),
            stream_version: stored.stream_version,
            event_id: stored.event_id,
            metadata: metadata.clone(),
            recorded_at: stored.recorded_at,
            event,
        });
    });
    Ok(())
}

impl<E: Event> ChunkSink<E> for Vec<Envelope<E>> {
    fn clear(&mut self) {
        Vec::clear(self);
    }

    fn decode(&mut self, stored: &StoredEventRef<'_>) -> Result<(), DecodeError> {
        decode_envelopes(stored, |envelope| self.push(envelope))
    }
}

/// Events of a chunk that a worker reuses: before each stored event is decoded, one event of
/// the chunk's previous use is freed, so that the allocator hands its memory straight to the
/// new event (freeing a whole chunk at once overflows the allocator's per-thread caches, and
/// every later allocation then takes its slow path).
pub(crate) struct Recycled<T> {
    live: Vec<T>,
    /// The previous use's events, oldest first.
    stale: VecDeque<T>,
}

impl<T> Default for Recycled<T> {
    fn default() -> Self {
        Self {
            live: Vec::new(),
            stale: VecDeque::new(),
        }
    }
}

impl<T> Recycled<T> {
    /// The events of the chunk, in order.
    pub(crate) fn as_slice(&self) -> &[T] {
        &self.live
    }

    /// Makes the live events stale, to be freed one by one, oldest first, as new ones come.
    /// Neither moves an event: the buffers change hands (an empty queue's buffer becomes the
    /// new live vector, the live vector the new queue).
    fn recycle(&mut self) {
        self.stale.clear();
        let spare = Vec::from(std::mem::take(&mut self.stale));
        self.stale = VecDeque::from(std::mem::replace(&mut self.live, spare));
    }

    /// Frees one stale event, if any is left.
    fn free_one(&mut self) {
        self.stale.pop_front();
    }

    fn push(&mut self, event: T) {
        self.live.push(event);
    }
}

impl<E: Event> ChunkSink<E> for Recycled<Envelope<E>> {
    fn clear(&mut self) {
        self.recycle();
    }

    fn decode(&mut self, stored: &StoredEventRef<'_>) -> Result<(), DecodeError> {
        self.free_one();
        decode_envelopes(stored, |envelope| self.push(envelope))
    }
}

/// Decoded events without owned stream ids or metadata: those of the chunk's events sit in
/// one text buffer, and each event names its ranges of it.
pub(crate) struct BorrowedChunk<E> {
    events: Recycled<Facts<E>>,
    /// The stream ids of the chunk's events, one after the other.
    streams: String,
    /// The metadata texts of the chunk's events that have metadata, one after the other.
    metadata: Vec<u8>,
}

/// One decoded event with the facts of its stored event.
struct Facts<E> {
    position: u64,
    stream_version: u64,
    event_id: Uuid,
    recorded_at: SystemTime,
    stream_id: Range<usize>,
    metadata: Range<usize>,
    event: E,
}

impl<E> Default for BorrowedChunk<E> {
    fn default() -> Self {
        Self {
            events: Recycled::default(),
            streams: String::new(),
            metadata: Vec::new(),
        }
    }
}

impl<E> BorrowedChunk<E> {
    /// Passes each event, in order, as an [`EnvelopeRef`](crate::EnvelopeRef).
    pub(crate) fn for_each(&self, apply: &mut impl FnMut(&crate::EnvelopeRef<'_, E>)) {
        for facts in self.events.as_slice() {
            let stream_id = self
                .streams
                .get(facts.stream_id.clone())
                .unwrap_or_default();
            let metadata = match self.metadata.get(facts.metadata.clone()) {
                None | Some([]) => b"{}",
                Some(metadata) => metadata,
            };
            apply(&crate::EnvelopeRef {
                position: facts.position,
                stream_id,
                stream_version: facts.stream_version,
                event_id: facts.event_id,
                metadata,
                recorded_at: facts.recorded_at,
                event: &facts.event,
            });
        }
    }
}

impl<E: Event> ChunkSink<E> for BorrowedChunk<E> {
    fn clear(&mut self) {
        self.events.recycle();
        self.streams.clear();
        self.metadata.clear();
    }

    fn decode(&mut self, stored: &StoredEventRef<'_>) -> Result<(), DecodeError> {
        self.events.free_one();
        let events = E::decode_ref(stored)?;
        if events.is_empty() {
            return Ok(());
        }
        // The same stream as the previous event (common in a log) shares its text.
        let stream_id = match self.events.live.last() {
            Some(last) if self.streams.get(last.stream_id.clone()) == Some(stored.stream_id) => {
                last.stream_id.clone()
            }
            _ => {
                let start = self.streams.len();
                self.streams.push_str(stored.stream_id);
                start..self.streams.len()
            }
        };
        let metadata = match stored.metadata_text() {
            b"{}" => 0..0,
            metadata => {
                let start = self.metadata.len();
                self.metadata.extend_from_slice(metadata);
                start..self.metadata.len()
            }
        };
        // `for_each`, not `for`: it hands each event on without a copy of it on the way.
        events.into_iter().for_each(|event| {
            self.events.push(Facts {
                position: stored.position,
                stream_version: stored.stream_version,
                event_id: stored.event_id,
                recorded_at: stored.recorded_at,
                stream_id: stream_id.clone(),
                metadata: metadata.clone(),
                event,
            });
        });
        Ok(())
    }
}

/// Reads up to `limit` stored events after `after_position` and decodes them. Events decoded
/// before a failure are kept, so a caller can apply them and report the failure at the exact
/// event that caused it.
pub(crate) fn read_decoded<E: Event, S: EventStore + ?Sized>(
    store: &S,
    after_position: u64,
    limit: usize,
) -> DecodedChunk<Vec<Envelope<E>>> {
    read_decoded_through(store, after_position, u64::MAX, limit, Vec::new())
}

/// [`read_decoded`], stopping also before the first stored event after `last_position`, and
/// decoding into `reuse` (cleared), whose capacity and freed events the chunk then reuses.
pub(crate) fn read_decoded_through<E: Event, S: EventStore + ?Sized, Out: ChunkSink<E>>(
    store: &S,
    after_position: u64,
    last_position: u64,
    limit: usize,
    mut reuse: Out,
) -> DecodedChunk<Out> {
    reuse.clear();
    let visited = visit_through(store, after_position, last_position, limit, |stored| {
        reuse.decode(stored)
    });
    DecodedChunk {
        envelopes: reuse,
        through: visited.through,
        consumed: visited.consumed,
        failure: visited.failure,
    }
}

/// Passes up to `limit` stored events after `after_position`, through `last_position`, to
/// `take`, stopping at the first it fails on or that fails to read.
pub(crate) fn visit_through<S: EventStore + ?Sized>(
    store: &S,
    after_position: u64,
    last_position: u64,
    limit: usize,
    mut take: impl FnMut(&StoredEventRef<'_>) -> Result<(), DecodeError>,
) -> DecodedChunk<()> {
    let mut chunk = DecodedChunk {
        envelopes: (),
        through: after_position,
        consumed: 0,
        failure: None,
    };
    if limit == 0 {
        return chunk;
    }
    let first = after_position.saturating_add(1);
    let read = store.visit_range(first, last_position, &mut |stored| {
        // A store's `visit_range` stops there; one that lent more must not apply it twice.
        if stored.position > last_position {
            return ControlFlow::Break(());
        }
        if let Err(e) = take(stored) {
            chunk.failure = Some(ChunkFailure::Decode(e));
            return ControlFlow::Break(());
        }
        chunk.through = stored.position;
        chunk.consumed += 1;
        if chunk.consumed >= limit {
            ControlFlow::Break(())
        } else {
            ControlFlow::Continue(())
        }
    });
    if let Err(e) = read {
        chunk.failure = Some(ChunkFailure::Read(e));
    }
    chunk
}
