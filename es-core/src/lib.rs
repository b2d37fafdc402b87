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
//!
//! # Where things are
//!
//! Every public item has one path: the crate root, except three deliberate namespaces,
//! [`schema`], [`metadata`] and [`store::backend`], and the conformance suite (feature
//! `conformance`). The source is in one folder per layer of the design, bottom up:
//!
//! | layer | source | items | tests |
//! | --- | --- | --- | --- |
//! | store | `store/`: `event_store.rs`, `error.rs`, `memory.rs`, `file/` (the file store), `backend.rs`, `conformance.rs` | [`EventStore`], [`ExpectedVersion`], [`AppendOutcome`], [`AppendError`], [`ReadError`], [`MemoryStore`], [`FileStore`] and its options, reports and errors; [`store::backend`] for implementers | `es-core/tests/store_*.rs`; the file store's fault injection in `store/file/fault_tests.rs` |
//! | event | `event/`: `codec.rs` (traits, chains), `raw.rs`, `decoded.rs`, `decode_error.rs`, `new_event.rs`, `stored_event.rs`, `envelope.rs`, `metadata.rs` (correlation and causation ids), `metadata_json.rs` | [`Event`], [`VersionedEvent`], [`RawEvent`], [`JsonPayload`], [`RawUpcaster`] and [`RawRefUpcaster`], [`Decoded`], [`DecodeError`], [`NewEvent`], [`StoredEvent`] and its borrowed form [`StoredEventRef`], [`Envelope`] and [`EnvelopeRef`], [`Metadata`] and [`MetadataError`], [`metadata`] | `tests/event/` (workspace) |
//! | aggregate | `aggregate/`: `repository.rs`, `command.rs`, `snapshot.rs`, `snapshot_policy.rs`, `time_travel.rs` | [`Aggregate`], [`Repository`], [`CommandOptions`], [`Loaded`], [`Snapshot`], [`SnapshotStore`], [`WhatIf`], [`HistoryEntry`] | `tests/aggregate/repository/` (workspace) |
//! | read | `read/`: `projection.rs`, `projection_runner.rs`, `checkpoint.rs`, `subscription.rs`, `parallel_replay.rs`, `decoded_chunk.rs` (the decoded catch-up step they share) | [`ProjectionRunner`], [`Projection`], [`CheckpointStore`], [`Subscription`], [`ParallelReplay`] with [`ReplayOutcome`] and [`ReplayError`] | `tests/read/` (workspace), `es-core/tests/read_*.rs` |
//! | schema | `schema/` | [`schema::check_lock`], fingerprints, golden fixtures | `tests/schema/` (workspace) |
//!
//! # One word per concept
//!
//! - The *event type* is the stored name of an event's type: `#[event(name = "...")]` sets
//!   it, [`Event::event_type`] and [`StoredEvent::event_type`] return it (older docs and
//!   the derive's constants say "tag").
//! - The *schema version* is the version of the payload's shape: `#[event(version = N)]`,
//!   [`StoredEvent::schema_version`], [`NewEvent::schema_version`],
//!   [`RawEvent::schema_version`].
//! - Start positions are inclusive: [`EventStore::read_all`]`(from)`,
//!   [`EventStore::read_stream`]`(stream, from_version)` and
//!   [`Subscription::from_position`] begin with the event at `from`.
//! - The in-memory store of checkpoints is [`MemoryStore`], which also holds events and
//!   snapshots.

mod aggregate;
mod event;
mod read;
pub mod schema;
pub mod store;

#[cfg(feature = "conformance")]
#[path = "store/conformance.rs"]
pub mod conformance;

#[doc(hidden)]
#[path = "private.rs"]
pub mod __private;

/// The paths `#[derive(Event)]` generated before the flat re-exports; kept for that code.
#[doc(hidden)]
pub mod codec {
    pub use crate::{
        ChainLink, Decoded, DecodedIter, Decoding, Event, RawEvent, RawPayload, RawRefUpcaster,
        RawUpcaster, UpcastError, VersionInfo, VersionedEvent,
    };
}

pub use aggregate::command::CommandOptions;
pub use aggregate::repository::{Aggregate, ExecuteError, Executed, LoadError, Loaded, Repository};
pub use aggregate::snapshot::{Snapshot, SnapshotError, SnapshotStore};
pub use aggregate::time_travel::{HistoryEntry, WhatIf};
pub use event::metadata;
pub use event::{
    ChainLink, DecodeError, DecodeErrorKind, Decoded, DecodedIter, Decoding, EncodeError, Envelope,
    EnvelopeRef, Event, JsonPayload, Metadata, MetadataError, NewEvent, RawEvent, RawPayload,
    RawRefUpcaster, RawUpcastOutputError, RawUpcaster, StoredEvent, StoredEventRef, UnfitPayload,
    UpcastError, VersionInfo, VersionedEvent,
};
#[allow(deprecated)]
pub use read::checkpoint::{CheckpointError, CheckpointStore, MemoryCheckpoints};
pub use read::parallel_replay::{ParallelReplay, ReplayError, ReplayOutcome};
pub use read::projection::{
    Projection, ProjectionError, ProjectionStatus, TransactionalProjection,
};
pub use read::projection_runner::{
    CheckpointMode, OwnCheckpoint, ProjectionRunner, SeparateCheckpoint, DEFAULT_BATCH_SIZE,
};
pub use read::subscription::{
    StopHandle, Subscription, SubscriptionError, SubscriptionItem, DEFAULT_STOP_CHECK_INTERVAL,
};
pub use store::error::{AppendError, ReadError};
pub use store::event_store::{AppendOutcome, EventStore, ExpectedVersion};
pub use store::file::{
    Damage, DamagedFrame, Durability, FileStore, FileStoreOptions, OpenError, RecoveryReport,
    TornTail, VerifyReport,
};
pub use store::memory::MemoryStore;

/// Derives [`Event`] (and, on a struct, [`VersionedEvent`]).
///
/// # On a struct: one published version of an event type
///
/// `#[event(name = "Tag", version = N, upcast_from = Previous, try_upcast, alias = "Old")]`,
/// every key optional. The struct must also implement `Serialize`, `Deserialize` and
/// `JsonSchema`, and may not be generic.
///
/// - `name = "Tag"`: the event type, the stable name stored with the event; default: the
///   struct's name.
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
///   [`RawUpcaster`] for stored `(tag, n)`, which rewrites its JSON
///   (rename, restructure, split, fill from the stream id or metadata) into events that then
///   decode through the variants' chains. `with_ref = path` in place of `with` registers a
///   [`RawRefUpcaster`], lent the stored event instead of given an owned copy (no copy on
///   the borrowed decode path). `schema` is optional: the type whose JSON Schema
///   describes the stored input. Repeatable, one per `(tag, version)`.
/// - `crate = "path"`, as on a struct.
///
/// # Checked at compile time
///
/// Unknown, repeated or misplaced keys, values of the wrong form, version 0, an `upcast_from`
/// that is not lower, and two variants (or a variant and a `removed` or `raw_upcast` entry)
/// claiming the same stored `(tag, version)`, aliases included, are compile errors pointing
/// at the token to fix; all errors of one item are reported together. So are an enum holding
/// two versions of one chain (it holds only the current version of each event type), an
/// `upcast_from` without its `From` (or `TryFrom`) impl, a variant whose type has no
/// `#[derive(Event)]`, and a version struct without `JsonSchema`, each saying what to write.
///
/// See `docs/upcasting.md` in the repository for one worked example per kind of change.
pub use es_derive::Event;

pub use schemars;
pub use uuid::Uuid;
