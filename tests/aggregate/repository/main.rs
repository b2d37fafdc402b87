//! The repository's tests, in one target: loading and executing commands, snapshots, and
//! time travel over a stream's history.

mod commands;
mod snapshots;
mod time_travel;
