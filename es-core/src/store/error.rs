//! The errors of the store layer: [`AppendError`] and [`ReadError`].

use std::path::PathBuf;

use uuid::Uuid;

use crate::{Damage, ExpectedVersion};

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
        /// The stream where it is stored.
        stream_id: String,
        /// The stream version it is stored at.
        stream_version: u64,
    },
    /// The batch holds the same event id twice.
    #[error("event id {event_id} appears twice in the batch")]
    DuplicateEventIdInBatch {
        /// The id.
        event_id: Uuid,
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
    /// An event's metadata nests arrays and objects deeper than every read path can parse
    /// back ([`MAX_METADATA_DEPTH`](crate::store::backend::MAX_METADATA_DEPTH)).
    #[error("the metadata of event {event_id} nests deeper than {limit} levels")]
    MetadataTooDeep {
        /// The event's id.
        event_id: Uuid,
        /// The deepest nesting accepted, the metadata object itself included.
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
    /// Stored bytes of a file store are damaged.
    #[error("damaged data in {} at byte offset {offset}: {damage}", segment.display())]
    Corrupt {
        /// The segment file holding the damage.
        segment: PathBuf,
        /// The byte offset in that file.
        offset: u64,
        /// What is wrong.
        damage: Damage,
    },
    /// A backend-specific failure (for example a database error).
    #[error("the backend failed")]
    Backend(#[source] Box<dyn std::error::Error + Send + Sync>),
}
