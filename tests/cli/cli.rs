//! The command line on real store directories and PostgreSQL schemas: every command's output
//! (insta snapshots, with the temporary directory replaced by `<dir>` and the PostgreSQL
//! location by `<pg>`), exit codes, damage that `verify` names, a migrate round trip that
//! `check` accepts with nothing left to upcast, and the round trip from a directory to
//! PostgreSQL and back.

use std::path::{Path, PathBuf};

use es_cli::{execute, execute_untyped, Exit, Output, StoreLocation};
use es_examples::account::AccountEvent;

const BANK: &str = "fixtures/bank_export.jsonl";
const EVENTSTOREDB: &str = "fixtures/eventstoredb_export.jsonl";

struct Run {
    exit: Exit,
    out: String,
    err: String,
}

/// Runs the typed command line (`es_cli::run::<AccountEvent>` minus the process).
fn es(args: &[&str], dirs: &[&Path]) -> Run {
    cli(true, args, dirs)
}

/// Runs the `es` binary's command line (`es_cli::run_untyped` minus the process).
fn es_untyped(args: &[&str], dirs: &[&Path]) -> Run {
    cli(false, args, dirs)
}

fn cli(typed: bool, args: &[&str], dirs: &[&Path]) -> Run {
    let mut command_line = vec![if typed { "account-es" } else { "es" }.to_owned()];
    command_line.extend(args.iter().map(|a| (*a).to_owned()));
    let (mut out, mut err) = (Vec::new(), Vec::new());
    let mut output = Output {
        out: &mut out,
        err: &mut err,
        progress: false,
    };
    let exit = if typed {
        execute::<AccountEvent>(command_line, &mut output)
    } else {
        execute_untyped(command_line, &mut output)
    };
    let redact = |bytes: Vec<u8>| {
        let mut text = String::from_utf8(bytes).expect("output is UTF-8");
        for (i, dir) in dirs.iter().enumerate() {
            let name = if i == 0 {
                "<dir>".to_owned()
            } else {
                format!("<dir{}>", i + 1)
            };
            text = text.replace(&dir.display().to_string(), &name);
        }
        text
    };
    Run {
        exit,
        out: redact(out),
        err: redact(err),
    }
}

fn path(p: &Path) -> &str {
    p.to_str().expect("temporary paths are UTF-8")
}

/// A store directory holding the bank fixture.
fn bank_store() -> (tempfile::TempDir, PathBuf) {
    let temp = tempfile::tempdir().expect("temp dir");
    let dir = temp.path().join("store");
    let run = es(&["import", path(&dir), BANK], &[&dir]);
    assert_eq!(run.exit, Exit::Success, "{}", run.err);
    (temp, dir)
}

#[test]
fn import_reports_what_it_wrote_and_a_repeat_writes_nothing() {
    let temp = tempfile::tempdir().expect("temp dir");
    let dir = temp.path().join("store");
    let first = es(&["import", path(&dir), BANK], &[&dir]);
    assert_eq!(first.exit, Exit::Success, "{}", first.err);
    insta::assert_snapshot!(first.out, @"imported 6 events into <dir> (0 already there)");
    let again = es(&["import", path(&dir), BANK], &[&dir]);
    assert_eq!(again.exit, Exit::Success, "{}", again.err);
    insta::assert_snapshot!(again.out, @"imported 0 events into <dir> (6 already there)");
}

#[test]
fn inspect_lists_streams_positions_and_tags_by_version() {
    let (_temp, dir) = bank_store();
    let run = es(&["inspect", path(&dir)], &[&dir]);
    assert_eq!(run.exit, Exit::Success, "{}", run.err);
    // Sizes on disk depend on the format's framing; the snapshot pins them on purpose.
    insta::assert_snapshot!(run.out);
}

#[test]
fn tail_prints_the_last_events() {
    let (_temp, dir) = bank_store();
    let run = es(&["tail", path(&dir), "-n", "3"], &[&dir]);
    assert_eq!(run.exit, Exit::Success, "{}", run.err);
    insta::assert_snapshot!(run.out);
}

#[test]
fn export_writes_back_the_imported_lines() {
    let (_temp, dir) = bank_store();
    let run = es(&["export", "--jsonl", path(&dir)], &[&dir]);
    assert_eq!(run.exit, Exit::Success, "{}", run.err);
    let original = std::fs::read_to_string(BANK).expect("fixture");
    assert_eq!(
        run.out, original,
        "export of an import is the same JSON Lines"
    );
}

#[test]
fn export_to_a_file_reports_the_count() {
    let (temp, dir) = bank_store();
    let file = temp.path().join("out.jsonl");
    let run = es(&["export", path(&dir), "-o", path(&file)], &[&dir, &file]);
    assert_eq!(run.exit, Exit::Success, "{}", run.err);
    insta::assert_snapshot!(run.out, @"exported 6 events to <dir2>");
    assert_eq!(
        std::fs::read_to_string(&file).expect("export file"),
        std::fs::read_to_string(BANK).expect("fixture")
    );
}

#[test]
fn an_eventstoredb_export_imports_with_versions_from_one_and_schema_versions_from_metadata() {
    let temp = tempfile::tempdir().expect("temp dir");
    let dir = temp.path().join("store");
    let run = es(&["import", path(&dir), EVENTSTOREDB], &[&dir]);
    assert_eq!(run.exit, Exit::Success, "{}", run.err);
    let exported = es(&["export", path(&dir)], &[&dir]);
    insta::assert_snapshot!(exported.out);
    let check = es(&["check", path(&dir)], &[&dir]);
    assert_eq!(check.exit, Exit::Success, "{}", check.out);
}

#[test]
fn a_bad_line_fails_the_import_naming_it_and_writes_nothing() {
    let temp = tempfile::tempdir().expect("temp dir");
    let dir = temp.path().join("store");
    let file = temp.path().join("gap.jsonl");
    let lines: Vec<String> = std::fs::read_to_string(BANK)
        .expect("fixture")
        .lines()
        .map(str::to_owned)
        .collect();
    // Leave out acc-001's version 2: its version 3 then comes out of order.
    let broken: Vec<&str> = lines
        .iter()
        .enumerate()
        .filter(|(i, _)| *i != 1)
        .map(|(_, l)| l.as_str())
        .collect();
    std::fs::write(&file, broken.join("\n")).expect("write");
    let run = es(&["import", path(&dir), path(&file)], &[&dir, &file]);
    assert_eq!(run.exit, Exit::Failed);
    insta::assert_snapshot!(run.err, @"error: <dir2>:3: stream `acc-001` has version 3 where version 2 comes next");
    let inspect = es(&["inspect", path(&dir)], &[&dir]);
    assert!(
        inspect.out.contains("events     0 in 0 streams"),
        "{}",
        inspect.out
    );
}

#[test]
fn verify_of_a_clean_log_exits_zero() {
    let (_temp, dir) = bank_store();
    let run = es(&["verify", path(&dir)], &[&dir]);
    assert_eq!(run.exit, Exit::Success, "{}", run.out);
    insta::assert_snapshot!(run.out);
}

#[test]
fn verify_of_a_damaged_log_exits_one_naming_segment_and_offset() {
    let (_temp, dir) = bank_store();
    let segment = std::fs::read_dir(&dir)
        .expect("store dir")
        .filter_map(Result::ok)
        .map(|e| e.path())
        .find(|p| p.extension().is_some_and(|e| e == "log"))
        .expect("a segment file");
    let mut bytes = std::fs::read(&segment).expect("segment");
    // A byte in the middle of the log, well before its last frame.
    let at = bytes.len() / 3;
    bytes[at] ^= 0x40;
    std::fs::write(&segment, bytes).expect("write back");
    let run = es(&["verify", path(&dir)], &[&dir]);
    assert_eq!(run.exit, Exit::Problems, "{}", run.out);
    let line = run
        .out
        .lines()
        .find(|l| l.starts_with("DAMAGED:"))
        .expect("a damage line");
    let offset: u64 = line
        .split("at byte offset ")
        .nth(1)
        .and_then(|rest| rest.split(':').next())
        .and_then(|n| n.parse().ok())
        .expect("an offset");
    assert!(
        offset <= at as u64,
        "the damaged frame starts at or before the flipped byte {at}: {line}"
    );
    assert!(line.contains("seg-"), "names the segment: {line}");
}

#[test]
fn check_counts_upcasts_by_tag_and_version() {
    let (_temp, dir) = bank_store();
    let run = es(&["check", path(&dir)], &[&dir]);
    assert_eq!(run.exit, Exit::Success, "{}", run.out);
    insta::assert_snapshot!(run.out);
}

#[test]
fn check_fails_on_an_event_that_does_not_decode_naming_where_it_is() {
    let temp = tempfile::tempdir().expect("temp dir");
    let dir = temp.path().join("store");
    let file = temp.path().join("future.jsonl");
    std::fs::write(
        &file,
        r#"{"stream_id":"acc-9","stream_version":1,"event_type":"FundsDeposited","schema_version":7,"payload":{"amount":1}}"#,
    )
    .expect("write");
    let import = es(&["import", path(&dir), path(&file)], &[&dir, &file]);
    assert_eq!(import.exit, Exit::Success, "{}", import.err);
    let run = es(&["check", path(&dir)], &[&dir]);
    assert_eq!(run.exit, Exit::Problems);
    insta::assert_snapshot!(run.out);
}

#[test]
fn migrate_upcasts_every_event_and_check_then_finds_nothing_to_upcast() {
    let (temp, dir) = bank_store();
    let new_dir = temp.path().join("migrated");
    let run = es(&["migrate", path(&dir), path(&new_dir)], &[&dir, &new_dir]);
    assert_eq!(run.exit, Exit::Success, "{}", run.err);
    insta::assert_snapshot!(run.out);

    let checked = es(&["check", path(&new_dir)], &[&new_dir]);
    assert_eq!(checked.exit, Exit::Success, "{}", checked.out);
    assert!(
        checked
            .out
            .contains("(0 upcast, 6 already current), 0 failed"),
        "{}",
        checked.out
    );

    // Same streams, versions, ids, metadata and times; today's tags and versions.
    let exported = es(&["export", path(&new_dir)], &[&new_dir]);
    insta::assert_snapshot!(exported.out);
    let source = es(&["check", path(&dir)], &[&dir]);
    assert!(
        source.out.contains("(3 upcast, 3 already current)"),
        "the source is untouched: {}",
        source.out
    );
}

#[test]
fn migrate_refuses_a_non_empty_target() {
    let (temp, dir) = bank_store();
    let run = es(&["migrate", path(&dir), path(&dir)], &[&dir]);
    assert_eq!(run.exit, Exit::Failed);
    assert!(run.err.contains("is not empty"), "{}", run.err);
    let _ = temp;
}

#[test]
fn a_missing_directory_is_an_error_not_a_new_store() {
    let temp = tempfile::tempdir().expect("temp dir");
    let dir = temp.path().join("nothing-here");
    for command in ["inspect", "tail", "verify", "export", "check"] {
        let run = es(&[command, path(&dir)], &[&dir]);
        assert_eq!(run.exit, Exit::Failed, "{command}");
        assert_eq!(
            run.err, "error: <dir> is not a store directory (no such directory)\n",
            "{command}"
        );
        assert!(!dir.exists(), "{command} created nothing");
    }
}

#[test]
fn usage_errors_exit_two_and_help_exits_zero() {
    let run = es(&["frobnicate"], &[]);
    assert_eq!(run.exit, Exit::Failed);
    assert!(
        run.err.contains("unrecognized subcommand 'frobnicate'"),
        "{}",
        run.err
    );
    let help = es(&["--help"], &[]);
    assert_eq!(help.exit, Exit::Success);
    for command in [
        "inspect", "tail", "verify", "export", "import", "check", "migrate",
    ] {
        assert!(
            help.out.contains(command),
            "help lists {command}: {}",
            help.out
        );
    }
}

/// A PostgreSQL schema of one test's own, dropped when it goes out of scope.
struct PgSchema {
    url: String,
    schema: String,
}

impl PgSchema {
    /// A fresh schema on the server of `DATABASE_URL`. Without it the test is skipped, with a
    /// line saying so; with `CI` set, a skip is a failure, so CI cannot pass without the server.
    fn new() -> Option<Self> {
        let url = match std::env::var("DATABASE_URL") {
            Ok(url) if !url.is_empty() => url,
            _ => {
                assert!(
                    std::env::var_os("CI").is_none(),
                    "DATABASE_URL is not set, but CI is: the PostgreSQL tests must run in CI"
                );
                eprintln!(
                    "skipped: DATABASE_URL is not set (e.g. postgres://postgres@127.0.0.1:5432/test)"
                );
                return None;
            }
        };
        let schema = format!("t_{:016x}", fastrand::u64(..));
        Some(Self { url, schema })
    }

    /// The location the command line takes: the URL with this schema's `schema` parameter.
    fn location(&self) -> String {
        let separator = if self.url.contains('?') { '&' } else { '?' };
        format!("{}{separator}schema={}", self.url, self.schema)
    }

    /// The location as the command line shows it (its password masked).
    fn shown(&self) -> String {
        StoreLocation::parse(self.location())
            .expect("a PostgreSQL location")
            .to_string()
    }
}

impl Drop for PgSchema {
    fn drop(&mut self) {
        let (url, schema) = (self.url.clone(), self.schema.clone());
        // A thread of its own: the blocking client starts a runtime of its own.
        let dropped = std::thread::spawn(move || {
            postgres::Client::connect(&url, postgres::NoTls)?
                .batch_execute(&format!("DROP SCHEMA IF EXISTS {schema} CASCADE"))
        })
        .join();
        if !matches!(dropped, Ok(Ok(()))) && !std::thread::panicking() {
            eprintln!("could not drop test schema {}", self.schema);
        }
    }
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
            self.out = self.out.replace(&pg.shown(), &name);
            self.err = self.err.replace(&pg.shown(), &name);
        }
        self
    }
}

#[test]
fn a_directory_migrated_into_postgres_keeps_ids_versions_metadata_times_and_order() {
    let Some(pg) = PgSchema::new() else { return };
    let (_temp, dir) = bank_store();
    let url = pg.location();

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
    let url = pg.location();
    let run = es(&["migrate", path(&dir), &url], &[&dir]).at(&[&pg]);
    assert_eq!(run.exit, Exit::Success, "{}", run.err);
    insta::assert_snapshot!(run.out, @r"
    migrated 6 events from <dir> to <pg>: 6 written (3 upcast, 0 split, 0 removed)
    streams, stream versions and event ids are unchanged
    verified: the new log holds 6 events; the source is unchanged
    ");
    let checked = es(&["check", &url], &[]);
    assert!(
        checked
            .out
            .contains("(0 upcast, 6 already current), 0 failed"),
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
    let url = pg.location();
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
    let url = pg.location();
    let import = es(&["import", &url, BANK], &[]);
    assert_eq!(import.exit, Exit::Success, "{}", import.err);
    let (admin_url, schema) = (pg.url.clone(), pg.schema.clone());
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
    let url = pg.location();
    let gap = temp.path().join("gap.jsonl");
    let lines: Vec<String> = std::fs::read_to_string(BANK)
        .expect("fixture")
        .lines()
        .map(str::to_owned)
        .collect();
    // Leave out acc-001's version 2: its version 3 then comes out of order.
    let broken: Vec<&str> = lines
        .iter()
        .enumerate()
        .filter(|(i, _)| *i != 1)
        .map(|(_, l)| l.as_str())
        .collect();
    std::fs::write(&gap, broken.join("\n")).expect("write");
    let refused = es(&["import", &url, path(&gap)], &[&gap]);
    assert_eq!(refused.exit, Exit::Failed);
    insta::assert_snapshot!(refused.err, @"error: <dir>:3: stream `acc-001` has version 3 where version 2 comes next");
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
    let url = pg.location();
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
