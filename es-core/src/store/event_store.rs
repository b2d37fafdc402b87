//! The store layer: streams of events with expected versions, the [`EventStore`] trait.

use std::collections::HashSet;
use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant};

use uuid::Uuid;

pub use crate::append_signal::AppendSignal;
use crate::{NewEvent, StoredEvent};

/// The largest payload a store accepts, in bytes (16 MiB). Larger events are rejected before
/// anything is written.
pub const MAX_PAYLOAD_BYTES: usize = 16 * 1024 * 1024;

/// How often the default [`EventStore::wait_for_append`] looks at the head position, for
/// backends that cannot notify waiters: the worst-case delay before a waiter sees an append.
pub const APPEND_POLL_INTERVAL: Duration = Duration::from_millis(50);

/// A stream of stored events, read lazily: stores never load a whole log into memory.
pub type EventIter<'a> = Box<dyn Iterator<Item = Result<StoredEvent, ReadError>> + Send + 'a>;

/// What the caller believes about a stream before appending to it: optimistic concurrency.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ExpectedVersion {
    /// Append whatever the stream's state.
    Any,
    /// The stream must not exist yet (it has no events).
    NoStream,
    /// The stream must exist (it has at least one event).
    StreamExists,
    /// The stream's last version must be exactly this (`Exact(0)` means it has no events).
    Exact(u64),
}

impl ExpectedVersion {
    /// Whether a stream whose last version is `actual` (0: no stream) meets this expectation.
    #[must_use]
    pub fn is_met_by(self, actual: u64) -> bool {
        match self {
            ExpectedVersion::Any => true,
            ExpectedVersion::NoStream => actual == 0,
            ExpectedVersion::StreamExists => actual > 0,
            ExpectedVersion::Exact(n) => actual == n,
        }
    }
}

impl fmt::Display for ExpectedVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ExpectedVersion::Any => f.write_str("any version"),
            ExpectedVersion::NoStream => f.write_str("no stream"),
            ExpectedVersion::StreamExists => f.write_str("an existing stream"),
            ExpectedVersion::Exact(n) => write!(f, "version {n}"),
        }
    }
}

/// Where a successful append put its events.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct AppendOutcome {
    /// The stream's version after the batch: pass it as `Exact` to append after it.
    pub stream_version: u64,
    /// Global position of the batch's first event.
    pub first_position: u64,
    /// Global position of the batch's last event.
    pub last_position: u64,
    /// True when every event of the batch was already stored at these versions (an idempotent
    /// retry): nothing was written.
    pub already_stored: bool,
}

impl AppendOutcome {
    /// An outcome; for store implementations.
    #[must_use]
    pub fn new(
        stream_version: u64,
        first_position: u64,
        last_position: u64,
        already_stored: bool,
    ) -> Self {
        Self {
            stream_version,
            first_position,
            last_position,
            already_stored,
        }
    }
}

/// Why an append wrote nothing.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AppendError {
    /// The stream is not at the expected version; reload and retry.
    #[error("expected {expected}, but the stream is at version {actual}")]
    Conflict {
        /// What the caller expected.
        expected: ExpectedVersion,
        /// The stream's last version (0: the stream has no events).
        actual: u64,
    },
    /// An event id of the batch is already stored, but not as this batch at these versions.
    #[error(
        "event id {event_id} is already stored in stream `{stream_id}` at version {stream_version}"
    )]
    DuplicateEventId {
        /// The id.
        event_id: Uuid,
        /// Where it is stored (empty when the batch itself repeats the id).
        stream_id: String,
        /// At which version (0 when the batch itself repeats the id).
        stream_version: u64,
    },
    /// The batch has no events.
    #[error("an append needs at least one event")]
    EmptyBatch,
    /// The stream id is not acceptable.
    #[error("invalid stream id {stream_id:?}: {reason}")]
    InvalidStreamId {
        /// The id given.
        stream_id: String,
        /// Why it is refused.
        reason: &'static str,
    },
    /// A payload or event exceeds what the store accepts.
    #[error("event {event_id} is {size} bytes, more than the limit of {limit}")]
    TooLarge {
        /// The event's id.
        event_id: Uuid,
        /// Its size in bytes.
        size: usize,
        /// The limit in bytes.
        limit: usize,
    },
    /// The store is closed or failed earlier and refuses writes until it is reopened.
    #[error("the store refuses writes: {reason}")]
    Unavailable {
        /// Why.
        reason: String,
    },
    /// Reading the stream's state failed.
    #[error("could not read the stream's state")]
    Read(#[source] ReadError),
    /// The storage failed; the append may not be acknowledged.
    #[error("storage I/O failed")]
    Io(#[source] std::io::Error),
    /// A backend-specific failure (for example a database error).
    #[error("the backend failed")]
    Backend(#[source] Box<dyn std::error::Error + Send + Sync>),
}

/// Why a read failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ReadError {
    /// The storage failed.
    #[error("storage I/O failed")]
    Io(#[source] std::io::Error),
    /// Stored bytes are damaged.
    #[error("damaged data in {file} at byte offset {offset}: {reason}")]
    Corrupt {
        /// The file (segment) holding the damage.
        file: String,
        /// The byte offset in that file.
        offset: u64,
        /// What is wrong.
        reason: String,
    },
    /// A backend-specific failure (for example a database error).
    #[error("the backend failed")]
    Backend(#[source] Box<dyn std::error::Error + Send + Sync>),
}

/// An append-only log of events in streams, with per-stream optimistic concurrency.
///
/// Implemented by [`MemoryStore`](crate::MemoryStore), the file store and the PostgreSQL
/// store; all pass the same conformance suite. Stores are `Send + Sync`; share them by
/// reference or [`Arc`].
///
/// # Examples
/// ```
/// use es_core::{AppendError, EventStore, ExpectedVersion, MemoryStore, NewEvent};
/// use serde_json::json;
///
/// let store = MemoryStore::new();
/// let claim = || vec![NewEvent::new("UsernameClaimed", 1, json!({ "user": "u-1" }))];
/// store.append("username-ada", ExpectedVersion::NoStream, claim())?;
/// let second = store.append("username-ada", ExpectedVersion::NoStream, claim());
/// assert!(matches!(second, Err(AppendError::Conflict { expected: ExpectedVersion::NoStream, actual: 1 })));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub trait EventStore: Send + Sync {
    /// Appends a batch to a stream, atomically: all events or none.
    ///
    /// # Errors
    /// [`AppendError::Conflict`] when the stream does not meet `expected` (nothing is written);
    /// [`AppendError::DuplicateEventId`] when an id is stored elsewhere; the validation errors
    /// of [`validate_batch`]; storage failures.
    fn append(
        &self,
        stream_id: &str,
        expected: ExpectedVersion,
        events: Vec<NewEvent>,
    ) -> Result<AppendOutcome, AppendError>;

    /// The events of one stream from `from_version` on (versions count from 1), in order.
    ///
    /// # Errors
    /// When the storage fails; damage met while iterating is an `Err` item.
    fn read_stream(&self, stream_id: &str, from_version: u64) -> Result<EventIter<'_>, ReadError>;

    /// Every event of the store from global position `from_position` on, in order.
    ///
    /// # Errors
    /// When the storage fails; damage met while iterating is an `Err` item.
    fn read_all(&self, from_position: u64) -> Result<EventIter<'_>, ReadError>;

    /// The stream's last version, 0 when it has no events.
    ///
    /// # Errors
    /// When the storage fails.
    fn stream_version(&self, stream_id: &str) -> Result<u64, ReadError>;

    /// The position of the last event in the store, 0 when it is empty.
    ///
    /// # Errors
    /// When the storage fails.
    fn head_position(&self) -> Result<u64, ReadError>;

    /// Blocks until the store holds an event beyond `after_position`, or until `timeout` ends,
    /// and returns the head position then; returns at once when such an event already exists.
    /// The caller compares the result with `after_position` to tell an append from a timeout.
    ///
    /// Subscriptions and following projections wait here instead of polling. The default
    /// implementation is a fallback for backends that cannot notify: it polls
    /// [`head_position`](Self::head_position) every [`APPEND_POLL_INTERVAL`] (sleeping in
    /// between, so it costs little CPU but may notice an append that much late). Stores that
    /// can do better override it: [`MemoryStore`](crate::MemoryStore) and
    /// [`FileStore`](crate::FileStore) wake waiters from `append` through an [`AppendSignal`].
    ///
    /// # Errors
    /// When the storage fails.
    fn wait_for_append(&self, after_position: u64, timeout: Duration) -> Result<u64, ReadError> {
        poll_for_append(after_position, timeout, APPEND_POLL_INTERVAL, || {
            self.head_position()
        })
    }
}

/// Calls `head` every `interval`, sleeping in between, until it passes `after_position` or
/// `timeout` ends; returns the last head. For stores that learn of appends only by looking.
pub(crate) fn poll_for_append(
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

macro_rules! forward_event_store {
    ($($ptr:ty),*) => {$(
        impl<S: EventStore + ?Sized> EventStore for $ptr {
            fn append(
                &self,
                stream_id: &str,
                expected: ExpectedVersion,
                events: Vec<NewEvent>,
            ) -> Result<AppendOutcome, AppendError> {
                (**self).append(stream_id, expected, events)
            }
            fn read_stream(&self, stream_id: &str, from_version: u64) -> Result<EventIter<'_>, ReadError> {
                (**self).read_stream(stream_id, from_version)
            }
            fn read_all(&self, from_position: u64) -> Result<EventIter<'_>, ReadError> {
                (**self).read_all(from_position)
            }
            fn stream_version(&self, stream_id: &str) -> Result<u64, ReadError> {
                (**self).stream_version(stream_id)
            }
            fn head_position(&self) -> Result<u64, ReadError> {
                (**self).head_position()
            }
            fn wait_for_append(&self, after_position: u64, timeout: Duration) -> Result<u64, ReadError> {
                (**self).wait_for_append(after_position, timeout)
            }
        }
    )*};
}

forward_event_store!(&S, Arc<S>, Box<S>);

/// Checks a batch before anything is written: not empty, a usable stream id, payloads within
/// [`MAX_PAYLOAD_BYTES`], no id repeated within the batch.
///
/// # Errors
/// [`AppendError::EmptyBatch`], [`AppendError::InvalidStreamId`], [`AppendError::TooLarge`],
/// [`AppendError::DuplicateEventId`].
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
        if !seen.insert(event.event_id()) {
            return Err(AppendError::DuplicateEventId {
                event_id: event.event_id(),
                stream_id: String::new(),
                stream_version: 0,
            });
        }
    }
    Ok(())
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
