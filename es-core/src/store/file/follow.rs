//! Following a live log: the complete batches another process appended after what a
//! read-only store's index holds.

use std::io;
use std::ops::Range;
use std::path::Path;
use std::sync::Arc;

use super::damage::Damage;
use super::format::{segment_file_name, FrameHeader, SEGMENT_HEADER_LEN};
use super::fs::{LogFile, OpenMode, SegmentFiles};
use super::index::{IndexedEvent, SegmentEntry};
use super::scan::{Mode, Scan, ScanError};
use super::segment_scan::{PendingBatch, SegmentContext, SegmentEnd, SegmentReader};
use super::window::{Window, WINDOW_BYTES};

/// A frame of a complete batch, gathered to be indexed.
#[derive(Debug)]
struct GatheredFrame {
    header: FrameHeader,
    /// The slot of its segment in the index.
    slot: u32,
    /// Its byte offset in the segment.
    offset: u64,
    /// Its stream id, as a range of [`Collected::stream_ids`].
    stream_id: Range<usize>,
}

/// The frames of complete batches gathered by [`scan_growth`], to be indexed all at once.
#[derive(Debug, Default)]
pub(crate) struct Collected {
    frames: Vec<GatheredFrame>,
    /// The stream ids of the frames, one after the other.
    stream_ids: String,
}

impl Collected {
    /// Takes the frames of a complete batch read from the segment in `slot`.
    pub(super) fn take(&mut self, pending: &PendingBatch, slot: u32) {
        let base = self.stream_ids.len();
        self.stream_ids.push_str(&pending.stream_ids);
        self.frames
            .extend(pending.frames.iter().map(|frame| GatheredFrame {
                header: frame.header,
                slot,
                offset: frame.offset,
                stream_id: frame.stream_id.start + base..frame.stream_id.end + base,
            }));
    }

    /// The gathered frames, as the index records them.
    pub(crate) fn events(&self) -> Vec<IndexedEvent<'_>> {
        self.frames
            .iter()
            .map(|frame| IndexedEvent {
                position: frame.header.position,
                stream_id: &self.stream_ids[frame.stream_id.clone()],
                stream_version: frame.header.stream_version,
                event_id: frame.header.event_id,
                segment: frame.slot,
                offset: frame.offset,
            })
            .collect()
    }
}

/// Where a read-only store's index of a log ends: what [`scan_growth`] continues from.
#[derive(Debug)]
pub(crate) struct IndexEnd {
    /// Segments in the index.
    pub segments: usize,
    /// The last of them, with the end of its complete batches.
    pub last: Option<SegmentEntry>,
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
    files: &Arc<SegmentFiles>,
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
        let next = match files.fs().open(&path, OpenMode::Read) {
            Ok(file) => Some(file),
            Err(e) if e.kind() == io::ErrorKind::NotFound => None,
            Err(source) => return Err(ScanError::Io { path, source }),
        };
        if let (Some(segment), Some(slot)) = (current.take(), slot) {
            let slot = u32::try_from(slot).unwrap_or(u32::MAX);
            let ctx = SegmentContext {
                path: &segment.path,
                slot,
                is_last: next.is_none(),
                mode: Mode::Open,
            };
            let end = scan_segment_from(
                &ctx,
                segment.file,
                segment.committed_len,
                next_position,
                &mut scan,
            )?;
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
        let header = reader.header(&path, number)?;
        if header.first_position != next_position {
            return Err(ScanError::Damaged {
                segment: path,
                offset: 0,
                damage: Damage::FirstPositionMismatch {
                    expected: next_position,
                    found: header.first_position,
                },
            });
        }
        let committed_len = SEGMENT_HEADER_LEN as u64;
        // The index opens it again when it is read; this handle lives until the segment
        // is scanned.
        growth.new_segments.push(SegmentEntry {
            path: path.clone(),
            file: files.lazy(&path),
            committed_len,
        });
        slot = Some(slot.map_or(0, |s| s + 1));
        current = Some(SegmentEntry {
            path,
            file,
            committed_len,
        });
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
    let len = file.len().map_err(|source| ctx.io_error(source))?;
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
    reader.scan_frames(ctx, start, first_position, scan)
}
