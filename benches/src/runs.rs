//! The measurements, each beside its peer, in the order the table prints them.

use std::fs::OpenOptions;
use std::os::unix::fs::FileExt;
use std::path::Path;
use std::sync::{Barrier, Mutex};
use std::time::Duration;

use es_core::Durability;
use es_core::{EventStore, ExpectedVersion, FileStore, NewEvent, Repository};

use crate::domain::{new_event, Generation, ShopTotals};
use crate::measure::{
    child_runs, child_runs_in_turns, max_of, median, median_of, seconds, ChildReport,
};
use crate::sqlite_log;
use crate::table::{Figure, Row, Target};

/// How much work each measurement does.
#[derive(Debug, Clone)]
pub struct Scale {
    /// Events in the replayed logs (and in the batch-append run).
    pub events: u64,
    /// Events per batch append.
    pub batch: u64,
    /// Durable single-event appends by one writer.
    pub single_appends: u64,
    /// Concurrent writers.
    pub writers: u64,
    /// Single-event appends per concurrent writer.
    pub per_writer: u64,
    /// Timed runs of each cheap measurement, after one warm-up; the median is reported.
    pub runs: usize,
    /// Rounds of the replay rows' measurements, taken in turns after one warm-up each; the
    /// median is reported. More than `runs`: on a shared virtual machine one process of the
    /// same code may run at either of two speeds (see `BENCHMARKS.md`).
    pub replay_runs: usize,
    /// Stream lengths of the aggregate loads: the first is the baseline.
    pub stream_lengths: [u64; 3],
    /// Single-event appends per concurrent writer, in PostgreSQL.
    pub pg_per_writer: u64,
    /// Events whose append-to-subscriber latency is measured, in PostgreSQL.
    pub latency_events: u64,
    /// The pace of those appends: one per interval.
    pub latency_interval: Duration,
}

impl Scale {
    /// The sizes the targets are stated for.
    #[must_use]
    pub fn full() -> Self {
        Self {
            events: 1_000_000,
            batch: 1_000,
            single_appends: 1_000,
            writers: 16,
            per_writer: 100,
            runs: 3,
            replay_runs: 5,
            stream_lengths: [100, 10_000, 100_000],
            pg_per_writer: 500,
            latency_events: 2_000,
            latency_interval: Duration::from_millis(5),
        }
    }

    /// Seconds of work: every code path runs, no figure means anything.
    #[must_use]
    pub fn quick() -> Self {
        Self {
            events: 2_000,
            batch: 1_000,
            single_appends: 20,
            writers: 16,
            per_writer: 4,
            runs: 1,
            replay_runs: 1,
            stream_lengths: [100, 1_000, 2_000],
            pg_per_writer: 4,
            latency_events: 20,
            latency_interval: Duration::from_millis(2),
        }
    }

    /// The number of concurrent writers, as a count of connections.
    pub(crate) fn writers_usize(&self) -> usize {
        usize::try_from(self.writers).expect("writer count")
    }
}

pub(crate) const PER_SEC: &str = "events/s";
/// The unit of times per event.
const US_PER_EVENT: &str = "µs/event";

pub(crate) fn per_sec(events: u64, secs: f64) -> f64 {
    // Counts far below 2^52: exact as f64.
    #[allow(clippy::cast_precision_loss)]
    let events = events as f64;
    events / secs
}

fn mib(kib: f64) -> f64 {
    kib / 1024.0
}

fn path_arg(path: &Path) -> &str {
    path.to_str().expect("temporary paths are UTF-8")
}

/// Runs everything in a temporary directory under `base`; returns the table's rows.
///
/// # Panics
/// When a store or the file system fails.
pub fn all(scale: &Scale, base: &Path) -> Vec<Row> {
    let work = tempfile::Builder::new()
        .prefix("es-bench-")
        .tempdir_in(base)
        .expect("a temporary directory for the stores");
    let dir = work.path();
    eprintln!("stores under {}", dir.display());
    let mut rows = Vec::new();

    eprintln!("== batch appends of {} events", scale.events);
    let batch_rows = batch_appends(scale, dir);
    eprintln!("== writing the current-version and legacy-tag logs");
    write_log(&dir.join("log-current"), scale, Generation::Current);
    write_log(&dir.join("log-legacy"), scale, Generation::Legacy);
    eprintln!("== replays");
    rows.extend(replays(scale, dir));
    eprintln!("== open");
    rows.extend(open(scale, dir));
    eprintln!("== single-event appends");
    rows.extend(single_writer(scale, dir));
    rows.extend(concurrent_writers(scale, dir));
    rows.extend(batch_rows);
    eprintln!("== aggregate loads");
    rows.extend(aggregate_loads(scale, dir));
    rows
}

pub(crate) fn batch_stream(b: u64) -> String {
    format!("shop-{b}")
}

pub(crate) fn batch_events(scale: &Scale, b: u64, generation: Generation) -> Vec<NewEvent> {
    (0..scale.batch)
        .map(|i| new_event(b * scale.batch + i, generation))
        .collect()
}

/// Durable batch appends: the `FileStore` (synced) and SQLite (a transaction per batch). They
/// write the v1 logs the replays read. Only the appends are timed, not building the events.
fn batch_appends(scale: &Scale, dir: &Path) -> Vec<Row> {
    let batches = scale.events / scale.batch;
    let store = FileStore::open(dir.join("log-v1")).expect("open the FileStore");
    let mut file_secs = 0.0;
    for b in 0..batches {
        let events = batch_events(scale, b, Generation::V1);
        file_secs += seconds(|| {
            store
                .append(&batch_stream(b), ExpectedVersion::NoStream, events)
                .expect("batch append");
        });
    }
    drop(store);
    let mut conn = sqlite_log::open(&dir.join("v1.sqlite"));
    let mut sqlite_secs = 0.0;
    for b in 0..batches {
        let events = batch_events(scale, b, Generation::V1);
        sqlite_secs +=
            seconds(|| sqlite_log::append_batch(&mut conn, &batch_stream(b), 1, &events));
    }
    let what = format!(
        "batch appends, {} events in batches of {}, durable",
        scale.events, scale.batch
    );
    vec![Row::ratio(
        &what,
        Figure::new("FileStore", per_sec(scale.events, file_secs), PER_SEC),
        Figure::new("SQLite", per_sec(scale.events, sqlite_secs), PER_SEC),
        Some(Target::AtLeast(2.0)),
    )]
}

/// A log of `generation` events, written unsynced (setup, not measured), then flushed to the
/// disk: otherwise the kernel writes its dirty pages back during the measurements that follow,
/// on one of the two cores a parallel replay measures.
pub(crate) fn write_log(path: &Path, scale: &Scale, generation: Generation) {
    let store = FileStore::options()
        .durability(Durability::None)
        .open(path)
        .expect("open the FileStore");
    for b in 0..scale.events / scale.batch {
        store
            .append(
                &batch_stream(b),
                ExpectedVersion::NoStream,
                batch_events(scale, b, generation),
            )
            .expect("append");
    }
    drop(store);
    for file in std::fs::read_dir(path).expect("the log's directory") {
        let file = file.expect("a file of the log").path();
        if file.is_file() {
            std::fs::File::open(&file)
                .and_then(|f| f.sync_all())
                .expect("flush a file of the log");
        }
    }
}

/// Every engine and generation holds the same facts, so every replay must fold them into the
/// same totals: a harness that compared different work would be worthless.
fn assert_same_totals(reports: &[&Vec<ChildReport>]) {
    let checks: Vec<f64> = reports.iter().map(|r| median_of(r, "check")).collect();
    assert!(
        checks.iter().all(|c| (c - checks[0]).abs() < 0.5),
        "every replay must fold the same events into the same totals: {checks:?}"
    );
}

/// The child measurements of the replay rows, in the order [`replays`] reads their reports.
fn replay_measurements(n: &str, dir: &Path) -> [Vec<String>; 13] {
    let stored = |engine: &str, name: &str| {
        ["replay", engine, path_arg(&dir.join(name))]
            .map(str::to_owned)
            .to_vec()
    };
    let bare = |generation: &str, threads: &str, route: &str| {
        ["bare", n, generation, threads, route]
            .map(str::to_owned)
            .to_vec()
    };
    [
        stored("file-par", "log-v1"),
        stored("file-seq", "log-v1"),
        stored("sqlite", "v1.sqlite"),
        stored("file-read", "log-v1"),
        stored("file-read-owned", "log-v1"),
        stored("file-seq", "log-current"),
        stored("file-par", "log-current"),
        stored("file-seq", "log-legacy"),
        stored("file-seq-whole", "log-legacy"),
        bare("v1", "1", "slice"),
        bare("current", "1", "slice"),
        bare("v1", "2", "slice"),
        bare("v1", "1", "str"),
    ]
}

/// Every replay and its peers, taken in turns (so that a drift of the machine's speed during
/// the minutes they take does not end up in their ratios): the events per second (median) and
/// reports of each, in the order of [`replay_measurements`].
fn replay_rates(n: &str, dir: &Path, runs: usize) -> impl Iterator<Item = (f64, Vec<ChildReport>)> {
    child_runs_in_turns(&replay_measurements(n, dir), runs)
        .into_iter()
        .map(|reports| {
            let events = median_of(&reports, "events");
            (events / median_of(&reports, "secs"), reports)
        })
}

// A table of one row per figure: long, but flat.
#[allow(clippy::too_many_lines)]
fn replays(scale: &Scale, dir: &Path) -> Vec<Row> {
    let n = scale.events.to_string();
    let mut taken = replay_rates(&n, dir, scale.replay_runs);
    let mut next = || taken.next().expect("a report per measurement");
    let (par_v1, par_v1_reports) = next();
    let (seq_v1, seq_v1_reports) = next();
    let (sqlite_v1, sqlite_reports) = next();
    let (read_v1, _) = next();
    let (read_owned_v1, _) = next();
    let (seq_current, current_reports) = next();
    let (par_current, _) = next();
    let (seq_legacy, legacy_reports) = next();
    let (seq_legacy_whole, legacy_whole_reports) = next();
    let (bare_v1, bare_reports) = next();
    let (bare_current, _) = next();
    let (bare_two_v1, bare_two_reports) = next();
    let (bare_str_v1, bare_str_reports) = next();
    assert_same_totals(&[
        &par_v1_reports,
        &seq_v1_reports,
        &sqlite_reports,
        &bare_reports,
        &bare_two_reports,
        &bare_str_reports,
        &current_reports,
        &legacy_reports,
        &legacy_whole_reports,
    ]);

    let fig = |label: &str, value: f64| Figure::new(label, value, PER_SEC);
    vec![
        Row::ratio(
            &format!("replay {n} v1 events (read, decode, 2 typed upcasts, apply)"),
            fig("FileStore, ParallelReplay", par_v1),
            fig("bare serde_json, 1 core", bare_v1),
            Some(Target::AtLeast(1.0)),
        ),
        Row::ratio(
            &format!("replay {n} v1 events"),
            fig("FileStore, ParallelReplay", par_v1),
            fig("SQLite scan + same decode", sqlite_v1),
            Some(Target::AtLeast(1.5)),
        ),
        Row::ratio(
            &format!("replay {n} v1 events, one thread"),
            fig("FileStore, visit_all + decode_ref loop", seq_v1),
            fig("bare serde_json, 1 core", bare_v1),
            Some(Target::AtLeast(0.7)),
        ),
        Row::ratio(
            &format!("replay {n} v1 events: ParallelReplay vs one thread"),
            fig("FileStore, ParallelReplay", par_v1),
            fig("FileStore, one thread", seq_v1),
            Some(Target::AtLeast(1.8)),
        ),
        Row::ratio(
            &format!("replay {n} v1 events on 2 threads vs the bare parse on 2 threads"),
            fig("FileStore, ParallelReplay", par_v1),
            fig("bare serde_json, 2 threads", bare_two_v1),
            None,
        ),
        Row::ratio(
            &format!("parse {n} v1 payloads: 2 threads vs 1 (what two cores give the parse alone)"),
            fig("bare serde_json, 2 threads", bare_two_v1),
            fig("bare serde_json, 1 thread", bare_v1),
            None,
        ),
        Row::ratio(
            &format!(
                "parse {n} v1 payloads, 1 core: one UTF-8 check of each, then from_str (how the decode point reads stored text), vs from_slice (the peer above)"
            ),
            fig("bare from_utf8 + from_str", bare_str_v1),
            fig("bare from_slice", bare_v1),
            None,
        ),
        Row::ratio(
            &format!("replay {n} v1 events, one thread, vs the bare parse read the same way"),
            fig("FileStore, visit_all + decode_ref loop", seq_v1),
            fig("bare from_utf8 + from_str, 1 core", bare_str_v1),
            None,
        ),
        Row::ratio(
            &format!("read {n} stored events, no decode, one thread"),
            fig("FileStore, visit_all loop", read_v1),
            fig("bare serde_json, 1 core", bare_v1),
            Some(Target::AtLeast(3.0)),
        ),
        Row::ratio(
            &format!("read {n} stored events, no decode, one thread, owned StoredEvents"),
            fig("FileStore, read_all loop", read_owned_v1),
            fig("bare serde_json, 1 core", bare_v1),
            None,
        ),
        Row::overhead(
            "typed upcast overhead, one thread (v1 log vs current-version log)",
            fig("v1, 2 typed steps", seq_v1),
            fig("v3, no upcast", seq_current),
            Some(0.10),
        ),
        Row::overhead(
            "parse cost of v1 vs v3 payloads alone (bare serde_json, 1 core)",
            fig("v1 payloads", bare_v1),
            fig("v3 payloads", bare_current),
            None,
        ),
        Row::overhead(
            "typed upcast overhead, ParallelReplay",
            fig("v1, 2 typed steps", par_v1),
            fig("v3, no upcast", par_current),
            None,
        ),
        Row::ratio(
            "raw JSON upcaster path time (with_ref) vs typed path time, one thread",
            Figure::new("legacy tag, raw + 2 typed", 1e6 / seq_legacy, US_PER_EVENT),
            Figure::new("v1, 2 typed steps", 1e6 / seq_v1, US_PER_EVENT),
            Some(Target::AtMost(1.3)),
        ),
        Row::ratio(
            "raw JSON upcaster path time, one thread: the upcaster given an owned copy of each stored event (with) vs lent it (with_ref, the row above)",
            Figure::new(
                "legacy tag, with = RawUpcaster",
                1e6 / seq_legacy_whole,
                US_PER_EVENT,
            ),
            Figure::new(
                "legacy tag, with_ref = RawRefUpcaster",
                1e6 / seq_legacy,
                US_PER_EVENT,
            ),
            None,
        ),
    ]
    .into_iter()
    .chain(memory_rows(&par_v1_reports, &seq_v1_reports))
    .collect()
}

/// The peak memory of the replays above the opened store.
fn memory_rows(par_v1_reports: &[ChildReport], seq_v1_reports: &[ChildReport]) -> [Row; 2] {
    [
        Row::single(
            "replay peak RSS above the opened store (VmHWM - VmRSS)",
            Figure::new(
                "ParallelReplay",
                mib(max_of(par_v1_reports, "growth_kib")),
                "MiB",
            ),
            Some(64.0),
        ),
        Row::single(
            "replay peak RSS above the opened store, one thread",
            Figure::new(
                "visit_all + decode_ref loop",
                mib(max_of(seq_v1_reports, "growth_kib")),
                "MiB",
            ),
            Some(64.0),
        ),
    ]
}

fn open(scale: &Scale, dir: &Path) -> Vec<Row> {
    let reports = child_runs(&["open", path_arg(&dir.join("log-v1"))], scale.runs);
    vec![
        Row::single(
            &format!("open a {}-event log (index rebuilt)", scale.events),
            Figure::new("FileStore::open", median_of(&reports, "secs"), "s"),
            Some(0.5),
        ),
        Row::single(
            &format!(
                "index memory of a {}-event log (VmRSS growth)",
                scale.events
            ),
            Figure::new("FileStore", mib(median_of(&reports, "index_kib")), "MiB"),
            None,
        ),
    ]
}

/// Bytes of every file under `dir`.
fn dir_bytes(dir: &Path) -> u64 {
    std::fs::read_dir(dir)
        .expect("list a store directory")
        .filter_map(Result::ok)
        .filter_map(|entry| entry.metadata().ok())
        .filter(std::fs::Metadata::is_file)
        .map(|meta| meta.len())
        .sum()
}

fn single_writer(scale: &Scale, dir: &Path) -> Vec<Row> {
    let count = scale.single_appends;
    let warm_up = 10;
    let store_dir = dir.join("single");
    let store = FileStore::open(&store_dir).expect("open the FileStore");
    let before = dir_bytes(&store_dir);
    let mut file_secs = 0.0;
    for i in 0..warm_up + count {
        let event = new_event(i, Generation::Current);
        let secs = seconds(|| {
            store
                .append("single", ExpectedVersion::Exact(i), vec![event])
                .expect("append");
        });
        if i >= warm_up {
            file_secs += secs;
        }
    }
    drop(store);
    let frame_bytes = (dir_bytes(&store_dir) - before) / (warm_up + count);

    let raw_path = dir.join("raw-fsync.log");
    let raw = OpenOptions::new()
        .create(true)
        .append(false)
        .write(true)
        .truncate(true)
        .open(&raw_path)
        .expect("create the raw log");
    let frame = vec![0x5a_u8; usize::try_from(frame_bytes).expect("frame size")];
    let mut raw_secs = 0.0;
    for i in 0..warm_up + count {
        let secs = seconds(|| {
            raw.write_all_at(&frame, i * frame_bytes).expect("write");
            raw.sync_data().expect("fdatasync");
        });
        if i >= warm_up {
            raw_secs += secs;
        }
    }

    let conn = sqlite_log::open(&dir.join("single.sqlite"));
    let mut sqlite_secs = 0.0;
    for i in 0..warm_up + count {
        let event = new_event(i, Generation::Current);
        let secs = seconds(|| sqlite_log::insert(&conn, "single", i + 1, &[event]));
        if i >= warm_up {
            sqlite_secs += secs;
        }
    }
    let ours = Figure::new("FileStore, Sync", per_sec(count, file_secs), PER_SEC);
    vec![
        Row::ratio(
            &format!("durable appends, 1 event per call, 1 writer ({frame_bytes} B frames)"),
            ours.clone(),
            Figure::new("write + fdatasync loop", per_sec(count, raw_secs), PER_SEC),
            Some(Target::AtLeast(0.9)),
        ),
        Row::ratio(
            "durable appends, 1 event per call, 1 writer",
            ours,
            Figure::new("SQLite", per_sec(count, sqlite_secs), PER_SEC),
            None,
        ),
    ]
}

/// `writers` threads, each appending one event per call to its own stream, started together;
/// returns the wall time.
pub(crate) fn concurrent(writers: u64, per_writer: u64, append: impl Fn(u64, u64) + Sync) -> f64 {
    let barrier = Barrier::new(usize::try_from(writers).expect("writer count") + 1);
    std::thread::scope(|scope| {
        for w in 0..writers {
            let (barrier, append) = (&barrier, &append);
            scope.spawn(move || {
                barrier.wait();
                for i in 0..per_writer {
                    append(w, i);
                }
            });
        }
        barrier.wait();
        let started = std::time::Instant::now();
        // The scope joins every writer before returning.
        started
    })
    .elapsed()
    .as_secs_f64()
}

fn concurrent_writers(scale: &Scale, dir: &Path) -> Vec<Row> {
    let (writers, per_writer) = (scale.writers, scale.per_writer);
    let total = writers * per_writer;
    // Built before the clock starts; a clone inside the timed loop copies a few hundred bytes.
    let prepared: Vec<Vec<NewEvent>> = (0..writers)
        .map(|w| {
            (0..per_writer)
                .map(|i| new_event(w * per_writer + i, Generation::Current))
                .collect()
        })
        .collect();
    let event = |w: u64, i: u64| {
        prepared[usize::try_from(w).expect("writer")][usize::try_from(i).expect("event")].clone()
    };
    let store = FileStore::open(dir.join("writers")).expect("open the FileStore");
    let file_secs = concurrent(writers, per_writer, |w, i| {
        store
            .append(
                &format!("writer-{w}"),
                ExpectedVersion::Exact(i),
                vec![event(w, i)],
            )
            .expect("append");
    });
    drop(store);

    let db = dir.join("writers.sqlite");
    let connections: Vec<Mutex<rusqlite::Connection>> = (0..writers)
        .map(|_| Mutex::new(sqlite_log::open(&db)))
        .collect();
    let sqlite_secs = concurrent(writers, per_writer, |w, i| {
        let conn = connections[usize::try_from(w).expect("writer")]
            .lock()
            .expect("each writer has its own connection");
        sqlite_log::insert(&conn, &format!("writer-{w}"), i + 1, &[event(w, i)]);
    });
    vec![Row::ratio(
        &format!("durable appends, 1 event per call, {writers} writers"),
        Figure::new(
            "FileStore, group commit",
            per_sec(total, file_secs),
            PER_SEC,
        ),
        Figure::new("SQLite", per_sec(total, sqlite_secs), PER_SEC),
        Some(Target::AtLeast(10.0)),
    )]
}

fn aggregate_loads(scale: &Scale, dir: &Path) -> Vec<Row> {
    let store = FileStore::options()
        .durability(Durability::None)
        .open(dir.join("aggregates"))
        .expect("open the FileStore");
    for len in scale.stream_lengths {
        let stream = format!("agg-{len}");
        let mut written = 0;
        while written < len {
            let n = (len - written).min(1_000);
            let events = (written..written + n)
                .map(|i| new_event(i, Generation::V1))
                .collect();
            store
                .append(&stream, ExpectedVersion::Exact(written), events)
                .expect("append");
            written += n;
        }
    }
    let with_snapshots = Repository::<ShopTotals, _>::new(&store).snapshot_every(100);
    let without = Repository::<ShopTotals, _>::new(&store);
    let load_secs = |repo: &Repository<ShopTotals, &FileStore>, len: u64, runs: usize| {
        let stream = format!("agg-{len}");
        // The first load also takes the snapshot.
        let loaded = repo.load(&stream).expect("load");
        assert_eq!(loaded.version, len, "the whole stream is loaded");
        median(
            (0..runs)
                .map(|_| {
                    seconds(|| {
                        repo.load(&stream).expect("load");
                    })
                })
                .collect(),
        )
    };
    let loads = 5 * scale.runs + 6;
    let [small, medium, large] = scale.stream_lengths;
    let snap = |len| load_secs(&with_snapshots, len, loads) * 1e3;
    let (t_small, t_medium, t_large) = (snap(small), snap(medium), snap(large));
    let t_large_replayed = load_secs(&without, large, scale.runs) * 1e3;
    let fig = |label: String, ms: f64| Figure::new(label, ms, "ms");
    vec![
        Row::ratio(
            &format!("aggregate load, snapshot_every(100): {large} vs {small} events"),
            fig(format!("{large}-event stream"), t_large),
            fig(format!("{small}-event stream"), t_small),
            Some(Target::AtMost(2.0)),
        ),
        Row::ratio(
            &format!("aggregate load, snapshot_every(100): {medium} vs {small} events"),
            fig(format!("{medium}-event stream"), t_medium),
            fig(format!("{small}-event stream"), t_small),
            None,
        ),
        Row::ratio(
            &format!("aggregate load of {large} events: snapshot vs full replay"),
            fig("with snapshot".to_owned(), t_large),
            fig("without snapshots".to_owned(), t_large_replayed),
            None,
        ),
    ]
}
