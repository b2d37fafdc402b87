//! The account domain, its legacy log and its SQLite read model, shared by the runnable
//! examples and the workspace tests.

pub mod account;
pub mod legacy_log;
pub mod sqlite_balances;
