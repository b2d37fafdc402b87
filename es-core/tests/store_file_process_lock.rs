//! A second open of a store directory from another process is refused, and a killed holder
//! leaves no stale lock. Alone in its test binary: a process spawned while another test closes
//! a store would hold that store's lock until it executes, and make the other test flaky.

mod support;

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::Stdio;

use es_core::FileStore;
use es_core::OpenError;

const LOCK_CHILD_DIR: &str = "ES_FILE_STORE_LOCK_CHILD_DIR";

/// Child mode of the cross-process test: open the store, say what happened, and keep it open
/// until standard input closes.
fn lock_child(dir: &str) {
    let outcome = match FileStore::open(dir) {
        Ok(store) => {
            println!("CHILD opened");
            std::io::stdout().flush().expect("flush");
            let mut line = String::new();
            // Blocks until the parent closes our standard input or kills us.
            let _ = std::io::stdin().read_line(&mut line);
            drop(store);
            return;
        }
        Err(OpenError::Locked { .. }) => "locked",
        Err(_) => "failed",
    };
    println!("CHILD {outcome}");
}

/// Starts a child in lock-child mode; returns it and the outcome it reports. A thread keeps
/// reading the child's output so that it never writes to a closed pipe.
fn spawn_lock_child(dir: &Path) -> (std::process::Child, String) {
    let mut child = support::child_test_command(
        "a_second_open_from_another_process_is_locked",
        LOCK_CHILD_DIR,
        dir,
    )
    .stdin(Stdio::piped())
    .stdout(Stdio::piped())
    .spawn()
    .expect("spawn child");
    let stdout = child.stdout.take().expect("child stdout");
    let (sender, receiver) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            // libtest may print its own `test ... ` on the same line first.
            if let Some((_, outcome)) = line.split_once("CHILD ") {
                let _ = sender.send(outcome.to_owned());
            }
        }
    });
    let outcome = receiver
        .recv_timeout(std::time::Duration::from_secs(60))
        .unwrap_or_default();
    (child, outcome)
}

#[test]
fn a_second_open_from_another_process_is_locked() {
    if let Ok(dir) = std::env::var(LOCK_CHILD_DIR) {
        lock_child(&dir);
        return;
    }
    let dir = tempfile::tempdir().expect("temporary directory");

    // This process holds the store: the child is refused.
    let store = FileStore::open(dir.path()).expect("open");
    let (mut child, outcome) = spawn_lock_child(dir.path());
    assert_eq!(outcome, "locked");
    child.wait().expect("child exits");
    drop(store);

    // The child holds the store: this process is refused, until the child is killed.
    let (mut child, outcome) = spawn_lock_child(dir.path());
    assert_eq!(outcome, "opened");
    let refused = FileStore::open(dir.path());
    assert!(
        matches!(refused, Err(OpenError::Locked { .. })),
        "got {refused:?}"
    );
    child.kill().expect("kill the child");
    child.wait().expect("reap the child");
    FileStore::open(dir.path()).expect("a killed holder leaves no stale lock");
}
