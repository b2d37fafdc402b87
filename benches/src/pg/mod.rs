//! The PostgreSQL rows: es-postgres's `PgStore` beside bare PostgreSQL, through the same
//! driver (tokio-postgres; the peers use its blocking wrapper, the `postgres` crate), on the
//! same server, the same rows and the same durability (`synchronous_commit` as the server has
//! it), in the same run.
//!
//! Everything happens in a fresh schema, dropped at the end (or when a measurement panics).
//! The peers write to `bare_events`: the columns and types of the store's `events` table with
//! no primary key, no unique constraint and no index.

use std::error::Error;
use std::sync::{mpsc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bytes::BytesMut;
use es_core::{Event, EventStore, ExpectedVersion, NewEvent, Subscription, SubscriptionItem};
use es_postgres::PgStore;
use postgres::binary_copy::BinaryCopyInWriter;
use postgres::fallible_iterator::FallibleIterator;
use postgres::types::{to_sql_checked, FromSql, IsNull, ToSql, Type};
use postgres::{Client, NoTls};

use crate::domain::{
    new_event, Generation, OrderPlaced, OrderPlacedV1, OrderPlacedV2, OrderShipped, OrderShippedV1,
    OrderShippedV2, PaymentCaptured, PaymentCapturedV1, PaymentCapturedV2, ShopEvent, ShopTotals,
};
use crate::measure::{median, seconds};
use crate::runs::{batch_events, batch_stream, concurrent, per_sec, Scale, PER_SEC};
use crate::table::{Figure, Row, Target};

/// The peer's table: the store's columns and types, no keys, no indexes.
pub(super) const BARE_TABLE: &str = "
CREATE TABLE {schema}.bare_events (
    position bigint NOT NULL,
    stream_id text NOT NULL,
    stream_version bigint NOT NULL,
    event_id uuid NOT NULL,
    event_type text NOT NULL,
    schema_version bigint NOT NULL,
    payload json NOT NULL,
    metadata json NOT NULL,
    recorded_at_ns bigint NOT NULL,
    writer_xid bigint NOT NULL
)";

pub(super) const BARE_COLUMNS: &str = "position, stream_id, stream_version, event_id, event_type, \
                            schema_version, payload, metadata, recorded_at_ns, writer_xid";

pub(super) const BARE_TYPES: [Type; 10] = [
    Type::INT8,
    Type::TEXT,
    Type::INT8,
    Type::UUID,
    Type::TEXT,
    Type::INT8,
    Type::JSON,
    Type::JSON,
    Type::INT8,
    Type::INT8,
];

/// What the store writes as the metadata of an event without any.
pub(super) const EMPTY_METADATA: &[u8] = b"{}";

/// JSON text sent as is (the binary form of `json` is its text), as the store sends payloads.
#[derive(Debug)]
pub(super) struct JsonText<'a>(&'a [u8]);

impl ToSql for JsonText<'_> {
    fn to_sql(&self, _: &Type, out: &mut BytesMut) -> Result<IsNull, Box<dyn Error + Sync + Send>> {
        out.extend_from_slice(self.0);
        Ok(IsNull::No)
    }

    fn accepts(ty: &Type) -> bool {
        *ty == Type::JSON
    }

    to_sql_checked!();
}

/// A `json` column borrowed from the row as its text, without a copy.
pub(super) struct JsonSlice<'a>(&'a [u8]);

impl<'a> FromSql<'a> for JsonSlice<'a> {
    fn from_sql(_: &Type, raw: &'a [u8]) -> Result<Self, Box<dyn Error + Sync + Send>> {
        Ok(JsonSlice(raw))
    }

    fn accepts(ty: &Type) -> bool {
        *ty == Type::JSON
    }
}

/// A schema of its own for one run, dropped with everything in it when this is dropped.
pub(super) struct BenchSchema {
    url: String,
    name: String,
}

impl BenchSchema {
    fn new(url: &str) -> Self {
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        Self {
            url: url.to_owned(),
            name: format!("es_bench_{}_{nanos}", std::process::id()),
        }
    }

    fn client(&self) -> Client {
        Client::connect(&self.url, NoTls).expect("the PostgreSQL server accepts a client")
    }

    /// A store on the schema; `ES_BENCH_PG_READ_BATCH` sets its page size (for profiling;
    /// the table's figures use the default).
    fn store(&self, connections: usize) -> PgStore {
        let options = PgStore::options(&self.url)
            .schema(&self.name)
            .max_connections(connections);
        let options = match std::env::var("ES_BENCH_PG_READ_BATCH")
            .ok()
            .and_then(|n| n.parse().ok())
        {
            Some(events) => options.read_batch(events),
            None => options,
        };
        options
            .connect()
            .expect("the PostgreSQL server accepts a PgStore")
    }

    fn sql(&self, text: &str) -> String {
        text.replace("{schema}", &self.name)
    }
}

impl Drop for BenchSchema {
    fn drop(&mut self) {
        let dropped = Client::connect(&self.url, NoTls).and_then(|mut client| {
            client.batch_execute(&format!("DROP SCHEMA IF EXISTS {} CASCADE", self.name))
        });
        if let Err(error) = dropped {
            eprintln!("could not drop benchmark schema {}: {error}", self.name);
        }
    }
}

/// Flushes dirty pages, so that each timed write starts without the previous one's checkpoint
/// debt. Needs a superuser (or `pg_checkpoint`); without it, the runs go on unflushed.
pub(super) fn checkpoint(client: &mut Client) {
    if let Err(error) = client.batch_execute("CHECKPOINT") {
        eprintln!("CHECKPOINT refused ({error}); measuring without it");
    }
}

/// The server's WAL insert position, in bytes and as an LSN: the difference across a
/// measurement is the WAL it wrote (shown on stderr, to explain the figures).
pub(super) fn wal_position(client: &mut Client) -> (i64, String) {
    client
        .query_one(
            "SELECT pg_wal_lsn_diff(pg_current_wal_insert_lsn(), '0/0')::bigint, \
                    pg_current_wal_insert_lsn()::text",
            &[],
        )
        .map_or((0, String::new()), |row| (row.get(0), row.get(1)))
}

/// Runs `f`, and says on stderr how much WAL it wrote per event; returns its seconds.
pub(super) fn timed_with_wal(
    admin: &mut Client,
    what: &str,
    events: u64,
    f: impl FnOnce() -> f64,
) -> f64 {
    let (before, from) = wal_position(admin);
    let secs = f();
    let (after, to) = wal_position(admin);
    let wal = after - before;
    // Sizes far below 2^52: exact as f64.
    #[allow(clippy::cast_precision_loss)]
    let per_event = wal as f64 / events as f64;
    eprintln!(
        "   {what}: {secs:.3} s, WAL {wal} bytes ({from} to {to}), {per_event:.0} bytes per event"
    );
    secs
}

/// Seconds and WAL summed over the pieces of one measurement that is taken in turns with its
/// peers, so that a change in the machine's load falls on all of them alike.
#[derive(Debug, Default)]
pub(super) struct Tally {
    secs: f64,
    wal: i64,
}

impl Tally {
    /// Adds the seconds `f` returns and the WAL the server wrote meanwhile (read outside the
    /// clock).
    fn add(&mut self, admin: &mut Client, f: impl FnOnce() -> f64) {
        let (before, _) = wal_position(admin);
        self.secs += f();
        self.wal += wal_position(admin).0 - before;
    }

    /// Says on stderr what the measurement took, and its WAL per event.
    fn report(&self, what: &str, events: u64) {
        // Sizes far below 2^52: exact as f64.
        #[allow(clippy::cast_precision_loss)]
        let per_event = self.wal as f64 / events as f64;
        eprintln!(
            "   {what}: {:.3} s, WAL {} bytes, {per_event:.0} bytes per event",
            self.secs, self.wal
        );
    }
}

/// CPU seconds (user + system) this process has used so far, every thread included; 0 where
/// `/proc` is missing.
pub(super) fn process_cpu_secs() -> f64 {
    let Ok(stat) = std::fs::read_to_string("/proc/self/stat") else {
        return 0.0;
    };
    // Fields after the command name (which may hold spaces, inside parentheses): utime and
    // stime are the 12th and 13th, in clock ticks of (nearly always) 100 Hz.
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map_or(Vec::new(), |(_, rest)| rest.split_whitespace().collect());
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    (ticks(11) + ticks(12)) / 100.0
}

pub(super) fn now_nanos() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_nanos()).unwrap_or(i64::MAX))
}

/// One row of `bare_events`, built before any clock starts.
pub(super) struct BareRow {
    position: i64,
    stream_id: String,
    stream_version: i64,
    event: NewEvent,
    recorded_at_ns: i64,
}

impl BareRow {
    fn new(position: u64, stream_id: &str, stream_version: u64, event: NewEvent) -> Self {
        Self {
            position: i64::try_from(position).expect("positions fit bigint"),
            stream_id: stream_id.to_owned(),
            stream_version: i64::try_from(stream_version).expect("versions fit bigint"),
            event,
            recorded_at_ns: now_nanos(),
        }
    }

    /// The row's values; `writer_xid` is 0, as the peer has no ordering to keep.
    fn with_params<T>(&self, f: impl FnOnce(&[&(dyn ToSql + Sync)]) -> T) -> T {
        let payload = JsonText(self.event.payload());
        let metadata = JsonText(EMPTY_METADATA);
        f(&[
            &self.position,
            &self.stream_id,
            &self.stream_version,
            &self.event.event_id(),
            &self.event.event_type(),
            &i64::from(self.event.schema_version()),
            &payload,
            &metadata,
            &self.recorded_at_ns,
            &0_i64,
        ])
    }
}

/// The rows of batch `b` as the store appends them: stream `shop-b`, versions from 1.
pub(super) fn bare_batch(scale: &Scale, b: u64) -> Vec<BareRow> {
    let stream = batch_stream(b);
    batch_events(scale, b, Generation::V1)
        .into_iter()
        .zip(1..)
        .map(|(event, version)| BareRow::new(b * scale.batch + version, &stream, version, event))
        .collect()
}

/// One binary `COPY` of `rows` into `table`, in its own (autocommit) transaction.
pub(super) fn copy_rows(client: &mut Client, schema: &BenchSchema, table: &str, rows: &[BareRow]) {
    let sink = client
        .copy_in(&schema.sql(&format!(
            "COPY {{schema}}.{table} ({BARE_COLUMNS}) FROM STDIN BINARY"
        )))
        .expect("start a COPY");
    let mut writer = BinaryCopyInWriter::new(sink, &BARE_TYPES);
    for row in rows {
        row.with_params(|params| writer.write(params))
            .expect("COPY a row");
    }
    writer.finish().expect("finish the COPY");
}

/// Runs every PostgreSQL measurement at `url`; returns the table's rows.
///
/// # Panics
/// When the server refuses a store, a statement or a connection.
pub fn rows(scale: &Scale, url: &str) -> Vec<Row> {
    let schema = BenchSchema::new(url);
    eprintln!("== PostgreSQL, schema {}", schema.name);
    let mut admin = schema.client();
    admin
        .batch_execute(&format!("CREATE SCHEMA {}", schema.name))
        .expect("create the benchmark schema");
    let store = schema.store(scale.writers_usize());
    admin
        .batch_execute(&schema.sql(BARE_TABLE))
        .expect("create the peer's table");

    let mut rows = Vec::new();
    eprintln!("== PostgreSQL batch appends of {} events", scale.events);
    rows.extend(batch_appends(scale, &schema, &store, &mut admin));
    eprintln!("== PostgreSQL replays");
    rows.extend(replays(scale, &schema, &store));
    eprintln!("== PostgreSQL single-event appends");
    rows.extend(concurrent_writers(scale, &schema, &store, &mut admin));
    eprintln!("== PostgreSQL append-to-subscriber latency");
    rows.extend(latency(scale, &schema, &store));
    drop(store);
    rows
}

mod latency;
mod replay;
mod writes;

use latency::latency;
use replay::replays;
use writes::{batch_appends, concurrent_writers};
