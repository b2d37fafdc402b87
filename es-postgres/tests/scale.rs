//! Reading a large log: `read_all` pages through it in constant memory, and `ParallelReplay`
//! replays it.

mod support;

use es_core::ParallelReplay;
use es_core::{Event, EventStore, ExpectedVersion, NewEvent};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema, Event)]
#[event(name = "Deposited", version = 1)]
struct Deposited {
    amount: u64,
    memo: String,
}

/// The process's resident memory in KiB, from /proc (Linux).
fn resident_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

#[test]
fn a_large_log_reads_in_constant_memory_and_replays_in_parallel() {
    const EVENTS: u64 = 1_000_000;
    const BATCH: u64 = 1_000;
    let Some(fixture) = support::fixture() else {
        return;
    };
    let store = &fixture.store;
    for batch in 0..EVENTS / BATCH {
        let events = (0..BATCH)
            .map(|n| {
                let event = Deposited {
                    amount: batch * BATCH + n,
                    memo: "x".repeat(100),
                };
                NewEvent::encode(&event).expect("encode")
            })
            .collect();
        store
            .append(&format!("acc-{}", batch % 50), ExpectedVersion::Any, events)
            .expect("append");
    }

    let before = resident_kib();
    let mut peak = before;
    let mut count = 0u64;
    let mut last = 0;
    for event in store.read_all(1).expect("read_all") {
        let event = event.expect("event");
        assert!(event.position > last);
        last = event.position;
        count += 1;
        if count.is_multiple_of(10_000) {
            peak = peak.max(resident_kib());
        }
    }
    assert_eq!(count, EVENTS);
    if let (Some(before), Some(peak)) = (before, peak) {
        let growth_kib = peak.saturating_sub(before);
        eprintln!("read {EVENTS} events; resident memory grew by {growth_kib} KiB");
        // The log holds ~150 MiB of payload; a reader holding it all would grow past that.
        assert!(
            growth_kib < 16 * 1024,
            "read_all grew memory by {growth_kib} KiB"
        );
    }

    let mut total = 0u64;
    let mut previous = 0;
    let outcome = ParallelReplay::new()
        .run::<Deposited, _, _>(store, 1, |envelope| {
            assert!(envelope.position > previous, "in log order");
            previous = envelope.position;
            total += envelope.event.amount;
        })
        .expect("replay");
    assert_eq!(outcome.events, EVENTS);
    assert_eq!(total, (0..EVENTS).sum::<u64>());
}
