//! [`DecodeError`]: why a stored event did not decode, and where it sits in the log; and
//! [`UpcastError`], why an upcaster chain failed, before the decode point places it.

use std::fmt;

use crate::{StoredEvent, StoredEventRef};

/// A stored event that could not be decoded into today's types.
///
/// Its message names the stream, stream version, global position, type tag and schema version,
/// so a failed replay points straight at the event to look at. An event decoded before it is
/// stored (a line that `es import --check` decodes, a golden fixture's sample) has position 0,
/// which the message leaves out: stored positions count from 1. The cause, where there is one
/// (`serde_json`'s message, an upcaster's error), is its [`source`](std::error::Error::source).
#[derive(Debug)]
#[non_exhaustive]
pub struct DecodeError {
    /// The stream of the event.
    pub stream_id: String,
    /// The stream version of the event.
    pub stream_version: u64,
    /// The global position of the event; 0 for an event decoded before it is stored.
    pub position: u64,
    /// The stored type tag.
    pub event_type: String,
    /// The stored schema version.
    pub schema_version: u32,
    /// What went wrong.
    pub kind: DecodeErrorKind,
    /// See [`DecodeError::field`]; behind a thin pointer, so that the error stays small
    /// enough to return by value.
    field: Option<Box<FieldPath>>,
}

/// The path of a payload field, in [`DecodeError::field`].
#[derive(Debug)]
struct FieldPath(String);

/// What went wrong in a [`DecodeError`].
#[derive(Debug)]
#[non_exhaustive]
pub enum DecodeErrorKind {
    /// No event type of this enum is, or was ever, written with this tag.
    UnknownType,
    /// The tag is known but the version is newer than this code knows: the log was written by
    /// newer code.
    FutureVersion {
        /// The newest version this code knows for the tag.
        latest: u32,
        /// When the struct of that newest version reads newer versions
        /// (`#[event(read_newer)]`): why this payload did not fit it. `None` when it does not
        /// read newer versions.
        unfit: Option<Box<UnfitPayload>>,
    },
    /// The tag is known, the version is not newer than the latest, but no version struct of
    /// the chain has it (a gap, or a first version that was deleted).
    MissingVersion {
        /// The versions this code knows for the tag, ascending.
        known: Vec<u32>,
    },
    /// The payload is not valid JSON.
    MalformedJson(serde_json::Error),
    /// The payload is JSON but not of the shape of its version's struct.
    WrongShape(serde_json::Error),
    /// An upcaster that may fail (`TryFrom`, or a raw upcaster) refused the event.
    UpcastFailed {
        /// The Rust type, or raw upcaster, that failed.
        from: &'static str,
        /// The upcaster's error.
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// An event returned by a raw upcaster did not decode.
    RawUpcastOutput(Box<RawUpcastOutputError>),
    /// (The cause of a [`RawUpcastOutput`](DecodeErrorKind::RawUpcastOutput).) The returned
    /// event is itself a raw upcaster's input or a removed tag: a raw upcaster's output decodes
    /// through the typed chains only, so raw upcasters cannot loop.
    RawUpcastReentry,
}

/// Why a payload of a newer version did not fit the latest version this code knows, whose
/// struct reads newer versions (`#[event(read_newer)]`), in [`DecodeErrorKind::FutureVersion`]:
/// a field it requires is missing, or has another type. The `serde_json` error is its
/// [`source`](std::error::Error::source), through the [`DecodeError`].
#[derive(Debug)]
#[non_exhaustive]
pub struct UnfitPayload {
    /// The struct of the latest known version, which the payload was tried as.
    pub into: &'static str,
    /// What `serde_json` reported.
    pub source: serde_json::Error,
}

impl UnfitPayload {
    pub(crate) fn new(into: &'static str, source: serde_json::Error) -> Self {
        Self { into, source }
    }
}

/// An event returned by a raw upcaster that did not decode, in
/// [`DecodeErrorKind::RawUpcastOutput`].
#[derive(Debug)]
#[non_exhaustive]
pub struct RawUpcastOutputError {
    /// The raw upcaster, as written in `with = ...`.
    pub upcaster: &'static str,
    /// The tag of the returned event.
    pub event_type: String,
    /// The version of the returned event.
    pub version: u32,
    /// Why the returned event did not decode.
    pub cause: DecodeErrorKind,
}

impl RawUpcastOutputError {
    pub(crate) fn new(
        upcaster: &'static str,
        event_type: String,
        version: u32,
        cause: DecodeErrorKind,
    ) -> Self {
        Self {
            upcaster,
            event_type,
            version,
            cause,
        }
    }
}

impl DecodeErrorKind {
    /// The kind of an upcast error, and the field it names, if any.
    pub(crate) fn from_upcast(error: UpcastError) -> (Self, Option<String>) {
        let kind = match error {
            UpcastError::MalformedJson(e) => DecodeErrorKind::MalformedJson(e),
            UpcastError::WrongShape(e) => DecodeErrorKind::WrongShape(e),
            UpcastError::WrongField { field, source } => {
                return (DecodeErrorKind::WrongShape(source), Some(field))
            }
            UpcastError::Failed { from, source } => DecodeErrorKind::UpcastFailed { from, source },
            UpcastError::NotInChain { .. } => DecodeErrorKind::MissingVersion { known: Vec::new() },
        };
        (kind, None)
    }

    /// Writes what went wrong with an event stored at `version`; `field` as in
    /// [`DecodeError::field`].
    fn describe(
        &self,
        version: u32,
        field: Option<&str>,
        f: &mut fmt::Formatter<'_>,
    ) -> fmt::Result {
        match self {
            DecodeErrorKind::UnknownType => f.write_str("unknown event type"),
            DecodeErrorKind::FutureVersion { latest, unfit } => {
                write!(
                    f,
                    "version {version} is newer than the latest this code knows (v{latest})"
                )?;
                match unfit {
                    Some(unfit) => {
                        write!(f, ", and its payload does not fit `{}`", unfit.into)?;
                        if let Some(field) = field {
                            write!(f, " at field `{field}`")?;
                        }
                        f.write_str(", which reads newer versions only when they fit")
                    }
                    None => Ok(()),
                }
            }
            DecodeErrorKind::MissingVersion { known } => {
                write!(
                    f,
                    "version {version} is missing from its upcaster chain (known: "
                )?;
                for (i, v) in known.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "v{v}")?;
                }
                f.write_str(")")
            }
            DecodeErrorKind::MalformedJson(_) => f.write_str("payload is not valid JSON"),
            DecodeErrorKind::WrongShape(_) => {
                f.write_str("payload does not match the shape of its version")?;
                match field {
                    Some(field) => write!(f, " at field `{field}`"),
                    None => Ok(()),
                }
            }
            DecodeErrorKind::UpcastFailed { from, .. } => write!(f, "upcast from `{from}` failed"),
            DecodeErrorKind::RawUpcastOutput(output) => {
                write!(
                    f,
                    "raw upcaster `{}` returned `{}` v{}, which does not decode: ",
                    output.upcaster, output.event_type, output.version
                )?;
                output.cause.describe(output.version, field, f)
            }
            DecodeErrorKind::RawUpcastReentry => f.write_str(
                "it is itself a raw upcaster's input or a removed tag, and raw upcasters' outputs decode through the typed chains only",
            ),
        }
    }

    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            DecodeErrorKind::MalformedJson(e) | DecodeErrorKind::WrongShape(e) => Some(e),
            DecodeErrorKind::UpcastFailed { source, .. } => Some(source.as_ref()),
            DecodeErrorKind::RawUpcastOutput(output) => output.cause.source(),
            DecodeErrorKind::FutureVersion {
                unfit: Some(unfit), ..
            } => Some(&unfit.source),
            DecodeErrorKind::UnknownType
            | DecodeErrorKind::FutureVersion { unfit: None, .. }
            | DecodeErrorKind::MissingVersion { .. }
            | DecodeErrorKind::RawUpcastReentry => None,
        }
    }
}

impl DecodeError {
    /// An error about `stored`.
    #[must_use]
    pub fn new(stored: &StoredEvent, kind: DecodeErrorKind) -> Self {
        Self::at(&StoredEventRef::from(stored), kind)
    }

    /// An error about the borrowed `stored`.
    #[must_use]
    pub fn at(stored: &StoredEventRef<'_>, kind: DecodeErrorKind) -> Self {
        Self {
            stream_id: stored.stream_id.to_owned(),
            stream_version: stored.stream_version,
            position: stored.position,
            event_type: stored.event_type.to_owned(),
            schema_version: stored.schema_version,
            kind,
            field: None,
        }
    }

    /// An upcast failure, placed at `stored`.
    #[must_use]
    pub fn from_upcast(stored: &StoredEvent, error: UpcastError) -> Self {
        let (kind, field) = DecodeErrorKind::from_upcast(error);
        Self::new(stored, kind).with_field(field)
    }

    /// When the payload does not fit the shape of its version ([`DecodeErrorKind::WrongShape`],
    /// also as the cause of [`RawUpcastOutput`](DecodeErrorKind::RawUpcastOutput) or the
    /// `unfit` payload of [`FutureVersion`](DecodeErrorKind::FutureVersion)): the path of the
    /// field that does not fit, as `title`, `items[2].sku` or `status.Done.by` (a field of a
    /// variant of an enum field); for a missing field, the path of that field. In a raw
    /// upcaster's output, a field of the returned event's payload. `None` when the payload as
    /// a whole does not fit, and for every other kind.
    ///
    /// The path is found only once decoding has failed, by parsing the payload again through
    /// a deserializer that tracks it: decoding that succeeds pays nothing for it.
    ///
    /// # Examples
    /// ```
    /// use es_core::{Event, EventStore, ExpectedVersion, MemoryStore, NewEvent};
    /// # use schemars::JsonSchema;
    /// # use serde::{Deserialize, Serialize};
    /// use serde_json::json;
    ///
    /// #[derive(Serialize, Deserialize, JsonSchema)]
    /// struct Item { sku: String }
    ///
    /// #[derive(Serialize, Deserialize, JsonSchema, Event)]
    /// #[event(name = "ItemsAdded", version = 1)]
    /// struct ItemsAdded { items: Vec<Item> }
    ///
    /// let store = MemoryStore::new();
    /// let payload = json!({ "items": [{ "sku": "a" }, { "sku": 5 }] });
    /// let event = NewEvent::new("ItemsAdded", 1, payload);
    /// store.append("cart-1", ExpectedVersion::NoStream, vec![event])?;
    /// let stored = store.read_stream("cart-1", 1)?.next().unwrap()?;
    ///
    /// let error = ItemsAdded::decode(&stored).err().unwrap();
    /// assert_eq!(error.field(), Some("items[1].sku"));
    /// assert_eq!(
    ///     error.to_string(),
    ///     "cannot decode event `ItemsAdded` v1 in stream `cart-1` at version 1 (position 1): \
    ///      payload does not match the shape of its version at field `items[1].sku`"
    /// );
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[must_use]
    pub fn field(&self) -> Option<&str> {
        self.field.as_deref().map(|path| path.0.as_str())
    }

    /// The error with [`field`](DecodeError::field) set.
    pub(crate) fn with_field(mut self, field: Option<String>) -> Self {
        self.field = field.map(|path| Box::new(FieldPath(path)));
        self
    }
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "cannot decode event `{}` v{} in stream `{}` at version {}",
            self.event_type, self.schema_version, self.stream_id, self.stream_version,
        )?;
        // Positions count from 1: 0 is an event not stored yet, which has none to name.
        if self.position != 0 {
            write!(f, " (position {})", self.position)?;
        }
        f.write_str(": ")?;
        self.kind.describe(self.schema_version, self.field(), f)
    }
}

impl std::error::Error for DecodeError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.kind.source()
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
    /// The payload is JSON but does not have the shape of its version's struct, and no field
    /// can be named: the payload as a whole does not fit (or it is a JSON value, rewritten by
    /// a raw upcaster, whose decode point names the field).
    #[error("payload does not match the shape of its version")]
    WrongShape(#[source] serde_json::Error),
    /// The payload is JSON, and one of its fields does not have the shape of its version's
    /// struct.
    #[error("payload does not match the shape of its version at field `{field}`")]
    WrongField {
        /// The path of the field, as [`DecodeError::field`] gives it.
        field: String,
        /// What `serde_json` reported.
        #[source]
        source: serde_json::Error,
    },
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
