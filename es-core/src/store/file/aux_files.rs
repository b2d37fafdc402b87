//! Snapshot and checkpoint files: one small file per stream or projection, replaced
//! atomically (temporary file, sync, rename, sync of the directory).

use std::io;
use std::path::Path;
use std::sync::atomic::Ordering;

use super::format::FORMAT_VERSION;
use super::format::TEMP_SUFFIX;
use super::fs::{read_fully_at, write_all_at, OpenMode};
use super::{Durability, Shared, READ_ONLY};
use crate::{CheckpointError, CheckpointStore, FileStore, Snapshot, SnapshotError, SnapshotStore};

/// The subdirectory holding snapshots.
pub(crate) const SNAPSHOT_DIR: &str = "snapshots";
/// The subdirectory holding checkpoints.
pub(crate) const CHECKPOINT_DIR: &str = "checkpoints";

/// Magic, format version, CRC32C of the rest.
const PREFIX_LEN: usize = 16;

/// The two kinds of small files kept beside the log.
#[derive(Debug, Clone, Copy)]
enum AuxKind {
    Snapshot,
    Checkpoint,
}

impl AuxKind {
    fn subdir(self) -> &'static str {
        match self {
            AuxKind::Snapshot => SNAPSHOT_DIR,
            AuxKind::Checkpoint => CHECKPOINT_DIR,
        }
    }

    fn extension(self) -> &'static str {
        match self {
            AuxKind::Snapshot => "snap",
            AuxKind::Checkpoint => "ckpt",
        }
    }

    fn magic(self) -> [u8; 8] {
        match self {
            AuxKind::Snapshot => *b"\x89ESSNAP\n",
            AuxKind::Checkpoint => *b"\x89ESCKPT\n",
        }
    }
}

/// A file name for `key` (a stream id or projection name, any UTF-8): up to 40 of its
/// characters that are safe in file names on every system, then a hash of the whole key, so
/// that the name stays short and distinct keys get distinct names.
fn file_name(key: &str, extension: &str) -> String {
    let readable: String = key
        .chars()
        .take(40)
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let hash = crate::schema::fnv1a64(key.as_bytes());
    format!("{readable}-{hash:016x}.{extension}")
}

/// The kind's magic, the format version, the CRC32C of `body`, then `body`.
fn seal(kind: AuxKind, body: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(PREFIX_LEN + body.len());
    out.extend_from_slice(&kind.magic());
    out.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
    out.extend_from_slice(&crc32c::crc32c(body).to_le_bytes());
    out.extend_from_slice(body);
    out
}

/// The body of a sealed file, or what is wrong with it.
fn unseal(kind: AuxKind, bytes: &[u8]) -> Result<&[u8], String> {
    let (prefix, body) = bytes
        .split_at_checked(PREFIX_LEN)
        .ok_or_else(|| format!("the file is {} bytes, shorter than its header", bytes.len()))?;
    if prefix[..8] != kind.magic() {
        return Err("the file does not start with the magic".to_owned());
    }
    let version = u32::from_le_bytes([prefix[8], prefix[9], prefix[10], prefix[11]]);
    if version != FORMAT_VERSION {
        return Err(format!("unsupported format version {version}"));
    }
    let crc = u32::from_le_bytes([prefix[12], prefix[13], prefix[14], prefix[15]]);
    if crc != crc32c::crc32c(body) {
        return Err("the checksum is wrong".to_owned());
    }
    Ok(body)
}

/// Reads little-endian fields from the front of a byte slice.
struct Fields<'a>(&'a [u8]);

impl<'a> Fields<'a> {
    fn take(&mut self, len: usize) -> Result<&'a [u8], String> {
        let (head, rest) = self
            .0
            .split_at_checked(len)
            .ok_or_else(|| "the file ends inside a field".to_owned())?;
        self.0 = rest;
        Ok(head)
    }

    fn u64(&mut self) -> Result<u64, String> {
        let mut bytes = [0; 8];
        bytes.copy_from_slice(self.take(8)?);
        Ok(u64::from_le_bytes(bytes))
    }

    fn u32(&mut self) -> Result<u32, String> {
        let mut bytes = [0; 4];
        bytes.copy_from_slice(self.take(4)?);
        Ok(u32::from_le_bytes(bytes))
    }

    fn text(&mut self, len: u32) -> Result<&'a str, String> {
        let bytes = self.take(len as usize)?;
        std::str::from_utf8(bytes).map_err(|_| "a text field is not UTF-8".to_owned())
    }
}

fn len_u32(len: usize) -> io::Result<u32> {
    u32::try_from(len).map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "field too long"))
}

fn encode_snapshot(snapshot: &Snapshot) -> io::Result<Vec<u8>> {
    let mut body = Vec::with_capacity(24 + snapshot.stream_id.len() + snapshot.state.len());
    body.extend_from_slice(&snapshot.stream_version.to_le_bytes());
    body.extend_from_slice(&len_u32(snapshot.stream_id.len())?.to_le_bytes());
    body.extend_from_slice(&len_u32(snapshot.fingerprint.len())?.to_le_bytes());
    body.extend_from_slice(&(snapshot.state.len() as u64).to_le_bytes());
    body.extend_from_slice(snapshot.stream_id.as_bytes());
    body.extend_from_slice(snapshot.fingerprint.as_bytes());
    body.extend_from_slice(&snapshot.state);
    Ok(seal(AuxKind::Snapshot, &body))
}

fn decode_snapshot(bytes: &[u8]) -> Result<Snapshot, String> {
    let mut fields = Fields(unseal(AuxKind::Snapshot, bytes)?);
    let stream_version = fields.u64()?;
    let stream_id_len = fields.u32()?;
    let fingerprint_len = fields.u32()?;
    let state_len = usize::try_from(fields.u64()?).map_err(|_| "state too large".to_owned())?;
    let stream_id = fields.text(stream_id_len)?;
    let fingerprint = fields.text(fingerprint_len)?;
    let state = fields.take(state_len)?;
    if !fields.0.is_empty() {
        return Err("bytes follow the state".to_owned());
    }
    Ok(Snapshot::new(
        stream_id,
        stream_version,
        fingerprint,
        state.to_vec(),
    ))
}

fn encode_checkpoint(projection: &str, position: u64) -> io::Result<Vec<u8>> {
    let mut body = Vec::with_capacity(12 + projection.len());
    body.extend_from_slice(&position.to_le_bytes());
    body.extend_from_slice(&len_u32(projection.len())?.to_le_bytes());
    body.extend_from_slice(projection.as_bytes());
    Ok(seal(AuxKind::Checkpoint, &body))
}

fn decode_checkpoint(bytes: &[u8]) -> Result<(String, u64), String> {
    let mut fields = Fields(unseal(AuxKind::Checkpoint, bytes)?);
    let position = fields.u64()?;
    let name_len = fields.u32()?;
    let name = fields.text(name_len)?.to_owned();
    if !fields.0.is_empty() {
        return Err("bytes follow the projection name".to_owned());
    }
    Ok((name, position))
}

impl Shared {
    /// Replaces `dir/name` with `bytes` atomically: a reader sees the old file or the new one,
    /// never a mix, even after a crash.
    fn write_atomically(&self, dir: &Path, name: &str, bytes: &[u8]) -> io::Result<()> {
        let sync = self.durability != Durability::None;
        let n = self.temp_files.fetch_add(1, Ordering::Relaxed);
        let temp = dir.join(format!("{name}.{n}{TEMP_SUFFIX}"));
        let file = self.fs.open(&temp, OpenMode::CreateNew)?;
        let written = write_all_at(&*file, bytes, 0)
            .and_then(|()| if sync { file.sync_data() } else { Ok(()) })
            .and_then(|()| self.fs.rename(&temp, &dir.join(name)));
        if let Err(e) = written {
            // Best effort: the next open removes leftover temporary files too.
            let _ = self.fs.remove_file(&temp);
            return Err(e);
        }
        if sync {
            self.fs.sync_dir(dir)?;
        }
        Ok(())
    }

    /// The content of the `kind` file for `key`, `None` when there is none.
    fn read_aux(&self, kind: AuxKind, key: &str) -> io::Result<Option<Vec<u8>>> {
        let path = self
            .dir
            .join(kind.subdir())
            .join(file_name(key, kind.extension()));
        let file = match self.fs.open(&path, OpenMode::Read) {
            Ok(file) => file,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e),
        };
        let len = usize::try_from(file.len()?)
            .map_err(|_| io::Error::new(io::ErrorKind::InvalidData, "file too large"))?;
        let mut bytes = vec![0; len];
        let read = read_fully_at(&*file, &mut bytes, 0)?;
        bytes.truncate(read);
        Ok(Some(bytes))
    }

    /// Replaces the `kind` file for `key` with `bytes`, atomically.
    fn write_aux(&self, kind: AuxKind, key: &str, bytes: &[u8]) -> io::Result<()> {
        self.write_atomically(
            &self.dir.join(kind.subdir()),
            &file_name(key, kind.extension()),
            bytes,
        )
    }
}

impl SnapshotStore for FileStore {
    fn load_snapshot(&self, stream_id: &str) -> Result<Option<Snapshot>, SnapshotError> {
        let read = self.shared.read_aux(AuxKind::Snapshot, stream_id);
        let Some(bytes) = read.map_err(SnapshotError::Io)? else {
            return Ok(None);
        };
        let snapshot = decode_snapshot(&bytes).map_err(|reason| SnapshotError::Corrupt {
            stream_id: stream_id.to_owned(),
            reason,
        })?;
        // Another stream whose name hashes alike saved here: not this stream's snapshot.
        Ok((snapshot.stream_id == stream_id).then_some(snapshot))
    }

    fn save_snapshot(&self, snapshot: &Snapshot) -> Result<(), SnapshotError> {
        if self.is_read_only() {
            return Err(SnapshotError::Unavailable {
                reason: READ_ONLY.to_owned(),
            });
        }
        let bytes = encode_snapshot(snapshot).map_err(SnapshotError::Io)?;
        self.shared
            .write_aux(AuxKind::Snapshot, &snapshot.stream_id, &bytes)
            .map_err(SnapshotError::Io)
    }
}

impl CheckpointStore for FileStore {
    fn load_checkpoint(&self, projection: &str) -> Result<Option<u64>, CheckpointError> {
        let read = self.shared.read_aux(AuxKind::Checkpoint, projection);
        let Some(bytes) = read.map_err(CheckpointError::Io)? else {
            return Ok(None);
        };
        let (name, position) =
            decode_checkpoint(&bytes).map_err(|reason| CheckpointError::Corrupt {
                projection: projection.to_owned(),
                reason,
            })?;
        Ok((name == projection).then_some(position))
    }

    fn save_checkpoint(&self, projection: &str, position: u64) -> Result<(), CheckpointError> {
        if self.is_read_only() {
            return Err(CheckpointError::Unavailable {
                reason: READ_ONLY.to_owned(),
            });
        }
        let bytes = encode_checkpoint(projection, position).map_err(CheckpointError::Io)?;
        self.shared
            .write_aux(AuxKind::Checkpoint, projection, &bytes)
            .map_err(CheckpointError::Io)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snapshot_and_checkpoint_files_round_trip_and_detect_damage() {
        let snapshot = Snapshot::new("acc-1", 200, "00ff", br#"{"balance":5}"#.to_vec());
        let bytes = encode_snapshot(&snapshot).expect("encodes");
        assert_eq!(decode_snapshot(&bytes), Ok(snapshot));
        for at in 0..bytes.len() {
            let mut damaged = bytes.clone();
            damaged[at] ^= 1;
            assert!(decode_snapshot(&damaged).is_err(), "flip at {at}");
        }
        assert!(decode_snapshot(&bytes[..bytes.len() - 1]).is_err());
        let checkpoint = encode_checkpoint("balances", 42).expect("encodes");
        assert_eq!(
            decode_checkpoint(&checkpoint),
            Ok(("balances".to_owned(), 42))
        );
    }

    #[test]
    fn file_names_are_safe_short_and_distinct() {
        let long = "x".repeat(10_000);
        assert!(file_name(&long, "snap").len() < 80);
        assert_eq!(
            file_name("acc/../1", "snap"),
            format!("acc____1-{:016x}.snap", crate::schema::fnv1a64(b"acc/../1"))
        );
        assert_ne!(file_name("a/b", "snap"), file_name("a_b", "snap"));
    }
}
