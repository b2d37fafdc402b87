//! The SQLite read model: answers "accounts with balance above 50" from a legacy log, keeps
//! its checkpoint in the rows' transaction, and survives a failure in the middle of a batch
//! with every event applied exactly once.

use std::path::PathBuf;

use es_core::OwnCheckpoint;
use es_core::{
    EventStore, MemoryStore, ProjectionError, ProjectionRunner, Repository,
    TransactionalProjection, Uuid,
};
use es_examples::account::{Account, AccountCommand};
use es_examples::legacy_log::append_legacy_bank_log;
use es_examples::sqlite_balances::{AccountBalance, SqliteBalances};

/// A database file in the temporary directory, removed when dropped.
struct TempDb(PathBuf);

impl TempDb {
    fn new() -> Self {
        Self(std::env::temp_dir().join(format!("es-read-model-{}.sqlite", Uuid::new_v4())))
    }
}

impl Drop for TempDb {
    fn drop(&mut self) {
        for suffix in ["", "-journal", "-wal", "-shm"] {
            let mut path = self.0.clone().into_os_string();
            path.push(suffix);
            let _ = std::fs::remove_file(path);
        }
    }
}

fn row(account: &str, owner: &str, currency: &str, balance: u64) -> AccountBalance {
    AccountBalance {
        account: account.into(),
        owner: owner.into(),
        currency: currency.into(),
        balance,
    }
}

/// Every account's balance as its aggregate computes it.
fn balances_by_repository(store: &MemoryStore) -> Vec<(String, u64)> {
    let repo = Repository::<Account, _>::new(store);
    ["acc-001", "acc-002", "acc-003", "acc-004"]
        .into_iter()
        .map(|id| (id.to_owned(), repo.load(id).expect("load").state.balance))
        .collect()
}

fn balances_in(model: &SqliteBalances) -> Vec<(String, u64)> {
    model
        .all_accounts()
        .expect("query")
        .into_iter()
        .map(|r| (r.account, r.balance))
        .collect()
}

fn legacy_store() -> MemoryStore {
    let store = MemoryStore::new();
    append_legacy_bank_log(&store).expect("legacy log");
    store
}

fn in_memory_runner(
    store: &MemoryStore,
) -> ProjectionRunner<&MemoryStore, OwnCheckpoint<SqliteBalances>> {
    let model = SqliteBalances::open_in_memory().expect("sqlite");
    ProjectionRunner::transactional(store, model).expect("start")
}

#[test]
fn sqlite_read_model_answers_accounts_with_balance_above_50_from_a_legacy_log() {
    let store = legacy_store();
    let mut runner = in_memory_runner(&store).with_batch_size(4);
    assert_eq!(runner.catch_up().expect("catch up"), 9);
    let model = runner.projection();
    assert_eq!(
        model.accounts_with_balance_above(50).expect("query"),
        [
            row("acc-001", "alice", "EUR", 120),
            row("acc-004", "dave", "EUR", 51)
        ]
    );
    assert_eq!(model.checkpoint().expect("checkpoint"), Some(9));
    assert_eq!(balances_in(model), balances_by_repository(&store));
}

#[test]
fn sqlite_projection_failing_mid_transaction_rolls_back_rows_and_checkpoint_then_resumes_exactly_once(
) {
    let store = legacy_store();
    let repo = Repository::<Account, _>::new(&store);
    for amount in [3, 4, 5] {
        repo.execute("acc-002", AccountCommand::Deposit { amount })
            .expect("deposit");
    }
    let db = TempDb::new();

    {
        let model = SqliteBalances::open(&db.0).expect("open");
        // Fails the statement that brings alice to 120: the legacy deposit at position 5,
        // the first event of the second batch, after the first batch committed. A TEMP
        // trigger lives only in this connection, like a fault in this process.
        model
            .connection()
            .execute_batch(
                "CREATE TEMP TRIGGER crash BEFORE UPDATE ON main.balances
                 WHEN NEW.balance = 120 BEGIN SELECT RAISE(ABORT, 'simulated crash'); END;",
            )
            .expect("trigger");
        let mut runner = ProjectionRunner::transactional(&store, model)
            .expect("start")
            .with_batch_size(4);
        let error = runner.catch_up().expect_err("the second batch fails");
        assert!(
            matches!(
                error,
                ProjectionError::Apply {
                    first_position: 5,
                    last_position: 8,
                    ..
                }
            ),
            "got {error:?}"
        );
        assert_eq!(runner.position(), 4);
        let model = runner.projection();
        assert_eq!(
            model.checkpoint().expect("checkpoint"),
            Some(4),
            "the failed batch's checkpoint rolled back"
        );
        assert_eq!(
            balances_in(model),
            [
                ("acc-001".to_owned(), 70),
                ("acc-002".to_owned(), 5),
                ("acc-004".to_owned(), 40)
            ],
            "and so did its rows: the state after position 4"
        );
    } // The process is gone; the file remains.

    let reopened = SqliteBalances::open(&db.0).expect("reopen");
    let mut runner = ProjectionRunner::transactional(&store, reopened)
        .expect("restart")
        .with_batch_size(4);
    assert_eq!(runner.position(), 4);
    assert_eq!(runner.catch_up().expect("catch up"), 8);
    assert_eq!(
        runner.projection().checkpoint().expect("checkpoint"),
        Some(12)
    );

    let mut full_replay = in_memory_runner(&store);
    full_replay.catch_up().expect("full replay");
    assert_eq!(
        runner.projection().all_accounts().expect("query"),
        full_replay.projection().all_accounts().expect("query")
    );
    assert_eq!(
        balances_in(runner.projection()),
        balances_by_repository(&store)
    );
}

#[test]
fn sqlite_rebuild_empties_the_read_model_and_replays_the_log() {
    let store = legacy_store();
    let mut runner = in_memory_runner(&store);
    runner.catch_up().expect("catch up");
    runner
        .projection()
        .connection()
        .execute(
            "INSERT INTO balances VALUES ('acc-bogus', 'nobody', 'EUR', 999)",
            [],
        )
        .expect("a row no event explains");
    assert_eq!(runner.rebuild().expect("rebuild"), 9);
    assert_eq!(
        balances_in(runner.projection()),
        balances_by_repository(&store)
    );
    assert_eq!(
        runner.status().expect("status").lag,
        0,
        "rebuilt up to the head"
    );
    assert_eq!(store.head_position().expect("head"), 9);
}
