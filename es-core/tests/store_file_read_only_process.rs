//! A read-only store follows a store that another process writes: the child appends in
//! phases, and this process, following with `wait_for_append`, must see every event in order
//! before it lets the child go on. Alone in its test binary, like `file_store_process_lock.rs`:
//! a child spawned while another test reopens a store would hold that store's lock briefly.

mod support;

use std::io::{BufRead, Write};
use std::process::Stdio;
use std::time::{Duration, Instant};

use es_core::Durability;
use es_core::{EventStore, ExpectedVersion, FileStore, NewEvent, StoredEvent};
use serde_json::json;

const WRITER_CHILD_DIR: &str = "ES_FILE_STORE_READ_ONLY_WRITER_DIR";
/// Batches the child appends in each phase; it waits for a line on standard input between.
const PHASES: [u64; 3] = [40, 1, 80];
/// Far longer than following any phase may take.
const PATIENCE: Duration = Duration::from_secs(60);

/// The batch number `batch`: which stream it goes to, and how many events it holds.
fn batch_shape(batch: u64) -> (String, u64) {
    (format!("s{}", batch % 3), 1 + batch % 3)
}

/// Child mode: append the phases' batches to a synced store with small segments.
fn writer_child(dir: &str) {
    let store = FileStore::options()
        .durability(Durability::Sync)
        .segment_size(2048)
        .open(dir)
        .expect("the child opens the store");
    let mut batch = 0;
    for (phase, count) in PHASES.iter().enumerate() {
        if phase > 0 {
            let mut go = String::new();
            std::io::stdin().lock().read_line(&mut go).expect("stdin");
        }
        for _ in 0..*count {
            let (stream, len) = batch_shape(batch);
            let events = (0..len)
                .map(|index| {
                    NewEvent::new("Numbered", 1, json!({ "batch": batch, "index": index }))
                })
                .collect();
            store
                .append(&stream, ExpectedVersion::Any, events)
                .expect("the child appends");
            batch += 1;
        }
    }
}

/// The events the child appends, as (stream, batch, index), in order.
fn expected_events() -> Vec<(String, u64, u64)> {
    let batches: u64 = PHASES.iter().sum();
    (0..batches)
        .flat_map(|batch| {
            let (stream, len) = batch_shape(batch);
            (0..len).map(move |index| (stream.clone(), batch, index))
        })
        .collect()
}

fn describe(event: &StoredEvent) -> (String, u64, u64) {
    let payload: serde_json::Value = serde_json::from_slice(&event.payload).expect("JSON");
    let field = |name: &str| payload[name].as_u64().expect("a number");
    (event.stream_id.clone(), field("batch"), field("index"))
}

#[test]
fn a_read_only_store_follows_a_writer_in_another_process() {
    if let Ok(dir) = std::env::var(WRITER_CHILD_DIR) {
        writer_child(&dir);
        return;
    }
    let dir = tempfile::tempdir().expect("temporary directory");
    // Opened before the child has created anything: the log starts empty.
    let reader = FileStore::open_read_only(dir.path()).expect("open read-only");
    let mut child = support::child_test_command(
        "a_read_only_store_follows_a_writer_in_another_process",
        WRITER_CHILD_DIR,
        dir.path(),
    )
    .stdin(Stdio::piped())
    .stdout(Stdio::null())
    .spawn()
    .expect("spawn the writer child");
    let mut go = child.stdin.take().expect("child stdin");

    let expected = expected_events();
    let mut seen: Vec<StoredEvent> = Vec::new();
    let mut batches_done = 0;
    for (phase, count) in PHASES.iter().enumerate() {
        batches_done += count;
        let phase_head = expected
            .iter()
            .position(|(_, batch, _)| *batch >= batches_done)
            .unwrap_or(expected.len()) as u64;
        let deadline = Instant::now() + PATIENCE;
        let mut head = seen.len() as u64;
        while head < phase_head {
            assert!(Instant::now() < deadline, "phase {phase}: stuck at {head}");
            head = reader.wait_for_append(head, PATIENCE).expect("wait");
            seen.extend(
                reader
                    .read_all(seen.len() as u64 + 1)
                    .expect("read_all")
                    .map(|e| e.expect("every visible event reads back")),
            );
            assert_eq!(seen.len() as u64, head, "reads see exactly up to the head");
        }
        assert_eq!(
            head, phase_head,
            "phase {phase}: nothing beyond the child's appends"
        );
        if phase + 1 < PHASES.len() {
            writeln!(go, "go").expect("let the child go on");
        }
    }
    drop(go);
    assert!(child.wait().expect("the child exits").success());

    assert_eq!(
        seen.iter().map(|e| e.position).collect::<Vec<_>>(),
        (1..=expected.len() as u64).collect::<Vec<_>>()
    );
    assert_eq!(seen.iter().map(describe).collect::<Vec<_>>(), expected);
    for stream in ["s0", "s1", "s2"] {
        let versions: Vec<u64> = seen
            .iter()
            .filter(|e| e.stream_id == stream)
            .map(|e| e.stream_version)
            .collect();
        assert_eq!(versions, (1..=versions.len() as u64).collect::<Vec<_>>());
        assert_eq!(
            reader.stream_version(stream).expect("version"),
            versions.len() as u64
        );
    }
    assert!(
        reader.recovery().segments == 0 && dir.path().join("seg-0000000004.log").exists(),
        "followed from an empty directory across several new segments"
    );
}
