//! `verify`: every frame's checksum, without changing anything.

use std::path::Path;

use es_core::FileStore;

use super::{counted, CommandError, CommandResult};
use crate::{Exit, Output};

pub fn run(dir: &Path, output: &mut Output<'_>) -> CommandResult {
    if !dir.is_dir() {
        return Err(CommandError::NoStore {
            dir: dir.to_owned(),
        });
    }
    let report = FileStore::verify(dir).map_err(|source| CommandError::Verify {
        dir: dir.to_owned(),
        source,
    })?;
    let out = &mut *output.out;
    writeln!(
        out,
        "{}: {}, {}",
        dir.display(),
        counted(report.segments as u64, "segment"),
        counted(report.events, "intact event")
    )?;
    if let Some(tail) = &report.torn_tail {
        writeln!(
            out,
            "torn tail: {} from byte {} ({} bytes of an unacknowledged append; opening the store cuts it off): {}",
            tail.segment.display(),
            tail.offset,
            tail.bytes_removed,
            tail.damage
        )?;
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
    if report.is_clean() {
        writeln!(out, "ok: no damaged frames")?;
        Ok(Exit::Success)
    } else {
        writeln!(
            out,
            "{}",
            counted(report.damaged.len() as u64, "damaged frame")
        )?;
        Ok(Exit::Problems)
    }
}
