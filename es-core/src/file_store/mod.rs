//! [`FileStore`]: the embedded, durable event log. A directory of segment files holding
//! checksummed frames, an index rebuilt in memory on open, group-committed appends, and
//! snapshot and checkpoint files beside the log. `docs/format.md` describes the bytes.

mod aux_files;
mod error;
mod format;
mod fs;
mod index;
mod reader;
mod recovery;
mod window;
mod writer;

#[cfg(test)]
mod fault_tests;

use std::fmt;
use std::fs::{File, OpenOptions, TryLockError};
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Condvar, Mutex, RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::thread::JoinHandle;
use std::time::Duration;

pub use error::{OpenError, VerifyError};
pub use recovery::{DamagedFrame, RecoveryReport, TornTail, VerifyReport};

use self::aux_files::{CHECKPOINT_DIR, SNAPSHOT_DIR};
use self::format::{SegmentHeader, SEGMENT_HEADER_LEN};
use self::fs::{FileSystem, OpenMode, StdFs};
use self::index::{Index, SegmentEntry};
use self::reader::{AllEvents, FrameReader, StreamEvents, SEQUENTIAL_WINDOW, STREAM_WINDOW};
use self::recovery::{scan_log, Mode, ScanError, TEMP_SUFFIX};
use self::writer::{create_segment, lock, CommitQueue, Writer};
use crate::store::{AppendOutcome, AppendSignal, EventIter};
use crate::{AppendError, EventStore, ExpectedVersion, NewEvent, ReadError};

/// The name of the lock file in a store directory.
const LOCK_FILE: &str = "LOCK";
/// The default size at which a new segment is started.
const DEFAULT_SEGMENT_SIZE: u64 = 64 * 1024 * 1024;

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

/// How to open a [`FileStore`]: durability and segment size.
///
/// # Examples
/// ```
/// use std::time::Duration;
/// use es_core::file_store::Durability;
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
    durability: Durability,
    segment_size: u64,
    fs: Arc<dyn FileSystem>,
}

impl Default for FileStoreOptions {
    fn default() -> Self {
        Self {
            durability: Durability::default(),
            segment_size: DEFAULT_SEGMENT_SIZE,
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

    /// Replaces the file operations, for fault-injection tests.
    #[cfg(test)]
    pub(crate) fn file_system(mut self, fs: Arc<dyn FileSystem>) -> Self {
        self.fs = fs;
        self
    }

    /// Opens (or creates) the store in `dir`; see [`FileStore::open`].
    ///
    /// # Errors
    /// See [`FileStore::open`].
    pub fn open(self, dir: impl AsRef<Path>) -> Result<FileStore, OpenError> {
        FileStore::open_with(self, dir.as_ref())
    }
}

/// The embedded event store: a directory holding the log, snapshots and checkpoints.
///
/// - The log is a sequence of segment files of checksummed frames, one frame per event;
///   `docs/format.md` describes every byte.
/// - `append` returns once its batch is durable under the [`Durability`] chosen (synced, by
///   default); concurrent appends are group-committed, and a batch is atomic even across a
///   crash.
/// - An index of positions, streams and event ids is rebuilt from the frame headers on open;
///   reads fetch event bodies from the files lazily, so reading the whole log takes constant
///   memory.
/// - A lock file keeps a second store (in this or another process) out of the directory. The
///   operating system releases it when the store is dropped or the process ends, however it
///   ends. A child process forked while the store is open shares the lock until it executes
///   another program or exits.
/// - On open, a torn tail left by a crash is cut off, and damage elsewhere is an error; see
///   [`RecoveryReport`]. [`verify`] checks a directory without changing it.
/// - Limits of the format: payloads up to [`MAX_PAYLOAD_BYTES`](crate::store::MAX_PAYLOAD_BYTES)
///   (16 MiB), metadata up to 16 MiB as JSON text, event type tags up to 65,535 bytes; a
///   larger event is refused with [`AppendError::TooLarge`] before anything is written.
///
/// # Examples
/// ```
/// use es_core::{EventStore, ExpectedVersion, FileStore, NewEvent};
/// use serde_json::json;
///
/// let dir = tempfile::tempdir()?;
/// let store = FileStore::open(dir.path())?;
/// store.append("acc-1", ExpectedVersion::NoStream, vec![NewEvent::new("Opened", 1, json!({}))])?;
/// drop(store);
///
/// let store = FileStore::open(dir.path())?;
/// assert_eq!(store.stream_version("acc-1")?, 1);
/// assert_eq!(store.recovery().events, 1);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct FileStore {
    shared: Arc<Shared>,
    flusher: Option<Flusher>,
    recovery: RecoveryReport,
    /// Held, locked, for as long as the store is open; the operating system releases the lock
    /// when the process ends, however it ends.
    _lock: File,
}

/// What the store's handles, iterators and background thread share.
pub(crate) struct Shared {
    dir: PathBuf,
    fs: Arc<dyn FileSystem>,
    durability: Durability,
    segment_size: u64,
    index: RwLock<Index>,
    queue: Mutex<CommitQueue>,
    /// Signalled when a leader has posted its group's outcomes.
    committed: Condvar,
    writer: Mutex<Writer>,
    /// Numbers temporary files, which must not collide between concurrent saves.
    temp_files: AtomicU64,
    /// Wakes `wait_for_append` callers once a group commit made its events readable.
    appended: AppendSignal,
}

impl Shared {
    fn read_index(&self) -> RwLockReadGuard<'_, Index> {
        // The index is only changed by complete pushes (each checks before it mutates), so a
        // panic elsewhere cannot leave it half-updated.
        self.index
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn write_index(&self) -> RwLockWriteGuard<'_, Index> {
        self.index
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl fmt::Debug for FileStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FileStore")
            .field("dir", &self.shared.dir)
            .field("durability", &self.shared.durability)
            .field("head_position", &self.shared.read_index().head())
            .finish_non_exhaustive()
    }
}

impl FileStore {
    /// Opens the store in `dir` with the default options (synced appends), creating the
    /// directory and an empty log if needed, and recovering from a crash: see
    /// [`RecoveryReport`].
    ///
    /// # Errors
    /// [`OpenError::Locked`] when another open store holds the directory (nothing is written
    /// then); [`OpenError::Corrupt`] for damage before the tail of the log;
    /// [`OpenError::UnsupportedVersion`]; [`OpenError::Io`].
    ///
    /// # Examples
    /// ```
    /// use es_core::file_store::OpenError;
    /// use es_core::FileStore;
    ///
    /// let dir = tempfile::tempdir()?;
    /// let store = FileStore::open(dir.path())?;
    /// assert!(matches!(FileStore::open(dir.path()), Err(OpenError::Locked { .. })));
    /// drop(store);
    /// FileStore::open(dir.path())?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn open(dir: impl AsRef<Path>) -> Result<Self, OpenError> {
        Self::options().open(dir)
    }

    /// Options for opening a store: durability, segment size.
    #[must_use]
    pub fn options() -> FileStoreOptions {
        FileStoreOptions::default()
    }

    /// What recovery found and repaired when this store was opened.
    #[must_use]
    pub fn recovery(&self) -> &RecoveryReport {
        &self.recovery
    }

    /// The store's directory.
    #[must_use]
    pub fn dir(&self) -> &Path {
        &self.shared.dir
    }

    /// The durability mode appends run under.
    #[must_use]
    pub fn durability(&self) -> Durability {
        self.shared.durability
    }

    fn open_with(options: FileStoreOptions, dir: &Path) -> Result<Self, OpenError> {
        let FileStoreOptions {
            durability,
            segment_size,
            fs,
        } = options;
        let io_error = |path: &Path| {
            let path = path.to_path_buf();
            move |source| OpenError::Io { path, source }
        };
        fs.create_dir_all(dir).map_err(io_error(dir))?;
        let lock = lock_directory(dir)?;
        let sync = durability != Durability::None;
        let scan = scan_log(&*fs, dir, Mode::Open, OpenMode::ReadWrite)?;
        let mut index = scan.index.unwrap_or_default();
        let mut temp_files = scan.temp_files;
        for subdir in [SNAPSHOT_DIR, CHECKPOINT_DIR] {
            let subdir = dir.join(subdir);
            fs.create_dir_all(&subdir).map_err(io_error(&subdir))?;
            let listed = fs.list_dir(&subdir).map_err(io_error(&subdir))?;
            temp_files.extend(listed.into_iter().filter(|p| {
                p.file_name()
                    .and_then(|n| n.to_str())
                    .is_some_and(|n| n.ends_with(TEMP_SUFFIX))
            }));
        }
        for temp in &temp_files {
            fs.remove_file(temp).map_err(io_error(temp))?;
        }
        if let (Some(tail), Some(last)) = (&scan.torn_tail, scan.segments.last()) {
            last.file
                .set_len(tail.offset)
                .map_err(io_error(&last.path))?;
        }
        let (segment_number, file) = if let Some(last) = scan.segments.last() {
            (last.number, Arc::clone(&last.file))
        } else {
            let header = SegmentHeader {
                number: 1,
                first_position: 1,
            };
            let (path, file) = create_segment(&*fs, dir, header, sync).map_err(io_error(dir))?;
            index.add_segment(SegmentEntry {
                path,
                file: Arc::clone(&file),
                committed_len: SEGMENT_HEADER_LEN as u64,
            });
            (1, file)
        };
        if sync {
            // What was read may still be only in the operating system's cache (written by a
            // process that crashed in another durability mode): make it the durable base.
            file.sync_data().map_err(io_error(dir))?;
            fs.sync_dir(dir).map_err(io_error(dir))?;
        }
        let segment_slot = u32::try_from(index.segment_count().saturating_sub(1)).unwrap_or(0);
        let end = index
            .segment(segment_slot)
            .map_or(SEGMENT_HEADER_LEN as u64, |s| s.committed_len);
        let head = index.head();
        let recovery = RecoveryReport {
            segments: index.segment_count(),
            events: head,
            torn_tail: scan.torn_tail,
            temp_files_removed: temp_files.len(),
        };
        let shared = Arc::new(Shared {
            dir: dir.to_path_buf(),
            fs,
            durability,
            segment_size,
            index: RwLock::new(index),
            queue: Mutex::default(),
            committed: Condvar::new(),
            writer: Mutex::new(Writer {
                segment_slot,
                segment_number,
                file,
                end,
                next_position: head + 1,
                durable_through: head,
                failed: None,
            }),
            temp_files: AtomicU64::new(0),
            appended: AppendSignal::new(head),
        });
        let flusher = match durability {
            Durability::Flush { every } => Some(Flusher::start(Arc::clone(&shared), every)),
            Durability::Sync | Durability::None => None,
        };
        Ok(Self {
            shared,
            flusher,
            recovery,
            _lock: lock,
        })
    }
}

/// Takes the directory's lock file, or says who holds it.
fn lock_directory(dir: &Path) -> Result<File, OpenError> {
    let path = dir.join(LOCK_FILE);
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&path)
        .map_err(|source| OpenError::Io {
            path: path.clone(),
            source,
        })?;
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(TryLockError::WouldBlock) => Err(OpenError::Locked {
            dir: dir.to_path_buf(),
        }),
        Err(TryLockError::Error(source)) => Err(OpenError::Io { path, source }),
    }
}

/// Checks every frame of the store in `dir` without modifying anything, and lists every
/// damaged frame with its segment file and byte offset, and the torn tail that
/// [`FileStore::open`] would cut off.
///
/// It takes no lock: run it on a store that is not open, or expect the tail that a
/// concurrent append is writing to show as torn.
///
/// # Errors
/// [`VerifyError::Io`] when the directory does not exist or a file cannot be read;
/// [`VerifyError::UnsupportedVersion`].
///
/// # Examples
/// ```
/// use es_core::{EventStore, ExpectedVersion, FileStore, NewEvent};
/// use es_core::file_store::verify;
/// use serde_json::json;
///
/// let dir = tempfile::tempdir()?;
/// let store = FileStore::open(dir.path())?;
/// store.append("s", ExpectedVersion::Any, vec![NewEvent::new("Pinged", 1, json!({}))])?;
/// drop(store);
/// let report = verify(dir.path())?;
/// assert!(report.is_clean());
/// assert_eq!(report.events, 1);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn verify(dir: impl AsRef<Path>) -> Result<VerifyReport, VerifyError> {
    let scan = match scan_log(&StdFs, dir.as_ref(), Mode::Verify, OpenMode::Read) {
        Ok(scan) => scan,
        Err(ScanError::Io { path, source }) => return Err(VerifyError::Io { path, source }),
        Err(ScanError::Damaged {
            segment,
            damage: format::Damage::UnsupportedVersion { found },
            ..
        }) => {
            return Err(VerifyError::UnsupportedVersion {
                segment,
                found,
                supported: format::FORMAT_VERSION,
            })
        }
        // A verify scan lists damage instead of stopping; should it stop, report the damage.
        Err(ScanError::Damaged {
            segment,
            offset,
            damage,
        }) => {
            return Ok(VerifyReport {
                damaged: vec![DamagedFrame {
                    segment,
                    offset,
                    reason: damage.to_string(),
                }],
                ..VerifyReport::default()
            })
        }
    };
    Ok(VerifyReport {
        segments: scan.segments.len(),
        events: scan.events,
        damaged: scan.damaged,
        torn_tail: scan.torn_tail,
    })
}

impl EventStore for FileStore {
    fn append(
        &self,
        stream_id: &str,
        expected: ExpectedVersion,
        events: Vec<NewEvent>,
    ) -> Result<AppendOutcome, AppendError> {
        self.shared.append(stream_id, expected, events)
    }

    fn read_stream(&self, stream_id: &str, from_version: u64) -> Result<EventIter<'_>, ReadError> {
        Ok(Box::new(StreamEvents {
            reader: FrameReader::new(&self.shared, STREAM_WINDOW),
            stream_id: stream_id.to_owned(),
            next_version: from_version.max(1),
        }))
    }

    fn read_all(&self, from_position: u64) -> Result<EventIter<'_>, ReadError> {
        Ok(Box::new(AllEvents {
            reader: FrameReader::new(&self.shared, SEQUENTIAL_WINDOW),
            next: from_position.max(1),
        }))
    }

    fn stream_version(&self, stream_id: &str) -> Result<u64, ReadError> {
        Ok(self.shared.read_index().stream_version(stream_id))
    }

    fn head_position(&self) -> Result<u64, ReadError> {
        Ok(self.shared.read_index().head())
    }

    /// Sleeps until a group commit makes an event beyond `after_position` readable (after its
    /// write, and its sync under [`Durability::Sync`]), or until `timeout` ends; nothing polls.
    fn wait_for_append(&self, after_position: u64, timeout: Duration) -> Result<u64, ReadError> {
        Ok(self.shared.appended.wait(after_position, timeout))
    }
}

impl Drop for FileStore {
    fn drop(&mut self) {
        if let Some(flusher) = self.flusher.take() {
            flusher.stop();
        }
    }
}

/// The background thread of [`Durability::Flush`].
struct Flusher {
    stop: Arc<(Mutex<bool>, Condvar)>,
    thread: JoinHandle<()>,
}

impl Flusher {
    fn start(shared: Arc<Shared>, every: Duration) -> Self {
        let every = every.max(Duration::from_millis(1));
        let stop = Arc::new((Mutex::new(false), Condvar::new()));
        let signal = Arc::clone(&stop);
        let thread = std::thread::spawn(move || {
            let (stopped, wake) = &*signal;
            loop {
                let guard = lock(stopped);
                let (guard, _) = wake
                    .wait_timeout_while(guard, every, |stopped| !*stopped)
                    .unwrap_or_else(std::sync::PoisonError::into_inner);
                let stopping = *guard;
                drop(guard);
                shared.sync_now();
                if stopping {
                    break;
                }
            }
        });
        Self { stop, thread }
    }

    /// Stops the thread after a last sync.
    fn stop(self) {
        *lock(&self.stop.0) = true;
        self.stop.1.notify_all();
        // A panic in the thread already marked the writer failed; nothing more to report.
        let _ = self.thread.join();
    }
}
