//! A million events: the index is rebuilt quickly on open (from frame headers, without parsing
//! JSON), and `read_all` over the whole log runs in constant memory (bodies are read from the
//! segment files lazily, never kept). Alone in its binary so that no other test's allocations
//! disturb the memory figures.

use std::time::{Duration, Instant};

use es_core::Durability;
use es_core::{EventStore, ExpectedVersion, FileStore, NewEvent};

const EVENTS: u64 = 1_000_000;
const BATCH: u64 = 1_000;
const STREAMS: u64 = 100;
/// How much resident memory may grow while reading every event.
const READ_GROWTH_LIMIT: u64 = 64 * 1024 * 1024;

/// Resident memory of this process, in bytes (Linux; `None` elsewhere).
fn resident_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

fn mib(bytes: u64) -> f64 {
    // Figures for a message; precision loss above 2^52 bytes does not matter.
    #[allow(clippy::cast_precision_loss)]
    let mib = bytes as f64 / (1024.0 * 1024.0);
    mib
}

/// The open-time target applies to optimized builds (`cargo test --release`); unoptimized
/// test builds run several times slower and get room, enough to catch a lost order of
/// magnitude on a loaded machine.
fn open_time_limit() -> Duration {
    if cfg!(debug_assertions) {
        Duration::from_secs(15)
    } else {
        Duration::from_millis(500)
    }
}

#[test]
fn a_million_events_reopen_fast_and_read_in_constant_memory() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let started = Instant::now();
    {
        let store = FileStore::options()
            .durability(Durability::None)
            .open(dir.path())
            .expect("open");
        for b in 0..EVENTS / BATCH {
            let batch: Vec<NewEvent> = (0..BATCH)
                .map(|i| {
                    let n = b * BATCH + i;
                    NewEvent::from_json_bytes("Ticked", 1, format!("{{\"n\":{n}}}").into_bytes())
                })
                .collect();
            store
                .append(&format!("s{}", b % STREAMS), ExpectedVersion::Any, batch)
                .expect("append a batch");
        }
    }
    let appended = started.elapsed();

    let started = Instant::now();
    let store = FileStore::options()
        .durability(Durability::None)
        .open(dir.path())
        .expect("reopen");
    let opened = started.elapsed();
    assert_eq!(store.recovery().events, EVENTS);
    assert_eq!(store.head_position().expect("head"), EVENTS);
    assert_eq!(
        store.stream_version("s7").expect("version"),
        EVENTS / STREAMS
    );

    let before = resident_bytes();
    let mut peak = before.unwrap_or(0);
    let started = Instant::now();
    let mut count = 0;
    for event in store.read_all(1).expect("read_all") {
        let event = event.expect("every event reads back");
        count += 1;
        assert_eq!(event.position, count);
        if count % 50_000 == 0 {
            assert_eq!(
                event.payload,
                format!("{{\"n\":{}}}", count - 1).into_bytes()
            );
            peak = peak.max(resident_bytes().unwrap_or(0));
        }
    }
    let read = started.elapsed();
    assert_eq!(count, EVENTS);
    let growth = before.map(|b| peak.saturating_sub(b));
    let segments = store.recovery().segments;
    println!(
        "scale: {EVENTS} events in {segments} segments; appended (batches of {BATCH}, \
         unsynced) in {appended:.2?}, reopened in {opened:.2?}, read_all in {read:.2?}; \
         resident memory {:.1} MiB before reading, peak growth while reading {:.1} MiB",
        mib(before.unwrap_or(0)),
        mib(growth.unwrap_or(0)),
    );
    if let Some(growth) = growth {
        assert!(
            growth < READ_GROWTH_LIMIT,
            "reading every event grew memory by {:.1} MiB",
            mib(growth)
        );
    }
    assert!(
        opened < open_time_limit(),
        "reopening {EVENTS} events took {opened:.2?}"
    );
}
