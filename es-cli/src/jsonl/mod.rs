//! The JSON Lines format of `export` and `import`; `docs/jsonl.md` documents it.
//!
//! Payloads and metadata pass through byte for byte in both directions: they are kept as raw
//! JSON text (`serde_json::value::RawValue`, `es_core::Metadata`), never parsed into values.

mod export_line;
mod fields;
mod import_line;
mod time;

pub use export_line::ExportedEvent;
pub use import_line::{parse_line, ImportedEvent, SCHEMA_VERSION_KEYS};
pub use time::format_time;
