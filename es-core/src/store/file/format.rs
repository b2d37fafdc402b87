//! The bytes on disk: segment headers and event frames. Every integer is little-endian,
//! written with `to_le_bytes` and read with `from_le_bytes`; `docs/format.md` describes the
//! same layout for readers of the files.

use std::path::Path;
use std::time::{Duration, SystemTime};

use uuid::Uuid;

use super::damage::Damage;
use super::reader::Name;
use crate::event::{is_metadata_object_text, metadata_from_text};
use crate::store::backend::MAX_PAYLOAD_BYTES;
use crate::{Metadata, StoredEvent, StoredEventRef};

/// The first eight bytes of every segment file. The high byte and the CR LF pair catch files
/// mangled by 7-bit or text-mode transfers, as in PNG.
pub(crate) const SEGMENT_MAGIC: [u8; 8] = *b"\x89ESLOG\r\n";
/// The format version this build writes and reads.
pub(crate) const FORMAT_VERSION: u32 = 1;
/// Bytes in a segment header, as its length field records it.
const SEGMENT_HEADER_LEN_FIELD: u32 = 40;
/// Bytes in a segment header.
pub(crate) const SEGMENT_HEADER_LEN: usize = SEGMENT_HEADER_LEN_FIELD as usize;
/// Bytes in a frame header, before the variable-length body.
pub(crate) const FRAME_HEADER_LEN: usize = 76;
/// The largest event type tag a frame holds, in bytes.
pub(crate) const MAX_EVENT_TYPE_BYTES: usize = u16::MAX as usize;
pub(crate) use crate::store::backend::MAX_METADATA_BYTES;

/// Segment files are named `seg-<number>.log`, the number in ten digits, from 1.
const SEGMENT_PREFIX: &str = "seg-";
const SEGMENT_SUFFIX: &str = ".log";
/// The suffix of files written before being renamed into place; left over only by a crash.
pub(crate) const TEMP_SUFFIX: &str = ".tmp";

/// The file name of segment `number`.
pub(crate) fn segment_file_name(number: u64) -> String {
    format!("{SEGMENT_PREFIX}{number:010}{SEGMENT_SUFFIX}")
}

/// The number of the segment file at `path`, when its name is a segment's.
pub(crate) fn segment_number(path: &Path) -> Option<u64> {
    let name = path.file_name()?.to_str()?;
    let digits = name
        .strip_prefix(SEGMENT_PREFIX)?
        .strip_suffix(SEGMENT_SUFFIX)?;
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

/// Whether `path` is a segment file that a crash left before it was renamed into place.
pub(crate) fn is_temp_segment(path: &Path) -> bool {
    path.file_name()
        .and_then(|n| n.to_str())
        .is_some_and(|n| n.starts_with(SEGMENT_PREFIX) && n.ends_with(TEMP_SUFFIX))
}

/// Flag bit: this frame is the last event of its batch; the batch is complete with it.
const FLAG_BATCH_END: u8 = 0b0000_0001;

// Frame header field offsets.
const F_HEADER_CRC: usize = 0;
const F_BODY_CRC: usize = 4;
const F_POSITION: usize = 8;
const F_STREAM_VERSION: usize = 16;
const F_COMMITTED_THROUGH: usize = 24;
const F_EVENT_ID: usize = 32;
const F_RECORDED_AT: usize = 48;
const F_SCHEMA_VERSION: usize = 56;
const F_EVENT_TYPE_LEN: usize = 60;
const F_METADATA_LEN: usize = 64;
const F_PAYLOAD_LEN: usize = 68;
const F_STREAM_ID_LEN: usize = 72;
const F_FLAGS: usize = 74;
const F_RESERVED: usize = 75;

// Segment header field offsets.
const S_MAGIC: usize = 0;
const S_VERSION: usize = 8;
const S_HEADER_LEN: usize = 12;
const S_NUMBER: usize = 16;
const S_FIRST_POSITION: usize = 24;
const S_RESERVED: usize = 32;
const S_CRC: usize = 36;

fn put<const N: usize>(out: &mut [u8], at: usize, bytes: [u8; N]) {
    out[at..at + N].copy_from_slice(&bytes);
}

fn get<const N: usize>(bytes: &[u8], at: usize) -> [u8; N] {
    let mut out = [0; N];
    out.copy_from_slice(&bytes[at..at + N]);
    out
}

/// The header at the start of each segment file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct SegmentHeader {
    /// The segment's number, also in its file name; segments count from 1.
    pub number: u64,
    /// The global position of the segment's first frame.
    pub first_position: u64,
}

impl SegmentHeader {
    pub(crate) fn encode(self) -> [u8; SEGMENT_HEADER_LEN] {
        let mut out = [0u8; SEGMENT_HEADER_LEN];
        put(&mut out, S_MAGIC, SEGMENT_MAGIC);
        put(&mut out, S_VERSION, FORMAT_VERSION.to_le_bytes());
        put(
            &mut out,
            S_HEADER_LEN,
            SEGMENT_HEADER_LEN_FIELD.to_le_bytes(),
        );
        put(&mut out, S_NUMBER, self.number.to_le_bytes());
        put(
            &mut out,
            S_FIRST_POSITION,
            self.first_position.to_le_bytes(),
        );
        put(&mut out, S_RESERVED, 0u32.to_le_bytes());
        let crc = crc32c::crc32c(&out[..S_CRC]);
        put(&mut out, S_CRC, crc.to_le_bytes());
        out
    }

    /// Decodes a header; `bytes` are the file's first bytes (fewer when the file is shorter).
    pub(crate) fn decode(bytes: &[u8]) -> Result<Self, Damage> {
        if bytes.len() < SEGMENT_HEADER_LEN {
            return Err(Damage::SegmentHeaderTruncated {
                len: bytes.len() as u64,
            });
        }
        if get::<8>(bytes, S_MAGIC) != SEGMENT_MAGIC {
            return Err(Damage::BadMagic);
        }
        if u32::from_le_bytes(get(bytes, S_CRC)) != crc32c::crc32c(&bytes[..S_CRC]) {
            return Err(Damage::SegmentHeaderChecksum);
        }
        let version = u32::from_le_bytes(get(bytes, S_VERSION));
        let header_len = u32::from_le_bytes(get(bytes, S_HEADER_LEN));
        if version != FORMAT_VERSION || header_len != SEGMENT_HEADER_LEN_FIELD {
            return Err(Damage::UnsupportedVersion { found: version });
        }
        Ok(Self {
            number: u64::from_le_bytes(get(bytes, S_NUMBER)),
            first_position: u64::from_le_bytes(get(bytes, S_FIRST_POSITION)),
        })
    }
}

/// The fixed-size header of a frame: everything needed to index the event without reading
/// its JSON.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct FrameHeader {
    pub body_crc: u32,
    pub position: u64,
    pub stream_version: u64,
    /// Every position up to this one was committed (per the store's durability mode) before
    /// this frame was written. Recovery uses it to tell a torn tail from damage.
    pub committed_through: u64,
    pub event_id: Uuid,
    pub recorded_at_nanos: i64,
    pub schema_version: u32,
    pub event_type_len: u32,
    pub metadata_len: u32,
    pub payload_len: u32,
    pub stream_id_len: u16,
    pub batch_end: bool,
}

impl FrameHeader {
    /// Bytes of the body that follows the header.
    pub(crate) fn body_len(&self) -> u64 {
        u64::from(self.stream_id_len)
            + u64::from(self.event_type_len)
            + u64::from(self.metadata_len)
            + u64::from(self.payload_len)
    }

    /// Bytes of the whole frame, header included.
    pub(crate) fn frame_len(&self) -> u64 {
        FRAME_HEADER_LEN as u64 + self.body_len()
    }

    fn encode(&self) -> [u8; FRAME_HEADER_LEN] {
        let mut out = [0u8; FRAME_HEADER_LEN];
        put(&mut out, F_BODY_CRC, self.body_crc.to_le_bytes());
        put(&mut out, F_POSITION, self.position.to_le_bytes());
        put(
            &mut out,
            F_STREAM_VERSION,
            self.stream_version.to_le_bytes(),
        );
        put(
            &mut out,
            F_COMMITTED_THROUGH,
            self.committed_through.to_le_bytes(),
        );
        put(&mut out, F_EVENT_ID, *self.event_id.as_bytes());
        put(
            &mut out,
            F_RECORDED_AT,
            self.recorded_at_nanos.to_le_bytes(),
        );
        put(
            &mut out,
            F_SCHEMA_VERSION,
            self.schema_version.to_le_bytes(),
        );
        put(
            &mut out,
            F_EVENT_TYPE_LEN,
            self.event_type_len.to_le_bytes(),
        );
        put(&mut out, F_METADATA_LEN, self.metadata_len.to_le_bytes());
        put(&mut out, F_PAYLOAD_LEN, self.payload_len.to_le_bytes());
        put(&mut out, F_STREAM_ID_LEN, self.stream_id_len.to_le_bytes());
        out[F_FLAGS] = if self.batch_end { FLAG_BATCH_END } else { 0 };
        out[F_RESERVED] = 0;
        let crc = crc32c::crc32c(&out[F_BODY_CRC..]);
        put(&mut out, F_HEADER_CRC, crc.to_le_bytes());
        out
    }

    /// The header's position field without checking anything: a cheap filter before
    /// [`FrameHeader::decode`] when searching for a frame start. `None` when `bytes` is too
    /// short to hold a header (the file ended, or shrank while it was read).
    pub(crate) fn peek_position(bytes: &[u8]) -> Option<u64> {
        let field = bytes.get(F_POSITION..F_POSITION + 8)?;
        Some(u64::from_le_bytes(field.try_into().ok()?))
    }

    /// Decodes and checks a header; `bytes` must hold at least [`FRAME_HEADER_LEN`] bytes.
    #[inline]
    pub(crate) fn decode(bytes: &[u8]) -> Result<Self, Damage> {
        if bytes.len() < FRAME_HEADER_LEN {
            return Err(Damage::HeaderTruncated {
                available: bytes.len() as u64,
            });
        }
        let bytes = &bytes[..FRAME_HEADER_LEN];
        if u32::from_le_bytes(get(bytes, F_HEADER_CRC)) != crc32c::crc32c(&bytes[F_BODY_CRC..]) {
            return Err(Damage::HeaderChecksum);
        }
        let flags = bytes[F_FLAGS];
        if flags & !FLAG_BATCH_END != 0 || bytes[F_RESERVED] != 0 {
            return Err(Damage::UnknownFlags { flags });
        }
        let header = Self {
            body_crc: u32::from_le_bytes(get(bytes, F_BODY_CRC)),
            position: u64::from_le_bytes(get(bytes, F_POSITION)),
            stream_version: u64::from_le_bytes(get(bytes, F_STREAM_VERSION)),
            committed_through: u64::from_le_bytes(get(bytes, F_COMMITTED_THROUGH)),
            event_id: Uuid::from_bytes(get(bytes, F_EVENT_ID)),
            recorded_at_nanos: i64::from_le_bytes(get(bytes, F_RECORDED_AT)),
            schema_version: u32::from_le_bytes(get(bytes, F_SCHEMA_VERSION)),
            event_type_len: u32::from_le_bytes(get(bytes, F_EVENT_TYPE_LEN)),
            metadata_len: u32::from_le_bytes(get(bytes, F_METADATA_LEN)),
            payload_len: u32::from_le_bytes(get(bytes, F_PAYLOAD_LEN)),
            stream_id_len: u16::from_le_bytes(get(bytes, F_STREAM_ID_LEN)),
            batch_end: flags & FLAG_BATCH_END != 0,
        };
        let in_range = header.stream_id_len > 0
            && header.event_type_len as usize <= MAX_EVENT_TYPE_BYTES
            && header.metadata_len as usize <= MAX_METADATA_BYTES
            && header.payload_len as usize <= MAX_PAYLOAD_BYTES;
        if !in_range {
            return Err(Damage::LengthsOutOfRange);
        }
        Ok(header)
    }

    /// Checks the body's checksum; `body` is exactly [`FrameHeader::body_len`] bytes.
    #[inline]
    pub(crate) fn check_body(&self, body: &[u8]) -> Result<(), Damage> {
        if crc32c::crc32c(body) == self.body_crc {
            Ok(())
        } else {
            Err(Damage::BodyChecksum)
        }
    }

    /// The stream id at the start of a checked body.
    pub(crate) fn stream_id<'b>(&self, body: &'b [u8]) -> Result<&'b str, Damage> {
        let bytes = body
            .get(..usize::from(self.stream_id_len))
            .ok_or(Damage::InvalidText { field: "stream id" })?;
        std::str::from_utf8(bytes).map_err(|_| Damage::InvalidText { field: "stream id" })
    }

    /// Turns a checked body into the event it records.
    pub(crate) fn decode_event(&self, body: &[u8]) -> Result<StoredEvent, Damage> {
        let (stream_id, rest) = split(body, usize::from(self.stream_id_len))?;
        let (event_type, rest) = split(rest, self.event_type_len as usize)?;
        let (metadata, payload) = split(rest, self.metadata_len as usize)?;
        let text = |bytes: &[u8], field| {
            std::str::from_utf8(bytes)
                .map(str::to_owned)
                .map_err(|_| Damage::InvalidText { field })
        };
        // Kept as text, not parsed: a reader that wants a key parses it then.
        let metadata = if metadata.is_empty() {
            Metadata::default()
        } else {
            metadata_from_text(metadata).map_err(|_| Damage::InvalidMetadata)?
        };
        Ok(StoredEvent {
            position: self.position,
            stream_id: text(stream_id, "stream id")?,
            stream_version: self.stream_version,
            event_id: self.event_id,
            event_type: text(event_type, "event type")?,
            schema_version: self.schema_version,
            payload: payload.to_vec(),
            metadata,
            recorded_at: time_from_nanos(self.recorded_at_nanos),
        })
    }
}

impl FrameHeader {
    /// The event of a checked body, borrowed from it. The metadata stays JSON text: it is
    /// checked to be an object's text (or empty) by its first and last bytes, not parsed.
    #[inline]
    pub(crate) fn decode_event_ref<'a>(
        &self,
        body: &'a [u8],
        stream_ids: &'a mut Name,
        event_types: &'a mut Name,
    ) -> Result<StoredEventRef<'a>, Damage> {
        let (stream_id, rest) = split(body, usize::from(self.stream_id_len))?;
        let (event_type, rest) = split(rest, self.event_type_len as usize)?;
        let (metadata, payload) = split(rest, self.metadata_len as usize)?;
        let stream_id = stream_ids
            .text(stream_id)
            .ok_or(Damage::InvalidText { field: "stream id" })?;
        let event_type = event_types.text(event_type).ok_or(Damage::InvalidText {
            field: "event type",
        })?;
        // Checked as `decode_event` checks it (UTF-8, an object's braces), never parsed.
        if !metadata.is_empty() && !std::str::from_utf8(metadata).is_ok_and(is_metadata_object_text)
        {
            return Err(Damage::InvalidMetadata);
        }
        Ok(StoredEventRef::from_parts(
            self.position,
            stream_id,
            self.stream_version,
            self.event_id,
            event_type,
            self.schema_version,
            payload,
            metadata,
            time_from_nanos(self.recorded_at_nanos),
        ))
    }
}

#[inline]
fn split(bytes: &[u8], at: usize) -> Result<(&[u8], &[u8]), Damage> {
    if at <= bytes.len() {
        Ok(bytes.split_at(at))
    } else {
        Err(Damage::LengthsOutOfRange)
    }
}

/// One event to encode as a frame; lengths were checked against the format limits.
pub(crate) struct FrameFields<'a> {
    pub position: u64,
    pub stream_version: u64,
    pub committed_through: u64,
    pub event_id: Uuid,
    pub recorded_at_nanos: i64,
    pub schema_version: u32,
    pub stream_id: &'a str,
    pub event_type: &'a str,
    /// The metadata object as JSON text, empty for an empty object.
    pub metadata: &'a [u8],
    pub payload: &'a [u8],
    pub batch_end: bool,
}

/// Appends one frame to `out`; the fields are within the format limits (checked by the
/// store before encoding).
pub(crate) fn encode_frame(out: &mut Vec<u8>, fields: &FrameFields<'_>) {
    let len = |bytes: usize| u32::try_from(bytes).unwrap_or(u32::MAX);
    let body_start = out.len() + FRAME_HEADER_LEN;
    out.resize(body_start, 0);
    out.extend_from_slice(fields.stream_id.as_bytes());
    out.extend_from_slice(fields.event_type.as_bytes());
    out.extend_from_slice(fields.metadata);
    out.extend_from_slice(fields.payload);
    let header = FrameHeader {
        body_crc: crc32c::crc32c(&out[body_start..]),
        position: fields.position,
        stream_version: fields.stream_version,
        committed_through: fields.committed_through,
        event_id: fields.event_id,
        recorded_at_nanos: fields.recorded_at_nanos,
        schema_version: fields.schema_version,
        event_type_len: len(fields.event_type.len()),
        metadata_len: len(fields.metadata.len()),
        payload_len: len(fields.payload.len()),
        stream_id_len: u16::try_from(fields.stream_id.len()).unwrap_or(u16::MAX),
        batch_end: fields.batch_end,
    };
    out[body_start - FRAME_HEADER_LEN..body_start].copy_from_slice(&header.encode());
}

/// Nanoseconds since the Unix epoch, negative before it, saturating outside ±292 years.
pub(crate) fn nanos_since_epoch(time: SystemTime) -> i64 {
    match time.duration_since(SystemTime::UNIX_EPOCH) {
        Ok(after) => i64::try_from(after.as_nanos()).unwrap_or(i64::MAX),
        Err(before) => i64::try_from(before.duration().as_nanos()).map_or(i64::MIN, |n| -n),
    }
}

fn time_from_nanos(nanos: i64) -> SystemTime {
    let magnitude = Duration::from_nanos(nanos.unsigned_abs());
    if nanos >= 0 {
        SystemTime::UNIX_EPOCH + magnitude
    } else {
        SystemTime::UNIX_EPOCH - magnitude
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields<'a>(payload: &'a [u8], metadata: &'a [u8]) -> FrameFields<'a> {
        FrameFields {
            position: 7,
            stream_version: 3,
            committed_through: 5,
            event_id: Uuid::from_u128(0x0102_0304_0506_0708_090a_0b0c_0d0e_0f10),
            recorded_at_nanos: -1_500,
            schema_version: 2,
            stream_id: "acc-1",
            event_type: "Deposited",
            metadata,
            payload,
            batch_end: true,
        }
    }

    #[test]
    fn owned_and_borrowed_decodes_accept_and_refuse_the_same_metadata() {
        let cases: [(&[u8], bool); 6] = [
            (b"", true),
            (b" {\"k\": 1}\n", true),
            (b"\x0c{}", false),
            (b"[]", false),
            (b"{\xff}", false),
            (b"{", false),
        ];
        for (metadata, accepted) in cases {
            let mut out = Vec::new();
            encode_frame(&mut out, &fields(b"{}", metadata));
            let header = FrameHeader::decode(&out).expect("a fresh header decodes");
            let body = &out[FRAME_HEADER_LEN..];
            let owned = header.decode_event(body).map(|_| ());
            let (mut stream_ids, mut event_types) = (Name::default(), Name::default());
            let borrowed = header
                .decode_event_ref(body, &mut stream_ids, &mut event_types)
                .map(|_| ());
            assert_eq!(owned, borrowed, "metadata {metadata:?}");
            assert_eq!(owned.is_ok(), accepted, "metadata {metadata:?}");
        }
    }

    #[test]
    fn frame_round_trips_and_is_little_endian() {
        let mut out = Vec::new();
        encode_frame(&mut out, &fields(br#"{"amount":5}"#, br#"{"k":1}"#));
        assert_eq!(&out[F_POSITION..F_POSITION + 8], &[7, 0, 0, 0, 0, 0, 0, 0]);
        assert_eq!(out[F_FLAGS], FLAG_BATCH_END);
        let header = FrameHeader::decode(&out).expect("a fresh header decodes");
        assert_eq!(header.frame_len(), out.len() as u64);
        let body = &out[FRAME_HEADER_LEN..];
        header.check_body(body).expect("a fresh body checks");
        assert_eq!(header.stream_id(body), Ok("acc-1"));
        let event = header.decode_event(body).expect("a fresh body decodes");
        assert_eq!(
            (event.position, event.stream_version, event.schema_version),
            (7, 3, 2)
        );
        assert_eq!(event.payload, br#"{"amount":5}"#);
        assert_eq!(event.metadata_value("k"), Some(&serde_json::json!(1)));
        assert_eq!(event.recorded_at, time_from_nanos(-1_500));
        assert_eq!(nanos_since_epoch(event.recorded_at), -1_500);
    }

    #[test]
    fn every_flipped_header_byte_is_detected() {
        let mut out = Vec::new();
        encode_frame(&mut out, &fields(b"{}", b""));
        for at in 0..FRAME_HEADER_LEN {
            let mut damaged = out.clone();
            damaged[at] ^= 0x10;
            assert!(FrameHeader::decode(&damaged).is_err(), "flip at {at}");
        }
    }

    #[test]
    fn segment_header_round_trips_and_rejects_other_versions() {
        let header = SegmentHeader {
            number: 4,
            first_position: 1001,
        };
        let mut bytes = header.encode();
        assert_eq!(SegmentHeader::decode(&bytes), Ok(header));
        bytes[S_VERSION] = 2;
        let crc = crc32c::crc32c(&bytes[..S_CRC]);
        put(&mut bytes, S_CRC, crc.to_le_bytes());
        assert_eq!(
            SegmentHeader::decode(&bytes),
            Err(Damage::UnsupportedVersion { found: 2 })
        );
        assert_eq!(
            SegmentHeader::decode(&bytes[..10]),
            Err(Damage::SegmentHeaderTruncated { len: 10 })
        );
    }
}
