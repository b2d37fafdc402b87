//! A read model on SQLite fed by a projection: account balances, queried for "accounts with a
//! balance above 50", built from a log that older code wrote with older event versions.
//!
//! Run it with `cargo run --example read_model`.

use std::collections::BTreeSet;
use std::error::Error;

use es_core::{EventStore, MemoryStore, ProjectionRunner, Repository};
use es_examples::account::{Account, AccountCommand};
use es_examples::legacy_log::append_legacy_bank_log;
use es_examples::sqlite_balances::SqliteBalances;

const MINIMUM: u64 = 50;

fn main() -> Result<(), Box<dyn Error>> {
    let store = MemoryStore::new();
    let head = append_legacy_bank_log(&store)?;
    let mut versions = BTreeSet::new();
    for stored in store.read_all(1)? {
        let stored = stored?;
        versions.insert(format!("{} v{}", stored.event_type, stored.schema_version));
    }
    let versions: Vec<String> = versions.into_iter().collect();
    println!("The log: {head} events, stored as {}", versions.join(", "));

    // Batches of 4: the checkpoint is committed with the rows every 4 events.
    let mut runner = ProjectionRunner::transactional(&store, SqliteBalances::open_in_memory()?)?
        .with_batch_size(4);
    let applied = runner.catch_up()?;
    println!("Applied {applied} events; {}", runner.status()?);
    print_answer(runner.projection())?;

    Repository::<Account, _>::new(&store)
        .execute("acc-003", AccountCommand::Deposit { amount: 20 })?;
    println!("Carol deposits 20 GBP; {}", runner.status()?);
    runner.catch_up()?;
    let checkpoint: u64 = runner.projection().connection().query_row(
        "SELECT position FROM projection_checkpoints WHERE projection = 'balances'",
        [],
        |row| row.get(0),
    )?;
    println!("Caught up; the checkpoint row in SQLite says position {checkpoint}");
    print_answer(runner.projection())?;
    Ok(())
}

fn print_answer(balances: &SqliteBalances) -> Result<(), rusqlite::Error> {
    println!("Accounts with balance > {MINIMUM}:");
    for row in balances.accounts_with_balance_above(MINIMUM)? {
        println!(
            "  {}  {:<6} {:>4} {}",
            row.account, row.owner, row.balance, row.currency
        );
    }
    Ok(())
}
