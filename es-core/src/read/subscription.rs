//! Subscriptions: every event of the log from a position on, history first, then live.

use std::collections::VecDeque;
use std::iter::FusedIterator;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use super::decoded_chunk::{read_decoded, ChunkFailure};
use crate::{DecodeError, Envelope, Event, EventStore, ReadError};

/// How long a waiting subscription or following projection sleeps in
/// [`EventStore::wait_for_append`] before it looks at its [`StopHandle`] again: the longest a
/// stop request waits to be noticed. Appends wake it at once regardless.
pub const DEFAULT_STOP_CHECK_INTERVAL: Duration = Duration::from_millis(100);

/// How many stored events a subscription reads from the store at a time.
const READ_CHUNK: usize = 256;

/// Asks a running [`Subscription`] or following
/// [`ProjectionRunner`](crate::ProjectionRunner) to stop, from any thread. Clones share one
/// flag.
///
/// # Examples
/// ```
/// use es_core::StopHandle;
///
/// let stop = StopHandle::new();
/// let remote = stop.clone();
/// std::thread::spawn(move || remote.stop()).join().unwrap();
/// assert!(stop.is_stopped());
/// ```
#[derive(Debug, Clone, Default)]
pub struct StopHandle(Arc<AtomicBool>);

impl StopHandle {
    /// A handle that has not asked to stop.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Asks whatever this handle was given to to stop. It stops within its stop-check
    /// interval, without losing an event: it resumes from its position when started again.
    pub fn stop(&self) {
        self.0.store(true, Ordering::SeqCst);
    }

    /// Whether [`stop`](Self::stop) was called.
    #[must_use]
    pub fn is_stopped(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }
}

/// What a [`Subscription`] delivers.
#[derive(Debug, Clone, PartialEq)]
pub enum SubscriptionItem<E> {
    /// The next event of the log, decoded into today's types.
    Event(Envelope<E>),
    /// Every event stored when the subscription reached the end of the log has been
    /// delivered; what follows is live. Sent once, when the history is exhausted the first
    /// time.
    CaughtUp {
        /// The position of the last stored event delivered before this signal.
        position: u64,
    },
}

/// Why a [`Subscription`] ended. It delivers every event before the failing one first.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SubscriptionError {
    /// Reading the log failed.
    #[error("the subscription could not read the log")]
    Read(#[source] ReadError),
    /// A stored event does not decode; the subscription stops there, skipping nothing.
    #[error("the subscription stopped at position {}: the event does not decode", .0.position)]
    Decode(#[source] DecodeError),
}

impl From<ChunkFailure> for SubscriptionError {
    fn from(failure: ChunkFailure) -> Self {
        match failure {
            ChunkFailure::Read(e) => SubscriptionError::Read(e),
            ChunkFailure::Decode(e) => SubscriptionError::Decode(e),
        }
    }
}

/// Every event of a store after a position, decoded through [`Event::decode`]: first the
/// history, then [`SubscriptionItem::CaughtUp`], then each new event as it is appended.
///
/// An iterator, run on the consumer's thread at the consumer's pace. While there is nothing
/// new it blocks in [`EventStore::wait_for_append`], so the store wakes it when an event
/// arrives. It ends (returns `None`) at the first call to `next` after its [`StopHandle`] is
/// stopped, delivering nothing more, not even events it has already read ahead; dropping it
/// also ends it. After an `Err` item it ends too: a decode error is never skipped. To resume
/// later, remember [`position`](Self::position) (or the position of the last envelope
/// handled) and start again with [`Subscription::from_position`] one past it.
///
/// Give it the store by reference or [`Arc`] (both are [`EventStore`]s) to use it beside
/// other readers.
///
/// # Examples
/// ```
/// use es_core::{Event, EventStore, ExpectedVersion, MemoryStore, NewEvent, Subscription, SubscriptionItem};
/// # use schemars::JsonSchema;
/// # use serde::{Deserialize, Serialize};
/// #[derive(Debug, PartialEq, Serialize, Deserialize, JsonSchema, Event)]
/// struct Pinged { n: u32 }
///
/// let store = MemoryStore::new();
/// store.append("s", ExpectedVersion::Any, vec![NewEvent::encode(&Pinged { n: 1 })?])?;
///
/// let mut subscription = Subscription::<Pinged, _>::from_start(&store);
/// let Some(Ok(SubscriptionItem::Event(first))) = subscription.next() else { panic!() };
/// assert_eq!(first.event, Pinged { n: 1 });
/// assert_eq!(subscription.next().transpose()?, Some(SubscriptionItem::CaughtUp { position: 1 }));
///
/// // Live: the next call returns as soon as this append wakes it.
/// std::thread::scope(|scope| -> Result<(), Box<dyn std::error::Error>> {
///     scope.spawn(|| store.append("s", ExpectedVersion::Any, vec![NewEvent::encode(&Pinged { n: 2 }).unwrap()]));
///     let Some(Ok(SubscriptionItem::Event(live))) = subscription.next() else { panic!() };
///     assert_eq!((live.position, live.event.n), (2, 2));
///     Ok(())
/// })?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct Subscription<E, S> {
    store: S,
    /// Position of the last stored event read into `buffer`.
    read_through: u64,
    buffer: VecDeque<Envelope<E>>,
    /// A failure met while reading, delivered once the events read before it are.
    pending_failure: Option<SubscriptionError>,
    caught_up: bool,
    ended: bool,
    stop: StopHandle,
    stop_check_interval: Duration,
}

impl<E: Event, S: EventStore> Subscription<E, S> {
    /// A subscription to every event of `store`, from the first.
    pub fn from_start(store: S) -> Self {
        Self::from_position(store, 1)
    }

    /// A subscription to the events of `store` from global position `from` on, the event at
    /// `from` included, as [`EventStore::read_all`] counts. To resume after a checkpoint (the
    /// position of the last event handled), pass the checkpoint plus one.
    pub fn from_position(store: S, from: u64) -> Self {
        Self {
            store,
            read_through: from.saturating_sub(1),
            buffer: VecDeque::new(),
            pending_failure: None,
            caught_up: false,
            ended: false,
            stop: StopHandle::new(),
            stop_check_interval: DEFAULT_STOP_CHECK_INTERVAL,
        }
    }

    /// A subscription to the events after `position`, the event at `position` excluded.
    #[deprecated(
        note = "use `Subscription::from_position(store, position + 1)`: start \
                         positions are inclusive everywhere"
    )]
    pub fn after(store: S, position: u64) -> Self {
        Self::from_position(store, position.saturating_add(1))
    }

    /// Sets how long a wait for new events lasts before the [`StopHandle`] is checked again
    /// (default [`DEFAULT_STOP_CHECK_INTERVAL`]). Appends wake the subscription at once
    /// regardless; this bounds only how late a stop is noticed.
    #[must_use]
    pub fn with_stop_check_interval(mut self, interval: Duration) -> Self {
        self.stop_check_interval = interval;
        self
    }

    /// Uses `stop` (for example one shared with other subscriptions) instead of the
    /// subscription's own handle.
    #[must_use]
    pub fn with_stop_handle(mut self, stop: StopHandle) -> Self {
        self.stop = stop;
        self
    }

    /// A handle that stops this subscription from another thread.
    #[must_use]
    pub fn stop_handle(&self) -> StopHandle {
        self.stop.clone()
    }

    /// The checkpoint to resume from: the position of the last stored event whose events have
    /// all been delivered. Resuming with [`Subscription::from_position`] one past this
    /// position loses nothing, also after a stop that left events read ahead undelivered (a
    /// stored event an upcaster split into several, stopped half-delivered, is delivered
    /// whole again).
    #[must_use]
    pub fn position(&self) -> u64 {
        self.buffer
            .front()
            .map_or(self.read_through, |next| next.position.saturating_sub(1))
    }

    /// Reads the next chunk of history into the buffer; returns how many stored events it
    /// consumed.
    fn fill(&mut self) -> usize {
        let chunk = read_decoded::<E, S>(&self.store, self.read_through, READ_CHUNK);
        self.buffer.extend(chunk.envelopes);
        self.read_through = chunk.through;
        self.pending_failure = chunk.failure.map(SubscriptionError::from);
        chunk.consumed
    }
}

impl<E: Event, S: EventStore> Iterator for Subscription<E, S> {
    type Item = Result<SubscriptionItem<E>, SubscriptionError>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if self.ended {
                return None;
            }
            // Checked before the buffer: events read ahead are not delivered after a stop.
            // They stay counted out of `position`, so a resumed subscription delivers them.
            if self.stop.is_stopped() {
                self.ended = true;
                return None;
            }
            if let Some(envelope) = self.buffer.pop_front() {
                return Some(Ok(SubscriptionItem::Event(envelope)));
            }
            if let Some(failure) = self.pending_failure.take() {
                self.ended = true;
                return Some(Err(failure));
            }
            if self.fill() > 0 || self.pending_failure.is_some() {
                continue;
            }
            if !self.caught_up {
                self.caught_up = true;
                return Some(Ok(SubscriptionItem::CaughtUp {
                    position: self.read_through,
                }));
            }
            if let Err(e) = self
                .store
                .wait_for_append(self.read_through, self.stop_check_interval)
            {
                self.ended = true;
                return Some(Err(SubscriptionError::Read(e)));
            }
        }
    }
}

impl<E: Event, S: EventStore> FusedIterator for Subscription<E, S> {}
