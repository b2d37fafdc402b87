//! The account domain, its legacy log, its SQLite read model and the bank service, shared by
//! the runnable examples and the workspace tests.

pub mod account;
pub mod bank_service;
pub mod legacy_log;
pub mod sqlite_balances;
