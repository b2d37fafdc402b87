//! The store called from inside Tokio: on a runtime thread directly (it must not panic) and
//! through `spawn_blocking`, as the README recommends for async services.

mod support;

use std::sync::Arc;
use std::time::Duration;

use es_core::{CheckpointStore, EventStore, ExpectedVersion, NewEvent, Snapshot, SnapshotStore};
use es_postgres::PgStore;
use serde_json::json;

fn event() -> NewEvent {
    NewEvent::new("Pinged", 1, json!({}))
}

/// Every kind of call, made on whatever thread runs it.
fn exercise(store: &PgStore) {
    let outcome = store
        .append("s", ExpectedVersion::Any, vec![event(), event()])
        .expect("append");
    assert_eq!(store.read_stream("s", 1).expect("read_stream").count(), 2);
    assert!(store.read_all(1).expect("read_all").count() >= 2);
    let mut lent = 0;
    store
        .visit_all(1, &mut |_| {
            lent += 1;
            std::ops::ControlFlow::Continue(())
        })
        .expect("visit_all");
    store
        .visit_range(1, 1, &mut |_| {
            lent += 1;
            std::ops::ControlFlow::Continue(())
        })
        .expect("visit_range");
    assert!(lent >= 3, "{lent}");
    assert!(store.stream_version("s").expect("version") >= 2);
    assert!(
        store
            .wait_for_append(outcome.last_position - 1, Duration::from_secs(5))
            .expect("wait")
            >= outcome.last_position
    );
    store
        .save_snapshot(&Snapshot::new("s", 2, "fp", b"{}".to_vec()))
        .expect("save snapshot");
    assert!(store.load_snapshot("s").expect("load snapshot").is_some());
    store.save_checkpoint("p", 2).expect("save checkpoint");
    assert_eq!(
        store.load_checkpoint("p").expect("load checkpoint"),
        Some(2)
    );
}

/// Connects a store, makes every kind of call and drops it, on the calling thread.
fn connect_use_and_drop() {
    let Some(fixture) = support::fixture() else {
        return;
    };
    let store = fixture.second_store();
    exercise(&store);
    drop(store);
}

#[tokio::test(flavor = "current_thread")]
async fn calls_on_a_current_thread_runtime_work_and_do_not_panic() {
    // On the runtime's only thread.
    connect_use_and_drop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn calls_on_a_multi_thread_runtime_work_and_do_not_panic() {
    connect_use_and_drop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spawn_blocking_is_the_way_for_async_services() {
    let Some(fixture) = support::fixture() else {
        return;
    };
    let store = Arc::new(fixture.second_store());
    let tasks: Vec<_> = (0..8)
        .map(|n| {
            let store = Arc::clone(&store);
            tokio::task::spawn_blocking(move || {
                store.append(
                    &format!("acc-{n}"),
                    ExpectedVersion::NoStream,
                    vec![event()],
                )
            })
        })
        .collect();
    for task in tasks {
        task.await.expect("task").expect("append");
    }
    let head = tokio::task::spawn_blocking({
        let store = Arc::clone(&store);
        move || store.head_position()
    })
    .await
    .expect("task")
    .expect("head");
    assert_eq!(head, 8);
}
