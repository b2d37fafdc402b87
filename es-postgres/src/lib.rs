//! PostgreSQL backend for es-core: one event log shared by every instance of an application.
//!
//! [`PgStore`] implements [`EventStore`](es_core::EventStore),
//! [`SnapshotStore`](es_core::SnapshotStore) and [`CheckpointStore`](es_core::CheckpointStore)
//! on tables in one PostgreSQL schema, created on first connect. Any number of `PgStore`s, in
//! any number of processes, append to and read the same log: optimistic concurrency comes from
//! a unique (stream, version) key inside the append's transaction, idempotent appends from a
//! unique event id, and `read_all` never hands out an event before every event at a lower
//! position has committed or failed for good (see `docs/postgres.md` in the repository).
//!
//! ```no_run
//! use es_core::{EventStore, ExpectedVersion, NewEvent};
//! use serde_json::json;
//!
//! let store = es_postgres::PgStore::options("postgres://postgres@127.0.0.1:5432/test")
//!     .schema("bank")
//!     .max_connections(16)
//!     .connect()?;
//! store.append("acc-1", ExpectedVersion::NoStream, vec![NewEvent::new("Opened", 1, json!({}))])?;
//! assert_eq!(store.read_all(1)?.count(), 1);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! Module map: `store.rs` ([`PgStore`] and its [`EventStore`](es_core::EventStore)
//! implementation), `append.rs`, `read.rs`, `order.rs` (gap-safe global order), `follow.rs` (`LISTEN`/`NOTIFY`),
//! `snapshots.rs`, `checkpoints.rs`, `layout.rs` (the tables and their version), `pool.rs`,
//! `runtime.rs` (the threads that drive connections), `options.rs`, `error.rs`, `sql.rs`.
//! Tests: `es-postgres/tests/`, run against `DATABASE_URL`.

mod append;
mod checkpoints;
mod error;
mod follow;
mod layout;
mod options;
mod order;
mod pool;
mod read;
mod runtime;
mod snapshots;
mod sql;
mod store;

pub use append::MAX_STREAM_ID_BYTES;
pub use error::{ConnectError, PgError};
pub use options::{PgOptions, DEFAULT_SCHEMA, MAX_SCHEMA_LEN};
pub use store::PgStore;
