//! The store layer: streams of events with expected versions behind the
//! [`EventStore`](crate::EventStore) trait, the in-memory and file stores, and, in
//! [`backend`], what an implementation of the trait in another crate needs.
//!
//! Everything but [`backend`] is re-exported at the crate root; the conformance suite every
//! store passes (`conformance.rs` here) is public as `es_core::conformance`.

mod append_signal;
pub mod backend;
pub(crate) mod error;
pub(crate) mod event_store;
pub(crate) mod file;
pub(crate) mod memory;
