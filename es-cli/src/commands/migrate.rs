//! `migrate`: copy-replace a log with every event upcast to its current version.
//!
//! The new log has the same streams in the same global order; every event keeps its id,
//! metadata and recording time. When every stored event decodes into exactly one event, stream
//! versions are kept too; an event split into several, or removed on purpose, renumbers the
//! rest of its stream (the summary says how many), and the extra events of a split get ids
//! derived from the original id, the same on every run.

use std::collections::HashMap;
use std::path::Path;

use es_core::{Event, EventStore, ExpectedVersion, FileStore, NewEvent, StoredEvent, Uuid};

use super::{count, counted, open, open_existing, CommandError, CommandResult};
use crate::{progress, Exit, Output};

/// Events per append.
const BATCH: usize = 1000;

#[derive(Default)]
struct Tally {
    read: u64,
    written: u64,
    upcast: u64,
    split: u64,
    removed: u64,
}

pub fn run<E: Event>(dir: &Path, new_dir: &Path, output: &mut Output<'_>) -> CommandResult {
    let new_dir_used = new_dir
        .read_dir()
        .is_ok_and(|mut entries| entries.next().is_some());
    if new_dir_used {
        return Err(CommandError::Refused(format!(
            "{} is not empty: migrate writes a new log into a new or empty directory",
            new_dir.display()
        )));
    }
    let source = open_existing(dir)?;
    let source_head = source.head_position()?;
    let target = open(new_dir)?;
    match copy::<E>(&source, &target, output) {
        Ok(tally) => report(&source, source_head, &target, &tally, dir, new_dir, output),
        Err(error) => {
            drop(target);
            // The directory was new or empty: remove the partial log so a retry starts clean.
            let _ = std::fs::remove_dir_all(new_dir);
            Err(error)
        }
    }
}

fn copy<E: Event>(
    source: &FileStore,
    target: &FileStore,
    output: &mut Output<'_>,
) -> Result<Tally, CommandError> {
    let bar = progress::events(output.progress, source.head_position()?, "migrating");
    let mut tally = Tally::default();
    let mut versions: HashMap<String, u64> = HashMap::new();
    let mut batch: Vec<NewEvent> = Vec::with_capacity(BATCH);
    let mut batch_stream = String::new();
    for stored in source.read_all(1)? {
        let stored = stored?;
        tally.read += 1;
        bar.inc(1);
        let decoded = E::decode(&stored).map_err(|e| {
            CommandError::Refused(format!(
                "{e}; nothing was migrated (run `check` to list every event that fails)"
            ))
        })?;
        match decoded.len() {
            0 => tally.removed += 1,
            1 => {}
            _ => tally.split += 1,
        }
        if stored.stream_id != batch_stream || batch.len() >= BATCH {
            flush(target, &batch_stream, &mut versions, &mut batch)?;
            batch_stream.clone_from(&stored.stream_id);
        }
        for (i, event) in (0u64..).zip(decoded) {
            if (event.event_type(), event.event_version())
                != (stored.event_type.as_str(), stored.schema_version)
            {
                tally.upcast += 1;
            }
            batch.push(migrated(&stored, i, &event)?);
            tally.written += 1;
        }
    }
    flush(target, &batch_stream, &mut versions, &mut batch)?;
    bar.finish_and_clear();
    Ok(tally)
}

/// The `i`-th event that `stored` became, with its id, metadata and time.
fn migrated<E: Event>(stored: &StoredEvent, i: u64, event: &E) -> Result<NewEvent, CommandError> {
    let id = if i == 0 {
        stored.event_id
    } else {
        derived_id(stored.event_id, i)
    };
    Ok(NewEvent::encode(event)
        .map_err(|e| CommandError::Refused(format!("cannot encode an upcast event: {e}")))?
        .with_event_id(id)
        .with_metadata_map(stored.metadata.clone())
        .with_recorded_at(stored.recorded_at))
}

fn flush(
    target: &FileStore,
    stream: &str,
    versions: &mut HashMap<String, u64>,
    batch: &mut Vec<NewEvent>,
) -> Result<(), CommandError> {
    if batch.is_empty() {
        return Ok(());
    }
    let version = versions.entry(stream.to_owned()).or_insert(0);
    let outcome = target.append(
        stream,
        ExpectedVersion::Exact(*version),
        std::mem::take(batch),
    )?;
    *version = outcome.stream_version;
    Ok(())
}

/// A stable id for the `i`-th extra event of a split, from the original's id.
fn derived_id(original: Uuid, i: u64) -> Uuid {
    const MIX: u128 = 0x9e37_79b9_7f4a_7c15_f39c_c060_5ced_c834;
    Uuid::from_u128((original.as_u128() ^ MIX.wrapping_mul(u128::from(i))).rotate_left(29))
}

fn report(
    source: &FileStore,
    source_head: u64,
    target: &FileStore,
    tally: &Tally,
    dir: &Path,
    new_dir: &Path,
    output: &mut Output<'_>,
) -> CommandResult {
    // Counts are verified against what the stores now hold, not against the tally alone.
    let in_target = target.read_all(1)?.count() as u64;
    let source_now = source.head_position()?;
    if in_target != tally.written || source_now != source_head || tally.read != source_head {
        return Err(CommandError::Refused(format!(
            "counts do not add up: read {} of {source_head} source events, wrote {}, the new log holds {in_target}",
            tally.read, tally.written
        )));
    }
    let out = &mut *output.out;
    writeln!(
        out,
        "migrated {} from {} to {}: {} written ({} upcast, {} split, {} removed)",
        counted(tally.read, "event"),
        dir.display(),
        new_dir.display(),
        count(tally.written),
        count(tally.upcast),
        count(tally.split),
        count(tally.removed)
    )?;
    if tally.split == 0 && tally.removed == 0 {
        writeln!(out, "streams, stream versions and event ids are unchanged")?;
    } else {
        writeln!(
            out,
            "streams and event ids are kept; splits and removals renumbered the versions after them"
        )?;
    }
    writeln!(
        out,
        "verified: the new log holds {}; the source is unchanged",
        counted(in_target, "event")
    )?;
    Ok(Exit::Success)
}
