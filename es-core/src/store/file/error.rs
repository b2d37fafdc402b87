//! [`OpenError`]: why a file store could not be opened, or its log not verified.

use std::io;
use std::path::PathBuf;

use super::damage::Damage;
use super::format::FORMAT_VERSION;
use super::scan::ScanError;
use crate::ReadError;

/// Why [`FileStore::open`](super::FileStore::open) failed, or why
/// [`FileStore::verify`](super::FileStore::verify) could not read the log (then only `Io`
/// and `UnsupportedVersion`: verify lists damage in its report). Nothing in the directory
/// was modified, except where [`OpenError::Io`] happened while repairing a torn tail.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum OpenError {
    /// Another open store (in this process or another) holds the directory's lock file;
    /// reported after a quarter of a second of retrying, which rides out the moment a child
    /// process, forked while a store was open, shares its lock until it runs its program.
    #[error("the store in {} is already open, by this or another process", dir.display())]
    Locked {
        /// The store directory.
        dir: PathBuf,
    },
    /// Damage before the tail of the log: recovery does not guess, it stops.
    /// [`FileStore::verify`](super::FileStore::verify) lists every damaged frame.
    #[error("damaged data in {} at byte offset {offset}: {damage}", segment.display())]
    Corrupt {
        /// The segment file holding the damage.
        segment: PathBuf,
        /// The byte offset of the damaged frame or header in that file.
        offset: u64,
        /// What is wrong.
        damage: Damage,
    },
    /// A segment was written in a format version this build does not read.
    #[error(
        "{} has format version {found}; this build reads version {supported}",
        segment.display()
    )]
    UnsupportedVersion {
        /// The segment file.
        segment: PathBuf,
        /// The version in its header.
        found: u32,
        /// The version this build reads.
        supported: u32,
    },
    /// The directory holds no segment file: it is not a file store. Reported by
    /// [`FileStore::verify`](super::FileStore::verify), which has nothing to check there. (A
    /// writable open starts a new store in such a directory, and a read-only open sees an
    /// empty log that a writer may start later.)
    #[error("{} holds no segment file (seg-NNNNNNNNNN.log): not a file store", dir.display())]
    NotAStore {
        /// The directory.
        dir: PathBuf,
    },
    /// A file operation failed.
    #[error("I/O failed on {}", path.display())]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// What the operating system reported.
        #[source]
        source: io::Error,
    },
}

impl From<ScanError> for OpenError {
    fn from(error: ScanError) -> Self {
        match error {
            ScanError::Io { path, source } => OpenError::Io { path, source },
            ScanError::Damaged {
                segment,
                damage: Damage::UnsupportedVersion { found },
                ..
            } => OpenError::UnsupportedVersion {
                segment,
                found,
                supported: FORMAT_VERSION,
            },
            ScanError::Damaged {
                segment,
                offset,
                damage,
            } => OpenError::Corrupt {
                segment,
                offset,
                damage,
            },
        }
    }
}

impl From<ScanError> for ReadError {
    fn from(error: ScanError) -> Self {
        match error {
            ScanError::Io { source, .. } => ReadError::Io(source),
            ScanError::Damaged {
                segment,
                offset,
                damage,
            } => ReadError::Corrupt {
                segment,
                offset,
                damage,
            },
        }
    }
}
