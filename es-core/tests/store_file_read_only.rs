//! A store opened read-only beside the writing store: it takes no lock, modifies nothing,
//! refuses writes, hides a torn or unfinished tail, and follows what the writer appends.
//! Across processes: `file_store_read_only_process.rs`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use es_core::{AppendError, EventStore, ExpectedVersion, FileStore, NewEvent, StoredEvent};
use es_core::{CheckpointError, CheckpointStore};
use es_core::{Damage, Durability, OpenError};
use es_core::{Snapshot, SnapshotError, SnapshotStore};
use serde_json::json;

/// Far longer than any wait here should take.
const PATIENCE: Duration = Duration::from_secs(60);
/// Batches the followed writer appends.
const BATCHES: u64 = 60;

fn event(tag: &str) -> NewEvent {
    NewEvent::new(tag, 1, json!({ "tag": tag, "pad": "abcdefghijklmnop" }))
}

fn tags(store: &FileStore) -> Vec<String> {
    all(store).into_iter().map(|e| e.event_type).collect()
}

fn all(store: &FileStore) -> Vec<StoredEvent> {
    store
        .read_all(1)
        .expect("read_all")
        .map(|e| e.expect("every visible event reads back"))
        .collect()
}

fn segment_path(dir: &Path, number: u64) -> PathBuf {
    dir.join(format!("seg-{number:010}.log"))
}

fn file_len(path: &Path) -> u64 {
    std::fs::metadata(path).expect("file metadata").len()
}

/// Cuts the file at `path` to `len` bytes, as a crash or a writer undoing a write leaves it.
fn cut_file(path: &Path, len: u64) {
    std::fs::File::options()
        .write(true)
        .open(path)
        .and_then(|f| f.set_len(len))
        .expect("cut the file");
}

/// Appends each tag as a batch of one event.
fn append_each(store: &FileStore, tags: &[&str]) {
    for tag in tags {
        store
            .append("s", ExpectedVersion::Any, vec![event(tag)])
            .expect("append");
    }
}

/// Writes a log of `singles` (a batch of one event each), then one batch of `last`, and
/// closes it; returns the length of segment 1 before the last batch.
fn log_ending_in_a_batch(dir: &Path, singles: &[&str], last: &[&str]) -> u64 {
    let writer = FileStore::options()
        .durability(Durability::None)
        .open(dir)
        .expect("open");
    append_each(&writer, singles);
    let end = file_len(&segment_path(dir, 1));
    writer
        .append(
            "s",
            ExpectedVersion::Any,
            last.iter().map(|t| event(t)).collect(),
        )
        .expect("append");
    end
}

/// Every entry under `dir`, directories included (as `None`), with each file's bytes.
fn tree(dir: &Path) -> BTreeMap<PathBuf, Option<Vec<u8>>> {
    let mut out = BTreeMap::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(next) = pending.pop() {
        for entry in std::fs::read_dir(&next).expect("read directory") {
            let path = entry.expect("directory entry").path();
            if path.is_dir() {
                pending.push(path.clone());
                out.insert(path, None);
            } else {
                let bytes = std::fs::read(&path).expect("read file");
                out.insert(path, Some(bytes));
            }
        }
    }
    out
}

fn assert_refused<T: std::fmt::Debug>(result: Result<T, AppendError>) {
    match result {
        Err(AppendError::Unavailable { reason }) => assert_eq!(reason, "opened read-only"),
        other => panic!("expected a read-only refusal, got {other:?}"),
    }
}

#[test]
fn a_read_only_open_beside_an_open_writer_takes_no_lock() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let writer = FileStore::open(dir.path()).expect("open the writer");
    append_each(&writer, &["A"]);

    let reader = FileStore::open_read_only(dir.path()).expect("read-only beside the writer");
    let second_reader = FileStore::options()
        .read_only()
        .open(dir.path())
        .expect("any number of read-only stores");
    assert!(reader.is_read_only() && second_reader.is_read_only());
    assert!(!writer.is_read_only());
    assert_eq!(tags(&reader), ["A"]);
    drop(second_reader);
    assert!(
        matches!(FileStore::open(dir.path()), Err(OpenError::Locked { .. })),
        "opening and closing read-only stores leaves the writer's lock in place"
    );

    // The read-only store does not block a writer either.
    drop(writer);
    let writer = FileStore::open(dir.path()).expect("a writer opens beside a read-only store");
    writer
        .append("s", ExpectedVersion::Exact(1), vec![event("B")])
        .expect("append");
    assert_eq!(reader.wait_for_append(1, PATIENCE).expect("wait"), 2);
    assert_eq!(tags(&reader), ["A", "B"]);
    assert!(
        matches!(FileStore::open(dir.path()), Err(OpenError::Locked { .. })),
        "the new writer holds the lock"
    );
}

#[test]
fn a_read_only_store_follows_a_writer_across_new_segments() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let writer = FileStore::options()
        .durability(Durability::None)
        .segment_size(1024)
        .open(dir.path())
        .expect("open the writer");
    let reader = FileStore::open_read_only(dir.path()).expect("open read-only");
    assert_eq!(reader.head_position().expect("head"), 0);
    assert_eq!(
        reader
            .wait_for_append(0, Duration::from_millis(10))
            .expect("wait"),
        0,
        "nothing appended: the wait times out with the head"
    );
    let seen = std::thread::scope(|scope| {
        scope.spawn(|| {
            for i in 0..BATCHES {
                let stream = format!("s{}", i % 3);
                let batch = (0..=i % 2).map(|j| event(&format!("{i}.{j}"))).collect();
                writer
                    .append(&stream, ExpectedVersion::Any, batch)
                    .expect("append");
                if i % 10 == 0 {
                    std::thread::sleep(Duration::from_millis(5));
                }
            }
        });
        let expected_head = BATCHES + BATCHES / 2;
        let deadline = Instant::now() + PATIENCE;
        let mut head = 0;
        let mut seen = Vec::new();
        while head < expected_head && Instant::now() < deadline {
            head = reader.wait_for_append(head, PATIENCE).expect("wait");
            // What a woken follower reads: everything up to the head, whole batches only.
            let new: Vec<StoredEvent> = reader
                .read_all(seen.len() as u64 + 1)
                .expect("read_all")
                .map(|e| e.expect("readable"))
                .collect();
            assert_eq!(new.last().map_or(seen.len() as u64, |e| e.position), head);
            seen.extend(new);
        }
        seen
    });
    assert_eq!(
        seen.iter().map(|e| e.position).collect::<Vec<_>>(),
        (1..=BATCHES + BATCHES / 2).collect::<Vec<_>>(),
        "every event, in order"
    );
    assert_eq!(
        seen.iter()
            .map(|e| e.event_type.clone())
            .collect::<Vec<_>>(),
        tags(&writer)
    );
    assert!(
        segment_path(dir.path(), 3).exists(),
        "the writer started new segments while followed"
    );
    for stream in ["s0", "s1", "s2"] {
        assert_eq!(
            reader.stream_version(stream).expect("version"),
            writer.stream_version(stream).expect("version")
        );
        let versions: Vec<u64> = reader
            .read_stream(stream, 1)
            .expect("read_stream")
            .map(|e| e.expect("readable").stream_version)
            .collect();
        assert_eq!(versions, (1..=versions.len() as u64).collect::<Vec<_>>());
    }
}

#[test]
fn a_read_only_open_of_a_torn_tail_shows_the_events_before_it_and_changes_nothing() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let intact = log_ending_in_a_batch(dir.path(), &["A", "B"], &["C1", "C2"]);
    // A crash while writing the last batch: its second frame lost its last bytes. The lock
    // file goes too, to show that the read-only open does not create one.
    let segment = segment_path(dir.path(), 1);
    let len = file_len(&segment);
    cut_file(&segment, len - 3);
    std::fs::remove_file(dir.path().join("LOCK")).expect("remove the lock file");
    std::fs::write(
        dir.path().join("seg-0000000002.log.tmp"),
        b"left by a crash",
    )
    .expect("leave a temporary file");
    let before = tree(dir.path());

    let reader = FileStore::open_read_only(dir.path()).expect("open read-only");
    assert_eq!(tags(&reader), ["A", "B"]);
    let torn = reader
        .recovery()
        .torn_tail
        .as_ref()
        .expect("the torn tail is reported");
    assert_eq!(
        (torn.offset, torn.segment.clone()),
        (intact, segment.clone())
    );
    assert_eq!(reader.recovery().temp_files_removed, 0);
    assert_eq!(
        reader.refresh().expect("refresh"),
        2,
        "the tail stays hidden"
    );
    assert_eq!(
        reader
            .wait_for_append(2, Duration::from_millis(150))
            .expect("wait"),
        2
    );
    assert_eq!(reader.load_snapshot("s").expect("load snapshot"), None);
    assert_eq!(reader.load_checkpoint("p").expect("load checkpoint"), None);
    drop(reader);
    assert_eq!(
        tree(dir.path()),
        before,
        "byte-identical, nothing created or removed"
    );
}

#[test]
fn an_unfinished_batch_shows_once_the_writer_completes_it() {
    let scratch = tempfile::tempdir().expect("temporary directory");
    let first_end = log_ending_in_a_batch(scratch.path(), &["A"], &["B1", "B2"]);
    let bytes = std::fs::read(segment_path(scratch.path(), 1)).expect("read segment");

    // The same log as a writer leaves it at every moment while it writes the second batch.
    let dir = tempfile::tempdir().expect("temporary directory");
    let segment = segment_path(dir.path(), 1);
    let start = usize::try_from(first_end).expect("fits");
    std::fs::write(&segment, &bytes[..start]).expect("write the first batch");
    let reader = FileStore::open_read_only(dir.path()).expect("open read-only");
    for written in start..bytes.len() {
        std::fs::write(&segment, &bytes[..written]).expect("write part of the batch");
        assert_eq!(reader.refresh().expect("refresh"), 1, "{written} bytes");
    }
    std::fs::write(&segment, &bytes).expect("finish the batch");
    assert_eq!(reader.wait_for_append(1, PATIENCE).expect("wait"), 3);
    assert_eq!(tags(&reader), ["A", "B1", "B2"]);
}

#[test]
fn writes_to_a_read_only_store_are_refused_and_write_nothing() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let writer = FileStore::open(dir.path()).expect("open");
    append_each(&writer, &["A"]);
    writer
        .save_snapshot(&Snapshot::new("s", 1, "00", b"{}".to_vec()))
        .expect("save snapshot");
    writer.save_checkpoint("p", 1).expect("save checkpoint");
    let reader = FileStore::open_read_only(dir.path()).expect("open read-only");
    let before = tree(dir.path());

    assert_refused(reader.append("s", ExpectedVersion::Exact(1), vec![event("B")]));
    assert_refused(reader.append("s", ExpectedVersion::Any, Vec::new()));
    let message = reader
        .append("t", ExpectedVersion::Any, vec![event("C")])
        .expect_err("refused")
        .to_string();
    assert!(message.contains("opened read-only"), "{message}");
    let snapshot = reader.save_snapshot(&Snapshot::new("s", 1, "00", b"{}".to_vec()));
    assert!(
        matches!(&snapshot, Err(SnapshotError::Unavailable { reason }) if reason == "opened read-only"),
        "got {snapshot:?}"
    );
    let checkpoint = reader.save_checkpoint("p", 2);
    assert!(
        matches!(&checkpoint, Err(CheckpointError::Unavailable { reason }) if reason == "opened read-only"),
        "got {checkpoint:?}"
    );

    assert_eq!(tree(dir.path()), before, "nothing written");
    assert_eq!(tags(&reader), ["A"]);
    assert_eq!(
        reader
            .load_snapshot("s")
            .expect("load")
            .map(|s| s.stream_version),
        Some(1)
    );
    assert_eq!(reader.load_checkpoint("p").expect("load"), Some(1));
    assert_eq!(writer.stream_version("s").expect("version"), 1);
}

#[test]
fn a_read_only_open_of_a_missing_directory_is_an_error() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let missing = dir.path().join("no-store-here");
    let result = FileStore::open_read_only(&missing);
    assert!(
        matches!(&result, Err(OpenError::Io { path, .. }) if *path == missing),
        "got {result:?}"
    );
    assert!(!missing.exists(), "a read-only open creates nothing");
}

#[test]
fn a_segment_cut_below_what_a_read_only_store_showed_is_an_error() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let writer = FileStore::open(dir.path()).expect("open");
    append_each(&writer, &["A"]);
    let segment = segment_path(dir.path(), 1);
    let first_end = file_len(&segment);
    append_each(&writer, &["B"]);
    let reader = FileStore::open_read_only(dir.path()).expect("open read-only");
    assert_eq!(tags(&reader), ["A", "B"]);
    drop(writer);
    // What the writer does after a write that failed part-way, had `B` been in that write.
    cut_file(&segment, first_end);
    let refreshed = reader.refresh();
    assert!(
        matches!(&refreshed, Err(es_core::ReadError::Corrupt { offset, damage: Damage::SegmentShrank { .. }, .. })
            if *offset == first_end),
        "got {refreshed:?}"
    );
    assert_eq!(
        tags(&FileStore::open_read_only(dir.path()).expect("reopen")),
        ["A"]
    );
}

#[test]
fn a_segment_cut_below_what_a_read_only_store_showed_and_grown_again_is_an_error() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let writer = FileStore::open(dir.path()).expect("open");
    append_each(&writer, &["A"]);
    let segment = segment_path(dir.path(), 1);
    let a_end = file_len(&segment);
    append_each(&writer, &["B"]);
    let reader = FileStore::open_read_only(dir.path()).expect("open read-only");
    assert_eq!(tags(&reader), ["A", "B"]);
    drop(writer);
    // The writer cuts `B` back (a failed write), then appends more than `B` took.
    cut_file(&segment, a_end);
    let writer = FileStore::open(dir.path()).expect("reopen");
    append_each(&writer, &["C", "D", "E"]);
    assert!(file_len(&segment) > a_end * 2, "the segment grew past `B`");
    let refreshed = reader.refresh();
    assert!(
        matches!(&refreshed, Err(es_core::ReadError::Corrupt { offset, damage: Damage::ReadEventReplaced { position: 2 }, .. })
            if *offset == a_end),
        "got {refreshed:?}"
    );
    assert_eq!(
        tags(&FileStore::open_read_only(dir.path()).expect("reopen read-only")),
        ["A", "C", "D", "E"]
    );
}

#[test]
fn damage_that_a_later_frame_vouches_for_stops_following_with_an_error() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let writer = FileStore::open(dir.path()).expect("open with synced appends");
    append_each(&writer, &["A"]);
    let reader = FileStore::open_read_only(dir.path()).expect("open read-only");
    let segment = segment_path(dir.path(), 1);
    let b_start = file_len(&segment);
    // `C` is written after `B` was synced, and its frame says so: damage in `B` is not a
    // write in progress.
    append_each(&writer, &["B", "C"]);
    drop(writer);
    let mut bytes = std::fs::read(&segment).expect("read segment");
    let b_middle = usize::try_from(b_start).expect("fits") + 90;
    bytes[b_middle] ^= 0x40;
    std::fs::write(&segment, &bytes).expect("damage B");

    let refreshed = reader.refresh();
    assert!(
        matches!(&refreshed, Err(es_core::ReadError::Corrupt { offset, segment, .. })
            if *offset == b_start && segment.ends_with("seg-0000000001.log")),
        "got {refreshed:?}"
    );
    assert_eq!(
        tags(&reader),
        ["A"],
        "nothing of the damaged growth is added"
    );
    assert!(reader.wait_for_append(1, PATIENCE).is_err());
}
