//! The `es` binary as a process: exit codes, following a running writer, and the typed
//! commands it does not have.

use std::io::{BufRead, BufReader};
use std::process::{Command, Output, Stdio};
use std::sync::mpsc;
use std::time::Duration;

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

fn store_with_events(dir: &std::path::Path) {
    let store = FileStore::open(dir).expect("open");
    for n in 0..20 {
        let event = NewEvent::new("Pinged", 1, json!({ "n": n, "padding": "x".repeat(40) }));
        store
            .append("s", ExpectedVersion::Any, vec![event])
            .expect("append");
    }
}

#[test]
fn verify_exits_zero_on_a_clean_log_and_one_on_damage() {
    let temp = tempfile::tempdir().expect("temp dir");
    let dir = temp.path().join("store");
    store_with_events(&dir);
    let dir_arg = dir.to_str().expect("UTF-8 path");
    let clean = es(&["verify", dir_arg]);
    assert_eq!(
        code(&clean),
        0,
        "{}",
        String::from_utf8_lossy(&clean.stdout)
    );

    let segment = std::fs::read_dir(&dir)
        .expect("dir")
        .filter_map(Result::ok)
        .map(|e| e.path())
        .find(|p| p.extension().is_some_and(|e| e == "log"))
        .expect("segment");
    let mut bytes = std::fs::read(&segment).expect("read");
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x01;
    std::fs::write(&segment, bytes).expect("write");
    let damaged = es(&["verify", dir_arg]);
    let stdout = String::from_utf8_lossy(&damaged.stdout);
    assert_eq!(code(&damaged), 1, "{stdout}");
    assert!(
        stdout.contains("DAMAGED:") && stdout.contains("at byte offset"),
        "{stdout}"
    );
}

#[test]
fn reading_commands_work_beside_a_running_writer_and_writing_ones_exit_two() {
    let temp = tempfile::tempdir().expect("temp dir");
    let missing = temp.path().join("missing");
    let run = es(&["inspect", missing.to_str().expect("UTF-8 path")]);
    assert_eq!(code(&run), 2);
    assert!(String::from_utf8_lossy(&run.stderr).contains("is not a store directory"));

    let dir = temp.path().join("store");
    store_with_events(&dir);
    let writer = FileStore::open(&dir).expect("open");
    let dir_arg = dir.to_str().expect("UTF-8 path");
    let inspect = es(&["inspect", dir_arg]);
    assert_eq!(
        code(&inspect),
        0,
        "{}",
        String::from_utf8_lossy(&inspect.stderr)
    );
    assert!(String::from_utf8_lossy(&inspect.stdout).contains("events     20 in 1 stream"));

    let file = temp.path().join("more.jsonl");
    std::fs::write(
        &file,
        r#"{"stream_id":"t","stream_version":1,"event_type":"Pinged","schema_version":1,"payload":{}}"#,
    )
    .expect("write");
    let import = es(&["import", dir_arg, file.to_str().expect("UTF-8 path")]);
    assert_eq!(code(&import), 2);
    let stderr = String::from_utf8_lossy(&import.stderr);
    assert!(stderr.contains("already open"), "{stderr}");
    drop(writer);
}

#[test]
fn tail_follow_prints_events_a_running_writer_appends() {
    let temp = tempfile::tempdir().expect("temp dir");
    let dir = temp.path().join("store");
    store_with_events(&dir);
    let writer = FileStore::open(&dir).expect("open");
    let mut child = Command::new(env!("CARGO_BIN_EXE_es"))
        .args([
            "tail",
            dir.to_str().expect("UTF-8 path"),
            "-n",
            "1",
            "--follow",
        ])
        .stdout(Stdio::piped())
        .spawn()
        .expect("run es tail --follow");
    let next = lines_of(&mut child);
    assert!(next().starts_with("#20 "), "the last stored event first");
    for n in 21..=23 {
        let event = NewEvent::new("Followed", 1, json!({ "n": n }));
        writer
            .append("live", ExpectedVersion::Any, vec![event])
            .expect("append");
        let line = next();
        assert!(line.starts_with(&format!("#{n} ")), "{line}");
        assert!(
            line.contains(&format!("live@{} Followed v1", n - 20)),
            "{line}"
        );
    }
    child.kill().expect("stop tail");
    child.wait().expect("reap tail");
}

#[test]
fn the_untyped_binary_has_no_check_but_copies_with_migrate() {
    let run = es(&["check", "somewhere"]);
    assert_eq!(code(&run), 2);
    let help = es(&["--help"]);
    assert_eq!(code(&help), 0);
    let text = String::from_utf8_lossy(&help.stdout);
    assert!(
        text.contains("  inspect ") && text.contains("  migrate ") && !text.contains("  check "),
        "{text}"
    );
    assert!(text.contains("postgres://"), "help explains URLs: {text}");
}

/// The URL of a fresh schema on the server of `DATABASE_URL`, and the schema; `None` (the test
/// skipped, with a line saying so) without it, a failure when `CI` is set.
fn postgres_schema() -> Option<(String, String)> {
    match std::env::var("DATABASE_URL") {
        Ok(url) if !url.is_empty() => Some((url, format!("t_{:016x}", fastrand::u64(..)))),
        _ => {
            assert!(
                std::env::var_os("CI").is_none(),
                "DATABASE_URL is not set, but CI is: the PostgreSQL tests must run in CI"
            );
            eprintln!(
                "skipped: DATABASE_URL is not set (e.g. postgres://postgres@127.0.0.1:5432/test)"
            );
            None
        }
    }
}

/// Drops the test's schema when it goes out of scope, the test passed or not.
struct DropSchema(String, String);

impl Drop for DropSchema {
    fn drop(&mut self) {
        let (url, schema) = (self.0.clone(), self.1.clone());
        let dropped = std::thread::spawn(move || {
            postgres::Client::connect(&url, postgres::NoTls)?
                .batch_execute(&format!("DROP SCHEMA IF EXISTS {schema} CASCADE"))
        })
        .join();
        if !matches!(dropped, Ok(Ok(()))) && !std::thread::panicking() {
            eprintln!("could not drop test schema {}", self.1);
        }
    }
}

#[test]
fn tail_follow_on_a_postgres_url_prints_events_another_process_appends() {
    let Some((url, schema)) = postgres_schema() else {
        return;
    };
    let _drop = DropSchema(url.clone(), schema.clone());
    let writer = es_postgres::PgStore::options(&url)
        .schema(&schema)
        .connect()
        .expect("the test server accepts a store");
    writer
        .append(
            "s",
            ExpectedVersion::NoStream,
            vec![NewEvent::new("Pinged", 1, json!({ "n": 0 }))],
        )
        .expect("append");
    let separator = if url.contains('?') { '&' } else { '?' };
    let location = format!("{url}{separator}schema={schema}");
    let mut child = Command::new(env!("CARGO_BIN_EXE_es"))
        .args(["tail", &location, "-n", "1", "--follow"])
        .stdout(Stdio::piped())
        .spawn()
        .expect("run es tail --follow");
    let next = lines_of(&mut child);
    assert!(next().starts_with("#1 "), "the last stored event first");
    for n in 1..=3 {
        let event = NewEvent::new("Followed", 1, json!({ "n": n }));
        let outcome = writer
            .append("live", ExpectedVersion::Any, vec![event])
            .expect("append");
        let line = next();
        assert!(
            line.starts_with(&format!("#{} ", outcome.last_position)),
            "{line}"
        );
        assert!(line.contains(&format!("live@{n} Followed v1")), "{line}");
    }
    child.kill().expect("stop tail");
    child.wait().expect("reap tail");
}

/// The lines a child prints, one per call, waiting up to 20 s for each.
fn lines_of(child: &mut std::process::Child) -> impl Fn() -> String {
    let stdout = child.stdout.take().expect("piped stdout");
    let (lines, received) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if lines.send(line).is_err() {
                break;
            }
        }
    });
    move || {
        received
            .recv_timeout(Duration::from_secs(20))
            .expect("a line from tail")
    }
}

#[test]
fn export_into_a_pipe_closed_early_ends_quietly_with_exit_zero() {
    let temp = tempfile::tempdir().expect("temp dir");
    let dir = temp.path().join("store");
    let store = FileStore::open(&dir).expect("open");
    // Far more than a pipe buffers, so `es` is still writing when the reader goes.
    let events: Vec<NewEvent> = (0..5000)
        .map(|n| NewEvent::new("Pinged", 1, json!({ "n": n, "padding": "x".repeat(200) })))
        .collect();
    store
        .append("s", ExpectedVersion::Any, events)
        .expect("append");
    drop(store);
    let mut child = Command::new(env!("CARGO_BIN_EXE_es"))
        .args(["export", dir.to_str().expect("UTF-8 path")])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run es");
    let mut first = String::new();
    BufReader::new(child.stdout.take().expect("stdout"))
        .read_line(&mut first)
        .expect("a line");
    assert!(first.starts_with("{\"position\":1,"), "{first}");
    // The reader is dropped here: the pipe is closed like `| head -1` closes it.
    let output = child.wait_with_output().expect("wait");
    assert_eq!(
        String::from_utf8_lossy(&output.stderr),
        "",
        "a closed pipe is not an error"
    );
    assert_eq!(code(&output), 0);
}
