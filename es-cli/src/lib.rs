//! The `es` command line over an event store: a [`FileStore`](es_core::FileStore) directory
//! or a PostgreSQL schema ([`es_postgres::PgStore`]).
//!
//! The `es` binary has the commands that need no event types: `inspect`, `tail`, `verify`,
//! `export`, `import`, and `migrate`, which copies a log as stored. Build your own binary with
//! [`run`] and your event enum to add `check` (decode every stored event through your
//! upcasters, counting upcast, removed and failed events), `import --check` (decode every line
//! before writing anything), and to make `migrate` upcast every event to its current version:
//!
//! ```no_run
//! # use es_core::Event;
//! # #[derive(serde::Serialize, serde::Deserialize, schemars::JsonSchema, Event)]
//! # struct Pinged {}
//! # #[derive(Event)] enum AccountEvent { Pinged(Pinged) }
//! fn main() -> std::process::ExitCode {
//!     es_cli::run::<AccountEvent>()
//! }
//! ```
//!
//! Every store argument is a directory or a `postgres://` URL ([`StoreLocation`]); the URL's
//! `schema` parameter picks the schema. `es migrate bank-data postgres://…` moves a file
//! store's log into PostgreSQL.
//!
//! Commands that only read (`inspect`, `tail`, `export`, `check`, and the source of
//! `migrate`) open a directory read-only: they take no lock, so they work while the
//! application that owns the log is running and appending, and they modify nothing. `import`
//! and the target of `migrate` open it for writing, and fail if it is open elsewhere. A
//! PostgreSQL store is shared by any number of processes.
//!
//! Exit codes: 0 success, also when standard output is closed early (`es export STORE | head
//! -1` ends quietly); 1 the log has problems (damaged frames for `verify`, or a damaged last
//! batch whose append may have been acknowledged; events that do not decode for `check`); 2
//! the command could not run (bad arguments, a store that does not
//! open, I/O errors). Results go to standard output, errors and progress bars to standard
//! error; progress bars show only when standard error is a terminal.

mod args;
mod commands;
mod jsonl;
mod location;
mod progress;

use std::ffi::OsString;
use std::io::{IsTerminal, Write};
use std::process::ExitCode;

use clap::Parser;
use es_core::Event;

pub use jsonl::{format_time, SCHEMA_VERSION_KEYS};
pub use location::{LocationError, PgLocation, StoreLocation};

/// Entry points for the fuzz targets in `fuzz/`; not part of the API.
#[doc(hidden)]
pub mod __fuzz {
    /// Parses one line of a file for `import`, in either format: the stream, the version the
    /// event gets in it, and the event.
    ///
    /// # Errors
    /// A message saying what is wrong with the line.
    pub fn parse_import_line(line: &str) -> Result<(String, u64, es_core::NewEvent), String> {
        crate::jsonl::parse_line(line).map(|e| (e.stream_id, e.stream_version, e.event))
    }
}

/// How a command ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// It did what was asked, and found no problem.
    Success = 0,
    /// It ran, and found problems in the log.
    Problems = 1,
    /// It could not run.
    Failed = 2,
}

impl From<Exit> for ExitCode {
    fn from(exit: Exit) -> Self {
        ExitCode::from(exit as u8)
    }
}

/// Where a command writes, and whether it may draw progress bars.
pub struct Output<'a> {
    /// Results.
    pub out: &'a mut dyn Write,
    /// Errors and notes.
    pub err: &'a mut dyn Write,
    /// Whether to draw progress bars on standard error.
    pub progress: bool,
}

/// Runs the typed command line (every command, with `check` and `migrate` for `E`) on the
/// process's arguments.
#[must_use]
pub fn run<E: Event>() -> ExitCode {
    on_process(|output| execute::<E>(std::env::args_os(), output))
}

/// Runs the `es` binary's command line (no typed commands) on the process's arguments.
#[must_use]
pub fn run_untyped() -> ExitCode {
    on_process(|output| execute_untyped(std::env::args_os(), output))
}

/// Runs `command` on the process's standard output and error, with progress bars when
/// standard error is a terminal.
fn on_process(command: impl FnOnce(&mut Output<'_>) -> Exit) -> ExitCode {
    let (mut out, mut err) = (std::io::stdout().lock(), std::io::stderr());
    let progress = err.is_terminal();
    command(&mut Output {
        out: &mut out,
        err: &mut err,
        progress,
    })
    .into()
}

/// The typed command line on `args` (the first is the program name), writing to `output`.
pub fn execute<E: Event>(
    args: impl IntoIterator<Item = impl Into<OsString> + Clone>,
    output: &mut Output<'_>,
) -> Exit {
    match args::TypedArgs::try_parse_from(args) {
        Ok(parsed) => finish(commands::typed::<E>(parsed.command, output), output),
        Err(e) => clap_exit(&e, output),
    }
}

/// The untyped command line on `args` (the first is the program name), writing to `output`.
pub fn execute_untyped(
    args: impl IntoIterator<Item = impl Into<OsString> + Clone>,
    output: &mut Output<'_>,
) -> Exit {
    match args::UntypedArgs::try_parse_from(args) {
        Ok(parsed) => finish(commands::untyped(parsed.command, output), output),
        Err(e) => clap_exit(&e, output),
    }
}

fn finish(result: Result<Exit, commands::CommandError>, output: &mut Output<'_>) -> Exit {
    match result {
        Ok(exit) => exit,
        // A reader that stopped reading (`es export big | head -1`) is a normal end of the
        // output, as for ripgrep: nothing is wrong, and nothing is said.
        Err(commands::CommandError::Output(error))
            if error.kind() == std::io::ErrorKind::BrokenPipe =>
        {
            Exit::Success
        }
        Err(error) => {
            // Nothing sensible is left to do if standard error itself fails.
            let _ = writeln!(output.err, "error: {}", with_causes(&error));
            Exit::Failed
        }
    }
}

/// An error's message followed by each of its causes: `message: cause: cause`.
pub(crate) fn with_causes(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

fn clap_exit(error: &clap::Error, output: &mut Output<'_>) -> Exit {
    let text = error.render().to_string();
    if error.use_stderr() {
        let _ = write!(output.err, "{text}");
        Exit::Failed
    } else {
        // --help and --version
        let _ = write!(output.out, "{text}");
        Exit::Success
    }
}
