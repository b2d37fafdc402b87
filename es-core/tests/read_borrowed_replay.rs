//! The borrowed decode path (`EventStore::visit_all`, `Event::decode_ref`,
//! `ParallelReplay::run_ref`) against the owned one (`read_all`, `Event::decode`,
//! `ParallelReplay::run`): the same envelopes in the same order, the same decode errors at the
//! same event (unknown tag, future version, malformed JSON, a field of the wrong type, in typed
//! and raw-upcast events alike), the same damage reported, for every thread count and range size.

use std::ops::ControlFlow;
use std::path::{Path, PathBuf};

use es_core::{
    DecodeError, Durability, Envelope, Event, EventStore, ExpectedVersion, FileStore, MemoryStore,
    NewEvent, ParallelReplay, RawEvent, ReplayError, StoredEvent, StoredEventRef,
};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::json;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema, Event)]
#[event(name = "Deposited", version = 1)]
struct DepositedV1 {
    amt: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema, Event)]
#[event(name = "Deposited", version = 2, upcast_from = DepositedV1)]
struct Deposited {
    amount: u64,
    note: String,
}

impl From<DepositedV1> for Deposited {
    fn from(v1: DepositedV1) -> Self {
        Self {
            amount: v1.amt,
            note: String::new(),
        }
    }
}

/// A legacy transfer is two deposits today; the second names the stored event's stream,
/// version and metadata, so the raw upcaster's view of the whole stored event is checked too.
#[allow(clippy::unnecessary_wraps, clippy::needless_pass_by_value)]
fn split_transfer(
    raw: RawEvent,
    stored: &StoredEvent,
) -> Result<Vec<RawEvent>, Box<dyn std::error::Error + Send + Sync>> {
    let amount = raw.payload["amount"].clone();
    let note = format!(
        "{}@{} {:?}",
        stored.stream_id,
        stored.stream_version,
        stored.metadata_value("k")
    );
    Ok(vec![
        RawEvent::new("Deposited", 2, json!({ "amount": amount, "note": "" })),
        RawEvent::new("Deposited", 2, json!({ "amount": 1, "note": note })),
    ])
}

#[derive(Debug, Clone, PartialEq, Event)]
#[event(removed("Audited"))]
#[event(raw_upcast(from = ("TransferMade", 1), with = split_transfer))]
enum AccountEvent {
    Deposited(Deposited),
}

/// Event `n` of the test log: legacy and current deposits, a split transfer every 10th, a
/// removed tag every 13th, metadata on every 4th, over a few streams.
fn event(n: u64) -> NewEvent {
    let event = match n {
        n if n % 13 == 5 => NewEvent::new("Audited", 1, json!({})),
        n if n % 10 == 3 => NewEvent::new("TransferMade", 1, json!({ "amount": n })),
        n if n % 2 == 0 => NewEvent::new("Deposited", 1, json!({ "amt": n })),
        n => NewEvent::new("Deposited", 2, json!({ "amount": n, "note": "é" })),
    };
    if n % 4 == 1 {
        event.with_metadata("k", json!({ "n": n, "s": "ü" }))
    } else {
        event
    }
}

fn append_log<S: EventStore + ?Sized>(store: &S, from: u64, events: u64) {
    for n in from..from + events {
        store
            .append(
                &format!("acc-{}", n % 7),
                ExpectedVersion::Any,
                vec![event(n)],
            )
            .expect("append");
    }
}

fn file_store(dir: &Path) -> FileStore {
    FileStore::options()
        .durability(Durability::None)
        .open(dir)
        .expect("open")
}

/// Every stored event of `store`, owned, through `read_all`.
fn stored_log(store: &dyn EventStore) -> Vec<StoredEvent> {
    store
        .read_all(1)
        .expect("read")
        .map(Result::unwrap)
        .collect()
}

/// What the owned path delivers: a `read_all` loop through `Envelope::decode`, up to the first
/// failure, and that failure's text.
fn owned_replay<S: EventStore + ?Sized>(
    store: &S,
) -> (Vec<Envelope<AccountEvent>>, Option<String>) {
    let mut out = Vec::new();
    for stored in store.read_all(1).expect("read") {
        let stored = match stored {
            Ok(stored) => stored,
            Err(e) => return (out, Some(format!("read: {e:?}"))),
        };
        match Envelope::decode(&stored) {
            Ok(envelopes) => out.extend(envelopes),
            Err(e) => return (out, Some(decode_failure(&e))),
        }
    }
    (out, None)
}

fn decode_failure(e: &DecodeError) -> String {
    format!(
        "decode: {} {} {} v{}: {e}",
        e.stream_id, e.position, e.event_type, e.schema_version
    )
}

fn replay_failure(e: &ReplayError) -> String {
    match e {
        ReplayError::Read(e) => format!("read: {e:?}"),
        ReplayError::Decode(e) => decode_failure(e),
        other => format!("{other:?}"),
    }
}

/// `run_ref`, each lent envelope made owned.
fn borrowed_replay<S: EventStore + ?Sized>(
    store: &S,
    replay: &ParallelReplay,
) -> (Vec<Envelope<AccountEvent>>, Option<String>) {
    let mut out = Vec::new();
    let result = replay.run_ref::<AccountEvent, _, _>(store, 1, |envelope| {
        out.push(envelope.to_envelope().expect("metadata is an object"));
    });
    (out, result.err().map(|e| replay_failure(&e)))
}

/// `run`, the owned envelopes of `ParallelReplay`.
fn owned_parallel<S: EventStore + ?Sized>(
    store: &S,
    replay: &ParallelReplay,
) -> (Vec<Envelope<AccountEvent>>, Option<String>) {
    let mut out = Vec::new();
    let result = replay.run::<AccountEvent, _, _>(store, 1, |envelope| out.push(envelope.clone()));
    (out, result.err().map(|e| replay_failure(&e)))
}

/// Every thread count and range size: `run_ref` and `run` deliver what the owned loop does.
fn assert_every_replay_matches_the_owned_loop<S: EventStore + ?Sized>(store: &S) {
    let expected = owned_replay(store);
    for threads in [1, 2, 3, 7] {
        for chunk in [1, 3, 1024] {
            let replay = ParallelReplay::new().threads(threads).chunk_events(chunk);
            let borrowed = borrowed_replay(store, &replay);
            assert_eq!(
                borrowed, expected,
                "run_ref, {threads} threads, ranges of {chunk}"
            );
            let owned = owned_parallel(store, &replay);
            assert_eq!(owned, expected, "run, {threads} threads, ranges of {chunk}");
        }
    }
}

#[test]
fn visit_all_lends_what_read_all_returns_and_decode_ref_decodes_it_like_decode() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let file = file_store(dir.path());
    let memory = MemoryStore::new();
    let stores: [&dyn EventStore; 2] = [&file, &memory];
    for store in stores {
        append_log(store, 0, 300);
        let owned = stored_log(store);
        let mut lent = Vec::new();
        store
            .visit_all(1, &mut |stored| {
                let by_ref = AccountEvent::decode_ref(stored).map(es_core::Decoded::into_vec);
                let copy = stored.to_stored().expect("metadata is an object");
                let by_copy = AccountEvent::decode(&copy).map(es_core::Decoded::into_vec);
                assert_eq!(
                    format!("{by_ref:?}"),
                    format!("{by_copy:?}"),
                    "position {}",
                    stored.position
                );
                lent.push(copy);
                ControlFlow::Continue(())
            })
            .expect("visit");
        assert_eq!(lent, owned);
    }
}

#[test]
fn visit_range_lends_the_events_of_read_all_from_one_position_through_another() {
    let dir = tempfile::tempdir().expect("temporary directory");
    // Segments of ~4 KiB: ranges start, end and run across segment boundaries.
    let file = FileStore::options()
        .durability(Durability::None)
        .segment_size(4096)
        .open(dir.path())
        .expect("open");
    append_log(&file, 0, 300);
    let segments = std::fs::read_dir(dir.path())
        .expect("the store's files")
        .count();
    assert!(segments > 5, "{segments} files: the log spans segments");
    let memory = MemoryStore::new();
    append_log(&memory, 0, 300);
    let stores: [&dyn EventStore; 2] = [&file, &memory];
    for store in stores {
        let owned = stored_log(store);
        for (from, through) in [
            (1, 300),
            (0, 1),
            (1, 1),
            (17, 17),
            (1, 255),
            (256, 300),
            (37, 199),
            (250, 1000),
            (301, 400),
            (9, 8),
            (0, 0),
        ] {
            let mut lent = Vec::new();
            store
                .visit_range(from, through, &mut |stored| {
                    lent.push(stored.to_stored().expect("metadata is an object"));
                    ControlFlow::Continue(())
                })
                .expect("visit");
            let expected: Vec<&StoredEvent> = owned
                .iter()
                .filter(|e| e.position >= from && e.position <= through)
                .collect();
            assert_eq!(
                lent.iter().collect::<Vec<_>>(),
                expected,
                "{from}..={through}"
            );
        }
        let mut first_three = Vec::new();
        store
            .visit_range(40, 200, &mut |stored| {
                first_three.push(stored.position);
                if first_three.len() == 3 {
                    ControlFlow::Break(())
                } else {
                    ControlFlow::Continue(())
                }
            })
            .expect("visit");
        assert_eq!(first_three, [40, 41, 42], "stops when asked");
    }
}

#[test]
fn visit_stream_lends_what_read_stream_returns_and_stops_when_asked() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let store = file_store(dir.path());
    append_log(&store, 0, 100);
    let owned: Vec<StoredEvent> = store
        .read_stream("acc-3", 4)
        .expect("read")
        .map(Result::unwrap)
        .collect();
    let mut lent = Vec::new();
    store
        .visit_stream("acc-3", 4, &mut |stored| {
            lent.push(stored.to_stored().expect("metadata is an object"));
            ControlFlow::Continue(())
        })
        .expect("visit");
    assert_eq!(lent, owned);
    let mut first_two = Vec::new();
    store
        .visit_stream("acc-3", 4, &mut |stored| {
            first_two.push(stored.stream_version);
            if first_two.len() == 2 {
                ControlFlow::Break(())
            } else {
                ControlFlow::Continue(())
            }
        })
        .expect("visit");
    assert_eq!(first_two, [4, 5]);
}

#[test]
fn borrowed_replays_deliver_the_owned_envelopes_in_order_for_every_thread_count_and_range_size() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let store = file_store(dir.path());
    append_log(&store, 0, 400);
    let (expected, failure) = owned_replay(&store);
    assert_eq!(failure, None);
    assert!(expected.len() > 400, "split transfers add events");
    assert!(
        expected
            .iter()
            .any(|e| matches!(&e.event, AccountEvent::Deposited(d) if d.note.starts_with("acc-"))),
        "the raw upcaster ran"
    );
    assert!(expected.iter().any(|e| !e.metadata.is_empty()));
    assert_every_replay_matches_the_owned_loop(&store);

    let memory = MemoryStore::new();
    append_log(&memory, 0, 400);
    assert_every_replay_matches_the_owned_loop(&memory);
}

#[test]
fn decode_errors_name_the_same_event_and_stop_after_the_same_events() {
    // Each bad event, and words its error says.
    let bad_events = [
        (
            "unknown tag",
            NewEvent::new("Withdrawn", 1, json!({ "amount": 1 })),
            "Withdrawn",
        ),
        (
            "future version",
            NewEvent::new("Deposited", 9, json!({})),
            "v9",
        ),
        (
            "a field of the wrong type",
            NewEvent::new("Deposited", 2, json!({ "amount": "ten", "note": "" })),
            "`amount`",
        ),
        (
            "malformed JSON",
            NewEvent::from_json_bytes("Deposited", 2, br#"{"amount": 1,"#.to_vec()),
            "not valid JSON",
        ),
        (
            "malformed JSON for a raw upcaster",
            NewEvent::from_json_bytes("TransferMade", 1, b"{".to_vec()),
            "not valid JSON",
        ),
        (
            "a raw upcaster's output of the wrong shape",
            NewEvent::new("TransferMade", 1, json!({ "amount": "ten" })),
            "`amount`",
        ),
    ];
    for (what, bad, says) in bad_events {
        let dir = tempfile::tempdir().expect("temporary directory");
        let store = file_store(dir.path());
        append_log(&store, 0, 150);
        store
            .append("acc-bad", ExpectedVersion::Any, vec![bad])
            .expect("append");
        append_log(&store, 150, 150);
        let (events, failure) = owned_replay(&store);
        let failure = failure.unwrap_or_else(|| panic!("{what}: the owned loop fails"));
        assert!(failure.contains("acc-bad 151"), "{what}: {failure}");
        assert!(failure.contains(says), "{what}: {failure}");
        assert!(!events.is_empty());
        assert_every_replay_matches_the_owned_loop(&store);
    }
}

/// The store's one segment file.
fn segment_file(dir: &Path) -> PathBuf {
    let mut logs: Vec<PathBuf> = std::fs::read_dir(dir)
        .expect("list")
        .map(|entry| entry.expect("entry").path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "log"))
        .collect();
    assert_eq!(logs.len(), 1, "{logs:?}");
    logs.remove(0)
}

#[test]
fn a_damaged_frame_stops_every_replay_with_the_same_error_after_the_same_events() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let store = file_store(dir.path());
    append_log(&store, 0, 200);
    store
        .append(
            "acc-damaged",
            ExpectedVersion::Any,
            vec![NewEvent::new("Deposited", 1, json!({ "amt": 424_242 }))],
        )
        .expect("append");
    append_log(&store, 200, 100);
    // Flip one byte of that event's payload on disk, under the open store: its checksum no
    // longer matches when it is read.
    let path = segment_file(dir.path());
    let mut bytes = std::fs::read(&path).expect("read segment");
    let at = bytes
        .windows(6)
        .position(|w| w == b"424242")
        .expect("the payload is in the segment");
    bytes[at] = b'5';
    std::fs::write(&path, &bytes).expect("damage the segment");

    let (events, failure) = owned_replay(&store);
    let failure = failure.expect("the owned loop stops at the damage");
    assert!(failure.contains("Corrupt"), "{failure}");
    assert_eq!(events.last().map(|e| e.position), Some(200));
    assert_every_replay_matches_the_owned_loop(&store);

    let mut visited = 0;
    let error = store
        .visit_all(1, &mut |_| {
            visited += 1;
            ControlFlow::Continue(())
        })
        .expect_err("the damage is found");
    assert_eq!((visited, format!("read: {error:?}")), (200, failure));
}

#[test]
fn lent_events_copy_back_to_the_owned_event_and_metadata_stays_text() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let store = file_store(dir.path());
    append_log(&store, 0, 2);
    let mut texts = Vec::new();
    store
        .visit_all(1, &mut |stored: &StoredEventRef<'_>| {
            texts.push(stored.metadata_text().to_vec());
            ControlFlow::Continue(())
        })
        .expect("visit");
    // Event 0 has no metadata (lent as `{}`), event 1 has some, lent as the text appended.
    assert_eq!(texts[0], b"{}");
    let owned: Vec<StoredEvent> = store
        .read_all(1)
        .expect("read")
        .map(Result::unwrap)
        .collect();
    assert_eq!(texts[1], owned[1].metadata.as_bytes());
    let parsed: serde_json::Value = serde_json::from_slice(&texts[1]).expect("JSON");
    assert_eq!(parsed, json!({ "k": { "n": 1, "s": "ü" } }));
}
