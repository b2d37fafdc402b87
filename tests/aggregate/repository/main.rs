//! The repository's tests, in one target: loading and executing commands (with idempotency
//! keys and conflict retries), snapshots, and time travel over a stream's history.

mod command_options;
mod commands;
mod snapshots;
mod time_travel;
