//! A JSON object read one key at a time, each value kept as its raw text: for lines and
//! metadata whose keys must be known, given once, and named in every error.

use std::fmt;

use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::{Map, Value};

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

/// A JSON object read into the metadata map, refusing what the map would change without a
/// trace: a key given twice (at any depth), and integers beyond 64 bits, which it would keep
/// only as the nearest double.
pub fn metadata_map(raw: &str) -> Result<Map<String, Value>, String> {
    if let Some(number) = integer_beyond_64_bits(raw) {
        return Err(format!(
            "the metadata holds the integer {number}, which metadata keeps only to 64 bits; write it as a string"
        ));
    }
    match serde_json::from_str::<Strict>(raw) {
        Ok(Strict(Value::Object(map))) => Ok(map),
        Ok(Strict(other)) => Err(format!(
            "the metadata must be an object, not {}",
            kind_of_value(&other)
        )),
        Err(e) => Err(format!("bad metadata: {e}")),
    }
}

fn kind_of_value(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// The first integer literal in the JSON text `raw` (outside strings) that fits neither
/// `i64` nor `u64`.
fn integer_beyond_64_bits(raw: &str) -> Option<&str> {
    let bytes = raw.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'"' => {
                i += 1;
                while i < bytes.len() && bytes[i] != b'"' {
                    i += if bytes[i] == b'\\' { 2 } else { 1 };
                }
                i += 1;
            }
            b'-' | b'0'..=b'9' => {
                let start = i;
                while i < bytes.len()
                    && matches!(bytes[i], b'-' | b'+' | b'.' | b'e' | b'E' | b'0'..=b'9')
                {
                    i += 1;
                }
                let number = &raw[start..i];
                let integer = !number.contains(['.', 'e', 'E']);
                if integer && number.parse::<i64>().is_err() && number.parse::<u64>().is_err() {
                    return Some(number);
                }
            }
            _ => i += 1,
        }
    }
    None
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

/// A JSON value whose objects never repeat a key.
struct Strict(Value);

impl<'de> Deserialize<'de> for Strict {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct StrictVisitor;
        impl<'de> Visitor<'de> for StrictVisitor {
            type Value = Strict;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON value")
            }
            fn visit_bool<E>(self, v: bool) -> Result<Strict, E> {
                Ok(Strict(Value::Bool(v)))
            }
            fn visit_i64<E>(self, v: i64) -> Result<Strict, E> {
                Ok(Strict(Value::from(v)))
            }
            fn visit_u64<E>(self, v: u64) -> Result<Strict, E> {
                Ok(Strict(Value::from(v)))
            }
            fn visit_f64<E>(self, v: f64) -> Result<Strict, E> {
                Ok(Strict(Value::from(v)))
            }
            fn visit_str<E>(self, v: &str) -> Result<Strict, E> {
                Ok(Strict(Value::String(v.to_owned())))
            }
            fn visit_string<E>(self, v: String) -> Result<Strict, E> {
                Ok(Strict(Value::String(v)))
            }
            fn visit_unit<E>(self) -> Result<Strict, E> {
                Ok(Strict(Value::Null))
            }
            fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<Strict, A::Error> {
                let mut items = Vec::new();
                while let Some(Strict(item)) = seq.next_element()? {
                    items.push(item);
                }
                Ok(Strict(Value::Array(items)))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Strict, A::Error> {
                let mut object = Map::new();
                while let Some(key) = map.next_key::<String>()? {
                    if object.contains_key(&key) {
                        return Err(de::Error::custom(format_args!(
                            "the key `{key}` is given twice"
                        )));
                    }
                    let Strict(value) = map.next_value()?;
                    object.insert(key, value);
                }
                Ok(Strict(Value::Object(object)))
            }
        }
        deserializer.deserialize_any(StrictVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_repeated_key_is_an_error_at_any_depth() {
        assert!(Fields::parse(r#"{"a":1,"a":2}"#).is_err());
        let error = metadata_map(r#"{"x":{"b":1,"b":2}}"#).expect_err("repeated key");
        assert!(error.contains("`b` is given twice"), "{error}");
    }

    #[test]
    fn integers_beyond_64_bits_are_found_outside_strings_only() {
        assert_eq!(
            integer_beyond_64_bits(
                r#"{"a":"123456789012345678901234567890","b":[-9223372036854775809]}"#
            ),
            Some("-9223372036854775809")
        );
        assert_eq!(
            integer_beyond_64_bits(
                r#"{"a\"":"\\","b":18446744073709551615,"c":1e400,"d":-9223372036854775808}"#
            ),
            None
        );
    }
}
