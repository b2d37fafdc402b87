//! Reading `read_all` in decoded chunks: the catch-up step projections and subscriptions share.

use crate::{DecodeError, Envelope, Event, EventStore, ReadError, StoredEvent};

/// Stored events after a position, decoded through [`Event::decode`], up to a limit or the
/// first failure.
pub(crate) struct DecodedChunk<E> {
    /// The decoded events, in log order (a stored event may become none or several).
    pub envelopes: Vec<Envelope<E>>,
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

/// Reads up to `limit` stored events after `after_position` and decodes them. Events decoded
/// before a failure are kept, so a caller can apply them and report the failure at the exact
/// event that caused it.
pub(crate) fn read_decoded<E: Event, S: EventStore + ?Sized>(
    store: &S,
    after_position: u64,
    limit: usize,
) -> DecodedChunk<E> {
    read_decoded_through(store, after_position, u64::MAX, limit, Vec::new())
}

/// [`read_decoded`], stopping also before the first stored event after `last_position`, and
/// decoding into `reuse` (cleared), whose capacity and freed events the chunk then reuses.
pub(crate) fn read_decoded_through<E: Event, S: EventStore + ?Sized>(
    store: &S,
    after_position: u64,
    last_position: u64,
    limit: usize,
    mut reuse: Vec<Envelope<E>>,
) -> DecodedChunk<E> {
    let mut chunk = DecodedChunk {
        envelopes: Vec::new(),
        through: after_position,
        consumed: 0,
        failure: None,
    };
    let events = match store.read_all(after_position.saturating_add(1)) {
        Ok(events) => events,
        Err(e) => {
            chunk.failure = Some(ChunkFailure::Read(e));
            return chunk;
        }
    };
    let in_range = |stored: &Result<StoredEvent, ReadError>| {
        stored
            .as_ref()
            .map_or(true, |stored| stored.position <= last_position)
    };
    let mut events = events.take_while(in_range).take(limit).peekable();
    // The first read allocates the reader's buffer. Only after it are the events of `reuse`
    // freed, so that this chunk's events take their memory back at once: with glibc's
    // allocator, a large allocation while many small freed blocks wait in its fast lists
    // merges them all (`malloc_consolidate`), a cost paid again for every chunk.
    events.peek();
    reuse.clear();
    chunk.envelopes = reuse;
    for stored in events {
        let decoded = stored.map_err(ChunkFailure::Read).and_then(|stored| {
            let position = stored.position;
            Envelope::decode_into(stored, &mut chunk.envelopes).map_err(ChunkFailure::Decode)?;
            Ok(position)
        });
        match decoded {
            Ok(position) => {
                chunk.through = position;
                chunk.consumed += 1;
            }
            Err(failure) => {
                chunk.failure = Some(failure);
                break;
            }
        }
    }
    chunk
}
