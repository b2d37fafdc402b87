//! Compatibility of one schema version with the next, in Schema Registry terms.

use std::collections::BTreeSet;
use std::fmt;

use serde_json::Value;

/// How two consecutive versions of an event's payload relate, as Schema Registry names it.
///
/// *Backward*: code that knows only the new version can read payloads of the old one as they
/// are. *Forward*: code that knows only the old version can read payloads of the new one. With
/// upcasters, a backward-incompatible change is safe for replay (the upcaster converts old
/// payloads); forward incompatibility matters to consumers still running older code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compatibility {
    /// Backward and forward compatible.
    Full,
    /// Only backward compatible.
    Backward,
    /// Only forward compatible.
    Forward,
    /// Neither.
    None,
}

impl fmt::Display for Compatibility {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Compatibility::Full => "FULL (backward and forward compatible)",
            Compatibility::Backward => {
                "BACKWARD (new code reads old payloads; older code cannot read new ones)"
            }
            Compatibility::Forward => {
                "FORWARD (older code reads new payloads; old payloads need the upcaster)"
            }
            Compatibility::None => {
                "NONE (neither direction reads as is; old payloads need the upcaster)"
            }
        })
    }
}

/// One difference between the top-level fields of two versions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FieldChange {
    /// A field that may be absent (it has a default or is an `Option`).
    AddedOptional(String),
    /// A field every payload must have.
    AddedRequired(String),
    /// A field the new version no longer has.
    Removed {
        /// The field.
        name: String,
        /// Whether the old version required it.
        was_required: bool,
    },
    /// A field whose schema changed.
    ChangedType {
        /// The field.
        name: String,
        /// Its old schema, compact.
        from: String,
        /// Its new schema, compact.
        to: String,
    },
    /// An optional field became required.
    BecameRequired(String),
    /// A required field became optional.
    BecameOptional(String),
}

impl fmt::Display for FieldChange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FieldChange::AddedOptional(name) => write!(f, "added optional field `{name}`"),
            FieldChange::AddedRequired(name) => write!(f, "added required field `{name}`"),
            FieldChange::Removed { name, was_required } => write!(
                f,
                "removed {} field `{name}`",
                if *was_required {
                    "required"
                } else {
                    "optional"
                }
            ),
            FieldChange::ChangedType { name, from, to } => {
                write!(f, "changed type of `{name}`: {from} → {to}")
            }
            FieldChange::BecameRequired(name) => write!(f, "field `{name}` became required"),
            FieldChange::BecameOptional(name) => write!(f, "field `{name}` became optional"),
        }
    }
}

/// The field changes from `previous` to `next` (both normalized schemas) and the resulting
/// compatibility.
#[must_use]
pub fn compare(previous: &Value, next: &Value) -> (Vec<FieldChange>, Compatibility) {
    let (old_fields, old_required) = fields(previous);
    let (new_fields, new_required) = fields(next);
    let mut changes = Vec::new();
    let names: BTreeSet<&String> = old_fields.keys().chain(new_fields.keys()).collect();
    for name in names {
        match (old_fields.get(name), new_fields.get(name)) {
            (None, Some(_)) if new_required.contains(name) => {
                changes.push(FieldChange::AddedRequired(name.clone()));
            }
            (None, Some(_)) => changes.push(FieldChange::AddedOptional(name.clone())),
            (Some(_), None) => changes.push(FieldChange::Removed {
                name: name.clone(),
                was_required: old_required.contains(name),
            }),
            (Some(old), Some(new)) => {
                if old != new {
                    changes.push(FieldChange::ChangedType {
                        name: name.clone(),
                        from: compact(old),
                        to: compact(new),
                    });
                }
                match (old_required.contains(name), new_required.contains(name)) {
                    (false, true) => changes.push(FieldChange::BecameRequired(name.clone())),
                    (true, false) => changes.push(FieldChange::BecameOptional(name.clone())),
                    _ => {}
                }
            }
            (None, None) => {}
        }
    }
    let closed = |schema: &Value| schema.get("additionalProperties") == Some(&Value::Bool(false));
    let backward = changes.iter().all(|c| match c {
        FieldChange::AddedOptional(_) | FieldChange::BecameOptional(_) => true,
        // Old payloads still carry the field: fine unless the new version rejects unknown
        // fields (`#[serde(deny_unknown_fields)]`).
        FieldChange::Removed { .. } => !closed(next),
        FieldChange::AddedRequired(_)
        | FieldChange::ChangedType { .. }
        | FieldChange::BecameRequired(_) => false,
    });
    let forward = changes.iter().all(|c| match c {
        FieldChange::AddedOptional(_) | FieldChange::AddedRequired(_) => !closed(previous),
        FieldChange::BecameRequired(_) => true,
        FieldChange::Removed { was_required, .. } => !was_required,
        FieldChange::ChangedType { .. } | FieldChange::BecameOptional(_) => false,
    });
    let compatibility = match (backward, forward) {
        (true, true) => Compatibility::Full,
        (true, false) => Compatibility::Backward,
        (false, true) => Compatibility::Forward,
        (false, false) => Compatibility::None,
    };
    (changes, compatibility)
}

fn fields(schema: &Value) -> (serde_json::Map<String, Value>, BTreeSet<String>) {
    let properties = schema
        .get("properties")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    let required = schema
        .get("required")
        .and_then(Value::as_array)
        .map(|names| {
            names
                .iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default();
    (properties, required)
}

/// A field schema in one short line: its `type` when that says it all, else compact JSON.
fn compact(schema: &Value) -> String {
    let text = match schema.get("type") {
        Some(Value::String(t)) if schema.as_object().is_some_and(|o| o.len() == 1) => t.clone(),
        _ => schema.to_string(),
    };
    if text.chars().count() > 80 {
        let cut: String = text.chars().take(77).collect();
        format!("{cut}...")
    } else {
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[allow(clippy::needless_pass_by_value)] // called with `json!(...)` inline
    fn object(props: Value, required: &[&str]) -> Value {
        json!({ "type": "object", "properties": props, "required": required })
    }

    #[test]
    fn added_optional_field_is_fully_compatible() {
        let (changes, c) = compare(
            &object(json!({ "a": { "type": "string" } }), &["a"]),
            &object(
                json!({ "a": { "type": "string" }, "b": { "type": "integer" } }),
                &["a"],
            ),
        );
        assert_eq!(changes, [FieldChange::AddedOptional("b".into())]);
        assert_eq!(c, Compatibility::Full);
    }

    #[test]
    fn added_required_field_is_forward_only() {
        let (changes, c) = compare(
            &object(json!({ "a": { "type": "string" } }), &["a"]),
            &object(
                json!({ "a": { "type": "string" }, "b": { "type": "integer" } }),
                &["a", "b"],
            ),
        );
        assert_eq!(changes, [FieldChange::AddedRequired("b".into())]);
        assert_eq!(c, Compatibility::Forward);
    }

    #[test]
    fn removed_required_field_is_backward_only() {
        let (changes, c) = compare(
            &object(
                json!({ "a": { "type": "string" }, "b": { "type": "integer" } }),
                &["a", "b"],
            ),
            &object(json!({ "a": { "type": "string" } }), &["a"]),
        );
        assert_eq!(
            changes,
            [FieldChange::Removed {
                name: "b".into(),
                was_required: true
            }]
        );
        assert_eq!(c, Compatibility::Backward);
    }

    #[test]
    fn changed_type_is_incompatible_both_ways() {
        let (changes, c) = compare(
            &object(json!({ "a": { "type": "integer" } }), &["a"]),
            &object(json!({ "a": { "type": "string" } }), &["a"]),
        );
        assert_eq!(
            changes,
            [FieldChange::ChangedType {
                name: "a".into(),
                from: "integer".into(),
                to: "string".into()
            }]
        );
        assert_eq!(c, Compatibility::None);
        assert_eq!(
            changes[0].to_string(),
            "changed type of `a`: integer → string"
        );
    }
}
