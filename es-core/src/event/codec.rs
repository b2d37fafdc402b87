//! The codec layer: the [`Event`] trait, typed upcaster chains, and the decode point.
//!
//! `#[derive(Event)]` on a struct implements [`VersionedEvent`] (its tag, version and the link to
//! the version it upcasts from) and [`Event`]; on the domain enum it implements [`Event`] by
//! dispatching every stored `(tag, version)` of every variant's chain to that variant.
//!
//! Changes a single version struct cannot express are declared on the enum: a [`RawUpcaster`]
//! rewrites the JSON of one stored `(tag, version)` into zero or more [`RawEvent`]s (renaming,
//! restructuring or splitting it, with the stored event's stream and metadata at hand), which
//! then decode through the typed chains; a removed tag decodes into no event.

use std::fmt;

use schemars::Schema;
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::{DecodeError, Decoded, RawPayload, StoredEvent, StoredEventRef, UpcastError};

/// A domain event that can be encoded for a store and decoded from any stored version.
///
/// Derive it: on each version struct with `#[derive(Event)]` and `#[event(...)]`, and on the
/// domain enum that holds the current version of each event type.
///
/// # Examples
/// ```
/// use es_core::{Event, EventStore, ExpectedVersion, MemoryStore, NewEvent};
/// use schemars::JsonSchema;
/// use serde::{Deserialize, Serialize};
/// use serde_json::json;
///
/// #[derive(Debug, PartialEq, Serialize, Deserialize, JsonSchema, Event)]
/// #[event(name = "AccountOpened", version = 1)]
/// struct AccountOpenedV1 { owner: String }
///
/// #[derive(Debug, PartialEq, Serialize, Deserialize, JsonSchema, Event)]
/// #[event(name = "AccountOpened", version = 2, upcast_from = AccountOpenedV1)]
/// struct AccountOpened { owner: String, currency: String }
///
/// impl From<AccountOpenedV1> for AccountOpened {
///     fn from(v1: AccountOpenedV1) -> Self {
///         Self { owner: v1.owner, currency: "EUR".into() }
///     }
/// }
///
/// #[derive(Debug, PartialEq, Event)]
/// enum AccountEvent { Opened(AccountOpened) }
///
/// let store = MemoryStore::new();
/// let legacy = NewEvent::new("AccountOpened", 1, json!({ "owner": "ada" }));
/// store.append("acc-1", ExpectedVersion::NoStream, vec![legacy])?;
///
/// let stored = store.read_stream("acc-1", 1)?.next().unwrap()?;
/// let decoded: Vec<AccountEvent> = AccountEvent::decode(&stored)?.into_iter().collect();
/// assert_eq!(
///     decoded,
///     [AccountEvent::Opened(AccountOpened { owner: "ada".into(), currency: "EUR".into() })]
/// );
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not an event: it needs `#[derive(Event)]`",
    label = "`{Self}` has no `#[derive(Event)]`",
    note = "derive `Event` on each version struct, with `#[event(name = \"...\", version = N)]`, and on the domain enum that holds them"
)]
pub trait Event: Sized {
    /// Every upcaster chain this type decodes, one per event type (a struct has one).
    const CHAINS: &'static [&'static ChainLink];

    /// The type tag this event is written with: its version's own tag, or, with
    /// `#[event(write_as = Previous)]`, the previous version's.
    fn event_type(&self) -> &'static str;

    /// The schema version this event is written with: its own version, or, with
    /// `#[event(write_as = Previous)]`, the previous version (the first step of a rolling
    /// deploy, see [`ChainLink::write_as`]).
    fn event_version(&self) -> u32;

    /// The payload as JSON text, in the shape of the version it is written with
    /// ([`event_type`](Event::event_type), [`event_version`](Event::event_version)).
    ///
    /// # Errors
    /// When `serde_json` cannot serialize the event.
    fn encode_payload(&self) -> Result<Vec<u8>, serde_json::Error>;

    /// Decodes a stored event of any known version into today's types.
    ///
    /// This is the one decode point: aggregate loads, projections, exports and migrations all
    /// go through it.
    ///
    /// # Errors
    /// A [`DecodeError`] naming the stream, stream version, position, tag and version, when the
    /// tag is unknown, the version is newer than this code or missing from the chain, the
    /// payload is not JSON or not of the expected shape, or an upcaster fails.
    fn decode(stored: &StoredEvent) -> Result<Decoded<Self>, DecodeError>;

    /// Decodes a stored event borrowed from a store's read buffer: the same events and the
    /// same errors as [`decode`](Event::decode), without an owned copy of the event. Replays
    /// ([`ParallelReplay`](crate::ParallelReplay), projections, subscriptions, aggregate loads)
    /// decode through it.
    ///
    /// `#[derive(Event)]` implements both methods on the borrowed form. The default, for a
    /// hand-written [`decode`](Event::decode), decodes an owned copy.
    ///
    /// # Errors
    /// The [`DecodeError`] of [`decode`](Event::decode).
    fn decode_ref(stored: &StoredEventRef<'_>) -> Result<Decoded<Self>, DecodeError> {
        stored.with_whole(Self::decode)?
    }

    /// The stored `(tag, version)`s this type handles on their raw JSON form, before any typed
    /// chain: the inputs of the enum's raw upcasters and its removed tags. Empty for a struct
    /// and for an enum without `raw_upcast` or `removed`.
    const RAW_VERSIONS: &'static [VersionInfo] = &[];

    /// Every stored `(tag, version)` this type decodes, with its JSON Schema and how it decodes
    /// ([`Decoding`]), sorted by tag and version: each version of each typed chain (under its tag
    /// and each alias), then the raw upcasters' inputs and the removed tags of
    /// [`RAW_VERSIONS`](Event::RAW_VERSIONS).
    ///
    /// # Examples
    /// ```
    /// use es_core::Decoding;
    /// use es_core::Event;
    /// # use schemars::JsonSchema;
    /// # use serde::{Deserialize, Serialize};
    ///
    /// #[derive(Serialize, Deserialize, JsonSchema, Event)]
    /// #[event(name = "Deposited", version = 1)]
    /// struct Deposited { amount: u64 }
    ///
    /// #[derive(Event)]
    /// #[event(removed("StatementPrinted"))]
    /// enum AccountEvent { Deposited(Deposited) }
    ///
    /// let listed: Vec<_> = AccountEvent::decodable_versions()
    ///     .iter()
    ///     .map(|v| (v.tag, v.stored_version(), v.decoding))
    ///     .collect();
    /// assert_eq!(
    ///     listed,
    ///     [
    ///         ("Deposited", Some(1), Decoding::Typed),
    ///         ("StatementPrinted", None, Decoding::RemovedEveryVersion),
    ///     ]
    /// );
    /// ```
    #[must_use]
    fn decodable_versions() -> Vec<VersionInfo> {
        let mut out: Vec<VersionInfo> = Self::CHAINS
            .iter()
            .flat_map(|chain| chain.iter())
            .flat_map(|link| {
                std::iter::once(link.tag)
                    .chain(link.aliases.iter().copied())
                    .map(move |tag| VersionInfo {
                        tag,
                        version: link.version,
                        rust_type: link.rust_type,
                        schema: link.schema,
                        decoding: Decoding::Typed,
                    })
            })
            .chain(Self::RAW_VERSIONS.iter().copied())
            .collect();
        out.sort_by(|a, b| (a.tag, a.version).cmp(&(b.tag, b.version)));
        out
    }
}

/// One published version of an event type: a struct with `#[derive(Event)]`.
///
/// The derive fills in the tag, the version and the link to the previous version; you write
/// `From<Previous> for Current` (or `TryFrom` with `#[event(try_upcast)]`). The struct also
/// implements `JsonSchema`: the derive requires it where it records the schema in
/// [`LINK`](VersionedEvent::LINK), so a missing `JsonSchema` is one error there.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a version of an event type: it needs `#[derive(Event)]`",
    label = "`{Self}` has no `#[derive(Event)]`",
    note = "each variant of an event enum holds a version struct: add `#[derive(Event)]` and `#[event(name = \"...\", version = N)]` to `{Self}`"
)]
pub trait VersionedEvent: Serialize + DeserializeOwned + Sized {
    /// The type tag this version is written with.
    const TAG: &'static str;
    /// The schema version, from 1.
    const VERSION: u32;
    /// This version's place in its upcaster chain.
    const LINK: ChainLink;

    /// Decodes a payload stored at `version` of this chain, parsing it once into the struct of
    /// that version and converting it by value one step at a time up to `Self`.
    ///
    /// # Errors
    /// When the version is not in this chain, the payload does not parse into its struct, or an
    /// upcast step fails.
    fn upcast_from_version(version: u32, payload: RawPayload<'_>) -> Result<Self, UpcastError>;

    /// [`upcast_from_version`](Self::upcast_from_version), handing the event to `then` where
    /// the last step builds it. The derive passes each step's output straight into the next
    /// step and on to `then`, so a decode moves each version's struct once, instead of
    /// through a `Result` per step; `then` wraps it in what the caller keeps (an enum variant,
    /// a [`Decoded`](crate::Decoded)).
    ///
    /// # Errors
    /// As [`upcast_from_version`](Self::upcast_from_version).
    #[inline]
    fn upcast_from_version_then<T, F: FnOnce(Self) -> T>(
        version: u32,
        payload: RawPayload<'_>,
        then: F,
    ) -> Result<T, UpcastError> {
        Self::upcast_from_version(version, payload).map(then)
    }
}

/// One version in an upcaster chain, as compile-time data; the chain is a linked list from the
/// current version back to the first.
#[derive(Clone, Copy)]
pub struct ChainLink {
    /// The type tag of this version.
    pub tag: &'static str,
    /// Extra stored tags that decode as this version.
    pub aliases: &'static [&'static str],
    /// The schema version.
    pub version: u32,
    /// The Rust type of this version, for messages.
    pub rust_type: &'static str,
    /// The JSON Schema of this version's payload.
    pub schema: fn() -> Schema,
    /// The version this one upcasts from.
    pub previous: Option<&'static ChainLink>,
    /// The version events of this type are written as, when not this one
    /// (`#[event(write_as = Previous)]`): during a rolling deploy, the release that learns this
    /// version keeps writing the previous one, which the release before it reads.
    pub write_as: Option<&'static ChainLink>,
    /// Whether this version, as the latest of its chain, also decodes stored versions of its
    /// tag newer than it (`#[event(read_newer)]`) when their payload fits it: unknown fields
    /// are ignored, a missing or retyped field does not fit.
    pub read_newer: bool,
}

impl ChainLink {
    /// The links of this chain, from this version back to the first.
    pub fn iter(&'static self) -> impl Iterator<Item = &'static ChainLink> {
        std::iter::successors(Some(self), |link| link.previous)
    }

    /// The version events of this type are written with: [`write_as`](ChainLink::write_as),
    /// or this one.
    #[must_use]
    pub fn written(&'static self) -> &'static ChainLink {
        self.write_as.unwrap_or(self)
    }

    /// Whether this link is written as `tag` (its own tag or an alias).
    #[must_use]
    #[inline]
    pub fn answers_to(&self, tag: &str) -> bool {
        self.tag == tag || self.aliases.contains(&tag)
    }

    /// Whether `(tag, version)` is somewhere in this chain.
    #[must_use]
    #[inline]
    pub fn contains(&self, tag: &str, version: u32) -> bool {
        let mut link = Some(self);
        while let Some(current) = link {
            if current.version == version && current.answers_to(tag) {
                return true;
            }
            link = current.previous;
        }
        false
    }
}

impl fmt::Debug for ChainLink {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ChainLink")
            .field("tag", &self.tag)
            .field("aliases", &self.aliases)
            .field("version", &self.version)
            .field("rust_type", &self.rust_type)
            .field("previous", &self.previous.map(|p| (p.tag, p.version)))
            .field("write_as", &self.write_as.map(|w| (w.tag, w.version)))
            .field("read_newer", &self.read_newer)
            .finish_non_exhaustive()
    }
}

/// A stored `(tag, version)` an [`Event`] type decodes, with its schema and how it decodes.
#[derive(Clone, Copy)]
#[non_exhaustive]
pub struct VersionInfo {
    /// The stored type tag.
    pub tag: &'static str,
    /// The stored schema version, from 1; 0 only for an entry of
    /// [`Decoding::RemovedEveryVersion`], which covers every version of its event type and has
    /// no version of its own: read [`stored_version`](VersionInfo::stored_version), which says
    /// so with `None`.
    pub version: u32,
    /// The Rust type the payload is parsed into: the version struct of a typed chain,
    /// `serde_json::Value` for a raw upcaster's input, empty for a removed tag (its payload is
    /// never read).
    pub rust_type: &'static str,
    /// The JSON Schema of the payload. For a raw upcaster's input, the schema of the type given
    /// with `schema = Type` in `raw_upcast(...)`, or the schema that accepts any JSON; for a
    /// removed tag, the schema that accepts any JSON.
    pub schema: fn() -> Schema,
    /// How a stored event of this tag and version decodes.
    pub decoding: Decoding,
}

impl VersionInfo {
    /// The JSON Schema of this version's payload.
    #[must_use]
    pub fn json_schema(&self) -> Schema {
        (self.schema)()
    }

    /// The stored schema version this entry describes, or `None` for
    /// [`Decoding::RemovedEveryVersion`], which covers every version of its event type.
    #[must_use]
    pub fn stored_version(&self) -> Option<u32> {
        (self.decoding != Decoding::RemovedEveryVersion).then_some(self.version)
    }

    /// Whether a stored event of `tag` and `version` is the one this entry describes.
    #[must_use]
    pub fn covers(&self, tag: &str, version: u32) -> bool {
        self.tag == tag
            && (self.version == version || self.decoding == Decoding::RemovedEveryVersion)
    }
}

/// How a stored `(tag, version)` decodes, as listed by [`Event::decodable_versions`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Decoding {
    /// Parsed into its version struct and upcast through its typed chain (`upcast_from`).
    Typed,
    /// Rewritten on its JSON form by an enum-level raw upcaster (`raw_upcast`), whose output
    /// then decodes through the typed chains.
    RawUpcast {
        /// The upcaster's path, as written in `with = ...`.
        upcaster: &'static str,
    },
    /// Skipped on purpose (`removed(("Tag", version))`): decodes into no event.
    Removed,
    /// Every version of the tag is skipped on purpose (`removed("Tag")`): decodes into no
    /// event. The entry has no version of its own ([`VersionInfo::stored_version`] is `None`).
    RemovedEveryVersion,
}

impl fmt::Debug for VersionInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VersionInfo")
            .field("tag", &self.tag)
            .field("version", &self.version)
            .field("rust_type", &self.rust_type)
            .field("decoding", &self.decoding)
            .finish_non_exhaustive()
    }
}
