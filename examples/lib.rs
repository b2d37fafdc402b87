//! The account domain shared by the runnable examples and the workspace tests.

pub mod account;
pub mod legacy_log;
