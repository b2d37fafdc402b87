//! The bank as an HTTP service: `cargo run --example bank-service -- --listen ADDR
//! [--store DIR|postgres://…] [--schema NAME] [--no-projector]`.
//!
//! Requests run the synchronous toolkit through `spawn_blocking`; the read model's projector
//! and its queries run on threads of their own. Modules: `routes` (the HTTP contract),
//! `command` (idempotency keys, correlation ids and conflict retries, in one function),
//! `errors` (status codes and JSON errors), `store` (file store or PostgreSQL),
//! `read_model` (the balances table and its queries), `projector` (the lease and the runner),
//! `client` (a small HTTP/1.1 client for tests and the load generator).

pub mod client;
pub mod command;
pub mod errors;
pub mod projector;
pub mod read_model;
pub mod routes;
pub mod store;

use std::net::SocketAddr;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use es_core::{Repository, StopHandle};
use tokio::sync::oneshot;

use crate::account::Account;
use projector::ProjectorRole;
use read_model::{BalanceQueries, BalanceReader, PgBalances, PgReader, SqliteReader};
use store::{SharedStore, StoreLocation};

/// The bank's repository over the service's store.
pub type BankRepository = Repository<Account, SharedStore>;

/// Errors of starting the service.
pub type StartError = Box<dyn std::error::Error + Send + Sync>;

/// How the service runs, from its command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// Where to listen (`127.0.0.1:0` picks a free port).
    pub listen: SocketAddr,
    /// Where the log is.
    pub store: StoreLocation,
    /// Whether this instance takes part in running the read model's projector.
    pub projector: bool,
}

/// The command line's usage.
pub const USAGE: &str =
    "usage: bank-service --listen ADDR [--store DIR|postgres://…[?schema=NAME]] \
[--schema NAME] [--no-projector]";

impl Config {
    /// Parses the arguments after the program's name.
    ///
    /// # Errors
    /// A message naming the argument that is wrong, or the usage for `--help`.
    pub fn from_args(args: impl IntoIterator<Item = String>) -> Result<Self, String> {
        let mut listen = None;
        let mut store = None;
        let mut schema = None;
        let mut projector = true;
        let mut args = args.into_iter();
        while let Some(arg) = args.next() {
            let mut value = |flag: &str| {
                args.next()
                    .ok_or_else(|| format!("{flag} needs a value\n{USAGE}"))
            };
            match arg.as_str() {
                "--listen" => {
                    let text = value("--listen")?;
                    listen = Some(
                        text.parse::<SocketAddr>()
                            .map_err(|e| format!("--listen {text}: {e}\n{USAGE}"))?,
                    );
                }
                "--store" => store = Some(value("--store")?),
                "--schema" => schema = Some(value("--schema")?),
                "--no-projector" => projector = false,
                "--help" | "-h" => return Err(USAGE.to_owned()),
                other => return Err(format!("unknown argument {other:?}\n{USAGE}")),
            }
        }
        Ok(Self {
            listen: listen.ok_or_else(|| format!("--listen is required\n{USAGE}"))?,
            store: StoreLocation::parse(
                store.as_deref().unwrap_or(store::DEFAULT_DIR),
                schema.as_deref(),
            ),
            projector,
        })
    }
}

/// A running service: its address, and what [`shutdown`](Self::shutdown) stops.
pub struct Service {
    addr: SocketAddr,
    runtime: tokio::runtime::Runtime,
    stop_server: Option<oneshot::Sender<()>>,
    stop_projector: StopHandle,
    projector: Option<JoinHandle<()>>,
}

impl Service {
    /// The address it listens on.
    #[must_use]
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Blocks until Ctrl-C.
    ///
    /// # Errors
    /// When the signal cannot be listened for.
    pub fn wait_for_ctrl_c(&self) -> std::io::Result<()> {
        self.runtime.block_on(tokio::signal::ctrl_c())
    }

    /// Stops accepting requests, lets those running finish (for a few seconds at most), and
    /// stops the projector.
    pub fn shutdown(mut self) {
        if let Some(stop) = self.stop_server.take() {
            let _ = stop.send(());
        }
        self.stop_projector.stop();
        self.runtime.shutdown_timeout(Duration::from_secs(5));
        if let Some(projector) = self.projector.take() {
            let _ = projector.join();
        }
    }
}

/// Opens the store, starts the read model's threads and the HTTP server on a runtime of its
/// own, and returns once it listens.
///
/// # Errors
/// When the store cannot be opened, the address bound, or a thread started.
pub fn start(config: &Config) -> Result<Service, StartError> {
    let store = store::open_store(&config.store)?;
    let stop_projector = StopHandle::new();
    let role = Arc::new(ProjectorRole::default());
    let (reader, projector, backend): (Box<dyn BalanceReader>, _, _) = match &config.store {
        StoreLocation::Dir(dir) => {
            let path = dir.join("balances.sqlite");
            let reader = SqliteReader(projector::open_sqlite(&path)?);
            // One process owns the directory: its projector always runs.
            let handle = projector::spawn_sqlite(
                Arc::clone(&store),
                path,
                stop_projector.clone(),
                Arc::clone(&role),
            )?;
            (Box::new(reader), Some(handle), "file")
        }
        StoreLocation::Postgres { url, schema } => {
            PgBalances::create_tables(url, schema)?;
            let handle = if config.projector {
                Some(projector::spawn_pg(
                    Arc::clone(&store),
                    url.clone(),
                    schema.clone(),
                    stop_projector.clone(),
                    Arc::clone(&role),
                )?)
            } else {
                None
            };
            let reader = PgReader::new(url.clone(), schema.clone());
            (Box::new(reader), handle, "postgres")
        }
    };
    let state = Arc::new(routes::AppState {
        repo: Arc::new(Repository::new(Arc::clone(&store)).snapshot_every(100)),
        store,
        balances: BalanceQueries::spawn(reader)?,
        projector: role,
        backend,
    });
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("bank-service")
        .build()?;
    let listener = std::net::TcpListener::bind(config.listen)?;
    listener.set_nonblocking(true)?;
    let addr = listener.local_addr()?;
    let (stop_server, stopped) = oneshot::channel::<()>();
    runtime.block_on(async {
        let listener = tokio::net::TcpListener::from_std(listener)?;
        let app = routes::router(state);
        tokio::spawn(async move {
            let served = axum::serve(listener, app)
                .with_graceful_shutdown(async {
                    let _ = stopped.await;
                })
                .await;
            if let Err(e) = served {
                eprintln!("bank-service: the server stopped: {e}");
            }
        });
        Ok::<_, std::io::Error>(())
    })?;
    Ok(Service {
        addr,
        runtime,
        stop_server: Some(stop_server),
        stop_projector,
        projector,
    })
}

/// The service's `main`: parses `args` (without the program's name), starts, prints the
/// address it listens on, and runs until Ctrl-C.
///
/// # Errors
/// A bad command line, or a failure to start.
pub fn run(args: impl IntoIterator<Item = String>) -> Result<(), StartError> {
    let config = Config::from_args(args)?;
    let service = start(&config)?;
    println!(
        "bank-service listening on http://{} ({})",
        service.addr(),
        config.store.describe()
    );
    std::io::Write::flush(&mut std::io::stdout())?;
    service.wait_for_ctrl_c()?;
    service.shutdown();
    Ok(())
}
