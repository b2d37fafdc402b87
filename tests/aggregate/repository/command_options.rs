//! `Repository::execute_with`: conflict retries, idempotency keys, metadata.

use std::sync::atomic::{AtomicBool, Ordering};

use es_core::metadata::{CAUSATION_ID, CORRELATION_ID};
use es_core::{CommandOptions, EventStore, ExecuteError, MemoryStore, Repository};
use es_examples::account::{Account, AccountCommand, AccountError};

use crate::commands::{open, RacingStore};

fn deposit(amount: u64) -> AccountCommand {
    AccountCommand::Deposit { amount }
}

/// An opened account (balance 100) in a store whose next append meets a rival's withdrawal
/// of 60.
fn racing_account() -> RacingStore {
    let store = RacingStore {
        inner: MemoryStore::new(),
        raced: AtomicBool::new(true),
    };
    Repository::<Account, _>::new(&store)
        .execute("acc", open())
        .expect("open");
    store.raced.store(false, Ordering::SeqCst);
    store
}

#[test]
fn without_retries_a_concurrent_write_is_a_conflict() {
    let store = racing_account();
    let repo = Repository::<Account, _>::new(&store);
    let refused = repo.execute_with("acc", deposit(10), &CommandOptions::new());
    assert!(
        matches!(refused, Err(ExecuteError::Conflict { .. })),
        "{refused:?}"
    );
    assert_eq!(store.stream_version("acc").expect("version"), 2);
}

#[test]
fn a_conflict_is_retried_and_decided_again_on_fresh_state() {
    let store = racing_account();
    let repo = Repository::<Account, _>::new(&store);
    let done = repo
        .execute_with(
            "acc",
            deposit(10),
            &CommandOptions::new().retry_conflicts(1),
        )
        .expect("the retry succeeds");
    // Opened with 100, the rival withdrew 60, then the deposit of 10.
    assert_eq!(
        (done.state.balance, done.version, done.replayed),
        (50, 3, false)
    );

    // A withdrawal decided again on fresh state is refused for the right reason.
    let store = racing_account();
    let repo = Repository::<Account, _>::new(&store);
    let refused = repo.execute_with(
        "acc",
        AccountCommand::Withdraw { amount: 50 },
        &CommandOptions::new().retry_conflicts(3),
    );
    assert!(
        matches!(
            refused,
            Err(ExecuteError::Rejected(AccountError::InsufficientFunds {
                balance: 40,
                ..
            }))
        ),
        "{refused:?}"
    );
}

#[test]
fn a_request_sent_again_with_its_idempotency_key_appends_nothing() {
    let repo = Repository::<Account, _>::new(MemoryStore::new());
    repo.execute("acc", open()).expect("open");
    let key = CommandOptions::new().idempotency_key("deposit-1");
    let first = repo
        .execute_with("acc", deposit(25), &key)
        .expect("deposit");
    let again = repo.execute_with("acc", deposit(25), &key).expect("again");
    assert_eq!((first.version, first.replayed), (2, false));
    assert_eq!(
        (
            again.state.balance,
            again.version,
            again.replayed,
            again.events.len()
        ),
        (125, 2, true, 0)
    );
    // Another key is another request.
    let other = repo
        .execute_with(
            "acc",
            deposit(25),
            &CommandOptions::new().idempotency_key("deposit-2"),
        )
        .expect("another deposit");
    assert_eq!((other.state.balance, other.replayed), (150, false));
    assert_eq!(repo.store().stream_version("acc").expect("version"), 3);
}

#[test]
fn a_retried_withdrawal_is_replayed_even_where_deciding_again_would_refuse_it() {
    for snapshot_every in [None, Some(1)] {
        let repo = Repository::<Account, _>::new(MemoryStore::new());
        // Loading from a snapshot taken after the withdrawal hides its event from the load.
        let repo = match snapshot_every {
            Some(every) => repo.snapshot_every(every),
            None => repo,
        };
        repo.execute("acc", open()).expect("open");
        let key = CommandOptions::new().idempotency_key("withdraw-80");
        let withdraw = || AccountCommand::Withdraw { amount: 80 };
        repo.execute_with("acc", withdraw(), &key)
            .expect("withdraw");
        let again = repo
            .execute_with("acc", withdraw(), &key)
            .unwrap_or_else(|e| panic!("snapshots {snapshot_every:?}: {e:?}"));
        assert!(again.replayed, "snapshots {snapshot_every:?}");
        assert_eq!((again.state.balance, again.version), (20, 2));
    }
}

#[test]
fn the_same_request_sent_at_once_from_eight_threads_is_executed_once() {
    let repo = Repository::<Account, _>::new(MemoryStore::new());
    repo.execute("acc", open()).expect("open");
    let options = CommandOptions::new()
        .idempotency_key("deposit-once")
        .retry_conflicts(8);
    let replays = std::thread::scope(|scope| {
        let threads: Vec<_> = (0..8)
            .map(|_| scope.spawn(|| repo.execute_with("acc", deposit(5), &options)))
            .collect();
        threads
            .into_iter()
            .map(|t| t.join().expect("thread").expect("execute").replayed)
            .filter(|&replayed| replayed)
            .count()
    });
    assert_eq!(replays, 7);
    let loaded = repo.load("acc").expect("load");
    assert_eq!((loaded.state.balance, loaded.version), (105, 2));
}

#[test]
fn correlation_causation_and_metadata_reach_every_event_of_the_command() {
    let repo = Repository::<Account, _>::new(MemoryStore::new());
    let options = CommandOptions::new()
        .correlation_id("req-9")
        .causation_id("cmd-3")
        .metadata("tenant", serde_json::json!("acme"));
    repo.execute_with("acc", open(), &options).expect("open");
    let history = repo.history("acc").expect("history");
    assert_eq!(history.len(), 1);
    assert_eq!(
        history[0].metadata.get(CORRELATION_ID),
        Some(&serde_json::json!("req-9"))
    );
    assert_eq!(
        history[0].metadata.get(CAUSATION_ID),
        Some(&serde_json::json!("cmd-3"))
    );
    assert_eq!(
        history[0].metadata.get("tenant"),
        Some(&serde_json::json!("acme"))
    );
}

/// A store where the same request, sent twice at once, has its events appended by the other
/// copy between this copy's load and its append.
struct EchoingStore {
    inner: MemoryStore,
    echoed: AtomicBool,
}

impl EventStore for EchoingStore {
    fn append(
        &self,
        stream_id: &str,
        expected: es_core::ExpectedVersion,
        events: Vec<es_core::NewEvent>,
    ) -> Result<es_core::AppendOutcome, es_core::AppendError> {
        if !self.echoed.swap(true, Ordering::SeqCst) {
            self.inner.append(stream_id, expected, events.clone())?;
        }
        self.inner.append(stream_id, expected, events)
    }
    fn read_stream(
        &self,
        stream_id: &str,
        from_version: u64,
    ) -> Result<es_core::store::backend::EventIter<'_>, es_core::ReadError> {
        self.inner.read_stream(stream_id, from_version)
    }
    fn read_all(
        &self,
        from_position: u64,
    ) -> Result<es_core::store::backend::EventIter<'_>, es_core::ReadError> {
        self.inner.read_all(from_position)
    }
    fn stream_version(&self, stream_id: &str) -> Result<u64, es_core::ReadError> {
        self.inner.stream_version(stream_id)
    }
    fn head_position(&self) -> Result<u64, es_core::ReadError> {
        self.inner.head_position()
    }
}

#[test]
fn events_the_other_copy_of_a_request_appended_meanwhile_make_a_replay() {
    let store = EchoingStore {
        inner: MemoryStore::new(),
        echoed: AtomicBool::new(true),
    };
    let repo = Repository::<Account, _>::new(&store);
    repo.execute("acc", open()).expect("open");
    store.echoed.store(false, Ordering::SeqCst);
    let done = repo
        .execute_with(
            "acc",
            deposit(30),
            &CommandOptions::new().idempotency_key("twice"),
        )
        .expect("deposit");
    assert_eq!(
        (
            done.state.balance,
            done.version,
            done.replayed,
            done.events.len()
        ),
        (130, 2, true, 0)
    );
    assert_eq!(store.stream_version("acc").expect("version"), 2);
}
