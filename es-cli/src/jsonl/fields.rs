//! A JSON object read one key at a time, each value kept as its raw text: for lines whose
//! keys must be known, given once, and named in every error.

use std::fmt;

use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde::Deserialize;
use serde_json::value::RawValue;

/// The keys of one object, in order, with their values as written.
pub struct Fields<'a> {
    entries: Vec<(String, &'a RawValue)>,
}

impl<'a> Fields<'a> {
    /// Reads `text` as one JSON object whose keys are all different.
    ///
    /// # Errors
    /// A message for text that is not JSON, not an object, or repeats a key.
    pub fn parse(text: &'a str) -> Result<Self, String> {
        let entries = serde_json::from_str::<Entries<'a>>(text)
            .map_err(|e| e.to_string())?
            .0;
        Ok(Self { entries })
    }

    /// Whether `key` is present.
    pub fn has(&self, key: &str) -> bool {
        self.entries.iter().any(|(k, _)| k == key)
    }

    /// The value of `key`, if present.
    pub fn take(&self, key: &str) -> Option<&'a RawValue> {
        self.entries.iter().find(|(k, _)| k == key).map(|(_, v)| *v)
    }

    /// The value of `key`, which must be present.
    pub fn required(&self, key: &str) -> Result<&'a RawValue, String> {
        self.take(key)
            .ok_or_else(|| format!("the key `{key}` is missing"))
    }

    /// Fails on the first key that is not one of `known`, suggesting the known key it
    /// differs from only in case or `_`.
    pub fn only_known_keys(&self, known: &[&str]) -> Result<(), String> {
        let Some((key, _)) = self
            .entries
            .iter()
            .find(|(k, _)| !known.contains(&k.as_str()))
        else {
            return Ok(());
        };
        let folded = |k: &str| k.replace('_', "").to_lowercase();
        let hint = known
            .iter()
            .find(|k| folded(k) == folded(key))
            .map(|k| format!(" (did you mean `{k}`?)"))
            .unwrap_or_default();
        Err(format!(
            "unknown key `{key}`{hint}; the keys of this format are {}",
            known
                .iter()
                .map(|k| format!("`{k}`"))
                .collect::<Vec<_>>()
                .join(", ")
        ))
    }
}

/// What a raw value is, for messages: "a string", "an object".
pub fn kind(raw: &RawValue) -> &'static str {
    match raw.get().as_bytes().first() {
        Some(b'"') => "a string",
        Some(b'{') => "an object",
        Some(b'[') => "an array",
        Some(b't' | b'f') => "a boolean",
        Some(b'n') => "null",
        _ => "a number",
    }
}

/// The string value of `key`.
pub fn string(key: &str, raw: &RawValue) -> Result<String, String> {
    serde_json::from_str(raw.get())
        .map_err(|_| format!("`{key}` must be a string, not {}", kind(raw)))
}

/// The unsigned integer value of `key`.
pub fn integer(key: &str, raw: &RawValue) -> Result<u64, String> {
    let text = raw.get();
    if kind(raw) != "a number" {
        return Err(format!("`{key}` must be an integer, not {}", kind(raw)));
    }
    text.parse::<u64>().map_err(|_| {
        format!("`{key}` must be a whole number from 0 to 18446744073709551615, not {text}")
    })
}

/// The entries of a JSON object, refusing a repeated key.
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
                let mut entries: Vec<(String, &'de RawValue)> = Vec::new();
                while let Some(key) = map.next_key::<String>()? {
                    if entries.iter().any(|(k, _)| *k == key) {
                        return Err(de::Error::custom(format_args!(
                            "the key `{key}` is given twice"
                        )));
                    }
                    let value = map.next_value()?;
                    entries.push((key, value));
                }
                Ok(Entries(entries))
            }
        }
        deserializer.deserialize_map(EntriesVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_repeated_key_is_an_error() {
        assert!(Fields::parse(r#"{"a":1,"a":2}"#).is_err());
    }
}
