//! The storage seam: every file operation the store performs goes through [`FileSystem`] and
//! [`LogFile`], so tests can replace them with files whose writes fail, tear or whose syncs
//! report errors.

use std::collections::VecDeque;
use std::fmt;
use std::fs::{File, OpenOptions};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

/// How to open a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum OpenMode {
    /// An existing file, for reading only (`verify`, snapshot loads).
    Read,
    /// An existing file, for reading and writing (segments).
    ReadWrite,
    /// A file that must not exist yet, for reading and writing (temporary files).
    CreateNew,
}

/// The directory-level operations of the store.
pub(crate) trait FileSystem: Send + Sync + fmt::Debug {
    fn create_dir_all(&self, dir: &Path) -> io::Result<()>;
    fn open(&self, path: &Path, mode: OpenMode) -> io::Result<Arc<dyn LogFile>>;
    fn rename(&self, from: &Path, to: &Path) -> io::Result<()>;
    fn remove_file(&self, path: &Path) -> io::Result<()>;
    /// Makes the directory's entries (created, renamed, removed files) durable.
    fn sync_dir(&self, dir: &Path) -> io::Result<()>;
    /// The paths of the directory's entries.
    fn list_dir(&self, dir: &Path) -> io::Result<Vec<PathBuf>>;
}

/// One open file, read and written at explicit offsets so that readers and the writer never
/// share a cursor.
pub(crate) trait LogFile: Send + Sync + fmt::Debug {
    fn read_at(&self, buf: &mut [u8], offset: u64) -> io::Result<usize>;
    /// Writes some of `buf` at `offset`; may write less than all of it.
    fn write_at(&self, buf: &[u8], offset: u64) -> io::Result<usize>;
    /// Makes the file's data durable (`fdatasync`).
    fn sync_data(&self) -> io::Result<()>;
    fn set_len(&self, len: u64) -> io::Result<()>;
    fn len(&self) -> io::Result<u64>;
}

/// Reads until `buf` is full or the file ends; returns how many bytes were read.
pub(crate) fn read_fully_at(file: &dyn LogFile, buf: &mut [u8], offset: u64) -> io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match file.read_at(&mut buf[filled..], offset + filled as u64) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}

/// Writes all of `buf` at `offset`, continuing after short writes.
pub(crate) fn write_all_at(file: &dyn LogFile, buf: &[u8], offset: u64) -> io::Result<()> {
    let mut written = 0;
    while written < buf.len() {
        match file.write_at(&buf[written..], offset + written as u64) {
            Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
            Ok(n) => written += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// The operating system's file system.
#[derive(Debug, Default)]
pub(crate) struct StdFs;

impl FileSystem for StdFs {
    fn create_dir_all(&self, dir: &Path) -> io::Result<()> {
        std::fs::create_dir_all(dir)
    }

    fn open(&self, path: &Path, mode: OpenMode) -> io::Result<Arc<dyn LogFile>> {
        let mut options = OpenOptions::new();
        match mode {
            OpenMode::Read => options.read(true),
            OpenMode::ReadWrite => options.read(true).write(true),
            OpenMode::CreateNew => options.read(true).write(true).create_new(true),
        };
        if mode != OpenMode::CreateNew {
            // Opening a FIFO blocks until a writer comes, and a directory or device is no
            // store file either: refuse what is not a regular file before opening it.
            refuse_unless_regular(path, &std::fs::metadata(path)?)?;
        }
        let file = options.open(path)?;
        refuse_unless_regular(path, &file.metadata()?)?;
        Ok(Arc::new(StdFile(file)))
    }

    fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
        std::fs::rename(from, to)
    }

    fn remove_file(&self, path: &Path) -> io::Result<()> {
        std::fs::remove_file(path)
    }

    fn sync_dir(&self, dir: &Path) -> io::Result<()> {
        sync_dir(dir)
    }

    fn list_dir(&self, dir: &Path) -> io::Result<Vec<PathBuf>> {
        std::fs::read_dir(dir)?
            .map(|entry| entry.map(|e| e.path()))
            .collect()
    }
}

fn refuse_unless_regular(path: &Path, metadata: &std::fs::Metadata) -> io::Result<()> {
    if metadata.is_file() {
        Ok(())
    } else {
        Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("{} is not a regular file", path.display()),
        ))
    }
}

#[cfg(unix)]
fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

#[cfg(not(unix))]
fn sync_dir(_dir: &Path) -> io::Result<()> {
    // Windows offers no handle on a directory to flush; NTFS journals renames itself.
    Ok(())
}

#[derive(Debug)]
struct StdFile(File);

impl LogFile for StdFile {
    #[cfg(unix)]
    fn read_at(&self, buf: &mut [u8], offset: u64) -> io::Result<usize> {
        std::os::unix::fs::FileExt::read_at(&self.0, buf, offset)
    }

    #[cfg(windows)]
    fn read_at(&self, buf: &mut [u8], offset: u64) -> io::Result<usize> {
        std::os::windows::fs::FileExt::seek_read(&self.0, buf, offset)
    }

    #[cfg(unix)]
    fn write_at(&self, buf: &[u8], offset: u64) -> io::Result<usize> {
        std::os::unix::fs::FileExt::write_at(&self.0, buf, offset)
    }

    #[cfg(windows)]
    fn write_at(&self, buf: &[u8], offset: u64) -> io::Result<usize> {
        std::os::windows::fs::FileExt::seek_write(&self.0, buf, offset)
    }

    fn sync_data(&self) -> io::Result<()> {
        self.0.sync_data()
    }

    fn set_len(&self, len: u64) -> io::Result<()> {
        self.0.set_len(len)
    }

    fn len(&self) -> io::Result<u64> {
        Ok(self.0.metadata()?.len())
    }
}

/// How many segment files a store keeps open for reading at once.
pub(crate) const OPEN_SEGMENTS: usize = 32;

/// The segment files a store reads, opened on demand and kept open for the most recently used
/// few: a log of any number of segments needs a bounded number of file descriptors.
#[derive(Debug)]
pub(crate) struct SegmentFiles {
    pub(crate) fs: Arc<dyn FileSystem>,
    /// Open files, the most recently used first.
    open: Mutex<VecDeque<(PathBuf, Arc<dyn LogFile>)>>,
    capacity: usize,
}

impl SegmentFiles {
    pub(crate) fn new(fs: Arc<dyn FileSystem>, capacity: usize) -> Arc<Self> {
        Arc::new(Self {
            fs,
            open: Mutex::new(VecDeque::with_capacity(capacity)),
            capacity: capacity.max(1),
        })
    }

    pub(crate) fn fs(&self) -> &dyn FileSystem {
        &*self.fs
    }

    /// A handle on the segment at `path` that opens it (for reading) when it is used.
    pub(crate) fn lazy(self: &Arc<Self>, path: &Path) -> Arc<dyn LogFile> {
        Arc::new(LazyFile {
            files: Arc::clone(self),
            path: path.to_path_buf(),
        })
    }

    /// The open file at `path`, opened now if it is not among the recently used.
    fn get(&self, path: &Path) -> io::Result<Arc<dyn LogFile>> {
        let mut open = self
            .open
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(at) = open.iter().position(|(p, _)| p == path) {
            let entry = open.remove(at);
            let file = entry.as_ref().map(|(_, f)| Arc::clone(f));
            if let (Some(entry), Some(file)) = (entry, file) {
                open.push_front(entry);
                return Ok(file);
            }
        }
        let file = self.fs.open(path, OpenMode::Read)?;
        if open.len() >= self.capacity {
            open.pop_back();
        }
        open.push_front((path.to_path_buf(), Arc::clone(&file)));
        Ok(file)
    }
}

/// A segment file opened through [`SegmentFiles`] when it is read; it only reads.
#[derive(Debug)]
struct LazyFile {
    files: Arc<SegmentFiles>,
    path: PathBuf,
}

impl LogFile for LazyFile {
    fn read_at(&self, buf: &mut [u8], offset: u64) -> io::Result<usize> {
        self.files.get(&self.path)?.read_at(buf, offset)
    }
    fn write_at(&self, _buf: &[u8], _offset: u64) -> io::Result<usize> {
        Err(read_only_handle())
    }
    fn sync_data(&self) -> io::Result<()> {
        Err(read_only_handle())
    }
    fn set_len(&self, _len: u64) -> io::Result<()> {
        Err(read_only_handle())
    }
    fn len(&self) -> io::Result<u64> {
        self.files.get(&self.path)?.len()
    }
}

fn read_only_handle() -> io::Error {
    io::Error::new(
        io::ErrorKind::Unsupported,
        "a segment opened on demand is only read",
    )
}

/// What a test puts around each file the store opens (injected faults, a length that lies).
#[cfg(test)]
pub(crate) trait WrapFile: Send + Sync + fmt::Debug {
    fn wrap(&self, file: Arc<dyn LogFile>) -> Arc<dyn LogFile>;
}

/// The standard file system with every opened file wrapped: the base of the tests' seams.
#[cfg(test)]
#[derive(Debug)]
pub(crate) struct WrappingFs<W>(pub(crate) W);

#[cfg(test)]
impl<W: WrapFile> FileSystem for WrappingFs<W> {
    fn create_dir_all(&self, dir: &Path) -> io::Result<()> {
        StdFs.create_dir_all(dir)
    }
    fn open(&self, path: &Path, mode: OpenMode) -> io::Result<Arc<dyn LogFile>> {
        Ok(self.0.wrap(StdFs.open(path, mode)?))
    }
    fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
        StdFs.rename(from, to)
    }
    fn remove_file(&self, path: &Path) -> io::Result<()> {
        StdFs.remove_file(path)
    }
    fn sync_dir(&self, dir: &Path) -> io::Result<()> {
        StdFs.sync_dir(dir)
    }
    fn list_dir(&self, dir: &Path) -> io::Result<Vec<PathBuf>> {
        StdFs.list_dir(dir)
    }
}

/// A read-only file of the bytes 0, 1, 2, ... in memory, for tests of readers.
#[cfg(test)]
#[derive(Debug)]
pub(crate) struct Counting(pub Vec<u8>);

#[cfg(test)]
impl LogFile for Counting {
    fn read_at(&self, buf: &mut [u8], offset: u64) -> io::Result<usize> {
        let from = usize::try_from(offset)
            .unwrap_or(usize::MAX)
            .min(self.0.len());
        let n = buf.len().min(self.0.len() - from);
        buf[..n].copy_from_slice(&self.0[from..from + n]);
        Ok(n)
    }
    fn write_at(&self, _: &[u8], _: u64) -> io::Result<usize> {
        Err(io::Error::other("read only"))
    }
    fn sync_data(&self) -> io::Result<()> {
        Ok(())
    }
    fn set_len(&self, _: u64) -> io::Result<()> {
        Ok(())
    }
    fn len(&self) -> io::Result<u64> {
        Ok(self.0.len() as u64)
    }
}
