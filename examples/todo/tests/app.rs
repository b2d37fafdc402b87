//! The app and its typed `es` binary, run as a user runs them, twice on one directory.

use std::path::Path;
use std::process::Command;

fn run(program: &str, args: &[&Path]) -> String {
    let output = Command::new(program).args(args).output().expect("runs");
    assert!(
        output.status.success(),
        "{program} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).expect("UTF-8")
}

#[test]
fn the_app_continues_its_log_and_the_typed_es_binary_counts_it() {
    let temp = tempfile::tempdir().expect("temp dir");
    let dir = temp.path();
    let first = run(env!("CARGO_BIN_EXE_todo"), &[dir]);
    assert_eq!(
        first,
        "todo-3 at version 1: done = false\n\
         todo-1 v1: Created(TodoCreated { title: \"water the plants\", due: None, tags: [] }), stored as TaskAdded v1\n\
         todo-1 v3: Completed(TodoCompleted), stored as TodoCompleted v1\n\
         open-todos: caught up over 5 stored events, 0 open\n\
         subscription: 4 events up to position 5\n"
    );

    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../README.md"))
        .expect("README.md");
    assert!(
        readme.contains(&first),
        "the README shows this output of a first run:\n{first}"
    );
    let events = dir.join("events");
    let checked = run(
        env!("CARGO_BIN_EXE_todo-es"),
        &[Path::new("check"), &events],
    );
    let as_in_readme = checked.replace(&events.display().to_string(), "todo-data/events");
    assert!(
        readme.contains(&as_in_readme),
        "the README shows this output of `todo-es check` after a first run:\n{as_in_readme}"
    );
    let snapshots = es_core::FileStore::open_read_only(dir.join("events")).expect("open");
    let snapshot = es_core::SnapshotStore::load_snapshot(&snapshots, "todo-3")
        .expect("readable")
        .expect("`snapshot_every(2)` saved one at version 2");
    assert_eq!(snapshot.stream_version, 2);
    drop(snapshots);

    // Again: the log goes on; the read model resumes after its checkpoint.
    let second = run(env!("CARGO_BIN_EXE_todo"), &[dir]);
    assert!(
        second.starts_with("todo-6 at version 1: done = false\n"),
        "{second}"
    );
    assert!(
        second.contains("open-todos: caught up over 2 stored events, 0 open\n"),
        "{second}"
    );
    assert!(
        second.ends_with("subscription: 6 events up to position 7\n"),
        "{second}"
    );
    assert!(dir.join("open-todos.json").is_file());

    // todo-1 holds a `TaskAdded` v1 (upcast), a `TodoViewed` (removed on purpose) and a
    // `TodoCompleted`; the other streams are current.
    let events = dir.join("events");
    let checked = run(
        env!("CARGO_BIN_EXE_todo-es"),
        &[Path::new("check"), &events],
    );
    assert!(
        checked.starts_with("checked 7 events in ")
            && checked.contains(": 6 decoded (1 upcast, 5 already current), 1 removed, 0 failed\n"),
        "{checked}"
    );
}
