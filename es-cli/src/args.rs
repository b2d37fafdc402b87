//! The command-line grammar.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// The `es` binary.
#[derive(Debug, Parser)]
#[command(
    name = "es",
    version,
    about = "Inspect, verify, export and import an event log directory"
)]
pub struct UntypedArgs {
    #[command(subcommand)]
    pub command: StoreCommand,
}

/// A binary built with `es_cli::run::<YourEvent>()`.
#[derive(Debug, Parser)]
#[command(
    version,
    about = "Inspect, verify, check, migrate, export and import an event log directory"
)]
pub struct TypedArgs {
    #[command(subcommand)]
    pub command: TypedCommand,
}

/// Commands that need no event types.
#[derive(Debug, Subcommand)]
pub enum StoreCommand {
    /// Streams, events, positions, sizes, and a histogram of tags × versions.
    Inspect(InspectArgs),
    /// The last events of the log.
    Tail(TailArgs),
    /// Check the checksum of every frame; exit 1 naming segment and offset of any damage.
    Verify(DirArg),
    /// Write every event as JSON Lines.
    Export(ExportArgs),
    /// Append events from a JSON Lines file (this tool's export, or EventStoreDB-style).
    Import(ImportArgs),
}

/// Every command, with those that decode through your event types.
#[derive(Debug, Subcommand)]
pub enum TypedCommand {
    #[command(flatten)]
    Store(StoreCommand),
    /// Decode every stored event through the upcasters; exit 1 if any fails.
    Check(DirArg),
    /// Copy the log to `NEW_DIR` with every event upcast to its current version.
    Migrate(MigrateArgs),
}

#[derive(Debug, Args)]
pub struct DirArg {
    /// The store directory.
    pub dir: PathBuf,
}

#[derive(Debug, Args)]
pub struct InspectArgs {
    /// The store directory.
    pub dir: PathBuf,
    /// How many of the largest streams to list.
    #[arg(long, default_value_t = 10)]
    pub streams: usize,
}

#[derive(Debug, Args)]
pub struct TailArgs {
    /// The store directory.
    pub dir: PathBuf,
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
    /// The store directory.
    pub dir: PathBuf,
    /// JSON Lines, one event per line (the only format; accepted for clarity in scripts).
    #[arg(long)]
    pub jsonl: bool,
    /// Write to this file instead of standard output.
    #[arg(short, long)]
    pub output: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct ImportArgs {
    /// The store directory (created if missing).
    pub dir: PathBuf,
    /// The JSON Lines file.
    pub file: PathBuf,
}

#[derive(Debug, Args)]
pub struct MigrateArgs {
    /// The store directory to read; left untouched.
    pub dir: PathBuf,
    /// The directory of the new log; must not exist or be empty.
    pub new_dir: PathBuf,
}
