//! The last segment gets shorter while read-only scans run, for real: one thread appends,
//! tears the tail with `set_len` as a crash mid-write would, and reopens the store as its
//! owner, which cuts the torn tail; reader threads meanwhile loop over `open_read_only`,
//! `read_all`, `refresh` and `verify`. No call may panic, each either succeeds or returns an
//! error, and no acknowledged event may read back different, or go missing from a scan that
//! began after it was acknowledged.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use es_core::{Durability, EventStore, ExpectedVersion, FileStore, NewEvent, StoredEvent, Uuid};
use serde_json::json;

/// How long the cutting thread runs, at most.
const RUN_FOR: Duration = Duration::from_secs(3);
/// How many append-tear-reopen rounds it runs, at most.
const ROUNDS: u64 = 400;
/// Small segments, so some rounds start new segments.
const SEGMENT_SIZE: u64 = 64 * 1024;
const READERS: usize = 3;

/// What an event must read back as, wherever it is read.
#[derive(Debug, Clone, PartialEq)]
struct Expected {
    position: u64,
    stream_version: u64,
    payload: Vec<u8>,
    metadata: String,
}

impl Expected {
    fn of(event: &StoredEvent) -> Self {
        Self {
            position: event.position,
            stream_version: event.stream_version,
            payload: event.payload.clone(),
            metadata: event.metadata.as_str().to_owned(),
        }
    }
}

/// What the cutting thread wrote: acknowledged events, which must stay, and the events of
/// batches it tore on purpose (a crash before the append returned), which readers may have
/// seen whole before the cut.
#[derive(Default)]
struct Written {
    acknowledged: HashMap<Uuid, Expected>,
    torn: HashMap<Uuid, Expected>,
}

/// What the readers share with the cutting thread.
struct Shared {
    dir: PathBuf,
    written: Mutex<Written>,
    /// Every position up to this one holds an acknowledged event.
    acknowledged_through: AtomicU64,
    done: AtomicBool,
}

/// What one reader saw: each event by id, the errors it got, and what was wrong.
#[derive(Default)]
struct Seen {
    events: HashMap<Uuid, Expected>,
    calls: u64,
    errors: u64,
    problems: Vec<String>,
}

fn last_segment(dir: &Path) -> (PathBuf, u64) {
    let path = std::fs::read_dir(dir)
        .expect("read the store directory")
        .map(|entry| entry.expect("directory entry").path())
        .filter(|path| {
            // `seg-<number>.log`, not the `.cut-*` files that keep cut tails.
            path.extension().is_some_and(|e| e == "log")
                && path
                    .file_name()
                    .and_then(|n| n.to_str())
                    .is_some_and(|n| n.starts_with("seg-"))
        })
        .max()
        .expect("a segment");
    let len = std::fs::metadata(&path).expect("segment metadata").len();
    (path, len)
}

/// `len` events of about `pad` bytes each.
fn batch(round: u64, kind: &str, len: u64, pad: usize) -> Vec<NewEvent> {
    (0..len)
        .map(|i| {
            NewEvent::new(
                "Numbered",
                1,
                json!({ "round": round, "kind": kind, "i": i, "pad": "x".repeat(pad) }),
            )
            .with_metadata_json(format!(
                r#"{{"z": 123456789012345678901234567890, "round": {round}, "a": 1.10}}"#
            ))
            .expect("metadata")
        })
        .collect()
}

/// Appends `events` and returns what each must read back as.
fn append(store: &FileStore, events: Vec<NewEvent>) -> Vec<(Uuid, Expected)> {
    let parts: Vec<(Uuid, Vec<u8>, String)> = events
        .iter()
        .map(|e| (e.event_id(), e.payload().to_vec(), e.metadata().to_string()))
        .collect();
    let outcome = store
        .append("s", ExpectedVersion::Any, events)
        .expect("the owner appends");
    let first_version = outcome.stream_version + 1 - parts.len() as u64;
    parts
        .into_iter()
        .zip(0..)
        .map(|((id, payload, metadata), i)| {
            let expected = Expected {
                position: outcome.first_position + i,
                stream_version: first_version + i,
                payload,
                metadata,
            };
            (id, expected)
        })
        .collect()
}

/// The owner's part: append an acknowledged batch, append a batch and tear it, reopen (which
/// cuts the torn tail), round after round.
fn cut_rounds(shared: &Shared) -> u64 {
    let open = || {
        FileStore::options()
            .durability(Durability::None)
            .segment_size(SEGMENT_SIZE)
            .open(&shared.dir)
            .expect("the owner opens the store, cutting any torn tail")
    };
    let started = Instant::now();
    let mut rounds = 0;
    while rounds < ROUNDS && started.elapsed() < RUN_FOR {
        let store = open();
        let kept = append(&store, batch(rounds, "kept", 1 + rounds % 3, 40));
        let through = kept.last().map_or(0, |(_, e)| e.position);
        shared
            .written
            .lock()
            .expect("lock")
            .acknowledged
            .extend(kept);
        shared.acknowledged_through.store(through, Ordering::SeqCst);

        let (segment, before) = last_segment(&shared.dir);
        let torn = append(&store, batch(rounds, "torn", 1 + rounds % 3, 8000));
        drop(store);
        let (after_segment, after) = last_segment(&shared.dir);
        let mut written = shared.written.lock().expect("lock");
        if after_segment == segment && after > before + 1 {
            written.torn.extend(torn);
            drop(written);
            // A crash part-way through the batch: anywhere inside its bytes, or (every other
            // round) in its last frame's last bytes, which leaves a reader the longest search
            // for a frame after the torn one.
            let spread = if rounds % 2 == 0 {
                after - before - 1
            } else {
                (after - before - 1).min(64)
            };
            let offset = (rounds * 7919) % spread;
            let cut = if rounds % 2 == 0 {
                before + 1 + offset
            } else {
                after - 1 - offset
            };
            std::fs::File::options()
                .write(true)
                .open(&segment)
                .and_then(|f| f.set_len(cut))
                .expect("tear the last batch");
        } else {
            // It started a new segment: keep it whole, acknowledged.
            written.acknowledged.extend(torn);
            let through = written
                .acknowledged
                .values()
                .map(|e| e.position)
                .max()
                .unwrap_or(0);
            drop(written);
            shared.acknowledged_through.store(through, Ordering::SeqCst);
        }
        rounds += 1;
    }
    drop(open());
    rounds
}

/// One scan of `store`: every event it shows, checked for gaps and against what this reader
/// saw before. Returns whether it read to the end without an error.
fn scan(store: &FileStore, must_show: u64, seen: &mut Seen, what: &str) -> bool {
    seen.calls += 1;
    let events = match store.read_all(1) {
        Ok(events) => events,
        Err(error) => {
            seen.errors += 1;
            assert!(!error.to_string().is_empty());
            return false;
        }
    };
    let mut next = 1;
    for event in events {
        let event = match event {
            Ok(event) => event,
            Err(error) => {
                seen.errors += 1;
                assert!(!error.to_string().is_empty());
                return false;
            }
        };
        if event.position != next {
            seen.problems.push(format!(
                "{what}: position {} after {}",
                event.position,
                next - 1
            ));
        }
        next = event.position + 1;
        let expected = Expected::of(&event);
        if let Some(earlier) = seen.events.insert(event.event_id, expected.clone()) {
            if earlier != expected {
                seen.problems.push(format!(
                    "{what}: event {} read as {expected:?}, earlier as {earlier:?}",
                    event.event_id
                ));
            }
        }
    }
    if next - 1 < must_show {
        seen.problems.push(format!(
            "{what}: showed {} events, but {must_show} were acknowledged before it opened",
            next - 1
        ));
    }
    true
}

/// A reader's part: open read-only, scan, refresh, scan again; or verify. Until the owner is
/// done.
fn read_rounds(shared: &Shared, verify: bool) -> Seen {
    let mut seen = Seen::default();
    while !shared.done.load(Ordering::SeqCst) {
        let must_show = shared.acknowledged_through.load(Ordering::SeqCst);
        seen.calls += 1;
        if verify {
            match FileStore::verify(&shared.dir) {
                Ok(report) => {
                    // Frames torn or rewritten under it may show as damaged; none are lost.
                    if report.is_clean() && report.events < must_show {
                        seen.problems.push(format!(
                            "verify counted {} events, but {must_show} were acknowledged",
                            report.events
                        ));
                    }
                }
                Err(error) => {
                    seen.errors += 1;
                    assert!(!error.to_string().is_empty());
                }
            }
            continue;
        }
        let store = match FileStore::open_read_only(&shared.dir) {
            Ok(store) => store,
            Err(error) => {
                seen.errors += 1;
                assert!(!error.to_string().is_empty());
                continue;
            }
        };
        if !scan(&store, must_show, &mut seen, "a fresh read-only open") {
            continue;
        }
        let must_show = shared.acknowledged_through.load(Ordering::SeqCst);
        seen.calls += 1;
        match store.refresh() {
            Ok(_) => {
                scan(&store, must_show, &mut seen, "a scan after refresh");
            }
            Err(error) => {
                seen.errors += 1;
                assert!(!error.to_string().is_empty());
            }
        }
    }
    seen
}

#[test]
fn read_only_scans_while_the_owner_cuts_the_last_segment_never_panic_nor_change_an_acknowledged_event(
) {
    let dir = tempfile::tempdir().expect("temporary directory");
    let shared = Arc::new(Shared {
        dir: dir.path().to_path_buf(),
        written: Mutex::new(Written::default()),
        acknowledged_through: AtomicU64::new(0),
        done: AtomicBool::new(false),
    });
    // A store with a first segment before the readers start.
    drop(
        FileStore::options()
            .segment_size(SEGMENT_SIZE)
            .open(dir.path())
            .expect("create the store"),
    );
    let readers: Vec<_> = (0..READERS)
        .map(|i| {
            let shared = Arc::clone(&shared);
            thread::spawn(move || read_rounds(&shared, i == READERS - 1))
        })
        .collect();
    let owner = {
        let shared = Arc::clone(&shared);
        thread::spawn(move || {
            let rounds = cut_rounds(&shared);
            shared.done.store(true, Ordering::SeqCst);
            rounds
        })
    };
    let rounds = owner.join().unwrap_or_else(|_| {
        shared.done.store(true, Ordering::SeqCst);
        panic!("the owner panicked")
    });
    let seen: Vec<Seen> = readers
        .into_iter()
        .map(|reader| reader.join().expect("no reader call panics"))
        .collect();

    let written = shared.written.lock().expect("lock");
    let mut problems: Vec<String> = seen.iter().flat_map(|s| s.problems.clone()).collect();
    for (id, read) in seen.iter().flat_map(|s| &s.events) {
        match written
            .acknowledged
            .get(id)
            .or_else(|| written.torn.get(id))
        {
            Some(expected) if expected == read => {}
            Some(expected) => problems.push(format!(
                "event {id} read as {read:?}, written as {expected:?}"
            )),
            None => problems.push(format!("event {id} read as {read:?}, never written")),
        }
    }
    let last: Vec<StoredEvent> = FileStore::open_read_only(dir.path())
        .expect("open at the end")
        .read_all(1)
        .expect("read_all")
        .collect::<Result<_, _>>()
        .expect("every event reads at the end");
    let mut acknowledged: Vec<(&Uuid, &Expected)> = written.acknowledged.iter().collect();
    acknowledged.sort_by_key(|(_, e)| e.position);
    let at_the_end: Vec<(Uuid, Expected)> =
        last.iter().map(|e| (e.event_id, Expected::of(e))).collect();
    let acknowledged: Vec<(Uuid, Expected)> = acknowledged
        .into_iter()
        .map(|(id, e)| (*id, e.clone()))
        .collect();
    assert!(
        at_the_end == acknowledged,
        "the store ends with exactly the acknowledged events"
    );
    assert!(problems.is_empty(), "{}", problems.join("\n"));

    let calls: u64 = seen.iter().map(|s| s.calls).sum();
    let errors: u64 = seen.iter().map(|s| s.errors).sum();
    let (last, _) = last_segment(dir.path());
    eprintln!(
        "{rounds} rounds, {} acknowledged and {} torn events, up to {}; {calls} reader calls, {errors} of them clean errors",
        written.acknowledged.len(),
        written.torn.len(),
        last.display(),
    );
    assert!(rounds >= 20, "only {rounds} rounds ran");
    assert!(calls > rounds, "the readers ran alongside: {calls} calls");
}
