//! Hostile or changing files under the store: segments that shrink while they are read,
//! crafted headers, files that are not segments. Nothing may panic; every finding names the
//! segment and offset.

use std::io;
use std::path::Path;
use std::sync::Arc;

use serde_json::json;
use uuid::Uuid;

use super::damage::Damage;
use super::format::{encode_frame, segment_file_name, FrameFields, SegmentHeader};
use super::fs::{LogFile, WrapFile, WrappingFs};
use super::{Durability, FileStore, OpenError};
use crate::{EventStore, ExpectedVersion, NewEvent};

/// A file system whose files report a length `extra` bytes beyond their real end: what a
/// reader sees when the owner cuts the segment between the reader's length and its reads.
#[derive(Debug)]
struct ShrinkingFs {
    extra: u64,
}

#[derive(Debug)]
struct ShrunkFile {
    inner: Arc<dyn LogFile>,
    extra: u64,
}

impl WrapFile for ShrinkingFs {
    fn wrap(&self, file: Arc<dyn LogFile>) -> Arc<dyn LogFile> {
        Arc::new(ShrunkFile {
            inner: file,
            extra: self.extra,
        })
    }
}

impl LogFile for ShrunkFile {
    fn read_at(&self, buf: &mut [u8], offset: u64) -> io::Result<usize> {
        self.inner.read_at(buf, offset)
    }
    fn write_at(&self, buf: &[u8], offset: u64) -> io::Result<usize> {
        self.inner.write_at(buf, offset)
    }
    fn sync_data(&self) -> io::Result<()> {
        self.inner.sync_data()
    }
    fn set_len(&self, len: u64) -> io::Result<()> {
        self.inner.set_len(len)
    }
    fn len(&self) -> io::Result<u64> {
        Ok(self.inner.len()? + self.extra)
    }
}

fn store_with_events(dir: &Path, batches: usize) {
    let store = FileStore::options()
        .durability(Durability::None)
        .open(dir)
        .expect("open");
    for i in 0..batches {
        store
            .append(
                "s",
                ExpectedVersion::Any,
                vec![NewEvent::new("E", 1, json!({ "i": i }))],
            )
            .expect("append");
    }
}

#[test]
fn read_only_scan_of_a_segment_that_shrinks_while_it_is_read_does_not_panic() {
    let dir = tempfile::tempdir().expect("temporary directory");
    store_with_events(dir.path(), 3);
    for extra in [1, 75, 76, 77, 500, 100_000] {
        let store = FileStore::options()
            .file_system(Arc::new(WrappingFs(ShrinkingFs { extra })))
            .read_only()
            .open(dir.path())
            .expect("a read-only open of a shrinking segment");
        assert_eq!(store.head_position().expect("head"), 3, "extra {extra}");
        let tail = store
            .recovery()
            .torn_tail
            .as_ref()
            .expect("the missing bytes are a tail");
        assert_eq!(
            tail.bytes_removed, extra,
            "the bytes that are gone are the tail"
        );
        assert_eq!((tail.first_position, tail.last_position), (4, 4));
        assert!(!tail.possibly_acknowledged, "{tail:?}");
        assert_eq!(store.refresh().expect("refresh"), 3);
        assert_eq!(store.read_all(1).expect("read_all").count(), 3);
    }
}

/// A segment file whose header starts at `first_position`, holding one frame at `position`.
fn craft_segment(dir: &Path, first_position: u64, position: u64) {
    let mut bytes = SegmentHeader {
        number: 1,
        first_position,
    }
    .encode()
    .to_vec();
    encode_frame(
        &mut bytes,
        &FrameFields {
            position,
            stream_version: 1,
            committed_through: 0,
            event_id: Uuid::from_u128(7),
            recorded_at_nanos: 0,
            schema_version: 1,
            stream_id: "s",
            event_type: "E",
            metadata: b"",
            payload: b"{}",
            batch_end: true,
        },
    );
    std::fs::write(dir.join(segment_file_name(1)), bytes).expect("write the crafted segment");
}

#[test]
fn segment_header_whose_first_position_is_u64_max_is_reported_not_overflowed() {
    for position in [1, u64::MAX] {
        let dir = tempfile::tempdir().expect("temporary directory");
        craft_segment(dir.path(), u64::MAX, position);
        let report = FileStore::verify(dir.path()).expect("verify reads the crafted segment");
        assert!(!report.is_clean(), "position {position}: {report:?}");
        assert_eq!(
            report.damaged[0].damage,
            Damage::FirstPositionMismatch {
                expected: 1,
                found: u64::MAX
            },
            "position {position}"
        );
        let opened = FileStore::open_read_only(dir.path());
        assert!(
            matches!(opened, Err(OpenError::Corrupt { offset: 0, .. })),
            "position {position}: {opened:?}"
        );
        let opened = FileStore::open(dir.path());
        assert!(
            matches!(opened, Err(OpenError::Corrupt { offset: 0, .. })),
            "position {position}: {opened:?}"
        );
    }
}

#[test]
fn verify_of_a_directory_without_segments_says_it_is_not_a_store() {
    let dir = tempfile::tempdir().expect("temporary directory");
    std::fs::write(dir.path().join("hosts"), "127.0.0.1 localhost\n").expect("a file");
    let verified = FileStore::verify(dir.path());
    assert!(
        matches!(verified, Err(OpenError::NotAStore { .. })),
        "{verified:?}"
    );
    assert_eq!(
        std::fs::read_dir(dir.path()).expect("list").count(),
        1,
        "nothing created"
    );
}

/// Runs `f` on another thread, failing the test if it has not returned within 10 seconds.
fn within_seconds<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    let (send, receive) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = send.send(f());
    });
    receive
        .recv_timeout(std::time::Duration::from_secs(10))
        .expect("finished without hanging")
}

#[cfg(unix)]
#[test]
fn a_fifo_in_place_of_a_segment_is_an_error_not_a_hang() {
    let dir = tempfile::tempdir().expect("temporary directory");
    store_with_events(dir.path(), 1);
    let segment = dir.path().join(segment_file_name(1));
    std::fs::remove_file(&segment).expect("remove the segment");
    let made = std::process::Command::new("mkfifo")
        .arg(&segment)
        .status()
        .expect("run mkfifo");
    assert!(made.success());
    let path = dir.path().to_path_buf();
    let verified = within_seconds(move || FileStore::verify(&path).map(|_| ()));
    assert!(
        matches!(&verified, Err(OpenError::Io { path, .. }) if *path == segment),
        "{verified:?}"
    );
    let path = dir.path().to_path_buf();
    let opened = within_seconds(move || FileStore::open_read_only(&path).map(|_| ()));
    assert!(matches!(opened, Err(OpenError::Io { .. })), "{opened:?}");
    let path = dir.path().to_path_buf();
    let opened = within_seconds(move || FileStore::open(&path).map(|_| ()));
    assert!(matches!(opened, Err(OpenError::Io { .. })), "{opened:?}");
}

#[test]
fn a_deleted_middle_segment_is_reported_once_as_missing() {
    let dir = tempfile::tempdir().expect("temporary directory");
    {
        let store = FileStore::options()
            .durability(Durability::None)
            .segment_size(1)
            .open(dir.path())
            .expect("open");
        for i in 0..5 {
            store
                .append(
                    "s",
                    ExpectedVersion::Any,
                    vec![NewEvent::new("E", 1, json!({ "i": i }))],
                )
                .expect("append");
        }
    }
    std::fs::remove_file(dir.path().join(segment_file_name(2))).expect("delete segment 2");
    let report = FileStore::verify(dir.path()).expect("verify");
    let found: Vec<_> = report
        .damaged
        .iter()
        .map(|d| (d.segment.clone(), d.damage.clone()))
        .collect();
    assert_eq!(
        found,
        [(
            dir.path().join(segment_file_name(3)),
            Damage::SegmentMissing { number: 2 }
        )]
    );
    std::fs::remove_file(dir.path().join(segment_file_name(3))).expect("delete segment 3");
    let report = FileStore::verify(dir.path()).expect("verify");
    let found: Vec<_> = report.damaged.iter().map(|d| d.damage.clone()).collect();
    assert_eq!(found, [Damage::SegmentsMissing { first: 2, last: 3 }]);
    let opened = FileStore::open(dir.path());
    assert!(
        matches!(
            &opened,
            Err(OpenError::Corrupt {
                damage: Damage::SegmentsMissing { .. },
                ..
            })
        ),
        "{opened:?}"
    );
}

/// A metadata object whose key `k` holds arrays nested so that the whole object is `depth`
/// levels deep.
fn metadata_of_depth(depth: usize) -> serde_json::Map<String, serde_json::Value> {
    let mut value = json!(1);
    for _ in 1..depth {
        value = json!([value]);
    }
    let mut map = serde_json::Map::new();
    map.insert("k".to_owned(), value);
    map
}

#[test]
fn metadata_nested_deeper_than_every_read_path_parses_is_refused_and_the_rest_reads_back() {
    use crate::store::backend::MAX_METADATA_DEPTH;
    use crate::{AppendError, MemoryStore};

    let dir = tempfile::tempdir().expect("temporary directory");
    let file = FileStore::options()
        .durability(Durability::None)
        .open(dir.path())
        .expect("open");
    let memory = MemoryStore::new();
    let stores: [&dyn EventStore; 2] = [&file, &memory];
    for store in stores {
        let deepest = metadata_of_depth(MAX_METADATA_DEPTH);
        let accepted = NewEvent::new("E", 1, json!({})).with_metadata_map(deepest.clone());
        store
            .append("s", ExpectedVersion::NoStream, vec![accepted])
            .expect("metadata at the limit is accepted");
        let too_deep = NewEvent::new("E", 1, json!({}))
            .with_metadata_map(metadata_of_depth(MAX_METADATA_DEPTH + 1));
        let id = too_deep.event_id();
        let refused = store.append("s", ExpectedVersion::Exact(1), vec![too_deep]);
        assert!(
            matches!(refused, Err(AppendError::MetadataTooDeep { event_id, limit })
                if event_id == id && limit == MAX_METADATA_DEPTH),
            "{refused:?}"
        );
        let all: Vec<_> = store
            .read_all(1)
            .expect("read_all")
            .map(|e| e.expect("every accepted event reads back").metadata)
            .collect();
        assert_eq!(all, std::slice::from_ref(&deepest));
        let stream: Vec<_> = store
            .read_stream("s", 1)
            .expect("read_stream")
            .map(|e| e.expect("every accepted event reads back").metadata)
            .collect();
        assert_eq!(stream, [deepest]);
    }
    drop(file);
    let report = FileStore::verify(dir.path()).expect("verify");
    assert!(report.is_clean() && report.events == 1, "{report:?}");
}

#[test]
fn metadata_at_the_depth_limit_parses_inside_two_more_envelopes() {
    use crate::store::backend::MAX_METADATA_DEPTH;
    let mut value = serde_json::Value::Object(metadata_of_depth(MAX_METADATA_DEPTH));
    for _ in 0..2 {
        value = json!({ "envelope": value });
    }
    let text = value.to_string();
    let parsed: serde_json::Value =
        serde_json::from_str(&text).expect("parses with serde_json's limit");
    assert_eq!(parsed, value);
}

/// A store holding a batch of one event, then the last batch, of two events; returns the
/// segment's bytes and where the last batch starts.
fn store_with_last_batch(dir: &Path) -> (Vec<u8>, u64) {
    let store = FileStore::open(dir).expect("open");
    store
        .append(
            "s",
            ExpectedVersion::NoStream,
            vec![NewEvent::new("A", 1, json!({}))],
        )
        .expect("first batch");
    let start = std::fs::metadata(dir.join(segment_file_name(1)))
        .expect("segment")
        .len();
    store
        .append(
            "s",
            ExpectedVersion::Exact(1),
            vec![
                NewEvent::new("B", 1, json!({ "n": 1 })),
                NewEvent::new("B", 1, json!({ "n": 2 })),
            ],
        )
        .expect("the last batch is acknowledged");
    drop(store);
    let bytes = std::fs::read(dir.join(segment_file_name(1))).expect("read the segment");
    (bytes, start)
}

#[test]
fn a_damaged_last_batch_is_reported_as_possibly_acknowledged_and_its_bytes_are_kept() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let (mut bytes, start) = store_with_last_batch(dir.path());
    let segment = dir.path().join(segment_file_name(1));
    let last = bytes.len() - 2;
    bytes[last] ^= 0x20;
    std::fs::write(&segment, &bytes).expect("flip a byte of the last frame");

    let report = FileStore::verify(dir.path()).expect("verify");
    let tail = report
        .torn_tail
        .clone()
        .expect("the last batch is a torn tail");
    assert!(report.is_clean() && !report.is_intact(), "{report:?}");
    assert_eq!(
        (tail.offset, tail.first_position, tail.last_position),
        (start, 2, 3)
    );
    assert!(tail.possibly_acknowledged, "{tail:?}");
    assert_eq!(tail.quarantine, None, "verify cuts nothing");

    let reader = FileStore::open_read_only(dir.path()).expect("read-only open");
    assert_eq!(
        reader
            .recovery()
            .torn_tail
            .as_ref()
            .and_then(|t| t.quarantine.clone()),
        None
    );
    drop(reader);
    assert_eq!(
        std::fs::read(&segment).expect("segment"),
        bytes,
        "nothing cut yet"
    );

    let store = FileStore::open(dir.path()).expect("open cuts the tail");
    let tail = store.recovery().torn_tail.clone().expect("reported");
    let kept = tail.quarantine.clone().expect("the cut bytes are kept");
    assert_eq!(
        kept,
        dir.path()
            .join(format!("{}.cut-{start}-1", segment_file_name(1)))
    );
    let start_usize = usize::try_from(start).expect("small");
    assert_eq!(
        std::fs::read(&kept).expect("quarantine file"),
        &bytes[start_usize..]
    );
    assert_eq!(tail.bytes_removed, (bytes.len() - start_usize) as u64);
    assert_eq!(store.head_position().expect("head"), 1);
    drop(store);
    let store = FileStore::open(dir.path()).expect("reopen");
    assert_eq!(store.recovery().torn_tail, None);
    assert!(kept.exists(), "a later open keeps the quarantine file");
}

#[test]
fn a_last_batch_cut_short_is_unacknowledged_and_a_second_cut_gets_its_own_file() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let (bytes, start) = store_with_last_batch(dir.path());
    let segment = dir.path().join(segment_file_name(1));
    let start_usize = usize::try_from(start).expect("small");
    for (n, cut) in [(1, bytes.len() - 3), (2, start_usize + 100)] {
        std::fs::write(&segment, &bytes[..cut]).expect("cut the segment short");
        let store = FileStore::open(dir.path()).expect("open");
        let tail = store.recovery().torn_tail.clone().expect("a torn tail");
        assert!(!tail.possibly_acknowledged, "cut at {cut}: {tail:?}");
        assert_eq!(tail.first_position, 2);
        let kept = tail.quarantine.expect("kept");
        assert_eq!(
            kept,
            dir.path()
                .join(format!("{}.cut-{start}-{n}", segment_file_name(1)))
        );
        assert_eq!(
            std::fs::read(&kept).expect("quarantine"),
            &bytes[start_usize..cut]
        );
    }
}
