//! `export`: every event as a JSON line, in position order.

use std::fs::File;
use std::io::{BufWriter, Write};

use es_core::EventStore;

use super::{counted, location, open_existing, CommandError, CommandResult};
use crate::args::ExportArgs;
use crate::jsonl::ExportedEvent;
use crate::{progress, Exit, Output};

pub fn run(args: &ExportArgs, output: &mut Output<'_>) -> CommandResult {
    let store = open_existing(&location(&args.store)?)?;
    let bar = progress::events(output.progress, store.head_position()?, "exporting");
    let mut file = match &args.output {
        Some(path) => Some(BufWriter::new(File::create(path).map_err(|source| {
            CommandError::Io {
                path: path.clone(),
                source,
            }
        })?)),
        None => None,
    };
    let mut exported = 0u64;
    {
        let sink: &mut dyn Write = match &mut file {
            Some(file) => file,
            None => &mut *output.out,
        };
        for stored in store.read_all(1)? {
            let stored = stored?;
            serde_json::to_writer(&mut *sink, &ExportedEvent::new(&stored))
                .map_err(|e| CommandError::Output(e.into()))?;
            sink.write_all(b"\n")?;
            exported += 1;
            bar.inc(1);
        }
        sink.flush()?;
    }
    bar.finish_and_clear();
    if let Some(path) = &args.output {
        if let Some(file) = file {
            file.into_inner()
                .map_err(|e| CommandError::Output(e.into_error()))?
                .sync_all()
                .map_err(|source| CommandError::Io {
                    path: path.clone(),
                    source,
                })?;
        }
        writeln!(
            output.out,
            "exported {} to {}",
            counted(exported, "event"),
            path.display()
        )?;
    }
    Ok(Exit::Success)
}
