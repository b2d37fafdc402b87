//! `ParallelReplay`: the same events, in the same order, as a `read_all` loop through the
//! decode point, whatever the threads and range size; failures stop it at the exact event.

use es_core::Durability;
use es_core::RawEvent;
use es_core::{
    DecodeErrorKind, Envelope, Event, EventStore, ExpectedVersion, FileStore, MemoryStore,
    NewEvent, StoredEvent,
};
use es_core::{ParallelReplay, ReplayError, ReplayOutcome};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::ops::RangeInclusive;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema, Event)]
#[event(name = "Deposited", version = 1)]
struct DepositedV1 {
    amt: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema, Event)]
#[event(name = "Deposited", version = 2, upcast_from = DepositedV1)]
struct Deposited {
    amount: u64,
}

impl From<DepositedV1> for Deposited {
    fn from(v1: DepositedV1) -> Self {
        Self { amount: v1.amt }
    }
}

/// A legacy transfer is two deposits today.
#[allow(clippy::unnecessary_wraps, clippy::needless_pass_by_value)]
fn split_transfer(
    raw: RawEvent,
    _stored: &StoredEvent,
) -> Result<Vec<RawEvent>, Box<dyn std::error::Error + Send + Sync>> {
    let amount = raw.payload["amount"].clone();
    Ok(vec![
        RawEvent::new("Deposited", 2, json!({ "amount": amount })),
        RawEvent::new("Deposited", 1, json!({ "amt": 1 })),
    ])
}

#[derive(Debug, Clone, PartialEq, Event)]
#[event(removed("Audited"))]
#[event(raw_upcast(from = ("TransferMade", 1), with = split_transfer))]
enum AccountEvent {
    Deposited(Deposited),
}

/// Event `n` of the test log: mostly legacy deposits, some current ones, a split transfer
/// every 10th and a removed tag every 13th, spread over a few streams.
fn append_log<S: EventStore>(store: &S, events: u64) {
    for n in 0..events {
        let event = match n {
            n if n % 13 == 5 => NewEvent::new("Audited", 1, json!({})),
            n if n % 10 == 3 => NewEvent::new("TransferMade", 1, json!({ "amount": n })),
            n if n % 2 == 0 => NewEvent::new("Deposited", 1, json!({ "amt": n })),
            n => NewEvent::new("Deposited", 2, json!({ "amount": n })),
        };
        store
            .append(&format!("acc-{}", n % 7), ExpectedVersion::Any, vec![event])
            .expect("append");
    }
}

/// What a plain `read_all` loop through the decode point delivers.
fn sequential<S: EventStore>(store: &S, from: u64) -> Vec<Envelope<AccountEvent>> {
    store
        .read_all(from)
        .expect("read")
        .flat_map(|stored| Envelope::decode(&stored.expect("stored")).expect("decodes"))
        .collect()
}

fn parallel<S: EventStore>(
    store: &S,
    replay: &ParallelReplay,
    from: u64,
) -> (Vec<Envelope<AccountEvent>>, u64, u64) {
    let mut seen = Vec::new();
    let outcome = replay
        .run::<AccountEvent, _, _>(store, from, |envelope| seen.push(envelope.clone()))
        .expect("replays");
    (seen, outcome.through, outcome.events)
}

#[test]
fn delivers_what_a_read_all_loop_delivers_in_order_for_any_threads_and_range_size() {
    let store = MemoryStore::new();
    append_log(&store, 500);
    let expected = sequential(&store, 1);
    assert!(expected.len() > 500, "split transfers add events");
    for threads in [1, 2, 3, 8] {
        for chunk in [1, 7, 64, 1000] {
            let replay = ParallelReplay::new().threads(threads).chunk_events(chunk);
            let (seen, through, events) = parallel(&store, &replay, 1);
            assert_eq!(seen, expected, "threads {threads}, ranges of {chunk}");
            assert_eq!((through, events), (500, 500));
        }
    }
}

#[test]
fn starts_at_the_given_position() {
    let store = MemoryStore::new();
    append_log(&store, 100);
    let replay = ParallelReplay::new().threads(2).chunk_events(9);
    let (seen, through, events) = parallel(&store, &replay, 41);
    assert_eq!(seen, sequential(&store, 41));
    assert_eq!((through, events), (100, 60));
}

#[test]
fn an_empty_log_or_a_start_past_the_head_replays_nothing() {
    let store = MemoryStore::new();
    let replay = ParallelReplay::new();
    assert_eq!(parallel(&store, &replay, 1), (Vec::new(), 0, 0));
    append_log(&store, 3);
    assert_eq!(parallel(&store, &replay, 10), (Vec::new(), 9, 0));
}

#[test]
fn stops_at_the_first_event_that_does_not_decode_after_applying_those_before() {
    let store = MemoryStore::new();
    append_log(&store, 300);
    store
        .append(
            "acc-bad",
            ExpectedVersion::Any,
            vec![NewEvent::new("Deposited", 9, json!({}))],
        )
        .expect("append");
    append_log(&store, 300);
    let expected: Vec<_> = store
        .read_all(1)
        .expect("read")
        .map(|stored| stored.expect("stored"))
        .take_while(|stored| stored.position < 301)
        .flat_map(|stored| Envelope::<AccountEvent>::decode(&stored).expect("decodes"))
        .collect();
    let mut seen = Vec::new();
    let error = ParallelReplay::new()
        .threads(3)
        .chunk_events(16)
        .run::<AccountEvent, _, _>(&store, 1, |envelope| seen.push(envelope.clone()))
        .expect_err("version 9 is from the future");
    let ReplayError::Decode(error) = error else {
        panic!("a decode error, not {error:?}");
    };
    assert_eq!((error.position, error.stream_id.as_str()), (301, "acc-bad"));
    assert!(
        matches!(error.kind, DecodeErrorKind::FutureVersion { .. }),
        "{:?}",
        error.kind
    );
    assert_eq!(seen, expected);
}

#[test]
fn replays_a_file_store_like_its_read_all_loop() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let store = FileStore::options()
        .durability(Durability::None)
        .open(dir.path())
        .expect("open");
    append_log(&store, 2_000);
    let (seen, through, events) = parallel(&store, &ParallelReplay::new().threads(2), 1);
    assert_eq!(seen, sequential(&store, 1));
    assert_eq!((through, events), (2_000, 2_000));
}

/// Whether a spawned thread of a replay has decoded an `Exploded` event.
static SPAWNED_THREAD_DECODED: AtomicBool = AtomicBool::new(false);

/// Runs on the replay's spawned threads, which have no name; the caller's (a test's) has one.
fn on_a_spawned_thread() -> bool {
    std::thread::current().name().is_none()
}

/// A deposit today, but a panic on a spawned thread. The caller's thread waits (up to ten
/// seconds) until a spawned thread has met one, so that one surely claims a range.
#[allow(clippy::unnecessary_wraps, clippy::needless_pass_by_value)]
fn explode_on_a_spawned_thread(
    _raw: RawEvent,
    stored: &StoredEvent,
) -> Result<Vec<RawEvent>, Box<dyn std::error::Error + Send + Sync>> {
    if on_a_spawned_thread() {
        SPAWNED_THREAD_DECODED.store(true, Ordering::SeqCst);
        panic!("upcaster panicked at position {}", stored.position);
    }
    let waited = Instant::now();
    while !SPAWNED_THREAD_DECODED.load(Ordering::SeqCst) {
        assert!(
            waited.elapsed().as_secs() < 10,
            "no spawned thread decoded an event in ten seconds"
        );
        std::thread::sleep(Duration::from_millis(1));
    }
    Ok(vec![RawEvent::new("Deposited", 2, json!({ "amount": 1 }))])
}

/// An upcaster that always panics.
#[allow(clippy::unnecessary_wraps, clippy::needless_pass_by_value)]
fn explode(
    _raw: RawEvent,
    stored: &StoredEvent,
) -> Result<Vec<RawEvent>, Box<dyn std::error::Error + Send + Sync>> {
    panic!("upcaster panicked at position {}", stored.position);
}

/// A deposit today, slow to decode on a spawned thread (1 ms), so that a later range of
/// another thread can be handed over first.
#[allow(clippy::unnecessary_wraps, clippy::needless_pass_by_value)]
fn slow_deposit(
    _raw: RawEvent,
    stored: &StoredEvent,
) -> Result<Vec<RawEvent>, Box<dyn std::error::Error + Send + Sync>> {
    if on_a_spawned_thread() {
        std::thread::sleep(Duration::from_millis(1));
    }
    Ok(vec![RawEvent::new(
        "Deposited",
        2,
        json!({ "amount": stored.position }),
    )])
}

/// A deposit today, but a panic on the caller's thread.
#[allow(clippy::unnecessary_wraps, clippy::needless_pass_by_value)]
fn explode_on_the_callers_thread(
    _raw: RawEvent,
    stored: &StoredEvent,
) -> Result<Vec<RawEvent>, Box<dyn std::error::Error + Send + Sync>> {
    if on_a_spawned_thread() {
        return Ok(vec![RawEvent::new("Deposited", 2, json!({ "amount": 1 }))]);
    }
    panic!("upcaster panicked at position {}", stored.position);
}

#[derive(Debug, Clone, PartialEq, Event)]
#[event(raw_upcast(from = ("ExplodesThere", 1), with = explode_on_a_spawned_thread))]
#[event(raw_upcast(from = ("ExplodesHere", 1), with = explode_on_the_callers_thread))]
#[event(raw_upcast(from = ("Exploded", 1), with = explode))]
#[event(raw_upcast(from = ("SlowDeposit", 1), with = slow_deposit))]
enum Fragile {
    Deposited(Deposited),
}

#[test]
fn a_panic_in_an_upcaster_reaches_the_caller_from_any_thread_and_nothing_hangs() {
    for (tag, decoded_by) in [
        ("ExplodesThere", "a spawned thread"),
        ("ExplodesHere", "the caller"),
    ] {
        let store = MemoryStore::new();
        for _ in 1..=40 {
            store
                .append(
                    "acc",
                    ExpectedVersion::Any,
                    vec![NewEvent::new(tag, 1, json!({}))],
                )
                .expect("append");
        }
        for run_ref in [false, true] {
            SPAWNED_THREAD_DECODED.store(false, Ordering::SeqCst);
            let replay = ParallelReplay::new().threads(2).chunk_events(4);
            let outcome = std::panic::catch_unwind(|| {
                if run_ref {
                    replay.run_ref::<Fragile, _, _>(&store, 1, |_| {})
                } else {
                    replay.run::<Fragile, _, _>(&store, 1, |_| {})
                }
            });
            let Err(panic) = outcome else {
                panic!("a panic on {decoded_by} must reach the caller");
            };
            let message = panic.downcast_ref::<String>().cloned().unwrap_or_default();
            assert!(
                message.starts_with("upcaster panicked at position "),
                "{decoded_by}: {message}"
            );
        }
    }
}

/// Events decoded on the caller's thread and on spawned ones.
static DECODED_HERE: AtomicUsize = AtomicUsize::new(0);
static DECODED_THERE: AtomicUsize = AtomicUsize::new(0);

/// A deposit today, slow to decode on a spawned thread: 10 ms.
#[allow(clippy::unnecessary_wraps, clippy::needless_pass_by_value)]
fn slow_on_a_spawned_thread(
    _raw: RawEvent,
    _stored: &StoredEvent,
) -> Result<Vec<RawEvent>, Box<dyn std::error::Error + Send + Sync>> {
    if on_a_spawned_thread() {
        std::thread::sleep(Duration::from_millis(10));
        DECODED_THERE.fetch_add(1, Ordering::SeqCst);
    } else {
        DECODED_HERE.fetch_add(1, Ordering::SeqCst);
    }
    Ok(vec![RawEvent::new("Deposited", 2, json!({ "amount": 1 }))])
}

#[derive(Debug, Clone, PartialEq, Event)]
#[event(raw_upcast(from = ("Slow", 1), with = slow_on_a_spawned_thread))]
enum Uneven {
    Deposited(Deposited),
}

#[test]
fn a_thread_that_decodes_slower_takes_fewer_ranges() {
    let store = MemoryStore::new();
    for _ in 0..120 {
        store
            .append(
                "acc",
                ExpectedVersion::Any,
                vec![NewEvent::new("Slow", 1, json!({}))],
            )
            .expect("append");
    }
    let mut applied = 0;
    let outcome = ParallelReplay::new()
        .threads(2)
        .chunk_events(4)
        .run::<Uneven, _, _>(&store, 1, |_| applied += 1)
        .expect("replays");
    assert_eq!((outcome.events, applied), (120, 120));
    let (here, there) = (
        DECODED_HERE.load(Ordering::SeqCst),
        DECODED_THERE.load(Ordering::SeqCst),
    );
    assert_eq!(here + there, 120);
    // Equal turns would give each thread 60 events. The caller, which decodes a range while the
    // spawned thread decodes one event, takes about two ranges in three (84 events); at least
    // two more ranges than half, whatever else the machine runs.
    assert!(
        here >= 68,
        "the caller decoded {here} events, the spawned thread {there}"
    );
}

/// A log of 60 deposits, slow to decode on spawned threads, but for a stored event that does
/// not decode (a version from the future) and events whose upcaster panics, both at once.
fn log_failing_at(future_version_at: u64, panics_at: RangeInclusive<u64>) -> MemoryStore {
    let store = MemoryStore::new();
    for n in 1..=60 {
        let event = match n {
            n if n == future_version_at => NewEvent::new("Deposited", 9, json!({})),
            n if panics_at.contains(&n) => NewEvent::new("Exploded", 1, json!({})),
            _ => NewEvent::new("SlowDeposit", 1, json!({})),
        };
        store
            .append("acc", ExpectedVersion::Any, vec![event])
            .expect("append");
    }
    store
}

/// Replays `store` twenty times on each of 2, 3 and 4 threads, in ranges of one position, and
/// passes `check` the thread count, the outcome (a panic caught) and the positions applied.
fn replay_failing_log(
    store: &MemoryStore,
    check: impl Fn(usize, std::thread::Result<Result<ReplayOutcome, ReplayError>>, Vec<u64>),
) {
    for threads in [2, 3, 4] {
        for _ in 0..20 {
            let mut applied = Vec::new();
            let replay = ParallelReplay::new().threads(threads).chunk_events(1);
            let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                replay.run::<Fragile, _, _>(store, 1, |e| applied.push(e.position))
            }));
            check(threads, outcome, applied);
        }
    }
}

#[test]
fn a_failure_stops_the_replay_before_a_panic_at_a_later_position_on_any_thread() {
    replay_failing_log(&log_failing_at(30, 31..=60), |threads, outcome, applied| {
        let Ok(Err(ReplayError::Decode(error))) = outcome else {
            panic!("{threads} threads: the decode error at 30, not a panic or {outcome:?}");
        };
        assert_eq!(error.position, 30, "{threads} threads");
        assert_eq!(applied, (1..30).collect::<Vec<_>>(), "{threads} threads");
    });
}

#[test]
fn a_panic_stops_the_replay_before_a_failure_at_a_later_position_on_any_thread() {
    replay_failing_log(&log_failing_at(31, 30..=30), |threads, outcome, applied| {
        let Err(panic) = outcome else {
            panic!("{threads} threads: the panic at 30, not {outcome:?}");
        };
        let message = panic.downcast_ref::<String>().cloned().unwrap_or_default();
        assert_eq!(
            message, "upcaster panicked at position 30",
            "{threads} threads"
        );
        assert_eq!(applied, (1..30).collect::<Vec<_>>(), "{threads} threads");
    });
}
