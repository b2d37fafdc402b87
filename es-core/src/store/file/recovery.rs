//! Reading the log from the start: rebuilding the index on open, telling a torn tail from
//! damage, and verifying every frame. The rules are documented on [`RecoveryReport`].

use std::io;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::format::{Damage, FrameHeader, SegmentHeader, FRAME_HEADER_LEN, SEGMENT_HEADER_LEN};
use super::fs::{FileSystem, LogFile, OpenMode};
use super::index::{Index, IndexedEvent, SegmentEntry};
use super::window::{Window, WINDOW_BYTES};

const SEGMENT_PREFIX: &str = "seg-";
const SEGMENT_SUFFIX: &str = ".log";
/// The suffix of files written before being renamed into place; left over only by a crash.
pub(crate) const TEMP_SUFFIX: &str = ".tmp";

/// The file name of segment `number`.
pub(crate) fn segment_file_name(number: u64) -> String {
    format!("{SEGMENT_PREFIX}{number:010}{SEGMENT_SUFFIX}")
}

fn segment_number(path: &Path) -> Option<u64> {
    let name = path.file_name()?.to_str()?;
    let digits = name
        .strip_prefix(SEGMENT_PREFIX)?
        .strip_suffix(SEGMENT_SUFFIX)?;
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

/// What [`FileStore::open`](super::FileStore::open) found in the directory and repaired.
///
/// Recovery follows these rules, and reports what it did here:
///
/// - Every frame of every segment is checked (header and body CRC32C, consecutive positions,
///   consecutive stream versions, unique event ids) while the index is rebuilt.
/// - A batch is visible only once its last frame (flagged as the end of the batch) is on disk.
///   Frames of an unfinished batch at the end of the last segment are removed.
/// - A damaged frame in the last segment is a *torn tail* when nothing written after it says
///   that it was committed: each frame records the highest position that was committed
///   (fsynced, under the default durability) when it was written, so damage that a later
///   frame vouches for was on disk before and is corruption, not an interrupted write. A torn
///   tail is cut off: the segment is truncated after the last complete batch, and the cut is
///   reported in [`RecoveryReport::torn_tail`].
/// - Any other damage (a flipped byte before the tail, a segment that is not the last ending
///   early or inside a batch, a missing segment) makes `open` fail with
///   [`OpenError::Corrupt`](super::OpenError::Corrupt) naming the segment file and the byte
///   offset, and nothing is modified. [`FileStore::verify`](super::FileStore::verify) lists every damaged frame.
/// - Temporary files left by an interrupted segment, snapshot or checkpoint write are removed.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct RecoveryReport {
    /// Segment files in the log.
    pub segments: usize,
    /// Events in the log after recovery.
    pub events: u64,
    /// The torn tail that was cut off, if there was one. A read-only open reports the torn
    /// tail it found and hid, and cuts nothing.
    pub torn_tail: Option<TornTail>,
    /// Temporary files of interrupted writes that were removed (none by a read-only open).
    pub temp_files_removed: usize,
}

/// A torn tail: the end of the last segment, written by appends that were never acknowledged
/// (the process or the machine stopped while they were being written).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct TornTail {
    /// The segment file.
    pub segment: PathBuf,
    /// Where the segment ends after the cut: the end of its last complete batch.
    pub offset: u64,
    /// Bytes removed from the end of the segment.
    pub bytes_removed: u64,
    /// Why the bytes after `offset` are not a complete batch.
    pub reason: String,
}

/// A frame that is damaged, as [`FileStore::verify`](super::FileStore::verify) reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct DamagedFrame {
    /// The segment file.
    pub segment: PathBuf,
    /// The byte offset of the damaged frame (or header) in the segment.
    pub offset: u64,
    /// What is wrong.
    pub reason: String,
}

/// What [`FileStore::verify`](super::FileStore::verify) found: every damaged frame, and the torn tail `open` would cut.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct VerifyReport {
    /// Segment files read.
    pub segments: usize,
    /// Intact events in complete batches.
    pub events: u64,
    /// Every damaged frame, in log order; `open` refuses a log with any.
    pub damaged: Vec<DamagedFrame>,
    /// The torn tail `open` would cut off.
    pub torn_tail: Option<TornTail>,
}

impl VerifyReport {
    /// True when no frame is damaged (a torn tail is not damage: `open` repairs it).
    #[must_use]
    pub fn is_clean(&self) -> bool {
        self.damaged.is_empty()
    }
}

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
    collected: Option<Collected>,
}

/// The frames of complete batches gathered by [`scan_growth`], to be indexed all at once.
#[derive(Debug, Default)]
pub(crate) struct Collected {
    /// Each frame's header, segment slot, offset, and stream id (a range of `stream_ids`).
    frames: Vec<(FrameHeader, u32, u64, Range<usize>)>,
    stream_ids: String,
}

impl Collected {
    fn take(&mut self, pending: &PendingBatch, slot: u32) {
        let base = self.stream_ids.len();
        self.stream_ids.push_str(&pending.stream_ids);
        self.frames
            .extend(pending.frames.iter().map(|(header, offset, name)| {
                (*header, slot, *offset, name.start + base..name.end + base)
            }));
    }

    /// The gathered frames, as the index records them.
    pub(crate) fn events(&self) -> Vec<IndexedEvent<'_>> {
        self.frames
            .iter()
            .map(|(header, slot, offset, name)| IndexedEvent {
                position: header.position,
                stream_id: &self.stream_ids[name.clone()],
                stream_version: header.stream_version,
                event_id: header.event_id,
                segment: *slot,
                offset: *offset,
            })
            .collect()
    }
}

/// The files of a log directory.
struct Listing {
    /// Segment numbers and paths, sorted by number.
    segments: Vec<(u64, PathBuf)>,
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
            segments.push((number, path));
        } else if path
            .file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| n.starts_with(SEGMENT_PREFIX) && n.ends_with(TEMP_SUFFIX))
        {
            temp_files.push(path);
        }
    }
    segments.sort_unstable_by_key(|(number, _)| *number);
    Ok(Listing {
        segments,
        temp_files,
    })
}

/// Scans every segment of `dir` in order.
pub(crate) fn scan_log(
    fs: &dyn FileSystem,
    dir: &Path,
    mode: Mode,
    open_mode: OpenMode,
) -> Result<Scan, ScanError> {
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
    let mut opened = Vec::with_capacity(listed.len());
    for (number, path) in listed {
        let io_error = |source: io::Error| ScanError::Io {
            path: path.clone(),
            source,
        };
        let file = fs.open(&path, open_mode).map_err(io_error)?;
        let len = file.len().map_err(io_error)?;
        opened.push((number, path, file, len));
    }
    let mut bytes_left: u64 = opened.iter().map(|(_, _, _, len)| len).sum();
    let mut bytes_scanned = 0;
    // The position the next segment must start at, when known.
    let mut next_position = Some(1);
    let count = opened.len();
    for (i, (number, path, file, len)) in opened.into_iter().enumerate() {
        let io_error = |source: io::Error| ScanError::Io {
            path: path.clone(),
            source,
        };
        if let Some(index) = scan.index.as_mut() {
            index.reserve(expected_events(scan.events, bytes_scanned, bytes_left));
        }
        bytes_scanned += len;
        bytes_left -= len;
        let expected_number = i as u64 + 1;
        if number != expected_number {
            scan.report(
                mode,
                &path,
                0,
                Damage::SegmentMissing {
                    number: expected_number,
                },
            )?;
        }
        let mut reader = SegmentReader {
            file: Arc::clone(&file),
            len,
            window: Window::new(WINDOW_BYTES),
        };
        let header = reader.header(number).map_err(io_error)?;
        let header = match header {
            Ok(header) => header,
            Err(damage) => {
                scan.report(mode, &path, 0, damage)?;
                next_position = None;
                continue;
            }
        };
        if let Some(expected) = next_position.filter(|&p| p != header.first_position) {
            scan.report_position_gap(mode, &path, expected, header.first_position)?;
        }
        let slot = u32::try_from(i).unwrap_or(u32::MAX);
        let ctx = SegmentContext {
            path: &path,
            slot,
            is_last: i + 1 == count,
            mode,
        };
        let end = reader
            .scan_frames(
                &ctx,
                SEGMENT_HEADER_LEN as u64,
                header.first_position,
                &mut scan,
            )
            .map_err(io_error)??;
        next_position = end.next_position;
        if let Some(index) = scan.index.as_mut() {
            index.add_segment(SegmentEntry {
                path: path.clone(),
                file: Arc::clone(&file),
                committed_len: end.committed_end,
            });
        }
        scan.segments.push(ScannedSegment {
            number,
            path,
            file,
            committed_end: end.committed_end,
        });
    }
    Ok(scan)
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
    fn report(
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
                    reason: damage.to_string(),
                });
                Ok(())
            }
        }
    }
}

struct SegmentContext<'a> {
    path: &'a Path,
    slot: u32,
    is_last: bool,
    mode: Mode,
}

/// Where a segment's scan ended.
struct SegmentEnd {
    committed_end: u64,
    /// The position the next segment starts at, when known.
    next_position: Option<u64>,
}

/// A frame read during the scan.
enum Frame<'w> {
    End,
    Valid {
        header: FrameHeader,
        stream_id: &'w str,
    },
    Damaged {
        damage: Damage,
        /// The header, when it is intact (the damage is in the body).
        header: Option<FrameHeader>,
    },
}

/// The frames of a batch whose last frame has not been read yet.
#[derive(Default)]
struct PendingBatch {
    frames: Vec<(FrameHeader, u64, Range<usize>)>,
    stream_ids: String,
}

impl PendingBatch {
    fn push(&mut self, header: FrameHeader, offset: u64, stream_id: &str) {
        let start = self.stream_ids.len();
        self.stream_ids.push_str(stream_id);
        self.frames
            .push((header, offset, start..self.stream_ids.len()));
    }

    fn clear(&mut self) {
        self.frames.clear();
        self.stream_ids.clear();
    }
}

struct SegmentReader {
    file: Arc<dyn LogFile>,
    len: u64,
    window: Window,
}

impl SegmentReader {
    fn header(&mut self, number: u64) -> io::Result<Result<SegmentHeader, Damage>> {
        let bytes = self
            .window
            .get(&*self.file, 0, SEGMENT_HEADER_LEN, self.len)?;
        Ok(SegmentHeader::decode(bytes).and_then(|header| {
            if header.number == number {
                Ok(header)
            } else {
                Err(Damage::SegmentNumberMismatch {
                    in_name: number,
                    in_header: header.number,
                })
            }
        }))
    }

    fn frame_at(&mut self, offset: u64) -> io::Result<Frame<'_>> {
        if offset >= self.len {
            return Ok(Frame::End);
        }
        let bytes = self
            .window
            .get(&*self.file, offset, FRAME_HEADER_LEN, self.len)?;
        let header = match FrameHeader::decode(bytes) {
            Ok(header) => header,
            Err(damage) => {
                return Ok(Frame::Damaged {
                    damage,
                    header: None,
                })
            }
        };
        let frame_len = header.frame_len();
        let available = self.len - offset;
        if frame_len > available {
            return Ok(Frame::Damaged {
                damage: Damage::FrameTruncated {
                    frame_len,
                    available,
                },
                header: Some(header),
            });
        }
        let frame_len = usize::try_from(frame_len).unwrap_or(usize::MAX);
        let bytes = self.window.get(&*self.file, offset, frame_len, self.len)?;
        let body = &bytes[FRAME_HEADER_LEN.min(bytes.len())..];
        match header
            .check_body(body)
            .and_then(|()| header.stream_id(body))
        {
            Ok(stream_id) => Ok(Frame::Valid { header, stream_id }),
            Err(damage) => Ok(Frame::Damaged {
                damage,
                header: Some(header),
            }),
        }
    }

    /// The next offset at or after `from` holding an intact frame header whose position could
    /// follow a damaged frame at `damaged_offset` that should have held `damaged_position`.
    fn find_frame_after(
        &mut self,
        from: u64,
        damaged_offset: u64,
        damaged_position: u64,
    ) -> io::Result<Option<(u64, FrameHeader)>> {
        let mut offset = from;
        while offset + FRAME_HEADER_LEN as u64 <= self.len {
            let bytes = self
                .window
                .get(&*self.file, offset, FRAME_HEADER_LEN, self.len)?;
            // Frames between the damage and `offset` take at least a header and a byte each,
            // which bounds the position a genuine frame here can have: a cheap filter that
            // spares most offsets a checksum.
            let position = FrameHeader::peek_position(bytes);
            let most = damaged_position + (offset - damaged_offset) / (FRAME_HEADER_LEN as u64 + 1);
            if (damaged_position..=most).contains(&position) {
                if let Ok(header) = FrameHeader::decode(bytes) {
                    return Ok(Some((offset, header)));
                }
            }
            offset += 1;
        }
        Ok(None)
    }

    /// Whether damage at `offset` (where position `damaged_position` belongs) in the last
    /// segment is a torn write: no frame after it says that position `first_uncommitted` was
    /// committed before it was written.
    fn is_torn(
        &mut self,
        offset: u64,
        damaged_header: Option<FrameHeader>,
        damaged_position: u64,
        first_uncommitted: u64,
    ) -> io::Result<bool> {
        let mut next = match damaged_header {
            Some(header) => offset.saturating_add(header.frame_len()),
            None => offset + 1,
        };
        while next < self.len {
            let found = self.find_frame_after(next, offset, damaged_position)?;
            let Some((at, header)) = found else {
                return Ok(true);
            };
            if header.committed_through >= first_uncommitted {
                return Ok(false);
            }
            next = at.saturating_add(header.frame_len());
        }
        Ok(true)
    }

    /// Scans the frames of one segment from `start`, where position `first_position` is,
    /// feeding complete batches to the index.
    fn scan_frames(
        &mut self,
        ctx: &SegmentContext<'_>,
        start: u64,
        first_position: u64,
        scan: &mut Scan,
    ) -> io::Result<Result<SegmentEnd, ScanError>> {
        let mut offset = start;
        let mut committed_end = offset;
        let mut expected = first_position;
        let mut first_uncommitted = first_position;
        let mut pending = PendingBatch::default();
        loop {
            let (damage, damaged_header) = match self.frame_at(offset)? {
                Frame::End => break,
                Frame::Valid { header, stream_id } if header.position == expected => {
                    pending.push(header, offset, stream_id);
                    expected += 1;
                    offset += header.frame_len();
                    if !header.batch_end {
                        continue;
                    }
                    if let Err((at, damage)) = flush(&mut pending, ctx.slot, scan) {
                        if let Err(e) = scan.report(ctx.mode, ctx.path, at, damage) {
                            return Ok(Err(e));
                        }
                    }
                    committed_end = offset;
                    first_uncommitted = expected;
                    continue;
                }
                Frame::Valid { header, .. } => (
                    Damage::PositionOutOfOrder {
                        expected,
                        found: header.position,
                    },
                    Some(header),
                ),
                Frame::Damaged { damage, header } => (damage, header),
            };
            if ctx.is_last && self.is_torn(offset, damaged_header, expected, first_uncommitted)? {
                scan.torn_tail = Some(self.torn_tail(ctx, committed_end, damage.to_string()));
                pending.clear();
                return Ok(Ok(SegmentEnd {
                    committed_end,
                    next_position: Some(first_uncommitted),
                }));
            }
            if let Err(e) = scan.report(ctx.mode, ctx.path, offset, damage) {
                return Ok(Err(e));
            }
            // Verify mode: carry on after the damaged frame, or at the next intact frame.
            pending.clear();
            let resume = match damaged_header {
                Some(header) if offset + header.frame_len() <= self.len => {
                    Some((offset + header.frame_len(), header.position + 1))
                }
                _ => self
                    .find_frame_after(offset + 1, offset, expected)?
                    .map(|(at, header)| (at, header.position)),
            };
            let Some((at, position)) = resume else {
                committed_end = self.len;
                break;
            };
            offset = at;
            committed_end = at;
            expected = position;
            first_uncommitted = position;
        }
        if !pending.frames.is_empty() {
            if ctx.is_last {
                scan.torn_tail = Some(self.torn_tail(
                    ctx,
                    committed_end,
                    "the last batch is unfinished".to_owned(),
                ));
            } else if let Err(e) = scan.report(
                ctx.mode,
                ctx.path,
                committed_end,
                Damage::SegmentEndsInsideBatch,
            ) {
                return Ok(Err(e));
            }
            expected = first_uncommitted;
        }
        Ok(Ok(SegmentEnd {
            committed_end,
            next_position: Some(expected),
        }))
    }

    fn torn_tail(&self, ctx: &SegmentContext<'_>, offset: u64, reason: String) -> TornTail {
        TornTail {
            segment: ctx.path.to_path_buf(),
            offset,
            bytes_removed: self.len - offset,
            reason,
        }
    }
}

/// Feeds a complete batch to the index; on an invariant violation, returns the offending
/// frame's offset and what is wrong.
fn flush(pending: &mut PendingBatch, slot: u32, scan: &mut Scan) -> Result<(), (u64, Damage)> {
    let mut result = Ok(());
    scan.events += pending.frames.len() as u64;
    if let Some(collected) = scan.collected.as_mut() {
        collected.take(pending, slot);
    } else if let Some(index) = scan.index.as_mut() {
        for (header, offset, name) in &pending.frames {
            let pushed = index.push(&IndexedEvent {
                position: header.position,
                stream_id: &pending.stream_ids[name.clone()],
                stream_version: header.stream_version,
                event_id: header.event_id,
                segment: slot,
                offset: *offset,
            });
            if let Err(damage) = pushed {
                result = Err((*offset, damage));
                break;
            }
        }
    }
    pending.clear();
    result
}

/// Where a read-only store's index of a log ends: what [`scan_growth`] continues from.
#[derive(Debug)]
pub(crate) struct IndexEnd {
    /// Segments in the index.
    pub segments: usize,
    /// The last of them, with the end of its complete batches.
    pub last: Option<(PathBuf, Arc<dyn LogFile>, u64)>,
    /// The position the next event will have.
    pub next_position: u64,
}

/// What the writer of a log committed beyond an [`IndexEnd`].
#[derive(Debug, Default)]
pub(crate) struct Growth {
    /// The complete batches, in log order.
    pub collected: Collected,
    /// The new end of the complete batches of the index's last segment.
    pub last_end: Option<u64>,
    /// Segments started since, each with the end of its complete batches.
    pub new_segments: Vec<SegmentEntry>,
}

/// Reads the complete batches that another process appended to the log in `dir` after
/// `end`, under the rules of an open (a torn or unfinished tail of the last segment is left
/// out, any other damage is an error), without modifying anything.
pub(crate) fn scan_growth(
    fs: &dyn FileSystem,
    dir: &Path,
    end: IndexEnd,
) -> Result<Growth, ScanError> {
    let mut scan = Scan {
        index: None,
        segments: Vec::new(),
        events: 0,
        damaged: Vec::new(),
        torn_tail: None,
        temp_files: Vec::new(),
        collected: Some(Collected::default()),
    };
    let mut growth = Growth::default();
    let mut next_position = end.next_position;
    let mut slot = end.segments.checked_sub(1);
    let mut current = end.last;
    loop {
        let number = slot.map_or(1, |s| s as u64 + 2);
        let path = dir.join(segment_file_name(number));
        // Looked for before the current segment's length is read: once the next segment
        // exists, the writer has finished the current one.
        let next = match fs.open(&path, OpenMode::Read) {
            Ok(file) => Some(file),
            Err(e) if e.kind() == io::ErrorKind::NotFound => None,
            Err(source) => return Err(ScanError::Io { path, source }),
        };
        if let (Some((current_path, file, start)), Some(slot)) = (current.take(), slot) {
            let slot = u32::try_from(slot).unwrap_or(u32::MAX);
            let ctx = SegmentContext {
                path: &current_path,
                slot,
                is_last: next.is_none(),
                mode: Mode::Open,
            };
            let end = scan_segment_from(&ctx, file, start, next_position, &mut scan)?;
            next_position = end.next_position.unwrap_or(next_position);
            match growth.new_segments.last_mut() {
                Some(entry) => entry.committed_len = end.committed_end,
                None => growth.last_end = Some(end.committed_end),
            }
        }
        let Some(file) = next else { break };
        let io_error = |source| ScanError::Io {
            path: path.clone(),
            source,
        };
        let mut reader = SegmentReader {
            len: file.len().map_err(io_error)?,
            file: Arc::clone(&file),
            window: Window::new(SEGMENT_HEADER_LEN),
        };
        match reader.header(number).map_err(io_error)? {
            Ok(header) if header.first_position == next_position => {}
            Ok(header) => {
                return Err(ScanError::Damaged {
                    segment: path,
                    offset: 0,
                    damage: Damage::FirstPositionMismatch {
                        expected: next_position,
                        found: header.first_position,
                    },
                })
            }
            Err(damage) => {
                return Err(ScanError::Damaged {
                    segment: path,
                    offset: 0,
                    damage,
                })
            }
        }
        let committed_len = SEGMENT_HEADER_LEN as u64;
        growth.new_segments.push(SegmentEntry {
            path: path.clone(),
            file: Arc::clone(&file),
            committed_len,
        });
        slot = Some(slot.map_or(0, |s| s + 1));
        current = Some((path, file, committed_len));
    }
    growth.collected = scan.collected.unwrap_or_default();
    Ok(growth)
}

/// Scans one segment from `start` (where position `first_position` is) to its current end.
fn scan_segment_from(
    ctx: &SegmentContext<'_>,
    file: Arc<dyn LogFile>,
    start: u64,
    first_position: u64,
    scan: &mut Scan,
) -> Result<SegmentEnd, ScanError> {
    let io_error = |source| ScanError::Io {
        path: ctx.path.to_path_buf(),
        source,
    };
    let len = file.len().map_err(io_error)?;
    if len < start {
        return Err(ScanError::Damaged {
            segment: ctx.path.to_path_buf(),
            offset: len,
            damage: Damage::SegmentShrank { len, read: start },
        });
    }
    let mut reader = SegmentReader {
        file,
        len,
        window: Window::new(WINDOW_BYTES),
    };
    reader
        .scan_frames(ctx, start, first_position, scan)
        .map_err(io_error)?
}
