//! What recovery and verification report: [`RecoveryReport`], [`TornTail`], [`VerifyReport`]
//! and [`DamagedFrame`]. The recovery rules are documented on [`RecoveryReport`].

use std::path::PathBuf;

use super::damage::Damage;

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
///   tail is cut off: its bytes are first copied to a quarantine file beside the segment
///   (synced, like the segment), then the segment is truncated after the last complete batch,
///   and the cut is reported in [`RecoveryReport::torn_tail`] with the positions it took and
///   whether their append may have been acknowledged ([`TornTail`]).
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
    /// The torn tail that was cut off (its bytes kept in [`TornTail::quarantine`]), if there
    /// was one. A read-only open reports the torn tail it found and hid, and cuts nothing.
    pub torn_tail: Option<TornTail>,
    /// Temporary files of interrupted writes that were removed (none by a read-only open).
    pub temp_files_removed: usize,
}

/// A torn tail: the end of the last segment after its last intact batch, which no later frame
/// vouches for. Usually appends that were never acknowledged (the process or the machine
/// stopped while they were being written); but damage to the last batch after its append
/// returned looks the same when nothing was written after it, so a tail whose bytes are all
/// there but fail a checksum is reported as [`possibly_acknowledged`](Self::possibly_acknowledged).
///
/// `open` cuts the tail off and keeps the cut bytes in a quarantine file beside the segment
/// ([`quarantine`](Self::quarantine)); `verify` and read-only opens only report it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct TornTail {
    /// The segment file.
    pub segment: PathBuf,
    /// Where the segment ends after the cut: the end of its last complete batch.
    pub offset: u64,
    /// Bytes cut (or, for `verify` and read-only opens, to be cut) from the end of the
    /// segment.
    pub bytes_removed: u64,
    /// Why the bytes after `offset` are not a complete batch.
    pub damage: Damage,
    /// The position of the first event cut: the one after the last event kept.
    pub first_position: u64,
    /// The highest position an intact frame header among the cut bytes names
    /// (`first_position` when none does): the cut takes positions
    /// `first_position..=last_position`, as far as the damaged bytes tell.
    pub last_position: u64,
    /// Whether an append whose events were cut may have been acknowledged: the damage is not
    /// a write cut short (a batch without its last frame, a frame longer than the bytes after
    /// it) but bytes that are there and fail a check. That happens when the disk or someone
    /// changed the last batch after it was written, which is worth looking into.
    pub possibly_acknowledged: bool,
    /// The quarantine file where `open` kept the cut bytes, byte for byte:
    /// `<segment file name>.cut-<offset>-<n>` beside the segment (`n` counts from 1 to the
    /// first unused name). `None` in `verify` and read-only opens, which cut nothing.
    pub quarantine: Option<PathBuf>,
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
    pub damage: Damage,
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

    /// True when no frame is damaged and no torn tail may hold an acknowledged append: the
    /// log is as its appends left it, and `open` loses nothing that was acknowledged.
    #[must_use]
    pub fn is_intact(&self) -> bool {
        self.is_clean()
            && !self
                .torn_tail
                .as_ref()
                .is_some_and(|tail| tail.possibly_acknowledged)
    }
}
