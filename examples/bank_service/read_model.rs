//! The balances read model: on PostgreSQL, a table in the store's schema fed by a
//! [`TransactionalProjection`] whose rows and checkpoint commit in one transaction; on the
//! file store, the SQLite model of [`crate::sqlite_balances`]. Queries run on a thread of
//! their own, since both clients block (and the `postgres` crate must not run on a Tokio
//! thread).

use std::sync::mpsc;
use std::time::Duration;

use es_core::{Envelope, TransactionalProjection};
use postgres::{Client, IsolationLevel, NoTls};
use tokio::sync::oneshot;

use crate::account::AccountEvent;
use crate::sqlite_balances::{AccountBalance, SqliteBalances, PROJECTION_NAME};

/// An error of a read model's database.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// How long a connection to the read model's database may take.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// Rows of the read model and the checkpoint they reflect.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BalancesAnswer {
    /// Accounts above the minimum, by account id.
    pub accounts: Vec<AccountBalance>,
    /// The position of the last event the rows include (0: none).
    pub checkpoint: u64,
}

/// Why the read model did not answer.
#[derive(Debug)]
pub struct QueryError {
    /// The database could not be reached (503) rather than failed a query (500).
    pub unreachable: bool,
    /// What went wrong.
    pub message: String,
}

/// A connection that answers "accounts above a minimum".
pub trait BalanceReader: Send {
    /// Accounts whose balance is above `minimum` (every account for `None`), and the
    /// checkpoint.
    ///
    /// # Errors
    /// The database's failure.
    fn balances_above(&mut self, minimum: Option<u64>) -> Result<BalancesAnswer, QueryError>;
}

/// The SQLite read model's reader: a second connection to the file the projector writes.
pub struct SqliteReader(pub SqliteBalances);

impl BalanceReader for SqliteReader {
    fn balances_above(&mut self, minimum: Option<u64>) -> Result<BalancesAnswer, QueryError> {
        let failed = |e: rusqlite::Error| QueryError {
            unreachable: false,
            message: format!("the SQLite read model failed: {e}"),
        };
        // The checkpoint first: rows read after it are at least as new, so the lag reported
        // is never smaller than the real one.
        let checkpoint = self.0.checkpoint().map_err(failed)?.unwrap_or(0);
        let accounts = match minimum {
            Some(minimum) => self.0.accounts_with_balance_above(minimum),
            None => self.0.all_accounts(),
        }
        .map_err(failed)?;
        Ok(BalancesAnswer {
            accounts,
            checkpoint,
        })
    }
}

/// Connects to PostgreSQL with the read model's timeout. Call it on a plain thread, never on a
/// Tokio thread.
///
/// # Errors
/// When the URL is invalid or the server cannot be reached.
pub fn pg_connect(url: &str) -> Result<Client, postgres::Error> {
    let mut config: postgres::Config = url.parse()?;
    config.connect_timeout(CONNECT_TIMEOUT);
    config.application_name("bank-service");
    config.connect(NoTls)
}

fn pg_unreachable(error: &postgres::Error) -> bool {
    error.is_closed() || error.code().is_none()
}

/// The PostgreSQL read model's reader: one connection, opened again after a failure.
pub struct PgReader {
    url: String,
    schema: String,
    client: Option<Client>,
}

impl PgReader {
    /// A reader of the table in `schema`; connects on first use.
    #[must_use]
    pub fn new(url: String, schema: String) -> Self {
        Self {
            url,
            schema,
            client: None,
        }
    }

    fn query(
        client: &mut Client,
        schema: &str,
        minimum: Option<u64>,
    ) -> Result<BalancesAnswer, postgres::Error> {
        let mut tx = client
            .build_transaction()
            .isolation_level(IsolationLevel::RepeatableRead)
            .read_only(true)
            .start()?;
        let checkpoint: Option<i64> = tx
            .query_opt(
                &format!("SELECT position FROM {schema}.balances_checkpoint WHERE projection = $1"),
                &[&PROJECTION_NAME],
            )?
            .map(|row| row.get(0));
        let minimum = minimum.map_or(-1, |m| i64::try_from(m).unwrap_or(i64::MAX));
        let rows = tx.query(
            &format!(
                "SELECT account, owner, currency, balance FROM {schema}.balances
                 WHERE balance > $1 ORDER BY account"
            ),
            &[&minimum],
        )?;
        tx.commit()?;
        Ok(BalancesAnswer {
            accounts: rows
                .iter()
                .map(|row| AccountBalance {
                    account: row.get(0),
                    owner: row.get(1),
                    currency: row.get(2),
                    balance: u64::try_from(row.get::<_, i64>(3)).unwrap_or(0),
                })
                .collect(),
            checkpoint: checkpoint.map_or(0, |c| u64::try_from(c).unwrap_or(0)),
        })
    }
}

impl BalanceReader for PgReader {
    fn balances_above(&mut self, minimum: Option<u64>) -> Result<BalancesAnswer, QueryError> {
        let failed = |e: &postgres::Error| QueryError {
            unreachable: pg_unreachable(e),
            message: format!(
                "the read model's database failed: {}",
                crate::bank_service::errors::chain(e)
            ),
        };
        if self.client.is_none() {
            self.client = Some(pg_connect(&self.url).map_err(|e| failed(&e))?);
        }
        let Some(client) = self.client.as_mut() else {
            return Err(QueryError {
                unreachable: true,
                message: "no connection to the read model's database".into(),
            });
        };
        let answer = Self::query(client, &self.schema, minimum).map_err(|e| failed(&e));
        if answer.is_err() {
            self.client = None;
        }
        answer
    }
}

type Request = (
    Option<u64>,
    oneshot::Sender<Result<BalancesAnswer, QueryError>>,
);

/// A handle to the thread that answers read-model queries; cloning it shares the thread, which
/// stops when the last handle is dropped.
#[derive(Clone, Debug)]
pub struct BalanceQueries {
    requests: mpsc::Sender<Request>,
}

impl BalanceQueries {
    /// Starts the thread that owns `reader`.
    ///
    /// # Errors
    /// When the thread cannot be started.
    pub fn spawn(mut reader: Box<dyn BalanceReader>) -> std::io::Result<Self> {
        let (requests, incoming) = mpsc::channel::<Request>();
        std::thread::Builder::new()
            .name("read-model-queries".into())
            .spawn(move || {
                for (minimum, reply) in incoming {
                    let _ = reply.send(reader.balances_above(minimum));
                }
            })?;
        Ok(Self { requests })
    }

    /// Asks the thread; waits without blocking the runtime.
    ///
    /// # Errors
    /// The reader's error, or a [`QueryError`] when the thread has stopped.
    pub async fn balances_above(&self, minimum: Option<u64>) -> Result<BalancesAnswer, QueryError> {
        let stopped = || QueryError {
            unreachable: false,
            message: "the read model's query thread has stopped".into(),
        };
        let (reply, answer) = oneshot::channel();
        self.requests
            .send((minimum, reply))
            .map_err(|_| stopped())?;
        answer.await.map_err(|_| stopped())?
    }
}

/// Account balances in a table of the store's PostgreSQL schema, with the projection's
/// checkpoint in a second table, both written in one transaction.
///
/// Two projectors must never write at once (the service's lease sees to it); should it happen
/// anyway, the batch of the one whose checkpoint is stale fails and changes nothing: every
/// batch locks the checkpoint row and checks that it is where this projector left it.
pub struct PgBalances {
    client: Client,
    schema: String,
    committed: u64,
}

impl PgBalances {
    /// The read model on `client` (which may hold the projector's lease), creating its tables
    /// if they are missing.
    ///
    /// # Errors
    /// When the tables cannot be created or the checkpoint read.
    pub fn new(mut client: Client, schema: &str) -> Result<Self, postgres::Error> {
        let mut tx = client.transaction()?;
        // Instances starting at once must not race to create the tables.
        tx.execute(
            "SELECT pg_advisory_xact_lock(hashtext('bank-service tables'), hashtext($1))",
            &[&schema],
        )?;
        tx.batch_execute(&format!(
            "CREATE TABLE IF NOT EXISTS {schema}.balances (
                 account  text PRIMARY KEY,
                 owner    text NOT NULL,
                 currency text NOT NULL,
                 balance  bigint NOT NULL
             );
             CREATE TABLE IF NOT EXISTS {schema}.balances_checkpoint (
                 projection text PRIMARY KEY,
                 position   bigint NOT NULL
             );"
        ))?;
        tx.commit()?;
        let mut balances = Self {
            client,
            schema: schema.to_owned(),
            committed: 0,
        };
        balances.committed = balances.stored_checkpoint()?.unwrap_or(0);
        Ok(balances)
    }

    /// Creates the tables, so that queries find them before any projector ran.
    ///
    /// # Errors
    /// When the server cannot be reached or refuses.
    pub fn create_tables(url: &str, schema: &str) -> Result<(), postgres::Error> {
        Self::new(pg_connect(url)?, schema).map(drop)
    }

    /// The projector's connection, for the lease's own statements.
    pub fn client(&mut self) -> &mut Client {
        &mut self.client
    }

    fn stored_checkpoint(&mut self) -> Result<Option<u64>, postgres::Error> {
        let row = self.client.query_opt(
            &format!(
                "SELECT position FROM {}.balances_checkpoint WHERE projection = $1",
                self.schema
            ),
            &[&PROJECTION_NAME],
        )?;
        Ok(row.map(|row| u64::try_from(row.get::<_, i64>(0)).unwrap_or(0)))
    }

    fn write_batch(
        &mut self,
        events: &[Envelope<AccountEvent>],
        checkpoint: u64,
    ) -> Result<(), BoxError> {
        let schema = self.schema.clone();
        let mut tx = self.client.transaction()?;
        let stored: Option<i64> = tx
            .query_opt(
                &format!(
                    "SELECT position FROM {schema}.balances_checkpoint WHERE projection = $1
                     FOR UPDATE"
                ),
                &[&PROJECTION_NAME],
            )?
            .map(|row| row.get(0));
        let stored = stored.map_or(0, |p| u64::try_from(p).unwrap_or(0));
        if stored != self.committed {
            return Err(format!(
                "the checkpoint is at {stored}, not at {} where this projector left it: \
                 another projector wrote the read model",
                self.committed
            )
            .into());
        }
        for envelope in events {
            let account = envelope.stream_id.as_str();
            match &envelope.event {
                AccountEvent::Opened(e) => {
                    let initial = i64::try_from(e.initial_deposit)?;
                    tx.execute(
                        &format!(
                            "INSERT INTO {schema}.balances (account, owner, currency, balance)
                             VALUES ($1, $2, $3, $4)
                             ON CONFLICT (account) DO UPDATE SET owner = excluded.owner,
                                 currency = excluded.currency, balance = excluded.balance"
                        ),
                        &[&account, &e.owner, &e.currency, &initial],
                    )?;
                }
                AccountEvent::Deposited(e) => {
                    let amount = i64::try_from(e.amount)?;
                    tx.execute(
                        &format!(
                            "UPDATE {schema}.balances SET balance = balance + $2 WHERE account = $1"
                        ),
                        &[&account, &amount],
                    )?;
                }
                AccountEvent::Withdrawn(e) => {
                    let amount = i64::try_from(e.amount)?;
                    tx.execute(
                        &format!(
                            "UPDATE {schema}.balances SET balance = balance - $2 WHERE account = $1"
                        ),
                        &[&account, &amount],
                    )?;
                }
            }
        }
        let checkpoint_value = i64::try_from(checkpoint)?;
        tx.execute(
            &format!(
                "INSERT INTO {schema}.balances_checkpoint (projection, position) VALUES ($1, $2)
                 ON CONFLICT (projection) DO UPDATE SET position = excluded.position"
            ),
            &[&PROJECTION_NAME, &checkpoint_value],
        )?;
        tx.commit()?;
        self.committed = checkpoint;
        Ok(())
    }
}

impl TransactionalProjection for PgBalances {
    type Event = AccountEvent;
    type Error = BoxError;

    fn name(&self) -> &'static str {
        PROJECTION_NAME
    }

    fn checkpoint(&self) -> Result<Option<u64>, BoxError> {
        // Read when the model was opened and advanced by each commit: the runner asks before
        // it starts, and the model's connection is not shared.
        Ok(Some(self.committed))
    }

    fn apply_batch(
        &mut self,
        events: &[Envelope<AccountEvent>],
        checkpoint: u64,
    ) -> Result<(), BoxError> {
        self.write_batch(events, checkpoint)
    }

    fn reset(&mut self) -> Result<(), BoxError> {
        let schema = self.schema.clone();
        let mut tx = self.client.transaction()?;
        tx.batch_execute(&format!(
            "DELETE FROM {schema}.balances; DELETE FROM {schema}.balances_checkpoint;"
        ))?;
        tx.commit()?;
        self.committed = 0;
        Ok(())
    }
}
