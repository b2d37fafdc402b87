//! The child side of measurements that need a fresh process: replays (whose peak memory must
//! belong to the replay alone) and opening a large log (whose index memory is measured).
//!
//! Each prints one line of `key=value` pairs for the parent. `write DIR EVENTS GENERATION`
//! writes a benchmark log to profile the other commands on.

use std::ops::ControlFlow;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};

use es_core::ParallelReplay;
use es_core::{Event, EventStore, FileStore};

use crate::domain::{
    decode_bare, payload, Generation, Route, ShopEvent, ShopEventWhole, ShopTotals,
};
use crate::measure::{reset_peak_rss, seconds, status_kib};
use crate::sqlite_log;

/// Runs the child measurement named by `args` and prints its report.
///
/// # Panics
/// On unknown arguments or a failing store: the harness is broken.
pub fn run(args: &[String]) {
    let arg = |i: usize| args.get(i).map(String::as_str).expect("child arguments");
    match arg(0) {
        "open" => open(Path::new(arg(1))),
        "replay" => replay(arg(1), Path::new(arg(2))),
        "bare" => bare(
            arg(1).parse().expect("an event count"),
            generation(arg(2)),
            args.get(3)
                .map_or(1, |t| t.parse().expect("a thread count")),
            match args.get(4).map(String::as_str) {
                None | Some("slice") => Route::Slice,
                Some("str") => Route::Str,
                Some(other) => panic!("unknown parse route {other}"),
            },
        ),
        "write" => crate::runs::write_log(
            Path::new(arg(1)),
            &crate::Scale {
                events: arg(2).parse().expect("an event count"),
                ..crate::Scale::full()
            },
            generation(arg(3)),
        ),
        other => panic!("unknown child measurement {other}"),
    }
}

fn generation(name: &str) -> Generation {
    match name {
        "v1" => Generation::V1,
        "current" => Generation::Current,
        "legacy" => Generation::Legacy,
        other => panic!("unknown generation {other}"),
    }
}

/// A checksum of the totals, so the parent can see every engine replayed the same events.
fn check(totals: &ShopTotals) -> u64 {
    totals.orders + totals.units * 3 + totals.revenue_cents * 7 + totals.parcels * 11
}

fn open(dir: &Path) {
    let before = status_kib("VmRSS");
    let mut store = None;
    let secs = seconds(|| store = Some(FileStore::open(dir).expect("open the log")));
    let after = status_kib("VmRSS");
    let store = store.expect("opened");
    let events = store.head_position().expect("head");
    println!(
        "secs={secs} events={events} index_kib={}",
        after.saturating_sub(before)
    );
}

fn replay(engine: &str, path: &Path) {
    let mut totals = ShopTotals::default();
    let mut events = 0u64;
    let (secs, base, peak) = if engine == "sqlite" {
        let conn = sqlite_log::open(path);
        let base = status_kib("VmRSS");
        assert!(reset_peak_rss(), "the peak RSS can be reset");
        let secs = seconds(|| {
            sqlite_log::scan(&conn, |stored| {
                events += 1;
                for event in &ShopEvent::decode(stored).expect("benchmark events decode") {
                    totals.apply_event(event);
                }
            });
        });
        (secs, base, status_kib("VmHWM"))
    } else {
        let store = FileStore::open(path).expect("open the log");
        let base = status_kib("VmRSS");
        assert!(reset_peak_rss(), "the peak RSS can be reset");
        let secs = seconds(|| events = replay_file(engine, &store, &mut totals));
        (secs, base, status_kib("VmHWM"))
    };
    // Reading without decoding folds payload sizes, not events: no check to compare.
    let check = if engine.starts_with("file-read") {
        0
    } else {
        check(&totals)
    };
    println!(
        "secs={secs} events={events} check={check} base_kib={base} peak_kib={peak} growth_kib={}",
        peak.saturating_sub(base)
    );
}

/// Replays the log of `store` the way `engine` says, folding into `totals`; returns the
/// stored events replayed.
fn replay_file(engine: &str, store: &FileStore, totals: &mut ShopTotals) -> u64 {
    let mut events = 0u64;
    match engine {
        "file-read" => {
            store
                .visit_all(1, &mut |stored| {
                    events += 1;
                    totals.units += stored.payload.len() as u64;
                    ControlFlow::Continue(())
                })
                .expect("the log reads");
        }
        "file-read-owned" => {
            for stored in store.read_all(1).expect("read the log") {
                let stored = stored.expect("the log reads");
                events += 1;
                totals.units += stored.payload.len() as u64;
            }
        }
        "file-par" => {
            // The library's default range size unless `ES_BENCH_CHUNK` says otherwise.
            let mut replay = ParallelReplay::new().threads(
                std::env::var("ES_BENCH_THREADS")
                    .ok()
                    .and_then(|c| c.parse().ok())
                    .unwrap_or(2),
            );
            if let Some(chunk) = std::env::var("ES_BENCH_CHUNK")
                .ok()
                .and_then(|c| c.parse().ok())
            {
                replay = replay.chunk_events(chunk);
            }
            let outcome = replay
                .run_ref::<ShopEvent, _, _>(store, 1, |envelope| {
                    totals.apply_event(envelope.event);
                })
                .expect("the log replays");
            events = outcome.events;
        }
        "file-seq" => {
            // The plain loop: each event borrowed from the read buffer, decoded there and
            // applied.
            store
                .visit_all(1, &mut |stored| {
                    events += 1;
                    for event in &ShopEvent::decode_ref(stored).expect("benchmark events decode") {
                        totals.apply_event(event);
                    }
                    ControlFlow::Continue(())
                })
                .expect("the log reads");
        }
        "file-seq-whole" => {
            // The same loop, decoding through raw upcasters given an owned copy of each stored
            // event (`with`) instead of lent it.
            store
                .visit_all(1, &mut |stored| {
                    events += 1;
                    for event in
                        &ShopEventWhole::decode_ref(stored).expect("benchmark events decode")
                    {
                        totals.apply_whole(event);
                    }
                    ControlFlow::Continue(())
                })
                .expect("the log reads");
        }
        other => panic!("unknown replay engine {other}"),
    }
    events
}

/// Bare `serde_json`: the same payloads, in memory, decoded into the structs of their stored
/// version, on one thread or on `threads` threads that each take the next share of 256
/// payloads whenever they are ready for one, as `ParallelReplay`'s threads claim ranges (the
/// calling thread is one of them; each thread folds its own totals, summed at the end): what
/// this machine's cores give the parse alone, the ceiling for `ParallelReplay`'s scaling.
/// `route` says how the bytes are handed to `serde_json`.
fn bare(count: u64, generation: Generation, threads: usize, route: Route) {
    const SHARE: usize = 256;
    let payloads: Vec<(String, u32, Vec<u8>)> =
        (0..count).map(|n| payload(n, generation)).collect();
    let unclaimed = AtomicUsize::new(0);
    let fold = || {
        let mut totals = ShopTotals::default();
        loop {
            let start = unclaimed.fetch_add(SHARE, Ordering::Relaxed);
            let Some(rest) = payloads.get(start..).filter(|rest| !rest.is_empty()) else {
                return totals;
            };
            for (tag, version, json) in rest.iter().take(SHARE) {
                decode_bare(&mut totals, tag, *version, json, route);
            }
        }
    };
    let mut totals = ShopTotals::default();
    let secs = seconds(|| {
        let parts: Vec<ShopTotals> = std::thread::scope(|scope| {
            let others: Vec<_> = (1..threads.max(1)).map(|_| scope.spawn(fold)).collect();
            let mut parts = vec![fold()];
            parts.extend(
                others
                    .into_iter()
                    .map(|w| w.join().expect("a bare parse thread")),
            );
            parts
        });
        for part in parts {
            totals.orders += part.orders;
            totals.units += part.units;
            totals.revenue_cents += part.revenue_cents;
            totals.parcels += part.parcels;
        }
    });
    println!("secs={secs} events={count} check={}", check(&totals));
}
