//! The in-memory index, rebuilt from the frame headers on open: where each position lives,
//! each stream's positions, and where each event id is stored. It never holds event bodies.

use std::collections::hash_map::{Entry, RandomState};
use std::collections::HashMap;
use std::hash::{BuildHasher, Hasher};
use std::path::PathBuf;
use std::sync::Arc;

use uuid::Uuid;

use super::damage::Damage;
use super::fs::LogFile;
use crate::store::backend::StoredId;

/// One segment file as readers see it.
#[derive(Debug)]
pub(crate) struct SegmentEntry {
    pub path: PathBuf,
    pub file: Arc<dyn LogFile>,
    /// Bytes of the file holding committed frames; readers never look past it.
    pub committed_len: u64,
}

/// Where one event's frame is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct EventEntry {
    pub offset: u64,
    pub segment: u32,
    pub stream: u32,
}

#[derive(Debug)]
struct StreamEntry {
    id: Arc<str>,
    /// The positions of the stream's events; index `i` holds version `i + 1`.
    positions: Vec<u64>,
}

/// A position's frame, with what is needed to read it without holding the index.
#[derive(Debug, Clone)]
pub(crate) struct Located {
    pub entry: EventEntry,
    pub file: Arc<dyn LogFile>,
    pub committed_len: u64,
}

/// Hashes event ids, as `u128`, with one folded multiplication keyed per process.
///
/// Fresh ids are UUID v7 (a timestamp and 74 random bits, all folded in below) unless callers
/// choose them; `SipHash` over them dominated rebuilding the
/// index of a large log. The keys come from the standard library's random hasher state, so
/// colliding ids cannot be chosen without knowing them.
#[derive(Debug, Clone, Copy)]
struct IdHashing {
    keys: [u64; 2],
}

impl Default for IdHashing {
    fn default() -> Self {
        let random = RandomState::new();
        Self {
            keys: [random.hash_one(0x9e37_u64), random.hash_one(0x79b9_u64)],
        }
    }
}

impl BuildHasher for IdHashing {
    type Hasher = IdHasher;

    fn build_hasher(&self) -> IdHasher {
        IdHasher {
            keys: self.keys,
            hash: 0,
        }
    }
}

#[derive(Debug)]
struct IdHasher {
    keys: [u64; 2],
    hash: u64,
}

fn folded_multiply(a: u64, b: u64) -> u64 {
    let product = u128::from(a) * u128::from(b);
    // The two halves of the product, folded together.
    #[allow(clippy::cast_possible_truncation)]
    let (low, high) = (product as u64, (product >> 64) as u64);
    low ^ high
}

impl Hasher for IdHasher {
    fn write(&mut self, bytes: &[u8]) {
        for chunk in bytes.chunks(8) {
            let mut word = [0u8; 8];
            word[..chunk.len()].copy_from_slice(chunk);
            self.hash = folded_multiply(
                self.hash ^ u64::from_le_bytes(word) ^ self.keys[0],
                self.keys[1] | 1,
            );
        }
    }

    fn write_u128(&mut self, value: u128) {
        #[allow(clippy::cast_possible_truncation)]
        let (low, high) = (value as u64, (value >> 64) as u64);
        self.hash = folded_multiply(low ^ self.keys[0], high ^ self.keys[1]);
    }

    fn finish(&self) -> u64 {
        self.hash
    }
}

#[derive(Debug, Default)]
pub(crate) struct Index {
    segments: Vec<SegmentEntry>,
    /// The event at position `p` is at index `p - 1`.
    events: Vec<EventEntry>,
    streams: Vec<StreamEntry>,
    stream_slots: HashMap<Arc<str>, u32>,
    /// The stream of the last event pushed: a batch is one stream, so most pushes skip the
    /// lookup by name.
    last_stream: Option<u32>,
    /// Where each event id (as `u128`) is stored.
    ids: HashMap<u128, u64, IdHashing>,
}

impl Index {
    /// The position of the last event, 0 when there is none.
    pub(crate) fn head(&self) -> u64 {
        self.events.len() as u64
    }

    pub(crate) fn stream_version(&self, stream_id: &str) -> u64 {
        self.stream_slots
            .get(stream_id)
            .and_then(|&slot| self.streams.get(slot as usize))
            .map_or(0, |s| s.positions.len() as u64)
    }

    /// The position of a stream's event at `version` (versions count from 1).
    pub(crate) fn position_of(&self, stream_id: &str, version: u64) -> Option<u64> {
        let slot = *self.stream_slots.get(stream_id)?;
        let index = usize::try_from(version.checked_sub(1)?).ok()?;
        self.streams
            .get(slot as usize)?
            .positions
            .get(index)
            .copied()
    }

    /// Where an event id is stored.
    pub(crate) fn lookup_id(&self, event_id: Uuid) -> Option<StoredId<'_>> {
        let position = *self.ids.get(&event_id.as_u128())?;
        let entry = self.entry(position)?;
        let stream = self.streams.get(entry.stream as usize)?;
        let index = stream.positions.binary_search(&position).ok()?;
        Some(StoredId {
            stream_id: &stream.id,
            stream_version: index as u64 + 1,
            position,
        })
    }

    fn entry(&self, position: u64) -> Option<EventEntry> {
        let index = usize::try_from(position.checked_sub(1)?).ok()?;
        self.events.get(index).copied()
    }

    pub(crate) fn locate(&self, position: u64) -> Option<Located> {
        let entry = self.entry(position)?;
        let segment = self.segments.get(entry.segment as usize)?;
        Some(Located {
            entry,
            file: Arc::clone(&segment.file),
            committed_len: segment.committed_len,
        })
    }

    /// Up to `max` consecutive positions from `from` that lie in one segment: their entries,
    /// appended to `out`, and that segment's file, committed length, and where the frame after
    /// the run's last starts in it (`u64::MAX` when none does); `None` when `from` is beyond
    /// the head.
    pub(crate) fn locate_run(
        &self,
        from: u64,
        max: usize,
        out: &mut Vec<EventEntry>,
    ) -> Option<(Arc<dyn LogFile>, u64, u64)> {
        let first = self.entry(from)?;
        let segment = self.segments.get(first.segment as usize)?;
        let start = usize::try_from(from - 1).ok()?;
        let end = start.saturating_add(max).min(self.events.len());
        out.extend(
            self.events
                .get(start..end)?
                .iter()
                .take_while(|entry| entry.segment == first.segment),
        );
        let after = from.saturating_add(out.len() as u64);
        let run_end = self
            .entry(after)
            .filter(|next| next.segment == first.segment)
            .map_or(u64::MAX, |next| next.offset);
        Some((Arc::clone(&segment.file), segment.committed_len, run_end))
    }

    pub(crate) fn segment(&self, slot: u32) -> Option<&SegmentEntry> {
        self.segments.get(slot as usize)
    }

    pub(crate) fn segment_count(&self) -> usize {
        self.segments.len()
    }

    /// Adds a segment; returns its slot.
    pub(crate) fn add_segment(&mut self, segment: SegmentEntry) -> u32 {
        self.segments.push(segment);
        u32::try_from(self.segments.len() - 1).unwrap_or(u32::MAX)
    }

    pub(crate) fn set_committed_len(&mut self, slot: u32, len: u64) {
        if let Some(segment) = self.segments.get_mut(slot as usize) {
            segment.committed_len = len;
        }
    }

    /// Makes room for `events` more events, so that rebuilding a large index does not
    /// rehash the id table over and over.
    pub(crate) fn reserve(&mut self, events: usize) {
        self.events.reserve(events);
        self.ids.reserve(events);
    }

    /// Records the event at the next position; refuses one that breaks the log's invariants
    /// (consecutive positions and stream versions, unique ids), changing nothing then.
    pub(crate) fn push(&mut self, event: &IndexedEvent<'_>) -> Result<(), Damage> {
        let expected = self.head() + 1;
        if event.position != expected {
            return Err(Damage::PositionOutOfOrder {
                expected,
                found: event.position,
            });
        }
        let slot = self.stream_slot(event.stream_id);
        let current = slot
            .and_then(|s| self.streams.get(s as usize))
            .map_or(0, |s| s.positions.len() as u64);
        if event.stream_version != current + 1 {
            return Err(Damage::StreamVersionOutOfOrder {
                expected: current + 1,
                found: event.stream_version,
            });
        }
        match self.ids.entry(event.event_id.as_u128()) {
            Entry::Occupied(_) => {
                return Err(Damage::DuplicateEventId {
                    event_id: event.event_id,
                })
            }
            Entry::Vacant(vacant) => {
                vacant.insert(event.position);
            }
        }
        let slot = slot.unwrap_or_else(|| {
            let id: Arc<str> = Arc::from(event.stream_id);
            let slot = u32::try_from(self.streams.len()).unwrap_or(u32::MAX);
            self.streams.push(StreamEntry {
                id: Arc::clone(&id),
                positions: Vec::new(),
            });
            self.stream_slots.insert(id, slot);
            slot
        });
        if let Some(stream) = self.streams.get_mut(slot as usize) {
            stream.positions.push(event.position);
        }
        self.last_stream = Some(slot);
        self.events.push(EventEntry {
            offset: event.offset,
            segment: event.segment,
            stream: slot,
        });
        Ok(())
    }

    /// Records the events of whole batches at the next positions, all or none: when one is
    /// refused, the ones pushed before it are taken out again, and its index in `events` is
    /// returned with what is wrong.
    pub(crate) fn push_all(&mut self, events: &[IndexedEvent<'_>]) -> Result<(), (usize, Damage)> {
        for (i, event) in events.iter().enumerate() {
            if let Err(damage) = self.push(event) {
                for pushed in events[..i].iter().rev() {
                    self.pop(pushed);
                }
                return Err((i, damage));
            }
        }
        Ok(())
    }

    /// Takes out the last event, which `push` recorded from `event`.
    fn pop(&mut self, event: &IndexedEvent<'_>) {
        if let Some(entry) = self.events.pop() {
            if let Some(stream) = self.streams.get_mut(entry.stream as usize) {
                stream.positions.pop();
            }
        }
        self.ids.remove(&event.event_id.as_u128());
    }

    /// The last segment's slot and entry.
    pub(crate) fn last_segment(&self) -> Option<(u32, &SegmentEntry)> {
        let slot = u32::try_from(self.segments.len().checked_sub(1)?).ok()?;
        Some((slot, self.segments.last()?))
    }

    /// The slot of a known stream.
    fn stream_slot(&self, stream_id: &str) -> Option<u32> {
        self.last_stream
            .filter(|&slot| {
                self.streams
                    .get(slot as usize)
                    .is_some_and(|s| &*s.id == stream_id)
            })
            .or_else(|| self.stream_slots.get(stream_id).copied())
    }
}

/// What the index records of one frame.
#[derive(Debug, Clone, Copy)]
pub(crate) struct IndexedEvent<'a> {
    pub position: u64,
    pub stream_id: &'a str,
    pub stream_version: u64,
    pub event_id: Uuid,
    pub segment: u32,
    pub offset: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(position: u64, stream_id: &str, stream_version: u64, id: u128) -> IndexedEvent<'_> {
        IndexedEvent {
            position,
            stream_id,
            stream_version,
            event_id: Uuid::from_u128(id),
            segment: 0,
            offset: position * 100,
        }
    }

    #[test]
    fn a_run_ends_at_its_length_or_its_segment_and_says_where_the_next_frame_starts() {
        let mut index = Index::default();
        for slot in 0..2 {
            index.add_segment(SegmentEntry {
                path: PathBuf::from(format!("{slot}")),
                file: Arc::new(crate::store::file::fs::Counting(Vec::new())),
                committed_len: 10_000,
            });
        }
        for position in 1..=6 {
            let mut at = event(position, "a", position, u128::from(position));
            at.segment = u32::from(position > 4);
            index.push(&at).expect("an event");
        }
        let run = |from, max| {
            let mut entries = Vec::new();
            let (_, _, next) = index.locate_run(from, max, &mut entries)?;
            Some((entries.iter().map(|e| e.offset).collect::<Vec<_>>(), next))
        };
        assert_eq!(run(1, 2), Some((vec![100, 200], 300)));
        assert_eq!(
            run(2, 9),
            Some((vec![200, 300, 400], u64::MAX)),
            "segment ends"
        );
        assert_eq!(run(5, 1), Some((vec![500], 600)));
        assert_eq!(run(5, 2), Some((vec![500, 600], u64::MAX)), "log ends");
        assert_eq!(run(7, 1), None);
    }

    #[test]
    fn push_all_takes_every_event_or_none() {
        let mut index = Index::default();
        index.push(&event(1, "a", 1, 1)).expect("first event");
        let refused = [
            event(2, "a", 2, 2),
            event(3, "b", 1, 3),
            event(4, "b", 2, 1),
        ];
        assert_eq!(
            index.push_all(&refused),
            Err((
                2,
                Damage::DuplicateEventId {
                    event_id: Uuid::from_u128(1)
                }
            ))
        );
        assert_eq!(index.head(), 1);
        assert_eq!(
            (index.stream_version("a"), index.stream_version("b")),
            (1, 0)
        );
        assert_eq!(index.lookup_id(Uuid::from_u128(2)), None);
        assert_eq!(index.lookup_id(Uuid::from_u128(3)), None);
        assert_eq!(
            index.lookup_id(Uuid::from_u128(1)).map(|at| at.position),
            Some(1)
        );

        let accepted = [event(2, "b", 1, 3), event(3, "a", 2, 2)];
        index.push_all(&accepted).expect("a valid continuation");
        assert_eq!(index.head(), 3);
        assert_eq!(
            (index.stream_version("a"), index.stream_version("b")),
            (2, 1)
        );
        assert_eq!(index.position_of("a", 2), Some(3));
        assert_eq!(
            index.lookup_id(Uuid::from_u128(3)).map(|at| at.position),
            Some(2)
        );
    }
}
