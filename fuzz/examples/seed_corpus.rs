//! Writes the seed corpora under `fuzz/corpus/` from the test fixtures:
//! `cargo run --manifest-path fuzz/Cargo.toml --example seed_corpus` (from the repository root).
//!
//! - `segment`: segment files of file stores holding the fixtures' events (one segment, and a
//!   log rolled over into several), each with the flags byte in front, and a torn copy.
//! - `jsonl_import`: the export fixtures in both formats.
//! - `event_decode`: every event of the legacy fixtures, as a header line and its payload.
//! - `schema_lock`: the account domain's lock, and a fresh lock of the order domain.

use std::fs;
use std::path::Path;

use es_core::schema::update_lock;
use es_core::{Durability, EventStore, ExpectedVersion, FileStore, NewEvent};
use es_fuzz::LockedOrderEvent;
use serde_json::Value;

type Result<T = ()> = std::result::Result<T, Box<dyn std::error::Error>>;

const LEGACY_FIXTURES: &[&str] = &[
    "bank_legacy.jsonl",
    "context_aware.jsonl",
    "field_added_with_default.jsonl",
    "field_rename.jsonl",
    "multi_step_chain.jsonl",
    "nested_restructure.jsonl",
    "removal.jsonl",
    "split.jsonl",
    "tag_rename.jsonl",
    "type_change.jsonl",
];

/// The events of a legacy fixture: `{"stream", "type", "version", "payload", "metadata"?}`.
fn legacy_events(text: &str) -> Result<Vec<(String, NewEvent)>> {
    let mut out = Vec::new();
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        let record: Value = serde_json::from_str(line)?;
        let text = |name: &str| record[name].as_str().unwrap_or_default().to_owned();
        let version = u32::try_from(record["version"].as_u64().unwrap_or(1))?;
        let mut event = NewEvent::new(text("type"), version, record["payload"].clone());
        if let Some(Value::Object(metadata)) = record.get("metadata") {
            event = event.with_metadata_map(metadata.clone());
        }
        out.push((text("stream"), event));
    }
    Ok(out)
}

fn segment_seeds(fixtures: &Path, out: &Path) -> Result {
    for (name, segment_size) in [("one-segment", 64 * 1024 * 1024), ("rolled-over", 300)] {
        let dir = tempfile_dir(name)?;
        let store = FileStore::options()
            .durability(Durability::None)
            .segment_size(segment_size)
            .open(&dir)?;
        for fixture in ["bank_legacy.jsonl", "split.jsonl", "context_aware.jsonl"] {
            for (stream, event) in legacy_events(&fs::read_to_string(fixtures.join(fixture))?)? {
                store.append(&stream, ExpectedVersion::Any, vec![event])?;
            }
        }
        drop(store);
        let mut segments: Vec<_> = fs::read_dir(&dir)?
            .map(|e| e.map(|e| e.path()))
            .collect::<std::io::Result<_>>()?;
        segments.retain(|p| p.extension().is_some_and(|e| e == "log"));
        segments.sort();
        let mut bytes = Vec::new();
        for segment in &segments {
            bytes.extend(fs::read(segment)?);
        }
        fs::remove_dir_all(&dir)?;
        // Flags: 0 as stored, 3 with checksums repaired and a writable open.
        for flags in [0u8, 3] {
            let mut seed = vec![flags];
            seed.extend(&bytes);
            fs::write(out.join(format!("{name}-{flags}")), &seed)?;
        }
        let mut torn = vec![2u8];
        torn.extend(&bytes[..bytes.len() - 7]);
        fs::write(out.join(format!("{name}-torn")), torn)?;
    }
    Ok(())
}

fn tempfile_dir(name: &str) -> Result<std::path::PathBuf> {
    let dir = std::env::temp_dir().join(format!("es-fuzz-seed-{name}-{}", std::process::id()));
    if dir.exists() {
        fs::remove_dir_all(&dir)?;
    }
    Ok(dir)
}

fn main() -> Result {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let fixtures = root.join("../tests/fixtures");
    let corpus = root.join("corpus");
    let dir = |target: &str| -> Result<std::path::PathBuf> {
        let dir = corpus.join(target);
        fs::create_dir_all(&dir)?;
        Ok(dir)
    };

    segment_seeds(&fixtures, &dir("segment")?)?;

    let jsonl = dir("jsonl_import")?;
    for fixture in ["bank_export.jsonl", "eventstoredb_export.jsonl"] {
        fs::copy(fixtures.join(fixture), jsonl.join(fixture))?;
    }

    let decode = dir("event_decode")?;
    for fixture in LEGACY_FIXTURES {
        let text = fs::read_to_string(fixtures.join(fixture))?;
        for (i, line) in text.lines().filter(|l| !l.trim().is_empty()).enumerate() {
            let mut record: Value = serde_json::from_str(line)?;
            let payload = record
                .as_object_mut()
                .and_then(|r| r.remove("payload"))
                .unwrap_or(Value::Null);
            let seed = format!("{record}\n{payload}");
            let stem = fixture.trim_end_matches(".jsonl");
            fs::write(decode.join(format!("{stem}-{}", i + 1)), seed)?;
        }
    }

    let lock = dir("schema_lock")?;
    fs::copy(
        fixtures.join("account_events.lock.json"),
        lock.join("account_events.lock.json"),
    )?;
    let order_lock = lock.join("order_events.lock.json");
    if order_lock.exists() {
        fs::remove_file(&order_lock)?;
    }
    update_lock::<LockedOrderEvent>(&order_lock)?;
    Ok(())
}
