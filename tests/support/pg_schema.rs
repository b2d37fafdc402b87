//! A PostgreSQL schema of one test's own, dropped afterwards; the same rules as es-postgres'
//! tests: skipped (with a line saying so) without `DATABASE_URL`, a failure without it under
//! `CI`, so CI cannot pass without the server.

/// A fresh schema name on the server of `DATABASE_URL`; the schema itself is created by
/// whatever connects to it first, and dropped with everything in it when this is dropped.
#[derive(Debug)]
pub struct PgSchema {
    /// The server, from `DATABASE_URL`.
    pub url: String,
    /// The schema's name.
    pub name: String,
}

impl PgSchema {
    /// A fresh schema, or `None` when the PostgreSQL tests are skipped.
    ///
    /// # Panics
    /// When `DATABASE_URL` is missing but `CI` is set.
    #[must_use]
    pub fn new() -> Option<Self> {
        let url = match std::env::var("DATABASE_URL") {
            Ok(url) if !url.is_empty() => url,
            _ => {
                assert!(
                    std::env::var_os("CI").is_none(),
                    "DATABASE_URL is not set, but CI is: the PostgreSQL tests must run in CI"
                );
                eprintln!(
                    "skipped: DATABASE_URL is not set (e.g. postgres://postgres@127.0.0.1:5432/test)"
                );
                return None;
            }
        };
        let name = format!("t_{:016x}", fastrand::u64(..));
        Some(Self { url, name })
    }
}

impl PgSchema {
    /// Whether the schema exists on the server (whatever connected may have created it).
    ///
    /// # Panics
    /// When the server cannot be queried.
    #[must_use]
    pub fn exists(&self) -> bool {
        let (url, name) = (self.url.clone(), self.name.clone());
        // A thread of its own: the blocking client must not run on a Tokio thread.
        std::thread::spawn(move || {
            postgres::Client::connect(&url, postgres::NoTls)
                .and_then(|mut client| {
                    client.query_opt(
                        "SELECT 1 FROM information_schema.schemata WHERE schema_name = $1",
                        &[&name],
                    )
                })
                .map(|row| row.is_some())
        })
        .join()
        .expect("query thread")
        .expect("query the server")
    }
}

impl Drop for PgSchema {
    fn drop(&mut self) {
        let (url, name) = (self.url.clone(), self.name.clone());
        // A thread of its own: the blocking client must not run on a Tokio thread.
        let dropped = std::thread::spawn(move || {
            postgres::Client::connect(&url, postgres::NoTls)?
                .batch_execute(&format!("DROP SCHEMA IF EXISTS {name} CASCADE"))
        })
        .join();
        if !matches!(dropped, Ok(Ok(()))) && !std::thread::panicking() {
            eprintln!("could not drop test schema {}", self.name);
        }
    }
}
