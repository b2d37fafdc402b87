//! How a [`Repository`](crate::Repository) uses snapshots: the policy set by
//! `snapshot_every`, and the typed load and save it captured.
//!
//! The policy keeps plain function pointers instantiated where the state type's bounds
//! (`Serialize`, `DeserializeOwned`, `JsonSchema`) and the store's `SnapshotStore` bound are
//! known, so that `load` and `execute` need no extra bounds themselves.

use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::Loaded;
use crate::{Snapshot, SnapshotStore};

/// Snapshot every `every` versions, tagged with the state's schema fingerprint.
pub(crate) struct SnapshotPolicy<A, S> {
    pub every: u64,
    pub fingerprint: String,
    pub load: fn(&S, &str, &str) -> Option<Loaded<A>>,
    pub save: fn(&S, &str, &str, &Loaded<A>),
}

impl<A, S> SnapshotPolicy<A, S> {
    /// Whether going from `from` to `to` crosses a multiple of `every`.
    pub(crate) fn crosses(&self, from: u64, to: u64) -> bool {
        to / self.every > from / self.every
    }
}

/// The stream's snapshot as a state, when there is one this code can use. A snapshot of
/// another state schema, or one that cannot be read or parsed, is reported and ignored: it is
/// a cache, and the events rebuild what it held.
pub(crate) fn load_snapshot<A: DeserializeOwned, S: SnapshotStore>(
    store: &S,
    stream_id: &str,
    fingerprint: &str,
) -> Option<Loaded<A>> {
    let snapshot = match store.load_snapshot(stream_id) {
        Ok(Some(snapshot)) => snapshot,
        Ok(None) => return None,
        Err(error) => {
            tracing::warn!(
                stream_id,
                %error,
                "ignoring a snapshot that cannot be read; replaying the stream's events"
            );
            return None;
        }
    };
    if snapshot.fingerprint != fingerprint {
        tracing::info!(
            stream_id,
            stored = %snapshot.fingerprint,
            current = fingerprint,
            "ignoring a snapshot of another state schema; replaying the stream's events"
        );
        return None;
    }
    match serde_json::from_slice(&snapshot.state) {
        Ok(state) => Some(Loaded {
            state,
            version: snapshot.stream_version,
        }),
        Err(error) => {
            tracing::warn!(
                stream_id,
                %error,
                "ignoring a snapshot whose state does not parse; replaying the stream's events"
            );
            None
        }
    }
}

/// Saves `loaded` as the stream's snapshot; a failure is reported, not returned, since the
/// events remain the source of truth.
pub(crate) fn save_snapshot<A: Serialize, S: SnapshotStore>(
    store: &S,
    stream_id: &str,
    fingerprint: &str,
    loaded: &Loaded<A>,
) {
    let state = match serde_json::to_vec(&loaded.state) {
        Ok(state) => state,
        Err(error) => {
            tracing::warn!(stream_id, %error, "could not serialize a snapshot");
            return;
        }
    };
    let snapshot = Snapshot::new(stream_id, loaded.version, fingerprint, state);
    if let Err(error) = store.save_snapshot(&snapshot) {
        tracing::warn!(stream_id, %error, "could not save a snapshot");
    }
}
