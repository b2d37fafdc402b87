//! `tail`: the last events, optionally following new ones.

use std::collections::VecDeque;
use std::time::Duration;

use es_core::{EventStore, StoredEvent};

use super::{location, open_existing, CommandError, CommandResult};
use crate::args::TailArgs;
use crate::jsonl::format_time;
use crate::{Exit, Output};

/// Payloads longer than this are cut in the listing.
const PAYLOAD_CHARS: usize = 120;

pub fn run(args: &TailArgs, output: &mut Output<'_>) -> CommandResult {
    let store = open_existing(&location(&args.store)?)?;
    let head = store.head_position()?;
    let mut next = head + 1;
    for stored in last_events(&*store, head, args.count)? {
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

/// The last `count` events up to `head`. Positions may have gaps (PostgreSQL leaves one for
/// each append that failed), so the window widens until it holds `count` events or the log's
/// start.
fn last_events(
    store: &dyn EventStore,
    head: u64,
    count: u64,
) -> Result<VecDeque<StoredEvent>, CommandError> {
    let mut window = count;
    loop {
        let from = head.saturating_sub(window) + 1;
        let capacity = usize::try_from(count.min(1024)).unwrap_or(1024);
        let mut last = VecDeque::with_capacity(capacity);
        for stored in store.read_all(from)? {
            let stored = stored?;
            if stored.position > head {
                break;
            }
            if last.len() as u64 == count {
                last.pop_front();
            }
            if count > 0 {
                last.push_back(stored);
            }
        }
        if last.len() as u64 >= count || from == 1 {
            return Ok(last);
        }
        window = window.saturating_mul(2);
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
