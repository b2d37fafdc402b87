//! The property of `export` and `import`: any log exported and imported into an empty store
//! is the same log, field for field, payload and metadata byte for byte. Each case is random from a
//! fixed seed, so a failure names the seed that reproduces it.

use std::time::{Duration, SystemTime};

use es_core::{Durability, EventStore, ExpectedVersion, FileStore, NewEvent, StoredEvent, Uuid};
use fastrand::Rng;
use serde_json::{Map, Value};
use std::collections::HashSet;

use super::*;

const CASES: u64 = 300;

#[test]
fn any_log_exported_and_imported_into_an_empty_store_is_the_same_log() {
    for seed in 0..CASES {
        let mut rng = Rng::with_seed(seed);
        let temp = tempfile::tempdir().expect("temp dir");
        let source = temp.path().join("source");
        let store = FileStore::options()
            .durability(Durability::None)
            .open(&source)
            .expect("open");
        let streams: Vec<String> = (0..rng.usize(1..4))
            .map(|_| text(&mut rng, 1..12))
            .collect();
        for _ in 0..rng.usize(1..12) {
            let stream = &streams[rng.usize(..streams.len())];
            let batch = (0..rng.usize(1..4)).map(|_| event(&mut rng)).collect();
            store
                .append(stream, ExpectedVersion::Any, batch)
                .expect("append");
        }
        let before = all(&store);
        drop(store);

        let file = temp.path().join("log.jsonl");
        let target = temp.path().join("target");
        let export = es_untyped(&["export", path(&source), "-o", path(&file)], &[]);
        assert_eq!(export.exit, Exit::Success, "seed {seed}: {}", export.err);
        let import = es_untyped(&["import", path(&target), path(&file)], &[]);
        assert_eq!(import.exit, Exit::Success, "seed {seed}: {}", import.err);
        let after = all(&FileStore::open_read_only(&target).expect("open"));
        assert_eq!(before.len(), after.len(), "seed {seed}");
        for (a, b) in before.iter().zip(&after) {
            assert_eq!(a, b, "seed {seed}");
            // `StoredEvent`'s equality compares these too; said again for the reader.
            assert_eq!(a.payload, b.payload, "seed {seed}: payload bytes");
            assert_eq!(
                a.metadata.as_bytes(),
                b.metadata.as_bytes(),
                "seed {seed}: metadata bytes"
            );
            assert_eq!(a.recorded_at, b.recorded_at, "seed {seed}: time");
        }
    }
}

fn all(store: &dyn EventStore) -> Vec<StoredEvent> {
    store
        .read_all(1)
        .expect("read")
        .collect::<Result<_, _>>()
        .expect("read")
}

fn event(rng: &mut Rng) -> NewEvent {
    let payload = match rng.u8(..20) {
        // Payloads that are not one JSON value on one line: exported as text or base64.
        0 => text(rng, 0..20).into_bytes(),
        1 => (0..rng.usize(0..20)).map(|_| rng.u8(..)).collect(),
        2 => format!("{{\n  \"pretty\": {}\n}}", json_text(rng, 3)).into_bytes(),
        _ => json_text(rng, 6).into_bytes(),
    };
    let event = NewEvent::from_json_bytes(text(rng, 1..16), rng.u32(1..), payload)
        .with_event_id(Uuid::from_u128(rng.u128(..)))
        .with_recorded_at(time(rng));
    if rng.u8(..4) == 0 {
        // Built from values, as an application does.
        let mut metadata = Map::new();
        for _ in 0..rng.usize(0..4) {
            metadata.insert(text(rng, 0..8), value(rng, 4));
        }
        event.with_metadata_map(metadata)
    } else {
        // Given as text, as an import or a relay does.
        let metadata = metadata_text(rng, 4);
        let metadata = if rng.u8(..6) == 0 {
            format!(" \n{metadata}\t")
        } else {
            metadata
        };
        event
            .with_metadata_json(metadata.as_str())
            .unwrap_or_else(|e| panic!("{metadata}: {e}"))
    }
}

/// Any time the stores hold: i64 nanoseconds, before 1970 as after.
fn time(rng: &mut Rng) -> SystemTime {
    let nanos = match rng.u8(..4) {
        0 => rng.i64(..),
        1 => rng.i64(-1_000_000_000..1_000_000_000),
        2 => rng.i64(..) / 1000 * 1000,
        _ => [i64::MIN, i64::MAX, -1, 0][rng.usize(..4)],
    };
    let magnitude = Duration::from_nanos(nanos.unsigned_abs());
    if nanos >= 0 {
        SystemTime::UNIX_EPOCH + magnitude
    } else {
        SystemTime::UNIX_EPOCH - magnitude
    }
}

/// A string of letters, unicode (astral included) and characters JSON escapes.
fn text(rng: &mut Rng, len: std::ops::Range<usize>) -> String {
    const ODD: [char; 10] = [
        '"', '\\', '\n', '\u{0}', '\u{1f}', 'é', '€', '😀', '\u{2028}', ' ',
    ];
    (0..rng.usize(len))
        .map(|_| {
            if rng.bool() {
                rng.alphanumeric()
            } else {
                ODD[rng.usize(..ODD.len())]
            }
        })
        .collect()
}

/// JSON text as people and other tools write it: any key order, spacing, number spelling
/// and escapes, and integers beyond 64 bits.
fn json_text(rng: &mut Rng, depth: u32) -> String {
    let space = |rng: &mut Rng| [" ", "", "\t", ""][rng.usize(..4)];
    match rng.u8(..if depth == 0 { 5 } else { 8 }) {
        0 => ["null", "true", "false"][rng.usize(..3)].to_owned(),
        1 | 2 => number_text(rng),
        3 | 4 => {
            let escaped = ["\\u00e9", "\\ud83d\\ude00", "\\/", "\\n", "\\u0000", "x"];
            let mut s = serde_json::to_string(&text(rng, 0..6)).expect("string");
            s.insert_str(1, escaped[rng.usize(..escaped.len())]);
            s
        }
        5 => {
            // Nesting deeper than serde_json's recursion limit of 128, now and then.
            let n = if rng.u8(..10) == 0 {
                rng.usize(100..300)
            } else {
                1
            };
            format!("{}{}{}", "[".repeat(n), json_text(rng, 0), "]".repeat(n))
        }
        6 => {
            let items: Vec<String> = (0..rng.usize(0..4))
                .map(|_| json_text(rng, depth - 1))
                .collect();
            format!("[{}]", items.join(&format!(",{}", space(rng))))
        }
        _ => {
            let entries: Vec<String> = (0..rng.usize(0..5))
                .map(|_| {
                    let key = serde_json::to_string(&text(rng, 0..6)).expect("key");
                    format!("{key}:{}{}", space(rng), json_text(rng, depth - 1))
                })
                .collect();
            format!("{{{}}}", entries.join(","))
        }
    }
}

fn number_text(rng: &mut Rng) -> String {
    match rng.u8(..6) {
        0 => rng.i64(..).to_string(),
        1 => rng.u64(..).to_string(),
        2 => format!("{}{:030}", rng.u32(1..), rng.u64(..)),
        3 => format!("{:e}", finite(rng)),
        4 => ["-0.0", "0e0", "1E+2", "1.5e-7", "100.000", "5e-324"][rng.usize(..6)].to_owned(),
        _ => finite(rng).to_string(),
    }
}

fn finite(rng: &mut Rng) -> f64 {
    loop {
        let d = f64::from_bits(rng.u64(..));
        if d.is_finite() {
            return d;
        }
    }
}

/// Metadata as JSON text: an object in any key order, spacing (line breaks too), number
/// spelling (integers beyond 64 bits too) and escapes, nested below the stores' limit, with
/// no key given twice in any object.
fn metadata_text(rng: &mut Rng, depth: u32) -> String {
    let space = |rng: &mut Rng| [" ", "", "\n  ", "", "\t"][rng.usize(..5)];
    let mut keys = HashSet::new();
    let entries: Vec<String> = (0..rng.usize(0..5))
        .filter_map(|_| {
            let key = text(rng, 0..6);
            if !keys.insert(key.clone()) {
                return None;
            }
            let mut key = serde_json::to_string(&key).expect("key");
            if rng.bool() {
                // The same key spelled with escapes.
                key = key.replace('é', "\\u00e9").replace('/', "\\/");
            }
            let value = match rng.u8(..if depth == 0 { 3 } else { 5 }) {
                0 => number_text(rng),
                1 => ["null", "true", "false", "\"\\ud83d\\ude00\""][rng.usize(..4)].to_owned(),
                2 => serde_json::to_string(&text(rng, 0..6)).expect("string"),
                3 => {
                    let items: Vec<String> = (0..rng.usize(0..4))
                        .map(|_| metadata_text(rng, depth - 1))
                        .collect();
                    format!("[{}]", items.join(","))
                }
                _ => metadata_text(rng, depth - 1),
            };
            Some(format!(
                "{}{key}{}:{}{value}",
                space(rng),
                space(rng),
                space(rng)
            ))
        })
        .collect();
    format!("{{{}{}}}", entries.join(","), space(rng))
}

/// A metadata value: what a JSON object in the stores holds (integers within 64 bits).
fn value(rng: &mut Rng, depth: u32) -> Value {
    match rng.u8(..if depth == 0 { 5 } else { 7 }) {
        0 => Value::Null,
        1 => Value::Bool(rng.bool()),
        2 => {
            if rng.bool() {
                Value::from(rng.i64(..))
            } else {
                Value::from(rng.u64(..))
            }
        }
        3 => Value::from(finite(rng)),
        4 => Value::String(text(rng, 0..10)),
        5 => Value::Array(
            (0..rng.usize(0..4))
                .map(|_| value(rng, depth - 1))
                .collect(),
        ),
        _ => Value::Object(
            (0..rng.usize(0..4))
                .map(|_| (text(rng, 0..6), value(rng, depth - 1)))
                .collect(),
        ),
    }
}
