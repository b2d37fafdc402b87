//! The account from the event-sourcing literature, replayed from a log written by older code.
//!
//! Run it with `cargo run --example bank [STORE]`. `STORE` is a directory (a `FileStore`) or a
//! `postgres://` URL (its `schema` parameter picks the schema, by default `es`); without it the
//! demo uses `DATABASE_URL` when that is set, and the directory `bank-data/` otherwise. Run it
//! again and it continues the same log.

use std::error::Error;

use es_cli::StoreLocation;
use es_core::{
    AppendError, Event, EventStore, ExpectedVersion, FileStore, NewEvent, Repository, SnapshotStore,
};
use es_examples::account::{Account, AccountCommand, AccountEvent};
use serde_json::json;

const ACCOUNT: &str = "acc-001";
const DEFAULT_DIR: &str = "bank-data";

fn main() -> Result<(), Box<dyn Error>> {
    let location = StoreLocation::from_arg_or_env(std::env::args_os().nth(1), DEFAULT_DIR)?;
    match &location {
        StoreLocation::Dir(dir) => {
            let store = FileStore::open(dir)?;
            let recovery = store.recovery();
            println!(
                "Event log in {} ({} events, {} segment file(s))",
                dir.display(),
                recovery.events,
                recovery.segments
            );
            if let Some(torn) = &recovery.torn_tail {
                println!(
                    "  recovered from a crash: cut {} bytes at offset {} of {} ({})",
                    torn.bytes_removed,
                    torn.offset,
                    torn.segment.display(),
                    torn.damage
                );
            }
            demo(&store)
        }
        StoreLocation::Postgres(pg) => {
            let store = pg.connect()?;
            println!(
                "Event log in PostgreSQL, {location} ({} events)",
                store.read_all(1)?.count()
            );
            demo(&store)
        }
    }
}

/// The demo on either store: both keep events, snapshots and concurrency the same way.
fn demo<S: EventStore + SnapshotStore>(store: &S) -> Result<(), Box<dyn Error>> {
    write_legacy_log(store)?;

    println!("Stream {ACCOUNT}, as stored → as decoded by today's code:");
    for stored in store.read_stream(ACCOUNT, 1)? {
        let stored = stored?;
        let decoded = AccountEvent::decode(&stored)?;
        println!(
            "  #{} {} v{} {}",
            stored.stream_version,
            stored.event_type,
            stored.schema_version,
            String::from_utf8_lossy(&stored.payload)
        );
        for event in decoded {
            println!(
                "      → {} v{} {:?}",
                event.event_type(),
                event.event_version(),
                event
            );
        }
    }

    let repo = Repository::<Account, _>::new(store).snapshot_every(100);
    let account = repo.load(ACCOUNT)?;
    println!(
        "Balance of {ACCOUNT} ({}) at version {}: {} {}",
        account.state.owner, account.version, account.state.balance, account.state.currency
    );
    let then = repo.load_at(ACCOUNT, 2)?;
    println!(
        "Time travel: balance after version 2 was {} {}",
        then.state.balance, then.state.currency
    );
    let deposit = repo.execute(ACCOUNT, AccountCommand::Deposit { amount: 10 })?;
    println!(
        "Deposit 10 today: balance {} {} at version {}",
        deposit.state.balance, deposit.state.currency, deposit.version
    );
    match repo.execute(ACCOUNT, AccountCommand::Withdraw { amount: 500 }) {
        Err(e) => println!("Withdraw 500 today: refused ({e})"),
        Ok(done) => println!(
            "Withdraw 500 today: accepted?! balance {}",
            done.state.balance
        ),
    }

    println!("Conditional create: claim the username \"alice\" only if it is free");
    let claim = |account: &str| {
        let event = NewEvent::new("UsernameClaimed", 1, json!({ "account": account }));
        store.append("username-alice", ExpectedVersion::NoStream, vec![event])
    };
    match claim(ACCOUNT) {
        Ok(outcome) => println!(
            "  {ACCOUNT} claims it: ok (stream version {})",
            outcome.stream_version
        ),
        Err(AppendError::Conflict { .. }) => {
            println!(
                "  {ACCOUNT} claims it: conflict: already taken (by an earlier run of this demo)"
            );
        }
        Err(e) => println!("  {ACCOUNT} claims it: {e}"),
    }
    match claim("acc-002") {
        Err(AppendError::Conflict { expected, actual }) => println!(
            "  acc-002 claims it: conflict (expected {expected}, stream at version {actual}): taken"
        ),
        other => println!("  acc-002 claims it: {other:?}"),
    }
    Ok(())
}

/// Appends the account's history as older code wrote it: raw tags, versions and payloads.
fn write_legacy_log(store: &impl EventStore) -> Result<(), AppendError> {
    if store.stream_version(ACCOUNT).map_err(AppendError::Read)? > 0 {
        return Ok(());
    }
    let legacy = vec![
        // 2019: accounts were "created", and the opening balance was called `balance`.
        NewEvent::new(
            "AccountCreated",
            1,
            json!({ "owner": "alice", "balance": 100 }),
        ),
        NewEvent::new("FundsWithdrawn", 1, json!({ "amount": 30 })),
        // 2021: deposits still called their amount `amt`.
        NewEvent::new("FundsDeposited", 1, json!({ "amt": 50 })),
    ];
    store.append(ACCOUNT, ExpectedVersion::NoStream, legacy)?;
    Ok(())
}
