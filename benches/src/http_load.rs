//! The bank service under load through HTTP: deposits per second and latency percentiles of
//! `es_examples::bank_service` on 127.0.0.1, on the file store and (when `DATABASE_URL` is set)
//! on PostgreSQL, beside the same deposits through the `Repository` without HTTP.
//!
//! A bounded load: `clients` threads, each with one keep-alive connection, send
//! `deposits_per_client` deposits (each with an `Idempotency-Key`) to `accounts` accounts.

use std::path::Path;
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use es_core::Repository;
use es_examples::account::AccountCommand;
use es_examples::bank_service::client::HttpClient;
use es_examples::bank_service::command::{self, RequestContext};
use es_examples::bank_service::store::{open_store, StoreLocation};
use es_examples::bank_service::{start, Config};

use crate::table::{Figure, Row};

/// How much load.
#[derive(Debug, Clone, Copy)]
pub struct HttpScale {
    /// Concurrent clients.
    pub clients: usize,
    /// Deposits each client sends.
    pub deposits_per_client: usize,
    /// Accounts the deposits spread over.
    pub accounts: usize,
}

impl HttpScale {
    /// The figures in BENCHMARKS.md.
    #[must_use]
    pub fn full() -> Self {
        Self {
            clients: 8,
            deposits_per_client: 500,
            accounts: 10,
        }
    }

    /// Every path runs; the figures mean nothing.
    #[must_use]
    pub fn quick() -> Self {
        Self {
            clients: 2,
            deposits_per_client: 20,
            accounts: 2,
        }
    }
}

/// The rows: the file store in a temporary directory under `base`, then PostgreSQL if `DATABASE_URL` is set.
///
/// # Panics
/// When the service cannot start or a deposit fails: no figure is reported for a run that
/// did not do its work.
#[must_use]
pub fn rows(scale: HttpScale, base: &Path) -> Vec<Row> {
    let work = tempfile::Builder::new()
        .prefix("es-bench-http-")
        .tempdir_in(base)
        .expect("a temporary directory for the stores");
    let dir = work.path();
    let mut rows = Vec::new();
    eprintln!("== HTTP deposits, file store");
    rows.push(measure(
        scale,
        "file store",
        &|name| StoreLocation::Dir(dir.join(format!("http-{name}"))),
        &|| (),
    ));
    match std::env::var("DATABASE_URL") {
        Ok(url) if !url.is_empty() => {
            eprintln!("== HTTP deposits, PostgreSQL");
            let schemas = std::sync::Mutex::new(Vec::new());
            let location = |name: &str| {
                let schema = format!("bench_http_{name}_{:08x}", std::process::id());
                schemas.lock().expect("schemas").push(schema.clone());
                StoreLocation::Postgres {
                    url: url.clone(),
                    schema,
                }
            };
            let drop_schemas = || {
                for schema in schemas.lock().expect("schemas").drain(..) {
                    drop_schema(&url, &schema);
                }
            };
            rows.push(measure(scale, "PostgreSQL", &location, &drop_schemas));
        }
        _ => eprintln!("skipped: HTTP deposits on PostgreSQL: DATABASE_URL is not set"),
    }
    rows
}

fn measure(
    scale: HttpScale,
    store_name: &str,
    location: &dyn Fn(&str) -> StoreLocation,
    clean_up: &dyn Fn(),
) -> Row {
    let (http_rate, latencies) = through_http(scale, location("http"));
    let direct_rate = through_repository(scale, &location("direct"));
    clean_up();
    let p50 = percentile(&latencies, 0.50);
    let p99 = percentile(&latencies, 0.99);
    Row {
        what: format!(
            "deposits through HTTP, {store_name}, {} clients × {} deposits, {} accounts (bank-service on 127.0.0.1)",
            scale.clients, scale.deposits_per_client, scale.accounts
        ),
        ours: Figure::new("HTTP", http_rate, "deposits/s"),
        peer: Some(Figure::new(
            "Repository::execute, same threads, no HTTP",
            direct_rate,
            "deposits/s",
        )),
        checked: format!(
            "HTTP latency p50 {:.2} ms, p99 {:.2} ms",
            p50.as_secs_f64() * 1e3,
            p99.as_secs_f64() * 1e3
        ),
        target: None,
    }
}

fn account(n: usize) -> String {
    format!("acc-{n}")
}

/// Deposits/s and every request's latency, through the service.
fn through_http(scale: HttpScale, location: StoreLocation) -> (f64, Vec<Duration>) {
    let service = start(&Config {
        listen: "127.0.0.1:0".parse().expect("an address"),
        store: location,
        projector: true,
    })
    .expect("the service starts");
    let addr = service.addr();
    let mut client = HttpClient::new(addr);
    for n in 0..scale.accounts {
        let opened = client
            .post(
                &format!("/accounts/{}", account(n)),
                &[],
                r#"{"owner": "bench"}"#,
            )
            .expect("open an account");
        assert_eq!(opened.status, 201, "{opened:?}");
    }
    let barrier = Arc::new(Barrier::new(scale.clients + 1));
    let threads: Vec<_> = (0..scale.clients)
        .map(|c| {
            let barrier = Arc::clone(&barrier);
            std::thread::spawn(move || {
                let mut client = HttpClient::new(addr);
                let mut latencies = Vec::with_capacity(scale.deposits_per_client);
                barrier.wait();
                for d in 0..scale.deposits_per_client {
                    let key = format!("c{c}-d{d}");
                    let path = format!("/accounts/{}/deposits", account((c + d) % scale.accounts));
                    let sent = Instant::now();
                    let response = client
                        .post(&path, &[("Idempotency-Key", &key)], r#"{"amount": 1}"#)
                        .expect("a deposit's response");
                    latencies.push(sent.elapsed());
                    assert_eq!(response.status, 200, "{response:?}");
                }
                latencies
            })
        })
        .collect();
    barrier.wait();
    let started = Instant::now();
    let mut latencies: Vec<Duration> = threads
        .into_iter()
        .flat_map(|t| t.join().expect("a client thread"))
        .collect();
    let elapsed = started.elapsed().as_secs_f64();
    service.shutdown();
    latencies.sort_unstable();
    (rate(latencies.len(), elapsed), latencies)
}

/// Deposits/s of the same work through the repository, without HTTP.
fn through_repository(scale: HttpScale, location: &StoreLocation) -> f64 {
    let repo = Arc::new(
        Repository::new(open_store(location).expect("the store opens")).snapshot_every(100),
    );
    for n in 0..scale.accounts {
        command::execute(
            &repo,
            &account(n),
            AccountCommand::Open {
                owner: "bench".into(),
                initial_deposit: 0,
                currency: "EUR".into(),
            },
            &RequestContext::default(),
        )
        .expect("open an account");
    }
    let barrier = Arc::new(Barrier::new(scale.clients + 1));
    let threads: Vec<_> = (0..scale.clients)
        .map(|c| {
            let (barrier, repo) = (Arc::clone(&barrier), Arc::clone(&repo));
            std::thread::spawn(move || {
                barrier.wait();
                for d in 0..scale.deposits_per_client {
                    let request = RequestContext {
                        idempotency_key: Some(format!("c{c}-d{d}")),
                        request_id: None,
                    };
                    command::execute(
                        &repo,
                        &account((c + d) % scale.accounts),
                        AccountCommand::Deposit { amount: 1 },
                        &request,
                    )
                    .expect("a deposit");
                }
            })
        })
        .collect();
    barrier.wait();
    let started = Instant::now();
    for thread in threads {
        thread.join().expect("a depositing thread");
    }
    rate(
        scale.clients * scale.deposits_per_client,
        started.elapsed().as_secs_f64(),
    )
}

fn rate(count: usize, secs: f64) -> f64 {
    // Counts far below 2^52: exact as f64.
    #[allow(clippy::cast_precision_loss)]
    let count = count as f64;
    count / secs
}

fn percentile(sorted: &[Duration], q: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    #[allow(
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        clippy::cast_precision_loss
    )]
    let at = ((sorted.len() - 1) as f64 * q).round() as usize;
    sorted[at.min(sorted.len() - 1)]
}

fn drop_schema(url: &str, schema: &str) {
    let (url, sql) = (
        url.to_owned(),
        format!("DROP SCHEMA IF EXISTS {schema} CASCADE"),
    );
    let dropped = std::thread::spawn(move || {
        postgres::Client::connect(&url, postgres::NoTls)?.batch_execute(&sql)
    })
    .join();
    if !matches!(dropped, Ok(Ok(()))) {
        eprintln!("could not drop the benchmark's schema {schema}");
    }
}
