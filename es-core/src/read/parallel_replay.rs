//! Replaying a log on several cores: [`ParallelReplay`] reads and decodes ranges of positions
//! on several threads and hands the decoded events to one caller-side function, in log order.
//!
//! Decoding JSON and upcasting it dominate a replay; applying the decoded events is usually
//! cheap but must happen in order. The log is cut into consecutive ranges of positions, and
//! each thread claims the next unclaimed range whenever it is ready for one, lends it from the
//! store ([`EventStore::visit_range`]) and decodes it where it lies ([`Event::decode_ref`]), so
//! a thread that runs faster (a core of its own, a cheaper stretch of the log) takes more
//! ranges. The caller's thread is one of them: it claims its ranges two ahead of the one it
//! applies, decodes and applies them event by event as the store lends them, and applies the
//! ranges the other threads decoded in between, in log order. A spawned thread decodes into at
//! most three buffers, so at most three of its ranges wait for the caller; it frees the events
//! of a range handed back to it one by one as it decodes the next.
//!
//! With one thread, [`ParallelReplay::run`] and [`ParallelReplay::run_ref`] decode and apply
//! each event as the store lends it, with no range at all.

use std::any::Any;
use std::collections::VecDeque;
use std::num::NonZeroUsize;
use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{channel, sync_channel, Receiver, Sender, TryRecvError};

use super::decoded_chunk::{
    decode_envelopes, read_decoded_through, visit_through, BorrowedChunk, ChunkFailure, ChunkSink,
    DecodedChunk, Recycled,
};
use crate::{DecodeError, Envelope, EnvelopeRef, Event, EventStore, ReadError, StoredEventRef};

/// Stored events per range a worker reads and decodes at once. Small enough that the ranges in
/// flight stay in a core's cache: a spawned thread frees each range's events after the caller
/// applied them, and with ranges of 1024 events those frees missed the cache (see
/// `BENCHMARKS.md`).
const DEFAULT_CHUNK_EVENTS: usize = 256;
/// Decoded ranges a spawned thread may hold ahead of the caller.
const RANGES_AHEAD: usize = 3;
/// Ranges the caller claims ahead of the one it applies.
const RESERVED_AHEAD: usize = 2;

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
    /// One decoding thread per available core, the caller's included, ranges of 256 events.
    #[must_use]
    pub fn new() -> Self {
        Self {
            threads: std::thread::available_parallelism().map_or(2, NonZeroUsize::get),
            chunk_events: DEFAULT_CHUNK_EVENTS,
        }
    }

    /// How many threads read and decode (at least 1), the caller's included: `threads(2)`
    /// spawns one.
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
    /// Each envelope owns its stream id and metadata; [`run_ref`](Self::run_ref) lends them
    /// instead, which is faster when `apply` does not keep them.
    ///
    /// # Errors
    /// [`ReplayError::Read`] when the store fails; [`ReplayError::Decode`] at the first
    /// stored event that does not decode (the error names its stream and position).
    ///
    /// # Panics
    /// When decoding a stored event panicked (a panic in an upcaster), on whichever thread,
    /// the panic is propagated once every event before it was applied, unless the replay
    /// stopped at a failure before it.
    pub fn run<E, S, F>(
        &self,
        store: &S,
        from_position: u64,
        apply: F,
    ) -> Result<ReplayOutcome, ReplayError>
    where
        E: Event + Send,
        S: EventStore + ?Sized,
        F: FnMut(&Envelope<E>),
    {
        self.run_chunks::<E, S, Recycled<Envelope<E>>>(store, from_position, &mut Owned(apply))
    }

    /// [`run`](Self::run), passing each decoded event as an [`EnvelopeRef`]: its stream id
    /// and metadata (JSON text, never parsed here) are lent for the call, so no event is
    /// copied out of the store's read buffer on one thread, and only the stream ids and
    /// metadata of each range are, once, on several.
    ///
    /// # Errors
    /// As [`run`](Self::run).
    ///
    /// # Panics
    /// As [`run`](Self::run).
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
    /// for amount in 1..=10 {
    ///     store.append("acc-1", ExpectedVersion::Any, vec![NewEvent::encode(&Deposited { amount })?])?;
    /// }
    /// let mut total = 0;
    /// ParallelReplay::new().run_ref::<Deposited, _, _>(&store, 1, |envelope| {
    ///     assert_eq!((envelope.stream_id, envelope.metadata), ("acc-1", &b"{}"[..]));
    ///     total += envelope.event.amount;
    /// })?;
    /// assert_eq!(total, 55);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn run_ref<E, S, F>(
        &self,
        store: &S,
        from_position: u64,
        apply: F,
    ) -> Result<ReplayOutcome, ReplayError>
    where
        E: Event + Send,
        S: EventStore + ?Sized,
        F: FnMut(&EnvelopeRef<'_, E>),
    {
        self.run_chunks::<E, S, BorrowedChunk<E>>(store, from_position, &mut Lent(apply))
    }

    /// The replay on worker threads, each decoding ranges into an `Out`, applied here; this
    /// thread's own ranges are decoded and applied event by event, as the store lends them.
    fn run_chunks<E, S, Out>(
        &self,
        store: &S,
        from_position: u64,
        apply: &mut impl Apply<E, Out>,
    ) -> Result<ReplayOutcome, ReplayError>
    where
        E: Event + Send,
        S: EventStore + ?Sized,
        Out: ChunkSink<E> + Default + Send,
    {
        let (first, head, mut outcome) = start(store, from_position)?;
        if head < first {
            return Ok(outcome);
        }
        if self.threads == 1 {
            // No range at all: each event decoded and applied as the store lends it.
            let all = visit_through(store, first - 1, head, usize::MAX, |stored| {
                apply.stored(stored)
            });
            outcome.events = all.consumed as u64;
            outcome.through = all.through;
            fail_on(all.failure)?;
            return Ok(outcome);
        }
        let ranges = Ranges::new(first, head, self.chunk_events as u64);
        // Threads spawned beside this one: no more than there are ranges this one does not
        // claim before they start.
        let spawned = (self.threads - 1).min(
            usize::try_from(ranges.count.saturating_sub(RESERVED_AHEAD as u64))
                .unwrap_or(usize::MAX),
        );
        let decode = |range: u64, reuse: Out| {
            let (after, last) = ranges.bounds(range);
            read_decoded_through(store, after, last, self.chunk_events, reuse)
        };
        // This thread's ranges, claimed ahead of the one it applies so that the spawned threads
        // have finished the ranges between by the time it gets there.
        let mut mine: VecDeque<u64> = (0..RESERVED_AHEAD).filter_map(|_| ranges.claim()).collect();
        std::thread::scope(|scope| {
            let (handing, handed) = channel();
            let mut recycles = Vec::new();
            let mut workers = Vec::new();
            for worker in 0..spawned {
                let (recycle, applied) = sync_channel(RANGES_AHEAD);
                recycles.push(recycle);
                let handing = handing.clone();
                let (ranges, decode) = (&ranges, &decode);
                workers.push(scope.spawn(move || {
                    decode_claimed(worker, ranges, decode, &applied, &handing);
                }));
            }
            // Only the spawned threads hand ranges over: with all of them gone, nothing comes.
            drop(handing);
            let mut handover = Handover {
                handed,
                waiting: Vec::new(),
            };
            let mut stopped = None;
            let applied = (|| {
                for want in 0..ranges.count {
                    if mine.front() == Some(&want) {
                        // This thread's own range, decoded and applied event by event as the
                        // store lends it (nothing kept or handed over).
                        mine.pop_front();
                        mine.extend(ranges.claim());
                        let (after, last) = ranges.bounds(want);
                        let own = visit_through(store, after, last, self.chunk_events, |stored| {
                            apply.stored(stored)
                        });
                        outcome.events += own.consumed as u64;
                        outcome.through = own.through.max(outcome.through);
                        fail_on(own.failure)?;
                        continue;
                    }
                    let Some(Handed {
                        worker, decoded, ..
                    }) = handover.take(want)
                    else {
                        stopped = Some(Stop::Lost(want));
                        break;
                    };
                    let chunk = match decoded {
                        Ok(chunk) => chunk,
                        Err(panic) => {
                            stopped = Some(Stop::Panicked(panic));
                            break;
                        }
                    };
                    outcome.events += chunk.consumed as u64;
                    outcome.through = chunk.through.max(outcome.through);
                    apply.range(&chunk.envelopes);
                    // Back to the thread that decoded it, which never has more buffers than
                    // its channel holds; closed when that thread is done, and the events are
                    // freed here.
                    if let Some(recycle) = recycles.get(worker) {
                        let _ = recycle.try_send(chunk.envelopes);
                    }
                    fail_on(chunk.failure)?;
                }
                Ok(outcome)
            })();
            // Closed channels stop the spawned threads still running. A panic while decoding
            // (an upcaster's) goes on here with its own message, once every range before it
            // was applied; one outside decoding, from the join.
            drop((recycles, handover));
            for worker in workers {
                if let Err(panic) = worker.join() {
                    resume_unwind(panic);
                }
            }
            match stopped {
                Some(Stop::Panicked(panic)) => resume_unwind(panic),
                Some(Stop::Lost(range)) => {
                    unreachable!("range {range} of a replay was claimed but never handed over")
                }
                None => applied,
            }
        })
    }
}

/// The consecutive ranges of positions a replay cuts the log into, each claimed once, in
/// order, by whichever thread asks first: a faster thread takes more.
struct Ranges {
    first: u64,
    head: u64,
    span: u64,
    count: u64,
    unclaimed: AtomicU64,
}

impl Ranges {
    /// Ranges of `span` positions from `first` through `head` (`first <= head`, `span >= 1`).
    fn new(first: u64, head: u64, span: u64) -> Self {
        Self {
            first,
            head,
            span,
            count: (head - first) / span + 1,
            unclaimed: AtomicU64::new(0),
        }
    }

    /// The next range no thread has claimed, if any is left.
    fn claim(&self) -> Option<u64> {
        Some(self.unclaimed.fetch_add(1, Ordering::Relaxed)).filter(|r| *r < self.count)
    }

    /// The positions before and through which `range` lies.
    fn bounds(&self, range: u64) -> (u64, u64) {
        let start = self.first + range * self.span;
        (
            start - 1,
            start.saturating_add(self.span - 1).min(self.head),
        )
    }
}

/// A spawned thread's part: claims ranges and decodes them into the buffers the caller hands
/// back through `applied`, until none is left, one fails, or the caller stops.
///
/// Events are freed by the thread that allocated them (freeing them on the caller's thread
/// made the allocator's locks the bottleneck), one by one as the next range is decoded into
/// their buffer. The thread makes at most `RANGES_AHEAD` buffers, so at most that many of its
/// ranges wait for the caller; it claims a range only once it has a buffer for it, so a range
/// the caller waits for is never held up by the caller itself.
fn decode_claimed<Out: Default>(
    worker: usize,
    ranges: &Ranges,
    decode: impl Fn(u64, Out) -> DecodedChunk<Out>,
    applied: &Receiver<Out>,
    handing: &Sender<Handed<Out>>,
) {
    let mut made = 0;
    loop {
        let reuse = match applied.try_recv() {
            Ok(reuse) => reuse,
            Err(TryRecvError::Empty) if made < RANGES_AHEAD => {
                made += 1;
                Out::default()
            }
            // A closed channel means the caller stopped; so does this thread.
            Err(TryRecvError::Empty) => match applied.recv() {
                Ok(reuse) => reuse,
                Err(_) => return,
            },
            Err(TryRecvError::Disconnected) => return,
        };
        let Some(range) = ranges.claim() else { return };
        let decoded = catch_unwind(AssertUnwindSafe(|| decode(range, reuse)));
        // After a failure or a panic, the caller goes no further than this range.
        let last = decoded
            .as_ref()
            .map_or(true, |chunk| chunk.failure.is_some());
        let handed = Handed {
            range,
            worker,
            decoded,
        };
        if handing.send(handed).is_err() || last {
            return;
        }
    }
}

/// What a spawned thread hands the caller: a range it decoded, or the panic that stopped it
/// there.
struct Handed<Out> {
    range: u64,
    /// The index of the spawned thread, which takes the range's buffer back.
    worker: usize,
    decoded: Result<DecodedChunk<Out>, Panic>,
}

/// What ends a replay that is not a failure of the log.
enum Stop {
    /// A spawned thread panicked while decoding the range whose turn it was.
    Panicked(Panic),
    /// No spawned thread is left to hand this range over: a bug.
    Lost(u64),
}

/// What a panic carries (its message, usually).
type Panic = Box<dyn Any + Send>;

/// The ranges spawned threads decoded, kept by the caller until their turn.
struct Handover<Out> {
    handed: Receiver<Handed<Out>>,
    waiting: Vec<Handed<Out>>,
}

impl<Out> Handover<Out> {
    /// Range `want`, as a spawned thread handed it over, waiting for it if need be: a range
    /// the caller did not claim was claimed by a spawned thread, which hands it over (or the
    /// panic that stopped it there), so `None`, all of them gone without it, is a bug.
    fn take(&mut self, want: u64) -> Option<Handed<Out>> {
        loop {
            if let Some(i) = self.waiting.iter().position(|h| h.range == want) {
                return Some(self.waiting.swap_remove(i));
            }
            self.waiting.push(self.handed.recv().ok()?);
        }
    }
}

/// The error a range's failure stops the replay with, if it has one.
fn fail_on(failure: Option<ChunkFailure>) -> Result<(), ReplayError> {
    match failure {
        Some(ChunkFailure::Read(e)) => Err(ReplayError::Read(e)),
        Some(ChunkFailure::Decode(e)) => Err(ReplayError::Decode(e)),
        None => Ok(()),
    }
}

/// How a replay applies what was decoded: a range a spawned thread handed over, or a stored
/// event of the caller's own ranges, decoded and applied at once.
trait Apply<E, Out> {
    fn range(&mut self, range: &Out);
    fn stored(&mut self, stored: &StoredEventRef<'_>) -> Result<(), DecodeError>;
}

/// [`ParallelReplay::run`]'s function, given owned envelopes.
struct Owned<F>(F);

impl<E: Event, F: FnMut(&Envelope<E>)> Apply<E, Recycled<Envelope<E>>> for Owned<F> {
    fn range(&mut self, range: &Recycled<Envelope<E>>) {
        range.as_slice().iter().for_each(&mut self.0);
    }

    fn stored(&mut self, stored: &StoredEventRef<'_>) -> Result<(), DecodeError> {
        decode_envelopes(stored, |envelope| (self.0)(&envelope))
    }
}

/// [`ParallelReplay::run_ref`]'s function, lent envelopes.
struct Lent<F>(F);

impl<E: Event, F: FnMut(&EnvelopeRef<'_, E>)> Apply<E, BorrowedChunk<E>> for Lent<F> {
    fn range(&mut self, range: &BorrowedChunk<E>) {
        range.for_each(&mut self.0);
    }

    fn stored(&mut self, stored: &StoredEventRef<'_>) -> Result<(), DecodeError> {
        apply_lent(stored, &mut self.0)
    }
}

/// Decodes `stored` and passes each event it becomes to `apply`, lent with the stored
/// event's facts.
fn apply_lent<E: Event>(
    stored: &StoredEventRef<'_>,
    apply: &mut impl FnMut(&EnvelopeRef<'_, E>),
) -> Result<(), DecodeError> {
    let metadata = stored.metadata_text();
    for event in &E::decode_ref(stored)? {
        apply(&EnvelopeRef {
            position: stored.position,
            stream_id: stored.stream_id,
            stream_version: stored.stream_version,
            event_id: stored.event_id,
            metadata,
            recorded_at: stored.recorded_at,
            event,
        });
    }
    Ok(())
}

/// Where a replay from `from_position` begins: its first position, the store's head position
/// at the call, and the outcome of replaying nothing yet.
fn start<S: EventStore + ?Sized>(
    store: &S,
    from_position: u64,
) -> Result<(u64, u64, ReplayOutcome), ReplayError> {
    let first = from_position.max(1);
    let head = store.head_position().map_err(ReplayError::Read)?;
    let outcome = ReplayOutcome {
        through: first - 1,
        events: 0,
    };
    Ok((first, head, outcome))
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
