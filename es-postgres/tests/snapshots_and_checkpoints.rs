//! Snapshots and checkpoints in PostgreSQL, through the repository and the projection runner,
//! shared between two stores as between two instances of a service.

mod support;

use std::convert::Infallible;

use es_core::{
    Aggregate, CheckpointStore, Envelope, Event, EventStore, Projection, ProjectionRunner,
    Repository, Snapshot, SnapshotStore,
};
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
    type Error = Infallible;

    fn handle(&self, by: u64) -> Result<Vec<Incremented>, Infallible> {
        Ok(vec![Incremented { by }])
    }

    fn apply(&mut self, event: &Incremented) {
        self.total += event.by;
    }
}

#[test]
fn snapshots_are_saved_every_n_versions_and_serve_every_instance() {
    let Some(fixture) = support::fixture() else {
        return;
    };
    let repo = Repository::<Counter, _>::new(fixture.second_store()).snapshot_every(10);
    for by in 1..=25 {
        repo.execute("counter-1", by).expect("execute");
    }
    let snapshot = fixture
        .store
        .load_snapshot("counter-1")
        .expect("load")
        .expect("a snapshot was saved");
    assert_eq!(snapshot.stream_version, 20);
    assert_eq!(
        serde_json::from_slice::<Counter>(&snapshot.state).expect("state"),
        Counter {
            total: (1..=20).sum()
        }
    );
    // Another instance loads from the same snapshot and the five events after it.
    let other = Repository::<Counter, _>::new(fixture.second_store()).snapshot_every(10);
    let loaded = other.load("counter-1").expect("load");
    assert_eq!((loaded.state.total, loaded.version), ((1..=25).sum(), 25));
}

#[test]
fn a_snapshot_of_another_state_schema_is_ignored_and_replaced() {
    let Some(fixture) = support::fixture() else {
        return;
    };
    let repo = Repository::<Counter, _>::new(fixture.second_store()).snapshot_every(5);
    for _ in 0..4 {
        repo.execute("c", 1).expect("execute");
    }
    // A snapshot by code whose state had another shape, claiming a wrong total.
    fixture
        .store
        .save_snapshot(&Snapshot::new(
            "c",
            4,
            "another-fingerprint",
            br#"{"total":999}"#.to_vec(),
        ))
        .expect("save");
    assert_eq!(repo.load("c").expect("load").state.total, 4);
    repo.execute("c", 1).expect("execute");
    let snapshot = fixture
        .store
        .load_snapshot("c")
        .expect("load")
        .expect("saved");
    assert_ne!(snapshot.fingerprint, "another-fingerprint");
    assert_eq!(snapshot.stream_version, 5);
}

/// Sums every increment it sees; counts how many events it was given.
#[derive(Default)]
struct Sum {
    total: u64,
    applied: u64,
}

impl Projection for Sum {
    type Event = Incremented;
    type Error = Infallible;

    fn name(&self) -> &'static str {
        "sum"
    }

    fn apply(&mut self, event: &Envelope<Incremented>) -> Result<(), Infallible> {
        self.total += event.event.by;
        self.applied += 1;
        Ok(())
    }

    fn reset(&mut self) -> Result<(), Infallible> {
        *self = Self::default();
        Ok(())
    }
}

#[test]
fn a_projection_resumes_from_its_checkpoint_on_another_instance() {
    let Some(fixture) = support::fixture() else {
        return;
    };
    let repo = Repository::<Counter, _>::new(fixture.second_store());
    for by in 1..=30 {
        repo.execute(&format!("c-{}", by % 3), by).expect("execute");
    }
    let first = fixture.second_store();
    let mut runner = ProjectionRunner::new(&first, Sum::default(), &first).expect("runner");
    assert_eq!(runner.catch_up().expect("catch up"), 30);
    assert_eq!(runner.projection().total, (1..=30).sum::<u64>());
    assert_eq!(first.load_checkpoint("sum").expect("checkpoint"), Some(30));

    for by in 31..=40 {
        repo.execute("c-0", by).expect("execute");
    }
    // A second instance takes over: it starts after the checkpoint, not from the beginning.
    let second = fixture.second_store();
    let mut runner = ProjectionRunner::new(&second, Sum::default(), &second).expect("runner");
    assert_eq!(runner.catch_up().expect("catch up"), 10);
    assert_eq!(runner.projection().applied, 10);
    assert_eq!(runner.projection().total, (31..=40).sum::<u64>());
    assert_eq!(second.load_checkpoint("sum").expect("checkpoint"), Some(40));
    assert_eq!(runner.lag().expect("lag"), 0);
    assert_eq!(second.head_position().expect("head"), 40);
}
