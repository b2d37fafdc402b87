//! Aggregates and the [`Repository`] that loads them from, and saves them to, an event store.

use std::fmt;
use std::marker::PhantomData;
use std::ops::ControlFlow;

use schemars::JsonSchema;
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::{Map, Value};
use uuid::Uuid;

use super::snapshot_policy::{load_snapshot, save_snapshot, SnapshotPolicy};
use crate::SnapshotStore;
use crate::{
    AppendError, DecodeError, EncodeError, Event, EventStore, ExpectedVersion, NewEvent, ReadError,
    StoredEvent, StoredEventRef,
};

/// A consistency boundary rebuilt from its events.
///
/// `handle` decides: it checks a command against the current state and returns the events that
/// record what happened, or an error. `apply` evolves: it folds one event into the state and
/// holds no business logic, because it also replays events decided long ago.
pub trait Aggregate: Default {
    /// The domain's event enum.
    type Event: Event;
    /// What callers ask the aggregate to do.
    type Command;
    /// Why a command is refused.
    type Error;

    /// Decides what happens: the events a command produces, or why it is refused.
    ///
    /// # Errors
    /// The domain's reason to refuse the command.
    fn handle(&self, command: Self::Command) -> Result<Vec<Self::Event>, Self::Error>;

    /// Folds one event into the state.
    fn apply(&mut self, event: &Self::Event);
}

/// An aggregate's state and the stream version it reflects (0: no events yet).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct Loaded<A> {
    /// The rebuilt state.
    pub state: A,
    /// The version of the last event applied.
    pub version: u64,
}

/// What [`Repository::execute`] appended.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Executed<A: Aggregate> {
    /// The state after the new events.
    pub state: A,
    /// The stream version after the new events.
    pub version: u64,
    /// The events the command produced, as appended.
    pub events: Vec<A::Event>,
    /// True when the command had been executed already: its idempotency key's events were
    /// in the stream (see [`CommandOptions::idempotency_key`](crate::CommandOptions)). Nothing
    /// was appended; `events` is empty, `state` and `version` are the stream's current ones.
    pub replayed: bool,
}

/// Why an aggregate could not be loaded.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LoadError {
    /// Reading the stream failed.
    #[error("could not read the stream")]
    Read(#[from] ReadError),
    /// A stored event did not decode.
    #[error(transparent)]
    Decode(#[from] DecodeError),
}

/// Why [`Repository::execute`] appended nothing.
#[derive(Debug)]
#[non_exhaustive]
pub enum ExecuteError<E> {
    /// The aggregate refused the command.
    Rejected(E),
    /// Another writer appended to the stream after it was loaded; load again and retry.
    Conflict {
        /// The version the command was decided on.
        expected: ExpectedVersion,
        /// The stream's version at append time.
        actual: u64,
    },
    /// The aggregate could not be loaded.
    Load(LoadError),
    /// A new event could not be encoded.
    Encode(EncodeError),
    /// The append failed for a reason other than a conflict.
    Append(AppendError),
}

impl<E> ExecuteError<E> {
    /// Whether the command lost a race with another writer and may succeed when retried.
    #[must_use]
    pub fn is_conflict(&self) -> bool {
        matches!(self, ExecuteError::Conflict { .. })
    }
}

impl<E: fmt::Display> fmt::Display for ExecuteError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ExecuteError::Rejected(e) => write!(f, "command rejected: {e}"),
            ExecuteError::Conflict { expected, actual } => write!(
                f,
                "concurrent write: decided at {expected}, but the stream is at version {actual}"
            ),
            ExecuteError::Load(_) => f.write_str("could not load the aggregate"),
            ExecuteError::Encode(_) => f.write_str("could not encode a new event"),
            ExecuteError::Append(_) => f.write_str("could not append the new events"),
        }
    }
}

impl<E: fmt::Debug + fmt::Display> std::error::Error for ExecuteError<E> {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            ExecuteError::Load(e) => Some(e),
            ExecuteError::Encode(e) => Some(e),
            ExecuteError::Append(e) => Some(e),
            ExecuteError::Rejected(_) | ExecuteError::Conflict { .. } => None,
        }
    }
}

/// Loads aggregates from an event store and appends the events their commands produce.
///
/// # Examples
/// ```
/// use es_core::{Aggregate, Event, MemoryStore, Repository};
/// use schemars::JsonSchema;
/// use serde::{Deserialize, Serialize};
///
/// #[derive(Debug, Serialize, Deserialize, JsonSchema, Event)]
/// #[event(name = "Incremented", version = 1)]
/// struct Incremented { by: u32 }
///
/// #[derive(Default)]
/// struct Counter { value: u32 }
///
/// impl Aggregate for Counter {
///     type Event = Incremented;
///     type Command = u32;
///     type Error = &'static str;
///     fn handle(&self, by: u32) -> Result<Vec<Incremented>, Self::Error> {
///         if by == 0 { Err("nothing to add") } else { Ok(vec![Incremented { by }]) }
///     }
///     fn apply(&mut self, event: &Incremented) { self.value += event.by; }
/// }
///
/// let repo = Repository::<Counter, _>::new(MemoryStore::new());
/// repo.execute("c-1", 2)?;
/// repo.execute("c-1", 3)?;
/// let loaded = repo.load("c-1")?;
/// assert_eq!((loaded.state.value, loaded.version), (5, 2));
/// assert_eq!(repo.load_at("c-1", 1)?.state.value, 2);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct Repository<A, S> {
    store: S,
    snapshots: Option<SnapshotPolicy<A, S>>,
    aggregate: PhantomData<fn() -> A>,
}

impl<A, S: fmt::Debug> fmt::Debug for Repository<A, S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Repository")
            .field("store", &self.store)
            .field("snapshot_every", &self.snapshots.as_ref().map(|p| p.every))
            .finish_non_exhaustive()
    }
}

impl<A, S> Repository<A, S>
where
    A: Aggregate + Serialize + DeserializeOwned + JsonSchema,
    S: EventStore + SnapshotStore,
{
    /// Keeps a snapshot of each aggregate's state in the store, saved whenever a load or an
    /// executed command takes the stream across a multiple of `every` versions (`every` of 0
    /// counts as 1).
    ///
    /// A load then starts from the stream's snapshot and reads only the events after it.
    /// Snapshots are a cache: one taken of another state schema (its
    /// [`fingerprint`](crate::schema::fingerprint_of) differs), or one that cannot be read,
    /// is ignored, reported through `tracing`, and replaced by the next save.
    ///
    /// # Examples
    /// ```
    /// use es_core::{Aggregate, Event, MemoryStore, Repository, SnapshotStore};
    /// use schemars::JsonSchema;
    /// use serde::{Deserialize, Serialize};
    ///
    /// #[derive(Debug, Serialize, Deserialize, JsonSchema, Event)]
    /// struct Incremented { by: u32 }
    ///
    /// #[derive(Default, Serialize, Deserialize, JsonSchema)]
    /// struct Counter { value: u32 }
    ///
    /// impl Aggregate for Counter {
    ///     type Event = Incremented;
    ///     type Command = u32;
    ///     type Error = std::convert::Infallible;
    ///     fn handle(&self, by: u32) -> Result<Vec<Incremented>, Self::Error> {
    ///         Ok(vec![Incremented { by }])
    ///     }
    ///     fn apply(&mut self, event: &Incremented) { self.value += event.by; }
    /// }
    ///
    /// let repo = Repository::<Counter, _>::new(MemoryStore::new()).snapshot_every(2);
    /// for _ in 0..5 {
    ///     repo.execute("c-1", 1)?;
    /// }
    /// let snapshot = repo.store().load_snapshot("c-1")?.expect("saved at version 4");
    /// assert_eq!(snapshot.stream_version, 4);
    /// assert_eq!(repo.load("c-1")?.state.value, 5);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[must_use]
    pub fn snapshot_every(mut self, every: u64) -> Self {
        self.snapshots = Some(SnapshotPolicy {
            every: every.max(1),
            fingerprint: crate::schema::fingerprint_of::<A>(),
            load: load_snapshot::<A, S>,
            save: save_snapshot::<A, S>,
        });
        self
    }
}

impl<A: Aggregate, S: EventStore> Repository<A, S> {
    /// A repository over `store`.
    pub fn new(store: S) -> Self {
        Self {
            store,
            snapshots: None,
            aggregate: PhantomData,
        }
    }

    /// The underlying store.
    pub fn store(&self) -> &S {
        &self.store
    }

    /// The aggregate's current state: every event of the stream, upcast and applied.
    ///
    /// # Errors
    /// [`LoadError`] when the stream cannot be read or an event does not decode.
    pub fn load(&self, stream_id: &str) -> Result<Loaded<A>, LoadError> {
        Ok(self.load_watching(stream_id, None)?.0)
    }

    /// [`load`](Self::load), telling whether an event with id `watch` was among the events
    /// read (those after the snapshot the load started from).
    pub(super) fn load_watching(
        &self,
        stream_id: &str,
        watch: Option<Uuid>,
    ) -> Result<(Loaded<A>, bool), LoadError> {
        let (loaded, start, seen) = self.load_until(stream_id, u64::MAX, watch)?;
        self.save_snapshot_if_crossed(stream_id, start, &loaded);
        Ok((loaded, seen))
    }

    /// Whether the stream holds an event with this id, reading it from the start.
    pub(super) fn stream_holds(&self, stream_id: &str, event_id: Uuid) -> Result<bool, ReadError> {
        for stored in self.store.read_stream(stream_id, 1)? {
            if stored?.event_id == event_id {
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// Whether loads start from snapshots, which may hide the events before them.
    pub(super) fn keeps_snapshots(&self) -> bool {
        self.snapshots.is_some()
    }

    /// Time travel: the state after stream version `version` (or the current state, if the
    /// stream is shorter). The returned `version` is the last version applied.
    ///
    /// # Errors
    /// [`LoadError`] when the stream cannot be read or an event does not decode.
    pub fn load_at(&self, stream_id: &str, version: u64) -> Result<Loaded<A>, LoadError> {
        Ok(self.load_until(stream_id, version, None)?.0)
    }

    /// The state after version `until`, the version it started from (a snapshot's, or 0), and
    /// whether an event with id `watch` was among the events read.
    fn load_until(
        &self,
        stream_id: &str,
        until: u64,
        watch: Option<Uuid>,
    ) -> Result<(Loaded<A>, u64, bool), LoadError> {
        let mut loaded = self.usable_snapshot(stream_id, until)?.unwrap_or(Loaded {
            state: A::default(),
            version: 0,
        });
        let start = loaded.version;
        let mut seen = false;
        if start >= until {
            return Ok((loaded, start, seen));
        }
        // Each event decoded where the store lends it.
        let mut failure = None;
        self.store
            .visit_stream(stream_id, start + 1, &mut |stored| {
                if stored.stream_version > until {
                    return ControlFlow::Break(());
                }
                seen |= watch == Some(stored.event_id);
                if let Err(e) = apply_stored_ref(&mut loaded, stored) {
                    failure = Some(e);
                    return ControlFlow::Break(());
                }
                if loaded.version >= until {
                    ControlFlow::Break(())
                } else {
                    ControlFlow::Continue(())
                }
            })?;
        if let Some(e) = failure {
            return Err(e.into());
        }
        Ok((loaded, start, seen))
    }

    /// The stream's snapshot, if the repository keeps snapshots and the snapshot is not newer
    /// than `until` (time travel never starts from the future) nor than the stream itself.
    fn usable_snapshot(&self, stream_id: &str, until: u64) -> Result<Option<Loaded<A>>, LoadError> {
        let Some(policy) = &self.snapshots else {
            return Ok(None);
        };
        let Some(snapshot) = (policy.load)(&self.store, stream_id, &policy.fingerprint) else {
            return Ok(None);
        };
        if snapshot.version > until {
            return Ok(None);
        }
        let stream_version = self.store.stream_version(stream_id)?;
        if snapshot.version > stream_version {
            tracing::warn!(
                stream_id,
                snapshot_version = snapshot.version,
                stream_version,
                "ignoring a snapshot newer than its stream; replaying the stream's events"
            );
            return Ok(None);
        }
        Ok(Some(snapshot))
    }

    /// Saves a snapshot when the state went from version `from` across a multiple of the
    /// snapshot interval.
    fn save_snapshot_if_crossed(&self, stream_id: &str, from: u64, loaded: &Loaded<A>) {
        if let Some(policy) = &self.snapshots {
            if policy.crosses(from, loaded.version) {
                (policy.save)(&self.store, stream_id, &policy.fingerprint, loaded);
            }
        }
    }

    /// Loads the aggregate, lets it handle `command`, and appends the events at the loaded
    /// version, so a concurrent writer makes this fail with [`ExecuteError::Conflict`] rather
    /// than decide on stale state. A command producing no events appends nothing.
    ///
    /// # Errors
    /// [`ExecuteError::Rejected`] when the aggregate refuses, [`ExecuteError::Conflict`] when
    /// another writer came first (see [`ExecuteError::is_conflict`]), or the load, encode or
    /// append failure.
    pub fn execute(
        &self,
        stream_id: &str,
        command: A::Command,
    ) -> Result<Executed<A>, ExecuteError<A::Error>> {
        self.execute_with_metadata(stream_id, command, &Map::new())
    }

    /// [`execute`](Self::execute), writing `metadata` with every event the command produces:
    /// typically the correlation and causation ids of the request that sent the command
    /// ([`metadata::CORRELATION_ID`](crate::metadata::CORRELATION_ID),
    /// [`metadata::CAUSATION_ID`](crate::metadata::CAUSATION_ID)), so the audit trail of
    /// [`history`](Self::history) can follow it.
    ///
    /// # Errors
    /// As [`execute`](Self::execute).
    ///
    /// # Examples
    /// ```
    /// # use es_core::{Aggregate, Event, MemoryStore, Repository};
    /// # use schemars::JsonSchema;
    /// # use serde::{Deserialize, Serialize};
    /// use es_core::metadata::CORRELATION_ID;
    /// use serde_json::{json, Map};
    /// # #[derive(Debug, Serialize, Deserialize, JsonSchema, Event)]
    /// # struct Pinged {}
    /// # #[derive(Default)]
    /// # struct Pinger;
    /// # impl Aggregate for Pinger {
    /// #     type Event = Pinged;
    /// #     type Command = ();
    /// #     type Error = std::convert::Infallible;
    /// #     fn handle(&self, (): ()) -> Result<Vec<Pinged>, Self::Error> { Ok(vec![Pinged {}]) }
    /// #     fn apply(&mut self, _: &Pinged) {}
    /// # }
    /// let repo = Repository::<Pinger, _>::new(MemoryStore::new());
    /// let mut metadata = Map::new();
    /// metadata.insert(CORRELATION_ID.to_owned(), json!("request-42"));
    /// repo.execute_with_metadata("p-1", (), &metadata)?;
    /// assert_eq!(repo.history("p-1")?[0].correlation_id(), Some("request-42"));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn execute_with_metadata(
        &self,
        stream_id: &str,
        command: A::Command,
        metadata: &Map<String, Value>,
    ) -> Result<Executed<A>, ExecuteError<A::Error>> {
        let loaded = self.load(stream_id).map_err(ExecuteError::Load)?;
        self.decide_and_append(stream_id, loaded, command, metadata, |_| None)
    }

    /// Lets the loaded aggregate handle `command` and appends its events at the loaded
    /// version, with `metadata` and, where `event_id` gives one, a chosen id.
    pub(super) fn decide_and_append(
        &self,
        stream_id: &str,
        loaded: Loaded<A>,
        command: A::Command,
        metadata: &Map<String, Value>,
        event_id: impl Fn(usize) -> Option<Uuid>,
    ) -> Result<Executed<A>, ExecuteError<A::Error>> {
        let Loaded { mut state, version } = loaded;
        let events = state.handle(command).map_err(ExecuteError::Rejected)?;
        if events.is_empty() {
            return Ok(Executed {
                state,
                version,
                events,
                replayed: false,
            });
        }
        let new_events = events
            .iter()
            .enumerate()
            .map(|(index, event)| {
                let new = NewEvent::encode(event)?.with_metadata_map(metadata.clone());
                Ok(match event_id(index) {
                    Some(id) => new.with_event_id(id),
                    None => new,
                })
            })
            .collect::<Result<Vec<_>, _>>()
            .map_err(ExecuteError::Encode)?;
        let outcome = self
            .store
            .append(stream_id, ExpectedVersion::Exact(version), new_events)
            .map_err(|e| match e {
                AppendError::Conflict { expected, actual } => {
                    ExecuteError::Conflict { expected, actual }
                }
                other => ExecuteError::Append(other),
            })?;
        for event in &events {
            state.apply(event);
        }
        let executed = Loaded {
            state,
            version: outcome.stream_version,
        };
        self.save_snapshot_if_crossed(stream_id, version, &executed);
        // Already stored: these very events (same ids) were appended at these versions by an
        // earlier attempt of the same command, which the state now includes once.
        let replayed = outcome.already_stored;
        Ok(Executed {
            state: executed.state,
            version: executed.version,
            events: if replayed { Vec::new() } else { events },
            replayed,
        })
    }
}

/// Decodes one stored event through the decode point and applies what it becomes.
pub(crate) fn apply_stored<A: Aggregate>(
    loaded: &mut Loaded<A>,
    stored: &StoredEvent,
) -> Result<(), DecodeError> {
    apply_stored_ref(loaded, &StoredEventRef::from(stored))
}

/// [`apply_stored`] for an event borrowed from a store's read buffer.
pub(crate) fn apply_stored_ref<A: Aggregate>(
    loaded: &mut Loaded<A>,
    stored: &StoredEventRef<'_>,
) -> Result<(), DecodeError> {
    for event in &A::Event::decode_ref(stored)? {
        loaded.state.apply(event);
    }
    loaded.version = stored.stream_version;
    Ok(())
}
