//! The schema lock: every published `(tag, version)` and its schema, checked in a test.

use std::collections::BTreeSet;
use std::path::Path;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::compat::{compare, Compatibility, FieldChange};
use super::lock_report::{LockError, LockOutcome, LockProblem};
use super::{fingerprint_value, normalize, rollout};
use crate::Event;
use crate::{ChainLink, Decoding};

/// Set this environment variable (to anything but `0` or empty) to accept new versions into
/// the lock file, in the spirit of `INSTA_UPDATE` and `TRYBUILD=overwrite`. Ignored when `CI`
/// is set: a lock is updated by a person who reviews the diff, never by a build.
pub const UPDATE_ENV: &str = "ES_UPDATE_LOCK";

/// 2 added `written` and `read_newer` to entries; a lock of format 1 still reads, each chain
/// taken to write its latest version, as every release before `write_as` did.
/// 3 added `removed`; a lock of format 1 or 2 still reads, its removed event types taken from
/// the entries that decode as `removed (every version)` (the only ones it could know of).
const FORMAT: u32 = 3;

/// How an entry of a tag removed at every version decodes (`removed("Tag")`).
const REMOVED_EVERY_VERSION: &str = "removed (every version)";

/// The lock file: sorted, pretty JSON that diffs well in review.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct LockFile {
    /// The lock file's format version.
    pub format: u32,
    /// Every published `(tag, version)`, sorted by tag then version.
    pub events: Vec<LockEntry>,
    /// The event types skipped at every stored version on purpose (`removed("Tag")` on the
    /// enum), sorted: stored events of these types decode into no event, so deleting the
    /// attribute, or decoding the type again, is a change the check reports. (A single removed
    /// version, `removed(("Tag", 2))`, is an entry of [`events`](LockFile::events) that decodes
    /// as `removed`.) Absent when empty, and in locks of format 1 and 2.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub removed: Vec<String>,
}

/// A lock file as read: its entries, and the event types it records as removed at every
/// version.
struct Locked {
    /// The lock file's format version.
    format: u32,
    entries: Vec<LockEntry>,
    removed: BTreeSet<String>,
}

impl From<LockFile> for Locked {
    fn from(file: LockFile) -> Self {
        let removed = if file.format < 3 {
            file.events
                .iter()
                .filter(|e| e.decoding == REMOVED_EVERY_VERSION)
                .map(|e| e.tag.clone())
                .collect()
        } else {
            file.removed.into_iter().collect()
        };
        Self {
            format: file.format,
            entries: file.events,
            removed,
        }
    }
}

/// One published `(tag, version)`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct LockEntry {
    /// The stored type tag.
    pub tag: String,
    /// The stored schema version.
    pub version: u32,
    /// [`fingerprint`](super::fingerprint) of the schema.
    pub fingerprint: String,
    /// How the code decodes it: `typed`, `raw upcast by <fn>`, `removed`.
    #[serde(default = "typed")]
    pub decoding: String,
    /// The payload's JSON Schema, [`normalize`]d to its data shape.
    pub schema: Value,
    /// Whether this is the version its chain writes (`NewEvent::encode`): the latest, or the
    /// one named by `write_as`. Absent (false) in a lock of format 1.
    #[serde(default, skip_serializing_if = "is_false")]
    pub written: bool,
    /// Whether this version, as the latest of its chain, reads newer versions of its tag that
    /// fit it (`read_newer`).
    #[serde(default, skip_serializing_if = "is_false")]
    pub read_newer: bool,
}

#[allow(clippy::trivially_copy_pass_by_ref)] // serde's `skip_serializing_if` passes a reference
fn is_false(value: &bool) -> bool {
    !*value
}

fn typed() -> String {
    "typed".to_owned()
}

/// What the code decodes, one row per `(tag, version)`.
struct Decodable {
    entry: LockEntry,
    decoding: Decoding,
    /// Whether the code states the stored shape (a version struct, or a raw upcaster with
    /// `schema = Type`), so the lock's schema can be checked against it.
    states_shape: bool,
    /// The current version its chain decodes into: identifies the chain (typed only).
    head: Option<(&'static str, u32)>,
    /// The link it upcasts from, if any: `(tag, version, normalized schema)`.
    previous: Option<(&'static str, u32, Value)>,
}

/// Compares every `(tag, version)` that `E` decodes, with its JSON Schema, against the lock
/// file at `path` (relative paths are relative to the current directory, which `cargo test`
/// sets to the package root).
///
/// It fails, naming tag, version and the exact difference, when a published version's schema
/// changed, when a published version no longer decodes, when a tag or version removed on
/// purpose (`removed(...)` on the enum) is no longer mentioned or a tag removed at every
/// version is now removed at some versions only, or when a new version has no
/// upcast path from its predecessor. A new removal, and a removed tag decoded again, are
/// changes to accept like new versions. New versions make it fail too, with a compatibility note each,
/// until accepted by running the test with `ES_UPDATE_LOCK=1` (see [`UPDATE_ENV`]). A missing
/// lock file fails as "no lock file yet" (one line, not every version as new), and is
/// created the same way, with the folders that lead to it.
///
/// # Errors
/// [`LockError::Mismatch`] listing every problem; [`LockError::Io`] or
/// [`LockError::Malformed`] when the lock file cannot be used; [`LockError::NewerFormat`] for
/// a lock written by a newer release.
///
/// # Examples
/// ```
/// # use es_core::{Event, schema::check_lock};
/// # use schemars::JsonSchema;
/// # use serde::{Deserialize, Serialize};
/// #[derive(Serialize, Deserialize, JsonSchema, Event)]
/// #[event(name = "Deposited", version = 1)]
/// struct Deposited { amount: u64 }
///
/// # let dir = std::env::temp_dir().join(format!("es-lock-doc-{}", std::process::id()));
/// # std::fs::create_dir_all(&dir).unwrap();
/// # let path = dir.join("events.lock.json");
/// # std::fs::write(&path, r#"{"format":1,"events":[]}"#).unwrap();
/// // In a test: `check_lock::<AccountEvent>("events.lock.json").unwrap();`
/// let error = check_lock::<Deposited>(&path).unwrap_err();
/// assert!(error.to_string().contains("+ Deposited v1 is new"));
/// # std::fs::remove_dir_all(&dir).unwrap();
/// ```
pub fn check_lock<E: Event>(path: impl AsRef<Path>) -> Result<LockOutcome, LockError> {
    check(
        path.as_ref(),
        update_requested(),
        &decodable::<E>(),
        E::CHAINS,
    )
}

/// [`check_lock`] that accepts new versions whatever the environment says, as
/// `ES_UPDATE_LOCK=1` does; problems with published versions still fail.
///
/// # Errors
/// As [`check_lock`], except that new versions alone are not an error.
pub fn update_lock<E: Event>(path: impl AsRef<Path>) -> Result<LockOutcome, LockError> {
    check(path.as_ref(), true, &decodable::<E>(), E::CHAINS)
}

fn check(
    path: &Path,
    accept_new: bool,
    current: &[Decodable],
    chains: &[&'static ChainLink],
) -> Result<LockOutcome, LockError> {
    let (locked, exists) = match read_lock(path)? {
        Some(locked) => (locked, true),
        None => (
            Locked {
                format: FORMAT,
                entries: Vec::new(),
                removed: BTreeSet::new(),
            },
            false,
        ),
    };
    let (mut problems, mut changes) = check_published(&locked, current);
    let (unlinked, mut new_versions) = check_unpublished(&locked.entries, current);
    let (forgotten, removal_changes) = check_removed(&locked, current);
    if !exists && (!new_versions.is_empty() || !removal_changes.is_empty()) {
        new_versions = vec![LockProblem::NoLockFile {
            versions: new_versions.len(),
        }];
    } else {
        new_versions.extend(removal_changes);
    }
    let (unsafe_rollouts, rollout_changes) = rollout::check(&locked.entries, chains);
    problems.extend(unlinked);
    problems.extend(forgotten);
    problems.extend(unsafe_rollouts);
    changes.extend(new_versions);
    changes.extend(rollout_changes);
    let old_format = exists && locked.format < FORMAT;
    if problems.is_empty() && changes.is_empty() && !(old_format && accept_new) {
        return Ok(LockOutcome::Unchanged);
    }
    let only_new_versions = problems.is_empty();
    if only_new_versions && accept_new {
        let mut notes: Vec<String> = changes.iter().map(ToString::to_string).collect();
        if old_format {
            notes.push(format!(
                "~ lock file format {} rewritten as format {FORMAT}",
                locked.format
            ));
        }
        write_lock(path, &updated_lock(&locked.entries, current))?;
        let done = if exists { "updated" } else { "created" };
        eprintln!("schema lock {} {done}:", path.display());
        for line in &notes {
            eprintln!("  {line}");
        }
        return Ok(LockOutcome::Updated { notes });
    }
    problems.extend(changes);
    Err(LockError::Mismatch {
        path: path.to_owned(),
        problems,
        only_new_versions,
    })
}

/// Each published entry against the code: problems, and changes of decoding to accept.
fn check_published(locked: &Locked, current: &[Decodable]) -> (Vec<LockProblem>, Vec<LockProblem>) {
    let (mut problems, mut changes) = (Vec::new(), Vec::new());
    for entry in &locked.entries {
        match covering(current, &entry.tag, entry.version) {
            // Reported once for the whole tag, by `check_removed`.
            None if locked.removed.contains(&entry.tag) => {}
            None if entry.decoding == "removed" => problems.push(LockProblem::RemovalForgotten {
                tag: entry.tag.clone(),
                version: Some(entry.version),
            }),
            None => problems.push(LockProblem::Disappeared {
                tag: entry.tag.clone(),
                version: entry.version,
            }),
            Some(now) if now.states_shape && now.entry.fingerprint != entry.fingerprint => {
                let mut differences = Vec::new();
                diff("", &entry.schema, &now.entry.schema, &mut differences);
                problems.push(LockProblem::EditedInPlace {
                    tag: entry.tag.clone(),
                    version: entry.version,
                    locked: entry.fingerprint.clone(),
                    current: now.entry.fingerprint.clone(),
                    differences,
                });
            }
            Some(now) if now.entry.decoding != entry.decoding => {
                changes.push(LockProblem::DecodingChanged {
                    tag: entry.tag.clone(),
                    version: entry.version,
                    from: entry.decoding.clone(),
                    to: now.entry.decoding.clone(),
                });
            }
            Some(_) => {}
        }
    }
    (problems, changes)
}

/// The event types removed at every version, in the lock against the code: problems (a
/// removal the code forgot, or narrowed to some versions), and changes (a new removal, a removed type decoded again).
fn check_removed(locked: &Locked, current: &[Decodable]) -> (Vec<LockProblem>, Vec<LockProblem>) {
    let (mut problems, mut changes) = (Vec::new(), Vec::new());
    let removed_now = removed_every_version(current);
    for tag in locked.removed.difference(&removed_now) {
        let of_tag: Vec<&Decodable> = current.iter().filter(|d| d.entry.tag == *tag).collect();
        let now: Vec<String> = of_tag
            .iter()
            .map(|d| format!("v{} {}", d.entry.version, d.entry.decoding))
            .collect();
        if now.is_empty() {
            problems.push(LockProblem::RemovalForgotten {
                tag: tag.clone(),
                version: None,
            });
        } else if of_tag.iter().all(|d| d.decoding == Decoding::Removed) {
            // Still decoding into nothing, at fewer versions: the others would fail.
            let versions: Vec<String> = of_tag
                .iter()
                .map(|d| format!("v{}", d.entry.version))
                .collect();
            problems.push(LockProblem::RemovalNarrowed {
                tag: tag.clone(),
                now: versions.join(", "),
            });
        } else {
            changes.push(LockProblem::RemovalUndone {
                tag: tag.clone(),
                now: now.join(", "),
            });
        }
    }
    for tag in removed_now.difference(&locked.removed) {
        // A published tag removed now is already reported by its entries (`DecodingChanged`).
        if !locked.entries.iter().any(|e| e.tag == *tag) {
            changes.push(LockProblem::NewRemoval { tag: tag.clone() });
        }
    }
    (problems, changes)
}

/// The event types the code skips at every version.
fn removed_every_version(current: &[Decodable]) -> BTreeSet<String> {
    current
        .iter()
        .filter(|d| d.decoding == Decoding::RemovedEveryVersion)
        .map(|d| d.entry.tag.clone())
        .collect()
}

/// Each version the lock does not have yet: problems (no upcast path), and new versions.
fn check_unpublished(
    locked: &[LockEntry],
    current: &[Decodable],
) -> (Vec<LockProblem>, Vec<LockProblem>) {
    let (mut problems, mut new_versions) = (Vec::new(), Vec::new());
    for d in unpublished(locked, current) {
        let (tag, version) = (&d.entry.tag, d.entry.version);
        let same_tag_predecessor = locked
            .iter()
            .map(|e| (e.tag.as_str(), e.version))
            .chain(
                current
                    .iter()
                    .map(|c| (c.entry.tag.as_str(), c.entry.version)),
            )
            .filter(|(t, v)| t == tag && *v < version)
            .map(|(_, v)| v)
            .max();
        if let (Some(predecessor), Decoding::Typed) = (same_tag_predecessor, d.decoding) {
            let in_chain = current
                .iter()
                .find(|p| p.entry.tag == *tag && p.entry.version == predecessor)
                .is_some_and(|p| p.head.is_some() && p.head == d.head);
            if !in_chain {
                problems.push(LockProblem::NoUpcastPath {
                    tag: tag.clone(),
                    version,
                    predecessor,
                });
                continue;
            }
        }
        new_versions.push(LockProblem::New {
            tag: tag.clone(),
            version,
            note: note(d),
        });
    }
    (problems, new_versions)
}

/// The code's `(tag, version)` entries the lock does not have.
fn unpublished<'a>(
    locked: &'a [LockEntry],
    current: &'a [Decodable],
) -> impl Iterator<Item = &'a Decodable> {
    current.iter().filter(|d| {
        d.decoding != Decoding::RemovedEveryVersion
            && !locked
                .iter()
                .any(|e| e.tag == d.entry.tag && e.version == d.entry.version)
    })
}

/// The lock with new versions added; published entries keep their shape, and only how they
/// decode is brought up to date.
fn updated_lock(locked: &[LockEntry], current: &[Decodable]) -> LockFile {
    let mut events: Vec<LockEntry> = locked
        .iter()
        .map(|entry| {
            let mut entry = entry.clone();
            if let Some(now) = covering(current, &entry.tag, entry.version) {
                entry.decoding.clone_from(&now.entry.decoding);
                entry.written = now.entry.written;
                entry.read_newer = now.entry.read_newer;
            }
            entry
        })
        .chain(unpublished(locked, current).map(|d| d.entry.clone()))
        .collect();
    events.sort_by(|a, b| (&a.tag, a.version).cmp(&(&b.tag, b.version)));
    LockFile {
        format: FORMAT,
        events,
        removed: removed_every_version(current).into_iter().collect(),
    }
}

fn update_requested() -> bool {
    let set = |name: &str| {
        std::env::var_os(name).is_some_and(|v| !v.is_empty() && v != "0" && v != "false")
    };
    set(UPDATE_ENV) && !set("CI")
}

/// The lock file, or `None` when there is none yet.
fn read_lock(path: &Path) -> Result<Option<Locked>, LockError> {
    match std::fs::read(path) {
        Ok(bytes) => {
            let file: LockFile =
                serde_json::from_slice(&bytes).map_err(|source| LockError::Malformed {
                    path: path.to_owned(),
                    source,
                })?;
            if file.format > FORMAT {
                return Err(LockError::NewerFormat {
                    path: path.to_owned(),
                    format: file.format,
                    supported: FORMAT,
                });
            }
            Ok(Some(Locked::from(file)))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(LockError::Io {
            path: path.to_owned(),
            source,
        }),
    }
}

fn write_lock(path: &Path, lock: &LockFile) -> Result<(), LockError> {
    let io = |source| LockError::Io {
        path: path.to_owned(),
        source,
    };
    let mut text = serde_json::to_string_pretty(lock).map_err(|source| LockError::Malformed {
        path: path.to_owned(),
        source,
    })?;
    text.push('\n');
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).map_err(io)?;
    }
    let temp = path.with_extension("json.tmp");
    std::fs::write(&temp, text).map_err(io)?;
    std::fs::rename(&temp, path).map_err(io)
}

/// The entry of `current` that decodes stored `(tag, version)`, if any.
fn covering<'a>(current: &'a [Decodable], tag: &str, version: u32) -> Option<&'a Decodable> {
    current.iter().find(|d| {
        d.entry.tag == tag
            && (d.entry.version == version || d.decoding == Decoding::RemovedEveryVersion)
    })
}

fn decodable<E: Event>() -> Vec<Decodable> {
    let mut out = Vec::new();
    for chain in E::CHAINS {
        for link in chain.iter() {
            let schema = normalize((link.schema)().as_value());
            let fingerprint = fingerprint_value(&schema);
            let previous = link
                .previous
                .map(|p| (p.tag, p.version, normalize((p.schema)().as_value())));
            let written = chain.written();
            for tag in std::iter::once(link.tag).chain(link.aliases.iter().copied()) {
                out.push(Decodable {
                    entry: LockEntry {
                        tag: tag.to_owned(),
                        version: link.version,
                        fingerprint: fingerprint.clone(),
                        decoding: typed(),
                        schema: schema.clone(),
                        written: tag == written.tag && link.version == written.version,
                        read_newer: link.read_newer,
                    },
                    decoding: Decoding::Typed,
                    states_shape: true,
                    head: Some((chain.tag, chain.version)),
                    previous: previous.clone(),
                });
            }
        }
    }
    for info in E::RAW_VERSIONS {
        let schema = normalize(info.json_schema().as_value());
        let any_json =
            schema == Value::Bool(true) || schema == Value::Object(serde_json::Map::new());
        let decoding = match info.decoding {
            Decoding::RawUpcast { upcaster } => format!("raw upcast by {upcaster}"),
            Decoding::Removed => "removed".to_owned(),
            Decoding::RemovedEveryVersion => REMOVED_EVERY_VERSION.to_owned(),
            _ => typed(),
        };
        out.push(Decodable {
            entry: LockEntry {
                tag: info.tag.to_owned(),
                version: info.version,
                fingerprint: fingerprint_value(&schema),
                decoding,
                schema,
                written: false,
                read_newer: false,
            },
            decoding: info.decoding,
            states_shape: matches!(info.decoding, Decoding::RawUpcast { .. }) && !any_json,
            head: None,
            previous: None,
        });
    }
    out.sort_by(|a, b| (&a.entry.tag, a.entry.version).cmp(&(&b.entry.tag, b.entry.version)));
    out
}

/// The compatibility note of a new version against the version it upcasts from.
fn note(d: &Decodable) -> String {
    match &d.previous {
        None if d.decoding != Decoding::Typed => format!("decodes {}", d.entry.decoding),
        None => "first version of its chain".to_owned(),
        Some((tag, version, previous)) => {
            let (changes, compatibility): (Vec<FieldChange>, Compatibility) =
                compare(previous, &d.entry.schema);
            let changes = if changes.is_empty() {
                "no field changes".to_owned()
            } else {
                changes
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join("; ")
            };
            format!("upcasts from {tag} v{version}: {changes}; {compatibility}")
        }
    }
}

/// Every difference between two JSON values, as `JSON pointer: old → new`.
fn diff(path: &str, old: &Value, new: &Value, out: &mut Vec<String>) {
    match (old, new) {
        (Value::Object(a), Value::Object(b)) => {
            let keys: BTreeSet<&String> = a.keys().chain(b.keys()).collect();
            for key in keys {
                let child = format!("{path}/{}", key.replace('~', "~0").replace('/', "~1"));
                match (a.get(key), b.get(key)) {
                    (Some(x), Some(y)) => diff(&child, x, y, out),
                    (Some(x), None) => out.push(format!("{child}: removed (was {x})")),
                    (None, Some(y)) => out.push(format!("{child}: added {y}")),
                    (None, None) => {}
                }
            }
        }
        (a, b) if a != b => {
            let at = if path.is_empty() { "/" } else { path };
            out.push(format!("{at}: {a} → {b}"));
        }
        _ => {}
    }
}
