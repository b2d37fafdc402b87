//! Faults and hostile input: a connection killed mid-append, passwords in URLs, schema names,
//! layouts written by a newer version, stores connecting at once.

mod support;

use std::time::Duration;

use es_core::{AppendError, EventStore, ExpectedVersion, NewEvent, StoredEvent};
use es_postgres::{ConnectError, PgError, PgStore};
use serde_json::json;

fn event(n: u64) -> NewEvent {
    NewEvent::new("Numbered", 1, json!({ "n": n }))
}

fn stream(store: &PgStore, id: &str) -> Vec<StoredEvent> {
    store
        .read_stream(id, 1)
        .expect("read_stream")
        .collect::<Result<_, _>>()
        .expect("events")
}

/// Every message of an error and its sources, and its `Debug`.
fn everything_shown(error: &dyn std::error::Error) -> String {
    let mut shown = format!("{error:?}");
    let mut next = Some(error);
    while let Some(error) = next {
        shown.push('\n');
        shown.push_str(&error.to_string());
        next = error.source();
    }
    shown
}

#[test]
fn a_connection_killed_during_an_append_fails_it_whole_and_the_next_call_works() {
    let Some(fixture) = support::fixture() else {
        return;
    };
    let store = &fixture.store;
    store
        .append("acc", ExpectedVersion::NoStream, vec![event(1)])
        .expect("first append");
    let mut locker = fixture.admin();
    let mut killer = fixture.admin();
    // Hold the events table so the next append blocks inside its statement.
    let mut lock = locker.transaction().expect("begin");
    lock.batch_execute(&format!(
        "LOCK TABLE {}.events IN EXCLUSIVE MODE",
        fixture.schema
    ))
    .expect("lock");
    let result = std::thread::scope(|scope| {
        let append = scope.spawn(|| {
            store.append(
                "acc",
                ExpectedVersion::Exact(1),
                vec![event(2), event(3), event(4)],
            )
        });
        // Find the append's session waiting on the lock, and end it.
        let terminated = (0..500).find_map(|_| {
            std::thread::sleep(Duration::from_millis(10));
            let row = killer
                .query_opt(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
                     WHERE wait_event_type = 'Lock' AND query LIKE $1 LIMIT 1",
                    &[&format!("%{}.append(%", fixture.schema)],
                )
                .expect("look for the append");
            row.map(|row| row.get::<_, bool>(0))
        });
        assert_eq!(
            terminated,
            Some(true),
            "the append never blocked on the lock"
        );
        append.join().expect("append thread")
    });
    lock.rollback().expect("release the lock");

    let error = result.expect_err("the killed append fails");
    let AppendError::Backend(source) = &error else {
        panic!("not a backend error: {error:?}");
    };
    let pg = source.downcast_ref::<PgError>().expect("a PgError");
    assert!(pg.is_connection_failure(), "{pg:?}");
    let shown = everything_shown(&error);
    assert!(shown.contains("append to stream `acc`"), "{shown}");
    assert!(shown.contains("terminating connection"), "{shown}");
    // Nothing of the batch was written.
    assert_eq!(stream(store, "acc").len(), 1);
    // The store opens a new connection and goes on.
    store
        .append("acc", ExpectedVersion::Exact(1), vec![event(2), event(3)])
        .expect("the next append works");
    assert_eq!(stream(store, "acc").len(), 3);
}

#[test]
fn passwords_never_appear_in_errors_or_debug_output() {
    let Some(url) = support::database_url() else {
        return;
    };
    // Nothing listens on port 1: the connection fails.
    let error = PgStore::options("postgres://ada:pa55-w0rd-secret@127.0.0.1:1/test")
        .connect_timeout(Duration::from_secs(2))
        .connect()
        .expect_err("nothing listens on port 1");
    let shown = everything_shown(&error);
    assert!(
        matches!(error, ConnectError::Database(PgError::Connect { .. })),
        "{shown}"
    );
    assert!(shown.contains("127.0.0.1:1/test"), "{shown}");
    assert!(!shown.contains("pa55-w0rd-secret"), "{shown}");

    // The test server trusts local users, so a password in the URL is accepted and ignored.
    let with_password = url.replacen(
        "postgres://postgres@",
        "postgres://postgres:pa55-w0rd-secret@",
        1,
    );
    let options = PgStore::options(&with_password).schema(support::unique_schema());
    assert!(!format!("{options:?}").contains("pa55-w0rd-secret"));
    if let Ok(store) = options.connect() {
        assert!(!format!("{store:?}").contains("pa55-w0rd-secret"));
        let schema = store.schema().to_owned();
        drop(store);
        support::admin(&url)
            .batch_execute(&format!("DROP SCHEMA {schema} CASCADE"))
            .expect("drop schema");
    }
}

#[test]
fn unsafe_schema_names_are_refused_before_anything_is_sent() {
    let Some(url) = support::database_url() else {
        return;
    };
    for schema in ["bank; DROP TABLE x", "Bank", "", "pg_temp"] {
        let error = PgStore::options(&url)
            .schema(schema)
            .connect()
            .expect_err(schema);
        assert!(
            matches!(error, ConnectError::InvalidSchema { .. }),
            "{error}"
        );
    }
}

#[test]
fn every_value_travels_as_a_parameter() {
    let Some(fixture) = support::fixture() else {
        return;
    };
    let store = &fixture.store;
    let hostile = "acc'); DROP TABLE events; --";
    let new = NewEvent::new("Tag'\"\\", 1, json!({ "s": "'); DROP SCHEMA x; --" }))
        .with_metadata("k'", json!("v\""));
    store
        .append(hostile, ExpectedVersion::NoStream, vec![new])
        .expect("append");
    let stored = stream(store, hostile);
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0].stream_id, hostile);
    assert_eq!(stored[0].event_type, "Tag'\"\\");
    assert_eq!(stored[0].metadata_value("k'"), Some(&json!("v\"")));
}

#[test]
fn metadata_big_integers_and_key_order_survive_append_and_read() {
    let Some(fixture) = support::fixture() else {
        return;
    };
    let store = &fixture.store;
    let text = "{ \"trace\": 123456789012345678901234567890, \"b\": [1.10, -0.0, 1E+2],\n \"a\": {\"z\": \"\\u00e9\", \"x\": null} }";
    let new = NewEvent::new("E", 1, json!({}))
        .with_metadata_json(text)
        .expect("an object");
    store
        .append("meta", ExpectedVersion::NoStream, vec![new])
        .expect("append");
    let in_stream = stream(store, "meta");
    assert_eq!(in_stream[0].metadata.as_str(), text);
    let from_log: Vec<String> = store
        .read_all(1)
        .expect("read_all")
        .map(|e| e.expect("readable"))
        .filter(|e| e.stream_id == "meta")
        .map(|e| e.metadata.as_str().to_owned())
        .collect();
    assert_eq!(from_log, [text]);
    assert_eq!(in_stream[0].metadata["a"]["z"], json!("é"));
}

#[test]
fn what_postgresql_cannot_hold_is_refused_before_writing() {
    let Some(fixture) = support::fixture() else {
        return;
    };
    let store = &fixture.store;
    let too_long = "s".repeat(es_postgres::MAX_STREAM_ID_BYTES + 1);
    for id in [too_long.as_str(), "nul\0inside"] {
        let error = store
            .append(id, ExpectedVersion::Any, vec![event(1)])
            .expect_err("refused");
        assert!(
            matches!(error, AppendError::InvalidStreamId { .. }),
            "{error}"
        );
    }
    let error = store
        .append(
            "s",
            ExpectedVersion::Any,
            vec![NewEvent::new("a\0b", 1, json!({}))],
        )
        .expect_err("refused");
    assert!(matches!(error, AppendError::Backend(_)), "{error}");
    assert!(everything_shown(&error).contains("NUL"), "{error}");
    assert_eq!(store.head_position().expect("head"), 0);
}

#[test]
fn payload_bytes_are_kept_exactly() {
    let Some(fixture) = support::fixture() else {
        return;
    };
    let store = &fixture.store;
    // Key order, spacing and a number beyond f64 precision survive as written.
    let text = br#"{"z": 1, "a": 123456789012345678901234567890, "m": 0.10000000000000001}"#;
    let new = NewEvent::from_json_bytes("Exact", 1, text.to_vec());
    store
        .append("exact", ExpectedVersion::NoStream, vec![new])
        .expect("append");
    assert_eq!(stream(store, "exact")[0].payload, text.to_vec());
}

#[test]
fn a_schema_written_by_a_newer_layout_is_refused() {
    let Some(fixture) = support::fixture() else {
        return;
    };
    fixture
        .admin()
        .batch_execute(&format!(
            "UPDATE {}.layout SET version = 99",
            fixture.schema
        ))
        .expect("pretend a newer version wrote it");
    let error = PgStore::options(&fixture.url)
        .schema(&fixture.schema)
        .connect()
        .expect_err("newer layout");
    assert!(
        matches!(
            error,
            ConnectError::NewerLayout {
                found: 99,
                supported: 1,
                ..
            }
        ),
        "{error}"
    );
    assert!(error.to_string().contains("upgrade es-postgres"), "{error}");
}

#[test]
fn stores_connecting_at_once_create_the_tables_once() {
    let Some(url) = support::database_url() else {
        return;
    };
    let schema = support::unique_schema();
    let stores: Vec<PgStore> = std::thread::scope(|scope| {
        let connecting: Vec<_> = (0..8)
            .map(|_| scope.spawn(|| PgStore::options(&url).schema(&schema).connect()))
            .collect();
        connecting
            .into_iter()
            .map(|c| c.join().expect("thread").expect("every store connects"))
            .collect()
    });
    for (n, store) in (0u64..).zip(&stores) {
        store
            .append("shared", ExpectedVersion::Exact(n), vec![event(n)])
            .expect("append");
    }
    assert_eq!(stores[0].stream_version("shared").expect("version"), 8);
    drop(stores);
    support::admin(&url)
        .batch_execute(&format!("DROP SCHEMA {schema} CASCADE"))
        .expect("drop schema");
}

/// A row changed behind the store's back to a value it cannot have written stops a read at
/// that row, with the same error whether the events are owned (`read_all`, `read_stream`) or
/// lent from the rows (`visit_all`, `visit_range`), and after the same events, on the first
/// page or a later one.
#[test]
fn a_damaged_row_stops_owned_and_lent_reads_at_it_alike() {
    for (damage, what) in [
        ("metadata = '[1]'", "malformed metadata"),
        ("metadata = '\"\"'", "malformed metadata"),
        ("schema_version = 4294967296", "malformed schema version"),
        ("stream_version = -1", "malformed stream version"),
    ] {
        let Some(fixture) = support::fixture() else {
            return;
        };
        let store = &fixture.store;
        store
            .append("s", ExpectedVersion::NoStream, (1..=3).map(event).collect())
            .expect("append");
        fixture
            .admin()
            .batch_execute(&format!(
                "UPDATE {}.events SET {damage} WHERE position = 2",
                fixture.schema
            ))
            .expect("damage a row");

        let mut owned = store.read_all(1).expect("read_all");
        let first = owned.next().expect("a first event").expect("it reads");
        let owned_error = owned
            .next()
            .expect("a second item")
            .expect_err("the damaged row");
        assert!(owned.next().is_none(), "{damage}: the read ends there");
        assert_eq!(first.position, 1);

        let mut lent = Vec::new();
        let lent_error = store
            .visit_all(1, &mut |stored| {
                lent.push(stored.position);
                std::ops::ControlFlow::Continue(())
            })
            .expect_err("the damaged row");
        let mut ranged = Vec::new();
        let ranged_error = store
            .visit_range(1, 3, &mut |stored| {
                ranged.push(stored.position);
                std::ops::ControlFlow::Continue(())
            })
            .expect_err("the damaged row");
        assert_eq!((lent, ranged), (vec![1], vec![1]), "{damage}");
        for error in [&owned_error, &lent_error, &ranged_error] {
            let shown = everything_shown(error);
            assert!(shown.contains(what), "{damage}: {shown}");
        }
        assert_eq!(owned_error.to_string(), lent_error.to_string(), "{damage}");
        assert_eq!(
            everything_shown(&owned_error),
            everything_shown(&ranged_error),
            "{damage}"
        );

        // Pages of one row: the damaged row is on the second page.
        let paged = PgStore::options(&fixture.url)
            .schema(&fixture.schema)
            .read_batch(1)
            .connect()
            .expect("a store with pages of one row");
        let read: Vec<_> = paged.read_all(1).expect("read_all").collect();
        assert_eq!(read.len(), 2, "{damage}: one event, then the error");
        assert_eq!(read[0].as_ref().map(|e| e.position).ok(), Some(1));
        let paged_error = read[1].as_ref().expect_err("the damaged row");
        assert_eq!(paged_error.to_string(), owned_error.to_string());
        let mut lent = Vec::new();
        paged
            .visit_all(1, &mut |stored| {
                lent.push(stored.position);
                std::ops::ControlFlow::Continue(())
            })
            .expect_err("the damaged row");
        assert_eq!(lent, [1], "{damage}");
        if !damage.starts_with("stream_version") {
            // (A negative version falls outside a stream read from version 1.)
            let stream: Vec<_> = paged.read_stream("s", 1).expect("read_stream").collect();
            assert_eq!(stream.len(), 2, "{damage}: one event, then the error");
            assert!(stream[0].is_ok() && stream[1].is_err(), "{damage}");
        }
    }
}
