//! Snapshots: a cache of an aggregate's state at a stream version, never a source of truth.

use std::sync::Arc;

use crate::ReadError;

/// An aggregate's state saved at a stream version, tagged with the fingerprint of the state's
/// schema so a snapshot written by code with another state shape is ignored, not misread.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Snapshot {
    /// The stream the state was rebuilt from.
    pub stream_id: String,
    /// The stream version the state reflects.
    pub stream_version: u64,
    /// [`crate::schema::fingerprint`] of the state type's JSON Schema.
    pub fingerprint: String,
    /// The state as JSON text.
    pub state: Vec<u8>,
}

impl Snapshot {
    /// A snapshot of `state` (JSON text) at `stream_version`.
    #[must_use]
    pub fn new(
        stream_id: impl Into<String>,
        stream_version: u64,
        fingerprint: impl Into<String>,
        state: Vec<u8>,
    ) -> Self {
        Self {
            stream_id: stream_id.into(),
            stream_version,
            fingerprint: fingerprint.into(),
            state,
        }
    }
}

/// Why a snapshot could not be read or written.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SnapshotError {
    /// The storage failed.
    #[error("snapshot storage I/O failed")]
    Io(#[source] std::io::Error),
    /// The stored snapshot is damaged.
    #[error("snapshot of stream `{stream_id}` is damaged: {reason}")]
    Corrupt {
        /// The stream.
        stream_id: String,
        /// What is wrong.
        reason: String,
    },
    /// The store refuses writes (for example a file store opened read-only).
    #[error("the store refuses snapshot writes: {reason}")]
    Unavailable {
        /// Why.
        reason: String,
    },
    /// Reading related data failed.
    #[error("could not read")]
    Read(#[source] ReadError),
    /// A backend-specific failure.
    #[error("the snapshot backend failed")]
    Backend(#[source] Box<dyn std::error::Error + Send + Sync>),
}

/// Where snapshots are kept: one per stream, the latest saved.
pub trait SnapshotStore: Send + Sync {
    /// The latest snapshot of a stream, if any.
    ///
    /// # Errors
    /// When the storage fails or the snapshot is damaged; callers treat both as a cache miss.
    fn load_snapshot(&self, stream_id: &str) -> Result<Option<Snapshot>, SnapshotError>;

    /// Saves a snapshot, replacing the stream's previous one atomically.
    ///
    /// # Errors
    /// When the storage fails; the previous snapshot is then still intact.
    fn save_snapshot(&self, snapshot: &Snapshot) -> Result<(), SnapshotError>;
}

macro_rules! forward_snapshot_store {
    ($($ptr:ty),*) => {$(
        impl<S: SnapshotStore + ?Sized> SnapshotStore for $ptr {
            fn load_snapshot(&self, stream_id: &str) -> Result<Option<Snapshot>, SnapshotError> {
                (**self).load_snapshot(stream_id)
            }
            fn save_snapshot(&self, snapshot: &Snapshot) -> Result<(), SnapshotError> {
                (**self).save_snapshot(snapshot)
            }
        }
    )*};
}

forward_snapshot_store!(&S, Arc<S>, Box<S>);
