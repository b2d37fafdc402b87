//! `FileStore::wait_for_append` sleeps until a group commit wakes it: a waiter in one thread
//! returns as soon as another thread's append is readable, long before its timeout.

use std::sync::Barrier;
use std::time::{Duration, Instant};

use es_core::Durability;
use es_core::{EventStore, ExpectedVersion, FileStore, NewEvent};
use serde_json::json;

/// Far longer than any test may take: a waiter that returns has been woken.
const LONG_TIMEOUT: Duration = Duration::from_secs(600);
/// Generous for a loaded machine, and still far below [`LONG_TIMEOUT`].
const PROMPTLY: Duration = Duration::from_secs(10);

fn ping(n: u64) -> NewEvent {
    NewEvent::new("Pinged", 1, json!({ "n": n }))
}

/// Appends from another thread while this one waits; returns the head the waiter saw, how
/// long it waited, and the append's last position.
fn wake_by_append(store: &FileStore) -> (u64, Duration, u64) {
    let head = store.head_position().expect("head");
    let barrier = Barrier::new(2);
    std::thread::scope(|scope| {
        let waiting = scope.spawn(|| {
            barrier.wait();
            let started = Instant::now();
            let woken_at = store.wait_for_append(head, LONG_TIMEOUT).expect("wait");
            (woken_at, started.elapsed())
        });
        barrier.wait();
        // Let the waiter go to sleep first, so that it must be woken.
        std::thread::sleep(Duration::from_millis(50));
        let outcome = store
            .append("s", ExpectedVersion::Any, vec![ping(head), ping(head + 1)])
            .expect("append while a reader waits");
        let (woken_at, waited) = waiting.join().expect("waiter thread");
        (woken_at, waited, outcome.last_position)
    })
}

#[test]
fn a_waiter_is_woken_by_an_append_in_another_thread() {
    for durability in [
        Durability::Sync,
        Durability::Flush {
            every: Duration::from_secs(3600),
        },
        Durability::None,
    ] {
        let dir = tempfile::tempdir().expect("temporary directory");
        let store = FileStore::options()
            .durability(durability)
            .open(dir.path())
            .expect("open");
        store
            .append("s", ExpectedVersion::NoStream, vec![ping(0)])
            .expect("first append");
        let (woken_at, waited, last_position) = wake_by_append(&store);
        assert_eq!(
            woken_at, last_position,
            "{durability:?}: woken with the whole batch"
        );
        assert!(
            waited < PROMPTLY,
            "{durability:?}: woken by the append, not by the {LONG_TIMEOUT:?} timeout ({waited:?})"
        );
        let seen: Vec<u64> = store
            .read_all(2)
            .expect("read_all")
            .map(|e| e.expect("readable once woken").position)
            .collect();
        assert_eq!(
            seen,
            [2, 3],
            "{durability:?}: the woken reader finds the events"
        );
    }
}

#[test]
fn a_waiter_on_a_reopened_store_sleeps_past_the_recovered_head() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let store = FileStore::open(dir.path()).expect("open");
    store
        .append("s", ExpectedVersion::NoStream, vec![ping(0), ping(1)])
        .expect("append");
    drop(store);
    let store = FileStore::open(dir.path()).expect("reopen");
    let started = Instant::now();
    assert_eq!(
        store.wait_for_append(1, LONG_TIMEOUT).expect("wait"),
        2,
        "an event beyond position 1 exists since the open: no waiting"
    );
    assert!(started.elapsed() < PROMPTLY);
    assert_eq!(
        store
            .wait_for_append(2, Duration::from_millis(20))
            .expect("wait"),
        2,
        "nothing beyond the recovered head: the wait times out"
    );
    let (woken_at, waited, last_position) = wake_by_append(&store);
    assert_eq!(woken_at, last_position);
    assert!(waited < PROMPTLY, "woken by the append ({waited:?})");
}
