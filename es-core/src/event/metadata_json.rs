//! [`Metadata`]: an event's metadata object, kept as the JSON text it was given in.

use std::borrow::Cow;
use std::collections::HashSet;
use std::fmt;
use std::sync::OnceLock;

use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::{Map, Value};

use crate::store::backend::{MAX_METADATA_BYTES, MAX_METADATA_DEPTH};

/// An event's metadata: a JSON object, kept as the exact text it was given in.
///
/// Stores write the text and give it back byte for byte: integers of any size, the spelling of
/// numbers, key order, spacing and string escapes all survive an append, every read, an
/// export and an import. The text is checked once, when the value is built
/// ([`Metadata::from_json`]), and parsed only when a key is asked for ([`Metadata::get`],
/// [`Metadata::as_map`]); reading an event never parses its metadata.
///
/// Built from a [`serde_json::Map`] (`From`), the text is that map's compact JSON.
///
/// # Examples
/// ```
/// use es_core::Metadata;
/// use serde_json::json;
///
/// let text = r#"{"trace": 123456789012345678901234567890, "b": 1.10, "a": {"x": null}}"#;
/// let metadata = Metadata::from_json(text)?;
/// assert_eq!(metadata.as_str(), text); // byte for byte, keys in their order
/// assert_eq!(metadata["a"], json!({ "x": null }));
/// assert_eq!(metadata.get("missing"), None);
/// assert!(Metadata::from_json(r#"{"a": 1, "a": 2}"#).is_err());
/// # Ok::<(), es_core::MetadataError>(())
/// ```
pub struct Metadata {
    /// Borrowed only for the empty object, so events without metadata allocate nothing.
    text: Cow<'static, str>,
    parsed: OnceLock<Map<String, Value>>,
}

/// Why a text is not acceptable as [`Metadata`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum MetadataError {
    /// The text is not one JSON value (or holds a number beyond the range of a double).
    #[error("the metadata is not valid JSON: {reason}")]
    Malformed {
        /// What `serde_json` reported.
        reason: String,
    },
    /// The text is JSON, but not an object.
    #[error("the metadata must be an object, not {kind}")]
    NotAnObject {
        /// What it is instead: "an array", "a string", ...
        kind: &'static str,
    },
    /// An object in the metadata gives a key twice, which a reader would resolve one way or
    /// the other.
    #[error("the metadata gives the key `{key}` twice")]
    DuplicateKey {
        /// The repeated key.
        key: String,
    },
    /// Arrays and objects nest deeper than [`MAX_METADATA_DEPTH`].
    #[error("the metadata nests deeper than {limit} levels")]
    TooDeep {
        /// The deepest nesting accepted, the metadata object itself included.
        limit: usize,
    },
    /// The text is longer than [`MAX_METADATA_BYTES`].
    #[error("the metadata is {size} bytes as JSON, more than the limit of {limit}")]
    TooLarge {
        /// The text's length in bytes.
        size: usize,
        /// The limit in bytes.
        limit: usize,
    },
}

impl Metadata {
    /// The metadata of `text`, kept as it is.
    ///
    /// # Errors
    /// [`MetadataError`] when `text` is not one JSON object, gives a key twice in any object,
    /// holds a number beyond the range of a double (integers of any size are fine), nests
    /// deeper than [`MAX_METADATA_DEPTH`] or is longer than [`MAX_METADATA_BYTES`]: the limits
    /// every store checks on append, so whatever this accepts every store accepts and gives
    /// back.
    pub fn from_json(text: impl Into<String>) -> Result<Self, MetadataError> {
        let text = text.into();
        if text.len() > MAX_METADATA_BYTES {
            return Err(MetadataError::TooLarge {
                size: text.len(),
                limit: MAX_METADATA_BYTES,
            });
        }
        // Before parsing: `serde_json` stops at 128 levels with a less helpful message.
        if depth(&text) > MAX_METADATA_DEPTH {
            return Err(MetadataError::TooDeep {
                limit: MAX_METADATA_DEPTH,
            });
        }
        let mut de = serde_json::Deserializer::from_str(&text);
        let checked = Checked::deserialize(&mut de).and_then(|checked| {
            de.end()?;
            Ok(checked)
        });
        match checked {
            Ok(Checked::Object) => Ok(Self::unparsed(text)),
            Ok(Checked::Other(kind)) => Err(MetadataError::NotAnObject { kind }),
            Err(error) => Err(match duplicate_key(&error) {
                Some(key) => MetadataError::DuplicateKey { key },
                None => MetadataError::Malformed {
                    reason: error.to_string(),
                },
            }),
        }
    }

    /// Metadata as a store gives it back: text that [`Metadata::from_json`] accepted when the
    /// event was appended. Checked only for the shape of an object (`{` … `}`), not parsed.
    pub(crate) fn from_stored(text: String) -> Option<Self> {
        is_object_text(&text).then(|| Self::unparsed(text))
    }

    fn unparsed(text: String) -> Self {
        Self {
            text: Cow::Owned(text),
            parsed: OnceLock::new(),
        }
    }

    /// Whether the text has been parsed (a key was asked for).
    #[cfg(test)]
    pub(crate) fn is_parsed(&self) -> bool {
        self.parsed.get().is_some()
    }

    /// The JSON text, exactly as given.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The JSON text's bytes, exactly as given.
    #[must_use]
    pub fn as_bytes(&self) -> &[u8] {
        self.text.as_bytes()
    }

    /// The JSON text, owned.
    #[must_use]
    pub fn into_string(self) -> String {
        self.text.into_owned()
    }

    /// Whether the object has no keys.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.text
            .trim_matches(is_json_space)
            .strip_prefix('{')
            .and_then(|inner| inner.strip_suffix('}'))
            .is_some_and(|inner| inner.trim_matches(is_json_space).is_empty())
    }

    /// The value of `key`, parsing the text on first use.
    #[must_use]
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.as_map().get(key)
    }

    /// Whether the object has `key`.
    #[must_use]
    pub fn contains_key(&self, key: &str) -> bool {
        self.as_map().contains_key(key)
    }

    /// The object as a map of values, parsed on first use and kept. Its keys are sorted, and
    /// an integer beyond 64 bits is the nearest double there: [`Metadata::as_str`] is the
    /// exact form.
    #[must_use]
    pub fn as_map(&self) -> &Map<String, Value> {
        self.parsed.get_or_init(|| {
            // The text was checked when it was built; a store's damaged text reads as empty.
            serde_json::from_str(&self.text).unwrap_or_default()
        })
    }

    /// Sets `key` to `value`. A new key is added at the end and the rest of the text is kept
    /// as it is; replacing a key writes the object anew, compact, each other value keeping
    /// its text.
    pub fn insert(&mut self, key: impl Into<String>, value: &Value) {
        let key = key.into();
        let value_text = value.to_string();
        if self.contains_key(&key) {
            self.rewrite(|entries| {
                for entry in entries.iter_mut() {
                    if entry.0 == key {
                        entry.1.clone_from(&value_text);
                    }
                }
            });
            return;
        }
        let entry = format!("{}:{value_text}", Value::String(key));
        let end = self.text.trim_end_matches(is_json_space).len();
        let close = end.saturating_sub(1);
        let separator = if self.is_empty() { "" } else { "," };
        self.text
            .to_mut()
            .insert_str(close, &format!("{separator}{entry}"));
        self.parsed = OnceLock::new();
    }

    /// Removes `key`, returning its value. The object is written anew, compact, each other
    /// value keeping its text; without `key` nothing changes.
    pub fn remove(&mut self, key: &str) -> Option<Value> {
        let value = self.get(key).cloned()?;
        self.rewrite(|entries| entries.retain(|(k, _)| k != key));
        Some(value)
    }

    /// Writes the object anew from its entries (key, value text) as `edit` leaves them.
    fn rewrite(&mut self, edit: impl FnOnce(&mut Vec<(String, String)>)) {
        let Ok(Entries(entries)) = serde_json::from_str::<Entries<'_>>(&self.text) else {
            return;
        };
        let mut entries: Vec<(String, String)> = entries
            .into_iter()
            .map(|(k, v)| (k, v.get().to_owned()))
            .collect();
        edit(&mut entries);
        let mut text = String::from("{");
        for (i, (key, value)) in entries.into_iter().enumerate() {
            if i > 0 {
                text.push(',');
            }
            text.push_str(&Value::String(key).to_string());
            text.push(':');
            text.push_str(&value);
        }
        text.push('}');
        *self = Self::unparsed(text);
    }
}

impl Default for Metadata {
    /// The empty object, `{}`.
    fn default() -> Self {
        // Parsed when asked, like any other text: filling the cell costs each event read
        // without metadata more than parsing `{}` costs the rare caller that asks.
        Self {
            text: Cow::Borrowed("{}"),
            parsed: OnceLock::new(),
        }
    }
}

impl Clone for Metadata {
    fn clone(&self) -> Self {
        Self {
            text: self.text.clone(),
            parsed: self.parsed.clone(),
        }
    }
}

impl PartialEq for Metadata {
    /// Equal when the texts are equal, byte for byte.
    fn eq(&self, other: &Self) -> bool {
        self.text == other.text
    }
}

impl Eq for Metadata {}

impl std::hash::Hash for Metadata {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.text.hash(state);
    }
}

impl fmt::Debug for Metadata {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl fmt::Display for Metadata {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl From<Map<String, Value>> for Metadata {
    /// The map's compact JSON text (keys sorted).
    fn from(map: Map<String, Value>) -> Self {
        if map.is_empty() {
            return Self::default();
        }
        Self {
            text: Cow::Owned(Value::Object(map.clone()).to_string()),
            parsed: OnceLock::from(map),
        }
    }
}

impl std::ops::Index<&str> for Metadata {
    type Output = Value;

    /// The value of `key`, or [`Value::Null`] when there is none (as `serde_json::Value`
    /// indexes).
    fn index(&self, key: &str) -> &Value {
        static NULL: Value = Value::Null;
        self.get(key).unwrap_or(&NULL)
    }
}

impl PartialEq<Map<String, Value>> for Metadata {
    /// Equal when the parsed object equals `other`, whatever the text's key order and spacing.
    fn eq(&self, other: &Map<String, Value>) -> bool {
        self.as_map() == other
    }
}

fn is_json_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\n' | '\r')
}

/// Whether `text` has the shape of an object's text, `{` … `}` with JSON spacing around it:
/// the only check metadata read back from a store gets (it was checked in full on append).
pub(crate) fn is_object_text(text: &str) -> bool {
    let trimmed = text.trim_matches(is_json_space);
    trimmed.starts_with('{') && trimmed.ends_with('}')
}

/// How deep arrays and objects nest in the JSON text `text` (strings skipped). Counts without
/// recursion, so a hostile text cannot exhaust the stack.
pub(crate) fn depth(text: &str) -> usize {
    let bytes = text.as_bytes();
    let (mut i, mut level, mut deepest) = (0, 0usize, 0usize);
    while i < bytes.len() {
        match bytes[i] {
            b'"' => {
                i += 1;
                while i < bytes.len() && bytes[i] != b'"' {
                    i += if bytes[i] == b'\\' { 2 } else { 1 };
                }
            }
            b'[' | b'{' => {
                level += 1;
                deepest = deepest.max(level);
            }
            b']' | b'}' => level = level.saturating_sub(1),
            _ => {}
        }
        i += 1;
    }
    deepest
}

const DUPLICATE_KEY: &str = "duplicate metadata key: ";

/// The key a [`Checked`] parse refused as given twice.
fn duplicate_key(error: &serde_json::Error) -> Option<String> {
    let message = error.to_string();
    let rest = message.strip_prefix(DUPLICATE_KEY)?;
    // `serde_json` appends " at line L column C".
    let end = rest.rfind(" at line ").unwrap_or(rest.len());
    serde_json::from_str(&rest[..end]).ok()
}

/// What a checked JSON value is: an object, or something else (named for messages). Its
/// parse refuses a key repeated in any object and numbers beyond a double, and keeps
/// nothing.
enum Checked {
    Object,
    Other(&'static str),
}

impl<'de> Deserialize<'de> for Checked {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct CheckedVisitor;
        impl<'de> Visitor<'de> for CheckedVisitor {
            type Value = Checked;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON value")
            }
            fn visit_bool<E>(self, _: bool) -> Result<Checked, E> {
                Ok(Checked::Other("a boolean"))
            }
            fn visit_i64<E>(self, _: i64) -> Result<Checked, E> {
                Ok(Checked::Other("a number"))
            }
            fn visit_u64<E>(self, _: u64) -> Result<Checked, E> {
                Ok(Checked::Other("a number"))
            }
            fn visit_f64<E>(self, _: f64) -> Result<Checked, E> {
                Ok(Checked::Other("a number"))
            }
            fn visit_str<E>(self, _: &str) -> Result<Checked, E> {
                Ok(Checked::Other("a string"))
            }
            fn visit_unit<E>(self) -> Result<Checked, E> {
                Ok(Checked::Other("null"))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Checked, A::Error> {
                while seq.next_element::<Checked>()?.is_some() {}
                Ok(Checked::Other("an array"))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Checked, A::Error> {
                let mut keys = HashSet::new();
                while let Some(key) = map.next_key::<String>()? {
                    if keys.contains(&key) {
                        return Err(de::Error::custom(format_args!(
                            "{DUPLICATE_KEY}{}",
                            Value::String(key)
                        )));
                    }
                    map.next_value::<Checked>()?;
                    keys.insert(key);
                }
                Ok(Checked::Object)
            }
        }
        deserializer.deserialize_any(CheckedVisitor)
    }
}

/// The entries of a checked JSON object, each value as its text.
struct Entries<'a>(Vec<(String, &'a RawValue)>);

impl<'de> Deserialize<'de> for Entries<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct EntriesVisitor;
        impl<'de> Visitor<'de> for EntriesVisitor {
            type Value = Entries<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut entries = Vec::new();
                while let Some(key) = map.next_key::<String>()? {
                    entries.push((key, map.next_value()?));
                }
                Ok(Entries(entries))
            }
        }
        deserializer.deserialize_map(EntriesVisitor)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn from_json_keeps_big_integers_doubles_key_order_and_spacing_byte_for_byte() {
        let text = "{ \"z\": 123456789012345678901234567890, \"a\": 0.1000000000000000055511151231257827,\n \"m\": [1E+2, -0.0, \"\\u00e9\"] }";
        let metadata = Metadata::from_json(text).expect("an object");
        assert_eq!(metadata.as_str(), text);
        assert_eq!(metadata.get("m"), Some(&json!([100.0, -0.0, "é"])));
        assert!(!metadata.is_empty());
    }

    #[test]
    fn from_json_refuses_what_is_not_one_object_without_repeated_keys() {
        let refused = |text: &str| Metadata::from_json(text).expect_err(text);
        assert_eq!(
            refused("[1]"),
            MetadataError::NotAnObject { kind: "an array" }
        );
        assert_eq!(
            refused(r#"{"a":{"b\"":1,"b\"":2}}"#),
            MetadataError::DuplicateKey {
                key: "b\"".to_owned()
            }
        );
        assert!(matches!(refused("{} {}"), MetadataError::Malformed { .. }));
        assert!(matches!(
            refused("{\"a\":1e400}"),
            MetadataError::Malformed { .. }
        ));
        let deep = format!("{{\"k\":{}{}}}", "[".repeat(64), "]".repeat(64));
        assert_eq!(
            refused(&deep),
            MetadataError::TooDeep {
                limit: MAX_METADATA_DEPTH
            }
        );
    }

    #[test]
    fn depth_counts_brackets_outside_strings_only() {
        assert_eq!(depth(r#"{"a":"[[[{{{\"","b":[{}]}"#), 3);
        assert_eq!(depth("{}"), 1);
    }

    #[test]
    fn insert_appends_a_new_key_keeping_the_text_and_replaces_an_old_one() {
        let mut metadata = Metadata::from_json("{ \"n\": 1.50 }").expect("an object");
        metadata.insert("k", &json!("v"));
        assert_eq!(metadata.as_str(), "{ \"n\": 1.50 ,\"k\":\"v\"}");
        metadata.insert("n", &json!(2));
        assert_eq!(metadata.as_str(), r#"{"n":2,"k":"v"}"#);
        let mut empty = Metadata::from_json(" { } ").expect("an object");
        assert!(empty.is_empty());
        empty.insert("a", &json!(1));
        assert_eq!(empty.as_str(), " { \"a\":1} ");
        assert_eq!(empty.remove("a"), Some(json!(1)));
        assert_eq!(empty.as_str(), "{}");
        Metadata::from_json(empty.as_str()).expect("still an object");
    }

    #[test]
    fn whatever_from_json_accepts_parses_and_stays_acceptable_after_insert_and_remove() {
        const SEED: &str = r#"{"a": [1, -2.5e3, {"b": null}], "c\"d": "é\u00e9", "n": 123456789012345678901234567890}"#;
        const PIECES: [&str; 14] = [
            "{", "}", "[", "]", "\"", ",", ":", "\\", " ", "1", "e", "-", "\"k\":1", "\u{0}",
        ];
        let mut rng = fastrand::Rng::with_seed(7);
        let mut accepted = 0;
        for _ in 0..20_000 {
            let mut text = SEED.to_owned();
            for _ in 0..rng.usize(1..4) {
                let at = rng.usize(..=text.len());
                if !text.is_char_boundary(at) {
                    continue;
                }
                if rng.bool() {
                    text.insert_str(at, PIECES[rng.usize(..PIECES.len())]);
                } else {
                    let end = (at + rng.usize(1..4)).min(text.len());
                    if text.is_char_boundary(end) {
                        text.replace_range(at..end, "");
                    }
                }
            }
            let Ok(mut metadata) = Metadata::from_json(text.as_str()) else {
                continue;
            };
            accepted += 1;
            assert_eq!(metadata.as_str(), text);
            let parsed: Map<String, Value> = serde_json::from_str(&text).expect(&text);
            assert_eq!(metadata.as_map(), &parsed, "{text}");
            let key = parsed.keys().next().cloned();
            metadata.insert("new", &json!([1, "x"]));
            let after = Metadata::from_json(metadata.as_str())
                .unwrap_or_else(|e| panic!("{metadata}: {e}"));
            assert_eq!(after.get("new"), Some(&json!([1, "x"])));
            if let Some(key) = key {
                metadata.remove(&key);
                let after = Metadata::from_json(metadata.as_str())
                    .unwrap_or_else(|e| panic!("{metadata}: {e}"));
                assert!(!after.contains_key(&key) || key == "new", "{text}");
            }
        }
        assert!(accepted > 1000, "only {accepted} texts were accepted");
    }

    #[test]
    fn reading_events_back_parses_no_metadata_until_a_key_is_asked_for() {
        use crate::{EventStore, ExpectedVersion, FileStore, MemoryStore, NewEvent};
        let event = || {
            NewEvent::new("E", 1, json!({}))
                .with_metadata_json(r#"{"k": 1}"#)
                .expect("an object")
        };
        let dir = tempfile::tempdir().expect("temporary directory");
        let file = FileStore::open(dir.path()).expect("open");
        let memory = MemoryStore::new();
        for store in [&file as &dyn EventStore, &memory] {
            store
                .append("s", ExpectedVersion::Any, vec![event()])
                .expect("append");
            let stored = store
                .read_all(1)
                .expect("read_all")
                .next()
                .expect("one event")
                .expect("readable");
            assert!(!stored.metadata.is_parsed());
            assert_eq!(stored.metadata_value("k"), Some(&json!(1)));
            assert!(stored.metadata.is_parsed());
        }
    }

    #[test]
    fn metadata_from_a_map_is_its_compact_json_and_indexes_missing_keys_as_null() {
        let mut map = Map::new();
        map.insert("b".to_owned(), json!(2));
        map.insert("a".to_owned(), json!(1));
        let metadata = Metadata::from(map.clone());
        assert_eq!(metadata.as_str(), r#"{"a":1,"b":2}"#);
        assert_eq!(metadata, map);
        assert_eq!(metadata["nope"], Value::Null);
        assert_eq!(Metadata::default().as_str(), "{}");
        assert_eq!(format!("{metadata:?}"), r#"{"a":1,"b":2}"#);
    }
}
