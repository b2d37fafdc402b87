//! What the PostgreSQL tests share: the server's URL, and a store in a schema of its own that
//! is dropped with the fixture, so tests run in parallel and leave nothing behind.

#![allow(dead_code, clippy::missing_panics_doc)]

use std::io::Write;

use es_core::conformance::StoreFixture;
use es_core::EventStore;
use es_postgres::PgStore;

/// The server to test against, from `DATABASE_URL`. Without it the test is skipped, with a
/// line saying so; with `CI` set, a skip is a failure, so CI cannot pass without the server.
pub fn database_url() -> Option<String> {
    // Once per test binary, and past the test harness's capture of `eprintln!`, so the skip
    // shows in a plain `cargo test` run.
    static SAID: std::sync::Once = std::sync::Once::new();
    match std::env::var("DATABASE_URL") {
        Ok(url) if !url.is_empty() => Some(url),
        _ => {
            assert!(
                std::env::var_os("CI").is_none(),
                "DATABASE_URL is not set, but CI is: the PostgreSQL tests must run in CI"
            );
            SAID.call_once(|| {
                let _ = writeln!(
                    std::io::stderr(),
                    "skipped: the PostgreSQL tests of {}: DATABASE_URL is not set \
                     (e.g. postgres://postgres@127.0.0.1:5432/test)",
                    env!("CARGO_CRATE_NAME")
                );
            });
            None
        }
    }
}

/// A fresh schema name.
pub fn unique_schema() -> String {
    format!("t_{:016x}", fastrand::u64(..))
}

/// A store in a schema of its own; the schema is dropped when the fixture is.
pub struct Fixture {
    pub store: PgStore,
    pub url: String,
    pub schema: String,
}

impl Fixture {
    /// Another store on the same schema, as a second process would open it.
    pub fn second_store(&self) -> PgStore {
        PgStore::options(&self.url)
            .schema(&self.schema)
            .connect()
            .expect("a second store connects")
    }

    /// A plain client on the server, for what the tests do behind the store's back.
    pub fn admin(&self) -> postgres::Client {
        admin(&self.url)
    }
}

/// A store in a new schema, or `None` when the tests are skipped.
pub fn fixture() -> Option<Fixture> {
    let url = database_url()?;
    let schema = unique_schema();
    let store = PgStore::options(&url)
        .schema(&schema)
        .max_connections(8)
        .connect()
        .expect("the test server accepts a store");
    Some(Fixture { store, url, schema })
}

pub fn admin(url: &str) -> postgres::Client {
    postgres::Client::connect(url, postgres::NoTls).expect("the test server accepts a client")
}

impl StoreFixture for Fixture {
    fn store(&self) -> &dyn EventStore {
        &self.store
    }
}

impl Drop for Fixture {
    fn drop(&mut self) {
        let url = self.url.clone();
        let schema = self.schema.clone();
        // A thread of its own: the blocking client must not run on a Tokio thread, and a
        // fixture may be dropped on one.
        let dropped = std::thread::spawn(move || {
            admin(&url).batch_execute(&format!("DROP SCHEMA IF EXISTS {schema} CASCADE"))
        })
        .join();
        if !matches!(dropped, Ok(Ok(()))) && !std::thread::panicking() {
            eprintln!("could not drop test schema {}", self.schema);
        }
    }
}
