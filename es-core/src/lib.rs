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
mod append_signal;
pub mod checkpoint;
pub mod codec;
#[cfg(feature = "conformance")]
pub mod conformance;
mod decode_error;
mod decoded_chunk;
mod envelope;
pub mod file_store;
mod memory_store;
pub mod metadata;
mod new_event;
pub mod projection;
pub mod replay;
mod repository_snapshots;
pub mod schema;
pub mod snapshot;
pub mod store;
mod stored_event;
pub mod subscription;
mod time_travel;

#[doc(hidden)]
#[path = "private.rs"]
pub mod __private;

pub use aggregate::{Aggregate, ExecuteError, Executed, LoadError, Loaded, Repository};
pub use checkpoint::{CheckpointError, CheckpointStore, MemoryCheckpoints};
pub use codec::{Decoded, Event, VersionedEvent};
pub use decode_error::{DecodeError, DecodeErrorKind, RawUpcastOutputError, UnfitPayload};
pub use envelope::Envelope;
pub use file_store::FileStore;
pub use memory_store::MemoryStore;
pub use new_event::{EncodeError, NewEvent, NewEventParts};
pub use projection::{
    Projection, ProjectionError, ProjectionRunner, ProjectionStatus, TransactionalProjection,
};
pub use snapshot::{Snapshot, SnapshotError, SnapshotStore};
pub use store::{AppendError, AppendOutcome, EventStore, ExpectedVersion, ReadError};
pub use stored_event::StoredEvent;
pub use subscription::{StopHandle, Subscription, SubscriptionError, SubscriptionItem};
pub use time_travel::WhatIf;

/// Derives [`Event`] (and, on a struct, [`VersionedEvent`]).
///
/// # On a struct: one published version of an event type
///
/// `#[event(name = "Tag", version = N, upcast_from = Previous, try_upcast, alias = "Old")]`,
/// every key optional. The struct must also implement `Serialize`, `Deserialize` and
/// `JsonSchema`, and may not be generic.
///
/// - `name = "Tag"`: the stable type tag stored with the event; default: the struct's name.
/// - `version = N`: the schema version, from 1; default: 1.
/// - `upcast_from = Previous`: the struct of the previous version, whose `version` must be
///   lower; the step is your `From<Previous> for Self`. A version may change `name` (a
///   rename): the old tag keeps decoding through the link.
/// - `try_upcast`: the step is `TryFrom<Previous>` instead; its error becomes
///   [`DecodeErrorKind::UpcastFailed`] naming the stored event. Needs `upcast_from`.
/// - `write_as = Previous`: the first step of a rolling deploy. Events of this version are
///   written as the version of `upcast_from` (which must be `Previous`), through your
///   `From<Self> for Previous` on a clone, so the release before reads them; decoding is
///   unchanged. The next release drops the key and writes this version.
/// - `read_newer`: tolerant reading. As the latest version of its chain, this struct also
///   decodes stored versions of its tag newer than any the code knows, when their payload fits
///   it (unknown fields ignored); one that does not fit is
///   [`DecodeErrorKind::FutureVersion`] with the reason.
/// - `alias = "Old"`: another stored tag that decodes as this version; repeatable.
/// - `crate = "path"`: where es-core is, when it is renamed in `Cargo.toml`; default
///   `::es_core`.
///
/// # On the domain enum: one variant per event type
///
/// One single-field tuple variant per event type, holding its current version: the derive
/// decodes every `(tag, version)` of each variant's chain into the variant, and encodes each
/// variant under its current tag and version. Changes no version struct can express are enum
/// attributes:
///
/// - `removed("Tag", ("Other", 2))`: stored events skipped on purpose, decoding into no
///   event: every version of `"Tag"`, version 2 of `"Other"`; repeatable.
/// - `raw_upcast(from = ("Tag", n), with = path::to::function, schema = TagV1)`: the
///   [`RawUpcaster`](codec::RawUpcaster) for stored `(tag, n)`, which rewrites its JSON
///   (rename, restructure, split, fill from the stream id or metadata) into events that then
///   decode through the variants' chains. `schema` is optional: the type whose JSON Schema
///   describes the stored input. Repeatable, one per `(tag, version)`.
/// - `crate = "path"`, as on a struct.
///
/// # Checked at compile time
///
/// Unknown, repeated or misplaced keys, values of the wrong form, version 0, an `upcast_from`
/// that is not lower, and two variants (or a variant and a `removed` or `raw_upcast` entry)
/// claiming the same stored `(tag, version)`, aliases included, are compile errors pointing
/// at the token to fix; all errors of one item are reported together.
///
/// See `docs/upcasting.md` in the repository for one worked example per kind of change.
pub use es_derive::Event;

pub use schemars;
pub use uuid::Uuid;
