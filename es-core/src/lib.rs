//! Event sourcing whose events can change shape safely.
//!
//! Annotate one struct per published version of an event with `#[derive(Event)]`, and the
//! domain enum with `#[derive(Event)]`: stored events of any version then decode into today's
//! types through one decode point, [`Event::decode`], which every read path uses. Below it sit
//! [`EventStore`]s with per-stream optimistic concurrency and idempotent appends, and the
//! [`Repository`] that loads [`Aggregate`]s and executes their commands.
//!
//! See the workspace README for a walk-through and `examples/bank.rs` for a legacy log replayed
//! into current types.

mod aggregate;
pub mod checkpoint;
pub mod codec;
#[cfg(feature = "conformance")]
pub mod conformance;
mod decode_error;
mod envelope;
mod memory_store;
mod new_event;
pub mod schema;
pub mod snapshot;
pub mod store;
mod stored_event;

#[doc(hidden)]
#[path = "private.rs"]
pub mod __private;

pub use aggregate::{Aggregate, ExecuteError, Executed, LoadError, Loaded, Repository};
pub use checkpoint::{CheckpointError, CheckpointStore};
pub use codec::{Decoded, Event, VersionedEvent};
pub use decode_error::{DecodeError, DecodeErrorKind, RawUpcastOutputError};
pub use envelope::Envelope;
pub use memory_store::MemoryStore;
pub use new_event::{EncodeError, NewEvent, NewEventParts};
pub use snapshot::{Snapshot, SnapshotError, SnapshotStore};
pub use store::{AppendError, AppendOutcome, EventStore, ExpectedVersion, ReadError};
pub use stored_event::StoredEvent;

/// Derives [`Event`] (and, on a struct, [`VersionedEvent`]).
///
/// On a struct, one published version of an event type:
/// `#[event(name = "Tag", version = N, upcast_from = Previous)]`; `name` defaults to the
/// struct's name, `version` to 1; `upcast_from` names the previous version, converted with
/// `From` (or `TryFrom` with `try_upcast`). The struct must also implement `Serialize`,
/// `Deserialize` and `JsonSchema`.
///
/// On the domain enum, one single-field tuple variant per event type holding its current
/// version: the derive decodes every `(tag, version)` of each variant's chain into the variant.
pub use es_derive::Event;

pub use schemars;
pub use uuid::Uuid;
