//! The SQLite peer: the same events in one table, WAL journal, `synchronous=FULL` (every
//! commit is synced, like the `FileStore`'s `Durability::Sync`).

use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use es_core::{NewEvent, StoredEvent, Uuid};
use rusqlite::{params, Connection};

/// The table: a global position, a unique (stream, version) for optimistic concurrency and a
/// unique event id, as the `FileStore`'s index keeps them.
const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS events (
    position       INTEGER PRIMARY KEY,
    stream_id      TEXT    NOT NULL,
    stream_version INTEGER NOT NULL,
    event_id       BLOB    NOT NULL UNIQUE,
    event_type     TEXT    NOT NULL,
    schema_version INTEGER NOT NULL,
    payload        BLOB    NOT NULL,
    metadata       BLOB    NOT NULL,
    recorded_at    INTEGER NOT NULL,
    UNIQUE (stream_id, stream_version)
);";

const INSERT: &str = "INSERT INTO events
    (stream_id, stream_version, event_id, event_type, schema_version, payload, metadata, recorded_at)
    VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)";

/// Opens (creating) the database at `path` in WAL mode with `synchronous=FULL`.
///
/// # Panics
/// When SQLite refuses: the harness cannot run without its peer.
#[must_use]
pub fn open(path: &Path) -> Connection {
    let conn = Connection::open(path).expect("open the SQLite database");
    conn.busy_timeout(Duration::from_secs(60))
        .expect("set SQLite's busy timeout");
    let mode: String = conn
        .query_row("PRAGMA journal_mode=WAL", [], |row| row.get(0))
        .expect("switch SQLite to WAL");
    assert_eq!(mode, "wal", "SQLite runs in WAL mode");
    conn.execute_batch("PRAGMA synchronous=FULL;")
        .expect("set synchronous=FULL");
    conn.execute_batch(SCHEMA).expect("create the events table");
    conn
}

fn now_nanos() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_nanos()).unwrap_or(i64::MAX))
}

/// Inserts `events` into `stream_id` from version `first_version` on, in the current
/// transaction (or each in its own, in autocommit mode).
///
/// # Panics
/// When SQLite refuses the insert.
pub fn insert(conn: &Connection, stream_id: &str, first_version: u64, events: &[NewEvent]) {
    let mut statement = conn.prepare_cached(INSERT).expect("prepare the insert");
    let recorded_at = now_nanos();
    for (i, event) in events.iter().enumerate() {
        statement
            .execute(params![
                stream_id,
                i64::try_from(first_version + i as u64).expect("versions fit SQLite's integers"),
                event.event_id().as_bytes().as_slice(),
                event.event_type(),
                event.schema_version(),
                event.payload(),
                b"".as_slice(),
                recorded_at,
            ])
            .expect("insert an event into SQLite");
    }
}

/// Appends a batch in one transaction.
///
/// # Panics
/// When SQLite refuses.
pub fn append_batch(
    conn: &mut Connection,
    stream_id: &str,
    first_version: u64,
    events: &[NewEvent],
) {
    let tx = conn.transaction().expect("begin");
    insert(&tx, stream_id, first_version, events);
    tx.commit().expect("commit");
}

/// Scans every row in position order as a [`StoredEvent`] and hands it to `each`.
///
/// # Panics
/// When SQLite fails or a row is not one the harness wrote.
pub fn scan(conn: &Connection, mut each: impl FnMut(&StoredEvent)) {
    let mut statement = conn
        .prepare(
            "SELECT position, stream_id, stream_version, event_id, event_type, schema_version,
                    payload, metadata, recorded_at
             FROM events ORDER BY position",
        )
        .expect("prepare the scan");
    let mut rows = statement.query([]).expect("run the scan");
    while let Some(row) = rows.next().expect("read a row") {
        let id: [u8; 16] = row.get(3).expect("event id");
        let metadata: Vec<u8> = row.get(7).expect("metadata");
        let nanos: i64 = row.get(8).expect("recorded at");
        let stored = StoredEvent {
            position: row.get(0).expect("position"),
            stream_id: row.get(1).expect("stream id"),
            stream_version: row.get(2).expect("stream version"),
            event_id: Uuid::from_bytes(id),
            event_type: row.get(4).expect("event type"),
            schema_version: row.get(5).expect("schema version"),
            payload: row.get(6).expect("payload"),
            // As the stores do: the text is kept, parsed only when a key is asked for.
            metadata: if metadata.is_empty() {
                es_core::Metadata::default()
            } else {
                String::from_utf8(metadata)
                    .ok()
                    .and_then(es_core::store::backend::stored_metadata)
                    .expect("metadata is a JSON object")
            },
            recorded_at: UNIX_EPOCH + Duration::from_nanos(u64::try_from(nanos).unwrap_or(0)),
        };
        each(&stored);
    }
}
