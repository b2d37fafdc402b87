//! Appending: group commit, segment rolling, and the failure rules (a failed write is undone;
//! a failed sync stops all writes until the store is reopened).
//!
//! Appenders queue their batch and wait on a condition variable. When no leader is at work,
//! the first appender to notice becomes the leader: it takes every queued batch, decides each
//! against the index (and the batches before it in the group), writes the whole group with
//! one write, syncs once, publishes the events to the index, posts every appender's outcome
//! and wakes them all. Appenders that queued while it worked form the next group, whose
//! leader is one of them.

use std::collections::HashMap;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

use std::time::SystemTime;

use uuid::Uuid;

use super::format::{
    encode_frame, nanos_since_epoch, FrameFields, SegmentHeader, MAX_EVENT_TYPE_BYTES,
    MAX_METADATA_BYTES, SEGMENT_HEADER_LEN,
};
use super::format::{segment_file_name, TEMP_SUFFIX};
use super::fs::{write_all_at, FileSystem, LogFile, OpenMode};
use super::index::{IndexedEvent, SegmentEntry};
use super::{Durability, Shared, READ_ONLY};
use crate::store::backend::{plan_append, validate_batch, AppendPlan, StoredId};
use crate::AppendOutcome;
use crate::{AppendError, ExpectedVersion, NewEvent};

/// The state only the leader touches, behind the writer lock.
#[derive(Debug)]
pub(crate) struct Writer {
    pub segment_slot: u32,
    pub segment_number: u64,
    pub file: Arc<dyn LogFile>,
    /// The end of the last committed frame in the current segment.
    pub end: u64,
    pub next_position: u64,
    /// The highest position committed under the store's durability mode (synced, or for
    /// `Durability::None` written); recorded in each new frame for recovery.
    pub durable_through: u64,
    /// Why the store refuses writes, once a sync failed.
    pub failed: Option<String>,
}

/// One appender's batch, waiting for a leader.
#[derive(Debug)]
pub(crate) struct Request {
    ticket: u64,
    stream_id: String,
    expected: ExpectedVersion,
    events: Vec<NewEvent>,
    /// Each event's metadata as JSON text (empty for an empty object), encoded before queueing.
    metadata: Vec<Vec<u8>>,
}

/// The batches waiting for a leader, and the outcomes waiting for their appenders.
#[derive(Debug, Default)]
pub(crate) struct CommitQueue {
    next_ticket: u64,
    waiting: Vec<Request>,
    leader_at_work: bool,
    outcomes: HashMap<u64, Result<AppendOutcome, AppendError>>,
}

/// Hands leadership back if the leader unwinds, failing the batches it had taken, so that
/// their appenders do not wait forever.
struct Leadership<'a> {
    shared: &'a Shared,
    tickets: Vec<u64>,
    finished: bool,
}

impl Drop for Leadership<'_> {
    fn drop(&mut self) {
        if self.finished {
            return;
        }
        let mut queue = lock(&self.shared.queue);
        queue.leader_at_work = false;
        for ticket in &self.tickets {
            queue.outcomes.entry(*ticket).or_insert_with(|| {
                Err(AppendError::Unavailable {
                    reason: "the append that carried this batch failed".to_owned(),
                })
            });
        }
        self.shared.committed.notify_all();
    }
}

pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// The refusal of an append to a store opened read-only.
fn refused_read_only() -> AppendError {
    AppendError::Unavailable {
        reason: READ_ONLY.to_owned(),
    }
}

/// A copy of an I/O error for each appender of a failed group (`io::Error` is not `Clone`).
fn copy_io_error(error: &io::Error) -> io::Error {
    io::Error::new(error.kind(), error.to_string())
}

fn encode_metadata(event: &NewEvent) -> Result<Vec<u8>, AppendError> {
    if event.event_type().len() > MAX_EVENT_TYPE_BYTES {
        return Err(AppendError::TooLarge {
            event_id: event.event_id(),
            size: event.event_type().len(),
            limit: MAX_EVENT_TYPE_BYTES,
        });
    }
    // Only the exact text `{}` is written as nothing; any other text is kept byte for byte.
    if event.metadata().as_str() == "{}" {
        return Ok(Vec::new());
    }
    let metadata = event.metadata().as_bytes().to_vec();
    if metadata.len() > MAX_METADATA_BYTES {
        return Err(AppendError::TooLarge {
            event_id: event.event_id(),
            size: metadata.len(),
            limit: MAX_METADATA_BYTES,
        });
    }
    Ok(metadata)
}

/// Writes a new segment holding only its header: written under a temporary name, synced, then
/// renamed into place, so a segment file never has a partial header.
pub(crate) fn create_segment(
    fs: &dyn FileSystem,
    dir: &Path,
    header: SegmentHeader,
    sync: bool,
) -> io::Result<(PathBuf, Arc<dyn LogFile>)> {
    let name = segment_file_name(header.number);
    let path = dir.join(&name);
    let temp = dir.join(format!("{name}{TEMP_SUFFIX}"));
    let file = fs.open(&temp, OpenMode::CreateNew)?;
    let written = write_all_at(&*file, &header.encode(), 0)
        .and_then(|()| if sync { file.sync_data() } else { Ok(()) })
        .and_then(|()| fs.rename(&temp, &path));
    if let Err(e) = written {
        // Best effort: a leftover temporary file is also removed by the next open.
        let _ = fs.remove_file(&temp);
        return Err(e);
    }
    if sync {
        fs.sync_dir(dir)?;
    }
    Ok((path, file))
}

/// What the leader decided for the batches of one group, before writing.
struct Decided<'g> {
    outcomes: Vec<Result<AppendOutcome, AppendError>>,
    frames: Vec<u8>,
    events: Vec<IndexedEvent<'g>>,
    next_position: u64,
}

impl Shared {
    /// The writer; `None` when the store was opened read-only.
    pub(crate) fn lock_writer(&self) -> Option<MutexGuard<'_, Writer>> {
        let writer = self.writer.as_ref()?.lock().unwrap_or_else(|poisoned| {
            let mut writer = poisoned.into_inner();
            writer
                .failed
                .get_or_insert_with(|| "an append panicked while writing".to_owned());
            writer
        });
        Some(writer)
    }

    pub(crate) fn append(
        &self,
        stream_id: &str,
        expected: ExpectedVersion,
        events: Vec<NewEvent>,
    ) -> Result<AppendOutcome, AppendError> {
        if self.writer.is_none() {
            return Err(refused_read_only());
        }
        validate_batch(stream_id, &events)?;
        let metadata = events
            .iter()
            .map(encode_metadata)
            .collect::<Result<Vec<_>, _>>()?;
        let mut queue = lock(&self.queue);
        let ticket = queue.next_ticket;
        queue.next_ticket += 1;
        queue.waiting.push(Request {
            ticket,
            stream_id: stream_id.to_owned(),
            expected,
            events,
            metadata,
        });
        loop {
            if let Some(outcome) = queue.outcomes.remove(&ticket) {
                return outcome;
            }
            if queue.leader_at_work {
                queue = self
                    .committed
                    .wait(queue)
                    .unwrap_or_else(std::sync::PoisonError::into_inner);
                continue;
            }
            queue.leader_at_work = true;
            let group = std::mem::take(&mut queue.waiting);
            drop(queue);
            let mut leadership = Leadership {
                shared: self,
                tickets: group.iter().map(|r| r.ticket).collect(),
                finished: false,
            };
            let outcomes = match self.lock_writer() {
                Some(mut writer) => self.try_commit_group(&mut writer, &group),
                None => group.iter().map(|_| Err(refused_read_only())).collect(),
            };
            leadership.finished = true;
            queue = lock(&self.queue);
            for (request, outcome) in group.iter().zip(outcomes) {
                queue.outcomes.insert(request.ticket, outcome);
            }
            queue.leader_at_work = false;
            self.committed.notify_all();
        }
    }

    /// Decides, writes, syncs and publishes one group; returns each batch's outcome.
    fn try_commit_group(
        &self,
        writer: &mut Writer,
        group: &[Request],
    ) -> Vec<Result<AppendOutcome, AppendError>> {
        let fail_all = |error: &io::Error| {
            group
                .iter()
                .map(|_| Err(AppendError::Io(copy_io_error(error))))
                .collect()
        };
        if let Some(reason) = &writer.failed {
            return group
                .iter()
                .map(|_| {
                    Err(AppendError::Unavailable {
                        reason: reason.clone(),
                    })
                })
                .collect();
        }
        if let Err(e) = self.roll_if_full(writer) {
            return fail_all(&e);
        }
        let decided = self.decide(writer, group);
        if decided.frames.is_empty() {
            return decided.outcomes;
        }
        if let Err(e) = write_all_at(&*writer.file, &decided.frames, writer.end) {
            // Nothing of the group is acknowledged; cut what reached the file so the next
            // group starts on a frame boundary.
            if let Err(undo) = writer.file.set_len(writer.end) {
                writer.failed = Some(format!(
                    "a failed write could not be undone ({undo}); reopen the store"
                ));
            }
            return fail_all(&e);
        }
        if self.durability == Durability::Sync {
            if let Err(e) = writer.file.sync_data() {
                // After a failed fsync the kernel may have dropped the dirty pages: what is on
                // disk is unknown, and a retried fsync could report success for lost data.
                // Refuse further writes; reopening reads back what really is on disk.
                writer.failed = Some(format!("fsync failed ({e}); reopen the store"));
                return fail_all(&e);
            }
        }
        writer.end += decided.frames.len() as u64;
        writer.next_position = decided.next_position;
        if !matches!(self.durability, Durability::Flush { .. }) {
            writer.durable_through = writer.next_position - 1;
        }
        let mut index = self.write_index();
        for event in &decided.events {
            if let Err(damage) = index.push(event) {
                writer.failed = Some(format!("the index refused a written event: {damage}"));
                break;
            }
        }
        index.set_committed_len(writer.segment_slot, writer.end);
        let head = index.head();
        drop(index);
        // Only now is the group written (and synced, under `Sync`) and in the index: a woken
        // reader finds its events, as durable as the acknowledgements that follow.
        self.appended.notify(head);
        decided.outcomes
    }

    /// Decides each batch of the group in order, encoding the frames of those to write.
    fn decide<'g>(&self, writer: &Writer, group: &'g [Request]) -> Decided<'g> {
        let recorded_at_nanos = nanos_since_epoch(SystemTime::now());
        let mut decided = Decided {
            outcomes: Vec::with_capacity(group.len()),
            frames: Vec::new(),
            events: Vec::new(),
            next_position: writer.next_position,
        };
        // Stream versions and ids written by earlier batches of this group.
        let mut versions: HashMap<&'g str, u64> = HashMap::new();
        let mut ids: HashMap<Uuid, StoredId<'g>> = HashMap::new();
        let index = self.read_index();
        for request in group {
            let stream_id = request.stream_id.as_str();
            let current = versions
                .get(stream_id)
                .copied()
                .unwrap_or_else(|| index.stream_version(stream_id));
            let plan = plan_append(
                stream_id,
                request.expected,
                current,
                &request.events,
                |id| ids.get(&id).cloned().or_else(|| index.lookup_id(id)),
            );
            let first_version = match plan {
                Ok(AppendPlan::Write { first_version }) => first_version,
                Ok(AppendPlan::AlreadyStored(outcome)) => {
                    decided.outcomes.push(Ok(outcome));
                    continue;
                }
                Err(e) => {
                    decided.outcomes.push(Err(e));
                    continue;
                }
            };
            let first_position = decided.next_position;
            let last = request.events.len() - 1;
            for (i, (event, metadata)) in request.events.iter().zip(&request.metadata).enumerate() {
                let position = first_position + i as u64;
                let stream_version = first_version + i as u64;
                let offset = writer.end + decided.frames.len() as u64;
                encode_frame(
                    &mut decided.frames,
                    &FrameFields {
                        position,
                        stream_version,
                        committed_through: writer.durable_through,
                        event_id: event.event_id(),
                        recorded_at_nanos: event
                            .recorded_at()
                            .map_or(recorded_at_nanos, nanos_since_epoch),
                        schema_version: event.schema_version(),
                        stream_id,
                        event_type: event.event_type(),
                        metadata,
                        payload: event.payload(),
                        batch_end: i == last,
                    },
                );
                decided.events.push(IndexedEvent {
                    position,
                    stream_id,
                    stream_version,
                    event_id: event.event_id(),
                    segment: writer.segment_slot,
                    offset,
                });
                ids.insert(
                    event.event_id(),
                    StoredId {
                        stream_id,
                        stream_version,
                        position,
                    },
                );
            }
            let count = request.events.len() as u64;
            versions.insert(stream_id, first_version + count - 1);
            decided.next_position += count;
            decided.outcomes.push(Ok(AppendOutcome::new(
                first_version + count - 1,
                first_position,
                first_position + count - 1,
                false,
            )));
        }
        decided
    }

    /// Starts a new segment when the current one reached the configured size. The old one is
    /// synced first, so every segment but the last is complete on disk.
    fn roll_if_full(&self, writer: &mut Writer) -> io::Result<()> {
        if writer.end < self.segment_size || writer.end <= SEGMENT_HEADER_LEN as u64 {
            return Ok(());
        }
        let sync = self.durability != Durability::None;
        if sync {
            if let Err(e) = writer.file.sync_data() {
                writer.failed = Some(format!("fsync failed ({e}); reopen the store"));
                return Err(e);
            }
            writer.durable_through = writer.next_position - 1;
        }
        let header = SegmentHeader {
            number: writer.segment_number + 1,
            first_position: writer.next_position,
        };
        let (path, file) = create_segment(&*self.fs, &self.dir, header, sync)?;
        let slot = self.write_index().add_segment(SegmentEntry {
            file: self.files.lazy(&path),
            path,
            committed_len: SEGMENT_HEADER_LEN as u64,
        });
        writer.segment_slot = slot;
        writer.segment_number = header.number;
        writer.file = file;
        writer.end = SEGMENT_HEADER_LEN as u64;
        Ok(())
    }

    /// Syncs what was written since the last sync (`Durability::Flush`).
    pub(crate) fn sync_now(&self) {
        let Some(mut writer) = self.lock_writer() else {
            return;
        };
        let target = writer.next_position - 1;
        if writer.failed.is_some() || target <= writer.durable_through {
            return;
        }
        match writer.file.sync_data() {
            Ok(()) => writer.durable_through = target,
            Err(e) => writer.failed = Some(format!("fsync failed ({e}); reopen the store")),
        }
    }
}
