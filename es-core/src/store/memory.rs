//! [`MemoryStore`]: an event store in memory, for tests and examples.

use std::collections::HashMap;
use std::sync::{Arc, RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::time::{Duration, SystemTime};

use uuid::Uuid;

use super::backend::{plan_append, validate_batch, AppendPlan, AppendSignal, EventIter, StoredId};
use crate::{
    AppendError, AppendOutcome, CheckpointError, CheckpointStore, EventStore, ExpectedVersion,
    NewEvent, ReadError, Snapshot, SnapshotError, SnapshotStore, StoredEvent,
};

/// An event store held in memory; gone when dropped. Same semantics as the durable stores.
///
/// # Examples
/// ```
/// use es_core::{EventStore, ExpectedVersion, MemoryStore, NewEvent};
/// use serde_json::json;
///
/// let store = MemoryStore::new();
/// let outcome = store.append("s", ExpectedVersion::Any, vec![NewEvent::new("Pinged", 1, json!({}))])?;
/// assert_eq!((outcome.stream_version, outcome.last_position), (1, 1));
/// assert_eq!(store.read_all(1)?.count(), 1);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Default)]
pub struct MemoryStore {
    inner: RwLock<Inner>,
    /// Wakes `wait_for_append` callers once an append is readable.
    appended: AppendSignal,
    snapshots: RwLock<HashMap<String, Snapshot>>,
    checkpoints: RwLock<HashMap<String, u64>>,
}

#[derive(Debug, Default)]
struct Inner {
    /// Every event; the event at index `i` has position `i + 1`.
    events: Vec<Arc<StoredEvent>>,
    /// Per stream, the positions of its events in version order.
    streams: HashMap<String, Vec<u64>>,
    /// Where each event id is stored.
    ids: HashMap<Uuid, u64>,
}

impl MemoryStore {
    /// An empty store.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    fn read(&self) -> RwLockReadGuard<'_, Inner> {
        // A panic while holding the lock cannot leave `Inner` half-written: appends build the
        // new events first and mutate only after every check passed.
        read_lock(&self.inner)
    }

    fn write(&self) -> RwLockWriteGuard<'_, Inner> {
        write_lock(&self.inner)
    }
}

fn read_lock<T>(lock: &RwLock<T>) -> RwLockReadGuard<'_, T> {
    lock.read()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn write_lock<T>(lock: &RwLock<T>) -> RwLockWriteGuard<'_, T> {
    lock.write()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl Inner {
    fn event_at(&self, position: u64) -> Option<&Arc<StoredEvent>> {
        let index = usize::try_from(position.checked_sub(1)?).ok()?;
        self.events.get(index)
    }
}

impl EventStore for MemoryStore {
    fn append(
        &self,
        stream_id: &str,
        expected: ExpectedVersion,
        events: Vec<NewEvent>,
    ) -> Result<AppendOutcome, AppendError> {
        validate_batch(stream_id, &events)?;
        let mut inner = self.write();
        let current = inner.streams.get(stream_id).map_or(0, |s| s.len() as u64);
        let plan = plan_append(stream_id, expected, current, &events, |id| {
            let position = *inner.ids.get(&id)?;
            let stored = inner.event_at(position)?;
            Some(StoredId {
                stream_id: &stored.stream_id,
                stream_version: stored.stream_version,
                position,
            })
        })?;
        let first_version = match plan {
            AppendPlan::AlreadyStored(outcome) => return Ok(outcome),
            AppendPlan::Write { first_version } => first_version,
        };
        let recorded_at = SystemTime::now();
        let first_position = inner.events.len() as u64 + 1;
        let count = events.len() as u64;
        for (offset, event) in (0u64..).zip(events) {
            let parts = event.into_parts();
            let position = first_position + offset;
            inner.ids.insert(parts.event_id, position);
            inner.events.push(Arc::new(StoredEvent {
                position,
                stream_id: stream_id.to_owned(),
                stream_version: first_version + offset,
                event_id: parts.event_id,
                event_type: parts.event_type,
                schema_version: parts.schema_version,
                payload: parts.payload,
                metadata: parts.metadata,
                recorded_at: parts.recorded_at.unwrap_or(recorded_at),
            }));
        }
        inner
            .streams
            .entry(stream_id.to_owned())
            .or_default()
            .extend(first_position..first_position + count);
        drop(inner);
        self.appended.notify(first_position + count - 1);
        Ok(AppendOutcome::new(
            first_version + count - 1,
            first_position,
            first_position + count - 1,
            false,
        ))
    }

    fn read_stream(&self, stream_id: &str, from_version: u64) -> Result<EventIter<'_>, ReadError> {
        let stream_id = stream_id.to_owned();
        // Versions count from 1; index i of the stream's positions holds version i + 1.
        let mut index = usize::try_from(from_version.saturating_sub(1)).unwrap_or(usize::MAX);
        Ok(Box::new(std::iter::from_fn(move || {
            let inner = self.read();
            let position = *inner.streams.get(&stream_id)?.get(index)?;
            index += 1;
            inner.event_at(position).map(|e| Ok(StoredEvent::clone(e)))
        })))
    }

    fn read_all(&self, from_position: u64) -> Result<EventIter<'_>, ReadError> {
        let mut position = from_position.max(1);
        Ok(Box::new(std::iter::from_fn(move || {
            let inner = self.read();
            let event = inner.event_at(position)?;
            position += 1;
            Some(Ok(StoredEvent::clone(event)))
        })))
    }

    fn stream_version(&self, stream_id: &str) -> Result<u64, ReadError> {
        Ok(self
            .read()
            .streams
            .get(stream_id)
            .map_or(0, |s| s.len() as u64))
    }

    fn head_position(&self) -> Result<u64, ReadError> {
        Ok(self.read().events.len() as u64)
    }

    fn wait_for_append(&self, after_position: u64, timeout: Duration) -> Result<u64, ReadError> {
        Ok(self.appended.wait(after_position, timeout))
    }
}

impl SnapshotStore for MemoryStore {
    fn load_snapshot(&self, stream_id: &str) -> Result<Option<Snapshot>, SnapshotError> {
        Ok(read_lock(&self.snapshots).get(stream_id).cloned())
    }

    fn save_snapshot(&self, snapshot: &Snapshot) -> Result<(), SnapshotError> {
        write_lock(&self.snapshots).insert(snapshot.stream_id.clone(), snapshot.clone());
        Ok(())
    }
}

impl CheckpointStore for MemoryStore {
    fn load_checkpoint(&self, projection: &str) -> Result<Option<u64>, CheckpointError> {
        Ok(read_lock(&self.checkpoints).get(projection).copied())
    }

    fn save_checkpoint(&self, projection: &str, position: u64) -> Result<(), CheckpointError> {
        write_lock(&self.checkpoints).insert(projection.to_owned(), position);
        Ok(())
    }
}
