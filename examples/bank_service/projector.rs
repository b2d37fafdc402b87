//! The read model's projector, run inside the service's instances.
//!
//! On PostgreSQL, instances share one read model, so one projector at a time writes it: the
//! instance holding a session-level advisory lock (the lease) on the projector's own
//! connection. The others try for it every [`LEASE_RETRY`]. The lock belongs to that
//! connection's session, so when the holder dies (or its connection breaks) PostgreSQL
//! releases it and the next try of another instance wins, within about a second; the old
//! holder's writes, on the same broken session, cannot commit. The read model's checkpoint
//! commits with its rows, so the new holder resumes exactly where the old one stopped.
//!
//! On the file store, one process owns the directory, and its projector always runs.

use std::path::PathBuf;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use es_core::{ProjectionRunner, StopHandle};
use rusqlite::Connection;

use super::read_model::{pg_connect, PgBalances};
use super::store::SharedStore;
use crate::sqlite_balances::SqliteBalances;

/// How often an instance without the lease tries to take it, and how long a failed projector
/// waits before it starts again.
pub const LEASE_RETRY: Duration = Duration::from_secs(1);

/// How long `follow` waits for new events before it looks at its stop handle.
const STOP_CHECK: Duration = Duration::from_millis(250);

/// What this instance's projector is doing, for `/health`.
#[derive(Debug, Default)]
pub struct ProjectorRole(AtomicU8);

const OFF: u8 = 0;
const STANDBY: u8 = 1;
const RUNNING: u8 = 2;

impl ProjectorRole {
    fn set(&self, role: u8) {
        self.0.store(role, Ordering::SeqCst);
    }

    /// `off` (`--no-projector`), `standby` (another instance holds the lease, or the projector
    /// is starting again after a failure) or `running`.
    #[must_use]
    pub fn describe(&self) -> &'static str {
        match self.0.load(Ordering::SeqCst) {
            STANDBY => "standby",
            RUNNING => "running",
            _ => "off",
        }
    }
}

/// The lease's advisory lock key, per schema; es-postgres's own locks use other first keys.
const LEASE_SQL: &str =
    "SELECT pg_try_advisory_lock(hashtext('bank-service projector'), hashtext($1))";

/// Starts the PostgreSQL projector thread: lease, then `follow`, until `stop`.
///
/// # Errors
/// When the thread cannot be started.
pub fn spawn_pg(
    store: SharedStore,
    url: String,
    schema: String,
    stop: StopHandle,
    role: Arc<ProjectorRole>,
) -> std::io::Result<JoinHandle<()>> {
    role.set(STANDBY);
    std::thread::Builder::new()
        .name("projector".into())
        .spawn(move || {
            let mut client = None;
            while !stop.is_stopped() {
                if client.is_none() {
                    client = pg_connect(&url)
                        .map_err(|e| eprintln!("projector: cannot connect: {e}"))
                        .ok();
                }
                let Some(mut held) = client.take() else {
                    sleep_unless_stopped(&stop, LEASE_RETRY);
                    continue;
                };
                match held.query_one(LEASE_SQL, &[&schema]) {
                    Ok(row) if row.get::<_, bool>(0) => {
                        role.set(RUNNING);
                        eprintln!("projector: took the lease for schema `{schema}`");
                        // The lease lives and dies with `held`, which the model now owns.
                        project_pg(&store, held, &schema, &stop);
                        role.set(STANDBY);
                        sleep_unless_stopped(&stop, LEASE_RETRY);
                    }
                    Ok(_) => {
                        client = Some(held);
                        sleep_unless_stopped(&stop, LEASE_RETRY);
                    }
                    Err(e) => {
                        eprintln!("projector: the lease's connection failed: {e}");
                        sleep_unless_stopped(&stop, LEASE_RETRY);
                    }
                }
            }
            role.set(OFF);
        })
}

fn project_pg(store: &SharedStore, client: postgres::Client, schema: &str, stop: &StopHandle) {
    let balances = match PgBalances::new(client, schema) {
        Ok(balances) => balances,
        Err(e) => {
            eprintln!("projector: cannot open the read model: {e}");
            return;
        }
    };
    follow(store, balances, stop);
}

/// Starts the SQLite projector thread over the file store: `follow` until `stop`.
///
/// # Errors
/// When the thread cannot be started.
pub fn spawn_sqlite(
    store: SharedStore,
    path: PathBuf,
    stop: StopHandle,
    role: Arc<ProjectorRole>,
) -> std::io::Result<JoinHandle<()>> {
    role.set(STANDBY);
    std::thread::Builder::new()
        .name("projector".into())
        .spawn(move || {
            while !stop.is_stopped() {
                match open_sqlite(&path) {
                    Ok(balances) => {
                        role.set(RUNNING);
                        follow(&store, balances, &stop);
                        role.set(STANDBY);
                    }
                    Err(e) => eprintln!("projector: cannot open {}: {e}", path.display()),
                }
                sleep_unless_stopped(&stop, LEASE_RETRY);
            }
            role.set(OFF);
        })
}

/// Opens the SQLite read model at `path` for a writer or a reader: WAL, so readers never wait
/// for the projector, and a busy timeout for the moments they must.
///
/// # Errors
/// SQLite's.
pub fn open_sqlite(path: &std::path::Path) -> Result<SqliteBalances, rusqlite::Error> {
    let conn = Connection::open(path)?;
    conn.busy_timeout(Duration::from_secs(5))?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    SqliteBalances::from_connection(conn)
}

fn follow<T>(store: &SharedStore, model: T, stop: &StopHandle)
where
    T: es_core::TransactionalProjection<Event = crate::account::AccountEvent>,
{
    let runner = ProjectionRunner::transactional(Arc::clone(store), model);
    let mut runner = match runner {
        Ok(runner) => runner.with_stop_check_interval(STOP_CHECK),
        Err(e) => {
            eprintln!("projector: {}", super::errors::chain(&e));
            return;
        }
    };
    if let Err(e) = runner.follow(stop) {
        eprintln!("projector stopped: {}", super::errors::chain(&e));
    }
}

fn sleep_unless_stopped(stop: &StopHandle, duration: Duration) {
    let tick = Duration::from_millis(50);
    let mut slept = Duration::ZERO;
    while slept < duration && !stop.is_stopped() {
        std::thread::sleep(tick);
        slept += tick;
    }
}
