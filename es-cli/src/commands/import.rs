//! `import`: append events from JSON Lines, keeping streams, versions and event ids.
//!
//! The file is read twice: the first pass checks every line (format, stream versions that
//! follow each other and the store), so a bad file writes nothing; the second appends, in
//! batches of consecutive events of one stream. Event ids make a repeated import a no-op.

use std::collections::HashMap;
use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::Path;

use es_core::{EventStore, ExpectedVersion, NewEvent};

use super::{count, counted, location, open, CommandError, CommandResult};
use crate::args::ImportArgs;
use crate::jsonl::{parse_line, ImportedEvent};
use crate::{progress, Exit, Output};

/// Events per append.
const BATCH: usize = 1000;

pub fn run(args: &ImportArgs, output: &mut Output<'_>) -> CommandResult {
    let location = location(&args.store)?;
    let store = open(&location)?;
    let total = check_file(&args.file, &*store)?;
    let bar = progress::events(output.progress, total, "importing");
    let mut batch: Vec<NewEvent> = Vec::with_capacity(BATCH);
    let mut batch_stream = String::new();
    let mut batch_first_version = 0;
    let (mut written, mut already) = (0u64, 0u64);
    let mut flush =
        |stream: &str, first: u64, batch: &mut Vec<NewEvent>| -> Result<(), CommandError> {
            if batch.is_empty() {
                return Ok(());
            }
            let n = batch.len() as u64;
            let outcome = store.append(
                stream,
                ExpectedVersion::Exact(first - 1),
                std::mem::take(batch),
            )?;
            if outcome.already_stored {
                already += n;
            } else {
                written += n;
            }
            bar.inc(n);
            Ok(())
        };
    for_each_line(&args.file, |_, event| {
        let ImportedEvent {
            stream_id,
            stream_version,
            event,
            ..
        } = event;
        let follows = stream_id == batch_stream
            && stream_version == batch_first_version + batch.len() as u64
            && batch.len() < BATCH;
        if !follows {
            flush(&batch_stream, batch_first_version, &mut batch)?;
            batch_stream = stream_id;
            batch_first_version = stream_version;
        }
        batch.push(event);
        Ok(())
    })?;
    flush(&batch_stream, batch_first_version, &mut batch)?;
    bar.finish_and_clear();
    writeln!(
        output.out,
        "imported {} into {} ({} already there)",
        counted(written, "event"),
        location,
        count(already)
    )?;
    Ok(Exit::Success)
}

/// Checks every line before anything is written; returns the number of events.
fn check_file(path: &Path, store: &dyn EventStore) -> Result<u64, CommandError> {
    // The next version each stream must get in the file.
    let mut next: HashMap<String, u64> = HashMap::new();
    let mut events = 0;
    for_each_line(path, |line, event| {
        let bad = |message: String| CommandError::BadLine {
            path: path.to_owned(),
            line,
            message,
        };
        let in_order = match next.get(&event.stream_id) {
            Some(v) => event.stream_version == *v,
            // A stream's first line may continue the store's stream, or repeat part of it.
            None => event.stream_version <= store.stream_version(&event.stream_id)? + 1,
        };
        if !in_order {
            let expected = match next.get(&event.stream_id) {
                Some(v) => *v,
                None => store.stream_version(&event.stream_id)? + 1,
            };
            return Err(bad(format!(
                "stream `{}` has version {} where version {expected} comes next",
                event.stream_id, event.stream_version
            )));
        }
        // A version the store already has must be this very event: a repeated import.
        if let Some(existing) = store
            .read_stream(&event.stream_id, event.stream_version)?
            .next()
        {
            let existing = existing?;
            if !event.has_id || existing.event_id != event.event.event_id() {
                return Err(bad(format!(
                    "the store already has a different event at `{}` version {} (re-importing needs the same event ids)",
                    event.stream_id, event.stream_version
                )));
            }
        }
        next.insert(event.stream_id, event.stream_version + 1);
        events += 1;
        Ok(())
    })?;
    Ok(events)
}

/// Calls `f` with the 1-based line number and the event of every non-empty line.
fn for_each_line(
    path: &Path,
    mut f: impl FnMut(usize, ImportedEvent) -> Result<(), CommandError>,
) -> Result<(), CommandError> {
    let io = |source| CommandError::Io {
        path: path.to_owned(),
        source,
    };
    let reader = BufReader::new(File::open(path).map_err(io)?);
    for (i, line) in reader.lines().enumerate() {
        let line = line.map_err(io)?;
        if line.trim().is_empty() {
            continue;
        }
        let event = parse_line(&line).map_err(|message| CommandError::BadLine {
            path: path.to_owned(),
            line: i + 1,
            message,
        })?;
        f(i + 1, event)?;
    }
    Ok(())
}
