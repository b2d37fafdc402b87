//! A raw upcaster lent the stored event (`with_ref`, a `RawRefUpcaster`) sees the same facts
//! and gives the same events and errors as one given an owned copy (`with`, a `RawUpcaster`),
//! on every decode path: `Event::decode`, `Event::decode_ref` and `ParallelReplay`.

use std::ops::ControlFlow;

use es_core::{
    DecodeError, DecodeErrorKind, Decoded, Event, EventStore, ExpectedVersion, FileStore,
    MemoryStore, NewEvent, ParallelReplay, RawEvent, StoredEvent, StoredEventRef,
};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

/// What the upcasters make of a stored `Noted` v1: its payload with every fact of the stored
/// event they were given.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema, Event)]
#[event(name = "Recorded", version = 1)]
struct Recorded {
    note: String,
    stream_id: String,
    stream_version: u64,
    position: u64,
    event_id: String,
    at_nanos: u128,
    by: Option<String>,
    payload_bytes: usize,
}

type Upcast = Result<Vec<RawEvent>, Box<dyn std::error::Error + Send + Sync>>;

/// The facts a raw upcaster reads off the stored event, whichever form it was given.
struct Facts<'a> {
    stream_id: &'a str,
    stream_version: u64,
    position: u64,
    event_id: String,
    at_nanos: u128,
    by: Option<String>,
    payload_bytes: usize,
}

/// `Noted` becomes a `Recorded` per note (none, one or several), each with the facts; a note
/// of `"fail"` fails the upcaster, a note of `"misshapen"` in stream `acc-3` gives an output
/// that does not fit (so the rerun that names the field must be given the same event).
fn upcast(raw: &RawEvent, facts: &Facts<'_>) -> Upcast {
    let notes = raw.payload["notes"].as_array().cloned().unwrap_or_default();
    notes
        .into_iter()
        .map(|note| {
            if note == "fail" {
                return Err("a note of `fail`".into());
            }
            let stream_version = if note == "misshapen" && facts.stream_id == "acc-3" {
                json!("not a number")
            } else {
                json!(facts.stream_version)
            };
            Ok(RawEvent::new(
                "Recorded",
                1,
                json!({
                    "note": note,
                    "stream_id": facts.stream_id,
                    "stream_version": stream_version,
                    "position": facts.position,
                    "event_id": facts.event_id,
                    "at_nanos": facts.at_nanos,
                    "by": facts.by,
                    "payload_bytes": facts.payload_bytes,
                }),
            ))
        })
        .collect()
}

fn nanos(at: std::time::SystemTime) -> u128 {
    at.duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |since| since.as_nanos())
}

#[allow(clippy::needless_pass_by_value)]
fn upcast_whole(raw: RawEvent, stored: &StoredEvent) -> Upcast {
    let by = stored
        .metadata_value("by")
        .and_then(Value::as_str)
        .map(str::to_owned);
    let facts = Facts {
        stream_id: &stored.stream_id,
        stream_version: stored.stream_version,
        position: stored.position,
        event_id: stored.event_id.to_string(),
        at_nanos: nanos(stored.recorded_at),
        by,
        payload_bytes: stored.payload.len(),
    };
    upcast(&raw, &facts)
}

#[allow(clippy::needless_pass_by_value)]
fn upcast_lent(raw: RawEvent, stored: &StoredEventRef<'_>) -> Upcast {
    let metadata = stored.metadata()?;
    let by = metadata
        .get("by")
        .and_then(Value::as_str)
        .map(str::to_owned);
    let facts = Facts {
        stream_id: stored.stream_id,
        stream_version: stored.stream_version,
        position: stored.position,
        event_id: stored.event_id.to_string(),
        at_nanos: nanos(stored.recorded_at),
        by,
        payload_bytes: stored.payload.len(),
    };
    upcast(&raw, &facts)
}

#[derive(Debug, Clone, PartialEq, Event)]
#[event(raw_upcast(from = ("Noted", 1), with = upcast_whole))]
enum Whole {
    Recorded(Recorded),
}

#[derive(Debug, Clone, PartialEq, Event)]
#[event(raw_upcast(from = ("Noted", 1), with_ref = upcast_lent))]
enum Lent {
    Recorded(Recorded),
}

impl From<Whole> for Recorded {
    fn from(Whole::Recorded(recorded): Whole) -> Self {
        recorded
    }
}

impl From<Lent> for Recorded {
    fn from(Lent::Recorded(recorded): Lent) -> Self {
        recorded
    }
}

/// The notes of each stored event, in order, with its metadata.
const LOG: [(&str, &[&str], Option<&str>); 6] = [
    ("acc-1", &["opened"], Some("ana")),
    ("acc-2", &["first", "second", "third"], None),
    ("acc-1", &[], Some("ben")),
    ("acc-1", &["closed"], None),
    ("acc-3", &["misshapen"], None),
    ("acc-3", &["fail"], None),
];

fn append_log(store: &dyn EventStore) {
    for (stream, notes, by) in LOG {
        let mut event = NewEvent::new("Noted", 1, json!({ "notes": notes }));
        if let Some(by) = by {
            event = event.with_metadata("by", json!(by));
        }
        store
            .append(stream, ExpectedVersion::Any, vec![event])
            .expect("append");
    }
}

/// Each stored event's outcome: its events, or its error as text and kind.
type Outcome = Result<Vec<Recorded>, (String, String)>;

fn outcome<E: Into<Recorded>>(decoded: Result<Decoded<E>, DecodeError>) -> Outcome {
    decoded
        .map(|events| events.into_iter().map(Into::into).collect())
        .map_err(|error| (error.to_string(), format!("{:?}", error.kind)))
}

/// Every stored event of `store` decoded as `E`: owned, then lent.
fn decode_both<E: Event + Into<Recorded>>(store: &dyn EventStore) -> (Vec<Outcome>, Vec<Outcome>) {
    let owned = store
        .read_all(1)
        .expect("read")
        .map(|stored| outcome(E::decode(&stored.expect("readable"))))
        .collect();
    let mut lent = Vec::new();
    store
        .visit_all(1, &mut |stored| {
            lent.push(outcome(E::decode_ref(stored)));
            ControlFlow::Continue(())
        })
        .expect("read");
    (owned, lent)
}

/// `outcomes` of `Whole`, their errors naming `Lent`'s upcaster instead.
fn named_lent(outcomes: &[Outcome]) -> Vec<Outcome> {
    let rename = |text: &String| text.replace("upcast_whole", "upcast_lent");
    outcomes
        .iter()
        .map(|outcome| {
            outcome
                .clone()
                .map_err(|(text, kind)| (rename(&text), rename(&kind)))
        })
        .collect()
}

/// What `Whole` and `Lent` decode of a store's log, each through `Event::decode` (owned) and
/// `Event::decode_ref` (lent).
struct Decodings {
    whole_owned: Vec<Outcome>,
    whole_lent: Vec<Outcome>,
    lent_owned: Vec<Outcome>,
    lent_lent: Vec<Outcome>,
}

/// Runs `check` on a `FileStore` (events lent from its read buffer) and on a `MemoryStore`,
/// each holding `LOG`, with what they decode.
fn on_each_store(check: impl Fn(&dyn EventStore, Decodings)) {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let file = FileStore::open(dir.path()).expect("open");
    let memory = MemoryStore::new();
    for store in [&file as &dyn EventStore, &memory] {
        append_log(store);
        let (whole_owned, whole_lent) = decode_both::<Whole>(store);
        let (lent_owned, lent_lent) = decode_both::<Lent>(store);
        check(
            store,
            Decodings {
                whole_owned,
                whole_lent,
                lent_owned,
                lent_lent,
            },
        );
    }
}

#[test]
fn a_lent_upcaster_sees_the_stored_event_and_decodes_as_the_owned_form_does() {
    on_each_store(|store, d| {
        assert_eq!(d.whole_owned, d.whole_lent);
        assert_eq!(d.lent_owned, d.lent_lent);
        // The same events and errors, but for the upcaster each error names.
        assert_eq!(named_lent(&d.whole_owned), d.lent_owned);

        let first = d.whole_owned[0].as_ref().expect("decodes");
        let stored = store.read_all(1).expect("read").next().expect("one");
        let stored = stored.expect("readable");
        assert_eq!(
            first,
            &[Recorded {
                note: "opened".to_owned(),
                stream_id: "acc-1".to_owned(),
                stream_version: 1,
                position: 1,
                event_id: stored.event_id.to_string(),
                at_nanos: nanos(stored.recorded_at),
                by: Some("ana".to_owned()),
                payload_bytes: stored.payload.len(),
            }]
        );
        let notes: Vec<Vec<&str>> = d.whole_owned[..4]
            .iter()
            .map(|events| {
                events
                    .as_ref()
                    .expect("decodes")
                    .iter()
                    .map(|e| e.note.as_str())
                    .collect()
            })
            .collect();
        assert_eq!(
            notes,
            [
                vec!["opened"],
                vec!["first", "second", "third"],
                vec![],
                vec!["closed"]
            ]
        );
        assert_eq!(
            d.whole_owned[2..4]
                .iter()
                .map(|e| e.as_ref().map(|e| e.iter().map(|r| r.by.clone()).collect()))
                .collect::<Vec<Result<Vec<_>, _>>>(),
            [Ok(vec![]), Ok(vec![None])]
        );
    });
}

#[test]
fn a_lent_upcaster_fails_where_the_owned_form_fails_and_names_the_field_that_does_not_fit() {
    on_each_store(|store, d| {
        for lent in [&d.lent_owned, &d.lent_lent] {
            let misshapen = lent[4].as_ref().expect_err("does not fit");
            assert!(misshapen.1.starts_with("RawUpcastOutput"), "{misshapen:?}");
            let failed = lent[5].as_ref().expect_err("fails");
            assert!(failed.1.starts_with("UpcastFailed"), "{failed:?}");
            assert!(
                failed.0.contains("upcast_lent"),
                "names its upcaster: {}",
                failed.0
            );
        }
        assert_eq!(named_lent(&d.whole_owned), d.lent_owned);
        assert_eq!(named_lent(&d.whole_lent), d.lent_lent);

        // The field, through the owned and the lent path: the rerun is given the same event.
        let mut fields = Vec::new();
        store
            .visit_all(5, &mut |stored| {
                let lent = Lent::decode_ref(stored).expect_err("does not fit");
                let whole = Whole::decode_ref(stored).expect_err("does not fit");
                fields.push((
                    lent.field().map(str::to_owned),
                    whole.field().map(str::to_owned),
                ));
                assert_eq!((lent.stream_id.as_str(), lent.position), ("acc-3", 5));
                ControlFlow::Break(())
            })
            .expect("read");
        let stored = store.read_all(5).expect("read").next().expect("one");
        let stored = stored.expect("readable");
        let lent = Lent::decode(&stored).expect_err("does not fit");
        let whole = Whole::decode(&stored).expect_err("does not fit");
        fields.push((
            lent.field().map(str::to_owned),
            whole.field().map(str::to_owned),
        ));
        let expected = (
            Some("stream_version".to_owned()),
            Some("stream_version".to_owned()),
        );
        assert_eq!(fields, [expected.clone(), expected]);
        assert!(matches!(lent.kind, DecodeErrorKind::RawUpcastOutput(_)));
    });
}

/// Metadata is not checked on the way to a lent upcaster, as on the typed path; the owned
/// copy a `with` upcaster is given checks it. Only a hand-made borrowed event can carry
/// metadata that is not an object: stores refuse it.
#[test]
fn metadata_that_is_not_an_object_fails_the_owned_copy_and_reaches_a_lent_upcaster() {
    let payload = json!({ "notes": ["opened"] }).to_string();
    let stored = StoredEventRef::from_parts(
        1,
        "acc-1",
        1,
        uuid::Uuid::nil(),
        "Noted",
        1,
        payload.as_bytes(),
        b"[1]",
        std::time::UNIX_EPOCH,
    );
    let whole = Whole::decode_ref(&stored).expect_err("the copy checks the metadata");
    assert!(
        matches!(whole.kind, DecodeErrorKind::MalformedJson(_)),
        "{:?}",
        whole.kind
    );
    // `upcast_lent` asks for the metadata, and fails with the store's error as its own.
    let lent = Lent::decode_ref(&stored).expect_err("the upcaster asks for the metadata");
    assert!(
        matches!(lent.kind, DecodeErrorKind::UpcastFailed { .. }),
        "{:?}",
        lent.kind
    );
}

#[test]
fn parallel_replay_through_a_lent_upcaster_applies_what_one_thread_decodes() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let store = FileStore::open(dir.path()).expect("open");
    for round in 0..50 {
        for (stream, notes, by) in &LOG[..4] {
            let mut event = NewEvent::new("Noted", 1, json!({ "notes": notes }));
            if let Some(by) = by {
                event = event.with_metadata("by", json!(format!("{by}-{round}")));
            }
            store
                .append(stream, ExpectedVersion::Any, vec![event])
                .expect("append");
        }
    }
    let (one_thread, _) = decode_both::<Lent>(&store);
    let one_thread: Vec<Recorded> = one_thread
        .into_iter()
        .flat_map(|events| events.expect("decodes"))
        .collect();
    for threads in [1, 2, 3] {
        for chunk in [1, 7, 64] {
            let mut applied = Vec::new();
            let outcome = ParallelReplay::new()
                .threads(threads)
                .chunk_events(chunk)
                .run_ref::<Lent, _, _>(&store, 1, |envelope| {
                    applied.push(Recorded::from(envelope.event.clone()));
                })
                .expect("replays");
            assert_eq!(outcome.events, 200);
            assert_eq!(applied, one_thread, "{threads} threads, ranges of {chunk}");
        }
    }
}
