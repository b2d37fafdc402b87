//! What the schema lock's check reports: its outcome when it passes, each problem it finds,
//! and the error that lists them.

use std::fmt;
use std::path::PathBuf;

use super::rollout;
use super::UPDATE_ENV;

/// What [`check_lock`](super::check_lock) found when it passed.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum LockOutcome {
    /// The code decodes exactly the locked versions, with the locked schemas.
    Unchanged,
    /// New versions were accepted into the lock file (with [`UPDATE_ENV`] set); one note per
    /// version, with its compatibility.
    Updated {
        /// A line per accepted version.
        notes: Vec<String>,
    },
}

/// Something the lock and the code disagree on.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum LockProblem {
    /// A published version's schema changed: stored payloads may no longer decode.
    EditedInPlace {
        /// The tag.
        tag: String,
        /// The version.
        version: u32,
        /// The locked fingerprint.
        locked: String,
        /// The fingerprint of the code's schema.
        current: String,
        /// Every difference, as `JSON pointer: old → new`.
        differences: Vec<String>,
    },
    /// A published version no longer decodes: logs holding it would fail to replay.
    Disappeared {
        /// The tag.
        tag: String,
        /// The version.
        version: u32,
    },
    /// A new version whose predecessor (same tag, lower version) is not in its upcaster chain.
    NoUpcastPath {
        /// The new version's tag.
        tag: String,
        /// The new version.
        version: u32,
        /// The predecessor's version.
        predecessor: u32,
    },
    /// A published version now decodes another way (for example moved from its struct to a
    /// raw upcaster, or removed on purpose); accepted like a new version.
    DecodingChanged {
        /// The tag.
        tag: String,
        /// The version.
        version: u32,
        /// How the lock says it decodes.
        from: String,
        /// How the code decodes it now.
        to: String,
    },
    /// An event type, or one version of it, that the lock records as removed on purpose
    /// (`removed("Tag")`, `removed(("Tag", 2))` on the enum) is no longer mentioned by the
    /// code: its stored events, which replays skipped, would now fail to decode. Restore the
    /// `removed` entry; [`UPDATE_ENV`] never accepts it.
    RemovalForgotten {
        /// The event type.
        tag: String,
        /// The removed version, or `None` when every version was removed.
        version: Option<u32>,
    },
    /// An event type the lock records as removed at every version is now removed at some
    /// versions only (`removed(("Tag", 1))` where it was `removed("Tag")`), and decodes at
    /// none: its stored events of the other versions, which replays skipped, would fail to
    /// decode. Restore `removed("Tag")`; [`UPDATE_ENV`] never accepts it.
    RemovalNarrowed {
        /// The event type.
        tag: String,
        /// The versions still removed, `v1, v2`.
        now: String,
    },
    /// An event type the lock records as removed at every version decodes again: its stored
    /// events, which replays skipped, now decode into events. Accepted like a new version,
    /// once reviewed.
    RemovalUndone {
        /// The event type.
        tag: String,
        /// How the code decodes it now, one `vN decoding` per version, comma-separated.
        now: String,
    },
    /// An event type newly removed at every version (`removed("Tag")`), not yet recorded in
    /// the lock; accepted like a new version.
    NewRemoval {
        /// The event type.
        tag: String,
    },
    /// A new version, not yet accepted into the lock.
    New {
        /// The tag.
        tag: String,
        /// The version.
        version: u32,
        /// What changed from the version it upcasts from, and the compatibility.
        note: String,
    },
    /// There is no lock file yet: every version the code decodes is to be recorded, once
    /// reviewed; accepted like a new version.
    NoLockFile {
        /// How many `(tag, version)` entries the lock file will record.
        versions: usize,
    },
    /// The code writes a version the previous release (the lock) cannot read: during a rolling
    /// deploy its instances would fail on every such event. Roll it out in two steps, with
    /// `write_as` first; [`UPDATE_ENV`] never accepts it.
    UnsafeRollout {
        /// The tag written.
        tag: String,
        /// The version written.
        version: u32,
        /// The Rust type of the version written.
        rust_type: String,
        /// The latest version of the chain the previous release reads.
        latest_read: u32,
        /// The tag the previous release writes.
        written_tag: String,
        /// The version the previous release writes.
        written_version: u32,
        /// The Rust type of the version the previous release writes, for `write_as`.
        written_type: String,
        /// Why the previous release cannot read it.
        reason: String,
    },
    /// The code writes another version than the lock records, one the previous release
    /// reads; accepted like a new version.
    WritesChanged {
        /// The tag written now.
        tag: String,
        /// The version written now.
        version: u32,
        /// The tag written before.
        before_tag: String,
        /// The version written before.
        before_version: u32,
        /// How the previous release reads it.
        how: String,
    },
    /// A new version written as the previous one (`write_as`): the first step of a rolling
    /// deploy; accepted like a new version.
    WrittenAsPrevious {
        /// The new version's tag.
        tag: String,
        /// The new version.
        version: u32,
        /// The tag written.
        written_tag: String,
        /// The version written.
        written_version: u32,
    },
    /// A published version started or stopped reading newer versions (`read_newer`).
    ReadNewerChanged {
        /// The tag.
        tag: String,
        /// The version.
        version: u32,
        /// Whether it reads newer versions now.
        read_newer: bool,
    },
}

impl fmt::Display for LockProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LockProblem::EditedInPlace { tag, version, locked, current, differences } => {
                writeln!(
                    f,
                    "✗ {tag} v{version} was edited in place (fingerprint {locked} → {current}):"
                )?;
                for difference in differences {
                    writeln!(f, "      {difference}")?;
                }
                write!(
                    f,
                    "    A published version is immutable: restore its struct, and make the change in a new version with `upcast_from`."
                )
            }
            LockProblem::Disappeared { tag, version } => write!(
                f,
                "✗ {tag} v{version} no longer decodes: logs holding it would fail to replay. Restore its struct in the chain (or declare the tag removed on purpose)."
            ),
            LockProblem::NoUpcastPath { tag, version, predecessor } => write!(
                f,
                "✗ {tag} v{version} is new but has no upcast path from {tag} v{predecessor}: add `upcast_from` naming the v{predecessor} struct."
            ),
            LockProblem::DecodingChanged { tag, version, from, to } => {
                write!(
                    f,
                    "~ {tag} v{version} now decodes {to} (was {from}); its published shape is kept"
                )?;
                if from.starts_with("removed") && !to.starts_with("removed") {
                    write!(
                        f,
                        ". Stored events of it, which replays skipped, now decode into events: accept it only if that is meant, or restore the `removed` entry on the enum"
                    )?;
                }
                Ok(())
            }
            LockProblem::RemovalForgotten { tag, version: None } => write!(
                f,
                "✗ {tag} was removed on purpose at every version, and the code no longer mentions it: its stored events, which replays skipped, would fail to decode as an unknown event type. Restore `removed(\"{tag}\")` in the enum's `#[event(...)]`."
            ),
            LockProblem::RemovalForgotten { tag, version: Some(version) } => write!(
                f,
                "✗ {tag} v{version} was removed on purpose, and the code no longer mentions it: its stored events, which replays skipped, would fail to decode. Restore `removed((\"{tag}\", {version}))` in the enum's `#[event(...)]`."
            ),
            LockProblem::RemovalNarrowed { tag, now } => write!(
                f,
                "✗ {tag} was removed on purpose at every version, and the code now removes only {now}: stored events of its other versions, which replays skipped, would fail to decode. Restore `removed(\"{tag}\")` in the enum's `#[event(...)]`."
            ),
            LockProblem::RemovalUndone { tag, now } => write!(
                f,
                "~ {tag} was removed on purpose at every version, and now decodes again ({now}): its stored events, which replays skipped, now decode into events. Accept it only if that is meant; otherwise restore `removed(\"{tag}\")` and give the new event type another name."
            ),
            LockProblem::NewRemoval { tag } => write!(
                f,
                "+ {tag} is removed at every version (`removed(\"{tag}\")`): its stored events decode into no event"
            ),
            LockProblem::New { tag, version, note } => write!(f, "+ {tag} v{version} is new: {note}"),
            LockProblem::NoLockFile { versions } => write!(
                f,
                "+ no lock file yet: it will record the {versions} version(s) the code decodes"
            ),
            rollout => rollout::fmt_problem(rollout, f),
        }
    }
}

/// Why [`check_lock`](super::check_lock) failed.
#[non_exhaustive]
pub enum LockError {
    /// The lock file could not be read or written.
    Io {
        /// The lock file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The lock file is not a lock file.
    Malformed {
        /// The lock file.
        path: PathBuf,
        /// What `serde_json` reported.
        source: serde_json::Error,
    },
    /// The lock file was written by a newer release, in a format this one does not know:
    /// checking it, or rewriting it, would drop what that release recorded.
    NewerFormat {
        /// The lock file.
        path: PathBuf,
        /// The lock file's format.
        format: u32,
        /// The newest format this release reads and writes.
        supported: u32,
    },
    /// The code and the lock disagree.
    Mismatch {
        /// The lock file.
        path: PathBuf,
        /// Every disagreement, problems first, then new versions.
        problems: Vec<LockProblem>,
        /// Whether only new versions are pending (accept them with [`UPDATE_ENV`]).
        only_new_versions: bool,
    },
}

impl fmt::Display for LockError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LockError::Io { path, .. } => write!(f, "cannot access schema lock {}", path.display()),
            LockError::Malformed { path, .. } => {
                write!(f, "schema lock {} is not a valid lock file", path.display())
            }
            LockError::NewerFormat {
                path,
                format,
                supported,
            } => write!(
                f,
                "schema lock {} is format {format}, written by a newer release of es-core, which reads up to format {supported}: upgrade es-core rather than check or rewrite the lock with this release",
                path.display()
            ),
            LockError::Mismatch {
                path,
                problems,
                only_new_versions,
            } => {
                writeln!(f, "schema lock {} does not match the code:", path.display())?;
                for problem in problems {
                    writeln!(f, "  {problem}")?;
                }
                if *only_new_versions {
                    write!(
                        f,
                        "Review the changes marked + and ~ above, then accept them with `{UPDATE_ENV}=1 cargo test` and commit the lock file."
                    )
                } else {
                    write!(
                        f,
                        "Fix the problems marked ✗; `{UPDATE_ENV}` never accepts them."
                    )
                }
            }
        }
    }
}

/// Shows the whole report, so `check_lock(...).unwrap()` in a test prints something readable.
impl fmt::Debug for LockError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)?;
        if let Some(source) = std::error::Error::source(self) {
            write!(f, ": {source}")?;
        }
        Ok(())
    }
}

impl std::error::Error for LockError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            LockError::Io { source, .. } => Some(source),
            LockError::Malformed { source, .. } => Some(source),
            LockError::NewerFormat { .. } | LockError::Mismatch { .. } => None,
        }
    }
}
