//! `verify`: check a log without changing anything.
//!
//! A directory: every frame's checksum, naming segment and offset of any damage. PostgreSQL
//! keeps its own checksums; there the whole log is read and what the store promises is
//! checked: positions that increase, stream versions that count from 1 without gaps, event ids
//! that appear once, payloads that are JSON.

use std::collections::{HashMap, HashSet};
use std::ffi::OsStr;
use std::path::Path;

use es_core::{EventStore, ReadError, StoredEvent};
use es_postgres::PgError;

use super::{counted, location, open_existing, verify_dir, CommandError, CommandResult};
use crate::location::StoreLocation;
use crate::{progress, Exit, Output};

/// Problems listed in full; the rest are counted.
const SHOWN_PROBLEMS: usize = 20;

pub fn run(store: &OsStr, output: &mut Output<'_>) -> CommandResult {
    let location = location(store)?;
    match &location {
        StoreLocation::Dir(dir) => frames(dir, output),
        StoreLocation::Postgres(_) => {
            let store = open_existing(&location)?;
            events(&*store, &location, output)
        }
    }
}

fn frames(dir: &Path, output: &mut Output<'_>) -> CommandResult {
    if !dir.is_dir() {
        return Err(CommandError::NoStore {
            dir: dir.to_owned(),
        });
    }
    let report = verify_dir(dir)?;
    let out = &mut *output.out;
    writeln!(
        out,
        "{}: {}, {}",
        dir.display(),
        counted(report.segments as u64, "segment"),
        counted(report.events, "intact event")
    )?;
    if let Some(tail) = &report.torn_tail {
        let positions = if tail.first_position == tail.last_position {
            format!("position {}", tail.first_position)
        } else {
            format!(
                "positions {} to {}",
                tail.first_position, tail.last_position
            )
        };
        if tail.possibly_acknowledged {
            writeln!(
                out,
                "DAMAGED LAST BATCH: {} from byte {} ({} bytes, {positions}): {};                  its bytes are all there, so its append may have been acknowledged; opening                  the store cuts them off and keeps them in {}.cut-{}-N",
                tail.segment.display(),
                tail.offset,
                tail.bytes_removed,
                tail.damage,
                tail.segment.display(),
                tail.offset,
            )?;
        } else {
            writeln!(
                out,
                "torn tail: {} from byte {} ({} bytes of an unfinished append, {positions};                  opening the store cuts them off and keeps them in {}.cut-{}-N): {}",
                tail.segment.display(),
                tail.offset,
                tail.bytes_removed,
                tail.segment.display(),
                tail.offset,
                tail.damage
            )?;
        }
    }
    for frame in &report.damaged {
        writeln!(
            out,
            "DAMAGED: {} at byte offset {}: {}",
            frame.segment.display(),
            frame.offset,
            frame.damage
        )?;
    }
    if report.is_intact() {
        writeln!(out, "ok: no damaged frames")?;
        Ok(Exit::Success)
    } else if report.is_clean() {
        writeln!(
            out,
            "the last batch is damaged and may have been acknowledged"
        )?;
        Ok(Exit::Problems)
    } else {
        writeln!(
            out,
            "{}",
            counted(report.damaged.len() as u64, "damaged frame")
        )?;
        Ok(Exit::Problems)
    }
}

/// What reading the whole log found.
#[derive(Default)]
struct Findings {
    events: u64,
    last_position: u64,
    /// Each stream's last version seen.
    streams: HashMap<String, u64>,
    ids: HashSet<es_core::Uuid>,
    problems: Vec<String>,
    more_problems: u64,
}

impl Findings {
    fn look_at(&mut self, event: &StoredEvent) {
        let at = format!(
            "position {} (`{}`@{})",
            event.position, event.stream_id, event.stream_version
        );
        if event.position <= self.last_position {
            self.problem(format!("{at}: comes after position {}", self.last_position));
        }
        let previous = self.streams.get(&event.stream_id).copied().unwrap_or(0);
        if event.stream_version != previous + 1 {
            self.problem(format!(
                "{at}: stream version {} follows version {previous}",
                event.stream_version
            ));
        }
        if !self.ids.insert(event.event_id) {
            self.problem(format!("{at}: event id {} appears twice", event.event_id));
        }
        if let Err(error) = serde_json::from_slice::<serde::de::IgnoredAny>(&event.payload) {
            self.problem(format!("{at}: the payload is not JSON: {error}"));
        }
        self.streams
            .insert(event.stream_id.clone(), event.stream_version);
        self.last_position = self.last_position.max(event.position);
        self.events += 1;
    }

    fn problem(&mut self, problem: String) {
        if self.problems.len() < SHOWN_PROBLEMS {
            self.problems.push(problem);
        } else {
            self.more_problems += 1;
        }
    }
}

fn events(
    store: &dyn EventStore,
    location: &StoreLocation,
    output: &mut Output<'_>,
) -> CommandResult {
    let bar = progress::events(output.progress, store.head_position()?, "verifying");
    let mut findings = Findings::default();
    for stored in store.read_all(1)? {
        match stored {
            Ok(stored) => findings.look_at(&stored),
            // A row the store cannot turn into an event (metadata that is not a JSON object,
            // a negative version, ...) is damage; the read cannot go past it.
            Err(error) if is_malformed(&error) => {
                findings.problem(format!(
                    "after position {}: {}",
                    findings.last_position,
                    crate::with_causes(&error)
                ));
                break;
            }
            Err(error) => return Err(error.into()),
        }
        bar.inc(1);
    }
    bar.finish_and_clear();
    let out = &mut *output.out;
    writeln!(
        out,
        "{location}: {} in {}",
        counted(findings.events, "event"),
        counted(findings.streams.len() as u64, "stream")
    )?;
    for problem in &findings.problems {
        writeln!(out, "PROBLEM: {problem}")?;
    }
    if findings.problems.is_empty() {
        writeln!(
            out,
            "ok: positions increase, stream versions count from 1 without gaps, event ids are unique, payloads are JSON"
        )?;
        return Ok(Exit::Success);
    }
    if findings.more_problems > 0 {
        writeln!(out, "... and {} more", findings.more_problems)?;
    }
    let total = findings.problems.len() as u64 + findings.more_problems;
    writeln!(out, "{}", counted(total, "problem"))?;
    Ok(Exit::Problems)
}

/// Whether a read failed on a malformed row rather than on the connection or the server.
fn is_malformed(error: &ReadError) -> bool {
    match error {
        ReadError::Backend(source) => source
            .downcast_ref::<PgError>()
            .is_some_and(|error| matches!(error, PgError::Malformed { .. })),
        _ => false,
    }
}
