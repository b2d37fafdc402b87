//! `Repository::snapshot_every`: loads start from the latest usable snapshot and read only the
//! events after it; stale or damaged snapshots are ignored, reported and replaced.

use std::sync::atomic::{AtomicU64, Ordering};

use es_core::store::backend::EventIter;
use es_core::AppendOutcome;
use es_core::Durability;
use es_core::{
    Aggregate, AppendError, CheckpointStore, Event, EventStore, ExpectedVersion, FileStore,
    MemoryStore, NewEvent, ReadError, Repository,
};
use es_core::{Snapshot, SnapshotError, SnapshotStore};
use es_tests::message_log::MessageLog;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema, Event)]
#[event(name = "Incremented", version = 1)]
struct Incremented {
    by: u64,
}

#[derive(Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
struct Counter {
    total: u64,
}

impl Aggregate for Counter {
    type Event = Incremented;
    type Command = u64;
    type Error = std::convert::Infallible;

    fn handle(&self, by: u64) -> Result<Vec<Incremented>, Self::Error> {
        Ok(vec![Incremented { by }])
    }

    fn apply(&mut self, event: &Incremented) {
        self.total += event.by;
    }
}

/// A store that counts the events its `read_stream` iterators yield.
struct CountingStore<S> {
    inner: S,
    events_read: AtomicU64,
}

impl<S> CountingStore<S> {
    fn new(inner: S) -> Self {
        Self {
            inner,
            events_read: AtomicU64::new(0),
        }
    }

    /// The events read since the last call.
    fn take_count(&self) -> u64 {
        self.events_read.swap(0, Ordering::SeqCst)
    }
}

impl<S: EventStore> EventStore for CountingStore<S> {
    fn append(
        &self,
        stream_id: &str,
        expected: ExpectedVersion,
        events: Vec<NewEvent>,
    ) -> Result<AppendOutcome, AppendError> {
        self.inner.append(stream_id, expected, events)
    }

    fn read_stream(&self, stream_id: &str, from_version: u64) -> Result<EventIter<'_>, ReadError> {
        let counter = &self.events_read;
        Ok(Box::new(
            self.inner
                .read_stream(stream_id, from_version)?
                .inspect(move |_| {
                    counter.fetch_add(1, Ordering::SeqCst);
                }),
        ))
    }

    fn read_all(&self, from_position: u64) -> Result<EventIter<'_>, ReadError> {
        self.inner.read_all(from_position)
    }

    fn stream_version(&self, stream_id: &str) -> Result<u64, ReadError> {
        self.inner.stream_version(stream_id)
    }

    fn head_position(&self) -> Result<u64, ReadError> {
        self.inner.head_position()
    }
}

impl<S: SnapshotStore> SnapshotStore for CountingStore<S> {
    fn load_snapshot(&self, stream_id: &str) -> Result<Option<Snapshot>, SnapshotError> {
        self.inner.load_snapshot(stream_id)
    }

    fn save_snapshot(&self, snapshot: &Snapshot) -> Result<(), SnapshotError> {
        self.inner.save_snapshot(snapshot)
    }
}

/// Appends `n` increments of 1..=n to the stream, as raw events (no repository involved).
fn append_increments(store: &impl EventStore, stream: &str, range: std::ops::RangeInclusive<u64>) {
    let batch: Vec<NewEvent> = range
        .map(|by| NewEvent::encode(&Incremented { by }).expect("encode"))
        .collect();
    store
        .append(stream, ExpectedVersion::Any, batch)
        .expect("append increments");
}

fn sum_to(n: u64) -> u64 {
    n * (n + 1) / 2
}

fn temp_file_store() -> (tempfile::TempDir, FileStore) {
    let dir = tempfile::tempdir().expect("temporary directory");
    let store = FileStore::options()
        .durability(Durability::None)
        .open(dir.path())
        .expect("open");
    (dir, store)
}

fn loading_cost_follows_the_snapshot<S: EventStore + SnapshotStore>(store: S) {
    let repo = Repository::<Counter, _>::new(CountingStore::new(store)).snapshot_every(100);
    append_increments(repo.store(), "c", 1..=250);

    let first = repo.load("c").expect("load");
    assert_eq!((first.state.total, first.version), (sum_to(250), 250));
    assert_eq!(
        repo.store().take_count(),
        250,
        "no snapshot yet: every event"
    );
    let saved = repo
        .store()
        .load_snapshot("c")
        .expect("load snapshot")
        .expect("the load crossed versions 100 and 200, so it saved a snapshot");
    assert_eq!(saved.stream_version, 250);

    append_increments(repo.store(), "c", 251..=280);
    let second = repo.load("c").expect("load");
    assert_eq!((second.state.total, second.version), (sum_to(280), 280));
    assert_eq!(
        repo.store().take_count(),
        30,
        "only the events after the snapshot"
    );

    for by in 281..=300 {
        repo.execute("c", by).expect("execute");
    }
    repo.store().take_count();
    let third = repo.load("c").expect("load");
    assert_eq!(third.state.total, sum_to(300));
    assert_eq!(
        repo.store().take_count(),
        0,
        "execute saved a snapshot at version 300"
    );

    let plain = Repository::<Counter, _>::new(&repo.store().inner);
    assert_eq!(plain.load("c").expect("load").state, third.state);
}

#[test]
fn loading_reads_only_the_events_after_the_snapshot_in_memory() {
    loading_cost_follows_the_snapshot(MemoryStore::new());
}

#[test]
fn loading_reads_only_the_events_after_the_snapshot_on_file() {
    let (_dir, store) = temp_file_store();
    loading_cost_follows_the_snapshot(store);
}

#[test]
fn load_at_never_starts_from_a_newer_snapshot() {
    let repo =
        Repository::<Counter, _>::new(CountingStore::new(MemoryStore::new())).snapshot_every(100);
    append_increments(repo.store(), "c", 1..=250);
    repo.load("c").expect("load saves a snapshot at 250");
    repo.store().take_count();

    let past = repo.load_at("c", 150).expect("load_at");
    assert_eq!((past.state.total, past.version), (sum_to(150), 150));
    assert_eq!(
        repo.store().take_count(),
        150,
        "the snapshot at 250 is newer than 150: replay from the start"
    );
    let stored = repo
        .store()
        .load_snapshot("c")
        .expect("load")
        .expect("kept");
    assert_eq!(
        stored.stream_version, 250,
        "time travel does not replace the snapshot"
    );

    append_increments(repo.store(), "c", 251..=260);
    let later = repo.load_at("c", 255).expect("load_at");
    assert_eq!((later.state.total, later.version), (sum_to(255), 255));
    assert_eq!(
        repo.store().take_count(),
        5,
        "from the snapshot at 250: versions 251..=255"
    );
}

#[test]
fn snapshot_of_another_state_schema_is_ignored_reported_and_replaced() {
    let repo =
        Repository::<Counter, _>::new(CountingStore::new(MemoryStore::new())).snapshot_every(100);
    append_increments(repo.store(), "c", 1..=250);
    let stale = Snapshot::new("c", 200, "0123456789abcdef", br#"{"total":7}"#.to_vec());
    repo.store().save_snapshot(&stale).expect("save");

    let log = MessageLog::default();
    let loaded = tracing::subscriber::with_default(log.clone(), || repo.load("c").expect("load"));
    assert_eq!(
        loaded.state.total,
        sum_to(250),
        "rebuilt from events, not the stale state"
    );
    assert_eq!(repo.store().take_count(), 250);
    assert!(
        log.messages()
            .iter()
            .any(|m| m.contains("another state schema")),
        "the stale snapshot is reported: {:?}",
        log.messages()
    );
    let replaced = repo
        .store()
        .load_snapshot("c")
        .expect("load")
        .expect("saved");
    assert_eq!(
        replaced.fingerprint,
        es_core::schema::fingerprint_of::<Counter>()
    );
    assert_eq!(replaced.stream_version, 250);
}

#[test]
fn damaged_snapshot_file_is_ignored_reported_and_replaced() {
    let (dir, store) = temp_file_store();
    let repo = Repository::<Counter, _>::new(CountingStore::new(store)).snapshot_every(100);
    append_increments(repo.store(), "c", 1..=120);
    repo.load("c").expect("load saves a snapshot");
    let snapshots: Vec<_> = std::fs::read_dir(dir.path().join("snapshots"))
        .expect("snapshot directory")
        .map(|e| e.expect("entry").path())
        .collect();
    assert_eq!(snapshots.len(), 1, "one snapshot file: {snapshots:?}");
    let mut bytes = std::fs::read(&snapshots[0]).expect("read snapshot");
    let last = bytes.len() - 2;
    bytes[last] ^= 0x55;
    std::fs::write(&snapshots[0], &bytes).expect("damage snapshot");
    assert!(matches!(
        repo.store().load_snapshot("c"),
        Err(SnapshotError::Corrupt { .. })
    ));
    repo.store().take_count();

    let log = MessageLog::default();
    let loaded = tracing::subscriber::with_default(log.clone(), || repo.load("c").expect("load"));
    assert_eq!(loaded.state.total, sum_to(120));
    assert_eq!(repo.store().take_count(), 120, "replayed from the start");
    assert!(
        log.messages().iter().any(|m| m.contains("cannot be read")),
        "the damaged snapshot is reported: {:?}",
        log.messages()
    );
    let replaced = repo
        .store()
        .load_snapshot("c")
        .expect("the damaged file was replaced")
        .expect("saved");
    assert_eq!(replaced.stream_version, 120);
}

#[test]
fn snapshots_and_checkpoints_survive_reopening() {
    let dir = tempfile::tempdir().expect("temporary directory");
    {
        let store = FileStore::open(dir.path()).expect("open");
        store
            .save_snapshot(&Snapshot::new("s/1", 3, "fp", b"{}".to_vec()))
            .expect("save snapshot");
        store
            .save_checkpoint("balances", 17)
            .expect("save checkpoint");
        store
            .save_checkpoint("balances", 18)
            .expect("replace checkpoint");
    }
    let store = FileStore::open(dir.path()).expect("reopen");
    let snapshot = store.load_snapshot("s/1").expect("load").expect("kept");
    assert_eq!(
        (snapshot.stream_version, snapshot.fingerprint.as_str()),
        (3, "fp")
    );
    assert_eq!(store.load_snapshot("other").expect("load"), None);
    assert_eq!(store.load_checkpoint("balances").expect("load"), Some(18));
    assert_eq!(store.load_checkpoint("other").expect("load"), None);

    let memory = MemoryStore::new();
    memory.save_checkpoint("p", 5).expect("save");
    assert_eq!(memory.load_checkpoint("p").expect("load"), Some(5));
    assert_eq!(memory.load_checkpoint("q").expect("load"), None);
}
