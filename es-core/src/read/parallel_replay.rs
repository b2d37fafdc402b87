//! Replaying a log on several cores: [`ParallelReplay`] reads and decodes ranges of positions
//! on worker threads and hands the decoded events to one caller-side function, in log order.
//!
//! Decoding JSON and upcasting it dominate a replay; applying the decoded events is usually
//! cheap but must happen in order. The workers take turns over consecutive ranges of
//! positions, each reading its range with [`EventStore::read_all`] and decoding it through
//! [`Event::decode`], and the caller's thread takes the ranges back in the same turn order, so
//! the order of the log is kept without any sorting. Bounded channels keep at most a few
//! ranges per worker in memory.

use std::num::NonZeroUsize;
use std::sync::mpsc::sync_channel;

use super::decoded_chunk::{read_decoded_through, ChunkFailure};
use crate::{DecodeError, Envelope, Event, EventStore, ReadError};

/// Stored events per range a worker reads and decodes at once.
const DEFAULT_CHUNK_EVENTS: usize = 1024;
/// Decoded ranges a worker may hold ahead of the caller.
const RANGES_AHEAD: usize = 2;

/// Replays a store's log from a position up to its head, decoding on several threads and
/// applying in order on the caller's thread.
///
/// # Examples
/// ```
/// use es_core::ParallelReplay;
/// use es_core::{Event, EventStore, ExpectedVersion, MemoryStore, NewEvent};
/// # use schemars::JsonSchema;
/// # use serde::{Deserialize, Serialize};
///
/// #[derive(Debug, Serialize, Deserialize, JsonSchema, Event)]
/// struct Deposited { amount: u64 }
///
/// let store = MemoryStore::new();
/// for amount in 1..=100 {
///     store.append("acc-1", ExpectedVersion::Any, vec![NewEvent::encode(&Deposited { amount })?])?;
/// }
/// let mut last = 0;
/// let mut total = 0;
/// let outcome = ParallelReplay::new()
///     .chunk_events(8)
///     .run::<Deposited, _, _>(&store, 1, |envelope| {
///         assert!(envelope.position > last, "in log order");
///         last = envelope.position;
///         total += envelope.event.amount;
///     })?;
/// assert_eq!((total, outcome.through, outcome.events), (5050, 100, 100));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone)]
pub struct ParallelReplay {
    threads: usize,
    chunk_events: usize,
}

impl Default for ParallelReplay {
    fn default() -> Self {
        Self::new()
    }
}

impl ParallelReplay {
    /// One decoding thread per available core, ranges of 1024 events.
    #[must_use]
    pub fn new() -> Self {
        Self {
            threads: std::thread::available_parallelism().map_or(2, NonZeroUsize::get),
            chunk_events: DEFAULT_CHUNK_EVENTS,
        }
    }

    /// How many threads read and decode (at least 1).
    #[must_use]
    pub fn threads(mut self, threads: usize) -> Self {
        self.threads = threads.max(1);
        self
    }

    /// How many positions one range covers (at least 1): larger ranges cost fewer hand-offs
    /// and more memory.
    #[must_use]
    pub fn chunk_events(mut self, events: usize) -> Self {
        self.chunk_events = events.max(1);
        self
    }

    /// Decodes every stored event from `from_position` through the store's head position at
    /// the call, and passes each decoded event to `apply`, in log order, on this thread.
    ///
    /// Events appended during the replay may or may not be included beyond that head; the
    /// outcome says through which position the replay went, so a caller can continue from
    /// there. On a failure, every event before it has been applied.
    ///
    /// # Errors
    /// [`ReplayError::Read`] when the store fails; [`ReplayError::Decode`] at the first
    /// stored event that does not decode (the error names its stream and position).
    ///
    /// # Panics
    /// When a decoding thread panicked (a panic in an upcaster), the panic is propagated.
    pub fn run<E, S, F>(
        &self,
        store: &S,
        from_position: u64,
        mut apply: F,
    ) -> Result<ReplayOutcome, ReplayError>
    where
        E: Event + Send,
        S: EventStore + ?Sized,
        F: FnMut(&Envelope<E>),
    {
        let first = from_position.max(1);
        let head = store.head_position().map_err(ReplayError::Read)?;
        let mut outcome = ReplayOutcome {
            through: first - 1,
            events: 0,
        };
        if head < first {
            return Ok(outcome);
        }
        let span = self.chunk_events as u64;
        let ranges = (head - first) / span + 1;
        let workers = u64::try_from(self.threads).unwrap_or(u64::MAX).min(ranges);
        std::thread::scope(|scope| {
            let mut turns = Vec::new();
            for worker in 0..workers {
                let (sender, decoded) = sync_channel(RANGES_AHEAD);
                let (recycle, applied) = sync_channel::<Vec<Envelope<E>>>(RANGES_AHEAD + 1);
                turns.push((decoded, recycle));
                scope.spawn(move || {
                    let mut range = worker;
                    while range < ranges {
                        // Events are freed by the thread that allocated them (freeing them on
                        // the caller's thread made the allocator's locks the bottleneck), and
                        // their vector is reused.
                        let reuse = applied.try_iter().last().unwrap_or_default();
                        let start = first + range * span;
                        let last = (start + span - 1).min(head);
                        let chunk =
                            read_decoded_through(store, start - 1, last, self.chunk_events, reuse);
                        let failed = chunk.failure.is_some();
                        // A closed channel means the caller stopped; so does this thread.
                        if sender.send(chunk).is_err() || failed {
                            return;
                        }
                        range += workers;
                    }
                });
            }
            let mut turn = turns.iter().cycle();
            for _ in 0..ranges {
                let Some((decoded, recycle)) = turn.next() else {
                    break;
                };
                let Ok(chunk) = decoded.recv() else {
                    // The worker ended without sending: it panicked, and the scope rethrows.
                    break;
                };
                outcome.events += chunk.consumed as u64;
                outcome.through = chunk.through.max(outcome.through);
                chunk.envelopes.iter().for_each(&mut apply);
                // Full or closed (the worker is done): the events are freed here instead.
                let _ = recycle.try_send(chunk.envelopes);
                match chunk.failure {
                    Some(ChunkFailure::Read(e)) => return Err(ReplayError::Read(e)),
                    Some(ChunkFailure::Decode(e)) => return Err(ReplayError::Decode(e)),
                    None => {}
                }
            }
            Ok(outcome)
        })
    }
}

/// How far a [`ParallelReplay`] went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct ReplayOutcome {
    /// The position of the last stored event replayed; `from_position - 1` when none was.
    pub through: u64,
    /// How many stored events were replayed (decoded into events, or removed on purpose).
    pub events: u64,
}

/// Why a [`ParallelReplay`] stopped before the head.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ReplayError {
    /// Reading the log failed.
    #[error("could not read the log")]
    Read(#[source] ReadError),
    /// A stored event does not decode; the events before it were applied.
    #[error("stopped at position {} of stream `{}`: the event does not decode", .0.position, .0.stream_id)]
    Decode(#[source] DecodeError),
}
