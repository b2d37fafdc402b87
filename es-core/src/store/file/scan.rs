//! Reading the log from the start: every segment in order, rebuilding the index on open, or
//! listing every damaged frame for [`FileStore::verify`](super::FileStore::verify).

use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::damage::Damage;
use super::follow::Collected;
use super::format::{is_temp_segment, segment_number, SEGMENT_HEADER_LEN};
use super::fs::{FileSystem, LogFile, OpenMode, SegmentFiles};
use super::index::{Index, SegmentEntry};
use super::report::{DamagedFrame, TornTail};
use super::segment_scan::{SegmentContext, SegmentReader};
use super::window::{Window, WINDOW_BYTES};

/// Why a scan stopped.
#[derive(Debug)]
pub(crate) enum ScanError {
    Io {
        path: PathBuf,
        source: io::Error,
    },
    Damaged {
        segment: PathBuf,
        offset: u64,
        damage: Damage,
    },
}

/// Whether the scan stops at the first damage (open) or lists them all (verify).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mode {
    Open,
    Verify,
}

/// One segment as the scan left it.
#[derive(Debug)]
pub(crate) struct ScannedSegment {
    pub number: u64,
    pub path: PathBuf,
    /// For the last segment, the file as the scan opened it (for writing, in a writable
    /// open); for the others, a handle that opens the file when it is read.
    pub file: Arc<dyn LogFile>,
    /// The end of the segment's last complete batch.
    pub committed_end: u64,
}

/// The result of scanning a whole log.
#[derive(Debug)]
pub(crate) struct Scan {
    /// The rebuilt index (in verify mode, dropped at the first damage: it cannot be trusted).
    pub index: Option<Index>,
    pub segments: Vec<ScannedSegment>,
    pub events: u64,
    pub damaged: Vec<DamagedFrame>,
    pub torn_tail: Option<TornTail>,
    /// Temporary files found beside the segments.
    pub temp_files: Vec<PathBuf>,
    /// Complete batches gathered instead of indexed (when following a log).
    pub collected: Option<Collected>,
}

/// A segment file found in the log directory.
struct ListedSegment {
    /// The number in its name.
    number: u64,
    path: PathBuf,
}

/// A listed segment, with its length.
struct MeasuredSegment {
    number: u64,
    path: PathBuf,
    len: u64,
}

/// The files of a log directory.
struct Listing {
    /// The segment files, sorted by number.
    segments: Vec<ListedSegment>,
    /// Temporary segment files left by a crash.
    temp_files: Vec<PathBuf>,
}

/// The segment files of `dir`, sorted by number, and the temporary files beside them.
fn list_segments(fs: &dyn FileSystem, dir: &Path) -> Result<Listing, ScanError> {
    let entries = fs.list_dir(dir).map_err(|source| ScanError::Io {
        path: dir.to_path_buf(),
        source,
    })?;
    let mut segments = Vec::new();
    let mut temp_files = Vec::new();
    for path in entries {
        if let Some(number) = segment_number(&path) {
            segments.push(ListedSegment { number, path });
        } else if is_temp_segment(&path) {
            temp_files.push(path);
        }
    }
    segments.sort_unstable_by_key(|segment| segment.number);
    Ok(Listing {
        segments,
        temp_files,
    })
}

/// Scans every segment of `dir` in order, opening one segment file at a time (`files`
/// opens them again when they are read).
pub(crate) fn scan_log(
    files: &Arc<SegmentFiles>,
    dir: &Path,
    mode: Mode,
    open_mode: OpenMode,
) -> Result<Scan, ScanError> {
    let fs = files.fs();
    let Listing {
        segments: listed,
        temp_files,
    } = list_segments(fs, dir)?;
    let mut scan = Scan {
        index: Some(Index::default()),
        segments: Vec::with_capacity(listed.len()),
        events: 0,
        damaged: Vec::new(),
        torn_tail: None,
        temp_files,
        collected: None,
    };
    let opened = measure_segments(fs, listed)?;
    let mut bytes_left: u64 = opened.iter().map(|segment| segment.len).sum();
    let mut bytes_scanned = 0;
    // The position the next segment must start at, when known.
    let mut next_position = Some(1);
    // The number the next segment file should have.
    let mut expected_number = 1u64;
    let count = opened.len();
    for (i, MeasuredSegment { number, path, len }) in opened.into_iter().enumerate() {
        if let Some(index) = scan.index.as_mut() {
            index.reserve(expected_events(scan.events, bytes_scanned, bytes_left));
        }
        bytes_scanned += len;
        bytes_left -= len;
        // Numbers are sorted and distinct: one gap before this segment is one report, and
        // its first position then cannot follow the previous segment's last.
        let after_gap = number > expected_number;
        if after_gap {
            let damage = if number - expected_number == 1 {
                Damage::SegmentMissing {
                    number: expected_number,
                }
            } else {
                Damage::SegmentsMissing {
                    first: expected_number,
                    last: number - 1,
                }
            };
            scan.report(mode, &path, 0, damage)?;
        }
        expected_number = number.saturating_add(1);
        let io_error = |source: io::Error| ScanError::Io {
            path: path.clone(),
            source,
        };
        let file = fs.open(&path, open_mode).map_err(io_error)?;
        let mut reader = SegmentReader {
            file: Arc::clone(&file),
            len: file.len().map_err(io_error)?,
            window: Window::new(WINDOW_BYTES),
        };
        let header = match reader.header(&path, number) {
            Ok(header) => header,
            Err(ScanError::Damaged { damage, .. }) => {
                scan.report(mode, &path, 0, damage)?;
                next_position = None;
                continue;
            }
            Err(error) => return Err(error),
        };
        if let Some(expected) = next_position.filter(|&p| !after_gap && p != header.first_position)
        {
            scan.report_position_gap(mode, &path, expected, header.first_position)?;
        }
        let slot = u32::try_from(i).unwrap_or(u32::MAX);
        let is_last = i + 1 == count;
        let ctx = SegmentContext {
            path: &path,
            slot,
            is_last,
            mode,
        };
        let end = reader.scan_frames(
            &ctx,
            SEGMENT_HEADER_LEN as u64,
            header.first_position,
            &mut scan,
        )?;
        next_position = end.next_position;
        drop(reader);
        if let Some(index) = scan.index.as_mut() {
            index.add_segment(SegmentEntry {
                path: path.clone(),
                file: files.lazy(&path),
                committed_len: end.committed_end,
            });
        }
        // Only the last segment stays open: a log of many segments must not need a file
        // descriptor for each.
        let file = if is_last { file } else { files.lazy(&path) };
        scan.segments.push(ScannedSegment {
            number,
            path,
            file,
            committed_end: end.committed_end,
        });
    }
    Ok(scan)
}

/// The length of each listed segment, each file opened and closed again.
fn measure_segments(
    fs: &dyn FileSystem,
    listed: Vec<ListedSegment>,
) -> Result<Vec<MeasuredSegment>, ScanError> {
    let mut measured = Vec::with_capacity(listed.len());
    for ListedSegment { number, path } in listed {
        let io_error = |source: io::Error| ScanError::Io {
            path: path.clone(),
            source,
        };
        let len = fs
            .open(&path, OpenMode::Read)
            .and_then(|file| file.len())
            .map_err(io_error)?;
        measured.push(MeasuredSegment { number, path, len });
    }
    Ok(measured)
}

/// How many events the next `bytes_left` bytes of segments probably hold: at the rate seen so
/// far, or before any was seen, at one per 256 bytes of the next 64 MiB (a guess that costs
/// little memory when frames are larger).
fn expected_events(events_so_far: u64, bytes_so_far: u64, bytes_left: u64) -> usize {
    let estimate = if events_so_far == 0 || bytes_so_far == 0 {
        bytes_left.min(64 << 20) / 256
    } else {
        u64::try_from(u128::from(bytes_left) * u128::from(events_so_far) / u128::from(bytes_so_far))
            .unwrap_or(u64::MAX)
    };
    usize::try_from(estimate).unwrap_or(0)
}

impl Scan {
    /// Reports a segment whose first position does not follow the previous segment's last.
    /// When events are missing between them, the earlier segment was cut short: it is named,
    /// at its end; otherwise the later one is, at its header.
    fn report_position_gap(
        &mut self,
        mode: Mode,
        path: &Path,
        expected: u64,
        found: u64,
    ) -> Result<(), ScanError> {
        let damage = Damage::FirstPositionMismatch { expected, found };
        match self.segments.last() {
            Some(previous) if found > expected => {
                let (previous_path, previous_end) = (previous.path.clone(), previous.committed_end);
                self.report(mode, &previous_path, previous_end, damage)
            }
            _ => self.report(mode, path, 0, damage),
        }
    }

    /// Records damage: in open mode, stops the scan with it; in verify mode, lists it and
    /// stops trusting the index. A format version this build does not read stops both.
    pub(super) fn report(
        &mut self,
        mode: Mode,
        segment: &Path,
        offset: u64,
        damage: Damage,
    ) -> Result<(), ScanError> {
        match mode {
            _ if matches!(damage, Damage::UnsupportedVersion { .. }) => Err(ScanError::Damaged {
                segment: segment.to_path_buf(),
                offset,
                damage,
            }),
            Mode::Open => Err(ScanError::Damaged {
                segment: segment.to_path_buf(),
                offset,
                damage,
            }),
            Mode::Verify => {
                self.index = None;
                self.damaged.push(DamagedFrame {
                    segment: segment.to_path_buf(),
                    offset,
                    damage,
                });
                Ok(())
            }
        }
    }
}
