//! A read model on SQLite: one row per account with its balance, fed by a projection whose
//! checkpoint is committed in the same SQLite transaction as the rows, so after a crash every
//! event is applied exactly once.

use std::path::Path;

use es_core::{Envelope, TransactionalProjection};
use rusqlite::{params, Connection, OptionalExtension, Params, Transaction};

use crate::account::AccountEvent;

/// The projection's name, the key of its row in `projection_checkpoints`.
pub const PROJECTION_NAME: &str = "balances";

const SCHEMA: &str = "
    CREATE TABLE IF NOT EXISTS balances (
        account  TEXT PRIMARY KEY,
        owner    TEXT NOT NULL,
        currency TEXT NOT NULL,
        balance  INTEGER NOT NULL
    );
    CREATE TABLE IF NOT EXISTS projection_checkpoints (
        projection TEXT PRIMARY KEY,
        position   INTEGER NOT NULL
    );
";

/// One row of the `balances` table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountBalance {
    /// The account's stream id.
    pub account: String,
    /// Who owns it.
    pub owner: String,
    /// ISO 4217 code.
    pub currency: String,
    /// The balance.
    pub balance: u64,
}

/// Account balances in SQLite, as a [`TransactionalProjection`] of the account events.
#[derive(Debug)]
pub struct SqliteBalances {
    conn: Connection,
}

impl SqliteBalances {
    /// Opens (or creates) the read model in the database file at `path`.
    ///
    /// # Errors
    /// When SQLite cannot open the file or create the tables.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, rusqlite::Error> {
        Self::from_connection(Connection::open(path)?)
    }

    /// A read model in a private in-memory database.
    ///
    /// # Errors
    /// When SQLite cannot create the tables.
    pub fn open_in_memory() -> Result<Self, rusqlite::Error> {
        Self::from_connection(Connection::open_in_memory()?)
    }

    /// The read model in an open connection; creates its tables if they are missing.
    ///
    /// # Errors
    /// When SQLite cannot create the tables.
    pub fn from_connection(conn: Connection) -> Result<Self, rusqlite::Error> {
        conn.execute_batch(SCHEMA)?;
        Ok(Self { conn })
    }

    /// The connection, for queries of your own.
    #[must_use]
    pub fn connection(&self) -> &Connection {
        &self.conn
    }

    /// The query the read model exists for: accounts whose balance is above `minimum`,
    /// by account id.
    ///
    /// # Errors
    /// When the query fails.
    pub fn accounts_with_balance_above(
        &self,
        minimum: u64,
    ) -> Result<Vec<AccountBalance>, rusqlite::Error> {
        self.select("WHERE balance > ?1", [minimum])
    }

    /// Every account, by account id.
    ///
    /// # Errors
    /// When the query fails.
    pub fn all_accounts(&self) -> Result<Vec<AccountBalance>, rusqlite::Error> {
        self.select("", [])
    }

    fn select(
        &self,
        filter: &str,
        values: impl Params,
    ) -> Result<Vec<AccountBalance>, rusqlite::Error> {
        let mut statement = self.conn.prepare(&format!(
            "SELECT account, owner, currency, balance FROM balances {filter} ORDER BY account"
        ))?;
        let rows = statement.query_map(values, |row| {
            Ok(AccountBalance {
                account: row.get(0)?,
                owner: row.get(1)?,
                currency: row.get(2)?,
                balance: row.get(3)?,
            })
        })?;
        rows.collect()
    }
}

/// Applies one event to the `balances` table inside `tx`.
fn apply(tx: &Transaction<'_>, envelope: &Envelope<AccountEvent>) -> Result<(), rusqlite::Error> {
    let account = envelope.stream_id.as_str();
    match &envelope.event {
        AccountEvent::Opened(e) => tx
            .prepare_cached(
                "INSERT INTO balances (account, owner, currency, balance) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (account) DO UPDATE
                 SET owner = excluded.owner, currency = excluded.currency, balance = excluded.balance",
            )?
            .execute(params![account, e.owner, e.currency, e.initial_deposit]),
        AccountEvent::Deposited(e) => tx
            .prepare_cached("UPDATE balances SET balance = balance + ?2 WHERE account = ?1")?
            .execute(params![account, e.amount]),
        AccountEvent::Withdrawn(e) => tx
            .prepare_cached("UPDATE balances SET balance = balance - ?2 WHERE account = ?1")?
            .execute(params![account, e.amount]),
    }?;
    Ok(())
}

impl TransactionalProjection for SqliteBalances {
    type Event = AccountEvent;
    type Error = rusqlite::Error;

    fn name(&self) -> &'static str {
        PROJECTION_NAME
    }

    fn checkpoint(&self) -> Result<Option<u64>, rusqlite::Error> {
        self.conn
            .query_row(
                "SELECT position FROM projection_checkpoints WHERE projection = ?1",
                [PROJECTION_NAME],
                |row| row.get(0),
            )
            .optional()
    }

    fn apply_batch(
        &mut self,
        events: &[Envelope<AccountEvent>],
        checkpoint: u64,
    ) -> Result<(), rusqlite::Error> {
        // Rows and checkpoint commit together; an error (or a crash) before `commit` rolls
        // both back.
        let tx = self.conn.transaction()?;
        for envelope in events {
            apply(&tx, envelope)?;
        }
        tx.execute(
            "INSERT INTO projection_checkpoints (projection, position) VALUES (?1, ?2)
             ON CONFLICT (projection) DO UPDATE SET position = excluded.position",
            params![PROJECTION_NAME, checkpoint],
        )?;
        tx.commit()
    }

    fn reset(&mut self) -> Result<(), rusqlite::Error> {
        let tx = self.conn.transaction()?;
        tx.execute("DELETE FROM balances", [])?;
        tx.execute(
            "DELETE FROM projection_checkpoints WHERE projection = ?1",
            [PROJECTION_NAME],
        )?;
        tx.commit()
    }
}
