//! `Repository`: load, execute at the loaded version, conflicts callers can retry, time travel.

use std::sync::atomic::{AtomicBool, Ordering};

use es_core::store::backend::EventIter;
use es_core::{
    AppendError, AppendOutcome, EventStore, ExecuteError, ExpectedVersion, MemoryStore, NewEvent,
    ReadError, Repository,
};
use es_examples::account::{Account, AccountCommand, AccountError};

pub(crate) fn open() -> AccountCommand {
    AccountCommand::Open {
        owner: "ada".into(),
        initial_deposit: 100,
        currency: "EUR".into(),
    }
}

#[test]
fn load_of_a_new_stream_is_the_default_state_at_version_zero() {
    let repo = Repository::<Account, _>::new(MemoryStore::new());
    let loaded = repo.load("nobody").expect("load");
    assert_eq!((loaded.state, loaded.version), (Account::default(), 0));
}

#[test]
fn execute_appends_at_the_loaded_version_and_load_replays() {
    let repo = Repository::<Account, _>::new(MemoryStore::new());
    let opened = repo.execute("acc", open()).expect("open");
    assert_eq!(
        (opened.version, opened.state.balance, opened.events.len()),
        (1, 100, 1)
    );
    repo.execute("acc", AccountCommand::Withdraw { amount: 30 })
        .expect("withdraw");
    let done = repo
        .execute("acc", AccountCommand::Deposit { amount: 50 })
        .expect("deposit");
    assert_eq!((done.version, done.state.balance), (3, 120));
    let loaded = repo.load("acc").expect("load");
    assert_eq!(
        (
            loaded.version,
            loaded.state.balance,
            loaded.state.owner.as_str()
        ),
        (3, 120, "ada")
    );
}

#[test]
fn a_refused_command_is_rejected_and_appends_nothing() {
    let repo = Repository::<Account, _>::new(MemoryStore::new());
    repo.execute("acc", open()).expect("open");
    let result = repo.execute("acc", AccountCommand::Withdraw { amount: 101 });
    assert!(
        matches!(
            result,
            Err(ExecuteError::Rejected(AccountError::InsufficientFunds {
                balance: 100,
                requested: 101
            }))
        ),
        "got {result:?}"
    );
    assert_eq!(repo.store().stream_version("acc").expect("version"), 1);
}

#[test]
fn load_at_returns_the_state_after_a_stream_version() {
    let repo = Repository::<Account, _>::new(MemoryStore::new());
    repo.execute("acc", open()).expect("open");
    repo.execute("acc", AccountCommand::Withdraw { amount: 30 })
        .expect("withdraw");
    repo.execute("acc", AccountCommand::Deposit { amount: 50 })
        .expect("deposit");
    let balances: Vec<(u64, u64)> = (0..=4)
        .map(|v| {
            let then = repo.load_at("acc", v).expect("load_at");
            (then.version, then.state.balance)
        })
        .collect();
    assert_eq!(balances, [(0, 0), (1, 100), (2, 70), (3, 120), (3, 120)]);
}

/// A store that lets another writer append to a stream once, right before the first append it
/// is asked to make: the race `execute` must turn into a conflict.
pub(crate) struct RacingStore {
    pub(crate) inner: MemoryStore,
    /// False until the race has been run.
    pub(crate) raced: AtomicBool,
}

impl EventStore for RacingStore {
    fn append(
        &self,
        stream_id: &str,
        expected: ExpectedVersion,
        events: Vec<NewEvent>,
    ) -> Result<AppendOutcome, AppendError> {
        if !self.raced.swap(true, Ordering::SeqCst) {
            let rival = NewEvent::encode(&es_examples::account::FundsWithdrawn { amount: 60 })
                .expect("encode");
            self.inner
                .append(stream_id, ExpectedVersion::Any, vec![rival])?;
        }
        self.inner.append(stream_id, expected, events)
    }
    fn read_stream(&self, stream_id: &str, from_version: u64) -> Result<EventIter<'_>, ReadError> {
        self.inner.read_stream(stream_id, from_version)
    }
    fn read_all(&self, from_position: u64) -> Result<EventIter<'_>, ReadError> {
        self.inner.read_all(from_position)
    }
    fn stream_version(&self, stream_id: &str) -> Result<u64, ReadError> {
        self.inner.stream_version(stream_id)
    }
    fn head_position(&self) -> Result<u64, ReadError> {
        self.inner.head_position()
    }
}

#[test]
fn a_concurrent_write_makes_execute_a_conflict_that_a_retry_resolves() {
    let store = RacingStore {
        inner: MemoryStore::new(),
        raced: AtomicBool::new(true),
    };
    let repo = Repository::<Account, _>::new(&store);
    repo.execute("acc", open()).expect("open");
    store.raced.store(false, Ordering::SeqCst);

    // Decided on balance 100; a rival withdrew 60 in between. Appending anyway would overdraw.
    let first = repo.execute("acc", AccountCommand::Withdraw { amount: 50 });
    match &first {
        Err(
            e @ ExecuteError::Conflict {
                expected: ExpectedVersion::Exact(1),
                actual: 2,
            },
        ) => {
            assert!(e.is_conflict());
        }
        other => panic!("expected a conflict, got {other:?}"),
    }
    assert_eq!(
        store.stream_version("acc").expect("version"),
        2,
        "only the rival's event"
    );

    // The retry decides on fresh state and is refused for the right reason.
    let retry = repo.execute("acc", AccountCommand::Withdraw { amount: 50 });
    assert!(
        matches!(
            retry,
            Err(ExecuteError::Rejected(AccountError::InsufficientFunds {
                balance: 40,
                ..
            }))
        ),
        "got {retry:?}"
    );
}

#[test]
fn execute_with_metadata_writes_it_with_every_event_of_the_command() {
    use es_core::metadata::{CAUSATION_ID, CORRELATION_ID};
    use serde_json::{json, Map};

    let repo = Repository::<Account, _>::new(MemoryStore::new());
    let mut request = Map::new();
    request.insert(CORRELATION_ID.to_owned(), json!("req-7"));
    request.insert(CAUSATION_ID.to_owned(), json!("cmd-1"));
    repo.execute_with_metadata("acc", open(), &request)
        .expect("open");
    repo.execute("acc", AccountCommand::Deposit { amount: 5 })
        .expect("deposit");
    let history = repo.history("acc").expect("history");
    let ids: Vec<(Option<&str>, Option<&str>)> = history
        .iter()
        .map(|e| (e.correlation_id(), e.causation_id()))
        .collect();
    assert_eq!(ids, [(Some("req-7"), Some("cmd-1")), (None, None)]);
}
