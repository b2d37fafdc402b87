//! Reading events lazily from the segment files: the index says where a frame is, a window of
//! buffered bytes serves consecutive frames, and every frame's checksums are checked again.

use super::damage::Damage;
use super::format::{FrameHeader, FRAME_HEADER_LEN};
use super::index::Located;
use super::window::Window;
use super::Shared;
use crate::{ReadError, StoredEvent};

/// Buffer size for `read_all`, which reads frames in file order.
pub(crate) const SEQUENTIAL_WINDOW: usize = 256 * 1024;
/// Buffer size for `read_stream`, whose frames may be scattered among other streams'.
pub(crate) const STREAM_WINDOW: usize = 16 * 1024;

/// Reads frames for one iterator.
pub(crate) struct FrameReader<'s> {
    shared: &'s Shared,
    window: Window,
    segment: Option<u32>,
}

impl<'s> FrameReader<'s> {
    pub(crate) fn new(shared: &'s Shared, window: usize) -> Self {
        Self {
            shared,
            window: Window::new(window),
            segment: None,
        }
    }

    pub(crate) fn shared(&self) -> &'s Shared {
        self.shared
    }

    /// The event at `position`, found at `located`.
    pub(crate) fn read(
        &mut self,
        position: u64,
        located: &Located,
    ) -> Result<StoredEvent, ReadError> {
        let entry = located.entry;
        if self.segment != Some(entry.segment) {
            self.window.clear();
            self.segment = Some(entry.segment);
        }
        let corrupt = |damage: Damage| {
            let index = self.shared.read_index();
            let segment = index
                .segment(entry.segment)
                .map(|s| s.path.clone())
                .unwrap_or_default();
            ReadError::Corrupt {
                segment,
                offset: entry.offset,
                damage,
            }
        };
        let limit = located.committed_len;
        let head = self
            .window
            .get(&*located.file, entry.offset, FRAME_HEADER_LEN, limit)
            .map_err(ReadError::Io)?;
        let header = FrameHeader::decode(head).map_err(corrupt)?;
        if header.position != position {
            return Err(corrupt(Damage::PositionOutOfOrder {
                expected: position,
                found: header.position,
            }));
        }
        let frame_len = header.frame_len();
        if entry.offset.saturating_add(frame_len) > limit {
            return Err(corrupt(Damage::BeyondCommittedEnd));
        }
        let len = usize::try_from(frame_len).map_err(|_| corrupt(Damage::LengthsOutOfRange))?;
        let bytes = self
            .window
            .get(&*located.file, entry.offset, len, limit)
            .map_err(ReadError::Io)?;
        if bytes.len() < len {
            return Err(corrupt(Damage::FrameTruncated {
                frame_len,
                available: bytes.len() as u64,
            }));
        }
        let body = &bytes[FRAME_HEADER_LEN..len];
        header
            .check_body(body)
            .and_then(|()| header.decode_event(body))
            .map_err(corrupt)
    }
}

/// `read_all`: every event from a position on.
pub(crate) struct AllEvents<'s> {
    pub reader: FrameReader<'s>,
    pub next: u64,
}

impl Iterator for AllEvents<'_> {
    type Item = Result<StoredEvent, ReadError>;

    fn next(&mut self) -> Option<Self::Item> {
        let located = self.reader.shared().read_index().locate(self.next)?;
        let event = self.reader.read(self.next, &located);
        self.next += 1;
        Some(event)
    }
}

/// `read_stream`: one stream's events from a version on.
pub(crate) struct StreamEvents<'s> {
    pub reader: FrameReader<'s>,
    pub stream_id: String,
    pub next_version: u64,
}

impl Iterator for StreamEvents<'_> {
    type Item = Result<StoredEvent, ReadError>;

    fn next(&mut self) -> Option<Self::Item> {
        let (position, located) = {
            let index = self.reader.shared().read_index();
            let position = index.position_of(&self.stream_id, self.next_version)?;
            (position, index.locate(position)?)
        };
        let event = self.reader.read(position, &located);
        self.next_version += 1;
        Some(event)
    }
}
