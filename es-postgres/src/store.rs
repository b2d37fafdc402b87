//! [`PgStore`]: the event log in PostgreSQL, shared by every process that connects to it.

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use es_core::store::backend::{
    plan_append, validate_batch, AppendPlan, EventIter, StoredId, APPEND_POLL_INTERVAL,
};
use es_core::{
    AppendError, AppendOutcome, EventStore, ExpectedVersion, NewEvent, ReadError, StoredEvent,
};
use serde_json::Value;
use tokio_postgres::types::ToSql;
use tokio_postgres::Row;
use uuid::Uuid;

use crate::error::{ConnectError, PgError};
use crate::follow::Follow;
use crate::layout;
use crate::options::{self, PgOptions};
use crate::order::{settled_head, settled_prefix, Placed};
use crate::pool::Pool;
use crate::runtime::{Pending, Runtime};
use crate::sql::{JsonBytes, JsonText, Sql, Stmt};

/// The longest stream id the store accepts, in bytes: PostgreSQL's B-tree index limits how
/// large a key of its (stream, version) index may be.
pub const MAX_STREAM_ID_BYTES: usize = 2000;

/// How often one append retries after losing a race for its stream's next version or for an
/// event id, before it gives up; each retry re-reads and decides again.
const APPEND_RACE_RETRIES: usize = 1000;

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
    read_batch: usize,
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

    fn target(&self) -> &str {
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

    fn start_query(
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

    fn single_u64(&self, which: Stmt, operation: String, params: Params) -> Result<u64, PgError> {
        let rows = self.query(which, operation, params)?;
        let value: i64 = rows.first().map_or(0, |row| row.get(0));
        self.unsigned(value, "counter")
    }

    fn unsigned(&self, value: i64, what: &'static str) -> Result<u64, PgError> {
        u64::try_from(value).map_err(|_| PgError::Malformed {
            target: self.target().to_owned(),
            what,
            reason: format!("{value} is negative"),
        })
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

    fn placed(&self, row: &Row, position: usize, writer_xid: usize) -> Result<Placed, PgError> {
        Ok(Placed {
            position: self.unsigned(row.get(position), "position")?,
            writer_xid: self.unsigned(row.get(writer_xid), "writer transaction id")?,
        })
    }

    fn stored_event(&self, row: &Row) -> Result<StoredEvent, PgError> {
        let malformed = |what, reason: String| PgError::Malformed {
            target: self.target().to_owned(),
            what,
            reason,
        };
        let JsonBytes(metadata) = row.get(7);
        let metadata = match serde_json::from_slice::<Value>(&metadata) {
            Ok(Value::Object(map)) => map,
            Ok(other) => return Err(malformed("metadata", format!("not an object: {other}"))),
            Err(error) => return Err(malformed("metadata", error.to_string())),
        };
        let schema_version: i64 = row.get(5);
        let JsonBytes(payload) = row.get(6);
        Ok(StoredEvent {
            position: self.unsigned(row.get(0), "position")?,
            stream_id: row.get(1),
            stream_version: self.unsigned(row.get(2), "stream version")?,
            event_id: row.get(3),
            event_type: row.get(4),
            schema_version: u32::try_from(schema_version).map_err(|_| {
                malformed(
                    "schema version",
                    format!("{schema_version} is out of range"),
                )
            })?,
            payload,
            metadata,
            recorded_at: time_from_nanos(row.get(8)),
        })
    }

    fn append_once(&self, batch: &Arc<Batch>) -> Result<Vec<Row>, PgError> {
        let pool = Arc::clone(&self.shared.pool);
        let batch = Arc::clone(batch);
        self.run(async move {
            let mut connection = pool.get().await?;
            let operation = || format!("append to stream `{}`", batch.stream_id);
            let statement = match connection.statement(Stmt::Append).await {
                Ok(statement) => statement,
                Err(source) => return Err(connection.fail(operation(), source)),
            };
            let payloads: Vec<JsonText<'_>> = batch.payloads.iter().map(|p| JsonText(p)).collect();
            let metadata: Vec<JsonText<'_>> = batch.metadata.iter().map(|m| JsonText(m)).collect();
            let result = connection
                .client()
                .query(
                    &statement,
                    &[
                        &batch.stream_id,
                        &batch.expected,
                        &batch.ids,
                        &batch.types,
                        &batch.versions,
                        &payloads,
                        &metadata,
                        &batch.recorded_ns,
                    ],
                )
                .await;
            result.map_err(|source| connection.fail(operation(), source))
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

/// An append's arguments in the form of the `append` function's array parameters.
struct Batch {
    stream_id: String,
    expected: i64,
    ids: Vec<Uuid>,
    types: Vec<String>,
    versions: Vec<i64>,
    payloads: Vec<Vec<u8>>,
    metadata: Vec<Vec<u8>>,
    recorded_ns: Vec<Option<i64>>,
}

impl Batch {
    fn new(stream_id: &str, expected: ExpectedVersion, events: &[NewEvent]) -> Self {
        let expected = match expected {
            ExpectedVersion::Any => -1,
            ExpectedVersion::StreamExists => -2,
            ExpectedVersion::NoStream => 0,
            // No stream reaches i64::MAX events, so the clamp keeps a conflict a conflict.
            ExpectedVersion::Exact(version) => signed(version),
        };
        Self {
            stream_id: stream_id.to_owned(),
            expected,
            ids: events.iter().map(NewEvent::event_id).collect(),
            types: events.iter().map(|e| e.event_type().to_owned()).collect(),
            versions: events
                .iter()
                .map(|e| i64::from(e.schema_version()))
                .collect(),
            payloads: events.iter().map(|e| e.payload().to_vec()).collect(),
            metadata: events
                .iter()
                .map(|e| Value::Object(e.metadata().clone()).to_string().into_bytes())
                .collect(),
            recorded_ns: events
                .iter()
                .map(|e| e.recorded_at().map(nanos_from_time))
                .collect(),
        }
    }
}

/// What PostgreSQL cannot store that the generic checks let through.
fn validate_for_postgres(stream_id: &str, events: &[NewEvent]) -> Result<(), AppendError> {
    if stream_id.len() > MAX_STREAM_ID_BYTES {
        return Err(AppendError::InvalidStreamId {
            stream_id: stream_id.chars().take(64).collect(),
            reason: "a stream id must be at most 2000 bytes in PostgreSQL",
        });
    }
    if stream_id.contains('\0') {
        return Err(AppendError::InvalidStreamId {
            stream_id: stream_id.to_owned(),
            reason: "PostgreSQL text cannot hold a NUL character",
        });
    }
    if let Some(event) = events.iter().find(|e| e.event_type().contains('\0')) {
        return Err(AppendError::Backend(Box::new(PgError::Malformed {
            target: String::new(),
            what: "event type",
            reason: format!(
                "event {}: PostgreSQL text cannot hold a NUL character",
                event.event_id()
            ),
        })));
    }
    Ok(())
}

/// A count or position as PostgreSQL's `bigint`; none reaches `i64::MAX`.
fn signed(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

/// Nanoseconds since the Unix epoch, negative before it, saturating beyond ±292 years.
fn nanos_from_time(time: SystemTime) -> i64 {
    match time.duration_since(UNIX_EPOCH) {
        Ok(after) => i64::try_from(after.as_nanos()).unwrap_or(i64::MAX),
        Err(before) => i64::try_from(before.duration().as_nanos()).map_or(i64::MIN, |n| -n),
    }
}

fn time_from_nanos(nanos: i64) -> SystemTime {
    let magnitude = Duration::from_nanos(nanos.unsigned_abs());
    if nanos >= 0 {
        UNIX_EPOCH + magnitude
    } else {
        UNIX_EPOCH - magnitude
    }
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
        validate_batch(stream_id, &events)?;
        validate_for_postgres(stream_id, &events)?;
        let batch = Arc::new(Batch::new(stream_id, expected, &events));
        for _ in 0..APPEND_RACE_RETRIES {
            let rows = match self.append_once(&batch) {
                Ok(rows) => rows,
                // Another append took the stream's next version or one of the ids between our
                // look and our insert; look again.
                Err(error) if error.sql_state() == Some("23505") => continue,
                Err(error) => return Err(AppendError::Backend(Box::new(error))),
            };
            let decided =
                decide(stream_id, expected, &events, &rows).map_err(|error| match error {
                    Decided::Refused(error) => error,
                    Decided::Malformed(reason) => {
                        AppendError::Backend(Box::new(PgError::Malformed {
                            target: self.target().to_owned(),
                            what: "append outcome",
                            reason,
                        }))
                    }
                })?;
            if let Some(outcome) = decided {
                if !outcome.already_stored {
                    self.shared.follow.appended(self, outcome.last_position);
                }
                return Ok(outcome);
            }
        }
        Err(AppendError::Unavailable {
            reason: format!(
                "stream `{stream_id}` changed under {APPEND_RACE_RETRIES} attempts in a row"
            ),
        })
    }

    fn read_stream(&self, stream_id: &str, from_version: u64) -> Result<EventIter<'_>, ReadError> {
        let stream_id = stream_id.to_owned();
        let limit = signed(self.shared.read_batch as u64);
        let mut next = from_version.max(1);
        Ok(Box::new(Pages::new(move || {
            let rows = self.query(
                Stmt::ReadStream,
                format!("read stream `{stream_id}`"),
                vec![
                    Box::new(stream_id.clone()),
                    Box::new(signed(next)),
                    Box::new(limit),
                ],
            )?;
            let full = rows.len() as u64 == self.shared.read_batch as u64;
            let events = rows
                .iter()
                .map(|row| self.stored_event(row))
                .collect::<Result<Vec<_>, _>>()?;
            if let Some(last) = events.last() {
                next = last.stream_version + 1;
            }
            Ok((events, full))
        })))
    }

    fn read_all(&self, from_position: u64) -> Result<EventIter<'_>, ReadError> {
        Ok(Box::new(AllEvents {
            store: self,
            next: from_position.max(1),
            pending: None,
            buffer: Vec::new().into_iter(),
            done: false,
        }))
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

enum Decided {
    Refused(AppendError),
    Malformed(String),
}

/// Turns the `append` function's answer into an outcome, an error, or `None`: look again.
fn decide(
    stream_id: &str,
    expected: ExpectedVersion,
    events: &[NewEvent],
    rows: &[Row],
) -> Result<Option<AppendOutcome>, Decided> {
    let count = events.len() as u64;
    let kind = |row: &Row| row.get::<_, String>(0);
    let number = |row: &Row, column: usize| -> Result<u64, Decided> {
        let value: Option<i64> = row.get(column);
        value
            .and_then(|v| u64::try_from(v).ok())
            .ok_or_else(|| Decided::Malformed(format!("column {column} is {value:?}")))
    };
    let Some(first) = rows.first() else {
        return Err(Decided::Malformed("no row".to_owned()));
    };
    match kind(first).as_str() {
        "written" => {
            let before = number(first, 1)?;
            let position = number(first, 2)?;
            Ok(Some(AppendOutcome::new(
                before + count,
                position,
                position + count - 1,
                false,
            )))
        }
        "conflict" => {
            let current = number(first, 1)?;
            match plan_append(stream_id, expected, current, events, |_| None) {
                Err(error) => Err(Decided::Refused(error)),
                // The stream moved back into place since the function looked: look again.
                Ok(_) => Ok(None),
            }
        }
        "found" => {
            let mut found = HashMap::with_capacity(rows.len());
            for row in rows {
                let id: Option<Uuid> = row.get(3);
                let stream: Option<String> = row.get(4);
                let (Some(id), Some(stream)) = (id, stream) else {
                    return Err(Decided::Malformed(
                        "a found event without id or stream".to_owned(),
                    ));
                };
                found.insert(id, (stream, number(row, 1)?, number(row, 2)?));
            }
            let plan = plan_append(stream_id, expected, 0, events, |id| {
                found.get(&id).map(|(stream, version, position)| StoredId {
                    stream_id: stream,
                    stream_version: *version,
                    position: *position,
                })
            });
            match plan {
                Ok(AppendPlan::AlreadyStored(outcome)) => Ok(Some(outcome)),
                Ok(AppendPlan::Write { .. }) => Ok(None),
                Err(error) => Err(Decided::Refused(error)),
            }
        }
        other => Err(Decided::Malformed(format!("unknown outcome {other:?}"))),
    }
}

/// `read_all`: pages of settled events, the next page fetched while the caller works.
struct AllEvents<'a> {
    store: &'a PgStore,
    /// The position the next page starts at.
    next: u64,
    pending: Option<Pending<Result<Vec<Row>, PgError>>>,
    buffer: std::vec::IntoIter<StoredEvent>,
    done: bool,
}

impl AllEvents<'_> {
    fn start_page(&self) -> Pending<Result<Vec<Row>, PgError>> {
        let limit = signed(self.store.shared.read_batch as u64);
        self.store.start_query(
            Stmt::ReadAll,
            "read the log".to_owned(),
            vec![Box::new(signed(self.next)), Box::new(limit)],
        )
    }

    fn next_page(&mut self) -> Result<(), PgError> {
        let pending = match self.pending.take() {
            Some(pending) => pending,
            None => self.start_page(),
        };
        let rows = Runtime::wait(&pending)??;
        let Some(xmin) = rows.first().map(|row| row.get::<_, i64>(10)) else {
            self.done = true;
            return Ok(());
        };
        let xmin = self.store.unsigned(xmin, "snapshot")?;
        let placed = rows
            .iter()
            .map(|row| self.store.placed(row, 0, 9))
            .collect::<Result<Vec<_>, _>>()?;
        let settled = settled_prefix(self.next - 1, placed.iter().copied(), xmin);
        let full = rows.len() == self.store.shared.read_batch;
        if settled > 0 {
            self.next = placed[settled - 1].position + 1;
        }
        // A page that ends before its last row stopped at an append not yet committed: the
        // read ends there, and a later read (or `wait_for_append`) picks it up.
        if full && settled == rows.len() {
            self.pending = Some(self.start_page());
        } else {
            self.done = true;
        }
        self.buffer = rows[..settled]
            .iter()
            .map(|row| self.store.stored_event(row))
            .collect::<Result<Vec<_>, _>>()?
            .into_iter();
        Ok(())
    }
}

impl Iterator for AllEvents<'_> {
    type Item = Result<StoredEvent, ReadError>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if let Some(event) = self.buffer.next() {
                return Some(Ok(event));
            }
            if self.done {
                return None;
            }
            if let Err(error) = self.next_page() {
                self.done = true;
                return Some(Err(read_error(error)));
            }
        }
    }
}

/// An iterator over pages that a closure fetches: `(events, more may follow)`.
struct Pages<F> {
    fetch: F,
    buffer: std::vec::IntoIter<StoredEvent>,
    done: bool,
}

impl<F> Pages<F> {
    fn new(fetch: F) -> Self {
        Self {
            fetch,
            buffer: Vec::new().into_iter(),
            done: false,
        }
    }
}

impl<F: FnMut() -> Result<(Vec<StoredEvent>, bool), PgError>> Iterator for Pages<F> {
    type Item = Result<StoredEvent, ReadError>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if let Some(event) = self.buffer.next() {
                return Some(Ok(event));
            }
            if self.done {
                return None;
            }
            match (self.fetch)() {
                Ok((events, more)) => {
                    self.done = !more;
                    self.buffer = events.into_iter();
                }
                Err(error) => {
                    self.done = true;
                    return Some(Err(read_error(error)));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recorded_times_round_trip_through_nanoseconds_before_and_after_1970() {
        for time in [
            UNIX_EPOCH,
            UNIX_EPOCH + Duration::new(1_700_000_000, 123_456_789),
            UNIX_EPOCH - Duration::new(86_400 * 365, 1),
        ] {
            assert_eq!(time_from_nanos(nanos_from_time(time)), time);
        }
    }
}
