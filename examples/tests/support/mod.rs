//! What the bank service's tests share: the PostgreSQL server from `DATABASE_URL`, a schema per
//! test dropped afterwards, service instances in child processes (copies of the test binary),
//! and an HTTP client.

#![allow(dead_code, clippy::missing_panics_doc)]

use std::io::{BufRead, BufReader, Write};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

pub use es_examples::bank_service::client::{HttpClient, Response};

/// The environment variable that makes the test `child_service` run a service: the service's
/// arguments, one per line.
pub const CHILD_ARGS: &str = "ES_BANK_SERVICE_CHILD_ARGS";

/// A child left behind by a parent that died exits by itself after this long.
pub const CHILD_LIFETIME: Duration = Duration::from_secs(180);

/// How long a child may take to listen.
const START_TIMEOUT: Duration = Duration::from_secs(60);

/// The server to test against, from `DATABASE_URL`. Without it the test is skipped, with a
/// line saying so; with `CI` set, a skip is a failure, so CI cannot pass without the server.
pub fn database_url() -> Option<String> {
    match std::env::var("DATABASE_URL") {
        Ok(url) if !url.is_empty() => Some(url),
        _ => {
            assert!(
                std::env::var_os("CI").is_none(),
                "DATABASE_URL is not set, but CI is: the PostgreSQL tests must run in CI"
            );
            let _ = writeln!(
                std::io::stderr(),
                "skipped: a bank-service test on PostgreSQL: DATABASE_URL is not set \
                 (e.g. postgres://postgres@127.0.0.1:5432/test)"
            );
            None
        }
    }
}

/// A schema of its own for one test, dropped when the guard is.
pub struct Schema {
    pub url: String,
    pub name: String,
}

impl Schema {
    #[must_use]
    pub fn new(url: &str) -> Self {
        Self {
            url: url.to_owned(),
            name: format!("t_svc_{:016x}", fastrand::u64(..)),
        }
    }

    /// The service's `--store` argument for this schema.
    #[must_use]
    pub fn store_arg(&self) -> String {
        format!("{}?schema={}", self.url, self.name)
    }
}

impl Drop for Schema {
    fn drop(&mut self) {
        let url = self.url.clone();
        let sql = format!("DROP SCHEMA IF EXISTS {} CASCADE", self.name);
        // A thread of its own: the blocking client must not run on a Tokio thread.
        let dropped = std::thread::spawn(move || {
            postgres::Client::connect(&url, postgres::NoTls)?.batch_execute(&sql)
        })
        .join();
        if !matches!(dropped, Ok(Ok(()))) {
            eprintln!("could not drop test schema {}", self.name);
        }
    }
}

/// A service instance in a child process, killed (SIGKILL) when dropped.
pub struct Instance {
    child: Child,
    pub addr: SocketAddr,
}

impl Instance {
    /// Starts `test_binary child_service` with the service's `args`, and waits until it
    /// prints the address it listens on.
    #[must_use]
    pub fn start(args: &[String]) -> Self {
        let mut child = Command::new(std::env::current_exe().expect("the test binary's path"))
            .args([
                "child_service",
                "--exact",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(CHILD_ARGS, args.join("\n"))
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("the child starts");
        let stdout = child.stdout.take().expect("the child's stdout");
        let (found, address) = mpsc::channel();
        std::thread::spawn(move || {
            let mut found = Some(found);
            // Reads to the end, so the child never blocks on a full pipe.
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if let Some(rest) = line.split("listening on http://").nth(1) {
                    let addr = rest
                        .split_whitespace()
                        .next()
                        .unwrap_or_default()
                        .to_owned();
                    if let Some(found) = found.take() {
                        let _ = found.send(addr);
                    }
                }
            }
        });
        let addr = address
            .recv_timeout(START_TIMEOUT)
            .expect("the child service prints its address")
            .parse()
            .expect("a socket address");
        Self { child, addr }
    }

    /// SIGKILL, and waits for the process to end.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    #[must_use]
    pub fn client(&self) -> HttpClient {
        HttpClient::new(self.addr)
    }
}

impl Drop for Instance {
    fn drop(&mut self) {
        self.kill();
    }
}

/// The child's part: runs the service with the arguments in [`CHILD_ARGS`]; does nothing in a
/// normal test run.
pub fn child_service() {
    let Ok(args) = std::env::var(CHILD_ARGS) else {
        return;
    };
    std::thread::spawn(|| {
        std::thread::sleep(CHILD_LIFETIME);
        std::process::exit(3);
    });
    let args: Vec<String> = args.lines().map(str::to_owned).collect();
    if let Err(e) = es_examples::bank_service::run(args) {
        eprintln!("child service failed: {e}");
        std::process::exit(2);
    }
}

/// A JSON body's `error`, asserting it is there.
#[must_use]
pub fn error_of(response: &Response) -> String {
    response.json()["error"]
        .as_str()
        .unwrap_or_else(|| panic!("no JSON error in {response:?}"))
        .to_owned()
}
