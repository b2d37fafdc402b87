//! A log of more segments than a process may have open files: every segment file stays
//! closed until it is read, and only a few stay open afterwards. (Alone in its test binary:
//! it counts the process's open file descriptors.)

use es_core::{Durability, EventStore, ExpectedVersion, FileStore, NewEvent};
use serde_json::json;

const SEGMENTS: u64 = 1_100;

/// The process's open file descriptors, on systems that list them in `/proc/self/fd`.
fn open_fds() -> Option<usize> {
    Some(std::fs::read_dir("/proc/self/fd").ok()?.count())
}

#[test]
fn a_store_of_1100_segments_opens_reads_and_verifies_with_few_open_files() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let before = open_fds();
    {
        let store = FileStore::options()
            .durability(Durability::None)
            .segment_size(1)
            .open(dir.path())
            .expect("open");
        for n in 0..SEGMENTS {
            store
                .append(
                    "s",
                    ExpectedVersion::Any,
                    vec![NewEvent::new("E", 1, json!({ "n": n }))],
                )
                .expect("append: each starts a segment");
        }
        if let (Some(before), Some(now)) = (before, open_fds()) {
            assert!(
                now < before + 64,
                "{now} open files after appending, {before} before"
            );
        }
    }
    let segments = std::fs::read_dir(dir.path())
        .expect("list")
        .filter_map(Result::ok)
        .filter(|e| e.file_name().to_string_lossy().ends_with(".log"))
        .count();
    assert_eq!(segments as u64, SEGMENTS);

    let report = FileStore::verify(dir.path()).expect("verify");
    assert!(report.is_intact(), "{report:?}");
    assert_eq!(
        (report.segments as u64, report.events),
        (SEGMENTS, SEGMENTS)
    );

    for read_only in [false, true] {
        let store = if read_only {
            FileStore::open_read_only(dir.path())
        } else {
            FileStore::open(dir.path())
        }
        .expect("open a store of many segments");
        assert_eq!(store.recovery().segments as u64, SEGMENTS);
        let mut read = 0u64;
        for event in store.read_all(1).expect("read_all") {
            event.expect("every event reads");
            read += 1;
        }
        assert_eq!(read, SEGMENTS);
        let stream = store.read_stream("s", 1).expect("read_stream").count();
        assert_eq!(stream as u64, SEGMENTS);
        if let (Some(before), Some(now)) = (before, open_fds()) {
            assert!(
                now < before + 64,
                "read_only {read_only}: {now} open files with the store open, {before} before"
            );
        }
    }
}
