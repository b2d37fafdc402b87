//! Arbitrary bytes as the segment files of a file store: `verify`, a read-only open and a
//! full read, and a writable open (which cuts a torn tail) followed by an append.
//!
//! Input: one flags byte, then the files' bytes, a new segment at every segment magic.
//! Flag 1 recomputes every checksum first, so mutations reach the frame decoding behind
//! them; flag 2 also opens the store for writing. Never a panic; and once a writable open
//! accepted the log and an append succeeded, `verify` finds it clean.

#![no_main]

use std::path::PathBuf;
use std::sync::OnceLock;

use es_core::{Durability, EventStore, ExpectedVersion, FileStore, NewEvent};
use es_fuzz::{empty_dir, repair_checksums, scratch_dir, split_segments};
use libfuzzer_sys::fuzz_target;

const REPAIR_CHECKSUMS: u8 = 1;
const OPEN_FOR_WRITING: u8 = 2;
/// Enough events to cover any input of libFuzzer's default length limits.
const MAX_EVENTS_READ: usize = 10_000;

fn dir() -> &'static PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| scratch_dir("segment"))
}

fn read_everything(store: &FileStore) {
    let Ok(events) = store.read_all(0) else {
        return;
    };
    let mut streams = Vec::new();
    for event in events.take(MAX_EVENTS_READ) {
        match event {
            Ok(event) => {
                if !streams.contains(&event.stream_id) {
                    streams.push(event.stream_id);
                }
            }
            Err(_) => break,
        }
    }
    for stream in streams {
        let _ = store.stream_version(&stream);
        if let Ok(events) = store.read_stream(&stream, 1) {
            events.take(MAX_EVENTS_READ).for_each(drop);
        }
    }
    let _ = store.head_position();
}

fuzz_target!(|data: &[u8]| {
    let Some((&flags, bytes)) = data.split_first() else {
        return;
    };
    let dir = dir();
    empty_dir(dir);
    for (i, segment) in split_segments(bytes, 4).into_iter().enumerate() {
        let mut segment = segment.to_vec();
        if flags & REPAIR_CHECKSUMS != 0 {
            repair_checksums(&mut segment);
        }
        let path = dir.join(format!("seg-{:010}.log", i + 1));
        std::fs::write(path, segment).expect("write a scratch segment");
    }

    let _ = FileStore::verify(dir);
    if let Ok(store) = FileStore::open_read_only(dir) {
        read_everything(&store);
    }
    if flags & OPEN_FOR_WRITING == 0 {
        return;
    }
    let Ok(store) = FileStore::options().durability(Durability::None).open(dir) else {
        return;
    };
    read_everything(&store);
    let appended = store.append(
        "fuzz-stream",
        ExpectedVersion::Any,
        vec![NewEvent::new("Fuzzed", 1, serde_json::json!({ "n": 1 }))],
    );
    drop(store);
    if appended.is_ok() {
        let report = FileStore::verify(dir).expect("verify the log just written");
        assert!(
            report.is_clean(),
            "a log that opened and took an append is not clean: {report:?}"
        );
    }
});
