//! Scanning the frames of one segment: complete batches go to the index, a torn tail is told
//! from damage by the committed-through position later frames record.

use std::io;
use std::ops::Range;
use std::path::Path;
use std::sync::Arc;

use super::damage::Damage;
use super::format::{FrameHeader, SegmentHeader, FRAME_HEADER_LEN, SEGMENT_HEADER_LEN};
use super::fs::LogFile;
use super::index::IndexedEvent;
use super::report::TornTail;
use super::scan::{Mode, Scan, ScanError};
use super::window::Window;

/// The segment being scanned, and what the scan of it must know.
pub(super) struct SegmentContext<'a> {
    pub path: &'a Path,
    /// The segment's slot in the index.
    pub slot: u32,
    /// Whether it is the last segment of the log, the only one that may have a torn tail.
    pub is_last: bool,
    pub mode: Mode,
}

impl SegmentContext<'_> {
    /// A failed read of this segment.
    pub fn io_error(&self, source: io::Error) -> ScanError {
        ScanError::Io {
            path: self.path.to_path_buf(),
            source,
        }
    }
}

/// Where a segment's scan ended.
pub(super) struct SegmentEnd {
    pub committed_end: u64,
    /// The position the next segment starts at, when known.
    pub next_position: Option<u64>,
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

/// A frame of a batch, read but not yet indexed.
pub(super) struct PendingFrame {
    pub header: FrameHeader,
    /// Its byte offset in the segment.
    pub offset: u64,
    /// Its stream id, as a range of [`PendingBatch::stream_ids`].
    pub stream_id: Range<usize>,
}

/// The frames of a batch whose last frame has not been read yet.
#[derive(Default)]
pub(super) struct PendingBatch {
    pub frames: Vec<PendingFrame>,
    /// The stream ids of the frames, one after the other.
    pub stream_ids: String,
}

impl PendingBatch {
    fn push(&mut self, header: FrameHeader, offset: u64, stream_id: &str) {
        let start = self.stream_ids.len();
        self.stream_ids.push_str(stream_id);
        self.frames.push(PendingFrame {
            header,
            offset,
            stream_id: start..self.stream_ids.len(),
        });
    }

    fn clear(&mut self) {
        self.frames.clear();
        self.stream_ids.clear();
    }
}

/// Where a verify scan carries on after damage: the offset of the next frame it reads, and
/// the position that frame should have.
struct Resume {
    offset: u64,
    position: u64,
}

/// An intact frame header found after damage.
struct FoundFrame {
    offset: u64,
    header: FrameHeader,
}

/// Reads one segment file through a window of buffered bytes.
pub(super) struct SegmentReader {
    pub file: Arc<dyn LogFile>,
    pub len: u64,
    pub window: Window,
}

impl SegmentReader {
    /// The header of segment `number` at `path`; damage is a [`ScanError::Damaged`] at
    /// offset 0, for the caller to report or stop at.
    pub fn header(&mut self, path: &Path, number: u64) -> Result<SegmentHeader, ScanError> {
        let bytes = self
            .window
            .get(&*self.file, 0, SEGMENT_HEADER_LEN, self.len)
            .map_err(|source| ScanError::Io {
                path: path.to_path_buf(),
                source,
            })?;
        let damage = match SegmentHeader::decode(bytes) {
            Ok(header) if header.number == number => return Ok(header),
            Ok(header) => Damage::SegmentNumberMismatch {
                in_name: number,
                in_header: header.number,
            },
            Err(damage) => damage,
        };
        Err(ScanError::Damaged {
            segment: path.to_path_buf(),
            offset: 0,
            damage,
        })
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
    ) -> io::Result<Option<FoundFrame>> {
        let mut offset = from;
        while offset.saturating_add(FRAME_HEADER_LEN as u64) <= self.len {
            let bytes = self
                .window
                .get(&*self.file, offset, FRAME_HEADER_LEN, self.len)?;
            // The file can be shorter than the length read at the start of the scan (the
            // writer cut a torn tail meanwhile): what is not there holds no frame.
            let Some(position) = FrameHeader::peek_position(bytes) else {
                return Ok(None);
            };
            // Frames between the damage and `offset` take at least a header and a byte each,
            // which bounds the position a genuine frame here can have: a cheap filter that
            // spares most offsets a checksum.
            let most = damaged_position.saturating_add(
                offset.saturating_sub(damaged_offset) / (FRAME_HEADER_LEN as u64 + 1),
            );
            if (damaged_position..=most).contains(&position) {
                if let Ok(header) = FrameHeader::decode(bytes) {
                    return Ok(Some(FoundFrame { offset, header }));
                }
            }
            offset += 1;
        }
        Ok(None)
    }

    /// Whether damage at `offset` (where position `damaged_position` belongs) in the last
    /// segment is a torn write: no frame after it says that position `first_uncommitted` was
    /// committed before it was written.
    ///
    /// `last_position` is raised to the highest position an intact header after the damage
    /// names: what a cut would take.
    fn is_torn(
        &mut self,
        offset: u64,
        damaged_header: Option<FrameHeader>,
        (damaged_position, first_uncommitted): (u64, u64),
        last_position: &mut u64,
    ) -> io::Result<bool> {
        let mut next = match damaged_header {
            Some(header) => offset.saturating_add(header.frame_len()),
            None => offset + 1,
        };
        while next < self.len {
            let found = self.find_frame_after(next, offset, damaged_position)?;
            let Some(found) = found else {
                return Ok(true);
            };
            if found.header.committed_through >= first_uncommitted {
                return Ok(false);
            }
            *last_position = (*last_position).max(found.header.position);
            next = found.offset.saturating_add(found.header.frame_len());
        }
        Ok(true)
    }

    /// Scans the frames of one segment from `start`, where position `first_position` is,
    /// feeding complete batches to the index.
    pub fn scan_frames(
        &mut self,
        ctx: &SegmentContext<'_>,
        start: u64,
        first_position: u64,
        scan: &mut Scan,
    ) -> Result<SegmentEnd, ScanError> {
        let io_error = |source| ctx.io_error(source);
        let mut offset = start;
        let mut committed_end = offset;
        let mut expected = first_position;
        let mut first_uncommitted = first_position;
        let mut pending = PendingBatch::default();
        loop {
            let (damage, damaged_header) = match self.frame_at(offset).map_err(io_error)? {
                Frame::End => break,
                Frame::Valid { header, stream_id } if header.position == expected => {
                    pending.push(header, offset, stream_id);
                    // A hostile header can start a segment at the last position there is.
                    expected = expected.saturating_add(1);
                    offset += header.frame_len();
                    if !header.batch_end {
                        continue;
                    }
                    if let Err(broken) = flush(&mut pending, ctx.slot, scan) {
                        scan.report(ctx.mode, ctx.path, broken.offset, broken.damage)?;
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
            // The frames of the cut batch read so far, the damaged one if its header is
            // intact, and any intact one after it.
            let mut last_position = expected.saturating_sub(1).max(first_uncommitted);
            if let Some(header) = damaged_header.filter(|h| h.position == expected) {
                last_position = last_position.max(header.position);
            }
            if ctx.is_last
                && self
                    .is_torn(
                        offset,
                        damaged_header,
                        (expected, first_uncommitted),
                        &mut last_position,
                    )
                    .map_err(io_error)?
            {
                let positions = (first_uncommitted, last_position);
                scan.torn_tail = Some(self.torn_tail(ctx, committed_end, positions, damage));
                pending.clear();
                return Ok(SegmentEnd {
                    committed_end,
                    next_position: Some(first_uncommitted),
                });
            }
            scan.report(ctx.mode, ctx.path, offset, damage)?;
            // Verify mode: carry on after the damaged frame, or at the next intact frame.
            pending.clear();
            let resume = match damaged_header {
                Some(header) if offset + header.frame_len() <= self.len => Some(Resume {
                    offset: offset + header.frame_len(),
                    position: header.position.saturating_add(1),
                }),
                _ => self
                    .find_frame_after(offset + 1, offset, expected)
                    .map_err(io_error)?
                    .map(|found| Resume {
                        offset: found.offset,
                        position: found.header.position,
                    }),
            };
            let Some(resume) = resume else {
                committed_end = self.len;
                break;
            };
            offset = resume.offset;
            committed_end = resume.offset;
            expected = resume.position;
            first_uncommitted = resume.position;
        }
        if !pending.frames.is_empty() {
            if ctx.is_last {
                let positions = (first_uncommitted, expected.saturating_sub(1));
                scan.torn_tail =
                    Some(self.torn_tail(ctx, committed_end, positions, Damage::UnfinishedBatch));
            } else {
                scan.report(
                    ctx.mode,
                    ctx.path,
                    committed_end,
                    Damage::SegmentEndsInsideBatch,
                )?;
            }
            expected = first_uncommitted;
        }
        Ok(SegmentEnd {
            committed_end,
            next_position: Some(expected),
        })
    }

    /// The tail from `offset` to the end of the segment, holding `(first, last)` positions.
    fn torn_tail(
        &self,
        ctx: &SegmentContext<'_>,
        offset: u64,
        (first_position, last_position): (u64, u64),
        damage: Damage,
    ) -> TornTail {
        // A write cut short leaves a batch without its end, or a frame longer than the bytes
        // that follow it. Anything else (a checksum that fails on a frame whose bytes are all
        // there) may be damage to a batch whose append was acknowledged.
        let possibly_acknowledged = !matches!(
            damage,
            Damage::UnfinishedBatch
                | Damage::HeaderTruncated { .. }
                | Damage::FrameTruncated { .. }
        );
        TornTail {
            segment: ctx.path.to_path_buf(),
            offset,
            bytes_removed: self.len.saturating_sub(offset),
            damage,
            first_position,
            last_position: last_position.max(first_position),
            possibly_acknowledged,
            quarantine: None,
        }
    }
}

/// A frame that breaks an invariant of the index (consecutive stream versions, unique ids).
struct BrokenFrame {
    offset: u64,
    damage: Damage,
}

/// Feeds a complete batch to the index; on an invariant violation, returns the offending
/// frame.
fn flush(pending: &mut PendingBatch, slot: u32, scan: &mut Scan) -> Result<(), BrokenFrame> {
    let mut result = Ok(());
    scan.events += pending.frames.len() as u64;
    if let Some(collected) = scan.collected.as_mut() {
        collected.take(pending, slot);
    } else if let Some(index) = scan.index.as_mut() {
        for frame in &pending.frames {
            let pushed = index.push(&IndexedEvent {
                position: frame.header.position,
                stream_id: &pending.stream_ids[frame.stream_id.clone()],
                stream_version: frame.header.stream_version,
                event_id: frame.header.event_id,
                segment: slot,
                offset: frame.offset,
            });
            if let Err(damage) = pushed {
                result = Err(BrokenFrame {
                    offset: frame.offset,
                    damage,
                });
                break;
            }
        }
    }
    pending.clear();
    result
}
