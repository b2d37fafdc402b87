//! The [`EventStore`] trait: streams of events with expected versions.

use std::fmt;
use std::ops::ControlFlow;
use std::sync::Arc;
use std::time::Duration;

use super::backend::{poll_for_append, visit_each, EventIter, APPEND_POLL_INTERVAL};
use crate::{AppendError, NewEvent, ReadError, StoredEventRef};

/// What the caller believes about a stream before appending to it: optimistic concurrency.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ExpectedVersion {
    /// Append whatever the stream's state.
    Any,
    /// The stream must not exist yet (it has no events).
    NoStream,
    /// The stream must exist (it has at least one event).
    StreamExists,
    /// The stream's last version must be exactly this (`Exact(0)` means it has no events).
    Exact(u64),
}

impl ExpectedVersion {
    /// Whether a stream whose last version is `actual` (0: no stream) meets this expectation.
    #[must_use]
    pub fn is_met_by(self, actual: u64) -> bool {
        match self {
            ExpectedVersion::Any => true,
            ExpectedVersion::NoStream => actual == 0,
            ExpectedVersion::StreamExists => actual > 0,
            ExpectedVersion::Exact(n) => actual == n,
        }
    }
}

impl fmt::Display for ExpectedVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ExpectedVersion::Any => f.write_str("any version"),
            ExpectedVersion::NoStream => f.write_str("no stream"),
            ExpectedVersion::StreamExists => f.write_str("an existing stream"),
            ExpectedVersion::Exact(n) => write!(f, "version {n}"),
        }
    }
}

/// Where a successful append put its events.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct AppendOutcome {
    /// The stream's version after the batch: pass it as `Exact` to append after it.
    pub stream_version: u64,
    /// Global position of the batch's first event.
    pub first_position: u64,
    /// Global position of the batch's last event.
    pub last_position: u64,
    /// True when every event of the batch was already stored at these versions (an idempotent
    /// retry): nothing was written.
    pub already_stored: bool,
}

impl AppendOutcome {
    /// An outcome; for store implementations.
    #[must_use]
    pub fn new(
        stream_version: u64,
        first_position: u64,
        last_position: u64,
        already_stored: bool,
    ) -> Self {
        Self {
            stream_version,
            first_position,
            last_position,
            already_stored,
        }
    }
}

/// An append-only log of events in streams, with per-stream optimistic concurrency.
///
/// Implemented by [`MemoryStore`](crate::MemoryStore), the file store and the PostgreSQL
/// store; all pass the same conformance suite. Stores are `Send + Sync`; share them by
/// reference or [`Arc`].
///
/// # Examples
/// ```
/// use es_core::{AppendError, EventStore, ExpectedVersion, MemoryStore, NewEvent};
/// use serde_json::json;
///
/// let store = MemoryStore::new();
/// let claim = || vec![NewEvent::new("UsernameClaimed", 1, json!({ "user": "u-1" }))];
/// store.append("username-ada", ExpectedVersion::NoStream, claim())?;
/// let second = store.append("username-ada", ExpectedVersion::NoStream, claim());
/// assert!(matches!(second, Err(AppendError::Conflict { expected: ExpectedVersion::NoStream, actual: 1 })));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub trait EventStore: Send + Sync {
    /// Appends a batch to a stream, atomically: all events or none.
    ///
    /// # Errors
    /// [`AppendError::Conflict`] when the stream does not meet `expected` (nothing is written);
    /// [`AppendError::DuplicateEventId`] when an id is stored elsewhere; the validation errors
    /// of [`validate_batch`](crate::store::backend::validate_batch); storage failures.
    fn append(
        &self,
        stream_id: &str,
        expected: ExpectedVersion,
        events: Vec<NewEvent>,
    ) -> Result<AppendOutcome, AppendError>;

    /// The events of one stream from `from_version` on (versions count from 1), in order.
    ///
    /// # Errors
    /// When the storage fails; damage met while iterating is an `Err` item.
    fn read_stream(&self, stream_id: &str, from_version: u64) -> Result<EventIter<'_>, ReadError>;

    /// Every event of the store from global position `from_position` on, in order.
    ///
    /// # Errors
    /// When the storage fails; damage met while iterating is an `Err` item.
    fn read_all(&self, from_position: u64) -> Result<EventIter<'_>, ReadError>;

    /// Passes every event from global position `from_position` on to `visit`, in order, until
    /// `visit` breaks or the log ends: the borrowed form of [`read_all`](Self::read_all) that
    /// replays use. Each event is borrowed from the store's read buffer for the call only.
    ///
    /// The default implementation visits the owned events of `read_all`; a store that can
    /// lend its buffer overrides it ([`FileStore`](crate::FileStore) does).
    ///
    /// # Errors
    /// When the storage fails or an event is damaged; the events before it were visited.
    ///
    /// # Examples
    /// ```
    /// use std::ops::ControlFlow;
    /// use es_core::{EventStore, ExpectedVersion, MemoryStore, NewEvent};
    /// use serde_json::json;
    ///
    /// let store = MemoryStore::new();
    /// let opened = || NewEvent::new("Opened", 1, json!({}));
    /// store.append("acc-1", ExpectedVersion::Any, vec![opened(), opened(), opened()])?;
    /// let mut positions = Vec::new();
    /// store.visit_all(2, &mut |event| {
    ///     positions.push(event.position);
    ///     ControlFlow::Continue(())
    /// })?;
    /// assert_eq!(positions, [2, 3]);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    fn visit_all(
        &self,
        from_position: u64,
        visit: &mut dyn FnMut(&StoredEventRef<'_>) -> ControlFlow<()>,
    ) -> Result<(), ReadError> {
        visit_each(self.read_all(from_position)?, visit)
    }

    /// [`visit_all`](Self::visit_all), from `from_position` through `through_position` only:
    /// what a replay that reads the log in ranges asks for. Knowing where the range ends, a
    /// store reads no further ahead than its last event ([`FileStore`](crate::FileStore)
    /// does); the default visits through [`visit_all`](Self::visit_all) and stops after it.
    ///
    /// # Errors
    /// As [`visit_all`](Self::visit_all).
    ///
    /// # Examples
    /// ```
    /// use std::ops::ControlFlow;
    /// use es_core::{EventStore, ExpectedVersion, MemoryStore, NewEvent};
    /// use serde_json::json;
    ///
    /// let store = MemoryStore::new();
    /// let opened = || NewEvent::new("Opened", 1, json!({}));
    /// store.append("acc-1", ExpectedVersion::Any, vec![opened(), opened(), opened(), opened()])?;
    /// let mut positions = Vec::new();
    /// store.visit_range(2, 3, &mut |event| {
    ///     positions.push(event.position);
    ///     ControlFlow::Continue(())
    /// })?;
    /// assert_eq!(positions, [2, 3]);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    fn visit_range(
        &self,
        from_position: u64,
        through_position: u64,
        visit: &mut dyn FnMut(&StoredEventRef<'_>) -> ControlFlow<()>,
    ) -> Result<(), ReadError> {
        if through_position < from_position {
            return Ok(());
        }
        self.visit_all(from_position, &mut |event| {
            if event.position > through_position {
                return ControlFlow::Break(());
            }
            let flow = visit(event);
            if event.position >= through_position {
                return ControlFlow::Break(());
            }
            flow
        })
    }

    /// Passes the events of one stream from `from_version` on to `visit`, in order: the
    /// borrowed form of [`read_stream`](Self::read_stream), as [`visit_all`](Self::visit_all)
    /// is of `read_all`.
    ///
    /// # Errors
    /// When the storage fails or an event is damaged; the events before it were visited.
    fn visit_stream(
        &self,
        stream_id: &str,
        from_version: u64,
        visit: &mut dyn FnMut(&StoredEventRef<'_>) -> ControlFlow<()>,
    ) -> Result<(), ReadError> {
        visit_each(self.read_stream(stream_id, from_version)?, visit)
    }

    /// The stream's last version, 0 when it has no events.
    ///
    /// # Errors
    /// When the storage fails.
    fn stream_version(&self, stream_id: &str) -> Result<u64, ReadError>;

    /// The position of the last event in the store, 0 when it is empty.
    ///
    /// # Errors
    /// When the storage fails.
    fn head_position(&self) -> Result<u64, ReadError>;

    /// Blocks until the store holds an event beyond `after_position`, or until `timeout` ends,
    /// and returns the head position then; returns at once when such an event already exists.
    /// The caller compares the result with `after_position` to tell an append from a timeout.
    ///
    /// Subscriptions and following projections wait here instead of polling. The default
    /// implementation is a fallback for backends that cannot notify: it polls
    /// [`head_position`](Self::head_position) every [`APPEND_POLL_INTERVAL`] (sleeping in
    /// between, so it costs little CPU but may notice an append that much late). Stores that
    /// can do better override it: [`MemoryStore`](crate::MemoryStore) and
    /// [`FileStore`](crate::FileStore) wake waiters from `append` through an
    /// [`AppendSignal`](crate::store::backend::AppendSignal).
    ///
    /// # Errors
    /// When the storage fails.
    fn wait_for_append(&self, after_position: u64, timeout: Duration) -> Result<u64, ReadError> {
        poll_for_append(after_position, timeout, APPEND_POLL_INTERVAL, || {
            self.head_position()
        })
    }
}

macro_rules! forward_event_store {
    ($($ptr:ty),*) => {$(
        impl<S: EventStore + ?Sized> EventStore for $ptr {
            fn append(
                &self,
                stream_id: &str,
                expected: ExpectedVersion,
                events: Vec<NewEvent>,
            ) -> Result<AppendOutcome, AppendError> {
                (**self).append(stream_id, expected, events)
            }
            fn read_stream(&self, stream_id: &str, from_version: u64) -> Result<EventIter<'_>, ReadError> {
                (**self).read_stream(stream_id, from_version)
            }
            fn read_all(&self, from_position: u64) -> Result<EventIter<'_>, ReadError> {
                (**self).read_all(from_position)
            }
            fn visit_all(
                &self,
                from_position: u64,
                visit: &mut dyn FnMut(&StoredEventRef<'_>) -> ControlFlow<()>,
            ) -> Result<(), ReadError> {
                (**self).visit_all(from_position, visit)
            }
            fn visit_range(
                &self,
                from_position: u64,
                through_position: u64,
                visit: &mut dyn FnMut(&StoredEventRef<'_>) -> ControlFlow<()>,
            ) -> Result<(), ReadError> {
                (**self).visit_range(from_position, through_position, visit)
            }
            fn visit_stream(
                &self,
                stream_id: &str,
                from_version: u64,
                visit: &mut dyn FnMut(&StoredEventRef<'_>) -> ControlFlow<()>,
            ) -> Result<(), ReadError> {
                (**self).visit_stream(stream_id, from_version, visit)
            }
            fn stream_version(&self, stream_id: &str) -> Result<u64, ReadError> {
                (**self).stream_version(stream_id)
            }
            fn head_position(&self) -> Result<u64, ReadError> {
                (**self).head_position()
            }
            fn wait_for_append(&self, after_position: u64, timeout: Duration) -> Result<u64, ReadError> {
                (**self).wait_for_append(after_position, timeout)
            }
        }
    )*};
}

forward_event_store!(&S, Arc<S>, Box<S>);
