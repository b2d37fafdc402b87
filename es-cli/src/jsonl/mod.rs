//! The JSON Lines format of `export` and `import`; `docs/jsonl.md` documents it.
//!
//! Payloads pass through byte for byte in both directions: they are kept as raw JSON text
//! (`serde_json::value::RawValue`), never parsed into values. Metadata is a JSON object in
//! the stores, kept by value.

mod export_line;
mod fields;
mod import_line;
mod time;

pub use export_line::ExportedEvent;
pub use import_line::{parse_line, ImportedEvent, SCHEMA_VERSION_KEYS};
pub use time::format_time;
