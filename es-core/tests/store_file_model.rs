//! Model-based test: random sequences of appends (fresh, retried, with reused ids, invalid),
//! reads and reopens run against a `FileStore` and against `MemoryStore`, the reference
//! implementation; every outcome and every read must agree.

use es_core::Durability;
use es_core::{
    AppendError, AppendOutcome, EventStore, ExpectedVersion, FileStore, MemoryStore, NewEvent,
    StoredEvent,
};
use serde_json::json;

const SEQUENCES: u64 = 300;
const OPERATIONS: usize = 40;
const STREAMS: [&str; 4] = ["a", "b", "c-1", "δ"];

/// What a store said to an append, in a form two stores can be compared by.
fn outcome(result: &Result<AppendOutcome, AppendError>) -> String {
    match result {
        Ok(o) => format!(
            "ok v{} p{}..{} stored={}",
            o.stream_version, o.first_position, o.last_position, o.already_stored
        ),
        Err(e) => format!("{e:?}"),
    }
}

/// An event without the time it was recorded, which differs between stores.
fn comparable(event: &StoredEvent) -> String {
    format!(
        "{} {}@{} {} {} v{} {} {:?}",
        event.position,
        event.stream_id,
        event.stream_version,
        event.event_id,
        event.event_type,
        event.schema_version,
        String::from_utf8_lossy(&event.payload),
        event.metadata,
    )
}

fn read(iter: es_core::store::backend::EventIter<'_>) -> Vec<String> {
    iter.map(|e| comparable(&e.expect("reads back"))).collect()
}

struct Sequence {
    rng: fastrand::Rng,
    /// Every batch tried so far, for retries and reused ids.
    tried: Vec<Vec<NewEvent>>,
    counter: u64,
}

impl Sequence {
    fn fresh_event(&mut self) -> NewEvent {
        self.counter += 1;
        let event = NewEvent::new(
            ["Opened", "Deposited", "Closed"][self.rng.usize(..3)],
            self.rng.u32(1..4),
            json!({ "n": self.counter, "text": "x".repeat(self.rng.usize(0..200)) }),
        );
        if self.rng.bool() {
            event.with_metadata("correlation", json!(self.counter))
        } else {
            event
        }
    }

    fn batch(&mut self) -> Vec<NewEvent> {
        match self.rng.u8(..10) {
            // A retry of an earlier batch, as a client would after a lost reply.
            0 | 1 if !self.tried.is_empty() => {
                let i = self.rng.usize(..self.tried.len());
                self.tried[i].clone()
            }
            // A fresh event beside one already tried.
            2 if !self.tried.is_empty() => {
                let i = self.rng.usize(..self.tried.len());
                let reused = self.tried[i][0].clone();
                vec![self.fresh_event(), reused]
            }
            3 => Vec::new(),
            _ => {
                let n = self.rng.usize(1..5);
                (0..n).map(|_| self.fresh_event()).collect()
            }
        }
    }

    fn expected(&mut self, model: &MemoryStore, stream: &str) -> ExpectedVersion {
        let current = model.stream_version(stream).expect("model version");
        match self.rng.u8(..6) {
            0 => ExpectedVersion::Any,
            1 => ExpectedVersion::NoStream,
            2 => ExpectedVersion::StreamExists,
            3 => ExpectedVersion::Exact(current + self.rng.u64(0..2)),
            _ => ExpectedVersion::Exact(current),
        }
    }
}

fn open(dir: &std::path::Path, seed: u64) -> FileStore {
    let durability = if seed.is_multiple_of(10) {
        Durability::Sync
    } else {
        Durability::None
    };
    let segment_size = if seed.is_multiple_of(2) {
        700
    } else {
        64 << 20
    };
    FileStore::options()
        .durability(durability)
        .segment_size(segment_size)
        .open(dir)
        .expect("open")
}

fn run(seed: u64) -> (usize, usize) {
    let dir = tempfile::tempdir().expect("temporary directory");
    let mut store = open(dir.path(), seed);
    let model = MemoryStore::new();
    let mut sequence = Sequence {
        rng: fastrand::Rng::with_seed(seed),
        tried: Vec::new(),
        counter: 0,
    };
    let mut reopens = 0;
    for step in 0..OPERATIONS {
        let context = || format!("seed {seed}, step {step}");
        let stream = if sequence.rng.u8(..20) == 0 {
            ""
        } else {
            STREAMS[sequence.rng.usize(..STREAMS.len())]
        };
        match sequence.rng.u8(..10) {
            0..=5 => {
                let batch = sequence.batch();
                let expected = sequence.expected(&model, stream);
                if !batch.is_empty() {
                    sequence.tried.push(batch.clone());
                }
                let by_model = model.append(stream, expected, batch.clone());
                let by_store = store.append(stream, expected, batch);
                assert_eq!(
                    outcome(&by_store),
                    outcome(&by_model),
                    "{}: append to {stream:?} at {expected:?}",
                    context()
                );
            }
            6 => {
                let from = sequence.rng.u64(0..7);
                assert_eq!(
                    read(store.read_stream(stream, from).expect("read_stream")),
                    read(model.read_stream(stream, from).expect("read_stream")),
                    "{}: read_stream({stream:?}, {from})",
                    context()
                );
            }
            7 => {
                let head = model.head_position().expect("head");
                let from = sequence.rng.u64(0..head + 2);
                assert_eq!(
                    read(store.read_all(from).expect("read_all")),
                    read(model.read_all(from).expect("read_all")),
                    "{}: read_all({from})",
                    context()
                );
            }
            8 => {
                assert_eq!(
                    store.stream_version(stream).expect("version"),
                    model.stream_version(stream).expect("version"),
                    "{}",
                    context()
                );
                assert_eq!(
                    store.head_position().expect("head"),
                    model.head_position().expect("head"),
                    "{}",
                    context()
                );
            }
            _ => {
                drop(store);
                store = open(dir.path(), seed);
                reopens += 1;
                assert_eq!(
                    store.recovery().torn_tail,
                    None,
                    "{}: a clean close leaves no torn tail",
                    context()
                );
            }
        }
    }
    drop(store);
    let store = open(dir.path(), seed);
    assert_eq!(
        read(store.read_all(1).expect("read_all")),
        read(model.read_all(1).expect("read_all")),
        "seed {seed}: the whole log after a final reopen"
    );
    (reopens, sequence.tried.len())
}

#[test]
fn random_appends_reads_and_reopens_match_the_memory_store() {
    let (mut reopens, mut appends) = (0, 0);
    for seed in 0..SEQUENCES {
        let (r, a) = run(seed);
        reopens += r;
        appends += a;
    }
    println!(
        "model: {SEQUENCES} sequences of {OPERATIONS} operations, {appends} batches appended \
         or refused, {reopens} reopens; every outcome and read matched MemoryStore"
    );
}
