//! Support for the code `#[derive(Event)]` generates. Not a public API: no stability promise.

pub use core;
pub use schemars;
pub use serde_json;

use crate::codec::{ChainLink, RawPayload, VersionedEvent};
use crate::{DecodeError, DecodeErrorKind, Decoded, StoredEvent};

/// The JSON Schema of `T`, as a root schema with its definitions.
#[must_use]
pub fn root_schema<T: schemars::JsonSchema>() -> schemars::Schema {
    schemars::SchemaGenerator::default().into_root_schema_for::<T>()
}

/// The decode point of a single version struct used as an event type of its own.
///
/// # Errors
/// See [`Event::decode`](crate::Event::decode).
pub fn decode_struct<T: VersionedEvent>(stored: &StoredEvent) -> Result<Decoded<T>, DecodeError> {
    if T::LINK.contains(&stored.event_type, stored.schema_version) {
        T::upcast_from_version(stored.schema_version, RawPayload::Json(&stored.payload))
            .map(Decoded::one)
            .map_err(|e| DecodeError::from_upcast(stored, e))
    } else {
        Err(not_found(stored, &[&T::LINK]))
    }
}

/// Decodes `stored` through one chain, whose membership the caller has checked.
///
/// # Errors
/// The chain's failure, placed at `stored`.
pub fn decode_in_chain<T: VersionedEvent>(stored: &StoredEvent) -> Result<T, DecodeError> {
    T::upcast_from_version(stored.schema_version, RawPayload::Json(&stored.payload))
        .map_err(|e| DecodeError::from_upcast(stored, e))
}

/// The error for a stored event that no chain contains: an unknown tag, a version newer than
/// the chain's latest, or a version missing from it.
#[must_use]
pub fn not_found(stored: &StoredEvent, chains: &[&'static ChainLink]) -> DecodeError {
    let mut known: Vec<u32> = chains
        .iter()
        .flat_map(|chain| chain.iter())
        .filter(|link| link.answers_to(&stored.event_type))
        .map(|link| link.version)
        .collect();
    known.sort_unstable();
    known.dedup();
    let kind = match known.last() {
        None => DecodeErrorKind::UnknownType,
        Some(&latest) if stored.schema_version > latest => {
            DecodeErrorKind::FutureVersion { latest }
        }
        Some(_) => DecodeErrorKind::MissingVersion { known },
    };
    DecodeError::new(stored, kind)
}

/// Whether two chains share a stored `(tag, version)`, counting aliases; evaluated at compile
/// time by the enum derive.
#[must_use]
pub const fn chains_overlap(a: &ChainLink, b: &ChainLink) -> bool {
    let mut left = Some(a);
    while let Some(l) = left {
        let mut right = Some(b);
        while let Some(r) = right {
            if l.version == r.version && links_share_a_tag(l, r) {
                return true;
            }
            right = r.previous;
        }
        left = l.previous;
    }
    false
}

const fn links_share_a_tag(a: &ChainLink, b: &ChainLink) -> bool {
    if link_answers_to(b, a.tag) {
        return true;
    }
    let mut i = 0;
    while i < a.aliases.len() {
        if link_answers_to(b, a.aliases[i]) {
            return true;
        }
        i += 1;
    }
    false
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
