//! `check`: decode every stored event through the upcasters.

use std::collections::{BTreeMap, BTreeSet};
use std::ffi::OsStr;
use std::ops::ControlFlow;

use es_core::{Event, EventStore};

use super::{count, counted, location, open_existing, CommandResult};
use crate::{progress, Exit, Output};

/// Failures listed in full; the rest are counted.
const SHOWN_FAILURES: usize = 20;

/// What a stored event decodes into, counted the same way by `check` and `migrate`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Outcome {
    /// One event of the tag and version it is stored with.
    Current,
    /// Events of another tag or version, or several events (`split`).
    Upcast { split: bool },
    /// No event: a tag removed on purpose (`#[event(removed(...))]`).
    Removed,
}

impl Outcome {
    /// How a stored event of `(tag, version)` fared, given the events it decoded into.
    pub(super) fn of<E: Event>(stored: (&str, u32), decoded: &[E]) -> Self {
        match decoded {
            [] => Outcome::Removed,
            [event] if (event.event_type(), event.event_version()) == stored => Outcome::Current,
            [_] => Outcome::Upcast { split: false },
            _ => Outcome::Upcast { split: true },
        }
    }
}

#[derive(Default)]
struct Row {
    events: u64,
    upcast: u64,
    removed: u64,
    failed: u64,
    /// What events of this (tag, version) decode into.
    into: BTreeSet<(String, u32)>,
}

pub fn run<E: Event>(store: &OsStr, output: &mut Output<'_>) -> CommandResult {
    let location = location(store)?;
    let store = open_existing(&location)?;
    let bar = progress::events(output.progress, store.head_position()?, "checking");
    let mut rows: BTreeMap<(String, u32), Row> = BTreeMap::new();
    let mut failures = Vec::new();
    let (mut events, mut upcast, mut removed, mut failed, mut produced) = (0u64, 0, 0, 0, 0);
    // Each event decoded where the store lends it, never copied out.
    store.visit_all(1, &mut |stored| {
        events += 1;
        bar.inc(1);
        let key = (stored.event_type, stored.schema_version);
        let row = rows.entry((key.0.to_owned(), key.1)).or_default();
        row.events += 1;
        match E::decode_ref(stored) {
            Ok(decoded) => {
                let decoded = decoded.as_slice();
                for event in decoded {
                    produced += 1;
                    row.into
                        .insert((event.event_type().to_owned(), event.event_version()));
                }
                match Outcome::of(key, decoded) {
                    Outcome::Current => {}
                    Outcome::Upcast { .. } => {
                        row.upcast += 1;
                        upcast += 1;
                    }
                    Outcome::Removed => {
                        row.removed += 1;
                        removed += 1;
                    }
                }
            }
            Err(error) => {
                row.failed += 1;
                failed += 1;
                if failures.len() < SHOWN_FAILURES {
                    failures.push(crate::with_causes(&error));
                }
            }
        }
        ControlFlow::Continue(())
    })?;
    bar.finish_and_clear();

    let out = &mut *output.out;
    let decoded = events - failed - removed;
    writeln!(
        out,
        "checked {} in {}: {} decoded ({} upcast, {} already current), {} removed, {} failed",
        counted(events, "event"),
        location,
        count(decoded),
        count(upcast),
        count(decoded - upcast),
        count(removed),
        count(failed)
    )?;
    if produced != decoded {
        writeln!(
            out,
            "they decode into {}",
            counted(produced, "current event")
        )?;
    }
    write_table(out, &rows)?;
    if failed == 0 {
        return Ok(Exit::Success);
    }
    writeln!(out, "\nfailures")?;
    for failure in &failures {
        writeln!(out, "  {failure}")?;
    }
    if failed > failures.len() as u64 {
        writeln!(
            out,
            "  ... and {} more",
            count(failed - failures.len() as u64)
        )?;
    }
    Ok(Exit::Problems)
}

/// The table of counts by stored tag and version.
fn write_table(
    out: &mut dyn std::io::Write,
    rows: &BTreeMap<(String, u32), Row>,
) -> std::io::Result<()> {
    let width = rows.keys().map(|(t, _)| t.len()).max().unwrap_or(3).max(3);
    writeln!(
        out,
        "\n  {:<width$} {:>7} {:>10} {:>10} {:>8} {:>8}  decodes into",
        "tag", "version", "events", "upcast", "removed", "failed"
    )?;
    for ((tag, version), row) in rows {
        let into = if row.into.is_empty() && row.removed > 0 {
            "nothing: removed on purpose".to_owned()
        } else if row.into.is_empty() {
            "-".to_owned()
        } else {
            row.into
                .iter()
                .map(|(t, v)| format!("{t} v{v}"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        writeln!(
            out,
            "  {tag:<width$} {:>7} {:>10} {:>10} {:>8} {:>8}  {into}",
            format!("v{version}"),
            count(row.events),
            count(row.upcast),
            count(row.removed),
            count(row.failed),
        )?;
    }
    Ok(())
}
