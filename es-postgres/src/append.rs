//! Appends: one call of the schema's `append` function per batch, and what its answer means.

use std::collections::HashMap;
use std::sync::Arc;

use es_core::store::backend::{plan_append, validate_batch, AppendPlan, StoredId};
use es_core::{AppendError, AppendOutcome, ExpectedVersion, NewEvent};
use tokio_postgres::Row;
use uuid::Uuid;

use crate::error::PgError;
use crate::sql::{nanos_from_time, JsonText, Stmt};
use crate::store::{signed, PgStore};

/// The longest stream id the store accepts, in bytes: PostgreSQL's B-tree index limits how
/// large a key of its (stream, version) index may be.
pub const MAX_STREAM_ID_BYTES: usize = 2000;

/// How often one append retries after losing a race for its stream's next version or for an
/// event id, before it gives up; each retry re-reads and decides again.
const APPEND_RACE_RETRIES: usize = 1000;

impl PgStore {
    /// [`EventStore::append`](es_core::EventStore::append).
    pub(crate) fn append_batch(
        &self,
        stream_id: &str,
        expected: ExpectedVersion,
        events: &[NewEvent],
    ) -> Result<AppendOutcome, AppendError> {
        validate_batch(stream_id, events)?;
        validate_for_postgres(stream_id, events)?;
        let batch = Arc::new(Batch::new(stream_id, expected, events));
        for _ in 0..APPEND_RACE_RETRIES {
            let rows = match self.append_once(&batch) {
                Ok(rows) => rows,
                // Another append took the stream's next version or one of the ids between our
                // look and our insert; look again.
                Err(error) if error.sql_state() == Some("23505") => continue,
                Err(error) => return Err(AppendError::Backend(Box::new(error))),
            };
            let decided =
                decide(stream_id, expected, events, &rows).map_err(|error| match error {
                    Decided::Refused(error) => error,
                    Decided::Malformed(reason) => {
                        AppendError::Backend(Box::new(self.malformed("append outcome", reason)))
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
                .map(|e| e.metadata().as_bytes().to_vec())
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
