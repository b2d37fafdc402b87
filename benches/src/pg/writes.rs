//! Writes: batches of 1,000 beside COPY, and single events from 16 writers beside plain INSERTs.

#[allow(clippy::wildcard_imports)]
use super::*;

pub(super) fn batch_appends(
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

pub(super) fn concurrent_writers(
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
