//! Recovery of the file store: torn tails are cut at every possible byte, damage before the
//! tail is found and named (segment file and offset), `verify` lists every damaged frame
//! without modifying anything, and a second open of a directory in the same process is
//! refused (across processes: `file_store_process_lock.rs`).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use es_core::store::backend::MAX_PAYLOAD_BYTES;
use es_core::{Durability, OpenError};
use es_core::{EventStore, ExpectedVersion, FileStore, NewEvent};
use serde_json::json;

fn segment_name(number: u64) -> String {
    format!("seg-{number:010}.log")
}

fn segment_path(dir: &Path, number: u64) -> PathBuf {
    dir.join(segment_name(number))
}

fn open_unsynced(dir: &Path) -> FileStore {
    FileStore::options()
        .durability(Durability::None)
        .open(dir)
        .expect("open store")
}

fn event(tag: &str) -> NewEvent {
    NewEvent::new(tag, 1, json!({ "tag": tag, "pad": "abcdefghij" }))
        .with_metadata("source", json!("recovery-test"))
}

fn tags(store: &FileStore) -> Vec<String> {
    store
        .read_all(1)
        .expect("read_all")
        .map(|e| e.expect("every visible event reads back").event_type)
        .collect()
}

fn file_len(path: &Path) -> u64 {
    std::fs::metadata(path).expect("segment metadata").len()
}

/// Every file of a store directory (segments, snapshots, checkpoints) with its content; the
/// lock file, which an open creates when it is missing, is left out.
fn directory_contents(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(next) = pending.pop() {
        for entry in std::fs::read_dir(&next).expect("read directory") {
            let path = entry.expect("directory entry").path();
            if path.is_dir() {
                pending.push(path);
            } else if !path.ends_with("LOCK") {
                let bytes = std::fs::read(&path).expect("read file");
                out.insert(path, bytes);
            }
        }
    }
    out
}

/// Replaces the segment files of `scratch` with `segments` (number, bytes).
fn install_segments(scratch: &Path, segments: &[(u64, &[u8])]) {
    for entry in std::fs::read_dir(scratch).expect("read scratch") {
        let path = entry.expect("entry").path();
        if path.extension().is_some_and(|e| e == "log") {
            std::fs::remove_file(path).expect("remove old segment");
        }
    }
    for (number, bytes) in segments {
        std::fs::write(segment_path(scratch, *number), bytes).expect("write segment");
    }
}

/// A log of `batches` (each a list of tags), one append per batch, and the length of the only
/// segment after each append.
fn single_segment_log(dir: &Path, batches: &[&[&str]]) -> (Vec<u8>, Vec<u64>) {
    let store = open_unsynced(dir);
    let segment = segment_path(dir, 1);
    let mut ends = vec![file_len(&segment)];
    for batch in batches {
        store
            .append(
                "s",
                ExpectedVersion::Any,
                batch.iter().map(|t| event(t)).collect(),
            )
            .expect("append");
        ends.push(file_len(&segment));
    }
    drop(store);
    (std::fs::read(&segment).expect("read segment"), ends)
}

fn assert_cut_recovers(scratch: &Path, bytes: &[u8], cut: u64, keep: u64, expected: &[&str]) {
    let cut_len = usize::try_from(cut).expect("cut fits");
    install_segments(scratch, &[(1, &bytes[..cut_len])]);
    let store = open_unsynced(scratch);
    assert_eq!(tags(&store), expected, "cut at {cut}");
    let report = store.recovery();
    if cut == keep {
        assert_eq!(
            report.torn_tail, None,
            "a cut at a batch end is a clean log"
        );
    } else {
        let tail = report
            .torn_tail
            .as_ref()
            .unwrap_or_else(|| panic!("cut at {cut}: a torn tail"));
        assert_eq!(
            (tail.offset, tail.bytes_removed),
            (keep, cut - keep),
            "cut at {cut}"
        );
        assert!(tail.segment.ends_with(segment_name(1)));
    }
    assert_eq!(file_len(&segment_path(scratch, 1)), keep, "cut at {cut}");
    store
        .append("s", ExpectedVersion::Any, vec![event("after")])
        .expect("the recovered store takes appends");
    drop(store);
    let reopened = open_unsynced(scratch);
    assert_eq!(reopened.recovery().torn_tail, None);
    assert_eq!(tags(&reopened).last().map(String::as_str), Some("after"));
}

/// Cuts the log of `batches` at every offset inside its last batch; each cut must recover
/// to the batches before it. Returns how many offsets were tried.
fn cut_inside_the_last_batch(batches: &[&[&str]]) -> u64 {
    let dir = tempfile::tempdir().expect("temporary directory");
    let scratch = tempfile::tempdir().expect("temporary directory");
    let (bytes, ends) = single_segment_log(dir.path(), batches);
    let (start, end) = (ends[ends.len() - 2], ends[ends.len() - 1]);
    let before: Vec<&str> = batches[..batches.len() - 1].concat();
    for cut in start..end {
        assert_cut_recovers(scratch.path(), &bytes, cut, start, &before);
    }
    end - start
}

#[test]
fn truncating_the_last_frame_at_every_offset_recovers_the_frame_before_it() {
    let tried = cut_inside_the_last_batch(&[&["A"], &["B"], &["C"]]);
    println!(
        "truncation: {tried} offsets in the last frame tried, each recovered to the frame before it"
    );
}

#[test]
fn truncating_a_last_batch_anywhere_removes_the_whole_batch() {
    let tried = cut_inside_the_last_batch(&[&["A"], &["B1", "B2", "B3"]]);
    println!("truncation: {tried} offsets in a 3-event last batch tried");
}

#[test]
fn a_byte_flipped_anywhere_in_a_frame_before_the_tail_is_detected_and_named() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let scratch = tempfile::tempdir().expect("temporary directory");
    let (bytes, ends) = single_segment_log(dir.path(), &[&["A"], &["B"], &["C"], &["D"]]);
    let (start, end) = (ends[1], ends[2]);
    let mut detected = 0;
    for at in start..end {
        let mut damaged = bytes.clone();
        damaged[usize::try_from(at).expect("offset fits")] ^= 0xff;
        install_segments(scratch.path(), &[(1, &damaged)]);
        let before = directory_contents(scratch.path());
        match FileStore::open(scratch.path()) {
            Err(OpenError::Corrupt {
                segment, offset, ..
            }) => {
                assert!(segment.ends_with(segment_name(1)), "flip at {at}");
                assert_eq!(offset, start, "flip at {at}: the damaged frame's offset");
            }
            other => panic!("flip at {at}: expected corruption, got {other:?}"),
        }
        let report = FileStore::verify(scratch.path()).expect("verify");
        assert_eq!(report.damaged.len(), 1, "flip at {at}: {report:?}");
        assert_eq!(report.damaged[0].offset, start);
        assert_eq!(
            directory_contents(scratch.path()),
            before,
            "flip at {at}: open and verify modify nothing"
        );
        detected += 1;
    }
    println!(
        "flips: {detected} of {} bytes of the second frame flipped, all detected at offset {start}",
        end - start
    );
}

#[test]
fn damage_in_an_earlier_segment_is_named() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let store = FileStore::options()
        .durability(Durability::None)
        .segment_size(1024)
        .open(dir.path())
        .expect("open");
    let mut first_segment_ends = Vec::new();
    for i in 0..40 {
        store
            .append(
                &format!("s{}", i % 3),
                ExpectedVersion::Any,
                vec![event("E")],
            )
            .expect("append");
        if !segment_path(dir.path(), 2).exists() {
            first_segment_ends.push(file_len(&segment_path(dir.path(), 1)));
        }
    }
    drop(store);
    assert!(
        segment_path(dir.path(), 3).exists(),
        "the log spans several segments"
    );
    let original = std::fs::read(segment_path(dir.path(), 1)).expect("read");
    let scratch = tempfile::tempdir().expect("temporary directory");
    let copy_rest = |scratch: &Path| {
        for entry in std::fs::read_dir(dir.path()).expect("read dir") {
            let path = entry.expect("entry").path();
            if path.extension().is_some_and(|e| e == "log") {
                let name = path.file_name().expect("name");
                std::fs::copy(&path, scratch.join(name)).expect("copy segment");
            }
        }
    };

    // A flipped byte in the first segment's second frame.
    copy_rest(scratch.path());
    let mut flipped = original.clone();
    let frame = usize::try_from(first_segment_ends[0]).expect("fits");
    flipped[frame + 3] ^= 0x01;
    std::fs::write(segment_path(scratch.path(), 1), &flipped).expect("write");
    let error = FileStore::open(scratch.path()).expect_err("damage is an error");
    assert!(
        matches!(&error, OpenError::Corrupt { segment, offset, .. }
            if segment.ends_with(segment_name(1)) && *offset == first_segment_ends[0]),
        "got {error}"
    );
    println!("earlier segment, flipped byte: {error}");

    // The first segment cut inside a frame, and cut at a frame boundary (its last batch lost).
    let mid_frame = first_segment_ends[2] + 10;
    let boundary = first_segment_ends[2];
    for (cut, offset) in [(mid_frame, boundary), (boundary, boundary)] {
        copy_rest(scratch.path());
        std::fs::write(
            segment_path(scratch.path(), 1),
            &original[..usize::try_from(cut).expect("fits")],
        )
        .expect("write");
        let before = directory_contents(scratch.path());
        let error = FileStore::open(scratch.path()).expect_err("a short segment is an error");
        assert!(
            matches!(&error, OpenError::Corrupt { segment, offset: at, .. }
                if segment.ends_with(segment_name(1)) && *at == offset),
            "cut at {cut}: got {error}"
        );
        println!("earlier segment cut at {cut}: {error}");
        let report = FileStore::verify(scratch.path()).expect("verify");
        assert!(!report.is_clean(), "{report:?}");
        assert!(report.damaged[0].segment.ends_with(segment_name(1)));
        assert_eq!(
            directory_contents(scratch.path()),
            before,
            "nothing modified"
        );
    }

    // A missing middle segment.
    copy_rest(scratch.path());
    std::fs::remove_file(segment_path(scratch.path(), 2)).expect("remove");
    let error = FileStore::open(scratch.path()).expect_err("a missing segment is an error");
    assert!(matches!(error, OpenError::Corrupt { .. }), "got {error}");
    println!("missing segment: {error}");
}

#[test]
fn verify_lists_every_damaged_frame_without_modifying_anything() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let batches: Vec<[&str; 1]> = (0..10).map(|_| ["E"]).collect();
    let batch_refs: Vec<&[&str]> = batches.iter().map(|b| &b[..]).collect();
    let (bytes, ends) = single_segment_log(dir.path(), &batch_refs);
    let mut damaged = bytes.clone();
    let targets = [ends[1], ends[4], ends[7]];
    for (k, start) in targets.iter().enumerate() {
        // One flip in a header, one in a length field, one in a payload.
        let within = [5, 61, 90][k];
        damaged[usize::try_from(start + within).expect("fits")] ^= 0x20;
    }
    std::fs::write(segment_path(dir.path(), 1), &damaged).expect("write");
    let before = directory_contents(dir.path());
    let report = FileStore::verify(dir.path()).expect("verify");
    let offsets: Vec<u64> = report.damaged.iter().map(|d| d.offset).collect();
    assert_eq!(offsets, targets, "{report:#?}");
    assert_eq!(report.events, 7, "the intact events are counted");
    assert_eq!(report.torn_tail, None);
    assert_eq!(directory_contents(dir.path()), before);
    for damage in &report.damaged {
        println!(
            "verify: {} at {}: {}",
            damage.segment.display(),
            damage.offset,
            damage.damage
        );
    }
}

#[test]
fn largest_payload_round_trips() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let text = "y".repeat(MAX_PAYLOAD_BYTES - 2);
    let big = NewEvent::new("Big", 1, json!(text));
    assert_eq!(big.payload().len(), MAX_PAYLOAD_BYTES);
    let payload = big.payload().to_vec();
    {
        let store = FileStore::open(dir.path()).expect("open");
        store
            .append("big", ExpectedVersion::NoStream, vec![event("small"), big])
            .expect("a payload of exactly the limit is stored");
        let read = store
            .read_stream("big", 2)
            .expect("read")
            .next()
            .expect("one event")
            .expect("reads back");
        assert!(
            read.payload == payload,
            "the 16 MiB payload reads back intact"
        );
    }
    let store = FileStore::open(dir.path()).expect("reopen");
    let all: Vec<_> = store
        .read_all(1)
        .expect("read_all")
        .collect::<Result<_, _>>()
        .expect("reads back");
    assert_eq!(all.len(), 2);
    assert!(all[1].payload == payload, "intact after reopening as well");
    assert!(FileStore::verify(dir.path()).expect("verify").is_clean());
}

#[test]
fn a_log_of_many_segments_reopens_and_reads_in_order() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let mut expected = Vec::new();
    {
        let store = FileStore::options()
            .durability(Durability::None)
            .segment_size(4096)
            .open(dir.path())
            .expect("open");
        for i in 0..60_u64 {
            let batch: Vec<NewEvent> = (0..=(i % 4)).map(|_| event(&format!("E{i}"))).collect();
            expected.extend(batch.iter().map(NewEvent::event_id));
            store
                .append(&format!("s{}", i % 5), ExpectedVersion::Any, batch)
                .expect("append");
        }
    }
    let store = open_unsynced(dir.path());
    assert!(store.recovery().segments > 3, "{:?}", store.recovery());
    let ids: Vec<_> = store
        .read_all(1)
        .expect("read_all")
        .map(|e| e.expect("reads").event_id)
        .collect();
    assert_eq!(ids, expected);
    assert_eq!(store.recovery().events, expected.len() as u64);
    let versions: Vec<u64> = store
        .read_stream("s3", 1)
        .expect("read_stream")
        .map(|e| e.expect("reads").stream_version)
        .collect();
    assert_eq!(versions, (1..=versions.len() as u64).collect::<Vec<_>>());
}

#[test]
fn a_newer_format_version_is_refused() {
    let dir = tempfile::tempdir().expect("temporary directory");
    drop(FileStore::open(dir.path()).expect("open"));
    let path = segment_path(dir.path(), 1);
    let mut bytes = std::fs::read(&path).expect("read");
    bytes[8] = 2;
    let crc = crc32c::crc32c(&bytes[..36]);
    bytes[36..40].copy_from_slice(&crc.to_le_bytes());
    std::fs::write(&path, &bytes).expect("write");
    let error = FileStore::open(dir.path()).expect_err("refused");
    assert!(
        matches!(
            error,
            OpenError::UnsupportedVersion {
                found: 2,
                supported: 1,
                ..
            }
        ),
        "got {error}"
    );
}

#[test]
fn a_second_open_in_the_same_process_is_locked_and_writes_nothing() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let store = FileStore::open(dir.path()).expect("open");
    store
        .append("s", ExpectedVersion::Any, vec![event("A")])
        .expect("append");
    let before = directory_contents(dir.path());
    let second = FileStore::open(dir.path());
    assert!(
        matches!(&second, Err(OpenError::Locked { dir: locked }) if locked == dir.path()),
        "got {second:?}"
    );
    let message = second.expect_err("locked").to_string();
    assert!(message.contains("already open"), "{message}");
    assert_eq!(directory_contents(dir.path()), before);
    drop(store);
    let reopened = FileStore::open(dir.path()).expect("the lock is released with the store");
    assert_eq!(tags(&reopened), ["A"]);
}

#[test]
fn verify_of_a_missing_directory_is_an_error() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let missing = dir.path().join("no-store-here");
    let result = FileStore::verify(&missing);
    assert!(
        matches!(&result, Err(OpenError::Io { path, .. }) if *path == missing),
        "got {result:?}"
    );
    assert!(!missing.exists(), "verify creates nothing");
}
