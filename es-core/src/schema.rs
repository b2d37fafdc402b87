//! Schemas of stored shapes: fingerprints that change when a shape changes.

use schemars::Schema;

/// A short, stable fingerprint of a JSON Schema: 16 hex digits of FNV-1a (64-bit) over the
/// schema's canonical JSON (object keys sorted, no whitespace). Equal schemas give equal
/// fingerprints on every machine and run; it detects change, it is not a cryptographic hash.
///
/// # Examples
/// ```
/// use es_core::schema::fingerprint;
/// let a = fingerprint(&schemars::json_schema!({ "type": "object", "title": "A" }));
/// let b = fingerprint(&schemars::json_schema!({ "title": "A", "type": "object" }));
/// assert_eq!(a, b);
/// assert_eq!(a.len(), 16);
/// ```
#[must_use]
pub fn fingerprint(schema: &Schema) -> String {
    // serde_json's Map is a BTreeMap (the `preserve_order` feature is off), so keys serialize
    // sorted: the text is canonical.
    let canonical = serde_json::to_vec(schema.as_value()).unwrap_or_default();
    format!("{:016x}", fnv1a64(&canonical))
}

/// The fingerprint of `T`'s JSON Schema.
#[must_use]
pub fn fingerprint_of<T: schemars::JsonSchema>() -> String {
    fingerprint(&crate::__private::root_schema::<T>())
}

pub(crate) fn fnv1a64(bytes: &[u8]) -> u64 {
    const OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
    const PRIME: u64 = 0x0000_0100_0000_01b3;
    bytes
        .iter()
        .fold(OFFSET, |hash, &b| (hash ^ u64::from(b)).wrapping_mul(PRIME))
}
