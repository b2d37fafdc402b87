//! Support for the code `#[derive(Event)]` generates. Not a public API: no stability promise.
//! It is tied to the es-derive of the same version, which es-core's Cargo.toml pins exactly.

pub use serde_json;

use crate::codec::{
    ChainLink, Decoding, RawEvent, RawPayload, RawRefUpcaster, RawUpcaster, UpcastError,
    VersionInfo, VersionedEvent,
};
use crate::event::TextRead;
use crate::{
    DecodeError, DecodeErrorKind, Decoded, Event, JsonPayload, RawUpcastOutputError, StoredEvent,
    StoredEventRef, UnfitPayload,
};

/// Every expansion of the derive refers to the item named after the derive's own version, so an
/// es-derive and an es-core of different versions (a path or patched dependency can bring one)
/// fail to compile with this name in the error, rather than on whatever item of this module
/// changed between them. Renamed with each release; a test checks it against the version.
#[allow(non_upper_case_globals)]
pub const es_derive_and_es_core_versions_must_match_0_1_0: () = ();

/// The JSON Schema of `T`, as a root schema with its definitions.
#[must_use]
pub fn root_schema<T: schemars::JsonSchema>() -> schemars::Schema {
    schemars::SchemaGenerator::default().into_root_schema_for::<T>()
}

/// The schema that accepts any JSON: the input of a raw upcaster without `schema = Type`, and a
/// removed tag.
#[must_use]
pub fn any_json_schema() -> schemars::Schema {
    schemars::Schema::from(true)
}

/// The JSON Schema of a version struct, for its [`ChainLink`]: where the derive requires
/// `JsonSchema`, so that a struct without it gets this one error.
#[must_use]
pub fn event_schema<T: EventSchema>() -> schemars::Schema {
    T::event_schema()
}

/// A type with a JSON Schema, in the words of a version struct that lacks one.
#[diagnostic::on_unimplemented(
    message = "`{Self}` does not implement schemars 1's `JsonSchema`: add `JsonSchema` to its `#[derive(...)]`, from schemars 1.x",
    label = "`{Self}` needs `#[derive(JsonSchema)]` of schemars 1.x",
    note = "the schema lock and golden fixtures record the JSON Schema of each version; es-core uses schemars 1.x (re-exported as `es_core::schemars`), and a `#[derive(JsonSchema)]` of schemars 0.8 implements another trait: depend on `schemars = \"1\"` (`cargo tree -i schemars` shows who asks for another version)"
)]
pub trait EventSchema {
    /// The schema, as a root schema with its definitions.
    fn event_schema() -> schemars::Schema;
}

#[diagnostic::do_not_recommend]
impl<T: schemars::JsonSchema> EventSchema for T {
    fn event_schema() -> schemars::Schema {
        root_schema::<T>()
    }
}

/// The step of `upcast_from = Previous`: `From<Previous>`, required where the attribute names
/// `Previous`, so that a missing impl is reported there, saying what to write.
pub fn upcast<Previous, Current: UpcastFrom<Previous>>(previous: Previous) -> Current {
    Current::upcast_from(previous)
}

/// The step of `upcast_from = Previous` with `try_upcast`: `TryFrom<Previous>`, its error
/// becoming an [`UpcastError`] from `from`.
///
/// # Errors
/// The `TryFrom` impl's error, as [`UpcastError::Failed`].
pub fn try_upcast<Previous, Current: TryUpcastFrom<Previous>>(
    previous: Previous,
    from: &'static str,
) -> Result<Current, UpcastError> {
    Current::try_upcast_from(previous, from)
}

/// `From<Previous>`, in the words of a version struct whose `upcast_from` lacks it.
#[diagnostic::on_unimplemented(
    message = "`upcast_from = {Previous}` needs `impl From<{Previous}> for {Self}`",
    label = "no `impl From<{Previous}> for {Self}`",
    note = "write `impl From<{Previous}> for {Self}`, the step from the previous version to this one; for a step that can fail, add `try_upcast` to `#[event(...)]` and write `impl TryFrom<{Previous}> for {Self}`"
)]
pub trait UpcastFrom<Previous>: Sized {
    /// The step.
    fn upcast_from(previous: Previous) -> Self;
}

#[diagnostic::do_not_recommend]
impl<Previous, Current: From<Previous>> UpcastFrom<Previous> for Current {
    fn upcast_from(previous: Previous) -> Self {
        Current::from(previous)
    }
}

/// `TryFrom<Previous>`, in the words of a `try_upcast` version struct that lacks it.
#[diagnostic::on_unimplemented(
    message = "`upcast_from = {Previous}` with `try_upcast` needs `impl TryFrom<{Previous}> for {Self}`",
    label = "no `impl TryFrom<{Previous}> for {Self}`",
    note = "write `impl TryFrom<{Previous}> for {Self}`, whose error (an error type that is `Send + Sync`) becomes an upcast error naming the stored event; for a step that cannot fail, drop `try_upcast` and write `impl From<{Previous}> for {Self}`"
)]
pub trait TryUpcastFrom<Previous>: Sized {
    /// The step, its error an [`UpcastError`] from `from`.
    ///
    /// # Errors
    /// The `TryFrom` impl's error, as [`UpcastError::Failed`].
    fn try_upcast_from(previous: Previous, from: &'static str) -> Result<Self, UpcastError>;
}

#[diagnostic::do_not_recommend]
impl<Previous, Current> TryUpcastFrom<Previous> for Current
where
    Current: TryFrom<Previous>,
    Current::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    fn try_upcast_from(previous: Previous, from: &'static str) -> Result<Self, UpcastError> {
        Current::try_from(previous).map_err(|error| UpcastError::failed(from, error))
    }
}

/// The [`VersionInfo`] of a raw upcaster's input.
#[must_use]
pub const fn raw_upcast_version(
    tag: &'static str,
    version: u32,
    upcaster: &'static str,
    schema: fn() -> schemars::Schema,
) -> VersionInfo {
    VersionInfo {
        tag,
        version,
        rust_type: "serde_json::Value",
        schema,
        decoding: Decoding::RawUpcast { upcaster },
    }
}

/// The [`VersionInfo`] of a removed tag: one version, or every version when `version` is `None`.
#[must_use]
pub const fn removed_version(tag: &'static str, version: Option<u32>) -> VersionInfo {
    let (version, decoding) = match version {
        Some(version) => (version, Decoding::Removed),
        None => (0, Decoding::RemovedEveryVersion),
    };
    VersionInfo {
        tag,
        version,
        rust_type: "",
        schema: any_json_schema,
        decoding,
    }
}

/// The link emitted beside a `compile_error!` for a struct whose attributes are wrong, so that
/// enums using the struct report no cascade of errors. Its version 0 marks it: the const
/// checks below skip it.
#[must_use]
pub const fn placeholder_link(rust_type: &'static str) -> ChainLink {
    ChainLink {
        tag: "",
        aliases: &[],
        version: 0,
        rust_type,
        schema: any_json_schema,
        previous: None,
        write_as: None,
        read_newer: false,
    }
}

/// The decode point of a single version struct used as an event type of its own.
///
/// # Errors
/// See [`Event::decode`](crate::Event::decode).
pub fn decode_struct<T: VersionedEvent + Event>(
    stored: &StoredEventRef<'_>,
) -> Result<Decoded<T>, DecodeError> {
    if T::LINK.contains(stored.event_type, stored.schema_version) {
        T::upcast_from_version_then(
            stored.schema_version,
            RawPayload::Json(stored.payload),
            Decoded::one,
        )
        .map_err(|e| from_upcast(stored, e))
    } else if let Some(result) = decode_newer::<T>(stored, |tag, version, payload| {
        <T as VersionedEvent>::LINK
            .contains(tag, version)
            .then(|| T::upcast_from_version(version, payload))
    }) {
        result.map(Decoded::one)
    } else {
        Err(not_found(stored, &[&T::LINK], &[]))
    }
}

/// Tolerant reading: a stored version of a tag newer than every version `E` knows, decoded as
/// the latest version when that version's struct reads newer versions (`read_newer`) and the
/// payload fits it (unknown fields are ignored by serde). `None` when no chain reads it so;
/// an error of kind [`DecodeErrorKind::FutureVersion`] saying why, when it does not fit.
///
/// Reached only after the typed chains, raw upcasters and removed tags found nothing, so it
/// costs nothing on the decode path of known versions.
///
/// # Errors
/// `FutureVersion` with [`UnfitPayload`] when the payload does not fit.
pub fn decode_newer<E: Event>(
    stored: &StoredEventRef<'_>,
    typed: TypedDispatch<E>,
) -> Option<Result<E, DecodeError>> {
    let (tag, version) = (stored.event_type, stored.schema_version);
    let head = E::CHAINS
        .iter()
        .find(|head| head.read_newer && head.answers_to(tag))?;
    let DecodeErrorKind::FutureVersion { latest, .. } =
        not_found_kind(tag, version, E::CHAINS, E::RAW_VERSIONS)
    else {
        return None;
    };
    if latest != head.version {
        // Another chain knows a newer version of this tag: it is not this chain's to read.
        return None;
    }
    let decoded = typed(head.tag, head.version, RawPayload::Json(stored.payload))?;
    Some(decoded.map_err(|error| {
        let (source, field) = match error {
            UpcastError::MalformedJson(source) | UpcastError::WrongShape(source) => (source, None),
            UpcastError::WrongField { field, source } => (source, Some(field)),
            other => return from_upcast(stored, other),
        };
        DecodeError::at(
            stored,
            DecodeErrorKind::FutureVersion {
                latest,
                unfit: Some(Box::new(UnfitPayload::new(head.rust_type, source))),
            },
        )
        .with_field(field)
    }))
}

/// A borrowed event whose metadata is not an object's text cannot be copied for a hand-written
/// `decode` or a raw upcaster: its error, placed at the event.
#[must_use]
pub fn metadata_error(stored: &StoredEventRef<'_>, error: &crate::MetadataError) -> DecodeError {
    DecodeError::at(
        stored,
        DecodeErrorKind::MalformedJson(<serde_json::Error as serde::de::Error>::custom(error)),
    )
}

/// An upcast failure, placed at `stored`.
#[must_use]
pub fn from_upcast(stored: &StoredEventRef<'_>, error: UpcastError) -> DecodeError {
    let (kind, field) = DecodeErrorKind::from_upcast(error);
    DecodeError::at(stored, kind).with_field(field)
}

/// The payload of a struct with `write_as = W`: the event converted by the user's downcast,
/// `From<T> for W`, on a clone (encoding borrows the event).
pub fn downcast<T: Clone, W: From<T>>(event: &T) -> W {
    W::from(event.clone())
}

/// An enum's typed dispatch, generated by the derive: decodes `(tag, version, payload)` through
/// the variant whose chain contains it, or returns `None` when no chain does.
pub type TypedDispatch<E> = fn(&str, u32, RawPayload<'_>) -> Option<Result<E, UpcastError>>;

/// Decodes `stored` through the raw upcaster registered for its `(tag, version)`, then each
/// event it returns through the enum's typed chains.
///
/// # Errors
/// The payload is not JSON, the upcaster fails, or one of its outputs does not decode (also
/// when it is itself a raw upcaster's input or a removed tag, so raw upcasters cannot loop).
pub fn decode_raw<E: Event>(
    stored: &StoredEventRef<'_>,
    upcaster_name: &'static str,
    upcaster: RawUpcaster,
    typed: TypedDispatch<E>,
) -> Result<Decoded<E>, DecodeError> {
    // The upcaster sees the whole stored event: an owned copy only when it was borrowed from a
    // read buffer, and only for the tags it rewrites.
    stored.with_whole(|whole| {
        RawStep {
            stored,
            upcaster: Upcaster::Whole(upcaster, whole),
            upcaster_name,
            typed,
        }
        .decode()
    })?
}

/// [`decode_raw`] for a [`RawRefUpcaster`], which is lent `stored` as it is: no copy of it.
///
/// # Errors
/// As [`decode_raw`].
pub fn decode_raw_ref<E: Event>(
    stored: &StoredEventRef<'_>,
    upcaster_name: &'static str,
    upcaster: RawRefUpcaster,
    typed: TypedDispatch<E>,
) -> Result<Decoded<E>, DecodeError> {
    RawStep {
        stored,
        upcaster: Upcaster::Lent(upcaster),
        upcaster_name,
        typed,
    }
    .decode()
}

/// A raw upcaster of either form, with what it reads besides its input.
#[derive(Clone, Copy)]
enum Upcaster<'s> {
    /// Given the whole stored event, owned.
    Whole(RawUpcaster, &'s StoredEvent),
    /// Lent the stored event.
    Lent(RawRefUpcaster),
}

impl Upcaster<'_> {
    /// Runs the upcaster on the raw form of `stored`. The payload stays text: an upcaster
    /// that passes it on unchanged costs no JSON value, and stored text that is not JSON is
    /// found where it is read (by the upcaster, or by the typed parse of an output that passes
    /// it on).
    fn run(
        self,
        stored: &StoredEventRef<'_>,
    ) -> Result<Vec<RawEvent>, Box<dyn std::error::Error + Send + Sync>> {
        let input = RawEvent {
            event_type: stored.event_type.to_owned(),
            schema_version: stored.schema_version,
            payload: JsonPayload::from_stored_text(stored.payload),
        };
        match self {
            Self::Whole(upcaster, whole) => upcaster(input, whole),
            Self::Lent(upcaster) => upcaster(input, stored),
        }
    }
}

/// A stored event through its raw upcaster, and what the outputs decode through.
struct RawStep<'s, 'a, E> {
    stored: &'s StoredEventRef<'a>,
    upcaster: Upcaster<'s>,
    upcaster_name: &'static str,
    typed: TypedDispatch<E>,
}

impl<E: Event> RawStep<'_, '_, E> {
    /// [`decode_raw`] or [`decode_raw_ref`], once the upcaster has what it reads.
    #[inline]
    fn decode(&self) -> Result<Decoded<E>, DecodeError> {
        let stored = self.stored;
        let (upcast, text_read) = JsonPayload::watch_stored_text(|| self.upcaster.run(stored));
        if text_read == TextRead::Malformed {
            return Err(malformed(stored));
        }
        let mut outputs = upcast.map_err(|source| {
            if is_json(stored.payload) {
                DecodeError::at(
                    stored,
                    DecodeErrorKind::UpcastFailed {
                        from: self.upcaster_name,
                        source,
                    },
                )
            } else {
                malformed(stored)
            }
        })?;
        // A stored payload that is not JSON fails whatever the upcaster did with it: an output
        // that passes its text on finds out when parsed; otherwise it is checked here, unless
        // the upcaster parsed it whole already.
        let passed_on = outputs.iter().any(|o| o.payload.stored_text().is_some());
        if text_read == TextRead::Untouched && !passed_on && !is_json(stored.payload) {
            return Err(malformed(stored));
        }
        // One output, the usual case, needs no vector.
        if outputs.len() == 1 {
            if let Some(raw) = outputs.pop() {
                return self.output(0, raw).map(Decoded::one);
            }
        }
        let events = outputs
            .into_iter()
            .enumerate()
            .map(|(index, raw)| self.output(index, raw))
            .collect::<Result<Vec<E>, DecodeError>>()?;
        Ok(Decoded::many(events))
    }

    /// Output `index` of the upcaster, decoded through the typed chains.
    #[inline]
    fn output(&self, index: usize, raw: RawEvent) -> Result<E, DecodeError> {
        let RawEvent {
            event_type,
            schema_version: version,
            payload,
        } = raw;
        let (cause, field) = if E::RAW_VERSIONS
            .iter()
            .any(|info| info.covers(&event_type, version))
        {
            (DecodeErrorKind::RawUpcastReentry, None)
        } else {
            let decoded = match payload.stored_text() {
                Some(text) => {
                    let decoded = (self.typed)(&event_type, version, RawPayload::Json(text));
                    payload.recycle();
                    decoded
                }
                None => (self.typed)(
                    &event_type,
                    version,
                    RawPayload::Value(payload.into_value()),
                ),
            };
            match decoded {
                Some(Ok(event)) => return Ok(event),
                Some(Err(error)) => match DecodeErrorKind::from_upcast(error) {
                    // The output passed the stored text on, and it is not JSON.
                    (DecodeErrorKind::MalformedJson(_), _) => return Err(malformed(self.stored)),
                    (cause @ DecodeErrorKind::WrongShape(_), None) => {
                        let field = raw_output_field(self.stored, self.upcaster, index, self.typed);
                        (cause, field)
                    }
                    named => named,
                },
                None => (not_found_kind(&event_type, version, E::CHAINS, &[]), None),
            }
        };
        Err(DecodeError::at(
            self.stored,
            DecodeErrorKind::RawUpcastOutput(Box::new(RawUpcastOutputError::new(
                self.upcaster_name,
                event_type,
                version,
                cause,
            ))),
        )
        .with_field(field))
    }
}

/// Whether `text` is JSON; asked only when a raw upcaster failed or left its payload unread.
#[cold]
fn is_json(text: &[u8]) -> bool {
    serde_json::from_slice::<serde::de::IgnoredAny>(text).is_ok()
}

/// The error of a stored payload that is not JSON.
#[cold]
fn malformed(stored: &StoredEventRef<'_>) -> DecodeError {
    match serde_json::from_slice::<serde::de::IgnoredAny>(stored.payload) {
        Err(error) => from_upcast(stored, UpcastError::from_json(error)),
        // Unreachable: called only for text that did not parse.
        Ok(_) => DecodeError::at(
            stored,
            DecodeErrorKind::MalformedJson(serde::de::Error::custom("payload is not valid JSON")),
        ),
    }
}

/// The field of output `index` of a raw upcaster that does not fit its version's struct.
/// Called only when that output failed to decode: the typed chains parsed a JSON value, which
/// names no field, and the value is gone. The upcaster runs again on the stored event, and
/// the output is parsed again as JSON text, which names the field.
#[cold]
fn raw_output_field<E>(
    stored: &StoredEventRef<'_>,
    upcaster: Upcaster<'_>,
    index: usize,
    typed: TypedDispatch<E>,
) -> Option<String> {
    let output = upcaster.run(stored).ok()?.into_iter().nth(index)?;
    let text = serde_json::to_vec(&output.payload).ok()?;
    match typed(
        &output.event_type,
        output.schema_version,
        RawPayload::Json(&text),
    )? {
        Err(UpcastError::WrongField { field, .. }) => Some(field),
        _ => None,
    }
}

/// The error for a stored event that no chain contains and no raw upcaster or removed tag
/// handles: an unknown tag, a version newer than the latest known, or a version missing from
/// the chain. The versions of `raw` count as known.
#[must_use]
pub fn not_found(
    stored: &StoredEventRef<'_>,
    chains: &[&'static ChainLink],
    raw: &[VersionInfo],
) -> DecodeError {
    DecodeError::at(
        stored,
        not_found_kind(stored.event_type, stored.schema_version, chains, raw),
    )
}

fn not_found_kind(
    tag: &str,
    version: u32,
    chains: &[&'static ChainLink],
    raw: &[VersionInfo],
) -> DecodeErrorKind {
    let mut known: Vec<u32> = chains
        .iter()
        .flat_map(|chain| chain.iter())
        .filter(|link| link.answers_to(tag))
        .map(|link| link.version)
        .chain(
            raw.iter()
                .filter(|info| info.tag == tag && info.version > 0)
                .map(|info| info.version),
        )
        .collect();
    known.sort_unstable();
    known.dedup();
    match known.last() {
        None => DecodeErrorKind::UnknownType,
        Some(&latest) if version > latest => DecodeErrorKind::FutureVersion {
            latest,
            unfit: None,
        },
        Some(_) => DecodeErrorKind::MissingVersion { known },
    }
}

/// The first stored `(tag, version)` both chains decode, counting aliases; evaluated at compile
/// time by the enum derive, whose assertion names it.
#[must_use]
pub const fn shared_version(a: &ChainLink, b: &ChainLink) -> Option<(&'static str, u32)> {
    let mut left = Some(a);
    while let Some(l) = left {
        let mut right = Some(b);
        while let Some(r) = right {
            if l.version == r.version && l.version != 0 {
                if let Some(tag) = shared_tag(l, r) {
                    return Some((tag, l.version));
                }
            }
            right = r.previous;
        }
        left = l.previous;
    }
    None
}

/// Whether `earlier` is a version before `current` in `current`'s chain: an enum holding both
/// holds two versions of one event type. Evaluated at compile time by the enum derive.
#[must_use]
pub const fn is_earlier_version(earlier: &ChainLink, current: &ChainLink) -> bool {
    if earlier.version == 0 {
        return false;
    }
    let mut link = current.previous;
    while let Some(l) = link {
        if l.version == earlier.version
            && str_eq(l.tag, earlier.tag)
            && str_eq(l.rust_type, earlier.rust_type)
        {
            return true;
        }
        link = l.previous;
    }
    false
}

/// Whether the chain ending at `link` decodes `tag` at `version`, or at any version when
/// `version` is `None`; evaluated at compile time against removed tags and raw upcasters.
#[must_use]
pub const fn chain_decodes(link: &ChainLink, tag: &str, version: Option<u32>) -> bool {
    let mut current = Some(link);
    while let Some(l) = current {
        let version_matches = match version {
            Some(v) => l.version == v,
            None => true,
        };
        if l.version != 0 && version_matches && link_answers_to(l, tag) {
            return true;
        }
        current = l.previous;
    }
    false
}

/// Whether `write_as` names the version `previous` is, by tag and version: the check of
/// `write_as` against `upcast_from`, evaluated at compile time. A placeholder (version 0, a
/// struct with errors of its own) passes, so that its errors are not reported twice.
#[must_use]
pub const fn same_version(write_as: &ChainLink, previous: &ChainLink) -> bool {
    write_as.version == 0
        || previous.version == 0
        || (write_as.version == previous.version && str_eq(write_as.tag, previous.tag))
}

const fn shared_tag(a: &ChainLink, b: &ChainLink) -> Option<&'static str> {
    if link_answers_to(b, a.tag) {
        return Some(a.tag);
    }
    let mut i = 0;
    while i < a.aliases.len() {
        if link_answers_to(b, a.aliases[i]) {
            return Some(a.aliases[i]);
        }
        i += 1;
    }
    None
}

const fn link_answers_to(link: &ChainLink, tag: &str) -> bool {
    if str_eq(link.tag, tag) {
        return true;
    }
    let mut i = 0;
    while i < link.aliases.len() {
        if str_eq(link.aliases[i], tag) {
            return true;
        }
        i += 1;
    }
    false
}

const fn str_eq(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    let mut i = 0;
    while i < a.len() {
        if a[i] != b[i] {
            return false;
        }
        i += 1;
    }
    true
}

const MESSAGE_CAPACITY: usize = 1024;

/// A compile-time error message, built in a fixed buffer so that a `const` assertion can name
/// the tag and version it found (const panics take a `&str`, not formatting of numbers).
pub struct ConstMessage {
    buf: [u8; MESSAGE_CAPACITY],
    len: usize,
}

impl ConstMessage {
    /// `before`, then `` `tag` `` and `version`, then `after`.
    #[must_use]
    pub const fn clash(before: &str, tag: &str, version: u32, after: &str) -> Self {
        ConstMessage {
            buf: [0; MESSAGE_CAPACITY],
            len: 0,
        }
        .push(before)
        .push("(`")
        .push(tag)
        .push("`, ")
        .push_u32(version)
        .push(")")
        .push(after)
    }

    const fn push(mut self, text: &str) -> Self {
        let bytes = text.as_bytes();
        let mut i = 0;
        while i < bytes.len() && self.len < MESSAGE_CAPACITY {
            self.buf[self.len] = bytes[i];
            self.len += 1;
            i += 1;
        }
        self
    }

    const fn push_u32(mut self, value: u32) -> Self {
        let mut digits = [0u8; 10];
        let mut n = value;
        let mut count = 0;
        loop {
            digits[count] = b'0' + (n % 10) as u8;
            count += 1;
            n /= 10;
            if n == 0 {
                break;
            }
        }
        while count > 0 && self.len < MESSAGE_CAPACITY {
            count -= 1;
            self.buf[self.len] = digits[count];
            self.len += 1;
        }
        self
    }

    /// The message; cut at a character boundary if it outgrew the buffer.
    #[must_use]
    pub const fn as_str(&self) -> &str {
        let (text, _) = self.buf.split_at(self.len);
        match core::str::from_utf8(text) {
            Ok(text) => text,
            Err(error) => {
                let (valid, _) = text.split_at(error.valid_up_to());
                match core::str::from_utf8(valid) {
                    Ok(text) => text,
                    Err(_) => "",
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::ConstMessage;

    #[test]
    fn version_marker_is_named_after_this_version() {
        let suffix = env!("CARGO_PKG_VERSION").replace(['.', '-', '+'], "_");
        let marker = format!("pub const es_derive_and_es_core_versions_must_match_{suffix}: ()");
        assert!(
            include_str!("private.rs").contains(&marker),
            "the version marker must be `{marker}`"
        );
    }

    #[test]
    fn const_message_names_tag_and_version() {
        let message = ConstMessage::clash("both decode ", "Opened", 4_294_967_295, ": fix it");
        assert_eq!(
            message.as_str(),
            "both decode (`Opened`, 4294967295): fix it"
        );
        assert_eq!(ConstMessage::clash("", "T", 0, "").as_str(), "(`T`, 0)");
    }

    #[test]
    fn const_message_cuts_at_a_character_boundary() {
        let long = "é".repeat(600);
        let message = ConstMessage::clash(&long, "T", 1, "");
        assert_eq!(message.as_str(), "é".repeat(512));
    }
}
