//! The read side: projections that fold the log into read models, their checkpoints,
//! subscriptions that deliver history then live events, and the parallel replay of a log.
//! Each reads `read_all` in decoded chunks (`decoded_chunk.rs`), through the one decode point.

pub(crate) mod checkpoint;
mod decoded_chunk;
pub(crate) mod parallel_replay;
pub(crate) mod projection;
pub(crate) mod projection_runner;
pub(crate) mod subscription;
