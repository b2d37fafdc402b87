//! The statements the store runs, spelled once per schema, and the JSON column type.

use std::error::Error;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::{BufMut, BytesMut};
use tokio_postgres::types::{to_sql_checked, FromSql, IsNull, ToSql, Type};

/// Every statement the store prepares; the index into a connection's statement cache.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Stmt {
    Append,
    ReadAll,
    ReadStream,
    Progress,
    StreamVersion,
    Head,
    LoadSnapshot,
    SaveSnapshot,
    LoadCheckpoint,
    SaveCheckpoint,
    Notify,
}

impl Stmt {
    pub(crate) const COUNT: usize = Stmt::Notify as usize + 1;
}

/// The columns of an event, in the order `ReadAll` and `ReadStream` return them.
const EVENT_COLUMNS: &str = "position, stream_id, stream_version, event_id, event_type, \
                             schema_version, payload, metadata, recorded_at_ns";

/// The snapshot's oldest running transaction id, computed once per statement.
const SNAPSHOT_XMIN: &str =
    "WITH snap AS (SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint AS xmin)";

/// The statement texts for one schema.
#[derive(Debug, Clone)]
pub(crate) struct Sql {
    texts: Vec<String>,
    channel: String,
}

impl Sql {
    /// `schema` is validated: a plain lowercase identifier, safe to splice.
    pub(crate) fn new(schema: &str) -> Self {
        let text = |which: Stmt| match which {
            Stmt::Append => format!(
                "SELECT outcome, out_version, out_position, out_event_id, out_stream_id \
                 FROM {schema}.append($1, $2, $3, $4, $5, $6, $7, $8)"
            ),
            Stmt::ReadAll => format!(
                "{SNAPSHOT_XMIN} SELECT {EVENT_COLUMNS}, writer_xid, (SELECT xmin FROM snap) \
                 FROM {schema}.events WHERE position >= $1 ORDER BY position LIMIT $2"
            ),
            Stmt::ReadStream => format!(
                "SELECT {EVENT_COLUMNS} FROM {schema}.events \
                 WHERE stream_id = $1 AND stream_version >= $2 ORDER BY stream_version LIMIT $3"
            ),
            Stmt::Progress => format!(
                "{SNAPSHOT_XMIN} SELECT position, writer_xid, (SELECT xmin FROM snap) \
                 FROM {schema}.events WHERE position >= $1 ORDER BY position LIMIT $2"
            ),
            Stmt::StreamVersion => format!(
                "SELECT coalesce(max(stream_version), 0)::bigint FROM {schema}.events \
                 WHERE stream_id = $1"
            ),
            Stmt::Head => format!(
                "{SNAPSHOT_XMIN} SELECT position, writer_xid, (SELECT xmin FROM snap) \
                 FROM {schema}.events WHERE position < $1 ORDER BY position DESC LIMIT $2"
            ),
            Stmt::LoadSnapshot => format!(
                "SELECT stream_version, fingerprint, state FROM {schema}.snapshots \
                 WHERE stream_id = $1"
            ),
            Stmt::SaveSnapshot => format!(
                "INSERT INTO {schema}.snapshots (stream_id, stream_version, fingerprint, state) \
                 VALUES ($1, $2, $3, $4) ON CONFLICT (stream_id) DO UPDATE SET \
                 stream_version = excluded.stream_version, fingerprint = excluded.fingerprint, \
                 state = excluded.state, saved_at = now()"
            ),
            Stmt::LoadCheckpoint => {
                format!("SELECT position FROM {schema}.checkpoints WHERE projection = $1")
            }
            Stmt::SaveCheckpoint => format!(
                "INSERT INTO {schema}.checkpoints (projection, position) VALUES ($1, $2) \
                 ON CONFLICT (projection) DO UPDATE SET position = excluded.position, \
                 saved_at = now()"
            ),
            Stmt::Notify => "SELECT pg_notify($1, $2)".to_owned(),
        };
        let all = [
            Stmt::Append,
            Stmt::ReadAll,
            Stmt::ReadStream,
            Stmt::Progress,
            Stmt::StreamVersion,
            Stmt::Head,
            Stmt::LoadSnapshot,
            Stmt::SaveSnapshot,
            Stmt::LoadCheckpoint,
            Stmt::SaveCheckpoint,
            Stmt::Notify,
        ];
        debug_assert!(all.iter().enumerate().all(|(i, s)| *s as usize == i));
        Self {
            texts: all.into_iter().map(text).collect(),
            channel: channel(schema),
        }
    }

    pub(crate) fn text(&self, which: Stmt) -> &str {
        &self.texts[which as usize]
    }

    /// The `LISTEN`/`NOTIFY` channel that announces appends to this schema's log.
    pub(crate) fn channel(&self) -> &str {
        &self.channel
    }
}

/// The notification channel of a schema: a plain identifier (schemas are at most 48 bytes).
pub(crate) fn channel(schema: &str) -> String {
    format!("es_appended_{schema}")
}

/// JSON text passed to a `json` parameter exactly as given: no parse, no re-serialisation, so
/// payloads keep their bytes (key order, number spelling); and a `json` column read back as
/// the exact text stored, borrowed from the row.
#[derive(Debug)]
pub(crate) struct JsonText<'a>(pub &'a [u8]);

impl ToSql for JsonText<'_> {
    fn to_sql(&self, _: &Type, out: &mut BytesMut) -> Result<IsNull, Box<dyn Error + Sync + Send>> {
        // The binary form of `json` is its text.
        out.put_slice(self.0);
        Ok(IsNull::No)
    }

    fn accepts(ty: &Type) -> bool {
        *ty == Type::JSON
    }

    to_sql_checked!();
}

impl<'a> FromSql<'a> for JsonText<'a> {
    fn from_sql(_: &Type, raw: &'a [u8]) -> Result<Self, Box<dyn Error + Sync + Send>> {
        // The binary form of `json` is its text.
        Ok(JsonText(raw))
    }

    fn accepts(ty: &Type) -> bool {
        *ty == Type::JSON
    }
}

/// Nanoseconds since the Unix epoch, negative before it, saturating beyond ±292 years.
pub(crate) fn nanos_from_time(time: SystemTime) -> i64 {
    match time.duration_since(UNIX_EPOCH) {
        Ok(after) => i64::try_from(after.as_nanos()).unwrap_or(i64::MAX),
        Err(before) => i64::try_from(before.duration().as_nanos()).map_or(i64::MIN, |n| -n),
    }
}

pub(crate) fn time_from_nanos(nanos: i64) -> SystemTime {
    let magnitude = Duration::from_nanos(nanos.unsigned_abs());
    if nanos >= 0 {
        UNIX_EPOCH + magnitude
    } else {
        UNIX_EPOCH - magnitude
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
