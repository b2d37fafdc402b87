//! Reduces a JSON Schema to the shape of the data it describes.

use serde_json::{Map, Value};

/// Keywords that describe a schema to people, not the data it accepts.
const ANNOTATIONS: &[&str] = &[
    "title",
    "description",
    "examples",
    "$comment",
    "$schema",
    "$id",
    "$defs",
    "definitions",
    "deprecated",
    "readOnly",
    "writeOnly",
];

/// The schema with every local `$ref` inlined and every annotation (titles, descriptions,
/// examples, the `$defs` table) removed: what is left depends only on the shape of the data,
/// not on Rust type names or doc comments. A type that contains itself is cut at the
/// recursion with `{"$recursive": "<name>"}`.
///
/// # Examples
/// ```
/// use es_core::schema::normalize;
/// use serde_json::json;
/// let schema = json!({
///     "title": "Deposited",
///     "type": "object",
///     "properties": { "money": { "$ref": "#/$defs/Money", "description": "how much" } },
///     "$defs": { "Money": { "type": "integer", "title": "Money" } }
/// });
/// assert_eq!(
///     normalize(&schema),
///     json!({ "type": "object", "properties": { "money": { "type": "integer" } } })
/// );
/// ```
#[must_use]
pub fn normalize(schema: &Value) -> Value {
    let empty = Map::new();
    let defs = schema
        .get("$defs")
        .or_else(|| schema.get("definitions"))
        .and_then(Value::as_object)
        .unwrap_or(&empty);
    inline(schema, defs, &mut Vec::new())
}

fn inline(value: &Value, defs: &Map<String, Value>, stack: &mut Vec<String>) -> Value {
    match value {
        Value::Object(object) => {
            let mut out = Map::new();
            if let Some(name) = object
                .get("$ref")
                .and_then(Value::as_str)
                .and_then(local_ref)
            {
                if stack.iter().any(|n| n == name) {
                    out.insert("$recursive".into(), Value::String(name.to_owned()));
                } else if let Some(target) = defs.get(name) {
                    stack.push(name.to_owned());
                    if let Value::Object(resolved) = inline(target, defs, stack) {
                        out.extend(resolved);
                    }
                    stack.pop();
                }
            }
            for (key, v) in object {
                let resolved_ref = key == "$ref"
                    && v.as_str()
                        .and_then(local_ref)
                        .is_some_and(|n| defs.contains_key(n));
                if resolved_ref || ANNOTATIONS.contains(&key.as_str()) {
                    continue;
                }
                // Under `properties`, keys are field names, never annotations.
                let child = if key == "properties" {
                    properties(v, defs, stack)
                } else {
                    inline(v, defs, stack)
                };
                out.insert(key.clone(), child);
            }
            Value::Object(out)
        }
        Value::Array(items) => Value::Array(items.iter().map(|v| inline(v, defs, stack)).collect()),
        other => other.clone(),
    }
}

fn properties(value: &Value, defs: &Map<String, Value>, stack: &mut Vec<String>) -> Value {
    match value {
        Value::Object(fields) => Value::Object(
            fields
                .iter()
                .map(|(name, schema)| (name.clone(), inline(schema, defs, stack)))
                .collect(),
        ),
        other => inline(other, defs, stack),
    }
}

fn local_ref(reference: &str) -> Option<&str> {
    reference
        .strip_prefix("#/$defs/")
        .or_else(|| reference.strip_prefix("#/definitions/"))
}
