//! [`Damage`]: what is wrong with the bytes of a segment, kept as data so that errors and
//! reports carry it whole.

use std::fmt;

use uuid::Uuid;

use super::format::{FORMAT_VERSION, FRAME_HEADER_LEN, SEGMENT_HEADER_LEN};

/// What is wrong with the bytes of a file store's segment, as
/// [`OpenError::Corrupt`](crate::OpenError::Corrupt), [`ReadError::Corrupt`](crate::ReadError::Corrupt),
/// a [`DamagedFrame`](crate::DamagedFrame) and a [`TornTail`](crate::TornTail) report it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Damage {
    /// The segment file is shorter than a segment header.
    SegmentHeaderTruncated {
        /// The file's length in bytes.
        len: u64,
    },
    /// The segment header does not start with the magic bytes: not a segment file.
    BadMagic,
    /// The segment was written in a format version this build does not read.
    UnsupportedVersion {
        /// The version in its header.
        found: u32,
    },
    /// The segment header's checksum does not match its bytes.
    SegmentHeaderChecksum,
    /// The segment's file name and header disagree on its number.
    SegmentNumberMismatch {
        /// The number in the file name.
        in_name: u64,
        /// The number in the header.
        in_header: u64,
    },
    /// A segment between the first and the last is missing.
    SegmentMissing {
        /// The missing segment's number.
        number: u64,
    },
    /// Several consecutive segments between the first and the last are missing.
    SegmentsMissing {
        /// The first missing segment's number.
        first: u64,
        /// The last missing segment's number.
        last: u64,
    },
    /// A segment does not start at the position after the previous segment's last event.
    FirstPositionMismatch {
        /// The position that should come next.
        expected: u64,
        /// The position the segment starts at.
        found: u64,
    },
    /// Fewer bytes than a frame header remain.
    HeaderTruncated {
        /// The bytes that remain.
        available: u64,
    },
    /// A frame is longer than the bytes that remain in the segment.
    FrameTruncated {
        /// The frame's length, from its header.
        frame_len: u64,
        /// The bytes that remain.
        available: u64,
    },
    /// A frame header's checksum does not match its bytes.
    HeaderChecksum,
    /// A frame body's checksum does not match its bytes.
    BodyChecksum,
    /// A frame header has flags (or reserved bits) this build does not know.
    UnknownFlags {
        /// The flags byte.
        flags: u8,
    },
    /// A frame header's lengths exceed the format's limits.
    LengthsOutOfRange,
    /// A frame's global position is not the next one.
    PositionOutOfOrder {
        /// The position that should come next.
        expected: u64,
        /// The position in the frame.
        found: u64,
    },
    /// A text field of a frame is not UTF-8.
    InvalidText {
        /// Which field (`"stream id"`, `"event type"`).
        field: &'static str,
    },
    /// A frame's metadata is not a JSON object.
    InvalidMetadata,
    /// A frame's stream version is not the next one of its stream.
    StreamVersionOutOfOrder {
        /// The stream version that should come next.
        expected: u64,
        /// The stream version in the frame.
        found: u64,
    },
    /// An event id is stored twice.
    DuplicateEventId {
        /// The id.
        event_id: Uuid,
    },
    /// A segment that is not the last ends inside a batch.
    SegmentEndsInsideBatch,
    /// A frame reaches past the committed end of its segment.
    BeyondCommittedEnd,
    /// The last batch of the last segment is unfinished: its final frame was never written.
    UnfinishedBatch,
    /// A segment is shorter than the complete batches a read-only store already read from it (the writer cut back a failed write).
    SegmentShrank {
        /// The segment's length now.
        len: u64,
        /// The bytes already read from it.
        read: u64,
    },
    /// The last event a read-only store read is no longer where it read it: the writer cut
    /// it back with its batch (a failed write) and the segment has grown again since.
    ReadEventReplaced {
        /// The event's position.
        position: u64,
    },
}

impl fmt::Display for Damage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Damage::SegmentHeaderTruncated { len } => write!(
                f,
                "the segment is {len} bytes, shorter than its {SEGMENT_HEADER_LEN}-byte header"
            ),
            Damage::BadMagic => f.write_str("the segment header does not start with the magic"),
            Damage::UnsupportedVersion { found } => write!(
                f,
                "format version {found}; this build reads version {FORMAT_VERSION}"
            ),
            Damage::SegmentHeaderChecksum => f.write_str("the segment header checksum is wrong"),
            Damage::SegmentNumberMismatch { in_name, in_header } => write!(
                f,
                "the file name says segment {in_name}, its header says {in_header}"
            ),
            Damage::SegmentMissing { number } => write!(f, "segment {number} is missing"),
            Damage::SegmentsMissing { first, last } => {
                write!(f, "segments {first} to {last} are missing")
            }
            Damage::FirstPositionMismatch { expected, found } => write!(
                f,
                "segments do not join: position {expected} should come next, but the next segment \
                 starts at position {found}"
            ),
            Damage::HeaderTruncated { available } => write!(
                f,
                "only {available} of a {FRAME_HEADER_LEN}-byte frame header remain"
            ),
            Damage::FrameTruncated {
                frame_len,
                available,
            } => write!(
                f,
                "the frame is {frame_len} bytes but only {available} remain"
            ),
            Damage::HeaderChecksum => f.write_str("the frame header checksum is wrong"),
            Damage::BodyChecksum => f.write_str("the frame body checksum is wrong"),
            Damage::UnknownFlags { flags } => write!(f, "unknown frame flags {flags:#04x}"),
            Damage::LengthsOutOfRange => {
                f.write_str("the frame's lengths exceed the format limits")
            }
            Damage::PositionOutOfOrder { expected, found } => {
                write!(f, "expected position {expected}, found {found}")
            }
            Damage::InvalidText { field } => write!(f, "the {field} is not UTF-8"),
            Damage::InvalidMetadata => f.write_str("the metadata is not a JSON object"),
            Damage::StreamVersionOutOfOrder { expected, found } => {
                write!(f, "expected stream version {expected}, found {found}")
            }
            Damage::DuplicateEventId { event_id } => {
                write!(f, "event id {event_id} is stored twice")
            }
            Damage::SegmentEndsInsideBatch => {
                f.write_str("the segment ends inside a batch, but it is not the last segment")
            }
            Damage::BeyondCommittedEnd => {
                f.write_str("the frame reaches past the committed end of the segment")
            }
            Damage::UnfinishedBatch => f.write_str("the last batch is unfinished"),
            Damage::SegmentShrank { len, read } => write!(
                f,
                "the segment is {len} bytes, shorter than the {read} bytes of complete batches \
                 already read from it (the writer cut back a failed write): reopen"
            ),
            Damage::ReadEventReplaced { position } => write!(
                f,
                "the event at position {position}, already read, is no longer in the segment \
                 (the writer cut back a failed write and appended again): reopen"
            ),
        }
    }
}
