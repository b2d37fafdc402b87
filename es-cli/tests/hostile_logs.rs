//! The `es` binary on logs that hold what hostile input left: times before 1970, damaged
//! last batches, directories that are not stores. No command panics (exit 101); each says
//! what it found.

use std::path::Path;
use std::process::{Command, Output};
use std::time::{Duration, SystemTime};

use es_core::{EventStore, ExpectedVersion, FileStore, NewEvent};
use serde_json::json;

fn es(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_es"))
        .args(args)
        .output()
        .expect("run es")
}

fn code(output: &Output) -> i32 {
    output.status.code().expect("es exits with a code")
}

fn text(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

fn path_arg(path: &Path) -> &str {
    path.to_str().expect("UTF-8 path")
}

#[test]
fn events_recorded_before_1970_are_inspected_exported_tailed_and_imported() {
    let temp = tempfile::tempdir().expect("temp dir");
    let dir = temp.path().join("store");
    let moon = SystemTime::UNIX_EPOCH - Duration::from_secs(14_182_940);
    {
        let store = FileStore::open(&dir).expect("open");
        store
            .append(
                "apollo",
                ExpectedVersion::NoStream,
                vec![NewEvent::new("Landed", 1, json!({})).with_recorded_at(moon)],
            )
            .expect("append a time before 1970");
    }
    let stamp = "1969-07-20T20:17:40.000000Z";
    for command in ["inspect", "tail"] {
        let output = es(&[command, path_arg(&dir)]);
        assert_eq!(code(&output), 0, "{command}: {}", text(&output));
        assert!(
            text(&output).contains(stamp),
            "{command}: {}",
            text(&output)
        );
    }
    let export = es(&["export", path_arg(&dir)]);
    assert_eq!(code(&export), 0, "export: {}", text(&export));
    assert!(text(&export).contains(stamp), "export: {}", text(&export));

    let lines = temp.path().join("log.jsonl");
    std::fs::write(&lines, &export.stdout).expect("write the export");
    let copy = temp.path().join("copy");
    let import = es(&["import", path_arg(&copy), path_arg(&lines)]);
    assert_eq!(code(&import), 0, "import: {}", text(&import));
    let copy = FileStore::open_read_only(&copy).expect("open the copy");
    let event = copy
        .read_all(1)
        .expect("read_all")
        .next()
        .expect("one event")
        .expect("it reads");
    assert_eq!(event.recorded_at, moon);
}

#[test]
fn verify_says_a_damaged_last_batch_may_have_been_acknowledged_and_exits_one() {
    let temp = tempfile::tempdir().expect("temp dir");
    let dir = temp.path().join("store");
    {
        let store = FileStore::open(&dir).expect("open");
        for n in 0..3 {
            store
                .append(
                    "s",
                    ExpectedVersion::Any,
                    vec![NewEvent::new("E", 1, json!({ "n": n }))],
                )
                .expect("append");
        }
    }
    let segment = dir.join("seg-0000000001.log");
    let mut bytes = std::fs::read(&segment).expect("read");
    let last = bytes.len() - 2;
    bytes[last] ^= 0x20;
    std::fs::write(&segment, &bytes).expect("flip a byte of the last frame");
    let output = es(&["verify", path_arg(&dir)]);
    let said = text(&output);
    assert_eq!(code(&output), 1, "{said}");
    assert!(
        said.contains("DAMAGED LAST BATCH") && said.contains("position 3") && !said.contains("ok:"),
        "{said}"
    );
    // Cut bytes are kept beside the segment when the store is opened.
    let store = FileStore::open(&dir).expect("open cuts the tail");
    let kept = store
        .recovery()
        .torn_tail
        .as_ref()
        .and_then(|tail| tail.quarantine.clone())
        .expect("kept");
    assert!(kept.starts_with(&dir), "{kept:?}");
    drop(store);
    let output = es(&["verify", path_arg(&dir)]);
    assert_eq!(code(&output), 0, "{}", text(&output));
}

#[test]
fn verify_of_a_directory_that_is_not_a_store_fails() {
    let temp = tempfile::tempdir().expect("temp dir");
    std::fs::write(temp.path().join("passwd"), "root:x:0:0::/root:/bin/sh\n").expect("a file");
    // Every reading command, not only verify: none of them shows such a directory as a log.
    for command in ["verify", "inspect", "tail", "export"] {
        let output = es(&[command, path_arg(temp.path())]);
        assert_eq!(code(&output), 2, "{command}: {}", text(&output));
        assert!(
            text(&output).contains("not a file store"),
            "{command}: {}",
            text(&output)
        );
    }
    let entries: Vec<_> = std::fs::read_dir(temp.path())
        .expect("list")
        .map(|e| e.expect("entry").file_name())
        .collect();
    assert_eq!(entries, ["passwd"], "nothing created");
}

#[cfg(target_os = "linux")]
#[test]
fn verify_and_inspect_a_store_of_more_segments_than_open_files_allowed() {
    let temp = tempfile::tempdir().expect("temp dir");
    let dir = temp.path().join("store");
    {
        let store = FileStore::options()
            .durability(es_core::Durability::None)
            .segment_size(1)
            .open(&dir)
            .expect("open");
        for n in 0..300 {
            store
                .append(
                    "s",
                    ExpectedVersion::Any,
                    vec![NewEvent::new("E", 1, json!({ "n": n }))],
                )
                .expect("append: each starts a segment");
        }
    }
    for command in ["verify", "inspect"] {
        // 300 segments under a limit of 128 open files.
        let output = Command::new("sh")
            .arg("-c")
            .arg("ulimit -n 128 && exec \"$0\" \"$1\" \"$2\"")
            .arg(env!("CARGO_BIN_EXE_es"))
            .arg(command)
            .arg(&dir)
            .output()
            .expect("run es under a lowered file limit");
        assert_eq!(code(&output), 0, "{command}: {}", text(&output));
    }
}
