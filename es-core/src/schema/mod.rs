//! Schemas of stored shapes: fingerprints that change when a shape changes, the schema lock
//! that keeps published versions from being edited in place, and golden fixtures.
//!
//! A lock file records every `(tag, version)` an event enum decodes, with the JSON Schema of
//! its payload, which version of each chain is written, which versions read newer ones, and
//! the tags removed on purpose. [`check_lock`], called from a test, fails when a published
//! version changed shape or disappeared, when a removal was forgotten or undone, when a new
//! version has no upcast path from its predecessor, or when the code writes a version the
//! previous release (the lock) cannot read during a rolling deploy.

mod compat;
mod golden;
mod lock;
mod lock_report;
mod normalize;
mod rollout;

use schemars::Schema;
use serde_json::Value;

pub use compat::{Compatibility, FieldChange};
pub use golden::{golden_fixtures, GoldenError};
pub use lock::{check_lock, update_lock, LockEntry, LockFile, UPDATE_ENV};
pub use lock_report::{LockError, LockOutcome, LockProblem};
pub use normalize::normalize;

/// A short, stable fingerprint of a JSON Schema's data shape: 16 hex digits of FNV-1a (64-bit)
/// over the [`normalize`]d schema's canonical JSON (object keys sorted, no whitespace).
///
/// Documentation, titles and Rust type names do not count: renaming a struct or editing a doc
/// comment keeps the fingerprint; adding, removing or retyping a field changes it. Equal shapes
/// give equal fingerprints on every machine and run; it detects change, it is not a
/// cryptographic hash.
///
/// # Examples
/// ```
/// use es_core::schema::fingerprint;
/// let a = fingerprint(&schemars::json_schema!({ "type": "object", "title": "A" }));
/// let b = fingerprint(&schemars::json_schema!({ "title": "B", "type": "object" }));
/// let c = fingerprint(&schemars::json_schema!({ "type": "string" }));
/// assert_eq!(a, b);
/// assert_ne!(a, c);
/// assert_eq!(a.len(), 16);
/// ```
#[must_use]
pub fn fingerprint(schema: &Schema) -> String {
    fingerprint_value(&normalize(schema.as_value()))
}

/// The fingerprint of `T`'s JSON Schema.
#[must_use]
pub fn fingerprint_of<T: schemars::JsonSchema>() -> String {
    fingerprint(&crate::__private::root_schema::<T>())
}

/// The fingerprint of an already normalized schema.
pub(crate) fn fingerprint_value(normalized: &Value) -> String {
    // serde_json's Map is a BTreeMap (the `preserve_order` feature is off), so keys serialize
    // sorted: the text is canonical.
    format!("{:016x}", fnv1a64(normalized.to_string().as_bytes()))
}

pub(crate) fn fnv1a64(bytes: &[u8]) -> u64 {
    const OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
    const PRIME: u64 = 0x0000_0100_0000_01b3;
    bytes
        .iter()
        .fold(OFFSET, |hash, &b| (hash ^ u64::from(b)).wrapping_mul(PRIME))
}
