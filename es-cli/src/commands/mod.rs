//! One module per command; each writes its results to `Output::out`.

mod check;
mod export;
mod import;
mod inspect;
mod migrate;
mod tail;
mod verify;

use std::ffi::OsStr;
use std::path::{Path, PathBuf};

use es_core::{AppendError, Event, EventStore, FileStore, OpenError, ReadError};
use es_postgres::ConnectError;

use crate::args::{StoreCommand, TypedCommand, UntypedCommand};
use crate::location::{LocationError, StoreLocation};
use crate::{Exit, Output};

/// Why a command could not run.
#[derive(Debug, thiserror::Error)]
pub enum CommandError {
    #[error(transparent)]
    Location(#[from] LocationError),
    #[error("{} is not a store directory (no such directory)", dir.display())]
    NoStore { dir: PathBuf },
    #[error("cannot open the store in {}", dir.display())]
    Open {
        dir: PathBuf,
        #[source]
        source: OpenError,
    },
    #[error("cannot connect to the store at {location}")]
    Connect {
        /// The location, its password masked.
        location: String,
        #[source]
        source: ConnectError,
    },
    #[error("cannot verify {}", dir.display())]
    Verify {
        dir: PathBuf,
        #[source]
        source: OpenError,
    },
    #[error("cannot read the log")]
    Read(#[from] ReadError),
    #[error("cannot append")]
    Append(#[from] AppendError),
    #[error("{}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot write the output")]
    Output(#[source] std::io::Error),
    #[error("{}:{line}: {message}", path.display())]
    BadLine {
        path: PathBuf,
        line: usize,
        message: String,
    },
    #[error("{0}")]
    Refused(String),
    /// A migrate target that holds events other than an earlier run of the same copy.
    #[error("{0}")]
    NotThisCopy(String),
    /// A copy that failed part way; `remains` says what it left behind.
    #[error("migrate stopped; {remains}")]
    Stopped {
        remains: String,
        #[source]
        source: Box<CommandError>,
    },
}

impl From<std::io::Error> for CommandError {
    fn from(error: std::io::Error) -> Self {
        CommandError::Output(error)
    }
}

pub(crate) type CommandResult = Result<Exit, CommandError>;

pub(crate) fn untyped(command: UntypedCommand, output: &mut Output<'_>) -> CommandResult {
    match command {
        UntypedCommand::Store(command) => store(command, output),
        UntypedCommand::Migrate(args) => migrate::run_as_stored(&args, output),
    }
}

pub(crate) fn store(command: StoreCommand, output: &mut Output<'_>) -> CommandResult {
    match command {
        StoreCommand::Inspect(args) => inspect::run(&args, output),
        StoreCommand::Tail(args) => tail::run(&args, output),
        StoreCommand::Verify(args) => verify::run(&args.store, output),
        StoreCommand::Export(args) => export::run(&args, output),
        StoreCommand::Import(args) => import::run(&args, output),
    }
}

pub(crate) fn typed<E: Event>(command: TypedCommand, output: &mut Output<'_>) -> CommandResult {
    match command {
        TypedCommand::Store(StoreCommand::Import(args)) => import::run_typed::<E>(&args, output),
        TypedCommand::Store(command) => store(command, output),
        TypedCommand::Check(args) => check::run::<E>(&args.store, output),
        TypedCommand::Migrate(args) => migrate::run_upcast::<E>(&args, output),
    }
}

/// A store opened by a command: the file store of a directory, or a PostgreSQL schema.
type Store = Box<dyn EventStore>;

fn location(arg: &OsStr) -> Result<StoreLocation, CommandError> {
    Ok(StoreLocation::parse(arg)?)
}

/// Opens an existing store for reading only.
///
/// A directory is opened read-only: no lock is taken, so the application that owns the log
/// can keep appending, and nothing is modified (a torn tail is left in place, unseen). A
/// missing directory is an error rather than a new empty store. A PostgreSQL store is shared
/// by design; connecting creates its schema's tables if they are missing (an empty log).
fn open_existing(location: &StoreLocation) -> Result<Store, CommandError> {
    match location {
        StoreLocation::Dir(dir) => {
            if !dir.is_dir() {
                return Err(CommandError::NoStore { dir: dir.clone() });
            }
            let store = FileStore::open_read_only(dir).map_err(|source| CommandError::Open {
                dir: dir.clone(),
                source,
            })?;
            // A directory no store ever wrote (`/etc`) reads as an empty log to the library,
            // which lets a reader start before its writer; a command says what it is instead.
            if store.recovery().segments == 0 {
                return Err(CommandError::Open {
                    dir: dir.clone(),
                    source: OpenError::NotAStore { dir: dir.clone() },
                });
            }
            Ok(Box::new(store))
        }
        StoreLocation::Postgres(_) => open(location),
    }
}

/// Opens (or creates) a store for writing; a directory fails if another store has it open.
fn open(location: &StoreLocation) -> Result<Store, CommandError> {
    match location {
        StoreLocation::Dir(dir) => {
            let store = FileStore::open(dir).map_err(|source| CommandError::Open {
                dir: dir.clone(),
                source,
            })?;
            Ok(Box::new(store))
        }
        StoreLocation::Postgres(pg) => {
            let store = pg.connect().map_err(|source| CommandError::Connect {
                location: pg.to_string(),
                source,
            })?;
            Ok(Box::new(store))
        }
    }
}

/// Checks the frames of a store directory; the one file-store-only read of the commands.
fn verify_dir(dir: &Path) -> Result<es_core::VerifyReport, CommandError> {
    FileStore::verify(dir).map_err(|source| CommandError::Verify {
        dir: dir.to_owned(),
        source,
    })
}

/// `n` with thousands separators, for tables people read.
fn count(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// `n` and `noun`, plural unless `n` is 1: "1 event", "2,000 events".
fn counted(n: u64, noun: &str) -> String {
    if n == 1 {
        format!("1 {noun}")
    } else {
        format!("{} {noun}s", count(n))
    }
}

/// A byte count in B, KiB, MiB or GiB.
fn bytes(n: u64) -> String {
    const UNITS: [&str; 4] = ["B", "KiB", "MiB", "GiB"];
    let mut value = n;
    let mut unit = 0;
    while value >= 10 * 1024 && unit < UNITS.len() - 1 {
        value /= 1024;
        unit += 1;
    }
    format!("{value} {}", UNITS[unit])
}
