//! The codec layer: the [`Event`] trait, typed upcaster chains, and the decode point.
//!
//! `#[derive(Event)]` on a struct implements [`VersionedEvent`] (its tag, version and the link to
//! the version it upcasts from) and [`Event`]; on the domain enum it implements [`Event`] by
//! dispatching every stored `(tag, version)` of every variant's chain to that variant.

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

    /// The type tag this event is written with.
    fn event_type(&self) -> &'static str;

    /// The schema version this event is written with.
    fn event_version(&self) -> u32;

    /// The payload as JSON text, in the current version's shape.
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

    /// Every `(tag, version)` this type decodes, with its JSON Schema, sorted by tag and version.
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
                    })
            })
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
}

impl ChainLink {
    /// The links of this chain, from this version back to the first.
    pub fn iter(&'static self) -> impl Iterator<Item = &'static ChainLink> {
        std::iter::successors(Some(self), |link| link.previous)
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
            .finish_non_exhaustive()
    }
}

/// A `(tag, version)` an [`Event`] type decodes, with its schema.
#[derive(Clone, Copy)]
pub struct VersionInfo {
    /// The stored type tag.
    pub tag: &'static str,
    /// The stored schema version.
    pub version: u32,
    /// The Rust type the payload is parsed into.
    pub rust_type: &'static str,
    /// The JSON Schema of the payload.
    pub schema: fn() -> Schema,
}

impl VersionInfo {
    /// The JSON Schema of this version's payload.
    #[must_use]
    pub fn json_schema(&self) -> Schema {
        (self.schema)()
    }
}

impl fmt::Debug for VersionInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VersionInfo")
            .field("tag", &self.tag)
            .field("version", &self.version)
            .field("rust_type", &self.rust_type)
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
    pub fn many(events: Vec<E>) -> Self {
        Decoded(DecodedRepr::Many(events))
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
