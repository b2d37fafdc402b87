//! The directory's lock file: one writing store per directory, across processes.

use std::fs::{File, OpenOptions, TryLockError};
use std::path::Path;
use std::time::{Duration, Instant};

use super::{OpenError, LOCK_FILE};

/// Takes the directory's lock file, or says who holds it.
pub(super) fn lock_directory(dir: &Path) -> Result<File, OpenError> {
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
    // A process forking a child while it holds (or has just released) a store shares the
    // lock's open file description with that child until the child runs another program,
    // usually a few milliseconds: a store closed a moment ago can look locked. Waiting out
    // that window keeps such a reopen from failing; a store that is really open elsewhere is
    // still reported, `LOCK_GRACE` later.
    let deadline = Instant::now() + LOCK_GRACE;
    loop {
        match file.try_lock() {
            Ok(()) => return Ok(file),
            Err(TryLockError::WouldBlock) if Instant::now() < deadline => {
                std::thread::sleep(LOCK_RETRY);
            }
            Err(TryLockError::WouldBlock) => {
                return Err(OpenError::Locked {
                    dir: dir.to_path_buf(),
                })
            }
            Err(TryLockError::Error(source)) => return Err(OpenError::Io { path, source }),
        }
    }
}

/// How long `open` keeps trying a held lock before it reports [`OpenError::Locked`].
const LOCK_GRACE: Duration = Duration::from_millis(250);
/// The pause between two tries.
const LOCK_RETRY: Duration = Duration::from_millis(5);
