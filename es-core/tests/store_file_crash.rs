//! Crash safety: a child process appends from several threads with synced appends and prints
//! each acknowledged event; this test kills it with SIGKILL at random moments, over and over,
//! and after each kill reopens the store and checks that every acknowledged event is there,
//! intact, at its stream version, that every batch is whole, and that appends still work.

mod support;

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::Stdio;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use es_core::{AppendError, EventStore, ExpectedVersion, FileStore, NewEvent, Uuid};
use serde_json::json;

const CHILD_DIR: &str = "ES_FILE_STORE_CRASH_CHILD_DIR";
const KILLS: usize = 100;
const THREADS: u64 = 4;
const SHARED_STREAM: &str = "shared";
/// A child left behind by a parent that died stops by itself after this long.
const CHILD_LIFETIME: Duration = Duration::from_secs(30);

/// What the child printed for one acknowledged event.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Ack {
    stream: String,
    version: u64,
    batch: u64,
    batch_len: u64,
    index: u64,
}

fn parse_ack(line: &str) -> Option<(Uuid, Ack)> {
    let mut fields = line.strip_prefix("ACK ")?.split(' ');
    let stream = fields.next()?.to_owned();
    let version = fields.next()?.parse().ok()?;
    let id = fields.next()?.parse().ok()?;
    let batch = fields.next()?.parse().ok()?;
    let batch_len = fields.next()?.parse().ok()?;
    let index = fields.next()?.parse().ok()?;
    Some((
        id,
        Ack {
            stream,
            version,
            batch,
            batch_len,
            index,
        },
    ))
}

/// Child mode: append forever from several threads, printing each acknowledged event.
fn child(dir: &str) {
    let store = FileStore::open(dir).expect("child opens the store");
    let started = Instant::now();
    std::thread::scope(|scope| {
        for thread in 0..THREADS {
            let store = &store;
            scope.spawn(move || {
                let mut rng = fastrand::Rng::new();
                let own = format!("t{thread}");
                while started.elapsed() < CHILD_LIFETIME {
                    let stream = if rng.u8(..4) == 0 {
                        SHARED_STREAM
                    } else {
                        own.as_str()
                    };
                    let batch_len = if rng.u8(..10) == 0 {
                        rng.u64(20..60)
                    } else {
                        rng.u64(1..4)
                    };
                    let batch = rng.u64(..);
                    let events: Vec<NewEvent> = (0..batch_len)
                        .map(|index| {
                            NewEvent::new(
                                "Appended",
                                1,
                                json!({
                                    "batch": batch,
                                    "batch_len": batch_len,
                                    "index": index,
                                    "pad": "p".repeat(rng.usize(0..400)),
                                }),
                            )
                        })
                        .collect();
                    let ids: Vec<Uuid> = events.iter().map(NewEvent::event_id).collect();
                    let current = store.stream_version(stream).expect("stream_version");
                    match store.append(stream, ExpectedVersion::Exact(current), events) {
                        Ok(outcome) => {
                            let first = outcome.stream_version + 1 - batch_len;
                            let mut out = std::io::stdout().lock();
                            for (index, id) in (0..batch_len).zip(&ids) {
                                writeln!(
                                    out,
                                    "ACK {stream} {} {id} {batch} {batch_len} {index}",
                                    first + index
                                )
                                .expect("print ack");
                            }
                            out.flush().expect("flush acks");
                        }
                        Err(AppendError::Conflict { .. }) => {}
                        Err(other) => panic!("child append failed: {other}"),
                    }
                }
            });
        }
    });
}

/// Runs the child until a random moment after its first acknowledgement, kills it, and
/// returns the acknowledgements it printed completely.
fn run_and_kill(dir: &Path, rng: &mut fastrand::Rng) -> Vec<(Uuid, Ack)> {
    let mut child =
        support::child_test_command("acknowledged_appends_survive_sigkill", CHILD_DIR, dir)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn child");
    let stdout = child.stdout.take().expect("child stdout");
    let (first_ack, started) = mpsc::channel();
    let reader = std::thread::spawn(move || {
        let mut acks = Vec::new();
        let mut reader = BufReader::new(stdout);
        let mut line = Vec::new();
        loop {
            line.clear();
            match reader.read_until(b'\n', &mut line) {
                Ok(0) | Err(_) => break,
                // A line cut by the kill has no newline: that event was not reported.
                Ok(_) if line.last() != Some(&b'\n') => break,
                Ok(_) => {}
            }
            let text = String::from_utf8_lossy(&line);
            if let Some((_, rest)) = text.split_once("ACK ") {
                if let Some(ack) = parse_ack(&format!("ACK {}", rest.trim_end())) {
                    if acks.is_empty() {
                        let _ = first_ack.send(());
                    }
                    acks.push(ack);
                }
            }
        }
        acks
    });
    started
        .recv_timeout(Duration::from_secs(60))
        .expect("the child acknowledges appends");
    std::thread::sleep(Duration::from_micros(rng.u64(0..25_000)));
    child.kill().expect("SIGKILL the child");
    child.wait().expect("reap the child");
    reader.join().expect("reader thread")
}

/// Reopens the store and checks it against every acknowledgement so far; returns the store's
/// event count and whether recovery cut a torn tail.
fn check_after_kill(dir: &Path, acked: &HashMap<Uuid, Ack>, round: usize) -> (u64, bool) {
    let store = FileStore::open(dir).expect("the store reopens after a kill");
    let mut stored: HashMap<Uuid, (String, u64, serde_json::Value)> = HashMap::new();
    let mut batches: HashMap<u64, (u64, u64)> = HashMap::new();
    let streams = (0..THREADS)
        .map(|t| format!("t{t}"))
        .chain([SHARED_STREAM.to_owned()]);
    for stream in streams {
        let mut version = 0;
        for event in store.read_stream(&stream, 1).expect("read_stream") {
            let event = event.expect("every stored event reads back intact");
            version += 1;
            assert_eq!(event.stream_version, version, "no gaps in {stream}");
            let payload = event.payload_json().expect("payload is JSON");
            let batch = payload["batch"].as_u64().expect("batch id");
            let batch_len = payload["batch_len"].as_u64().expect("batch length");
            let seen = batches.entry(batch).or_insert((batch_len, 0));
            seen.1 += 1;
            stored.insert(event.event_id, (stream.clone(), version, payload));
        }
    }
    for (batch, (len, seen)) in &batches {
        assert_eq!(
            len, seen,
            "round {round}: batch {batch} is whole, not partly visible"
        );
    }
    for (id, ack) in acked {
        let (stream, version, payload) = stored
            .get(id)
            .unwrap_or_else(|| panic!("round {round}: acknowledged event {id} {ack:?} is lost"));
        assert_eq!(
            (stream, *version),
            (&ack.stream, ack.version),
            "round {round}: {id}"
        );
        assert_eq!(payload["batch"].as_u64(), Some(ack.batch));
        assert_eq!(payload["batch_len"].as_u64(), Some(ack.batch_len));
        assert_eq!(payload["index"].as_u64(), Some(ack.index));
    }
    let parent_version = store.stream_version("parent").expect("stream_version");
    store
        .append(
            "parent",
            ExpectedVersion::Exact(parent_version),
            vec![NewEvent::new("Checked", 1, json!({ "round": round }))],
        )
        .expect("the store accepts appends after recovery");
    let cut = store.recovery().torn_tail.is_some();
    (store.head_position().expect("head"), cut)
}

#[test]
fn acknowledged_appends_survive_sigkill() {
    if let Ok(dir) = std::env::var(CHILD_DIR) {
        child(&dir);
        return;
    }
    let dir = tempfile::tempdir().expect("temporary directory");
    let mut rng = fastrand::Rng::with_seed(0x5eed_c0de);
    let mut acked: HashMap<Uuid, Ack> = HashMap::new();
    let mut torn_tails = 0;
    let mut stored = 0;
    let started = Instant::now();
    for round in 0..KILLS {
        for (id, ack) in run_and_kill(dir.path(), &mut rng) {
            acked.insert(id, ack);
        }
        let (events, cut) = check_after_kill(dir.path(), &acked, round);
        stored = events;
        torn_tails += usize::from(cut);
    }
    println!(
        "crash test: {KILLS} SIGKILLs survived in {:.1?}; {} acknowledged events verified \
         intact at their versions, {stored} events stored, {torn_tails} torn tails cut on reopen",
        started.elapsed(),
        acked.len()
    );
    assert!(
        acked.len() >= KILLS,
        "the child made progress between kills"
    );
}
