//! The command-line grammar.

use std::ffi::OsString;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// What every store argument accepts, shown under each command's help.
const STORES: &str = "\
A store is a directory (a file store) or a PostgreSQL URL, postgres://user@host:port/database; \
the URL's `schema` parameter picks the schema (postgres://postgres@127.0.0.1:5432/test?schema=bank), \
by default `es`. Passwords are never shown.";

/// The `es` binary.
#[derive(Debug, Parser)]
#[command(
    name = "es",
    version,
    about = "Inspect, verify, export, import and copy an event log: a directory or a PostgreSQL schema",
    after_help = STORES
)]
pub struct UntypedArgs {
    #[command(subcommand)]
    pub command: UntypedCommand,
}

/// A binary built with `es_cli::run::<YourEvent>()`.
#[derive(Debug, Parser)]
#[command(
    version,
    about = "Inspect, verify, check, migrate, export and import an event log: a directory or a PostgreSQL schema",
    after_help = STORES
)]
pub struct TypedArgs {
    #[command(subcommand)]
    pub command: TypedCommand,
}

/// Commands that need no event types.
#[derive(Debug, Subcommand)]
pub enum StoreCommand {
    /// Streams, events, positions, sizes, and a histogram of tags × versions.
    #[command(after_help = STORES)]
    Inspect(InspectArgs),
    /// The last events of the log.
    #[command(after_help = STORES)]
    Tail(TailArgs),
    /// Check every frame's checksum (a directory), or the order, versions and JSON of every
    /// event (PostgreSQL); exit 1 naming where any damage is.
    #[command(after_help = STORES)]
    Verify(StoreArg),
    /// Write every event as JSON Lines.
    #[command(after_help = STORES)]
    Export(ExportArgs),
    /// Append events from a JSON Lines file (this tool's export, or EventStoreDB-style).
    /// Every line is checked (format, limits, versions, ids) before anything is written;
    /// `--check` also decodes every line through your event types.
    #[command(after_help = STORES)]
    Import(ImportArgs),
}

/// The `es` binary's commands.
#[derive(Debug, Subcommand)]
pub enum UntypedCommand {
    #[command(flatten)]
    Store(StoreCommand),
    /// Copy the log to another store as stored, without decoding: same streams, versions, ids,
    /// metadata, times and order (a binary with your event types upcasts instead).
    #[command(after_help = STORES)]
    Migrate(MigrateArgs),
}

/// Every command, with those that decode through your event types.
#[derive(Debug, Subcommand)]
pub enum TypedCommand {
    #[command(flatten)]
    Store(StoreCommand),
    /// Decode every stored event through the upcasters, counting by tag and version the
    /// events upcast, removed on purpose and failed; exit 1 if any fails.
    #[command(after_help = STORES)]
    Check(StoreArg),
    /// Copy the log to another store with every event upcast to its current version. Events
    /// of removed tags are left out and split events written as several, so the stream
    /// versions after them are renumbered; snapshots and projection checkpoints are not
    /// copied (rebuild read models on the new log).
    #[command(after_help = STORES)]
    Migrate(MigrateArgs),
}

#[derive(Debug, Args)]
pub struct StoreArg {
    /// The store: a directory or a postgres:// URL.
    pub store: OsString,
}

#[derive(Debug, Args)]
pub struct InspectArgs {
    /// The store: a directory or a postgres:// URL.
    pub store: OsString,
    /// How many of the largest streams to list.
    #[arg(long, default_value_t = 10)]
    pub streams: usize,
}

#[derive(Debug, Args)]
pub struct TailArgs {
    /// The store: a directory or a postgres:// URL.
    pub store: OsString,
    /// How many events.
    #[arg(short = 'n', long = "lines", default_value_t = 10)]
    pub count: u64,
    /// Keep printing events as they are appended (by the application that owns the log),
    /// until interrupted.
    #[arg(short, long)]
    pub follow: bool,
}

#[derive(Debug, Args)]
pub struct ExportArgs {
    /// The store: a directory or a postgres:// URL.
    pub store: OsString,
    /// JSON Lines, one event per line (the only format; accepted for clarity in scripts).
    #[arg(long)]
    pub jsonl: bool,
    /// Write to this file instead of standard output.
    #[arg(short, long)]
    pub output: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct ImportArgs {
    /// The store: a directory (created if missing) or a postgres:// URL (its schema created
    /// if missing).
    pub store: OsString,
    /// The JSON Lines file.
    pub file: PathBuf,
    /// Before writing anything, decode every line through the event types (a binary built
    /// with `es_cli::run::<YourEvent>()`; the `es` binary has none): a line that does not
    /// decode fails the import, naming its line, and nothing is written. Without it, lines
    /// are checked for format, limits, versions and ids, but events are not decoded.
    #[arg(long)]
    pub check: bool,
}

#[derive(Debug, Args)]
pub struct MigrateArgs {
    /// The store to read: a directory or a postgres:// URL; left untouched.
    pub source: OsString,
    /// The new store: a directory that is new or empty, or a postgres:// URL whose schema
    /// holds no events, or the part of this same copy that an interrupted run wrote.
    pub target: OsString,
}
