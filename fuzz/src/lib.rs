//! What the fuzz targets share: a scratch directory per process, the segment layout needed to
//! repair checksums, and the stored-event input format.
//!
//! The layout constants repeat `docs/format.md`; they let a target recompute the CRC32C of
//! mutated headers and bodies, so that the fuzzer reaches the code behind the checksums
//! instead of stopping at them.

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use es_core::{StoredEvent, Uuid};
use es_tests::order;
use serde_json::Value;

/// The first eight bytes of every segment file.
pub const SEGMENT_MAGIC: &[u8] = b"\x89ESLOG\r\n";
/// Bytes in a segment header; its CRC covers the bytes before offset 36.
const SEGMENT_HEADER_LEN: usize = 40;
const SEGMENT_CRC_AT: usize = 36;
/// Bytes in a frame header; its CRC at 0 covers bytes 4..76, the body's CRC is at 4.
const FRAME_HEADER_LEN: usize = 76;

/// A directory for this process's scratch files, emptied.
///
/// # Panics
/// When the temporary directory cannot be written: the target cannot run at all then.
#[must_use]
pub fn scratch_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("es-fuzz-{name}-{}", std::process::id()));
    if dir.exists() {
        std::fs::remove_dir_all(&dir).expect("empty the scratch directory");
    }
    std::fs::create_dir_all(&dir).expect("create the scratch directory");
    dir
}

/// Removes everything inside `dir`, keeping `dir`.
///
/// # Panics
/// When the scratch directory cannot be listed or emptied.
pub fn empty_dir(dir: &Path) {
    for entry in std::fs::read_dir(dir).expect("list the scratch directory") {
        let path = entry.expect("a scratch entry").path();
        if path.is_dir() {
            std::fs::remove_dir_all(&path).expect("remove a scratch directory");
        } else {
            std::fs::remove_file(&path).expect("remove a scratch file");
        }
    }
}

/// Splits `bytes` into segment files: a new segment starts at every segment magic after the
/// first byte. At most `max` segments; the last one takes the rest.
#[must_use]
pub fn split_segments(bytes: &[u8], max: usize) -> Vec<&[u8]> {
    let mut starts = vec![0];
    let mut at = 1;
    while starts.len() < max && at + SEGMENT_MAGIC.len() <= bytes.len() {
        if bytes[at..].starts_with(SEGMENT_MAGIC) {
            starts.push(at);
            at += SEGMENT_MAGIC.len();
        } else {
            at += 1;
        }
    }
    starts
        .iter()
        .enumerate()
        .map(|(i, &start)| &bytes[start..starts.get(i + 1).copied().unwrap_or(bytes.len())])
        .collect()
}

fn u32_at(bytes: &[u8], at: usize) -> u64 {
    let mut le = [0u8; 4];
    le.copy_from_slice(&bytes[at..at + 4]);
    u64::from(u32::from_le_bytes(le))
}

/// Recomputes every checksum of a segment in place: the segment header's, then each frame's
/// body and header, walking the frames by their length fields until one does not fit.
pub fn repair_checksums(segment: &mut [u8]) {
    if segment.len() < SEGMENT_HEADER_LEN {
        return;
    }
    let crc = crc32c::crc32c(&segment[..SEGMENT_CRC_AT]);
    segment[SEGMENT_CRC_AT..SEGMENT_HEADER_LEN].copy_from_slice(&crc.to_le_bytes());
    let mut at = SEGMENT_HEADER_LEN;
    while at + FRAME_HEADER_LEN <= segment.len() {
        let header = &segment[at..at + FRAME_HEADER_LEN];
        let stream_id_len = u64::from(u16::from_le_bytes([header[72], header[73]]));
        let body_len = stream_id_len + u32_at(header, 60) + u32_at(header, 64) + u32_at(header, 68);
        let body_start = at + FRAME_HEADER_LEN;
        let Some(end) = usize::try_from(body_len)
            .ok()
            .and_then(|len| body_start.checked_add(len))
            .filter(|end| *end <= segment.len())
        else {
            // A frame running past the end: a torn tail; its header stays as it is.
            return;
        };
        let body_crc = crc32c::crc32c(&segment[body_start..end]);
        segment[at + 4..at + 8].copy_from_slice(&body_crc.to_le_bytes());
        let header_crc = crc32c::crc32c(&segment[at + 4..body_start]);
        segment[at..at + 4].copy_from_slice(&header_crc.to_le_bytes());
        at = end;
    }
}

/// The tags a stored-event input without a header line picks from by its first byte: the
/// order domain's, stored ones that only raw upcasters or removals know, and an unknown one.
pub const TAGS: &[&str] = &[
    "OrderPlaced",
    "ItemAdded",
    "PriceSet",
    "ShippingAddressSet",
    "OrderDispatched",
    "OrderShipped",
    "OrderSent",
    "NoteAdded",
    "ItemsAdded",
    "CartViewed",
    "Unknown",
];

/// A stored event from fuzz input.
///
/// The input is a header line, a JSON object `{"stream", "type", "version", "metadata"}`
/// (every field optional), then the payload's bytes as stored. When the first line is not
/// such an object, the first byte picks a tag from [`TAGS`], the second the version (0-4) and
/// the rest is the payload.
#[must_use]
pub fn stored_event(data: &[u8]) -> StoredEvent {
    let mut event = StoredEvent {
        position: 1,
        stream_id: "order-1".to_owned(),
        stream_version: 1,
        event_id: Uuid::nil(),
        event_type: String::new(),
        schema_version: 1,
        payload: Vec::new(),
        metadata: es_core::Metadata::default(),
        recorded_at: SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000),
    };
    let newline = data.iter().position(|b| *b == b'\n');
    let header = newline.and_then(|n| serde_json::from_slice::<Value>(&data[..n]).ok());
    if let (Some(n), Some(Value::Object(header))) = (newline, header) {
        if let Some(stream) = header.get("stream").and_then(Value::as_str) {
            stream.clone_into(&mut event.stream_id);
        }
        if let Some(tag) = header.get("type").and_then(Value::as_str) {
            tag.clone_into(&mut event.event_type);
        }
        if let Some(version) = header.get("version").and_then(Value::as_u64) {
            event.schema_version = u32::try_from(version).unwrap_or(u32::MAX);
        }
        if let Some(Value::Object(metadata)) = header.get("metadata") {
            event.metadata = metadata.clone().into();
        }
        event.payload = data[n + 1..].to_vec();
    } else {
        let tag = data.first().map_or(0, |b| usize::from(*b) % TAGS.len());
        TAGS[tag].clone_into(&mut event.event_type);
        event.schema_version = data.get(1).map_or(1, |b| u32::from(*b % 5));
        event.payload = data.get(2..).unwrap_or_default().to_vec();
    }
    event
}

/// The order domain without `NoteAdded`, whose raw-upcast v1 the lock check takes for a
/// missing upcast path: events whose schema lock `update_lock` writes, so that the lock
/// target reaches a lock that checks.
#[derive(Debug, Clone, PartialEq, es_core::Event)]
#[event(removed("CartViewed"))]
#[event(raw_upcast(from = ("ItemsAdded", 1), with = order::split_items, schema = order::ItemsAddedV1))]
pub enum LockedOrderEvent {
    /// The order was placed.
    Placed(order::OrderPlaced),
    /// An article was added.
    ItemAdded(order::ItemAdded),
    /// An article's price was set.
    PriceSet(order::PriceSet),
    /// The shipping address was set.
    AddressSet(order::ShippingAddressSet),
    /// The parcel left.
    Shipped(order::OrderShipped),
}
