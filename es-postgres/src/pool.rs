//! A small pool of connections, each with its prepared statements.

use std::sync::{Arc, Mutex, PoisonError};

use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio_postgres::tls::NoTlsStream;
use tokio_postgres::{Client, Config, NoTls, Socket, Statement};

use crate::error::PgError;
use crate::sql::{Sql, Stmt};

/// Connections to one server, at most `max` at once. A connection that failed is dropped,
/// not returned, so the next caller opens a fresh one: a killed session or a restarted server
/// costs the calls that were running, not the application.
pub(crate) struct Pool {
    config: Config,
    target: String,
    sql: Sql,
    permits: Arc<Semaphore>,
    idle: Mutex<Vec<Connection>>,
}

/// One session with its statements prepared on first use.
pub(crate) struct Connection {
    client: Client,
    statements: Vec<Option<Statement>>,
}

impl Pool {
    pub(crate) fn new(config: Config, target: String, sql: Sql, max: usize) -> Self {
        Self {
            config,
            target,
            sql,
            permits: Arc::new(Semaphore::new(max)),
            idle: Mutex::new(Vec::new()),
        }
    }

    /// Host, port and database, for messages.
    pub(crate) fn target(&self) -> &str {
        &self.target
    }

    pub(crate) fn sql(&self) -> &Sql {
        &self.sql
    }

    /// Opens a session outside the pool's count whose messages the caller reads (`LISTEN`).
    pub(crate) async fn connect_unspawned(
        &self,
    ) -> Result<(Client, tokio_postgres::Connection<Socket, NoTlsStream>), PgError> {
        self.config
            .connect(NoTls)
            .await
            .map_err(|source| PgError::Connect {
                target: self.target.clone(),
                source,
            })
    }

    /// Opens a session outside the pool's count, for the schema set-up.
    pub(crate) async fn connect(&self) -> Result<Client, PgError> {
        let (client, connection) = self.connect_unspawned().await?;
        tokio::spawn(async move {
            if let Err(error) = connection.await {
                tracing::debug!(%error, "PostgreSQL connection ended");
            }
        });
        Ok(client)
    }

    /// A connection of the pool, waiting while `max` are in use.
    pub(crate) async fn get(self: &Arc<Self>) -> Result<Pooled, PgError> {
        let permit = Arc::clone(&self.permits)
            .acquire_owned()
            .await
            .map_err(|_| PgError::Stopped)?;
        let idle = loop {
            let next = self
                .idle
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .pop();
            match next {
                Some(connection) if connection.client.is_closed() => {}
                other => break other,
            }
        };
        let connection = match idle {
            Some(connection) => connection,
            None => Connection {
                client: self.connect().await?,
                statements: vec![None; Stmt::COUNT],
            },
        };
        Ok(Pooled {
            connection: Some(connection),
            pool: Arc::clone(self),
            failed: false,
            _permit: permit,
        })
    }
}

/// A connection taken from the pool; goes back when dropped, unless it failed.
pub(crate) struct Pooled {
    connection: Option<Connection>,
    pool: Arc<Pool>,
    failed: bool,
    _permit: OwnedSemaphorePermit,
}

impl Pooled {
    fn connection(&mut self) -> &mut Connection {
        match &mut self.connection {
            Some(connection) => connection,
            None => unreachable!("the connection is taken only when dropped"),
        }
    }

    pub(crate) fn client(&mut self) -> &mut Client {
        &mut self.connection().client
    }

    /// The prepared statement, preparing it on this connection the first time.
    pub(crate) async fn statement(
        &mut self,
        which: Stmt,
    ) -> Result<Statement, tokio_postgres::Error> {
        let pool = Arc::clone(&self.pool);
        let connection = self.connection();
        if let Some(statement) = &connection.statements[which as usize] {
            return Ok(statement.clone());
        }
        let statement = connection.client.prepare(pool.sql.text(which)).await?;
        connection.statements[which as usize] = Some(statement.clone());
        Ok(statement)
    }

    /// Marks the connection as not to be reused: after an error its session state is unknown
    /// (an open transaction, a lock).
    pub(crate) fn discard(&mut self) {
        self.failed = true;
    }

    /// Wraps a driver error with the server and operation, and discards the connection.
    pub(crate) fn fail(
        &mut self,
        operation: impl Into<String>,
        source: tokio_postgres::Error,
    ) -> PgError {
        self.discard();
        PgError::Query {
            target: self.pool.target.clone(),
            operation: operation.into(),
            source,
        }
    }
}

impl Drop for Pooled {
    fn drop(&mut self) {
        if let Some(connection) = self.connection.take() {
            if !self.failed && !connection.client.is_closed() {
                self.pool
                    .idle
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .push(connection);
            }
        }
    }
}
