//! [`PgStore`]: the event log in PostgreSQL, shared by every process that connects to it.

use std::fmt;
use std::ops::ControlFlow;
use std::sync::Arc;
use std::time::{Duration, Instant};

use es_core::store::backend::{EventIter, APPEND_POLL_INTERVAL};
use es_core::{
    AppendError, AppendOutcome, EventStore, ExpectedVersion, NewEvent, ReadError, StoredEventRef,
};
use tokio_postgres::types::ToSql;
use tokio_postgres::Row;

use crate::error::{ConnectError, PgError};
use crate::follow::Follow;
use crate::layout;
use crate::options::{self, PgOptions};
use crate::order::{settled_head, settled_prefix, Placed};
use crate::pool::Pool;
use crate::runtime::{Pending, Runtime};
use crate::sql::{Sql, Stmt};

/// How soon a waiting reader looks again when an append ahead of it has not committed yet.
const GAP_RECHECK: Duration = Duration::from_millis(5);

/// How long a waiting reader trusts `LISTEN` before looking anyway, in case a notification was
/// lost (a writer that crashed between its commit and its `NOTIFY`, a listener reconnecting).
const LISTEN_RECHECK: Duration = Duration::from_secs(2);

/// An event store in a PostgreSQL schema: the same log for every `PgStore` connected to it,
/// in this process or any other.
///
/// It implements [`EventStore`], [`SnapshotStore`](es_core::SnapshotStore) and
/// [`CheckpointStore`](es_core::CheckpointStore), and passes the same conformance suite as
/// the file store. Clones share one pool of connections.
///
/// The API is synchronous. It may be called from any thread, a Tokio runtime's included: the
/// store drives its connections on threads of its own, so nothing panics there. Async code
/// should still call it through `tokio::task::spawn_blocking`, so that a query in progress does
/// not hold up the runtime's other tasks.
///
/// # Examples
/// ```no_run
/// use es_core::{EventStore, ExpectedVersion, NewEvent};
/// use serde_json::json;
///
/// let store = es_postgres::PgStore::connect("postgres://postgres@127.0.0.1:5432/test")?;
/// store.append("acc-1", ExpectedVersion::Any, vec![NewEvent::new("Pinged", 1, json!({}))])?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
pub struct PgStore {
    pub(crate) shared: Arc<Shared>,
}

pub(crate) struct Shared {
    pub(crate) pool: Arc<Pool>,
    pub(crate) schema: String,
    pub(crate) read_batch: usize,
    pub(crate) follow: Arc<Follow>,
    // Last: dropping it stops every task that still holds the fields above.
    pub(crate) runtime: Runtime,
}

impl PgStore {
    /// Connects to the store in schema [`DEFAULT_SCHEMA`](crate::DEFAULT_SCHEMA) at `url`
    /// (`postgres://user@host:port/database`), creating its tables on first use.
    ///
    /// # Errors
    /// As [`PgOptions::connect`].
    pub fn connect(url: &str) -> Result<Self, ConnectError> {
        Self::options(url).connect()
    }

    /// Options for a store at `url`: its schema, its number of connections, ...
    #[must_use]
    pub fn options(url: &str) -> PgOptions {
        PgOptions::new(url)
    }

    /// The PostgreSQL schema holding this store's tables.
    #[must_use]
    pub fn schema(&self) -> &str {
        &self.shared.schema
    }

    pub(crate) fn open(
        config: tokio_postgres::Config,
        options: &PgOptions,
    ) -> Result<Self, ConnectError> {
        let runtime = Runtime::new().map_err(ConnectError::Runtime)?;
        let target = options::target(&config);
        let schema = options.schema.clone();
        let pool = Arc::new(Pool::new(
            config,
            target,
            Sql::new(&schema),
            options.max_connections,
        ));
        let set_up = {
            let pool = Arc::clone(&pool);
            let schema = schema.clone();
            async move {
                let mut client = pool.connect().await?;
                layout::ensure(&mut client, &schema, pool.target()).await
            }
        };
        runtime.run(set_up)??;
        Ok(Self {
            shared: Arc::new(Shared {
                follow: Arc::new(Follow::new(pool.sql().channel().to_owned())),
                pool,
                schema,
                read_batch: options.read_batch,
                runtime,
            }),
        })
    }

    /// Runs one statement's worth of work on a pooled connection.
    pub(crate) fn run<T: Send + 'static>(
        &self,
        work: impl std::future::Future<Output = Result<T, PgError>> + Send + 'static,
    ) -> Result<T, PgError> {
        self.shared.runtime.run(work)?
    }

    pub(crate) fn target(&self) -> &str {
        self.shared.pool.target()
    }

    /// Reads rows with one prepared statement.
    pub(crate) fn query(
        &self,
        which: Stmt,
        operation: String,
        params: Params,
    ) -> Result<Vec<Row>, PgError> {
        self.shared.runtime.run(query(
            Arc::clone(&self.shared.pool),
            which,
            operation,
            params,
        ))?
    }

    pub(crate) fn start_query(
        &self,
        which: Stmt,
        operation: String,
        params: Params,
    ) -> Pending<Result<Vec<Row>, PgError>> {
        self.shared.runtime.start(query(
            Arc::clone(&self.shared.pool),
            which,
            operation,
            params,
        ))
    }

    pub(crate) fn single_u64(
        &self,
        which: Stmt,
        operation: String,
        params: Params,
    ) -> Result<u64, PgError> {
        let rows = self.query(which, operation, params)?;
        let value: i64 = rows.first().map_or(0, |row| row.get(0));
        self.unsigned(value, "counter")
    }

    pub(crate) fn unsigned(&self, value: i64, what: &'static str) -> Result<u64, PgError> {
        u64::try_from(value).map_err(|_| self.malformed(what, format!("{value} is negative")))
    }

    /// The error for a `what` the server answered with that the store cannot have written.
    pub(crate) fn malformed(&self, what: &'static str, reason: String) -> PgError {
        PgError::Malformed {
            target: self.target().to_owned(),
            what,
            reason,
        }
    }

    /// The settled progress of the log beyond `after`, for `wait_for_append`.
    fn progress(&self, after: u64) -> Result<Progress, PgError> {
        let batch = i64::try_from(self.shared.read_batch).unwrap_or(i64::MAX);
        let rows = self.query(
            Stmt::Progress,
            "read the log's head".to_owned(),
            vec![Box::new(signed(after.saturating_add(1))), Box::new(batch)],
        )?;
        let Some(xmin) = rows.first().map(|row| row.get::<_, i64>(2)) else {
            let head = self.settled_head()?;
            return Ok(Progress {
                settled: after,
                pending: false,
                head,
            });
        };
        let placed = rows
            .iter()
            .map(|row| self.placed(row, 0, 1))
            .collect::<Result<Vec<_>, _>>()?;
        let count = settled_prefix(
            after,
            placed.iter().copied(),
            self.unsigned(xmin, "snapshot")?,
        );
        let settled = count
            .checked_sub(1)
            .map_or(after, |last| placed[last].position);
        Ok(Progress {
            settled,
            pending: count < placed.len(),
            head: placed.last().map_or(after, |row| row.position),
        })
    }

    /// The last position below which every position is settled: what a reader that starts
    /// now can read up to.
    fn settled_head(&self) -> Result<u64, PgError> {
        let batch = self.shared.read_batch;
        let mut below = i64::MAX;
        loop {
            let rows = self.query(
                Stmt::Head,
                "read the log's head".to_owned(),
                vec![Box::new(below), Box::new(signed(batch as u64))],
            )?;
            let xmin = match rows.first() {
                Some(row) => self.unsigned(row.get(2), "snapshot")?,
                None => 0,
            };
            let placed = rows
                .iter()
                .map(|row| self.placed(row, 0, 1))
                .collect::<Result<Vec<_>, _>>()?;
            if let Some(head) = settled_head(&placed, xmin, rows.len() < batch) {
                return Ok(head);
            }
            // More writers in flight than a page of rows: look further down (rare).
            below = placed.last().map_or(0, |row| signed(row.position));
        }
    }

    pub(crate) fn placed(
        &self,
        row: &Row,
        position: usize,
        writer_xid: usize,
    ) -> Result<Placed, PgError> {
        Ok(Placed {
            position: self.unsigned(row.get(position), "position")?,
            writer_xid: self.unsigned(row.get(writer_xid), "writer transaction id")?,
        })
    }
}

/// What `wait_for_append` learns in one look.
struct Progress {
    /// The last position a reader may take (`after` when none).
    settled: u64,
    /// Events beyond `settled` exist but wait for an earlier append to commit or end.
    pending: bool,
    /// The last position visible, settled or not.
    head: u64,
}

/// The parameters of a prepared statement, owned so the work can move to the store's threads.
pub(crate) type Params = Vec<Box<dyn ToSql + Send + Sync>>;

/// Runs one prepared statement on a pooled connection and returns its rows.
pub(crate) async fn query(
    pool: Arc<Pool>,
    which: Stmt,
    operation: String,
    params: Params,
) -> Result<Vec<Row>, PgError> {
    let mut connection = pool.get().await?;
    let statement = match connection.statement(which).await {
        Ok(statement) => statement,
        Err(source) => return Err(connection.fail(operation, source)),
    };
    let params: Vec<&(dyn ToSql + Sync)> =
        params.iter().map(|p| &**p as &(dyn ToSql + Sync)).collect();
    let result = connection.client().query(&statement, &params).await;
    result.map_err(|source| connection.fail(operation, source))
}

/// A count or position as PostgreSQL's `bigint`; none reaches `i64::MAX`.
pub(crate) fn signed(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

impl fmt::Debug for PgStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PgStore")
            .field("target", &self.target())
            .field("schema", &self.shared.schema)
            .finish_non_exhaustive()
    }
}

impl EventStore for PgStore {
    fn append(
        &self,
        stream_id: &str,
        expected: ExpectedVersion,
        events: Vec<NewEvent>,
    ) -> Result<AppendOutcome, AppendError> {
        self.append_batch(stream_id, expected, &events)
    }

    fn read_stream(&self, stream_id: &str, from_version: u64) -> Result<EventIter<'_>, ReadError> {
        Ok(Box::new(self.stream_pages(stream_id, from_version)))
    }

    fn read_all(&self, from_position: u64) -> Result<EventIter<'_>, ReadError> {
        Ok(Box::new(self.all_pages(from_position, u64::MAX)))
    }

    fn visit_all(
        &self,
        from_position: u64,
        visit: &mut dyn FnMut(&StoredEventRef<'_>) -> ControlFlow<()>,
    ) -> Result<(), ReadError> {
        self.visit_rows(from_position, u64::MAX, visit)
            .map_err(read_error)
    }

    fn visit_range(
        &self,
        from_position: u64,
        through_position: u64,
        visit: &mut dyn FnMut(&StoredEventRef<'_>) -> ControlFlow<()>,
    ) -> Result<(), ReadError> {
        self.visit_rows(from_position, through_position, visit)
            .map_err(read_error)
    }

    fn stream_version(&self, stream_id: &str) -> Result<u64, ReadError> {
        self.single_u64(
            Stmt::StreamVersion,
            format!("read the version of stream `{stream_id}`"),
            vec![Box::new(stream_id.to_owned())],
        )
        .map_err(read_error)
    }

    /// The last position a reader can reach now: every position up to it has committed or
    /// failed for good. An append still committing at a lower position keeps the head below
    /// it, so a replay up to the head (as `ParallelReplay` does) never skips one.
    fn head_position(&self) -> Result<u64, ReadError> {
        self.settled_head().map_err(read_error)
    }

    fn wait_for_append(&self, after_position: u64, timeout: Duration) -> Result<u64, ReadError> {
        let listening = self.shared.follow.listen(self);
        let deadline = Instant::now().checked_add(timeout);
        loop {
            let seen = self.shared.follow.seen();
            let progress = self.progress(after_position).map_err(read_error)?;
            if progress.settled > after_position {
                return Ok(progress.settled);
            }
            let remaining = deadline.map_or(LISTEN_RECHECK, |d| {
                d.saturating_duration_since(Instant::now())
            });
            if remaining.is_zero() {
                return Ok(progress.head.min(after_position));
            }
            let nap = if progress.pending {
                GAP_RECHECK
            } else if listening.is_listening() {
                LISTEN_RECHECK
            } else {
                APPEND_POLL_INTERVAL
            };
            self.shared.follow.wait(seen, remaining.min(nap));
        }
    }
}

pub(crate) fn read_error(error: PgError) -> ReadError {
    ReadError::Backend(Box::new(error))
}
