//! Workspace-level tests live in this package's `[[test]]` targets. The crate documentation is
//! the workspace README, so its example is compiled and run as a doc test and cannot rot.
#![doc = include_str!("../../README.md")]

pub mod message_log;
pub mod order;
pub mod pg_schema;
pub mod replay;

/// The upcasting guide, `docs/upcasting.md`: one worked example per kind of schema change,
/// each compiled and run as a doc test.
#[doc = include_str!("../../docs/upcasting.md")]
pub mod upcasting_guide {}
