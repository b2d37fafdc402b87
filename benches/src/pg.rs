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
const BARE_TABLE: &str = "
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
    horizon bigint NOT NULL
)";

const BARE_COLUMNS: &str = "position, stream_id, stream_version, event_id, event_type, \
                            schema_version, payload, metadata, recorded_at_ns, horizon";

const BARE_TYPES: [Type; 10] = [
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
const EMPTY_METADATA: &[u8] = b"{}";

/// JSON text sent as is (the binary form of `json` is its text), as the store sends payloads.
#[derive(Debug)]
struct JsonText<'a>(&'a [u8]);

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
struct JsonSlice<'a>(&'a [u8]);

impl<'a> FromSql<'a> for JsonSlice<'a> {
    fn from_sql(_: &Type, raw: &'a [u8]) -> Result<Self, Box<dyn Error + Sync + Send>> {
        Ok(JsonSlice(raw))
    }

    fn accepts(ty: &Type) -> bool {
        *ty == Type::JSON
    }
}

/// A schema of its own for one run, dropped with everything in it when this is dropped.
struct BenchSchema {
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
fn checkpoint(client: &mut Client) {
    if let Err(error) = client.batch_execute("CHECKPOINT") {
        eprintln!("CHECKPOINT refused ({error}); measuring without it");
    }
}

/// The server's WAL insert position, in bytes and as an LSN: the difference across a
/// measurement is the WAL it wrote (shown on stderr, to explain the figures).
fn wal_position(client: &mut Client) -> (i64, String) {
    client
        .query_one(
            "SELECT pg_wal_lsn_diff(pg_current_wal_insert_lsn(), '0/0')::bigint, \
                    pg_current_wal_insert_lsn()::text",
            &[],
        )
        .map_or((0, String::new()), |row| (row.get(0), row.get(1)))
}

/// Runs `f`, and says on stderr how much WAL it wrote per event; returns its seconds.
fn timed_with_wal(admin: &mut Client, what: &str, events: u64, f: impl FnOnce() -> f64) -> f64 {
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
struct Tally {
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
fn process_cpu_secs() -> f64 {
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

fn now_nanos() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_nanos()).unwrap_or(i64::MAX))
}

/// One row of `bare_events`, built before any clock starts.
struct BareRow {
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

    /// The row's values; `horizon` is 0, as the peer has no ordering to keep.
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
fn bare_batch(scale: &Scale, b: u64) -> Vec<BareRow> {
    let stream = batch_stream(b);
    batch_events(scale, b, Generation::V1)
        .into_iter()
        .zip(1..)
        .map(|(event, version)| BareRow::new(b * scale.batch + version, &stream, version, event))
        .collect()
}

/// One binary `COPY` of `rows` into `table`, in its own (autocommit) transaction.
fn copy_rows(client: &mut Client, schema: &BenchSchema, table: &str, rows: &[BareRow]) {
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

fn batch_appends(
    scale: &Scale,
    schema: &BenchSchema,
    store: &PgStore,
    admin: &mut Client,
) -> Vec<Row> {
    let batches = scale.events / scale.batch;
    let mut client = schema.client();

    // Batch by batch, in turns, who goes first alternating: a COPY into the keyless table and
    // the store's append, so that a change in the machine's load falls on both alike.
    checkpoint(admin);
    let (mut bare, mut ours) = (Tally::default(), Tally::default());
    for b in 0..batches {
        let rows = bare_batch(scale, b);
        let mut events = batch_events(scale, b, Generation::V1);
        for turn in 0..2 {
            if (b + turn) % 2 == 0 {
                bare.add(admin, || {
                    seconds(|| copy_rows(&mut client, schema, "bare_events", &rows))
                });
            } else {
                let events = std::mem::take(&mut events);
                ours.add(admin, || {
                    seconds(|| {
                        store
                            .append(&batch_stream(b), ExpectedVersion::NoStream, events)
                            .expect("batch append to PostgreSQL");
                    })
                });
            }
        }
    }
    bare.report("COPY per batch, no keys", scale.events);
    ours.report("PgStore batch appends", scale.events);
    let (copy_secs, store_secs) = (bare.secs, ours.secs);
    admin
        .batch_execute(&schema.sql("TRUNCATE {schema}.bare_events"))
        .expect("empty the keyless table");

    // What the store's keys cost: the same COPYs into a copy of its table, keys included; on
    // their own, since beside the store's table their indexes would compete with its indexes
    // for the server's buffers, and their WAL would bring its checkpoints sooner.
    admin
        .batch_execute(
            &schema.sql("CREATE TABLE {schema}.keyed_events (LIKE {schema}.events INCLUDING ALL)"),
        )
        .expect("create the keyed table");
    checkpoint(admin);
    let keyed_secs = timed_with_wal(admin, "COPY per batch, keys", scale.events, || {
        let mut secs = 0.0;
        for b in 0..batches {
            let rows = bare_batch(scale, b);
            secs += seconds(|| copy_rows(&mut client, schema, "keyed_events", &rows));
        }
        secs
    });
    admin
        .batch_execute(&schema.sql("DROP TABLE {schema}.keyed_events"))
        .expect("drop the keyed table");

    // The server's limit: the same rows in one COPY, one commit.
    let all: Vec<BareRow> = (0..batches).flat_map(|b| bare_batch(scale, b)).collect();
    checkpoint(admin);
    let one_copy_secs = timed_with_wal(admin, "one COPY, no keys", scale.events, || {
        seconds(|| copy_rows(&mut client, schema, "bare_events", &all))
    });
    drop(all);
    admin
        .batch_execute(&schema.sql("TRUNCATE {schema}.bare_events"))
        .expect("empty the keyless table");
    assert_eq!(
        store.head_position().expect("the store's head"),
        batches * scale.batch,
        "every batch is stored"
    );

    let what = format!(
        "PostgreSQL batch appends, {} events in batches of {}",
        scale.events, scale.batch
    );
    let ours = Figure::new("PgStore", per_sec(scale.events, store_secs), PER_SEC);
    vec![
        Row::ratio(
            &what,
            ours.clone(),
            Figure::new(
                "binary COPY of each batch, no keys",
                per_sec(scale.events, copy_secs),
                PER_SEC,
            ),
            Some(Target::AtLeast(0.5)),
        ),
        Row::ratio(
            &what,
            ours.clone(),
            Figure::new(
                "binary COPY of each batch, the store's keys",
                per_sec(scale.events, keyed_secs),
                PER_SEC,
            ),
            None,
        ),
        Row::ratio(
            &what,
            ours,
            Figure::new(
                "one binary COPY of every row, no keys",
                per_sec(scale.events, one_copy_secs),
                PER_SEC,
            ),
            None,
        ),
    ]
}

/// The peer's decode: the payload parsed by `serde_json` into the struct of its stored
/// version, turned into today's event by the same `From` steps the derive chains, and applied.
/// What the replay does less the store: no envelope, no metadata, no stream id or event id.
fn decode_typed(totals: &mut ShopTotals, tag: &str, version: i64, json: &[u8]) {
    let parse_error = "benchmark payloads parse";
    let event = match (tag, version) {
        ("OrderPlaced", 1) => {
            let v1: OrderPlacedV1 = serde_json::from_slice(json).expect(parse_error);
            ShopEvent::Placed(OrderPlaced::from(OrderPlacedV2::from(v1)))
        }
        ("PaymentCaptured", 1) => {
            let v1: PaymentCapturedV1 = serde_json::from_slice(json).expect(parse_error);
            ShopEvent::Paid(PaymentCaptured::from(PaymentCapturedV2::from(v1)))
        }
        ("OrderShipped", 1) => {
            let v1: OrderShippedV1 = serde_json::from_slice(json).expect(parse_error);
            ShopEvent::Shipped(OrderShipped::from(OrderShippedV2::from(v1)))
        }
        other => panic!("the replayed log holds only v1 events, not {other:?}"),
    };
    totals.apply_event(&event);
}

fn replays(scale: &Scale, schema: &BenchSchema, store: &PgStore) -> Vec<Row> {
    let mut client = schema.client();
    let select = schema
        .sql("SELECT event_type, schema_version, payload FROM {schema}.events ORDER BY position");
    let store_run = || {
        let mut totals = ShopTotals::default();
        let mut events = 0u64;
        let cpu = process_cpu_secs();
        let secs = seconds(|| {
            for stored in store.read_all(1).expect("read the PostgreSQL log") {
                let stored = stored.expect("the PostgreSQL log reads");
                events += 1;
                for event in ShopEvent::decode(&stored).expect("benchmark events decode") {
                    totals.apply_event(&event);
                }
            }
        });
        eprintln!(
            "   PgStore replay: {secs:.3} s, {:.2} s of CPU in this process",
            process_cpu_secs() - cpu
        );
        (secs, events, totals)
    };
    let mut bare_run = || {
        let mut totals = ShopTotals::default();
        let mut events = 0u64;
        let cpu = process_cpu_secs();
        let secs = seconds(|| {
            let mut rows = client
                .query_raw(&select, std::iter::empty::<i64>())
                .expect("run the bare SELECT");
            while let Some(row) = rows.next().expect("read a row") {
                let tag: &str = row.get(0);
                let version: i64 = row.get(1);
                let JsonSlice(payload) = row.get(2);
                events += 1;
                decode_typed(&mut totals, tag, version, payload);
            }
        });
        eprintln!(
            "   bare SELECT replay: {secs:.3} s, {:.2} s of CPU in this process",
            process_cpu_secs() - cpu
        );
        (secs, events, totals)
    };
    // One warm-up of each, then alternating timed runs; the median of each.
    let (_, _, warm_store) = store_run();
    let (_, _, warm_bare) = bare_run();
    assert_eq!(warm_store, warm_bare, "both replays fold the same events");
    let (mut store_secs, mut bare_secs) = (Vec::new(), Vec::new());
    for _ in 0..scale.runs {
        let (secs, events, totals) = store_run();
        assert_eq!((events, &totals), (scale.events, &warm_store));
        store_secs.push(secs);
        let (secs, events, totals) = bare_run();
        assert_eq!((events, &totals), (scale.events, &warm_store));
        bare_secs.push(secs);
    }
    vec![Row::ratio(
        &format!(
            "PostgreSQL replay of {} v1 events (read, decode, 2 typed upcasts, apply)",
            scale.events
        ),
        Figure::new(
            "PgStore read_all + decode",
            per_sec(scale.events, median(store_secs)),
            PER_SEC,
        ),
        Figure::new(
            "bare SELECT … ORDER BY position + serde_json",
            per_sec(scale.events, median(bare_secs)),
            PER_SEC,
        ),
        Some(Target::AtLeast(0.8)),
    )]
}

fn concurrent_writers(
    scale: &Scale,
    schema: &BenchSchema,
    store: &PgStore,
    admin: &mut Client,
) -> Vec<Row> {
    let (writers, per_writer) = (scale.writers, scale.pg_per_writer);
    let total = writers * per_writer;
    let index = |n: u64| usize::try_from(n).expect("an index");
    // Built before the clock starts; a clone inside the timed loop copies a few hundred bytes.
    let prepared: Vec<Vec<NewEvent>> = (0..writers)
        .map(|w| {
            (0..=per_writer)
                .map(|i| new_event(w * (per_writer + 1) + i, Generation::Current))
                .collect()
        })
        .collect();
    let event = |w: u64, i: u64| prepared[index(w)][index(i)].clone();
    let stream = |w: u64| format!("writer-{w}");

    // Version 1 of each writer's stream is its warm-up: every connection opened and its
    // statements prepared before the clock starts.
    let _warm_up = concurrent(writers, 1, |w, _| {
        store
            .append(&stream(w), ExpectedVersion::NoStream, vec![event(w, 0)])
            .expect("append to PostgreSQL");
    });
    let insert = schema.sql(&format!(
        "INSERT INTO {{schema}}.bare_events ({BARE_COLUMNS}) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"
    ));
    let rows: Vec<Vec<BareRow>> = (0..writers)
        .map(|w| {
            (0..=per_writer)
                .map(|i| BareRow::new(w * (per_writer + 1) + i + 1, &stream(w), i + 1, event(w, i)))
                .collect()
        })
        .collect();
    let clients: Vec<Mutex<(Client, postgres::Statement)>> = (0..writers)
        .map(|w| {
            let mut client = schema.client();
            let statement = client.prepare(&insert).expect("prepare the INSERT");
            rows[index(w)][0]
                .with_params(|params| client.execute(&statement, params))
                .expect("INSERT a row");
            Mutex::new((client, statement))
        })
        .collect();
    // Event k (from 1) of writer w: the store appends it at expected version k, the peer
    // inserts row k. Two rounds each, in the order store, peer, peer, store, so that a change
    // in the machine's load falls on both alike.
    let store_round = |first: u64, count: u64| {
        concurrent(writers, count, |w, i| {
            let k = first + i;
            store
                .append(&stream(w), ExpectedVersion::Exact(k), vec![event(w, k)])
                .expect("append to PostgreSQL");
        })
    };
    let bare_round = |first: u64, count: u64| {
        concurrent(writers, count, |w, i| {
            let mut guard = clients[index(w)]
                .lock()
                .expect("each writer has its own client");
            let (client, statement) = &mut *guard;
            rows[index(w)][index(first + i)]
                .with_params(|params| client.execute(&*statement, params))
                .expect("INSERT a row");
        })
    };
    let (first_round, second_round) = (per_writer / 2, per_writer - per_writer / 2);
    let (mut ours, mut bare) = (Tally::default(), Tally::default());
    checkpoint(admin);
    ours.add(admin, || store_round(1, first_round));
    bare.add(admin, || bare_round(1, first_round));
    bare.add(admin, || bare_round(1 + first_round, second_round));
    ours.add(admin, || store_round(1 + first_round, second_round));
    ours.report("PgStore, 16 writers", total);
    bare.report("INSERTs, 16 writers", total);
    let (store_secs, bare_secs) = (ours.secs, bare.secs);
    vec![Row::ratio(
        &format!("PostgreSQL appends, 1 event per call, {writers} writers"),
        Figure::new("PgStore", per_sec(total, store_secs), PER_SEC),
        Figure::new(
            "autocommit INSERTs, no keys",
            per_sec(total, bare_secs),
            PER_SEC,
        ),
        Some(Target::AtLeast(0.5)),
    )]
}

/// A `PgStore` appends single events at a steady pace; a second `PgStore` on the same schema
/// (as another process would open it) follows the log with a `Subscription`. Each event's
/// latency runs from the moment its `append` returned to the moment the subscription handed
/// it out; an event handed out before its `append` returned counts as negative.
fn latency(scale: &Scale, schema: &BenchSchema, store: &PgStore) -> Vec<Row> {
    let warm_up = 10;
    let count = scale.latency_events;
    let follower = schema.store(2);
    let after = follower.head_position().expect("the log's head");
    let stream = "latency";
    let (delivered_tx, delivered_rx) = mpsc::channel::<(u64, Instant)>();
    let (ready_tx, ready_rx) = mpsc::channel::<()>();
    let returned = std::thread::scope(|scope| {
        let follower = &follower;
        scope.spawn(move || {
            let subscription = Subscription::<ShopEvent, _>::after(follower, after)
                .with_stop_check_interval(Duration::from_millis(50));
            let mut left = warm_up + count;
            for item in subscription {
                let at = Instant::now();
                match item.expect("the subscription reads the log") {
                    SubscriptionItem::CaughtUp { .. } => {
                        let _ = ready_tx.send(());
                    }
                    SubscriptionItem::Event(envelope) => {
                        let _ = delivered_tx.send((envelope.position, at));
                        left -= 1;
                        if left == 0 {
                            break;
                        }
                    }
                }
            }
        });
        ready_rx.recv().expect("the subscription catches up");
        // The subscription starts `LISTEN` when it first waits; the warm-up events cover the
        // rest of its start.
        std::thread::sleep(Duration::from_millis(200));
        let mut returned = Vec::new();
        let mut next = Instant::now();
        for i in 0..warm_up + count {
            let event = new_event(i, Generation::Current);
            std::thread::sleep(next.saturating_duration_since(Instant::now()));
            next += scale.latency_interval;
            let outcome = store
                .append(stream, ExpectedVersion::Exact(i), vec![event])
                .expect("append to PostgreSQL");
            returned.push((outcome.first_position, Instant::now()));
        }
        returned
    });
    let delivered: std::collections::HashMap<u64, Instant> = delivered_rx.iter().collect();
    let millis: Vec<f64> = returned
        .iter()
        .skip(usize::try_from(warm_up).expect("warm-up count"))
        .map(|(position, at)| {
            let seen = delivered
                .get(position)
                .expect("the subscription delivered every event");
            match seen.checked_duration_since(*at) {
                Some(late) => late.as_secs_f64() * 1e3,
                None => -(at.duration_since(*seen).as_secs_f64() * 1e3),
            }
        })
        .collect();
    let early = millis.iter().filter(|ms| **ms < 0.0).count();
    if early > 0 {
        eprintln!("{early} of {count} events were delivered before their append returned");
    }
    let pace = scale.latency_interval.as_secs_f64() * 1e3;
    let what = |p: &str| {
        format!(
            "PostgreSQL append-to-subscriber latency {p}, 2 PgStores, {count} events, one per {pace} ms"
        )
    };
    vec![
        Row::single(
            &what("p50"),
            Figure::new("Subscription", percentile(&millis, 0.50), "ms"),
            None,
        ),
        Row::single(
            &what("p99"),
            Figure::new("Subscription", percentile(&millis, 0.99), "ms"),
            None,
        ),
    ]
}

/// The nearest-rank percentile `p` (0 to 1) of `values`.
fn percentile(values: &[f64], p: f64) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    // Ranks far below 2^52: exact as f64.
    #[allow(
        clippy::cast_precision_loss,
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss
    )]
    let rank = ((p * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1]
}
