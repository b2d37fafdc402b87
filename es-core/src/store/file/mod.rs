//! [`FileStore`]: the embedded, durable event log. A directory of segment files holding
//! checksummed frames, an index rebuilt in memory on open, group-committed appends, and
//! snapshot and checkpoint files beside the log. `docs/format.md` describes the bytes.

mod aux_files;
mod damage;
mod error;
mod follow;
mod format;
mod fs;
mod index;
mod lock;
mod options;
mod quarantine;
mod reader;
mod report;
mod scan;
mod segment_scan;
mod verify;
mod window;
mod writer;

#[cfg(test)]
mod fault_tests;
#[cfg(test)]
mod hostile_tests;

use std::fmt;
use std::fs::File;
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Condvar, Mutex, RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::thread::JoinHandle;
use std::time::Duration;

pub use damage::Damage;
pub use error::OpenError;
pub use options::{Durability, FileStoreOptions};
pub use report::{DamagedFrame, RecoveryReport, TornTail, VerifyReport};

use self::aux_files::{CHECKPOINT_DIR, SNAPSHOT_DIR};
use self::follow::{scan_growth, IndexEnd};
use self::format::{FrameHeader, SegmentHeader, FRAME_HEADER_LEN, SEGMENT_HEADER_LEN, TEMP_SUFFIX};
use self::fs::{read_fully_at, FileSystem, OpenMode, SegmentFiles, OPEN_SEGMENTS};
use self::index::{Index, SegmentEntry};
use self::lock::lock_directory;
use self::quarantine::quarantine_tail;
use self::reader::{
    visit_all, visit_stream, AllEvents, FrameReader, StreamEvents, SEQUENTIAL_WINDOW, STREAM_WINDOW,
};
use self::scan::{scan_log, Mode};
use self::writer::{create_segment, lock, CommitQueue, Writer};
use crate::store::backend::{poll_for_append, AppendSignal, EventIter};
use crate::{
    AppendError, AppendOutcome, EventStore, ExpectedVersion, NewEvent, ReadError, StoredEventRef,
};

/// The name of the lock file in a store directory.
const LOCK_FILE: &str = "LOCK";
/// The default size at which a new segment is started.
const DEFAULT_SEGMENT_SIZE: u64 = 64 * 1024 * 1024;
/// How many read buffers of finished sequential readers a store keeps for the next ones.
const KEPT_READ_BUFFERS: usize = 8;
/// Why a read-only store refuses writes.
pub(crate) const READ_ONLY: &str = "opened read-only";

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
/// - [`FileStore::open_read_only`] opens a store beside the writing one, without the lock,
///   for tools that inspect the log while it grows; it follows the writer's appends.
/// - `wait_for_append` sleeps until a group commit wakes it (a read-only store polls).
/// - On open, a torn tail left by a crash is cut off, and damage elsewhere is an error; see
///   [`RecoveryReport`]. [`verify`](Self::verify) checks a directory without changing it.
/// - Limits of the format: payloads up to [`MAX_PAYLOAD_BYTES`](crate::store::backend::MAX_PAYLOAD_BYTES)
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
    /// when the process ends, however it ends. `None` for a read-only store, which takes none.
    _lock: Option<File>,
}

/// What the store's handles, iterators and background thread share.
pub(crate) struct Shared {
    dir: PathBuf,
    fs: Arc<dyn FileSystem>,
    /// The segment files, opened on demand for reading.
    files: Arc<SegmentFiles>,
    durability: Durability,
    segment_size: u64,
    index: RwLock<Index>,
    queue: Mutex<CommitQueue>,
    /// Signalled when a leader has posted its group's outcomes.
    committed: Condvar,
    /// `None` when the store was opened read-only.
    writer: Option<Mutex<Writer>>,
    /// Lets one thread at a time extend a read-only store's index.
    following: Mutex<()>,
    /// Numbers temporary files, which must not collide between concurrent saves.
    temp_files: AtomicU64,
    /// Wakes `wait_for_append` callers once a group commit made its events readable.
    appended: AppendSignal,
    /// Read windows' buffers given back by finished readers, for the next ones.
    read_buffers: Mutex<Vec<Vec<u8>>>,
}

impl Shared {
    /// The state of a store just opened, whose appends run under `durability` and
    /// `segment_size`; `writer` is `None` for a read-only store.
    fn new(
        dir: &Path,
        files: Arc<SegmentFiles>,
        (durability, segment_size): (Durability, u64),
        index: Index,
        writer: Option<Writer>,
    ) -> Self {
        let head = index.head();
        Self {
            dir: dir.to_path_buf(),
            fs: Arc::clone(&files.fs),
            files,
            durability,
            segment_size,
            index: RwLock::new(index),
            queue: Mutex::default(),
            committed: Condvar::new(),
            writer: writer.map(Mutex::new),
            following: Mutex::new(()),
            temp_files: AtomicU64::new(0),
            appended: AppendSignal::new(head),
            read_buffers: Mutex::default(),
        }
    }

    /// A read buffer of `len` bytes a finished reader gave back, if there is one.
    fn take_read_buffer(&self, len: usize) -> Option<Vec<u8>> {
        // Only sequential readers' buffers are kept: a stream reader takes no lock here.
        if len != SEQUENTIAL_WINDOW {
            return None;
        }
        lock(&self.read_buffers).pop()
    }

    /// Keeps a finished reader's buffer for the next reader (a few, of the sequential size).
    fn give_back_read_buffer(&self, buf: Vec<u8>) {
        if buf.len() != SEQUENTIAL_WINDOW {
            return;
        }
        let mut buffers = lock(&self.read_buffers);
        if buffers.len() < KEPT_READ_BUFFERS {
            buffers.push(buf);
        }
    }

    /// Extends a read-only store's index with the complete batches the writing process
    /// committed since it was last extended; returns the head position then.
    fn follow(&self) -> Result<u64, ReadError> {
        let _one_at_a_time = lock(&self.following);
        let end = {
            let index = self.read_index();
            last_event_still_stored(&index)?;
            IndexEnd {
                segments: index.segment_count(),
                last: index.last_segment().map(|(_, s)| SegmentEntry {
                    path: s.path.clone(),
                    file: Arc::clone(&s.file),
                    committed_len: s.committed_len,
                }),
                next_position: index.head() + 1,
            }
        };
        let growth = scan_growth(&self.files, &self.dir, end).map_err(ReadError::from)?;
        let events = growth.collected.events();
        let mut index = self.write_index();
        if let Err((i, damage)) = index.push_all(&events) {
            let event = &events[i];
            let segment = index
                .segment(event.segment)
                .map(|s| &s.path)
                .or_else(|| {
                    let first_new = index.segment_count();
                    let new = (event.segment as usize).checked_sub(first_new)?;
                    growth.new_segments.get(new).map(|s| &s.path)
                })
                .cloned()
                .unwrap_or_default();
            return Err(ReadError::Corrupt {
                segment,
                offset: event.offset,
                damage,
            });
        }
        if let (Some(end), Some((slot, _))) = (growth.last_end, index.last_segment()) {
            index.set_committed_len(slot, end);
        }
        for segment in growth.new_segments {
            index.add_segment(segment);
        }
        Ok(index.head())
    }

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

/// Checks that the last event of a read-only store's index is still where it was read: a
/// writer that cuts back a batch (a failed write, or recovery from a crash that lost it) and
/// then appends again can grow the segment past what the index read, over other bytes, which
/// the length alone does not show. The writer only ever cuts whole batches off the end, so
/// when the last event's frame header still names its position and id, everything before
/// it is unchanged too.
fn last_event_still_stored(index: &Index) -> Result<(), ReadError> {
    let position = index.head();
    let Some(located) = index.locate(position) else {
        return Ok(());
    };
    // Shorter than what was read: the scan reports it as such.
    if located.file.len().map_err(ReadError::Io)? < located.committed_len {
        return Ok(());
    }
    let offset = located.entry.offset;
    let mut bytes = [0u8; FRAME_HEADER_LEN];
    let read = read_fully_at(&*located.file, &mut bytes, offset).map_err(ReadError::Io)?;
    let same = read == FRAME_HEADER_LEN
        && FrameHeader::decode(&bytes).is_ok_and(|header| {
            header.position == position
                && index.lookup_id(header.event_id).map(|at| at.position) == Some(position)
        });
    if same {
        return Ok(());
    }
    Err(ReadError::Corrupt {
        segment: index
            .segment(located.entry.segment)
            .map(|s| s.path.clone())
            .unwrap_or_default(),
        offset,
        damage: Damage::ReadEventReplaced { position },
    })
}

impl fmt::Debug for FileStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FileStore")
            .field("dir", &self.shared.dir)
            .field("durability", &self.shared.durability)
            .field("read_only", &self.is_read_only())
            .field("head_position", &self.shared.read_index().head())
            .finish_non_exhaustive()
    }
}

impl FileStore {
    /// How often [`EventStore::wait_for_append`] on a store opened read-only looks at the segment
    /// files for batches the writing process committed: the longest such a waiter sees them late.
    pub const READ_ONLY_POLL_INTERVAL: Duration = Duration::from_millis(100);

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
    /// use es_core::OpenError;
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

    /// Opens the store in `dir` read-only, for tools that inspect a log while the process that
    /// owns it keeps appending.
    ///
    /// - It takes no lock: it neither blocks the writing store (in this process or another)
    ///   nor is blocked by it, and any number of read-only stores may be open at once.
    /// - It never modifies anything: a torn or unfinished tail is not cut, only left out of
    ///   view ([`recovery`](Self::recovery) names it), temporary files stay, no directory,
    ///   segment or lock file is created.
    /// - It sees the log as it was when opened, and then what
    ///   [`wait_for_append`](EventStore::wait_for_append) or [`refresh`](Self::refresh) read:
    ///   they look at the segment files (`wait_for_append` every [`READ_ONLY_POLL_INTERVAL`](Self::READ_ONLY_POLL_INTERVAL))
    ///   and add the batches the writer completed since, new segments included. A batch shows
    ///   once its last frame is intact in the file, even if the writer's sync has not returned
    ///   yet; a batch still being written does not show.
    /// - `append`, snapshot saves and checkpoint saves are refused:
    ///   [`AppendError::Unavailable`] with the reason "opened read-only", and
    ///   `Unavailable` errors of [`SnapshotError`](crate::SnapshotError) and
    ///   [`CheckpointError`](crate::CheckpointError). Loading snapshots and
    ///   checkpoints works.
    ///
    /// # Errors
    /// [`OpenError::Io`] when `dir` does not exist (nothing is created) or a file cannot be
    /// read; [`OpenError::Corrupt`] for damage before the tail of the log;
    /// [`OpenError::UnsupportedVersion`].
    ///
    /// # Examples
    /// ```
    /// use std::time::Duration;
    /// use es_core::{AppendError, EventStore, ExpectedVersion, FileStore, NewEvent};
    /// use serde_json::json;
    ///
    /// let dir = tempfile::tempdir()?;
    /// let writer = FileStore::open(dir.path())?;
    /// let reader = FileStore::open_read_only(dir.path())?;
    /// writer.append("s", ExpectedVersion::Any, vec![NewEvent::new("Pinged", 1, json!({}))])?;
    /// assert_eq!(reader.wait_for_append(0, Duration::from_secs(5))?, 1);
    /// assert_eq!(reader.read_all(1)?.count(), 1);
    /// let refused = reader.append("s", ExpectedVersion::Any, vec![NewEvent::new("Pinged", 1, json!({}))]);
    /// assert!(matches!(refused, Err(AppendError::Unavailable { .. })));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn open_read_only(dir: impl AsRef<Path>) -> Result<Self, OpenError> {
        Self::options().read_only().open(dir)
    }

    /// Whether the store was opened read-only ([`FileStore::open_read_only`]).
    #[must_use]
    pub fn is_read_only(&self) -> bool {
        self.shared.writer.is_none()
    }

    /// For a read-only store, adds the batches the writing process completed since the open
    /// or the last refresh to what reads see, and returns the head position; for the writing
    /// store, which always sees its own appends, returns the head position.
    ///
    /// # Errors
    /// [`ReadError::Io`] when a segment cannot be read; [`ReadError::Corrupt`] for damage in
    /// what the writer added (a torn or unfinished tail is not damage: it is left out until
    /// it is complete), and when the writer cut back events this store already read
    /// ([`Damage::SegmentShrank`], or [`Damage::ReadEventReplaced`] once the segment grew
    /// again): reopen then. Nothing is added then.
    pub fn refresh(&self) -> Result<u64, ReadError> {
        if self.is_read_only() {
            self.shared.follow()
        } else {
            Ok(self.shared.read_index().head())
        }
    }

    /// Options for opening a store: durability, segment size, read-only.
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

    /// The durability mode appends run under; [`Durability::None`] for a read-only store,
    /// which writes nothing.
    #[must_use]
    pub fn durability(&self) -> Durability {
        self.shared.durability
    }

    fn open_with(options: FileStoreOptions, dir: &Path) -> Result<Self, OpenError> {
        let FileStoreOptions {
            durability,
            segment_size,
            fs,
            ..
        } = options;
        let io_error = |path: &Path| {
            let path = path.to_path_buf();
            move |source| OpenError::Io { path, source }
        };
        fs.create_dir_all(dir).map_err(io_error(dir))?;
        let lock = lock_directory(dir)?;
        let sync = durability != Durability::None;
        let files = SegmentFiles::new(Arc::clone(&fs), OPEN_SEGMENTS);
        let scan = scan_log(&files, dir, Mode::Open, OpenMode::ReadWrite)?;
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
        let mut torn_tail = scan.torn_tail;
        if let (Some(tail), Some(last)) = (&mut torn_tail, scan.segments.last()) {
            // The cut bytes are evidence (they may hold an acknowledged batch that was
            // damaged later): kept, durably, before the segment loses them.
            let kept = quarantine_tail(&*fs, dir, &*last.file, &last.path, tail, sync)
                .map_err(io_error(&last.path))?;
            tail.quarantine = Some(kept);
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
                file: files.lazy(&path),
                path,
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
            torn_tail,
            temp_files_removed: temp_files.len(),
        };
        let writer = Writer {
            segment_slot,
            segment_number,
            file,
            end,
            next_position: head + 1,
            durable_through: head,
            failed: None,
        };
        let shared = Arc::new(Shared::new(
            dir,
            files,
            (durability, segment_size),
            index,
            Some(writer),
        ));
        let flusher = match durability {
            Durability::Flush { every } => Some(Flusher::start(Arc::clone(&shared), every)),
            Durability::Sync | Durability::None => None,
        };
        Ok(Self {
            shared,
            flusher,
            recovery,
            _lock: Some(lock),
        })
    }

    fn open_read_only_with(fs: Arc<dyn FileSystem>, dir: &Path) -> Result<Self, OpenError> {
        let files = SegmentFiles::new(fs, OPEN_SEGMENTS);
        let scan = scan_log(&files, dir, Mode::Open, OpenMode::Read)?;
        let index = scan.index.unwrap_or_default();
        let recovery = RecoveryReport {
            segments: index.segment_count(),
            events: index.head(),
            torn_tail: scan.torn_tail,
            temp_files_removed: 0,
        };
        Ok(Self {
            shared: Arc::new(Shared::new(
                dir,
                files,
                (Durability::None, DEFAULT_SEGMENT_SIZE),
                index,
                None,
            )),
            flusher: None,
            recovery,
            _lock: None,
        })
    }
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

    fn visit_all(
        &self,
        from_position: u64,
        visit: &mut dyn FnMut(&StoredEventRef<'_>) -> ControlFlow<()>,
    ) -> Result<(), ReadError> {
        let mut reader = FrameReader::new(&self.shared, SEQUENTIAL_WINDOW);
        visit_all(&mut reader, from_position.max(1), u64::MAX, visit)
    }

    fn visit_range(
        &self,
        from_position: u64,
        through_position: u64,
        visit: &mut dyn FnMut(&StoredEventRef<'_>) -> ControlFlow<()>,
    ) -> Result<(), ReadError> {
        let mut reader = FrameReader::new(&self.shared, SEQUENTIAL_WINDOW);
        visit_all(&mut reader, from_position.max(1), through_position, visit)
    }

    fn visit_stream(
        &self,
        stream_id: &str,
        from_version: u64,
        visit: &mut dyn FnMut(&StoredEventRef<'_>) -> ControlFlow<()>,
    ) -> Result<(), ReadError> {
        let mut reader = FrameReader::new(&self.shared, STREAM_WINDOW);
        visit_stream(&mut reader, stream_id, from_version.max(1), visit)
    }

    fn stream_version(&self, stream_id: &str) -> Result<u64, ReadError> {
        Ok(self.shared.read_index().stream_version(stream_id))
    }

    fn head_position(&self) -> Result<u64, ReadError> {
        Ok(self.shared.read_index().head())
    }

    /// Sleeps until a group commit makes an event beyond `after_position` readable (after its
    /// write, and its sync under [`Durability::Sync`]), or until `timeout` ends; nothing polls.
    ///
    /// A read-only store cannot be woken by another process: it [`refresh`](Self::refresh)es
    /// every [`READ_ONLY_POLL_INTERVAL`](Self::READ_ONLY_POLL_INTERVAL) instead.
    fn wait_for_append(&self, after_position: u64, timeout: Duration) -> Result<u64, ReadError> {
        if self.is_read_only() {
            return poll_for_append(
                after_position,
                timeout,
                Self::READ_ONLY_POLL_INTERVAL,
                || self.refresh(),
            );
        }
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
