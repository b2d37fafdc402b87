//! `import`: append events from JSON Lines, keeping streams, versions, event ids, times and
//! payload bytes.
//!
//! The file is read three times. The first pass checks every line against the file alone:
//! its format, the limits of the stores, stream versions that follow each other, event ids
//! given once. Only then is the store opened (a directory is not even created); the second
//! pass checks the lines against it: each stream continues the store's, a line at a version
//! the store has repeats the stored event exactly, and no new id is stored elsewhere. The
//! third pass appends, in batches of consecutive events of one stream, skipping what is
//! already stored. A file that fails a check writes nothing and creates nothing.
//!
//! With `--check` (a binary with your event types), a pass between the first and the second
//! decodes every line through those types, as the line's event would be read once stored; a
//! line that does not decode fails the import before the store is opened.

use std::collections::hash_map::{DefaultHasher, Entry};
use std::collections::{HashMap, HashSet};
use std::fs::File;
use std::hash::{Hash, Hasher};
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::time::SystemTime;

use es_core::store::backend::{validate_batch, MAX_METADATA_BYTES};
use es_core::{
    AppendError, Event, EventStore, ExpectedVersion, MemoryStore, NewEvent, StoredEvent, Uuid,
};

use super::{count, counted, location, open, CommandError, CommandResult, Store};
use crate::args::ImportArgs;
use crate::jsonl::{format_time, parse_line, ImportedEvent};
use crate::location::StoreLocation;
use crate::{progress, Exit, Output};

/// Events per append.
const BATCH: usize = 1000;

/// The longest event type a store holds, in bytes (the file store's frame field).
const MAX_EVENT_TYPE_BYTES: usize = u16::MAX as usize;

/// The `es` binary's `import`, which has no event types to decode with.
pub fn run(args: &ImportArgs, output: &mut Output<'_>) -> CommandResult {
    if args.check {
        return Err(CommandError::Refused(
            "`--check` decodes every line through your event types, and the `es` binary has none: add a binary to your crate, `fn main() -> std::process::ExitCode { es_cli::run::<YourEvent>() }` in `src/bin/`, and import with it".to_owned(),
        ));
    }
    import(args, output, |_| Ok(()))
}

/// A typed binary's `import`: with `--check`, every line is decoded through `E` first.
pub fn run_typed<E: Event>(args: &ImportArgs, output: &mut Output<'_>) -> CommandResult {
    import(args, output, |output| {
        if args.check {
            let lines = decode_every_line::<E>(&args.file)?;
            writeln!(
                output.out,
                "checked {} against the event types: every one decodes",
                counted(lines, "line")
            )?;
        }
        Ok(())
    })
}

fn import(
    args: &ImportArgs,
    output: &mut Output<'_>,
    check_types: impl FnOnce(&mut Output<'_>) -> Result<(), CommandError>,
) -> CommandResult {
    let location = location(&args.store)?;
    let file = check_file(&args.file)?;
    check_types(output)?;
    let existing = open_if_store(&location)?;
    let stored = check_against_store(&args.file, &file, existing.as_deref())?;
    let store = match existing {
        Some(store) => store,
        None => open(&location)?,
    };
    let to_write = file.lines.saturating_sub(stored.events);
    let bar = progress::events(output.progress, to_write, "importing");
    let mut batch: Vec<NewEvent> = Vec::with_capacity(BATCH);
    let mut batch_stream = String::new();
    let mut batch_first_version = 0;
    let (mut written, mut already, mut skipped) = (0u64, 0u64, 0u64);
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
    for_each_line(&args.file, |line, event| {
        let ImportedEvent {
            stream_id,
            stream_version,
            event,
            ..
        } = event;
        let in_store = stored.versions.get(&stream_id).copied().unwrap_or(0);
        if file.repeats.contains(&line) || stream_version <= in_store {
            skipped += 1;
            return Ok(());
        }
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
        count(already + skipped)
    )?;
    Ok(Exit::Success)
}

/// What the first pass learned about the file.
struct FileCheck {
    /// The lines of each stream, by version.
    streams: HashMap<String, StreamLines>,
    /// Lines that repeat an earlier line of the file exactly; the third pass skips them.
    repeats: HashSet<usize>,
    /// Lines holding an event.
    lines: u64,
}

/// A stream's lines in the file: `lines[i]` has version `first_version + i`.
struct StreamLines {
    first_version: u64,
    lines: Vec<LineEvent>,
}

/// What the checks need of one line's event.
struct LineEvent {
    line: usize,
    /// The id the line gives, if it gives one.
    id: Option<Uuid>,
    digest: u64,
    recorded_at: Option<SystemTime>,
}

impl LineEvent {
    fn new(line: usize, imported: &ImportedEvent) -> Self {
        let event = &imported.event;
        Self {
            line,
            id: imported.has_id.then(|| event.event_id()),
            digest: digest(
                event.event_type(),
                event.schema_version(),
                event.payload(),
                event.metadata().as_bytes(),
            ),
            recorded_at: event.recorded_at(),
        }
    }

    /// Whether `other`, a later line at the same stream version, repeats this one exactly.
    fn is_repeated_by(&self, other: &LineEvent) -> bool {
        self.id.is_some()
            && self.id == other.id
            && self.digest == other.digest
            && self.recorded_at == other.recorded_at
    }
}

/// A fingerprint of what an event says, besides its id, stream, version and time.
fn digest(event_type: &str, schema_version: u32, payload: &[u8], metadata: &[u8]) -> u64 {
    let mut hasher = DefaultHasher::new();
    (event_type, schema_version, payload, metadata).hash(&mut hasher);
    hasher.finish()
}

/// The first pass: every line checked against the file alone.
fn check_file(path: &Path) -> Result<FileCheck, CommandError> {
    let mut check = FileCheck {
        streams: HashMap::new(),
        repeats: HashSet::new(),
        lines: 0,
    };
    // Where each given id is: line, stream, version.
    let mut ids: HashMap<Uuid, (usize, String, u64)> = HashMap::new();
    for_each_line(path, |line, imported| {
        let bad = |message: String| CommandError::BadLine {
            path: path.to_owned(),
            line,
            message,
        };
        within_limits(&imported).map_err(bad)?;
        check.lines += 1;
        let this = LineEvent::new(line, &imported);
        let version = imported.stream_version;
        let stream = match check.streams.entry(imported.stream_id.clone()) {
            Entry::Vacant(entry) => entry.insert(StreamLines {
                first_version: version,
                lines: Vec::new(),
            }),
            Entry::Occupied(entry) => entry.into_mut(),
        };
        let next = stream.first_version + stream.lines.len() as u64;
        if version < next && version >= stream.first_version {
            let earlier = &stream.lines
                [usize::try_from(version - stream.first_version).unwrap_or(usize::MAX)];
            if earlier.is_repeated_by(&this) {
                check.repeats.insert(line);
                return Ok(());
            }
            return Err(bad(format!(
                "stream `{}` version {version} is already on line {}, and this line is not the same event{}",
                imported.stream_id,
                earlier.line,
                if this.id.is_none() { " (a repeated line needs its `event_id`)" } else { "" }
            )));
        }
        if version != next {
            return Err(bad(format!(
                "stream `{}` has version {version} where version {next} comes next",
                imported.stream_id
            )));
        }
        if let Some(id) = this.id {
            if let Some((other, stream_id, v)) = ids.get(&id) {
                return Err(bad(format!(
                    "event id {id} is also on line {other} (stream `{stream_id}` version {v}); event ids are unique"
                )));
            }
            ids.insert(id, (line, imported.stream_id.clone(), version));
        }
        stream.lines.push(this);
        Ok(())
    })?;
    Ok(check)
}

/// Decodes every line's event through `E` as it would be read once stored; returns how many
/// lines hold an event. Nothing is written anywhere: each event is read back through a
/// scratch `MemoryStore`, then given the line's stream version.
fn decode_every_line<E: Event>(path: &Path) -> Result<u64, CommandError> {
    let mut lines = 0;
    let mut first_failure: Option<(usize, String)> = None;
    let mut failed = 0u64;
    for_each_line(path, |line, imported| {
        lines += 1;
        let scratch = MemoryStore::new();
        scratch.append(
            &imported.stream_id,
            ExpectedVersion::Any,
            vec![imported.event],
        )?;
        let Some(stored) = scratch.read_stream(&imported.stream_id, 1)?.next() else {
            return Ok(());
        };
        let mut stored = stored?;
        // Not stored yet: the line's stream version, and no position.
        stored.stream_version = imported.stream_version;
        stored.position = 0;
        if let Err(error) = E::decode(&stored) {
            failed += 1;
            first_failure.get_or_insert_with(|| (line, crate::with_causes(&error)));
        }
        Ok(())
    })?;
    let Some((line, error)) = first_failure else {
        return Ok(lines);
    };
    let others = if failed > 1 {
        format!(" ({} in all do not decode)", counted(failed, "line"))
    } else {
        String::new()
    };
    Err(bad_line(
        path,
        line,
        format!("does not decode through the event types: {error}{others}; nothing was written"),
    ))
}

/// The checks every store makes at append (`validate_batch` and the limits of the file
/// store's frames), made before anything is written.
fn within_limits(imported: &ImportedEvent) -> Result<(), String> {
    let event = &imported.event;
    let size = event.metadata().as_str().len();
    if size > MAX_METADATA_BYTES {
        return Err(format!(
            "the metadata is {size} bytes as JSON, more than the limit of {MAX_METADATA_BYTES}"
        ));
    }
    match validate_batch(&imported.stream_id, std::slice::from_ref(event)) {
        Ok(()) => {}
        Err(AppendError::InvalidStreamId { reason, .. }) => return Err(reason.to_owned()),
        Err(AppendError::TooLarge { size, limit, .. }) => {
            return Err(format!(
                "the payload is {size} bytes, more than the limit of {limit}"
            ))
        }
        Err(other) => return Err(other.to_string()),
    }
    if event.event_type().len() > MAX_EVENT_TYPE_BYTES {
        return Err(format!(
            "the event type is {} bytes, more than the limit of {MAX_EVENT_TYPE_BYTES}",
            event.event_type().len()
        ));
    }
    Ok(())
}

/// The store at `location` when there is one; `None` for a directory that does not exist
/// or is empty, which the import creates once the file has passed its checks.
fn open_if_store(location: &StoreLocation) -> Result<Option<Store>, CommandError> {
    let StoreLocation::Dir(dir) = location else {
        return open(location).map(Some);
    };
    let io = |source| CommandError::Io {
        path: dir.clone(),
        source,
    };
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) if dir.exists() && !dir.is_dir() => {
            return Err(CommandError::Refused(format!(
                "{} is not a directory ({e})",
                dir.display()
            )))
        }
        Err(e) => return Err(io(e)),
    };
    let mut empty = true;
    for entry in entries {
        let name = entry.map_err(io)?.file_name();
        empty = false;
        let name = name.to_string_lossy();
        if name.starts_with("seg-") && name.ends_with(".log") {
            return open(location).map(Some);
        }
    }
    if empty {
        return Ok(None);
    }
    Err(CommandError::Refused(format!(
        "{} is not a store: it holds other files and no log segment (seg-*.log); import into a store, or a new or empty directory",
        dir.display()
    )))
}

/// What the second pass learned about the store.
#[derive(Default)]
struct StoreCheck {
    /// The store's version of each stream of the file that it has.
    versions: HashMap<String, u64>,
    /// Lines of the file already stored.
    events: u64,
}

/// The second pass: the file's streams against the store's (`None`: a store still to be
/// created, with no events).
fn check_against_store(
    path: &Path,
    file: &FileCheck,
    store: Option<&dyn EventStore>,
) -> Result<StoreCheck, CommandError> {
    let mut check = StoreCheck::default();
    let Some(store) = store else {
        if let Some((stream, lines)) = first_of(file, |lines| lines.first_version != 1) {
            return Err(bad_line(
                path,
                lines.lines[0].line,
                format!(
                "the store has no stream `{stream}`, so its first line must have version 1, not {}",
                lines.first_version
            ),
            ));
        }
        return Ok(check);
    };
    let mut streams: Vec<(&String, &StreamLines)> = file.streams.iter().collect();
    streams.sort_by_key(|(_, lines)| lines.lines.first().map_or(0, |l| l.line));
    // Ids of events to write, and their lines: they must not be stored anywhere yet.
    let mut new_ids: HashMap<Uuid, usize> = HashMap::new();
    for (stream, lines) in streams {
        let in_store = store.stream_version(stream)?;
        if lines.first_version > in_store + 1 {
            return Err(bad_line(path, lines.lines[0].line, format!(
                "stream `{stream}` has version {} where version {} comes next (the store's stream ends at version {in_store})",
                lines.first_version,
                in_store + 1
            )));
        }
        if lines.first_version <= in_store {
            let stored_count =
                usize::try_from(in_store + 1 - lines.first_version).unwrap_or(usize::MAX);
            let already = lines.lines.iter().take(stored_count);
            for (line, stored) in already.zip(store.read_stream(stream, lines.first_version)?) {
                same_as_stored(line, &stored?).map_err(|m| bad_line(path, line.line, m))?;
                check.events += 1;
            }
            check.versions.insert(stream.clone(), in_store);
        }
        let new_from =
            usize::try_from(in_store.saturating_sub(lines.first_version - 1)).unwrap_or(usize::MAX);
        for line in lines.lines.iter().skip(new_from) {
            if let Some(id) = line.id {
                new_ids.insert(id, line.line);
            }
        }
    }
    if !new_ids.is_empty() && store.head_position()? > 0 {
        let mut first: Option<(usize, StoredEvent)> = None;
        for stored in store.read_all(1)? {
            let stored = stored?;
            if let Some(&line) = new_ids.get(&stored.event_id) {
                if first.as_ref().is_none_or(|(l, _)| line < *l) {
                    first = Some((line, stored));
                }
            }
        }
        if let Some((line, stored)) = first {
            return Err(bad_line(
                path,
                line,
                format!(
                    "event id {} is already stored, in stream `{}` at version {}",
                    stored.event_id, stored.stream_id, stored.stream_version
                ),
            ));
        }
    }
    Ok(check)
}

/// The stream whose first line comes first among those `f` picks.
fn first_of(file: &FileCheck, f: impl Fn(&StreamLines) -> bool) -> Option<(&String, &StreamLines)> {
    file.streams
        .iter()
        .filter(|(_, lines)| f(lines))
        .min_by_key(|(_, lines)| lines.lines.first().map_or(0, |l| l.line))
}

/// Whether a line at a version the store has repeats the stored event.
fn same_as_stored(line: &LineEvent, stored: &StoredEvent) -> Result<(), String> {
    let at = format!("`{}` version {}", stored.stream_id, stored.stream_version);
    if line.id != Some(stored.event_id) {
        return Err(format!(
            "the store already has event {} at {at}; a line at a stored version must repeat that event, with its `event_id`",
            stored.event_id
        ));
    }
    let stored_digest = digest(
        &stored.event_type,
        stored.schema_version,
        &stored.payload,
        stored.metadata.as_bytes(),
    );
    if line.digest != stored_digest {
        return Err(format!(
            "the store has event {} at {at} with a different type, schema version, payload or metadata",
            stored.event_id
        ));
    }
    if let Some(time) = line.recorded_at.filter(|t| *t != stored.recorded_at) {
        return Err(format!(
            "the store has event {} at {at} recorded at {}, not {}",
            stored.event_id,
            format_time(stored.recorded_at),
            format_time(time)
        ));
    }
    Ok(())
}

fn bad_line(path: &Path, line: usize, message: String) -> CommandError {
    CommandError::BadLine {
        path: path.to_owned(),
        line,
        message,
    }
}

/// Calls `f` with the 1-based line number and the event of every line that is not blank.
fn for_each_line(
    path: &Path,
    mut f: impl FnMut(usize, ImportedEvent) -> Result<(), CommandError>,
) -> Result<(), CommandError> {
    let io = |source| CommandError::Io {
        path: path.to_owned(),
        source,
    };
    let mut reader = BufReader::new(File::open(path).map_err(io)?);
    let mut bytes = Vec::new();
    for number in 1.. {
        bytes.clear();
        if reader.read_until(b'\n', &mut bytes).map_err(io)? == 0 {
            break;
        }
        let text = std::str::from_utf8(&bytes).map_err(|e| {
            bad_line(
                path,
                number,
                format!(
                    "not UTF-8 (an invalid byte at column {})",
                    e.valid_up_to() + 1
                ),
            )
        })?;
        let text = text.trim_end_matches(['\n', '\r']);
        if text.trim().is_empty() {
            continue;
        }
        let event = parse_line(text).map_err(|message| bad_line(path, number, message))?;
        f(number, event)?;
    }
    Ok(())
}
