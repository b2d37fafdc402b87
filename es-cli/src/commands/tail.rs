//! `tail`: the last events, optionally following new ones.

use std::time::Duration;

use es_core::{EventStore, StoredEvent};

use super::{open_existing, CommandResult};
use crate::args::TailArgs;
use crate::jsonl::format_time;
use crate::{Exit, Output};

/// Payloads longer than this are cut in the listing.
const PAYLOAD_CHARS: usize = 120;

pub fn run(args: &TailArgs, output: &mut Output<'_>) -> CommandResult {
    let store = open_existing(&args.dir)?;
    let head = store.head_position()?;
    let mut next = head.saturating_sub(args.count) + 1;
    for stored in store.read_all(next)? {
        let stored = stored?;
        next = stored.position + 1;
        print(&stored, output)?;
    }
    if !args.follow {
        return Ok(Exit::Success);
    }
    output.out.flush()?;
    loop {
        let head = store.wait_for_append(next - 1, Duration::from_secs(3600))?;
        if head < next {
            continue;
        }
        for stored in store.read_all(next)? {
            let stored = stored?;
            next = stored.position + 1;
            print(&stored, output)?;
        }
        output.out.flush()?;
    }
}

fn print(stored: &StoredEvent, output: &mut Output<'_>) -> std::io::Result<()> {
    let payload = String::from_utf8_lossy(&stored.payload);
    let shown: String = payload.chars().take(PAYLOAD_CHARS).collect();
    let ellipsis = if payload.chars().count() > PAYLOAD_CHARS {
        "…"
    } else {
        ""
    };
    writeln!(
        output.out,
        "#{} {} {}@{} {} v{} {shown}{ellipsis}",
        stored.position,
        format_time(stored.recorded_at),
        stored.stream_id,
        stored.stream_version,
        stored.event_type,
        stored.schema_version,
    )
}
