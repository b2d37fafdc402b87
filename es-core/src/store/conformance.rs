//! The behaviours every [`EventStore`] must show, as a test suite any backend can run.
//!
//! ```ignore
//! es_core::event_store_conformance!(|| es_core::MemoryStore::new());
//! ```
//! expands to one `#[test]` per behaviour, each given a fresh store from the expression. A
//! backend whose store needs something kept alive beside it (a temporary directory, a
//! database schema) returns a fixture implementing [`StoreFixture`]. A backend that needs a
//! server which may be absent writes `event_store_conformance!(optional: || ...)` with an
//! expression returning `Option<fixture>`: each test returns early on `None` (the expression
//! says why it skipped, or fails where skipping is not allowed, such as CI).
//!
//! The checks panic with a message naming the behaviour that failed; they are test code.

#![allow(clippy::missing_panics_doc)]

use std::collections::BTreeSet;
use std::sync::Barrier;
use std::time::{Duration, Instant, SystemTime};

use serde_json::json;

use crate::store::backend::MAX_PAYLOAD_BYTES;
use crate::{AppendError, EventStore, ExpectedVersion, NewEvent, StoredEvent};

/// Something that holds a store under test (and whatever must live as long as it).
pub trait StoreFixture {
    /// The store.
    fn store(&self) -> &dyn EventStore;
}

impl<S: EventStore> StoreFixture for S {
    fn store(&self) -> &dyn EventStore {
        self
    }
}

/// Expands to one `#[test]` per conformance check, in a module named `conformance`.
/// `$make` is an expression that, called, returns a fresh [`StoreFixture`].
#[macro_export]
macro_rules! event_store_conformance {
    (optional: $make:expr) => {
        $crate::event_store_conformance!(@list optional, $make);
    };
    (@fixture required, $make:expr) => {
        ::std::option::Option::Some(($make)())
    };
    (@fixture optional, $make:expr) => {
        ($make)()
    };
    (@list $mode:ident, $make:expr) => {
        $crate::event_store_conformance!(@tests $mode, $make;
            append_assigns_versions_from_one_and_growing_positions,
            read_stream_starts_at_the_requested_version,
            read_all_orders_every_stream_by_position,
            visit_range_lends_read_all_from_one_position_through_another,
            stored_event_keeps_every_field,
            metadata_text_comes_back_byte_for_byte,
            unknown_stream_reads_empty,
            expected_any_always_appends,
            expected_no_stream_conflicts_once_the_stream_exists,
            expected_stream_exists_conflicts_on_a_missing_stream,
            expected_exact_conflict_writes_nothing,
            exact_zero_means_no_stream,
            reappending_a_stored_batch_is_idempotent,
            event_id_stored_elsewhere_is_a_duplicate,
            partly_stored_batch_is_a_duplicate,
            invalid_batches_are_rejected_before_writing,
            oversized_payload_is_rejected_before_writing,
            contending_exact_appenders_write_each_version_once,
            wait_for_append_returns_at_once_when_a_newer_event_exists,
            wait_for_append_times_out_with_the_head,
            wait_for_append_wakes_when_another_thread_appends,
        );
    };
    (@tests $mode:ident, $make:expr; $($check:ident),* $(,)?) => {
        mod conformance {
            #[allow(unused_imports)]
            use super::*;
            $(
                #[test]
                fn $check() {
                    let ::std::option::Option::Some(fixture) =
                        $crate::event_store_conformance!(@fixture $mode, $make)
                    else {
                        return;
                    };
                    $crate::conformance::$check($crate::conformance::StoreFixture::store(&fixture));
                }
            )*
        }
    };
    ($make:expr) => {
        $crate::event_store_conformance!(@list required, $make);
    };
}

fn event(n: u64) -> NewEvent {
    NewEvent::new("Numbered", 1, json!({ "n": n }))
}

fn events(range: std::ops::Range<u64>) -> Vec<NewEvent> {
    range.map(event).collect()
}

fn collect(iter: crate::store::backend::EventIter<'_>) -> Vec<StoredEvent> {
    iter.collect::<Result<Vec<_>, _>>()
        .expect("reading back appended events must not fail")
}

fn stream(store: &dyn EventStore, id: &str) -> Vec<StoredEvent> {
    collect(store.read_stream(id, 1).expect("read_stream"))
}

fn all(store: &dyn EventStore) -> Vec<StoredEvent> {
    collect(store.read_all(1).expect("read_all"))
}

fn versions(events: &[StoredEvent]) -> Vec<u64> {
    events.iter().map(|e| e.stream_version).collect()
}

/// A new stream's first event has version 1; positions grow across streams.
pub fn append_assigns_versions_from_one_and_growing_positions(store: &dyn EventStore) {
    let a = store
        .append("a", ExpectedVersion::NoStream, events(0..3))
        .expect("first append");
    assert_eq!(a.stream_version, 3, "three events: stream at version 3");
    assert_eq!(
        a.last_position - a.first_position,
        2,
        "positions are consecutive in a batch"
    );
    assert!(!a.already_stored);
    let b = store
        .append("b", ExpectedVersion::NoStream, events(0..1))
        .expect("second stream");
    assert_eq!(b.stream_version, 1, "each stream counts its own versions");
    assert!(b.first_position > a.last_position, "positions only grow");
    assert_eq!(store.stream_version("a").expect("stream_version"), 3);
    assert_eq!(store.stream_version("b").expect("stream_version"), 1);
    assert_eq!(store.head_position().expect("head"), b.last_position);
}

/// `read_stream(s, v)` returns the stream's events from version `v` on, in order.
pub fn read_stream_starts_at_the_requested_version(store: &dyn EventStore) {
    store
        .append("s", ExpectedVersion::NoStream, events(0..5))
        .expect("append");
    store
        .append("other", ExpectedVersion::NoStream, events(0..2))
        .expect("append");
    let from_3 = collect(store.read_stream("s", 3).expect("read"));
    assert_eq!(versions(&from_3), [3, 4, 5]);
    assert!(from_3.iter().all(|e| e.stream_id == "s"));
    assert_eq!(versions(&stream(store, "s")), [1, 2, 3, 4, 5]);
    assert_eq!(
        versions(&collect(store.read_stream("s", 0).expect("read"))),
        [1, 2, 3, 4, 5],
        "version 0 reads from the start"
    );
    assert!(collect(store.read_stream("s", 6).expect("read")).is_empty());
}

/// `read_all(p)` returns every event from position `p` on, across streams, in append order.
pub fn read_all_orders_every_stream_by_position(store: &dyn EventStore) {
    store
        .append("x", ExpectedVersion::Any, events(0..2))
        .expect("append");
    store
        .append("y", ExpectedVersion::Any, events(2..3))
        .expect("append");
    store
        .append("x", ExpectedVersion::Any, events(3..4))
        .expect("append");
    let everything = all(store);
    let order: Vec<(String, u64)> = everything
        .iter()
        .map(|e| (e.stream_id.clone(), e.stream_version))
        .collect();
    assert_eq!(
        order,
        [
            ("x".into(), 1),
            ("x".into(), 2),
            ("y".into(), 1),
            ("x".into(), 3)
        ]
    );
    let positions: Vec<u64> = everything.iter().map(|e| e.position).collect();
    assert!(
        positions.windows(2).all(|w| w[0] < w[1]),
        "positions strictly grow: {positions:?}"
    );
    let tail = collect(store.read_all(positions[2]).expect("read_all"));
    assert_eq!(
        tail.len(),
        2,
        "read_all includes the position it starts from"
    );
    assert_eq!(tail[0].position, positions[2]);
    let past_head = collect(store.read_all(positions[3] + 1).expect("read_all"));
    assert!(past_head.is_empty());
}

/// `visit_range(from, through)` lends the events `read_all(from)` returns up to `through`, in
/// order, and stops when the visitor breaks.
pub fn visit_range_lends_read_all_from_one_position_through_another(store: &dyn EventStore) {
    for (stream, batch) in [("x", 0..3), ("y", 3..4), ("x", 4..8)] {
        store
            .append(stream, ExpectedVersion::Any, events(batch))
            .expect("append");
    }
    let everything = all(store);
    let at: Vec<u64> = everything.iter().map(|e| e.position).collect();
    let (first, last) = (at[0], at[7]);
    for (from, through) in [
        (first, last),
        (at[1], at[5]),
        (at[3], at[3]),
        (0, at[0]),
        (at[6], u64::MAX),
        (last + 1, last + 10),
        (at[4], at[2]),
    ] {
        let mut lent = Vec::new();
        store
            .visit_range(from, through, &mut |event| {
                lent.push(event.to_stored().expect("metadata is an object"));
                std::ops::ControlFlow::Continue(())
            })
            .expect("visit_range");
        let expected: Vec<StoredEvent> = everything
            .iter()
            .filter(|e| e.position >= from && e.position <= through)
            .cloned()
            .collect();
        assert_eq!(lent, expected, "visit_range({from}, {through})");
    }
    let mut visited = 0;
    store
        .visit_range(first, last, &mut |_| {
            visited += 1;
            std::ops::ControlFlow::Break(())
        })
        .expect("visit_range");
    assert_eq!(visited, 1, "visit_range stops when the visitor breaks");
}

/// Every field given to `append` comes back unchanged; the store adds position, version and
/// time.
pub fn stored_event_keeps_every_field(store: &dyn EventStore) {
    let before = SystemTime::now() - Duration::from_secs(1);
    let new = NewEvent::new("AccountOpened", 3, json!({ "owner": "ada", "n": [1, 2] }))
        .with_metadata("correlation_id", json!("c-1"))
        .with_metadata("nested", json!({ "k": true }));
    let id = new.event_id();
    let payload = new.payload().to_vec();
    store
        .append("acc", ExpectedVersion::NoStream, vec![new])
        .expect("append");
    let stored = stream(store, "acc").pop().expect("one event");
    assert_eq!(stored.event_id, id);
    assert_eq!(stored.stream_id, "acc");
    assert_eq!(stored.stream_version, 1);
    assert_eq!(stored.event_type, "AccountOpened");
    assert_eq!(stored.schema_version, 3);
    assert_eq!(
        stored.payload_json().expect("payload is JSON"),
        serde_json::from_slice::<serde_json::Value>(&payload).expect("payload was JSON")
    );
    assert_eq!(stored.metadata_value("correlation_id"), Some(&json!("c-1")));
    assert_eq!(stored.metadata_value("nested"), Some(&json!({ "k": true })));
    assert!(
        stored.recorded_at >= before,
        "recorded_at is the append time"
    );
    assert!(stored.recorded_at <= SystemTime::now() + Duration::from_secs(1));
}

/// Metadata given as JSON text comes back as the same text from `read_stream` and
/// `read_all`: integers beyond 64 bits, the spelling of doubles, key order, spacing and
/// escapes; an empty object and metadata built from values too.
pub fn metadata_text_comes_back_byte_for_byte(store: &dyn EventStore) {
    let texts = [
        "{\"z\": 123456789012345678901234567890, \"b\": [1.10, -0.0, 1E+2],\n \"a\": {\"\\u00e9\": null}}",
        "{ }",
        "{}",
    ];
    let mut events: Vec<NewEvent> = texts
        .iter()
        .map(|text| {
            NewEvent::new("E", 1, json!({}))
                .with_metadata_json(*text)
                .expect("metadata")
        })
        .collect();
    events.push(NewEvent::new("E", 1, json!({})).with_metadata("k", json!(1)));
    store
        .append("meta", ExpectedVersion::NoStream, events)
        .expect("append");
    let expected = [texts[0], texts[1], texts[2], r#"{"k":1}"#];
    let in_stream: Vec<String> = stream(store, "meta")
        .iter()
        .map(|e| e.metadata.as_str().to_owned())
        .collect();
    assert_eq!(in_stream, expected, "read_stream");
    let in_log: Vec<String> = collect(store.read_all(1).expect("read_all"))
        .iter()
        .filter(|e| e.stream_id == "meta")
        .map(|e| e.metadata.as_str().to_owned())
        .collect();
    assert_eq!(in_log, expected, "read_all");
}

/// Reading a stream that was never written returns nothing, not an error.
pub fn unknown_stream_reads_empty(store: &dyn EventStore) {
    assert!(stream(store, "nobody").is_empty());
    assert_eq!(store.stream_version("nobody").expect("stream_version"), 0);
    assert!(all(store).is_empty());
    assert_eq!(store.head_position().expect("head"), 0);
}

/// `Any` appends whatever the stream's state.
pub fn expected_any_always_appends(store: &dyn EventStore) {
    store
        .append("s", ExpectedVersion::Any, events(0..1))
        .expect("new stream");
    let outcome = store
        .append("s", ExpectedVersion::Any, events(1..2))
        .expect("existing stream");
    assert_eq!(outcome.stream_version, 2);
}

/// `NoStream` fails with a conflict naming the actual version once the stream exists.
pub fn expected_no_stream_conflicts_once_the_stream_exists(store: &dyn EventStore) {
    store
        .append("user-ada", ExpectedVersion::NoStream, events(0..1))
        .expect("first claim");
    let second = store.append("user-ada", ExpectedVersion::NoStream, events(1..2));
    assert!(
        matches!(
            second,
            Err(AppendError::Conflict {
                expected: ExpectedVersion::NoStream,
                actual: 1
            })
        ),
        "second claim must conflict, got {second:?}"
    );
    assert_eq!(
        stream(store, "user-ada").len(),
        1,
        "the conflict wrote nothing"
    );
}

/// `StreamExists` fails on a stream without events.
pub fn expected_stream_exists_conflicts_on_a_missing_stream(store: &dyn EventStore) {
    let result = store.append("s", ExpectedVersion::StreamExists, events(0..1));
    assert!(
        matches!(
            result,
            Err(AppendError::Conflict {
                expected: ExpectedVersion::StreamExists,
                actual: 0
            })
        ),
        "got {result:?}"
    );
    assert!(stream(store, "s").is_empty());
    store
        .append("s", ExpectedVersion::Any, events(0..1))
        .expect("append");
    store
        .append("s", ExpectedVersion::StreamExists, events(1..2))
        .expect("stream exists now");
}

/// `Exact(n)` appends only at version `n`; a mismatch writes none of the batch.
pub fn expected_exact_conflict_writes_nothing(store: &dyn EventStore) {
    store
        .append("s", ExpectedVersion::Exact(0), events(0..2))
        .expect("append");
    let stale = store.append("s", ExpectedVersion::Exact(1), events(2..5));
    assert!(
        matches!(
            stale,
            Err(AppendError::Conflict {
                expected: ExpectedVersion::Exact(1),
                actual: 2
            })
        ),
        "got {stale:?}"
    );
    let ahead = store.append("s", ExpectedVersion::Exact(7), events(2..5));
    assert!(
        matches!(ahead, Err(AppendError::Conflict { actual: 2, .. })),
        "got {ahead:?}"
    );
    assert_eq!(
        versions(&stream(store, "s")),
        [1, 2],
        "nothing of the failed batches"
    );
    assert_eq!(all(store).len(), 2);
    let ok = store
        .append("s", ExpectedVersion::Exact(2), events(2..5))
        .expect("append at 2");
    assert_eq!(ok.stream_version, 5);
}

/// `Exact(0)` is the same as `NoStream`.
pub fn exact_zero_means_no_stream(store: &dyn EventStore) {
    store
        .append("s", ExpectedVersion::Exact(0), events(0..1))
        .expect("new stream");
    let again = store.append("s", ExpectedVersion::Exact(0), events(1..2));
    assert!(
        matches!(again, Err(AppendError::Conflict { actual: 1, .. })),
        "got {again:?}"
    );
}

/// Re-appending a batch whose ids are stored at those versions succeeds and writes nothing.
pub fn reappending_a_stored_batch_is_idempotent(store: &dyn EventStore) {
    store
        .append("s", ExpectedVersion::NoStream, events(0..1))
        .expect("append");
    let batch = events(1..4);
    let first = store
        .append("s", ExpectedVersion::Exact(1), batch.clone())
        .expect("append");
    store
        .append("s", ExpectedVersion::Exact(4), events(4..5))
        .expect("later append");
    let retry = store
        .append("s", ExpectedVersion::Exact(1), batch.clone())
        .expect("retrying a stored batch succeeds");
    assert!(retry.already_stored, "the retry reports it wrote nothing");
    assert_eq!(
        (
            retry.stream_version,
            retry.first_position,
            retry.last_position
        ),
        (
            first.stream_version,
            first.first_position,
            first.last_position
        ),
        "the retry reports where the batch is"
    );
    let any_retry = store
        .append("s", ExpectedVersion::Any, batch)
        .expect("retry with Any");
    assert!(any_retry.already_stored);
    assert_eq!(
        versions(&stream(store, "s")),
        [1, 2, 3, 4, 5],
        "no duplicates"
    );
}

/// An id stored in another stream, or at other versions, is refused.
pub fn event_id_stored_elsewhere_is_a_duplicate(store: &dyn EventStore) {
    let batch = events(0..1);
    let id = batch[0].event_id();
    store
        .append("a", ExpectedVersion::NoStream, batch.clone())
        .expect("append");
    let elsewhere = store.append("b", ExpectedVersion::Any, batch.clone());
    assert!(
        matches!(&elsewhere, Err(AppendError::DuplicateEventId { event_id, stream_id, stream_version: 1 })
            if *event_id == id && stream_id == "a"),
        "got {elsewhere:?}"
    );
    store
        .append("a", ExpectedVersion::Exact(1), events(1..2))
        .expect("append");
    let wrong_version = store.append("a", ExpectedVersion::Exact(2), batch);
    assert!(
        matches!(wrong_version, Err(AppendError::DuplicateEventId { .. })),
        "an id stored at version 1 is not a retry at version 3: got {wrong_version:?}"
    );
    assert_eq!(all(store).len(), 2);
}

/// A batch of which only some events are stored is refused whole.
pub fn partly_stored_batch_is_a_duplicate(store: &dyn EventStore) {
    let batch = events(0..2);
    store
        .append("s", ExpectedVersion::NoStream, batch[..1].to_vec())
        .expect("append");
    let result = store.append("s", ExpectedVersion::Exact(1), batch.clone());
    assert!(
        matches!(&result, Err(AppendError::DuplicateEventId { event_id, .. }) if *event_id == batch[0].event_id()),
        "got {result:?}"
    );
    assert_eq!(stream(store, "s").len(), 1);
}

/// Empty batches, empty stream ids and ids repeated within a batch are refused.
pub fn invalid_batches_are_rejected_before_writing(store: &dyn EventStore) {
    assert!(matches!(
        store.append("s", ExpectedVersion::Any, Vec::new()),
        Err(AppendError::EmptyBatch)
    ));
    assert!(matches!(
        store.append("", ExpectedVersion::Any, events(0..1)),
        Err(AppendError::InvalidStreamId { .. })
    ));
    let one = event(0);
    let repeated_id = one.event_id();
    let repeated = store.append("s", ExpectedVersion::Any, vec![one.clone(), one]);
    assert!(
        matches!(repeated, Err(AppendError::DuplicateEventIdInBatch { event_id }) if event_id == repeated_id),
        "got {repeated:?}"
    );
    assert!(all(store).is_empty());
}

/// A payload over [`MAX_PAYLOAD_BYTES`] is refused, and the rest of its batch with it.
pub fn oversized_payload_is_rejected_before_writing(store: &dyn EventStore) {
    let big = "x".repeat(MAX_PAYLOAD_BYTES);
    let batch = vec![event(0), NewEvent::new("Big", 1, json!(big))];
    let result = store.append("s", ExpectedVersion::Any, batch);
    assert!(
        matches!(
            result,
            Err(AppendError::TooLarge {
                limit: MAX_PAYLOAD_BYTES,
                ..
            })
        ),
        "got {:?}",
        result.map_err(|e| e.to_string())
    );
    assert!(all(store).is_empty());
    let fits = "x".repeat(MAX_PAYLOAD_BYTES - 2);
    store
        .append(
            "s",
            ExpectedVersion::Any,
            vec![NewEvent::new("Big", 1, json!(fits))],
        )
        .expect("a payload of exactly the limit is accepted");
}

/// Eight threads race to append to one stream with `Exact`; each version is written once,
/// with no gaps, and every loser sees a conflict.
pub fn contending_exact_appenders_write_each_version_once(store: &dyn EventStore) {
    const THREADS: u8 = 8;
    const PER_THREAD: u64 = 25;
    let barrier = Barrier::new(usize::from(THREADS));
    let conflicts = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..THREADS)
            .map(|t| {
                let barrier = &barrier;
                scope.spawn(move || {
                    barrier.wait();
                    let mut conflicts = 0u64;
                    let mut written = 0;
                    while written < PER_THREAD {
                        let current = store.stream_version("hot").expect("stream_version");
                        let new =
                            NewEvent::new("Numbered", 1, json!({ "thread": t, "n": written }));
                        match store.append("hot", ExpectedVersion::Exact(current), vec![new]) {
                            Ok(_) => written += 1,
                            Err(AppendError::Conflict { .. }) => conflicts += 1,
                            Err(other) => panic!("unexpected append error: {other}"),
                        }
                    }
                    conflicts
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("appender thread"))
            .sum::<u64>()
    });
    let events = stream(store, "hot");
    let expected: Vec<u64> = (1..=u64::from(THREADS) * PER_THREAD).collect();
    assert_eq!(versions(&events), expected, "every version once, no gaps");
    let distinct: BTreeSet<String> = events
        .iter()
        .map(|e| String::from_utf8_lossy(&e.payload).into_owned())
        .collect();
    assert_eq!(distinct.len(), events.len(), "no event written twice");
    let _ = conflicts;
}

/// Long enough that a wait which ran to its end, instead of being woken, fails the check.
const WAKE_TIMEOUT: Duration = Duration::from_secs(60);
/// Generous bound for "promptly": a woken waiter returns far sooner on any machine.
const PROMPTLY: Duration = Duration::from_secs(20);

/// `wait_for_append` returns the head at once when an event beyond `after_position` exists.
pub fn wait_for_append_returns_at_once_when_a_newer_event_exists(store: &dyn EventStore) {
    store
        .append("s", ExpectedVersion::NoStream, events(0..2))
        .expect("append");
    let started = Instant::now();
    let head = store.wait_for_append(1, WAKE_TIMEOUT).expect("wait");
    assert_eq!(head, store.head_position().expect("head"));
    assert!(
        started.elapsed() < PROMPTLY,
        "an event beyond position 1 exists: no waiting"
    );
}

/// With nothing beyond `after_position`, `wait_for_append` waits out its timeout and returns
/// the unchanged head.
pub fn wait_for_append_times_out_with_the_head(store: &dyn EventStore) {
    assert_eq!(
        store
            .wait_for_append(0, Duration::from_millis(5))
            .expect("wait on an empty store"),
        0
    );
    store
        .append("s", ExpectedVersion::NoStream, events(0..1))
        .expect("append");
    let head = store.head_position().expect("head");
    assert_eq!(
        store
            .wait_for_append(head, Duration::from_millis(5))
            .expect("wait"),
        head,
        "nothing beyond the head: the wait times out and reports it"
    );
}

/// A thread blocked in `wait_for_append` returns soon after another thread appends.
pub fn wait_for_append_wakes_when_another_thread_appends(store: &dyn EventStore) {
    store
        .append("s", ExpectedVersion::NoStream, events(0..1))
        .expect("append");
    let head = store.head_position().expect("head");
    let barrier = Barrier::new(2);
    let (woken_at, elapsed) = std::thread::scope(|scope| {
        let waiter = scope.spawn(|| {
            barrier.wait();
            let started = Instant::now();
            let woken_at = store.wait_for_append(head, WAKE_TIMEOUT).expect("wait");
            (woken_at, started.elapsed())
        });
        barrier.wait();
        std::thread::sleep(Duration::from_millis(10));
        store
            .append("s", ExpectedVersion::Exact(1), events(1..2))
            .expect("append while a reader waits");
        waiter.join().expect("waiter thread")
    });
    assert!(woken_at > head, "woken with the new head");
    assert!(
        elapsed < PROMPTLY,
        "woken by the append, not by the end of the timeout ({elapsed:?})"
    );
}
