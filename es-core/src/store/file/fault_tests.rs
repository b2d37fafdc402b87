//! Fault injection through the storage seam: writes that fail or tear, syncs that fail, and
//! a cut-off that cannot be undone. The store must report the failure, keep every
//! acknowledged event, never acknowledge a failed one, stop writing after a failed sync (no
//! retry that could report lost data as durable) and recover on reopen.

use std::io;
use std::path::Path;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use serde_json::json;

use super::fs::{LogFile, WrapFile, WrappingFs};
use super::{Durability, FileStore};
use crate::AppendOutcome;
use crate::{AppendError, EventStore, ExpectedVersion, NewEvent};
use crate::{Snapshot, SnapshotStore};

/// Which upcoming operations fail; shared by the file system and every file it opened.
#[derive(Debug, Default)]
struct Faults {
    /// Upcoming writes that fail before writing anything.
    failing_writes: AtomicU32,
    /// Upcoming writes that write half their bytes, then fail (a disk that fills up).
    tearing_writes: AtomicU32,
    /// Upcoming syncs that fail.
    failing_syncs: AtomicU32,
    /// Upcoming truncations that fail.
    failing_truncations: AtomicU32,
    /// Syncs that reached the disk.
    syncs: AtomicU64,
    /// Sync attempts, failed ones included.
    sync_attempts: AtomicU64,
    /// How long each sync takes, in microseconds (a slow disk).
    sync_delay_micros: AtomicU64,
}

/// Uses up one of `counter`'s injected faults, if any is left.
fn take(counter: &AtomicU32) -> bool {
    counter
        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
        .is_ok()
}

fn injected(what: &str) -> io::Error {
    io::Error::other(format!("injected {what} failure"))
}

#[derive(Debug, Default)]
struct FaultyFs {
    faults: Arc<Faults>,
}

#[derive(Debug)]
struct FaultyFile {
    inner: Arc<dyn LogFile>,
    faults: Arc<Faults>,
}

impl WrapFile for FaultyFs {
    fn wrap(&self, file: Arc<dyn LogFile>) -> Arc<dyn LogFile> {
        Arc::new(FaultyFile {
            inner: file,
            faults: Arc::clone(&self.faults),
        })
    }
}

impl LogFile for FaultyFile {
    fn read_at(&self, buf: &mut [u8], offset: u64) -> io::Result<usize> {
        self.inner.read_at(buf, offset)
    }
    fn write_at(&self, buf: &[u8], offset: u64) -> io::Result<usize> {
        if take(&self.faults.failing_writes) {
            return Err(injected("write"));
        }
        if take(&self.faults.tearing_writes) {
            self.inner.write_at(&buf[..buf.len() / 2], offset)?;
            return Err(io::Error::new(
                io::ErrorKind::StorageFull,
                "injected torn write",
            ));
        }
        self.inner.write_at(buf, offset)
    }
    fn sync_data(&self) -> io::Result<()> {
        self.faults.sync_attempts.fetch_add(1, Ordering::SeqCst);
        if take(&self.faults.failing_syncs) {
            return Err(injected("sync"));
        }
        let delay = self.faults.sync_delay_micros.load(Ordering::SeqCst);
        if delay > 0 {
            std::thread::sleep(Duration::from_micros(delay));
        }
        self.inner.sync_data()?;
        self.faults.syncs.fetch_add(1, Ordering::SeqCst);
        Ok(())
    }
    fn set_len(&self, len: u64) -> io::Result<()> {
        if take(&self.faults.failing_truncations) {
            return Err(injected("truncate"));
        }
        self.inner.set_len(len)
    }
    fn len(&self) -> io::Result<u64> {
        self.inner.len()
    }
}

fn open_faulty(dir: &Path) -> (FileStore, Arc<Faults>) {
    let fs = FaultyFs::default();
    let faults = Arc::clone(&fs.faults);
    let store = FileStore::options()
        .file_system(Arc::new(WrappingFs(fs)))
        .open(dir)
        .expect("open through the faulty seam");
    (store, faults)
}

fn batch(tag: &str, n: usize) -> Vec<NewEvent> {
    (0..n)
        .map(|i| NewEvent::new(tag, 1, json!({ "i": i, "pad": "x".repeat(100) })))
        .collect()
}

/// Every event type in the store, in log order.
fn tags(store: &FileStore) -> Vec<String> {
    store
        .read_all(1)
        .expect("read_all")
        .map(|e| e.expect("every stored event reads back").event_type)
        .collect()
}

/// A store over the faulty seam in a new directory, holding one batch of `n` events `A`.
fn faulty_store_holding_a(n: usize) -> (tempfile::TempDir, FileStore, Arc<Faults>) {
    let dir = tempfile::tempdir().expect("temporary directory");
    let (store, faults) = open_faulty(dir.path());
    store
        .append("s", ExpectedVersion::NoStream, batch("A", n))
        .expect("first append");
    (dir, store, faults)
}

fn assert_io_error(result: &Result<AppendOutcome, AppendError>) {
    assert!(matches!(result, Err(AppendError::Io(_))), "got {result:?}");
}

fn reopen_and_check(dir: &Path, expected: &[&str]) -> FileStore {
    let report = FileStore::verify(dir).expect("verify");
    assert!(report.is_clean(), "no damage: {report:?}");
    let store = FileStore::open(dir).expect("reopen with the real file system");
    assert_eq!(tags(&store), expected);
    store
}

#[test]
fn failed_write_is_reported_and_the_store_carries_on() {
    let (dir, store, faults) = faulty_store_holding_a(2);
    faults.failing_writes.store(1, Ordering::SeqCst);
    let failed = store.append("s", ExpectedVersion::Exact(2), batch("B", 2));
    assert_io_error(&failed);
    assert_eq!(store.stream_version("s").expect("version"), 2);
    store
        .append("s", ExpectedVersion::Exact(2), batch("C", 1))
        .expect("the store accepts appends after a failed write");
    assert_eq!(tags(&store), ["A", "A", "C"]);
    drop(store);
    let store = reopen_and_check(dir.path(), &["A", "A", "C"]);
    assert_eq!(store.recovery().torn_tail, None);
}

#[test]
fn torn_write_is_cut_off_before_the_next_append() {
    let (dir, store, faults) = faulty_store_holding_a(1);
    faults.tearing_writes.store(1, Ordering::SeqCst);
    let failed = store.append("s", ExpectedVersion::Any, batch("B", 5));
    assert_io_error(&failed);
    store
        .append("s", ExpectedVersion::Any, batch("C", 1))
        .expect("append after a torn write");
    drop(store);
    let store = reopen_and_check(dir.path(), &["A", "C"]);
    assert_eq!(
        store.recovery().torn_tail,
        None,
        "the torn bytes were cut at once"
    );
}

#[test]
fn torn_write_that_cannot_be_undone_stops_writes_and_reopening_recovers() {
    let (dir, store, faults) = faulty_store_holding_a(1);
    faults.tearing_writes.store(1, Ordering::SeqCst);
    faults.failing_truncations.store(1, Ordering::SeqCst);
    let failed = store.append("s", ExpectedVersion::Any, batch("B", 5));
    assert_io_error(&failed);
    let refused = store.append("s", ExpectedVersion::Any, batch("C", 1));
    assert!(
        matches!(refused, Err(AppendError::Unavailable { .. })),
        "got {refused:?}"
    );
    assert_eq!(tags(&store), ["A"], "reads still work");
    drop(store);
    let report = FileStore::verify(dir.path()).expect("verify");
    assert!(
        report.torn_tail.is_some(),
        "the half-written batch is a torn tail: {report:?}"
    );
    let store = FileStore::open(dir.path()).expect("reopen");
    assert!(store.recovery().torn_tail.is_some());
    assert_eq!(tags(&store), ["A"]);
    store
        .append("s", ExpectedVersion::Exact(1), batch("D", 1))
        .expect("append after recovery");
}

#[test]
fn failed_sync_stops_writes_until_reopened_without_retrying() {
    let (dir, store, faults) = faulty_store_holding_a(1);
    faults.failing_syncs.store(1, Ordering::SeqCst);
    let failed = store.append("s", ExpectedVersion::Exact(1), batch("B", 1));
    assert_io_error(&failed);
    let attempts = faults.sync_attempts.load(Ordering::SeqCst);
    for _ in 0..3 {
        let refused = store.append("s", ExpectedVersion::Any, batch("C", 1));
        assert!(
            matches!(&refused, Err(AppendError::Unavailable { reason }) if reason.contains("fsync")),
            "got {refused:?}"
        );
    }
    assert_eq!(
        faults.sync_attempts.load(Ordering::SeqCst),
        attempts,
        "no sync is retried after a failed one"
    );
    assert_eq!(tags(&store), ["A"], "the unsynced batch is not visible");
    drop(store);

    // What reached the disk decides whether B is there; A, acknowledged, must be.
    let store = FileStore::open(dir.path()).expect("reopen");
    let after = tags(&store);
    assert!(
        after == ["A"] || after == ["A", "B"],
        "acknowledged events survive, nothing else appears: {after:?}"
    );
    store
        .append("s", ExpectedVersion::Any, batch("D", 1))
        .expect("append after reopening");
}

#[test]
fn concurrent_appends_share_one_sync() {
    const THREADS: usize = 8;
    const PER_THREAD: usize = 20;
    let dir = tempfile::tempdir().expect("temporary directory");
    let (store, faults) = open_faulty(dir.path());
    faults.sync_delay_micros.store(2_000, Ordering::SeqCst);
    let before = faults.syncs.load(Ordering::SeqCst);
    std::thread::scope(|scope| {
        for t in 0..THREADS {
            let store = &store;
            scope.spawn(move || {
                for _ in 0..PER_THREAD {
                    store
                        .append(&format!("t{t}"), ExpectedVersion::Any, batch("E", 1))
                        .expect("append");
                }
            });
        }
    });
    let syncs = faults.syncs.load(Ordering::SeqCst) - before;
    let appends = (THREADS * PER_THREAD) as u64;
    println!("{appends} synced appends from {THREADS} threads took {syncs} syncs");
    assert!(
        syncs * 2 <= appends,
        "group commit: {syncs} syncs for {appends} appends"
    );
    assert_eq!(store.head_position().expect("head"), appends);
    for t in 0..THREADS {
        assert_eq!(
            store.stream_version(&format!("t{t}")).expect("version"),
            PER_THREAD as u64
        );
    }
}

#[test]
fn failed_snapshot_sync_keeps_the_previous_snapshot() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let (store, faults) = open_faulty(dir.path());
    store
        .save_snapshot(&Snapshot::new("s", 1, "fp", b"{\"v\":1}".to_vec()))
        .expect("save");
    faults.failing_syncs.store(1, Ordering::SeqCst);
    assert!(store
        .save_snapshot(&Snapshot::new("s", 2, "fp", b"{\"v\":2}".to_vec()))
        .is_err());
    let kept = store.load_snapshot("s").expect("load").expect("kept");
    assert_eq!(kept.stream_version, 1);
    let leftovers = std::fs::read_dir(dir.path().join("snapshots"))
        .expect("snapshot directory")
        .count();
    assert_eq!(leftovers, 1, "the temporary file was removed");
    store
        .append("s", ExpectedVersion::Any, batch("A", 1))
        .expect("a failed snapshot does not stop the log");
}

#[test]
fn flush_mode_syncs_in_the_background() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let fs = FaultyFs::default();
    let faults = Arc::clone(&fs.faults);
    let store = FileStore::options()
        .file_system(Arc::new(WrappingFs(fs)))
        .durability(Durability::Flush {
            every: Duration::from_millis(5),
        })
        .open(dir.path())
        .expect("open");
    let before = faults.syncs.load(Ordering::SeqCst);
    for _ in 0..20 {
        store
            .append("s", ExpectedVersion::Any, batch("F", 1))
            .expect("append");
    }
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while faults.syncs.load(Ordering::SeqCst) == before && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(1));
    }
    assert!(
        faults.syncs.load(Ordering::SeqCst) > before,
        "the background thread synced"
    );
    drop(store);
    reopen_and_check(dir.path(), &["F"; 20]);
}
