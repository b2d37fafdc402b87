//! [`FileStore::verify`]: every frame of a log checked, nothing modified.

use std::path::Path;

use super::damage::Damage;
use super::format::FORMAT_VERSION;
use std::sync::Arc;

use super::fs::{OpenMode, SegmentFiles, StdFs, OPEN_SEGMENTS};
use super::scan::{scan_log, Mode, ScanError};
use super::{DamagedFrame, FileStore, OpenError, VerifyReport};

impl FileStore {
    /// Checks every frame of the store in `dir` without modifying anything, and lists every
    /// damaged frame with its segment file and byte offset, and the torn tail that
    /// [`FileStore::open`] would cut off.
    ///
    /// It takes no lock: run it on a store that is not open, or expect the tail that a
    /// concurrent append is writing to show as torn.
    ///
    /// # Errors
    /// [`OpenError::Io`] when the directory does not exist or a file cannot be read (or a
    /// segment's name is taken by something other than a regular file);
    /// [`OpenError::NotAStore`] when it holds no segment file;
    /// [`OpenError::UnsupportedVersion`].
    ///
    /// # Examples
    /// ```
    /// use es_core::{EventStore, ExpectedVersion, FileStore, NewEvent};
    /// use serde_json::json;
    ///
    /// let dir = tempfile::tempdir()?;
    /// let store = FileStore::open(dir.path())?;
    /// store.append("s", ExpectedVersion::Any, vec![NewEvent::new("Pinged", 1, json!({}))])?;
    /// drop(store);
    /// let report = FileStore::verify(dir.path())?;
    /// assert!(report.is_clean());
    /// assert_eq!(report.events, 1);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn verify(dir: impl AsRef<Path>) -> Result<VerifyReport, OpenError> {
        let files = SegmentFiles::new(Arc::new(StdFs), OPEN_SEGMENTS);
        let scan = match scan_log(&files, dir.as_ref(), Mode::Verify, OpenMode::Read) {
            Ok(scan) => scan,
            Err(ScanError::Io { path, source }) => return Err(OpenError::Io { path, source }),
            Err(ScanError::Damaged {
                segment,
                damage: Damage::UnsupportedVersion { found },
                ..
            }) => {
                return Err(OpenError::UnsupportedVersion {
                    segment,
                    found,
                    supported: FORMAT_VERSION,
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
                        damage,
                    }],
                    ..VerifyReport::default()
                })
            }
        };
        if scan.segments.is_empty() && scan.damaged.is_empty() {
            return Err(OpenError::NotAStore {
                dir: dir.as_ref().to_path_buf(),
            });
        }
        Ok(VerifyReport {
            segments: scan.segments.len(),
            events: scan.events,
            damaged: scan.damaged,
            torn_tail: scan.torn_tail,
        })
    }
}
