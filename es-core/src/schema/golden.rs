//! Golden fixtures: one sample payload per published `(tag, version)`, and what it becomes.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use serde_json::{json, Value};
use uuid::Uuid;

use crate::{DecodeError, Decoding, Event, StoredEvent, VersionInfo};

/// Why [`golden_fixtures`] failed. Its `Debug` is its message followed by each cause, so
/// `golden_fixtures(...).expect(...)` in a test prints something readable.
#[derive(thiserror::Error)]
#[non_exhaustive]
pub enum GoldenError {
    /// The fixture directory or a file in it could not be read.
    #[error("cannot read golden fixture {}", path.display())]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// A fixture file is not JSON.
    #[error("golden fixture {} is not JSON", path.display())]
    Malformed {
        /// The file.
        path: PathBuf,
        /// What `serde_json` reported.
        #[source]
        source: serde_json::Error,
    },
    /// Some decodable versions have no sample.
    #[error(
        "no golden sample for {}; save the payload of a real stored event of each as {}/<tag>.v<version>.json",
        missing.join(", "),
        dir.display()
    )]
    Missing {
        /// The fixture directory.
        dir: PathBuf,
        /// `tag vN` of each version without a sample.
        missing: Vec<String>,
    },
    /// A sample no longer decodes.
    #[error("golden fixture {} no longer decodes", path.display())]
    Decode {
        /// The file.
        path: PathBuf,
        /// The decode error.
        #[source]
        source: Box<DecodeError>,
    },
}

impl std::fmt::Debug for GoldenError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Display::fmt(self, f)?;
        let mut cause = std::error::Error::source(self);
        while let Some(source) = cause {
            write!(f, ": {source}")?;
            cause = source.source();
        }
        Ok(())
    }
}

/// Decodes the sample payload kept for every `(tag, version)` that `E` decodes, from files
/// `<dir>/<tag>.v<version>.json`, and returns each sample beside the current events it
/// becomes, as JSON for a snapshot assertion:
///
/// ```ignore
/// insta::assert_json_snapshot!(es_core::schema::golden_fixtures::<AccountEvent>("tests/fixtures/golden")?);
/// ```
///
/// A snapshot that changes means today's code reads an old payload differently: review it.
/// Every file in the directory is decoded, so a sample of a version the code dropped fails.
///
/// Versions start at 1. Every version of a typed chain and every raw upcaster's input needs a
/// sample; a removed event type or version (`removed(...)` on the enum) needs none, since it
/// decodes into no event whatever its payload. A sample given for one anyway, as
/// `<tag>.v<version>.json`, is decoded like the others and pinned with `"current": []`.
///
/// # Errors
/// [`GoldenError::Missing`] listing every version without a sample; [`GoldenError::Decode`]
/// for a sample that no longer decodes; I/O and JSON errors naming the file.
pub fn golden_fixtures<E: Event>(dir: impl AsRef<Path>) -> Result<Value, GoldenError> {
    let dir = dir.as_ref();
    let io = |path: &Path| {
        let path = path.to_owned();
        move |source| GoldenError::Io { path, source }
    };
    let mut files = BTreeSet::new();
    for entry in std::fs::read_dir(dir).map_err(io(dir))? {
        let path = entry.map_err(io(dir))?.path();
        if path.extension().is_some_and(|e| e == "json") {
            files.insert(path);
        }
    }
    let mut missing = Vec::new();
    // A removed version decodes into no event whatever its payload: there is nothing to pin.
    let needs_sample = |info: &&VersionInfo| {
        !matches!(
            info.decoding,
            Decoding::Removed | Decoding::RemovedEveryVersion
        )
    };
    for info in E::decodable_versions().iter().filter(needs_sample) {
        if !files.contains(&dir.join(file_name(info.tag, info.version))) {
            missing.push(format!("{} v{}", info.tag, info.version));
        }
    }
    if !missing.is_empty() {
        return Err(GoldenError::Missing {
            dir: dir.to_owned(),
            missing,
        });
    }
    let mut rows = Vec::new();
    for path in files {
        let Some((tag, version)) = parse_file_name(&path) else {
            continue;
        };
        let text = std::fs::read(&path).map_err(io(&path))?;
        let payload: Value =
            serde_json::from_slice(&text).map_err(|source| GoldenError::Malformed {
                path: path.clone(),
                source,
            })?;
        let stored = StoredEvent {
            position: 0,
            stream_id: format!("golden:{}", path.display()),
            stream_version: 0,
            event_id: Uuid::nil(),
            event_type: tag.clone(),
            schema_version: version,
            payload: payload.to_string().into_bytes(),
            metadata: crate::Metadata::default(),
            recorded_at: SystemTime::UNIX_EPOCH,
        };
        let decoded = E::decode(&stored).map_err(|source| GoldenError::Decode {
            path: path.clone(),
            source: Box::new(source),
        })?;
        let current: Vec<Value> = decoded
            .into_iter()
            .map(|event| {
                let payload = event
                    .encode_payload()
                    .ok()
                    .and_then(|bytes| serde_json::from_slice::<Value>(&bytes).ok())
                    .unwrap_or(Value::Null);
                json!({ "type": event.event_type(), "version": event.event_version(), "payload": payload })
            })
            .collect();
        rows.push(json!({
            "sample": { "type": tag, "version": version, "payload": payload },
            "current": current,
        }));
    }
    Ok(Value::Array(rows))
}

fn file_name(tag: &str, version: u32) -> String {
    format!("{tag}.v{version}.json")
}

fn parse_file_name(path: &Path) -> Option<(String, u32)> {
    let stem = path.file_stem()?.to_str()?;
    let (tag, version) = stem.rsplit_once(".v")?;
    Some((tag.to_owned(), version.parse().ok()?))
}
