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

use schemars::{JsonSchema, Schema};
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::{DecodeError, StoredEvent};

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
    /// use es_core::codec::Decoding;
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
    ///     .map(|v| (v.tag, v.version, v.decoding))
    ///     .collect();
    /// assert_eq!(
    ///     listed,
    ///     [("Deposited", 1, Decoding::Typed), ("StatementPrinted", 0, Decoding::RemovedEveryVersion)]
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
/// `From<Previous> for Current` (or `TryFrom` with `#[event(try_upcast)]`).
pub trait VersionedEvent: Serialize + DeserializeOwned + JsonSchema + Sized {
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
    pub fn answers_to(&self, tag: &str) -> bool {
        self.tag == tag || self.aliases.contains(&tag)
    }

    /// Whether `(tag, version)` is somewhere in this chain.
    #[must_use]
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
    /// The stored schema version; 0 for [`Decoding::RemovedEveryVersion`], which covers every
    /// version of the tag (stored versions start at 1).
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
    /// event. The entry's `version` is 0.
    RemovedEveryVersion,
}

/// A stored event as a [`RawUpcaster`] reads and writes it: type tag, schema version, and the
/// payload as a JSON value.
#[derive(Debug, Clone, PartialEq)]
pub struct RawEvent {
    /// The type tag.
    pub event_type: String,
    /// The schema version of the payload.
    pub version: u32,
    /// The payload.
    pub payload: serde_json::Value,
}

impl RawEvent {
    /// A raw event of `event_type` at `version`.
    #[must_use]
    pub fn new(event_type: impl Into<String>, version: u32, payload: serde_json::Value) -> Self {
        Self {
            event_type: event_type.into(),
            version,
            payload,
        }
    }
}

/// An enum-level upcaster on the JSON form, registered for one stored `(tag, version)` with
/// `#[event(raw_upcast(from = ("Tag", n), with = path::to::function))]`.
///
/// It receives the stored event as a [`RawEvent`] together with the whole [`StoredEvent`]
/// (stream id, stream version, position, recorded-at and metadata, for a change that needs
/// them), and returns the events it becomes, in order: one to rename or restructure, several
/// to split, none to drop. Each output decodes through the enum's typed chains
/// ([`RawPayload::Value`]), so it may name any tag and version a variant's chain decodes, old
/// or current. An output that is itself a raw upcaster's input or a removed tag is an error
/// ([`DecodeErrorKind::RawUpcastReentry`](crate::DecodeErrorKind::RawUpcastReentry)): raw
/// upcasters never run on each other's output, so they cannot loop.
///
/// An `Err` becomes [`DecodeErrorKind::UpcastFailed`](crate::DecodeErrorKind::UpcastFailed),
/// placed at the stored event. Raw upcasters run only for their own `(tag, version)`: events
/// of other tags and versions never reach them, and never pay for a JSON value.
///
/// # Examples
/// ```
/// use es_core::codec::RawEvent;
/// use es_core::{Event, EventStore, ExpectedVersion, MemoryStore, NewEvent, StoredEvent};
/// # use schemars::JsonSchema;
/// # use serde::{Deserialize, Serialize};
/// use serde_json::json;
///
/// #[derive(Debug, PartialEq, Serialize, Deserialize, JsonSchema, Event)]
/// #[event(name = "Withdrawn", version = 1)]
/// struct Withdrawn { amount: u64 }
///
/// /// A transfer of 2018 was a withdrawal plus a fee: two withdrawals today.
/// fn split_transfer(
///     raw: RawEvent,
///     _stored: &StoredEvent,
/// ) -> Result<Vec<RawEvent>, Box<dyn std::error::Error + Send + Sync>> {
///     let amount = raw.payload["amount"].clone();
///     let fee = raw.payload["fee"].clone();
///     Ok(vec![
///         RawEvent::new("Withdrawn", 1, json!({ "amount": amount })),
///         RawEvent::new("Withdrawn", 1, json!({ "amount": fee })),
///     ])
/// }
///
/// #[derive(Debug, PartialEq, Event)]
/// #[event(raw_upcast(from = ("TransferMade", 1), with = split_transfer))]
/// enum AccountEvent { Withdrawn(Withdrawn) }
///
/// let store = MemoryStore::new();
/// let legacy = NewEvent::new("TransferMade", 1, json!({ "amount": 30, "fee": 1 }));
/// store.append("acc-1", ExpectedVersion::NoStream, vec![legacy])?;
/// let stored = store.read_stream("acc-1", 1)?.next().unwrap()?;
/// assert_eq!(
///     AccountEvent::decode(&stored)?.into_vec(),
///     [
///         AccountEvent::Withdrawn(Withdrawn { amount: 30 }),
///         AccountEvent::Withdrawn(Withdrawn { amount: 1 }),
///     ]
/// );
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub type RawUpcaster =
    fn(RawEvent, &StoredEvent) -> Result<Vec<RawEvent>, Box<dyn std::error::Error + Send + Sync>>;

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

/// A stored payload on its way through the upcasters: JSON text straight from the store, or a
/// JSON value already rewritten by a raw upcaster.
#[derive(Debug, Clone)]
pub enum RawPayload<'a> {
    /// JSON text, parsed straight into the struct of its stored version.
    Json(&'a [u8]),
    /// A JSON value.
    Value(serde_json::Value),
}

impl RawPayload<'_> {
    /// Parses the payload into `T`.
    ///
    /// # Errors
    /// [`UpcastError::MalformedJson`] when the text is not JSON, [`UpcastError::WrongShape`]
    /// when it is JSON but not a `T`.
    pub fn parse<T: DeserializeOwned>(self) -> Result<T, UpcastError> {
        match self {
            RawPayload::Json(bytes) => {
                serde_json::from_slice(bytes).map_err(UpcastError::from_json)
            }
            RawPayload::Value(value) => {
                serde_json::from_value(value).map_err(UpcastError::WrongShape)
            }
        }
    }
}

/// Why an upcaster chain could not produce its current version. Turned into a [`DecodeError`]
/// with the stored event's context by the decode point.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum UpcastError {
    /// The payload is not valid JSON.
    #[error("payload is not valid JSON")]
    MalformedJson(#[source] serde_json::Error),
    /// The payload is JSON but does not have the shape of its version's struct.
    #[error("payload does not match the shape of its version")]
    WrongShape(#[source] serde_json::Error),
    /// A fallible upcast step (`TryFrom`) or a raw upcaster refused the event.
    #[error("upcast from `{from}` failed")]
    Failed {
        /// The Rust type (or raw upcaster) that failed.
        from: &'static str,
        /// The upcaster's own error.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// The version is not in this chain.
    #[error("version {version} is not in this upcaster chain")]
    NotInChain {
        /// The stored version.
        version: u32,
    },
}

impl UpcastError {
    /// Classifies a `serde_json` error: syntax errors are malformed JSON, data errors wrong shape.
    #[must_use]
    pub fn from_json(error: serde_json::Error) -> Self {
        match error.classify() {
            serde_json::error::Category::Data => UpcastError::WrongShape(error),
            serde_json::error::Category::Syntax
            | serde_json::error::Category::Eof
            | serde_json::error::Category::Io => UpcastError::MalformedJson(error),
        }
    }

    /// A failed `TryFrom` step from `from`.
    pub fn failed(
        from: &'static str,
        source: impl Into<Box<dyn std::error::Error + Send + Sync>>,
    ) -> Self {
        UpcastError::Failed {
            from,
            source: source.into(),
        }
    }
}

/// What one stored event decodes into: usually one event, none for a tag removed on purpose,
/// several when a raw upcaster splits it.
///
/// # Examples
/// ```
/// use es_core::Decoded;
/// let decoded = Decoded::one(7);
/// assert_eq!(decoded.len(), 1);
/// assert_eq!(decoded.into_iter().collect::<Vec<_>>(), [7]);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decoded<E>(DecodedRepr<E>);

#[derive(Debug, Clone, PartialEq, Eq)]
enum DecodedRepr<E> {
    None,
    One(E),
    Many(Vec<E>),
}

impl<E> Decoded<E> {
    /// No event: the stored event is skipped on purpose.
    #[must_use]
    pub fn none() -> Self {
        Decoded(DecodedRepr::None)
    }

    /// Exactly one event.
    #[must_use]
    pub fn one(event: E) -> Self {
        Decoded(DecodedRepr::One(event))
    }

    /// Any number of events, in order.
    #[must_use]
    pub fn many(mut events: Vec<E>) -> Self {
        // Normalized, so equal contents compare equal however they were built.
        Decoded(match events.len() {
            0 => DecodedRepr::None,
            1 => match events.pop() {
                Some(event) => DecodedRepr::One(event),
                None => DecodedRepr::None,
            },
            _ => DecodedRepr::Many(events),
        })
    }

    /// How many events.
    #[must_use]
    pub fn len(&self) -> usize {
        match &self.0 {
            DecodedRepr::None => 0,
            DecodedRepr::One(_) => 1,
            DecodedRepr::Many(events) => events.len(),
        }
    }

    /// Whether there is no event.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Converts each event, for example into the variant of an enum.
    #[must_use]
    pub fn map<F, T>(self, mut f: F) -> Decoded<T>
    where
        F: FnMut(E) -> T,
    {
        Decoded(match self.0 {
            DecodedRepr::None => DecodedRepr::None,
            DecodedRepr::One(event) => DecodedRepr::One(f(event)),
            DecodedRepr::Many(events) => DecodedRepr::Many(events.into_iter().map(f).collect()),
        })
    }

    /// The events as a vector.
    #[must_use]
    pub fn into_vec(self) -> Vec<E> {
        self.into_iter().collect()
    }
}

impl<E> IntoIterator for Decoded<E> {
    type Item = E;
    type IntoIter = DecodedIter<E>;

    fn into_iter(self) -> Self::IntoIter {
        DecodedIter(match self.0 {
            DecodedRepr::None => DecodedIterRepr::Many(Vec::new().into_iter()),
            DecodedRepr::One(event) => DecodedIterRepr::One(Some(event)),
            DecodedRepr::Many(events) => DecodedIterRepr::Many(events.into_iter()),
        })
    }
}

/// Iterator over the events of a [`Decoded`].
#[derive(Debug)]
pub struct DecodedIter<E>(DecodedIterRepr<E>);

#[derive(Debug)]
enum DecodedIterRepr<E> {
    One(Option<E>),
    Many(std::vec::IntoIter<E>),
}

impl<E> Iterator for DecodedIter<E> {
    type Item = E;

    fn next(&mut self) -> Option<E> {
        match &mut self.0 {
            DecodedIterRepr::One(event) => event.take(),
            DecodedIterRepr::Many(events) => events.next(),
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let n = match &self.0 {
            DecodedIterRepr::One(event) => usize::from(event.is_some()),
            DecodedIterRepr::Many(events) => events.len(),
        };
        (n, Some(n))
    }
}

impl<E> ExactSizeIterator for DecodedIter<E> {}
