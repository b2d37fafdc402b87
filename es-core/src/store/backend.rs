//! What a store implementation needs beyond the public API: the checks and decisions every
//! store makes the same way, the wake-up of waiting readers, and the parts of a
//! [`NewEvent`].
//!
//! A backend in another crate implements [`EventStore`](crate::EventStore) with these:
//! [`validate_batch`] before anything else, [`plan_append`] to decide an append against the
//! stream's version and the stored event ids, [`NewEvent::into_parts`](crate::NewEvent::into_parts)
//! to take an event apart for writing (writing its metadata's text as it is, and giving it
//! back with [`stored_metadata`]), [`AppendOutcome::new`](crate::AppendOutcome::new) to
//! report it, and [`AppendSignal`] (or [`poll_for_append`]) for
//! [`EventStore::wait_for_append`](crate::EventStore::wait_for_append). The conformance suite
//! (`es_core::conformance`, feature `conformance`) checks the result.

use std::collections::HashSet;
use std::ops::ControlFlow;
use std::time::{Duration, Instant};

use uuid::Uuid;

pub use super::append_signal::AppendSignal;
pub use crate::event::NewEventParts;
use crate::{
    AppendError, AppendOutcome, ExpectedVersion, NewEvent, ReadError, StoredEvent, StoredEventRef,
};

/// The largest payload a store accepts, in bytes (16 MiB). Larger events are rejected before
/// anything is written.
pub const MAX_PAYLOAD_BYTES: usize = 16 * 1024 * 1024;

/// The deepest nesting of arrays and objects a metadata object may have, itself included
/// (64). Stores keep metadata as text, but a reader that asks for a key
/// ([`Metadata::get`](crate::Metadata::get)) parses it with `serde_json`, which stops at 127
/// levels, and so do the tools that parse the lines or HTTP responses the metadata is put in.
/// Half that depth leaves room for such envelopes, so whatever [`validate_batch`] accepts
/// every read path gives back unchanged. Payloads are bytes to the stores, which never parse
/// them.
pub const MAX_METADATA_DEPTH: usize = 64;

/// The longest metadata object a store accepts, as JSON text in bytes (16 MiB): what a file
/// store frame holds.
pub const MAX_METADATA_BYTES: usize = 16 * 1024 * 1024;

/// How often the default [`EventStore::wait_for_append`](crate::EventStore::wait_for_append) looks at the head position, for
/// backends that cannot notify waiters: the worst-case delay before a waiter sees an append.
pub const APPEND_POLL_INTERVAL: Duration = Duration::from_millis(50);

/// A stream of stored events, read lazily: stores never load a whole log into memory.
pub type EventIter<'a> = Box<dyn Iterator<Item = Result<StoredEvent, ReadError>> + Send + 'a>;

/// Lends each event of `events` to `visit`, until it breaks: the default of
/// [`EventStore::visit_all`](crate::EventStore::visit_all) and
/// [`visit_stream`](crate::EventStore::visit_stream), and what a store that reads owned
/// events uses to lend them.
///
/// # Errors
/// The first error of `events`; the events before it were visited.
pub fn visit_each(
    events: EventIter<'_>,
    visit: &mut dyn FnMut(&StoredEventRef<'_>) -> ControlFlow<()>,
) -> Result<(), ReadError> {
    for stored in events {
        if visit(&StoredEventRef::from(&stored?)).is_break() {
            break;
        }
    }
    Ok(())
}

/// Calls `head` every `interval`, sleeping in between, until it passes `after_position` or
/// `timeout` ends; returns the last head. For stores that learn of appends only by looking:
/// the default [`EventStore::wait_for_append`](crate::EventStore::wait_for_append) calls it
/// with [`APPEND_POLL_INTERVAL`].
///
/// # Errors
/// The first error of `head`.
pub fn poll_for_append(
    after_position: u64,
    timeout: Duration,
    interval: Duration,
    mut head: impl FnMut() -> Result<u64, ReadError>,
) -> Result<u64, ReadError> {
    // `None`: a timeout too large to add to now, which means no deadline.
    let deadline = Instant::now().checked_add(timeout);
    loop {
        let head = head()?;
        let remaining = match deadline {
            Some(deadline) => deadline.saturating_duration_since(Instant::now()),
            None => interval,
        };
        if head > after_position || remaining.is_zero() {
            return Ok(head);
        }
        std::thread::sleep(remaining.min(interval));
    }
}

/// Checks a batch before anything is written: not empty, a usable stream id, payloads within
/// [`MAX_PAYLOAD_BYTES`], metadata within [`MAX_METADATA_BYTES`] and nested at most
/// [`MAX_METADATA_DEPTH`] deep, no id repeated within the batch.
///
/// # Errors
/// [`AppendError::EmptyBatch`], [`AppendError::InvalidStreamId`], [`AppendError::TooLarge`],
/// [`AppendError::MetadataTooDeep`], [`AppendError::DuplicateEventIdInBatch`].
pub fn validate_batch(stream_id: &str, events: &[NewEvent]) -> Result<(), AppendError> {
    if stream_id.is_empty() {
        return Err(AppendError::InvalidStreamId {
            stream_id: stream_id.to_owned(),
            reason: "a stream id must not be empty",
        });
    }
    if stream_id.len() > u16::MAX as usize {
        return Err(AppendError::InvalidStreamId {
            stream_id: stream_id.chars().take(64).collect(),
            reason: "a stream id must be at most 65535 bytes",
        });
    }
    if events.is_empty() {
        return Err(AppendError::EmptyBatch);
    }
    let mut seen = HashSet::with_capacity(events.len());
    for event in events {
        if event.payload().len() > MAX_PAYLOAD_BYTES {
            return Err(AppendError::TooLarge {
                event_id: event.event_id(),
                size: event.payload().len(),
                limit: MAX_PAYLOAD_BYTES,
            });
        }
        if event.metadata().as_str().len() > MAX_METADATA_BYTES {
            return Err(AppendError::TooLarge {
                event_id: event.event_id(),
                size: event.metadata().as_str().len(),
                limit: MAX_METADATA_BYTES,
            });
        }
        if crate::event::metadata_depth(event.metadata().as_str()) > MAX_METADATA_DEPTH {
            return Err(AppendError::MetadataTooDeep {
                event_id: event.event_id(),
                limit: MAX_METADATA_DEPTH,
            });
        }
        if !seen.insert(event.event_id()) {
            return Err(AppendError::DuplicateEventIdInBatch {
                event_id: event.event_id(),
            });
        }
    }
    Ok(())
}

/// The [`Metadata`](crate::Metadata) of a stored event from the text the store kept, without
/// parsing it: reads stay cheap, and the text comes back byte for byte. The store wrote text
/// that [`Metadata::from_json`](crate::Metadata::from_json) or a map had made (what
/// [`NewEventParts::metadata`] holds), so only the shape of an object (`{` … `}`, JSON
/// spacing around it) is checked here; `None` for anything else, which the store reports as
/// damaged data.
#[must_use]
pub fn stored_metadata(text: String) -> Option<crate::Metadata> {
    crate::Metadata::from_stored(text)
}

/// Whether `text` is metadata that [`stored_metadata`] accepts, checked without copying it:
/// for a store that lends its events ([`StoredEventRef::from_parts`](crate::StoredEventRef::from_parts)).
///
/// # Examples
/// ```
/// use es_core::store::backend::is_stored_metadata;
/// assert!(is_stored_metadata(br#" {"user": "ann"} "#));
/// assert!(!is_stored_metadata(b"[1]"));
/// assert!(!is_stored_metadata(b""));
/// assert!(!is_stored_metadata(b"{\xff}"));
/// ```
#[must_use]
pub fn is_stored_metadata(text: &[u8]) -> bool {
    std::str::from_utf8(text).is_ok_and(crate::event::is_metadata_object_text)
}

/// Where an event id is already stored; for [`plan_append`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredId<'a> {
    /// The stream holding the id.
    pub stream_id: &'a str,
    /// The stream version of the event.
    pub stream_version: u64,
    /// The global position of the event.
    pub position: u64,
}

/// What a store should do with a validated batch; from [`plan_append`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AppendPlan {
    /// Write the batch at versions `first_version..`.
    Write {
        /// The stream version of the batch's first event.
        first_version: u64,
    },
    /// The batch is already stored at these versions: report this outcome, write nothing.
    AlreadyStored(AppendOutcome),
}

/// Decides an append the same way in every store: idempotent replay of an already stored batch,
/// duplicate ids, then the expected-version check. `current_version` is the stream's last
/// version (0: none); `lookup` finds where an event id is stored.
///
/// # Errors
/// [`AppendError::DuplicateEventId`] or [`AppendError::Conflict`].
pub fn plan_append<'a>(
    stream_id: &str,
    expected: ExpectedVersion,
    current_version: u64,
    events: &[NewEvent],
    mut lookup: impl FnMut(Uuid) -> Option<StoredId<'a>>,
) -> Result<AppendPlan, AppendError> {
    let found: Vec<Option<StoredId<'a>>> = events.iter().map(|e| lookup(e.event_id())).collect();
    if found.iter().all(Option::is_some) {
        let found: Vec<StoredId<'a>> = found.into_iter().flatten().collect();
        if let Some(outcome) = replayed_outcome(stream_id, expected, &found) {
            return Ok(AppendPlan::AlreadyStored(outcome));
        }
    }
    if let Some((event, Some(at))) = events
        .iter()
        .zip(events.iter().map(|e| lookup(e.event_id())))
        .find(|(_, at)| at.is_some())
    {
        return Err(AppendError::DuplicateEventId {
            event_id: event.event_id(),
            stream_id: at.stream_id.to_owned(),
            stream_version: at.stream_version,
        });
    }
    if !expected.is_met_by(current_version) {
        return Err(AppendError::Conflict {
            expected,
            actual: current_version,
        });
    }
    Ok(AppendPlan::Write {
        first_version: current_version + 1,
    })
}

/// The outcome of an idempotent replay, when `found` is the whole batch stored in `stream_id`
/// at consecutive versions where `expected` would have put it.
fn replayed_outcome(
    stream_id: &str,
    expected: ExpectedVersion,
    found: &[StoredId<'_>],
) -> Option<AppendOutcome> {
    let first = found.first()?;
    let last = found.last()?;
    let in_place = found.iter().enumerate().all(|(i, at)| {
        at.stream_id == stream_id && at.stream_version == first.stream_version + i as u64
    });
    let where_expected = match expected {
        ExpectedVersion::Any | ExpectedVersion::StreamExists => true,
        ExpectedVersion::NoStream => first.stream_version == 1,
        ExpectedVersion::Exact(n) => first.stream_version == n + 1,
    };
    (in_place && where_expected)
        .then(|| AppendOutcome::new(last.stream_version, first.position, last.position, true))
}
