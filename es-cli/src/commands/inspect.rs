//! `inspect`: what is in a log.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use es_core::EventStore;

use super::{bytes, count, counted, location, open_existing, CommandResult};
use crate::args::InspectArgs;
use crate::jsonl::format_time;
use crate::location::StoreLocation;
use crate::{progress, Exit, Output};

pub fn run(args: &InspectArgs, output: &mut Output<'_>) -> CommandResult {
    let location = location(&args.store)?;
    let store = open_existing(&location)?;
    let head = store.head_position()?;
    let bar = progress::events(output.progress, head, "reading");
    let mut events = 0u64;
    let mut payload_bytes = 0u64;
    let mut streams: HashMap<String, u64> = HashMap::new();
    let mut histogram: BTreeMap<String, BTreeMap<u32, u64>> = BTreeMap::new();
    let mut first = None;
    let mut last = None;
    for stored in store.read_all(1)? {
        let stored = stored?;
        events += 1;
        payload_bytes += stored.payload.len() as u64;
        *streams.entry(stored.stream_id.clone()).or_default() += 1;
        *histogram
            .entry(stored.event_type.clone())
            .or_default()
            .entry(stored.schema_version)
            .or_default() += 1;
        if first.is_none() {
            first = Some((stored.position, stored.recorded_at));
        }
        last = Some((stored.position, stored.recorded_at));
        bar.inc(1);
    }
    bar.finish_and_clear();
    // The size of a directory's files; a PostgreSQL schema's tables are the server's business.
    let disk = match &location {
        StoreLocation::Dir(dir) => Some(std::fs::read_dir(dir).map_or(0, |entries| {
            entries
                .filter_map(Result::ok)
                .filter_map(|e| e.metadata().ok())
                .filter(std::fs::Metadata::is_file)
                .map(|m| m.len())
                .sum()
        })),
        StoreLocation::Postgres(_) => None,
    };

    let out = &mut *output.out;
    writeln!(out, "store      {location}")?;
    writeln!(
        out,
        "events     {} in {}",
        count(events),
        counted(streams.len() as u64, "stream")
    )?;
    match (first, last) {
        (Some((p0, t0)), Some((p1, t1))) => {
            writeln!(out, "positions  {p0}..={p1}")?;
            writeln!(out, "recorded   {} .. {}", format_time(t0), format_time(t1))?;
        }
        _ => writeln!(out, "positions  none")?,
    }
    let average = payload_bytes.checked_div(events).unwrap_or(0);
    write!(
        out,
        "payloads   {} (average {} per event)",
        bytes(payload_bytes),
        bytes(average)
    )?;
    match disk {
        Some(disk) => writeln!(out, "; files on disk {}", bytes(disk))?,
        None => writeln!(out)?,
    }

    let mut largest: Vec<(&String, &u64)> = streams.iter().collect();
    largest.sort_by(|a, b| b.1.cmp(a.1).then_with(|| a.0.cmp(b.0)));
    writeln!(out, "\nlargest streams")?;
    for (stream, n) in largest.iter().take(args.streams) {
        writeln!(out, "  {stream:<30} {:>14}", counted(**n, "event"))?;
    }
    if largest.len() > args.streams {
        writeln!(out, "  ... {} more", largest.len() - args.streams)?;
    }

    let versions: BTreeSet<u32> = histogram.values().flat_map(|v| v.keys().copied()).collect();
    let width = histogram.keys().map(String::len).max().unwrap_or(4).max(4);
    writeln!(out, "\ntags × versions")?;
    write!(out, "  {:<width$}", "tag")?;
    for v in &versions {
        write!(out, " {:>10}", format!("v{v}"))?;
    }
    writeln!(out)?;
    for (tag, counts) in &histogram {
        write!(out, "  {tag:<width$}")?;
        for v in &versions {
            let cell = counts.get(v).map_or_else(|| "-".to_owned(), |n| count(*n));
            write!(out, " {cell:>10}")?;
        }
        writeln!(out)?;
    }
    Ok(Exit::Success)
}
