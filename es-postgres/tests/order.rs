//! Gap-safe global order: a reader never moves past an append that commits after an append
//! holding a higher position.

mod support;

use std::collections::{BTreeMap, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Barrier;
use std::time::Duration;

use es_core::{AppendError, EventStore, ExpectedVersion, NewEvent, StoredEvent};
use serde_json::json;
use uuid::Uuid;

/// What `event` appends, decoded.
#[derive(
    Debug,
    Clone,
    PartialEq,
    serde::Serialize,
    serde::Deserialize,
    schemars::JsonSchema,
    es_core::Event,
)]
#[event(name = "Numbered", version = 1)]
struct Numbered {
    n: u64,
}

fn event(n: u64) -> NewEvent {
    NewEvent::new("Numbered", 1, json!({ "n": n }))
}

fn positions(events: &[StoredEvent]) -> Vec<u64> {
    events.iter().map(|e| e.position).collect()
}

fn read_all(store: &dyn EventStore, from: u64) -> Vec<StoredEvent> {
    store
        .read_all(from)
        .expect("read_all")
        .collect::<Result<_, _>>()
        .expect("events")
}

/// Opens a transaction that appends one event through the store's own `append` function
/// and leaves it uncommitted: it holds the next position until the test commits or rolls
/// it back.
fn begin_slow_append<'a>(
    admin: &'a mut postgres::Client,
    schema: &str,
    stream: &str,
) -> postgres::Transaction<'a> {
    let mut tx = admin.transaction().expect("begin");
    let id = Uuid::new_v4();
    tx.batch_execute(&format!(
        "SELECT * FROM {schema}.append('{stream}', -1, ARRAY['{id}'::uuid], ARRAY['Slow'], \
         ARRAY[1::bigint], ARRAY['{{}}'::json], ARRAY['{{}}'::json], ARRAY[NULL::bigint])"
    ))
    .expect("the slow append takes its position");
    tx
}

/// The race of the tests below: a slow append takes position 1 and stays uncommitted, then
/// a fast one takes position 2 and commits. Returns the slow append's transaction.
fn slow_then_fast<'a>(
    fixture: &support::Fixture,
    admin: &'a mut postgres::Client,
) -> postgres::Transaction<'a> {
    let slow = begin_slow_append(admin, &fixture.schema, "slow");
    let fast = fixture
        .store
        .append("fast", ExpectedVersion::NoStream, vec![event(2)])
        .expect("fast append");
    assert_eq!(fast.first_position, 2);
    slow
}

#[test]
fn a_reader_between_two_commits_does_not_move_past_the_later_one() {
    let Some(fixture) = support::fixture() else {
        return;
    };
    let store = &fixture.store;
    let mut admin = fixture.admin();
    let slow = slow_then_fast(&fixture, &mut admin);

    // Between the two commits: position 2 is committed, 1 is not. The reader stops before 1.
    assert!(read_all(store, 1).is_empty(), "read_all passed position 1");
    assert_eq!(store.head_position().expect("head"), 0);
    assert_eq!(
        store
            .wait_for_append(0, Duration::from_millis(50))
            .expect("wait"),
        0,
        "wait_for_append reported position 2 while 1 may still commit"
    );
    // A second store (another process) judges the same.
    let other = fixture.second_store();
    assert!(read_all(&other, 1).is_empty());

    slow.commit().expect("commit the slow append");
    assert_eq!(positions(&read_all(store, 1)), [1, 2]);
    assert_eq!(positions(&read_all(&other, 1)), [1, 2]);
    assert_eq!(store.head_position().expect("head"), 2);
}

#[test]
fn a_waiting_reader_wakes_when_the_earlier_append_commits() {
    let Some(fixture) = support::fixture() else {
        return;
    };
    let mut admin = fixture.admin();
    let slow = slow_then_fast(&fixture, &mut admin);
    let other = fixture.second_store();
    std::thread::scope(|scope| {
        let waiter = scope.spawn(|| other.wait_for_append(0, Duration::from_secs(30)));
        std::thread::sleep(Duration::from_millis(100));
        assert!(
            !waiter.is_finished(),
            "the waiter returned before position 1 settled"
        );
        slow.commit().expect("commit the slow append");
        let head = waiter.join().expect("waiter").expect("wait");
        assert_eq!(head, 2);
    });
    assert_eq!(positions(&read_all(&other, 1)), [1, 2]);
}

#[test]
fn a_rolled_back_append_leaves_a_gap_that_readers_pass_once_it_ended() {
    let Some(fixture) = support::fixture() else {
        return;
    };
    let store = &fixture.store;
    let mut admin = fixture.admin();
    let slow = slow_then_fast(&fixture, &mut admin);
    assert!(read_all(store, 1).is_empty());
    slow.rollback().expect("roll back the slow append");
    // The gap settles once every transaction older than the fast append has ended: at once
    // on a quiet server, a little later while other tests hold transactions open.
    assert_eq!(
        store
            .wait_for_append(0, Duration::from_secs(30))
            .expect("wait"),
        2
    );
    assert_eq!(positions(&read_all(store, 1)), [2]);
    assert_eq!(store.head_position().expect("head"), 2);
}

#[test]
fn visit_range_over_an_unused_position_lends_nothing_past_its_end() {
    let Some(fixture) = support::fixture() else {
        return;
    };
    let store = &fixture.store;
    store
        .append("a", ExpectedVersion::Any, (1..=3).map(event).collect())
        .expect("positions 1-3");
    let mut admin = fixture.admin();
    begin_slow_append(&mut admin, &fixture.schema, "slow")
        .rollback()
        .expect("position 4 left unused");
    store
        .append("a", ExpectedVersion::Any, (5..=12).map(event).collect())
        .expect("positions 5-12");
    // Past position 3, the last one read: position 4's gap settles once every transaction
    // older than the later append has ended, a little later while other tests hold theirs.
    assert_eq!(
        store
            .wait_for_append(3, Duration::from_secs(30))
            .expect("wait"),
        12
    );
    assert_eq!(
        positions(&read_all(store, 1)),
        [1, 2, 3, 5, 6, 7, 8, 9, 10, 11, 12]
    );
    // A range of 4 positions holding 3 events: a page of 4 rows brings position 7 in too.
    for (from, through, expected) in [
        (3, 6, vec![3, 5, 6]),
        (4, 4, vec![]),
        (2, 5, vec![2, 3, 5]),
        (4, 9, vec![5, 6, 7, 8, 9]),
    ] {
        let mut lent = Vec::new();
        store
            .visit_range(from, through, &mut |stored| {
                lent.push(stored.position);
                std::ops::ControlFlow::Continue(())
            })
            .expect("visit_range");
        assert_eq!(lent, expected, "visit_range({from}, {through})");
    }
    // Ranges of 4 positions on 2 threads: every event once, in order.
    let mut replayed = Vec::new();
    let outcome = es_core::ParallelReplay::new()
        .threads(2)
        .chunk_events(4)
        .run::<Numbered, _, _>(store, 1, |envelope| replayed.push(envelope.event.n))
        .expect("replay");
    assert_eq!(replayed, [1, 2, 3, 5, 6, 7, 8, 9, 10, 11, 12]);
    assert_eq!((outcome.events, outcome.through), (11, 12));
}

#[test]
fn a_failed_append_leaves_no_event_and_a_gap_that_settles() {
    let Some(fixture) = support::fixture() else {
        return;
    };
    let store = &fixture.store;
    store
        .append("a", ExpectedVersion::NoStream, vec![event(1)])
        .expect("first");
    let conflict = store.append("a", ExpectedVersion::NoStream, vec![event(2)]);
    assert!(matches!(
        conflict,
        Err(AppendError::Conflict { actual: 1, .. })
    ));
    store
        .append("b", ExpectedVersion::NoStream, vec![event(3)])
        .expect("after the conflict");
    let all = read_all(store, 1);
    assert_eq!(all.len(), 2);
    assert!(all.windows(2).all(|w| w[0].position < w[1].position));
}

/// 8 writer threads on two stores (4 each) append to their own streams and to one contended
/// stream, retrying conflicts, while a follower on a third store reads the log as it grows.
#[test]
fn eight_writers_on_two_stores_and_a_follower_see_every_event_once_in_order() {
    const OWN: u64 = 60;
    const CONTENDED: u64 = 15;
    let Some(fixture) = support::fixture() else {
        return;
    };
    let stores = [fixture.second_store(), fixture.second_store()];
    let follower_store = fixture.second_store();
    let writing = AtomicBool::new(true);
    let start = Barrier::new(9);

    let (acknowledged, seen) = std::thread::scope(|scope| {
        let follower = scope.spawn(|| {
            start.wait();
            let mut seen: Vec<StoredEvent> = Vec::new();
            let mut last = 0;
            loop {
                let done = !writing.load(Ordering::SeqCst);
                for event in follower_store.read_all(last + 1).expect("read_all") {
                    let event = event.expect("event");
                    assert!(event.position > last, "positions go backwards");
                    last = event.position;
                    seen.push(event);
                }
                if done && last >= follower_store.head_position().expect("head") {
                    return seen;
                }
                follower_store
                    .wait_for_append(last, Duration::from_millis(200))
                    .expect("wait");
            }
        });
        let writers: Vec<_> = (0..8)
            .map(|w| {
                let store = &stores[w % 2];
                let start = &start;
                scope.spawn(move || {
                    start.wait();
                    let mut ids = Vec::new();
                    for n in 0..OWN {
                        let new = event(n);
                        ids.push(new.event_id());
                        store
                            .append(&format!("own-{w}"), ExpectedVersion::Exact(n), vec![new])
                            .expect("own stream");
                        if n % (OWN / CONTENDED) == 0 {
                            ids.push(append_contended(store));
                        }
                    }
                    ids
                })
            })
            .collect();
        let acknowledged: Vec<Uuid> = writers
            .into_iter()
            .flat_map(|w| w.join().expect("writer"))
            .collect();
        writing.store(false, Ordering::SeqCst);
        (acknowledged, follower.join().expect("follower"))
    });

    let seen_ids: Vec<Uuid> = seen.iter().map(|e| e.event_id).collect();
    let unique: HashSet<Uuid> = seen_ids.iter().copied().collect();
    assert_eq!(unique.len(), seen_ids.len(), "an event was delivered twice");
    let acknowledged: HashSet<Uuid> = acknowledged.into_iter().collect();
    let missed = acknowledged.difference(&unique).count();
    let unexpected = unique.difference(&acknowledged).count();
    assert_eq!(
        (missed, unexpected),
        (0, 0),
        "acknowledged events the follower missed, and events it saw that nobody acknowledged"
    );
    assert_eq!(seen.len() as u64, 8 * (OWN + CONTENDED));
    // Each version of the contended stream was written once, in order.
    let mut contended: BTreeMap<u64, usize> = BTreeMap::new();
    for e in seen.iter().filter(|e| e.stream_id == "contended") {
        *contended.entry(e.stream_version).or_default() += 1;
    }
    assert_eq!(contended.len() as u64, 8 * CONTENDED);
    assert!(contended.values().all(|&n| n == 1));
    assert_eq!(
        contended.keys().copied().collect::<Vec<_>>(),
        (1..=8 * CONTENDED).collect::<Vec<_>>()
    );
    // And a reader starting afresh sees the same log as the follower did.
    assert_eq!(positions(&read_all(&fixture.store, 1)), positions(&seen));
}

/// Appends one event to the contended stream at the version it read, retrying conflicts.
fn append_contended(store: &es_postgres::PgStore) -> Uuid {
    loop {
        let version = store.stream_version("contended").expect("version");
        let new = event(version);
        let id = new.event_id();
        match store.append("contended", ExpectedVersion::Exact(version), vec![new]) {
            Ok(_) => return id,
            Err(AppendError::Conflict { .. }) => {}
            Err(error) => panic!("contended append: {error}"),
        }
    }
}
