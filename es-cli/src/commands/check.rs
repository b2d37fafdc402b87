//! `check`: decode every stored event through the upcasters.

use std::collections::{BTreeMap, BTreeSet};
use std::ffi::OsStr;
use std::ops::ControlFlow;

use es_core::{Event, EventStore};

use super::{count, counted, location, open_existing, CommandResult};
use crate::{progress, Exit, Output};

/// Failures listed in full; the rest are counted.
const SHOWN_FAILURES: usize = 20;

#[derive(Default)]
struct Row {
    events: u64,
    upcast: u64,
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
    let (mut events, mut upcast, mut failed, mut produced) = (0u64, 0u64, 0u64, 0u64);
    // Each event decoded where the store lends it, never copied out.
    store.visit_all(1, &mut |stored| {
        events += 1;
        bar.inc(1);
        let key = (stored.event_type, stored.schema_version);
        let row = rows.entry((key.0.to_owned(), key.1)).or_default();
        row.events += 1;
        match E::decode_ref(stored) {
            Ok(decoded) => {
                let mut changed = decoded.len() != 1;
                for event in decoded {
                    produced += 1;
                    let current = (event.event_type(), event.event_version());
                    changed |= current != key;
                    row.into.insert((current.0.to_owned(), current.1));
                }
                if changed {
                    row.upcast += 1;
                    upcast += 1;
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
    writeln!(
        out,
        "checked {} in {}: {} decoded ({} upcast, {} already current), {} failed",
        counted(events, "event"),
        location,
        count(events - failed),
        count(upcast),
        count(events - failed - upcast),
        count(failed)
    )?;
    if produced != events - failed {
        writeln!(
            out,
            "they decode into {}",
            counted(produced, "current event")
        )?;
    }
    let width = rows.keys().map(|(t, _)| t.len()).max().unwrap_or(3).max(3);
    writeln!(
        out,
        "\n  {:<width$} {:>7} {:>10} {:>10} {:>8}  decodes into",
        "tag", "version", "events", "upcast", "failed"
    )?;
    for ((tag, version), row) in &rows {
        let into = if row.into.is_empty() {
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
            "  {tag:<width$} {:>7} {:>10} {:>10} {:>8}  {into}",
            format!("v{version}"),
            count(row.events),
            count(row.upcast),
            count(row.failed),
        )?;
    }
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
