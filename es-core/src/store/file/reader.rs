//! Reading events lazily from the segment files: the index says where a frame is, a window of
//! buffered bytes serves consecutive frames, and every frame's checksums are checked again.

use std::ops::ControlFlow;

use super::damage::Damage;
use super::format::{FrameHeader, FRAME_HEADER_LEN};
use super::fs::LogFile;
use super::index::{EventEntry, Located};
use super::window::Window;
use super::Shared;
use crate::{ReadError, StoredEvent, StoredEventRef};

/// Buffer size for `read_all`, which reads frames in file order.
pub(crate) const SEQUENTIAL_WINDOW: usize = 256 * 1024;
/// Buffer size for `read_stream`, whose frames may be scattered among other streams'.
pub(crate) const STREAM_WINDOW: usize = 16 * 1024;

/// Reads frames for one iterator.
pub(crate) struct FrameReader<'s> {
    shared: &'s Shared,
    frames: Frames,
    /// The stream ids and type tags lent last, checked as UTF-8 once for equal ones.
    stream_id: Name,
    event_type: Name,
}

/// The window frames are read through, and the segment it holds bytes of.
struct Frames {
    window: Window,
    segment: Option<u32>,
}

/// The last few values of a text field lent by the frames read (a log's type tags take turns,
/// a stream's events come in runs): an equal field of a later frame lends a copy kept here
/// instead of checking its bytes as UTF-8 again.
#[derive(Default)]
pub(crate) struct Name {
    recent: [String; RECENT_NAMES],
    /// The slot that matched or was filled last, compared first.
    last: usize,
}

/// Values of a field a [`Name`] keeps.
const RECENT_NAMES: usize = 4;

impl Name {
    /// `bytes` as text, or `None` when they are not UTF-8.
    pub(crate) fn text<'a>(&'a mut self, bytes: &'a [u8]) -> Option<&'a str> {
        let last = self.last;
        let at = if self
            .recent
            .get(last)
            .is_some_and(|name| name.as_bytes() == bytes)
        {
            Some(last)
        } else {
            self.recent.iter().position(|name| name.as_bytes() == bytes)
        };
        if let Some(at) = at {
            self.last = at;
            return self.recent.get(at).map(String::as_str);
        }
        let text = std::str::from_utf8(bytes).ok()?;
        // The slot after the last one used: the oldest of the ring.
        self.last = (last + 1) % RECENT_NAMES;
        if let Some(slot) = self.recent.get_mut(self.last) {
            slot.clear();
            slot.push_str(text);
        }
        Some(text)
    }
}

impl<'s> FrameReader<'s> {
    pub(crate) fn new(shared: &'s Shared, window: usize) -> Self {
        let window =
            Window::with_buffer(shared.take_read_buffer(window).unwrap_or_default(), window);
        Self {
            shared,
            frames: Frames {
                window,
                segment: None,
            },
            stream_id: Name::default(),
            event_type: Name::default(),
        }
    }

    pub(crate) fn shared(&self) -> &'s Shared {
        self.shared
    }

    /// The position of version `version` of `stream_id` and where its frame is; `None` past
    /// the stream's last version.
    fn locate_version(&self, stream_id: &str, version: u64) -> Option<(u64, Located)> {
        let index = self.shared.read_index();
        let position = index.position_of(stream_id, version)?;
        Some((position, index.locate(position)?))
    }

    /// The event at `position`, found at `located`.
    pub(crate) fn read(
        &mut self,
        position: u64,
        located: &Located,
    ) -> Result<StoredEvent, ReadError> {
        let shared = self.shared;
        let (header, body) = self.frames.frame(
            shared,
            position,
            located.entry,
            &*located.file,
            located.committed_len,
        )?;
        header
            .decode_event(body)
            .map_err(|damage| corrupt(shared, located.entry, damage))
    }

    /// Lends the event at `position`, found at `entry`, to `visit`, borrowed from the read
    /// window. The event is built where `visit` reads it: returning it instead moved it twice
    /// per event, which cost a replay more than its checksums (the moves stalled on the stores
    /// that had just written it).
    #[inline]
    pub(crate) fn visit_ref(
        &mut self,
        position: u64,
        entry: EventEntry,
        file: &dyn LogFile,
        committed_len: u64,
        visit: &mut dyn FnMut(&StoredEventRef<'_>) -> ControlFlow<()>,
    ) -> Result<ControlFlow<()>, ReadError> {
        let shared = self.shared;
        let (header, body) = self
            .frames
            .frame(shared, position, entry, file, committed_len)?;
        let event = header
            .decode_event_ref(body, &mut self.stream_id, &mut self.event_type)
            .map_err(|damage| corrupt(shared, entry, damage))?;
        Ok(visit(&event))
    }
}

impl Frames {
    /// The header and body of the frame of `position`, its checksums checked.
    #[inline]
    fn frame(
        &mut self,
        shared: &Shared,
        position: u64,
        entry: EventEntry,
        file: &dyn LogFile,
        limit: u64,
    ) -> Result<(FrameHeader, &[u8]), ReadError> {
        if self.segment != Some(entry.segment) {
            self.window.clear();
            self.segment = Some(entry.segment);
        }
        let corrupt = |damage: Damage| corrupt(shared, entry, damage);
        let head = self
            .window
            .get_rest(file, entry.offset, FRAME_HEADER_LEN, limit)
            .map_err(ReadError::Io)?;
        let buffered = head.len();
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
        // Usually the window holds the whole frame already.
        let bytes = if buffered >= len {
            self.window.buffered(entry.offset, len)
        } else {
            self.window
                .get(file, entry.offset, len, limit)
                .map_err(ReadError::Io)?
        };
        if bytes.len() < len {
            return Err(corrupt(Damage::FrameTruncated {
                frame_len,
                available: bytes.len() as u64,
            }));
        }
        let body = &bytes[FRAME_HEADER_LEN..len];
        header.check_body(body).map_err(corrupt)?;
        Ok((header, body))
    }
}

/// The error for damage found in the frame at `located`.
fn corrupt(shared: &Shared, entry: EventEntry, damage: Damage) -> ReadError {
    let index = shared.read_index();
    let segment = index
        .segment(entry.segment)
        .map(|s| s.path.clone())
        .unwrap_or_default();
    ReadError::Corrupt {
        segment,
        offset: entry.offset,
        damage,
    }
}

impl Drop for FrameReader<'_> {
    fn drop(&mut self) {
        // The next reader reuses the window's buffer: a replay that reads the log in many
        // ranges then allocates and zeroes its windows once, not once per range.
        let window = std::mem::replace(&mut self.frames.window, Window::new(0));
        if let Some(buf) = window.into_buffer() {
            self.shared.give_back_read_buffer(buf);
        }
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
        let (position, located) = self
            .reader
            .locate_version(&self.stream_id, self.next_version)?;
        let event = self.reader.read(position, &located);
        self.next_version += 1;
        Some(event)
    }
}

/// Positions located per hold of the index's lock when visiting the log.
const LOCATE_RUN: usize = 512;

/// Visits the events from `next` through `through` (`u64::MAX`: to the end of the log),
/// borrowed from the reader's window, until `visit` breaks. The index is locked once per run
/// of positions, not once per event; the window reads no further ahead than `through`'s
/// frame.
pub(crate) fn visit_all(
    reader: &mut FrameReader<'_>,
    mut next: u64,
    through: u64,
    visit: &mut dyn FnMut(&StoredEventRef<'_>) -> ControlFlow<()>,
) -> Result<(), ReadError> {
    let mut entries = Vec::with_capacity(LOCATE_RUN);
    while next <= through {
        entries.clear();
        let wanted = usize::try_from(through - next)
            .map_or(LOCATE_RUN, |more| more.saturating_add(1).min(LOCATE_RUN));
        let Some((file, committed_len, run_end)) =
            reader
                .shared
                .read_index()
                .locate_run(next, wanted, &mut entries)
        else {
            return Ok(());
        };
        // A run that ends the range ends the reading ahead too: a replay reading ranges of a
        // few hundred events would otherwise copy a whole window for each.
        let Some(run) = (entries.len() as u64).checked_sub(1) else {
            return Ok(());
        };
        let last = next.saturating_add(run);
        let ahead_end = if last >= through { run_end } else { u64::MAX };
        reader.frames.window.read_ahead_until(ahead_end);
        for &entry in &entries {
            let flow = reader.visit_ref(next, entry, &*file, committed_len, visit)?;
            next += 1;
            if flow.is_break() {
                return Ok(());
            }
        }
    }
    Ok(())
}

/// Visits one stream's events from `next_version` on, borrowed from the reader's window.
pub(crate) fn visit_stream(
    reader: &mut FrameReader<'_>,
    stream_id: &str,
    mut next_version: u64,
    visit: &mut dyn FnMut(&StoredEventRef<'_>) -> ControlFlow<()>,
) -> Result<(), ReadError> {
    loop {
        let Some((position, located)) = reader.locate_version(stream_id, next_version) else {
            return Ok(());
        };
        let flow = reader.visit_ref(
            position,
            located.entry,
            &*located.file,
            located.committed_len,
            visit,
        )?;
        next_version += 1;
        if flow.is_break() {
            return Ok(());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Name;

    #[test]
    fn a_name_lends_equal_text_for_equal_bytes_and_refuses_invalid_utf8() {
        let mut name = Name::default();
        for round in 0..3 {
            for tag in [
                "OrderPlaced",
                "PaymentCaptured",
                "OrderShipped",
                "é",
                "a",
                "b",
            ] {
                assert_eq!(name.text(tag.as_bytes()), Some(tag), "round {round}");
            }
        }
        assert_eq!(name.text(&[0xff, 0xfe]), None);
        assert_eq!(name.text(b""), Some(""));
        assert_eq!(name.text(b"a"), Some("a"));
    }
}
