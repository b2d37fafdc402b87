//! The aggregate layer: [`Aggregate`](crate::Aggregate)s and the
//! [`Repository`](crate::Repository) that loads them (from snapshots and events) and executes
//! their commands (with idempotency keys and conflict retries: [`CommandOptions`](crate::CommandOptions)),
//! the snapshot store, and time travel over a stream's history.

pub(crate) mod command;
pub(crate) mod repository;
pub(crate) mod snapshot;
mod snapshot_policy;
pub(crate) mod time_travel;
