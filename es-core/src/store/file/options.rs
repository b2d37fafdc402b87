//! How to open a [`FileStore`]: [`FileStoreOptions`] and the [`Durability`] of appends.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use super::format::SEGMENT_HEADER_LEN;
use super::fs::{FileSystem, StdFs};
use super::{FileStore, OpenError, DEFAULT_SEGMENT_SIZE};

/// When an append's events are on disk, and what a power failure can take.
///
/// A crash of the process alone (a panic, `kill -9`) loses nothing acknowledged in any mode:
/// acknowledged events are in the operating system's cache and reach the disk without the
/// process. The modes differ when the machine itself stops.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Durability {
    /// `append` returns after the segment file is synced (`fdatasync`). A power failure loses
    /// no acknowledged append. Concurrent appends share one sync (group commit). The default.
    #[default]
    Sync,
    /// `append` returns after the write; a background thread syncs every `every` (and when the
    /// store is dropped). A power failure loses at most the appends acknowledged in the last
    /// `every` plus the time one sync takes; what survives is a prefix of the log, cut at a
    /// batch boundary.
    Flush {
        /// How often to sync.
        every: Duration,
    },
    /// Never sync the log; for tests and scratch data. A power failure can lose any appends
    /// the operating system had not yet written back, and can leave damage in the last
    /// segment that `open` reports as corruption rather than guess.
    None,
}

/// How to open a [`FileStore`]: durability, segment size, or read-only.
///
/// # Examples
/// ```
/// use std::time::Duration;
/// use es_core::Durability;
/// use es_core::FileStore;
///
/// let dir = tempfile::tempdir()?;
/// let store = FileStore::options()
///     .durability(Durability::Flush { every: Duration::from_millis(50) })
///     .segment_size(8 << 20)
///     .open(dir.path())?;
/// assert_eq!(store.durability(), Durability::Flush { every: Duration::from_millis(50) });
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone)]
pub struct FileStoreOptions {
    pub(super) durability: Durability,
    pub(super) segment_size: u64,
    read_only: bool,
    pub(super) fs: Arc<dyn FileSystem>,
}

impl Default for FileStoreOptions {
    fn default() -> Self {
        Self {
            durability: Durability::default(),
            segment_size: DEFAULT_SEGMENT_SIZE,
            read_only: false,
            fs: Arc::new(StdFs),
        }
    }
}

impl FileStoreOptions {
    /// When appends are durable; [`Durability::Sync`] by default.
    #[must_use]
    pub fn durability(mut self, durability: Durability) -> Self {
        self.durability = durability;
        self
    }

    /// The size in bytes at which a new segment file is started (64 MiB by default). A batch
    /// is never split across segments, so a segment can exceed it by one group of batches.
    #[must_use]
    pub fn segment_size(mut self, bytes: u64) -> Self {
        self.segment_size = bytes.max(SEGMENT_HEADER_LEN as u64 + 1);
        self
    }

    /// Opens the store read-only, beside the process that writes it; see
    /// [`FileStore::open_read_only`]. Durability and segment size do not apply then.
    #[must_use]
    pub fn read_only(mut self) -> Self {
        self.read_only = true;
        self
    }

    /// Replaces the file operations, for fault-injection tests.
    #[cfg(test)]
    pub(crate) fn file_system(mut self, fs: Arc<dyn FileSystem>) -> Self {
        self.fs = fs;
        self
    }

    /// Opens (or creates) the store in `dir`; see [`FileStore::open`], and
    /// [`FileStore::open_read_only`] after [`read_only`](Self::read_only).
    ///
    /// # Errors
    /// See [`FileStore::open`] and [`FileStore::open_read_only`].
    pub fn open(self, dir: impl AsRef<Path>) -> Result<FileStore, OpenError> {
        if self.read_only {
            FileStore::open_read_only_with(self.fs, dir.as_ref())
        } else {
            FileStore::open_with(self, dir.as_ref())
        }
    }
}
