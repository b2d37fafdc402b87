//! Rolling deploys: whether the release before the code reads what the code writes.
//!
//! The lock is what the previous release knows: every `(tag, version)` it decodes, which
//! version of each chain it writes (`written`), and which latest versions read newer ones
//! (`read_newer`). During a rolling deploy both releases share the log, so a version the code
//! starts writing must be one the previous release reads: a version the lock already has, or
//! a newer one that fits the previous release's latest struct under tolerant reading.
//! Anything else is rolled out in two steps, `write_as` first.

use std::fmt;

use serde_json::Value;

use super::compat::{compare, FieldChange};
use super::lock::LockEntry;
use super::lock_report::LockProblem;
use super::normalize;
use crate::codec::ChainLink;

/// What the previous release reads of one chain, from the lock.
struct Previous<'a> {
    /// The version it writes: flagged `written`, or, in a lock of format 1 (before `written`
    /// was recorded), its latest.
    written: &'a LockEntry,
    /// Its latest version, the struct it decodes into.
    latest: &'a LockEntry,
}

/// Checks each chain of the code against what the previous release reads. Returns problems
/// (a newly written version the previous release cannot read) and changes to accept (the
/// written version or `read_newer` changed safely, or a new version written as the previous).
pub(super) fn check(
    locked: &[LockEntry],
    chains: &[&'static ChainLink],
) -> (Vec<LockProblem>, Vec<LockProblem>) {
    let (mut problems, mut changes) = (Vec::new(), Vec::new());
    for &head in chains {
        for entry in locked {
            if let Some(link) = head
                .iter()
                .find(|l| l.version == entry.version && l.answers_to(&entry.tag))
            {
                if link.read_newer != entry.read_newer {
                    changes.push(LockProblem::ReadNewerChanged {
                        tag: entry.tag.clone(),
                        version: entry.version,
                        read_newer: link.read_newer,
                    });
                }
            }
        }
        let Some(previous) = previous_release(locked, head) else {
            // A chain the previous release does not know at all: nothing it reads changes.
            continue;
        };
        let now = head.written();
        let before = (previous.written.tag.as_str(), previous.written.version);
        if (now.tag, now.version) == before {
            if head.version > now.version && !is_locked(locked, head.tag, head.version) {
                changes.push(LockProblem::WrittenAsPrevious {
                    tag: head.tag.to_owned(),
                    version: head.version,
                    written_tag: now.tag.to_owned(),
                    written_version: now.version,
                });
            }
            continue;
        }
        if is_locked(locked, now.tag, now.version) {
            changes.push(LockProblem::WritesChanged {
                tag: now.tag.to_owned(),
                version: now.version,
                before_tag: before.0.to_owned(),
                before_version: before.1,
                how: format!("the previous release decodes {} v{}", now.tag, now.version),
            });
            continue;
        }
        match unreadable(previous.latest, now) {
            None => changes.push(LockProblem::WritesChanged {
                tag: now.tag.to_owned(),
                version: now.version,
                before_tag: before.0.to_owned(),
                before_version: before.1,
                how: format!(
                    "the previous release reads it as {} v{} (`read_newer`)",
                    previous.latest.tag, previous.latest.version
                ),
            }),
            Some(reason) => problems.push(LockProblem::UnsafeRollout {
                tag: now.tag.to_owned(),
                version: now.version,
                rust_type: now.rust_type.to_owned(),
                latest_read: previous.latest.version,
                written_tag: before.0.to_owned(),
                written_version: before.1,
                written_type: head
                    .iter()
                    .find(|l| l.version == before.1 && l.answers_to(before.0))
                    .map_or_else(
                        || format!("{}V{}", before.0, before.1),
                        |l| l.rust_type.to_owned(),
                    ),
                reason,
            }),
        }
    }
    (problems, changes)
}

fn is_locked(locked: &[LockEntry], tag: &str, version: u32) -> bool {
    locked.iter().any(|e| e.tag == tag && e.version == version)
}

/// What the previous release reads of the chain ending at `head`, or `None` when the lock has
/// no version of it.
fn previous_release<'a>(locked: &'a [LockEntry], head: &'static ChainLink) -> Option<Previous<'a>> {
    let in_chain: Vec<&LockEntry> = locked
        .iter()
        .filter(|e| e.decoding == "typed" && head.contains(&e.tag, e.version))
        .collect();
    let latest = in_chain.iter().copied().max_by_key(|e| e.version)?;
    let written = in_chain
        .iter()
        .copied()
        .find(|e| e.written)
        .unwrap_or(latest);
    Some(Previous { written, latest })
}

/// Why the previous release, whose latest version of the chain is `latest`, cannot read
/// `now`, a version it does not know; `None` when it reads it (tolerant reading, and a fit).
fn unreadable(latest: &LockEntry, now: &'static ChainLink) -> Option<String> {
    if now.tag != latest.tag {
        return Some(format!(
            "v{} is stored under the tag `{}`, which the previous release does not know",
            now.version, now.tag
        ));
    }
    let schema = normalize((now.schema)().as_value());
    let (changes, compatibility) = compare(&latest.schema, &schema);
    let misfits = misfits(&latest.schema, &changes);
    if !latest.read_newer {
        return Some(format!(
            "its {} v{} does not read newer versions (no `read_newer`); v{} is {compatibility}",
            latest.tag, latest.version, now.version
        ));
    }
    if misfits.is_empty() {
        return None;
    }
    Some(format!(
        "v{} does not fit its {} v{}, which reads newer versions only when they fit: {}",
        now.version,
        latest.tag,
        latest.version,
        misfits.join("; ")
    ))
}

/// The changes that keep a payload of the newer version from fitting the older struct: a field
/// of the older struct gone (renamed or removed: a required one fails, an optional one would
/// silently default), retyped, or no longer always present; any added field when the older
/// struct denies unknown fields.
fn misfits(older: &Value, changes: &[FieldChange]) -> Vec<String> {
    let closed = older.get("additionalProperties") == Some(&Value::Bool(false));
    changes
        .iter()
        .filter(|change| match change {
            FieldChange::Removed { .. }
            | FieldChange::ChangedType { .. }
            | FieldChange::BecameOptional(_) => true,
            FieldChange::AddedOptional(_) | FieldChange::AddedRequired(_) => closed,
            FieldChange::BecameRequired(_) => false,
        })
        .map(|change| match change {
            FieldChange::Removed {
                name,
                was_required: false,
            } => format!("removed optional field `{name}` (it would read as its default)"),
            FieldChange::AddedOptional(_) | FieldChange::AddedRequired(_) => {
                format!("{change} (the older struct denies unknown fields)")
            }
            other => other.to_string(),
        })
        .collect()
}

/// The lines of the lock report about rolling deploys.
pub(super) fn fmt_problem(problem: &LockProblem, f: &mut fmt::Formatter<'_>) -> fmt::Result {
    match problem {
        LockProblem::UnsafeRollout {
            tag,
            version,
            rust_type,
            latest_read,
            written_tag,
            written_version,
            written_type,
            reason,
        } => {
            writeln!(
                f,
                "✗ {tag} v{version} would be written at once, but the previous release, which reads {tag} up to v{latest_read}, cannot read it: {reason}."
            )?;
            writeln!(
                f,
                "    During a rolling deploy both releases share the log: roll v{version} out in two steps."
            )?;
            writeln!(
                f,
                "      release 1: add `write_as = {written_type}` to `{rust_type}`'s `#[event(...)]`, with `impl From<{rust_type}> for {written_type}` (readers learn v{version}, writers keep writing {written_tag} v{written_version});"
            )?;
            write!(
                f,
                "      release 2, after every instance runs release 1: remove `write_as` ({tag} v{version} is written from then on)."
            )
        }
        LockProblem::WritesChanged {
            tag,
            version,
            before_tag,
            before_version,
            how,
        } => write!(
            f,
            "~ {tag} v{version} is written now (was {before_tag} v{before_version}): safe to roll out, {how}"
        ),
        LockProblem::WrittenAsPrevious {
            tag,
            version,
            written_tag,
            written_version,
        } => write!(
            f,
            "~ {tag} v{version} is written as {written_tag} v{written_version} (`write_as`): safe to roll out, the previous release reads every event; remove `write_as` in the next release"
        ),
        LockProblem::ReadNewerChanged {
            tag,
            version,
            read_newer,
        } => {
            if *read_newer {
                write!(
                    f,
                    "~ {tag} v{version} now reads newer versions of {tag} that fit it (`read_newer`)"
                )
            } else {
                write!(
                    f,
                    "~ {tag} v{version} no longer reads newer versions (`read_newer` removed)"
                )
            }
        }
        _ => Ok(()),
    }
}
