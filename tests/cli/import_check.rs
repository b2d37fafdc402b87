//! `import --check` in a binary with event types: every line decoded before anything is
//! written.

use es_core::{EventStore, FileStore};

use super::*;

/// The bank fixture with one more line, 7th, at a version of `FundsDeposited` the code does
/// not know.
fn bank_file_with_a_future_event(temp: &tempfile::TempDir) -> PathBuf {
    let mut text = std::fs::read_to_string(BANK).expect("fixture");
    text.push_str(
        r#"{"stream_id":"acc-9","stream_version":1,"event_type":"FundsDeposited","schema_version":7,"payload":{"amount":1}}"#,
    );
    text.push('\n');
    let file = temp.path().join("future.jsonl");
    std::fs::write(&file, text).expect("write");
    file
}

fn entries(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .expect("list")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn import_check_of_a_file_that_decodes_imports_it() {
    let temp = tempfile::tempdir().expect("temp dir");
    let dir = temp.path().join("store");
    let run = es(&["import", "--check", path(&dir), BANK], &[&dir]);
    assert_eq!(run.exit, Exit::Success, "{}", run.err);
    insta::assert_snapshot!(run.out, @r"
    checked 6 lines against the event types: every one decodes
    imported 6 events into <dir> (0 already there)
    ");
}

#[test]
fn import_check_refuses_a_line_that_does_not_decode_naming_it_and_creates_nothing() {
    let temp = tempfile::tempdir().expect("temp dir");
    let file = bank_file_with_a_future_event(&temp);
    let dir = temp.path().join("store");
    let run = es(
        &["import", "--check", path(&dir), path(&file)],
        &[&dir, &file],
    );
    assert_eq!(run.exit, Exit::Failed, "{}", run.out);
    assert_eq!(run.out, "", "nothing reported as imported");
    insta::assert_snapshot!(run.err, @"error: <dir2>:7: does not decode through the event types: cannot decode event `FundsDeposited` v7 in stream `acc-9` at version 1: version 7 is newer than the latest this code knows (v2); nothing was written");
    assert!(
        !dir.exists(),
        "not even the directory (nor its LOCK) is created"
    );

    // Without `--check` the line is stored as it is: the check is what `--check` adds.
    let unchecked = es(&["import", path(&dir), path(&file)], &[&dir, &file]);
    assert_eq!(unchecked.exit, Exit::Success, "{}", unchecked.err);
    assert_eq!(
        es(&["check", path(&dir)], &[&dir]).exit,
        Exit::Problems,
        "the undecodable event is in the log"
    );
}

#[test]
fn import_check_into_an_existing_store_leaves_it_untouched() {
    let (temp, dir) = bank_store();
    let before = entries(&dir);
    let head = FileStore::open_read_only(&dir)
        .expect("open")
        .head_position()
        .expect("head");
    let file = bank_file_with_a_future_event(&temp);
    let run = es(
        &["import", "--check", path(&dir), path(&file)],
        &[&dir, &file],
    );
    assert_eq!(run.exit, Exit::Failed, "{}", run.out);
    assert!(run.err.contains("<dir2>:7: does not decode"), "{}", run.err);
    assert_eq!(entries(&dir), before, "no file added or removed");
    let store = FileStore::open_read_only(&dir).expect("open");
    assert_eq!(store.head_position().expect("head"), head);
}

#[test]
fn import_check_counts_every_line_that_does_not_decode() {
    let temp = tempfile::tempdir().expect("temp dir");
    let file = temp.path().join("two-bad.jsonl");
    std::fs::write(
        &file,
        concat!(
            r#"{"stream_id":"a","stream_version":1,"event_type":"Nope","schema_version":1,"payload":{}}"#,
            "\n",
            r#"{"stream_id":"a","stream_version":2,"event_type":"FundsWithdrawn","schema_version":1,"payload":{"amount":"x"}}"#,
            "\n",
        ),
    )
    .expect("write");
    let dir = temp.path().join("store");
    let run = es(
        &["import", "--check", path(&dir), path(&file)],
        &[&dir, &file],
    );
    assert_eq!(run.exit, Exit::Failed, "{}", run.out);
    assert!(
        run.err.starts_with("error: <dir2>:1: does not decode"),
        "{}",
        run.err
    );
    assert!(
        run.err.contains("(2 lines in all do not decode)"),
        "{}",
        run.err
    );
    assert!(!dir.exists());
}

#[test]
fn the_es_binary_refuses_import_check_saying_it_needs_event_types() {
    let temp = tempfile::tempdir().expect("temp dir");
    let dir = temp.path().join("store");
    let run = es_untyped(&["import", "--check", path(&dir), BANK], &[&dir]);
    assert_eq!(run.exit, Exit::Failed, "{}", run.out);
    assert!(
        run.err.contains(
            "add a binary to your crate, `fn main() -> std::process::ExitCode { es_cli::run::<YourEvent>() }`"
        ),
        "{}",
        run.err
    );
    assert!(!dir.exists());
}
