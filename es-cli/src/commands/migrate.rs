//! `migrate`: copy a log into a new store, as stored or with every event upcast.
//!
//! The new log has the same streams in the same global order; every event keeps its id,
//! metadata and recording time. Copied as stored (the `es` binary), stream versions are kept
//! too. Upcast (a binary with your event types), versions are kept when every stored event
//! decodes into exactly one event; an event split into several, or removed on purpose,
//! renumbers the rest of its stream (the summary says how many events in how many streams),
//! and the extra events of a split get ids derived from the original id, the same on every
//! run. Events are counted as `check` counts them (upcast, already current, removed). Snapshots
//! and projection checkpoints are not copied: they refer to the old log's stream versions and
//! positions, so the summary says to rebuild read models on the new log.
//!
//! Events are appended in the source's order, consecutive events of one stream in one batch
//! at the exact version that precedes them. A directory target must be new or empty, and is
//! removed again if the copy fails. A PostgreSQL target may hold part of this very copy, left
//! by a run that stopped: the events it holds are compared with those the copy would write,
//! and the copy continues after them; anything else in it is refused.

use std::collections::{HashMap, HashSet};

use es_core::{Event, EventStore, ExpectedVersion, NewEvent, StoredEvent, Uuid};

use super::check::Outcome;
use super::{count, counted, location, open, open_existing, CommandError, CommandResult, Store};
use crate::args::MigrateArgs;
use crate::location::StoreLocation;
use crate::{progress, Exit, Output};

/// Events per append.
const BATCH: usize = 1000;

#[derive(Default)]
struct Tally {
    read: u64,
    written: u64,
    /// Events a stopped earlier run had already written.
    kept: u64,
    /// Source events, as `check` counts them.
    upcast: u64,
    current: u64,
    removed: u64,
    /// Source events split into several (counted in `upcast` too).
    split: u64,
    /// Events whose stream version in the new log is not the source's.
    renumbered: u64,
    renumbered_streams: HashSet<String>,
}

/// `es migrate`: every event as stored.
pub fn run_as_stored(args: &MigrateArgs, output: &mut Output<'_>) -> CommandResult {
    let copied = migrate(args, output, |stored, _| Ok(vec![as_stored(stored)]))?;
    let (tally, source, target) = copied;
    writeln!(
        output.out,
        "copied {} from {source} to {target} as stored{}",
        counted(tally.written, "event"),
        already_there(&tally)
    )?;
    writeln!(
        output.out,
        "streams, stream versions, event ids, metadata, recording times and order are unchanged"
    )?;
    verified(&tally, output)
}

/// A typed binary's `migrate`: every event upcast to its current version.
pub fn run_upcast<E: Event>(args: &MigrateArgs, output: &mut Output<'_>) -> CommandResult {
    let (tally, source, target) = migrate(args, output, |stored, tally| {
        let decoded = E::decode(stored).map_err(|e| {
            CommandError::Refused(format!("{e} (run `check` to list every event that fails)"))
        })?;
        match Outcome::of(
            (stored.event_type.as_str(), stored.schema_version),
            decoded.as_slice(),
        ) {
            Outcome::Current => tally.current += 1,
            Outcome::Upcast { split } => {
                tally.upcast += 1;
                tally.split += u64::from(split);
            }
            Outcome::Removed => tally.removed += 1,
        }
        (0u64..)
            .zip(decoded.iter())
            .map(|(i, event)| upcast(stored, i, event))
            .collect()
    })?;
    writeln!(
        output.out,
        "migrated {} from {source} to {target}: {} upcast ({} split), {} already current, {} removed; {} written{}",
        counted(tally.read, "event"),
        count(tally.upcast),
        count(tally.split),
        count(tally.current),
        count(tally.removed),
        count(tally.written),
        already_there(&tally)
    )?;
    if tally.renumbered == 0 {
        writeln!(
            output.out,
            "streams, stream versions and event ids are unchanged"
        )?;
    } else {
        writeln!(
            output.out,
            "renumbered {} in {}: removed and split events shift the stream versions after them; streams and event ids are kept",
            counted(tally.renumbered, "event"),
            counted(tally.renumbered_streams.len() as u64, "stream"),
        )?;
    }
    writeln!(
        output.out,
        "not copied: snapshots and projection checkpoints, which refer to the old log's stream versions and positions; rebuild read models from the start of the new log (`ProjectionRunner::rebuild`), and snapshots are taken again as aggregates load"
    )?;
    verified(&tally, output)
}

fn already_there(tally: &Tally) -> String {
    if tally.kept == 0 {
        String::new()
    } else {
        format!(
            "; {} were already there from an earlier run",
            count(tally.kept)
        )
    }
}

fn verified(tally: &Tally, output: &mut Output<'_>) -> CommandResult {
    writeln!(
        output.out,
        "verified: the new log holds {}; the source is unchanged",
        counted(tally.written + tally.kept, "event")
    )?;
    Ok(Exit::Success)
}

/// Copies `args.source` into `args.target`, turning each stored event into the events
/// `convert` makes of it; returns the tally and both locations as shown.
fn migrate(
    args: &MigrateArgs,
    output: &mut Output<'_>,
    convert: impl FnMut(&StoredEvent, &mut Tally) -> Result<Vec<NewEvent>, CommandError>,
) -> Result<(Tally, StoreLocation, StoreLocation), CommandError> {
    let source_location = location(&args.source)?;
    let target_location = location(&args.target)?;
    if let StoreLocation::Dir(dir) = &target_location {
        let used = dir
            .read_dir()
            .is_ok_and(|mut entries| entries.next().is_some());
        if used {
            return Err(CommandError::Refused(format!(
                "{} is not empty: migrate writes a new log into a new or empty directory",
                dir.display()
            )));
        }
    }
    let source = open_existing(&source_location)?;
    let source_head = source.head_position()?;
    let target = open(&target_location)?;
    let copied = copy(&*source, &*target, output, convert);
    let checked = copied.and_then(|tally| {
        check_counts(&*source, source_head, &*target, &tally)?;
        Ok(tally)
    });
    match checked {
        Ok(tally) => Ok((tally, source_location, target_location)),
        Err(error) => Err(stopped(error, target, &target_location)),
    }
}

/// The error of a copy that failed, saying what it left in the target.
fn stopped(error: CommandError, target: Store, location: &StoreLocation) -> CommandError {
    drop(target);
    if matches!(error, CommandError::NotThisCopy(_)) {
        // Refused before anything was appended.
        return error;
    }
    let remains = match location {
        StoreLocation::Dir(dir) => {
            // The directory was new or empty: remove the partial log so a retry starts clean.
            match std::fs::remove_dir_all(dir) {
                Ok(()) => format!("nothing was written ({} was removed)", dir.display()),
                Err(e) => format!("the partial copy in {} could not be removed: {e}", dir.display()),
            }
        }
        StoreLocation::Postgres(_) => format!(
            "the events it appended stay in {location}, and the same command run again continues after them"
        ),
    };
    CommandError::Stopped {
        remains,
        source: Box::new(error),
    }
}

/// Where an event goes in the target.
struct Placed {
    stream_id: String,
    stream_version: u64,
    event: NewEvent,
}

fn copy(
    source: &dyn EventStore,
    target: &dyn EventStore,
    output: &mut Output<'_>,
    mut convert: impl FnMut(&StoredEvent, &mut Tally) -> Result<Vec<NewEvent>, CommandError>,
) -> Result<Tally, CommandError> {
    let bar = progress::events(output.progress, source.head_position()?, "migrating");
    let mut tally = Tally::default();
    let mut versions: HashMap<String, u64> = HashMap::new();
    let mut batch: Vec<Placed> = Vec::with_capacity(BATCH);
    // What an earlier run of this copy left in the target, in order; `None` once past it.
    let mut earlier = Some(target.read_all(1)?);
    for stored in source.read_all(1)? {
        let stored = stored?;
        tally.read += 1;
        bar.inc(1);
        for (i, event) in convert(&stored, &mut tally)?.into_iter().enumerate() {
            let version = versions.entry(stored.stream_id.clone()).or_insert(0);
            *version += 1;
            if i == 0 && *version != stored.stream_version {
                tally.renumbered += 1;
                tally.renumbered_streams.insert(stored.stream_id.clone());
            }
            let placed = Placed {
                stream_id: stored.stream_id.clone(),
                stream_version: *version,
                event,
            };
            if let Some(existing) = earlier.as_mut().and_then(Iterator::next) {
                same_event(&existing?, &placed)?;
                tally.kept += 1;
                continue;
            }
            earlier = None;
            let follows = batch
                .last()
                .is_some_and(|last| last.stream_id == placed.stream_id && batch.len() < BATCH);
            if !follows {
                flush(target, &mut batch, &mut tally)?;
            }
            batch.push(placed);
        }
    }
    flush(target, &mut batch, &mut tally)?;
    bar.finish_and_clear();
    Ok(tally)
}

/// Refuses a target event that is not the one this copy puts at its place.
fn same_event(existing: &StoredEvent, placed: &Placed) -> Result<(), CommandError> {
    let same = existing.stream_id == placed.stream_id
        && existing.stream_version == placed.stream_version
        && existing.event_id == placed.event.event_id();
    if same {
        return Ok(());
    }
    Err(CommandError::NotThisCopy(format!(
        "the target already holds other events: its event at position {} is `{}`@{} (id {}), where this copy puts `{}`@{} (id {}); migrate into an empty store, or into the one a stopped run of this copy wrote",
        existing.position,
        existing.stream_id,
        existing.stream_version,
        existing.event_id,
        placed.stream_id,
        placed.stream_version,
        placed.event.event_id()
    )))
}

/// Appends a batch of consecutive events of one stream at the version before its first.
fn flush(
    target: &dyn EventStore,
    batch: &mut Vec<Placed>,
    tally: &mut Tally,
) -> Result<(), CommandError> {
    let Some(first) = batch.first() else {
        return Ok(());
    };
    let stream_id = first.stream_id.clone();
    let expected = ExpectedVersion::Exact(first.stream_version - 1);
    let events: Vec<NewEvent> = batch.drain(..).map(|placed| placed.event).collect();
    let n = events.len() as u64;
    let outcome = target.append(&stream_id, expected, events)?;
    if outcome.already_stored {
        tally.kept += n;
    } else {
        tally.written += n;
    }
    Ok(())
}

/// Counts are verified against what the stores now hold, not against the tally alone.
fn check_counts(
    source: &dyn EventStore,
    source_head: u64,
    target: &dyn EventStore,
    tally: &Tally,
) -> Result<(), CommandError> {
    let in_target = target.read_all(1)?.count() as u64;
    let source_now = source.head_position()?;
    // Positions may have gaps (PostgreSQL), so the source's events are counted, not its head.
    let source_events = source.read_all(1)?.count() as u64;
    if in_target != tally.written + tally.kept
        || source_now != source_head
        || tally.read != source_events
    {
        return Err(CommandError::Refused(format!(
            "counts do not add up: read {} of {source_events} source events, wrote {} (and found {} already there), the new log holds {in_target}",
            tally.read, tally.written, tally.kept
        )));
    }
    Ok(())
}

/// The stored event as a new one, unchanged: tag, version, payload, id, metadata and time.
fn as_stored(stored: &StoredEvent) -> NewEvent {
    NewEvent::from_json_bytes(
        stored.event_type.clone(),
        stored.schema_version,
        stored.payload.clone(),
    )
    .with_event_id(stored.event_id)
    .with_metadata_map(stored.metadata.clone())
    .with_recorded_at(stored.recorded_at)
}

/// The `i`-th event that `stored` became, with its id, metadata and time.
fn upcast<E: Event>(stored: &StoredEvent, i: u64, event: &E) -> Result<NewEvent, CommandError> {
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

/// A stable id for the `i`-th extra event of a split, from the original's id.
fn derived_id(original: Uuid, i: u64) -> Uuid {
    const MIX: u128 = 0x9e37_79b9_7f4a_7c15_f39c_c060_5ced_c834;
    Uuid::from_u128((original.as_u128() ^ MIX.wrapping_mul(u128::from(i))).rotate_left(29))
}
