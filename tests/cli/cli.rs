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
    cli::<AccountEvent>(true, args, dirs)
}

/// Runs the `es` binary's command line (`es_cli::run_untyped` minus the process).
fn es_untyped(args: &[&str], dirs: &[&Path]) -> Run {
    cli::<AccountEvent>(false, args, dirs)
}

/// Runs the typed command line of a binary built for `E`.
fn es_typed<E: es_core::Event>(args: &[&str], dirs: &[&Path]) -> Run {
    cli::<E>(true, args, dirs)
}

fn cli<E: es_core::Event>(typed: bool, args: &[&str], dirs: &[&Path]) -> Run {
    let mut command_line = vec![if typed { "account-es" } else { "es" }.to_owned()];
    command_line.extend(args.iter().map(|a| (*a).to_owned()));
    let (mut out, mut err) = (Vec::new(), Vec::new());
    let mut output = Output {
        out: &mut out,
        err: &mut err,
        progress: false,
    };
    let exit = if typed {
        execute::<E>(command_line, &mut output)
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
fn tail_and_inspect_print_recorded_at_in_rfc_3339() {
    let (_temp, dir) = bank_store();
    let store = es_core::FileStore::open_read_only(&dir).expect("open");
    let times: Vec<String> = es_core::EventStore::read_all(&store, 1)
        .expect("read")
        .map(|e| es_cli::format_time(e.expect("readable").recorded_at))
        .collect();
    assert_eq!(times[0], "2019-03-01T09:00:00.000000Z", "RFC 3339, UTC");
    let tail = es(&["tail", path(&dir), "-n", "6"], &[&dir]);
    for (line, time) in tail.out.lines().zip(&times) {
        assert_eq!(line.split(' ').nth(1), Some(time.as_str()), "{line}");
    }
    let inspect = es(&["inspect", path(&dir)], &[&dir]);
    let recorded = format!("recorded   {} .. {}", times[0], times[times.len() - 1]);
    assert!(inspect.out.contains(&recorded), "{}", inspect.out);
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

/// The bank's export without acc-001's version 2, so its version 3 comes out of order.
fn write_bank_log_with_a_version_gap(file: &Path) {
    let lines: Vec<String> = std::fs::read_to_string(BANK)
        .expect("fixture")
        .lines()
        .map(str::to_owned)
        .collect();
    let broken: Vec<&str> = lines
        .iter()
        .enumerate()
        .filter(|(i, _)| *i != 1)
        .map(|(_, l)| l.as_str())
        .collect();
    std::fs::write(file, broken.join("\n")).expect("write");
}

#[test]
fn a_bad_line_fails_the_import_naming_it_and_writes_nothing() {
    let temp = tempfile::tempdir().expect("temp dir");
    let dir = temp.path().join("store");
    let file = temp.path().join("gap.jsonl");
    write_bank_log_with_a_version_gap(&file);
    let run = es(&["import", path(&dir), path(&file)], &[&dir, &file]);
    assert_eq!(run.exit, Exit::Failed);
    insta::assert_snapshot!(run.err, @"error: <dir2>:3: stream `acc-001` has version 3 where version 2 comes next");
    assert!(!dir.exists(), "a failed import creates no store");
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
            .contains("(0 upcast, 6 already current), 0 removed, 0 failed"),
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

mod on_postgres;

mod hostile_jsonl;
mod import_check;
mod jsonl_round_trip;
mod removed_events;
