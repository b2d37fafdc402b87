//! The commands on a `postgres://` URL: each test in a schema of its own, dropped afterwards.

use es_tests::pg_schema::PgSchema;

use super::*;

/// The location the command line takes: the URL with the schema's `schema` parameter.
fn location(pg: &PgSchema) -> String {
    let separator = if pg.url.contains('?') { '&' } else { '?' };
    format!("{}{separator}schema={}", pg.url, pg.name)
}

/// The location as the command line shows it (its password masked).
fn shown(pg: &PgSchema) -> String {
    StoreLocation::parse(location(pg))
        .expect("a PostgreSQL location")
        .to_string()
}

impl Run {
    /// The run with the PostgreSQL locations replaced by `<pg>`, `<pg2>`, ...
    fn at(mut self, schemas: &[&PgSchema]) -> Run {
        for (i, pg) in schemas.iter().enumerate() {
            let name = if i == 0 {
                "<pg>".to_owned()
            } else {
                format!("<pg{}>", i + 1)
            };
            self.out = self.out.replace(&shown(pg), &name);
            self.err = self.err.replace(&shown(pg), &name);
        }
        self
    }
}

#[test]
fn a_directory_migrated_into_postgres_keeps_ids_versions_metadata_times_and_order() {
    let Some(pg) = PgSchema::new() else { return };
    let (_temp, dir) = bank_store();
    let url = location(&pg);

    let migrate = es_untyped(&["migrate", path(&dir), &url], &[&dir]).at(&[&pg]);
    assert_eq!(migrate.exit, Exit::Success, "{}", migrate.err);
    insta::assert_snapshot!(migrate.out, @r"
    copied 6 events from <dir> to <pg> as stored
    streams, stream versions, event ids, metadata, recording times and order are unchanged
    verified: the new log holds 6 events; the source is unchanged
    ");

    // `check` reports the same counts on both.
    let on_files = es(&["check", path(&dir)], &[&dir]);
    let on_postgres = es(&["check", &url], &[]).at(&[&pg]);
    assert_eq!(on_postgres.exit, Exit::Success, "{}", on_postgres.err);
    assert_eq!(on_postgres.out, on_files.out.replace("<dir>", "<pg>"));

    // Export both: the same lines, positions included (a fresh schema has no gaps).
    let exported_files = es(&["export", path(&dir)], &[&dir]);
    let exported_postgres = es(&["export", &url], &[]);
    assert_eq!(
        exported_postgres.exit,
        Exit::Success,
        "{}",
        exported_postgres.err
    );
    assert_eq!(exported_postgres.out, exported_files.out);
    assert_eq!(
        exported_postgres.out,
        std::fs::read_to_string(BANK).expect("fixture")
    );

    // And back: the PostgreSQL log into a new directory, the same lines again.
    let back = dir.with_file_name("back");
    let returned = es_untyped(&["migrate", &url, path(&back)], &[&back]).at(&[&pg]);
    assert_eq!(returned.exit, Exit::Success, "{}", returned.err);
    assert_eq!(
        es(&["export", path(&back)], &[&back]).out,
        exported_files.out
    );

    // A repeat copies nothing, and says so.
    let again = es_untyped(&["migrate", path(&dir), &url], &[&dir]).at(&[&pg]);
    assert_eq!(again.exit, Exit::Success, "{}", again.err);
    assert!(
        again
            .out
            .starts_with("copied 0 events from <dir> to <pg> as stored; 6 were already there"),
        "{}",
        again.out
    );
}

#[test]
fn the_typed_migrate_into_postgres_upcasts_like_the_one_into_a_directory() {
    let Some(pg) = PgSchema::new() else { return };
    let (temp, dir) = bank_store();
    let url = location(&pg);
    let run = es(&["migrate", path(&dir), &url], &[&dir]).at(&[&pg]);
    assert_eq!(run.exit, Exit::Success, "{}", run.err);
    insta::assert_snapshot!(run.out, @r"
    migrated 6 events from <dir> to <pg>: 3 upcast (0 split), 3 already current, 0 removed; 6 written
    streams, stream versions and event ids are unchanged
    not copied: snapshots and projection checkpoints, which refer to the old log's stream versions and positions; rebuild read models from the start of the new log (`ProjectionRunner::rebuild`), and snapshots are taken again as aggregates load
    verified: the new log holds 6 events; the source is unchanged
    ");
    let checked = es(&["check", &url], &[]);
    assert!(
        checked
            .out
            .contains("(0 upcast, 6 already current), 0 removed, 0 failed"),
        "{}",
        checked.out
    );
    let new_dir = temp.path().join("migrated");
    let on_files = es(&["migrate", path(&dir), path(&new_dir)], &[&dir, &new_dir]);
    assert_eq!(on_files.exit, Exit::Success, "{}", on_files.err);
    assert_eq!(
        es(&["export", &url], &[]).out,
        es(&["export", path(&new_dir)], &[&new_dir]).out
    );
}

#[test]
fn inspect_verify_and_tail_read_a_postgres_url() {
    let Some(pg) = PgSchema::new() else { return };
    let (_temp, dir) = bank_store();
    let url = location(&pg);
    let import = es(&["import", &url, BANK], &[]).at(&[&pg]);
    assert_eq!(import.exit, Exit::Success, "{}", import.err);

    let inspect = es(&["inspect", &url], &[]).at(&[&pg]);
    assert_eq!(inspect.exit, Exit::Success, "{}", inspect.err);
    insta::assert_snapshot!(inspect.out);
    let on_files = es(&["inspect", path(&dir)], &[&dir]);
    let without_files = |text: &str| {
        text.lines()
            .map(|line| line.split("; files on disk").next().unwrap_or(line))
            .collect::<Vec<_>>()
            .join("\n")
            .replace("<dir>", "<pg>")
    };
    assert_eq!(without_files(&inspect.out), without_files(&on_files.out));

    let verify = es(&["verify", &url], &[]).at(&[&pg]);
    assert_eq!(verify.exit, Exit::Success, "{}", verify.out);
    insta::assert_snapshot!(verify.out, @r"
    <pg>: 6 events in 3 streams
    ok: positions increase, stream versions count from 1 without gaps, event ids are unique, payloads are JSON
    ");

    let tail = es(&["tail", &url, "-n", "3"], &[]);
    assert_eq!(tail.exit, Exit::Success, "{}", tail.err);
    assert_eq!(tail.out, es(&["tail", path(&dir), "-n", "3"], &[&dir]).out);
}

#[test]
fn verify_of_a_postgres_log_exits_one_naming_a_stream_version_out_of_line() {
    let Some(pg) = PgSchema::new() else { return };
    let url = location(&pg);
    let import = es(&["import", &url, BANK], &[]);
    assert_eq!(import.exit, Exit::Success, "{}", import.err);
    let (admin_url, schema) = (pg.url.clone(), pg.name.clone());
    std::thread::spawn(move || {
        postgres::Client::connect(&admin_url, postgres::NoTls)
            .expect("the test server accepts a client")
            .batch_execute(&format!(
                "UPDATE {schema}.events SET stream_version = 7 WHERE position = 2"
            ))
    })
    .join()
    .expect("the update ran")
    .expect("the update succeeded");
    let verify = es(&["verify", &url], &[]).at(&[&pg]);
    assert_eq!(verify.exit, Exit::Problems, "{}", verify.out);
    insta::assert_snapshot!(verify.out, @r"
    <pg>: 6 events in 3 streams
    PROBLEM: position 2 (`acc-001`@7): stream version 7 follows version 1
    PROBLEM: position 4 (`acc-001`@3): stream version 3 follows version 7
    2 problems
    ");
}

#[test]
fn import_into_postgres_checks_the_file_first_and_a_repeat_writes_nothing() {
    let Some(pg) = PgSchema::new() else { return };
    let temp = tempfile::tempdir().expect("temp dir");
    let url = location(&pg);
    let gap = temp.path().join("gap.jsonl");
    write_bank_log_with_a_version_gap(&gap);
    let refused = es(&["import", &url, path(&gap)], &[&gap]);
    assert_eq!(refused.exit, Exit::Failed);
    insta::assert_snapshot!(refused.err, @"error: <dir>:3: stream `acc-001` has version 3 where version 2 comes next");
    assert!(
        !pg.exists(),
        "a file that fails on its own never connects, so nothing is created"
    );
    let empty = es(&["inspect", &url], &[]);
    assert!(
        empty.out.contains("events     0 in 0 streams"),
        "{}",
        empty.out
    );

    let first = es(&["import", &url, BANK], &[]).at(&[&pg]);
    assert_eq!(first.exit, Exit::Success, "{}", first.err);
    insta::assert_snapshot!(first.out, @"imported 6 events into <pg> (0 already there)");
    let again = es(&["import", &url, BANK], &[]).at(&[&pg]);
    assert_eq!(again.exit, Exit::Success, "{}", again.err);
    insta::assert_snapshot!(again.out, @"imported 0 events into <pg> (6 already there)");
}

#[test]
fn migrate_refuses_a_postgres_target_that_holds_other_events() {
    let Some(pg) = PgSchema::new() else { return };
    let url = location(&pg);
    let import = es(&["import", &url, EVENTSTOREDB], &[]);
    assert_eq!(import.exit, Exit::Success, "{}", import.err);
    let (_temp, dir) = bank_store();
    let run = es_untyped(&["migrate", path(&dir), &url], &[&dir]).at(&[&pg]);
    assert_eq!(run.exit, Exit::Failed);
    assert!(
        run.err
            .starts_with("error: the target already holds other events"),
        "{}",
        run.err
    );
    let exported = es(&["export", &url], &[]);
    assert_eq!(
        exported.out.lines().count(),
        3,
        "nothing was added: {}",
        exported.out
    );
}

#[test]
fn a_url_s_password_is_never_shown_and_a_server_that_cannot_be_reached_exits_two() {
    // Port 1 on the loopback address: nothing listens there, so the connection is refused.
    let url = "postgres://ada:s3cret-pw@127.0.0.1:1/ledger?schema=bank";
    for command in ["inspect", "tail", "verify", "export", "check"] {
        let run = es(&[command, url], &[]);
        assert_eq!(run.exit, Exit::Failed, "{command}");
        assert!(
            run.err
                .starts_with("error: cannot connect to the store at postgres://ada:***@127.0.0.1:1/ledger?schema=bank: "),
            "{command}: {}",
            run.err
        );
        assert!(!run.err.contains("s3cret"), "{command}: {}", run.err);
    }
    let bad_schema = es(
        &[
            "inspect",
            "postgres://ada:s3cret-pw@127.0.0.1:1/x?schema=Bad-Name",
        ],
        &[],
    );
    assert_eq!(bad_schema.exit, Exit::Failed);
    assert!(
        bad_schema.err.contains("invalid schema name"),
        "{}",
        bad_schema.err
    );
    assert!(!bad_schema.err.contains("s3cret"), "{}", bad_schema.err);
}

#[test]
fn an_import_into_postgres_that_fails_against_the_store_writes_nothing() {
    let Some(pg) = PgSchema::new() else { return };
    let temp = tempfile::tempdir().expect("temp dir");
    let url = location(&pg);
    let first = es(&["import", &url, BANK], &[]);
    assert_eq!(first.exit, Exit::Success, "{}", first.err);
    // A new stream, then a line whose id the store already holds in another stream.
    let file = temp.path().join("clash.jsonl");
    let line = |version: u64, id: u32| {
        format!(
            r#"{{"stream_id":"new","stream_version":{version},"event_id":"00000000-0000-4000-8000-{id:012}","event_type":"Pinged","schema_version":1,"payload":{{}}}}"#
        )
    };
    std::fs::write(&file, format!("{}\n{}\n", line(1, 90), line(2, 1))).expect("write");
    let run = es(&["import", &url, path(&file)], &[&file]);
    assert_eq!(run.exit, Exit::Failed);
    insta::assert_snapshot!(run.err, @"error: <dir>:2: event id 00000000-0000-4000-8000-000000000001 is already stored, in stream `acc-001` at version 1");
    let exported = es(&["export", &url], &[]);
    assert_eq!(
        exported.out.lines().count(),
        6,
        "stream `new` was not written"
    );
}
