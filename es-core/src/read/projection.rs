//! Projections: read models fed from the log, and the errors and status of the
//! [`ProjectionRunner`](crate::ProjectionRunner) that drives them.

use std::fmt;

use crate::{CheckpointError, DecodeError, Envelope, Event, ReadError};
#[cfg(doc)]
use crate::{CheckpointStore, EventStore, ProjectionRunner};

/// An error a projection's own code or storage returns.
pub(crate) type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// A read model fed one event at a time, whose checkpoint the runner keeps in a
/// [`CheckpointStore`]: run it with [`ProjectionRunner::new`].
///
/// Delivery is at least once: after a crash, events applied since the last checkpoint save
/// are applied again, so `apply` must be idempotent (see [`ProjectionRunner`]). A read
/// model that can store the checkpoint in the same transaction as its rows should implement
/// [`TransactionalProjection`] instead.
///
/// # Examples
/// An idempotent projection: it keys its effect on the event's position.
/// ```
/// use std::collections::BTreeMap;
/// use es_core::{Envelope, Event, EventStore, ExpectedVersion, MemoryStore, NewEvent, Projection,
///               ProjectionRunner};
/// # use schemars::JsonSchema;
/// # use serde::{Deserialize, Serialize};
/// #[derive(Debug, Serialize, Deserialize, JsonSchema, Event)]
/// struct Deposited { amount: u64 }
///
/// /// Every deposit, by position: applying one twice writes the same entry twice.
/// #[derive(Default)]
/// struct Deposits(BTreeMap<u64, u64>);
///
/// impl Projection for Deposits {
///     type Event = Deposited;
///     type Error = std::convert::Infallible;
///     fn name(&self) -> &str { "deposits" }
///     fn apply(&mut self, e: &Envelope<Deposited>) -> Result<(), Self::Error> {
///         self.0.insert(e.position, e.event.amount);
///         Ok(())
///     }
///     fn reset(&mut self) -> Result<(), Self::Error> {
///         self.0.clear();
///         Ok(())
///     }
/// }
///
/// let store = MemoryStore::new();
/// for amount in [10, 20] {
///     store.append("acc", ExpectedVersion::Any, vec![NewEvent::encode(&Deposited { amount })?])?;
/// }
/// let checkpoints = MemoryStore::new();
/// let mut runner = ProjectionRunner::new(&store, Deposits::default(), &checkpoints)?;
/// assert_eq!(runner.catch_up()?, 2);
/// assert_eq!(runner.projection().0.values().sum::<u64>(), 30);
/// assert_eq!((runner.position(), runner.lag()?), (2, 0));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub trait Projection {
    /// The domain's event enum.
    type Event: Event;
    /// Why applying or resetting failed.
    type Error: Into<BoxError>;

    /// The projection's name: the key of its checkpoint. Keep it stable.
    fn name(&self) -> &str;

    /// Applies one event to the read model. May see an event again after a crash.
    ///
    /// # Errors
    /// The read model's failure; the runner stops, and the batch is delivered again when it
    /// runs next.
    fn apply(&mut self, event: &Envelope<Self::Event>) -> Result<(), Self::Error>;

    /// Empties the read model, for [`ProjectionRunner::rebuild`]. A handler without state of
    /// its own returns `Ok(())`; the replay then repeats its effects, which idempotent
    /// handlers absorb.
    ///
    /// # Errors
    /// The read model's failure.
    fn reset(&mut self) -> Result<(), Self::Error>;
}

/// A read model that stores its checkpoint itself, in the same transaction as its rows: run
/// it with [`ProjectionRunner::transactional`]. Every event is applied exactly once, crash or
/// not.
///
/// # Examples
/// A model that commits by swapping in a new state with its position, all or nothing:
/// ```
/// use std::collections::HashMap;
/// use es_core::{Envelope, Event, EventStore, ExpectedVersion, MemoryStore, NewEvent,
///               ProjectionRunner, TransactionalProjection};
/// # use schemars::JsonSchema;
/// # use serde::{Deserialize, Serialize};
/// #[derive(Debug, Serialize, Deserialize, JsonSchema, Event)]
/// struct Deposited { amount: u64 }
///
/// #[derive(Default)]
/// struct Totals { committed: (HashMap<String, u64>, Option<u64>) }
///
/// impl TransactionalProjection for Totals {
///     type Event = Deposited;
///     type Error = std::convert::Infallible;
///     fn name(&self) -> &str { "totals" }
///     fn checkpoint(&self) -> Result<Option<u64>, Self::Error> { Ok(self.committed.1) }
///     fn apply_batch(&mut self, events: &[Envelope<Deposited>], checkpoint: u64) -> Result<(), Self::Error> {
///         let mut next = self.committed.0.clone();
///         for e in events {
///             *next.entry(e.stream_id.clone()).or_default() += e.event.amount;
///         }
///         self.committed = (next, Some(checkpoint)); // the commit
///         Ok(())
///     }
///     fn reset(&mut self) -> Result<(), Self::Error> {
///         self.committed = Default::default();
///         Ok(())
///     }
/// }
///
/// let store = MemoryStore::new();
/// store.append("acc", ExpectedVersion::Any, vec![NewEvent::encode(&Deposited { amount: 7 })?])?;
/// let mut runner = ProjectionRunner::transactional(&store, Totals::default())?;
/// runner.catch_up()?;
/// assert_eq!(runner.projection().committed.0["acc"], 7);
/// assert_eq!(runner.projection().checkpoint()?, Some(1));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub trait TransactionalProjection {
    /// The domain's event enum.
    type Event: Event;
    /// Why the read model failed.
    type Error: Into<BoxError>;

    /// The projection's name, for messages (and, by convention, the key of its checkpoint).
    fn name(&self) -> &str;

    /// The checkpoint committed with the read model: the position of the last event applied,
    /// `None` (or `Some(0)`) when nothing was.
    ///
    /// # Errors
    /// The read model's failure.
    fn checkpoint(&self) -> Result<Option<u64>, Self::Error>;

    /// Applies `events` and records `checkpoint` as the position of the last event applied,
    /// in one transaction: after a crash, either both are stored or neither. `events` may be
    /// empty (stored events removed on purpose decode to nothing) and the checkpoint must
    /// still advance.
    ///
    /// # Errors
    /// The read model's failure; the transaction must then have changed nothing.
    fn apply_batch(
        &mut self,
        events: &[Envelope<Self::Event>],
        checkpoint: u64,
    ) -> Result<(), Self::Error>;

    /// Empties the read model and clears its checkpoint, for [`ProjectionRunner::rebuild`],
    /// preferably in one transaction.
    ///
    /// # Errors
    /// The read model's failure.
    fn reset(&mut self) -> Result<(), Self::Error>;
}

/// Why a [`ProjectionRunner`] stopped. Events before the failure are applied and
/// checkpointed; running again retries from the failing event.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ProjectionError {
    /// Reading the log failed.
    #[error("projection `{projection}` could not read the log")]
    Read {
        /// The projection's name.
        projection: String,
        /// The store's error.
        #[source]
        source: ReadError,
    },
    /// A stored event does not decode into today's types: the projection stops before it
    /// rather than skip it.
    #[error(
        "projection `{projection}` stopped at position {} of stream `{}`: the event does not decode",
        .source.position,
        .source.stream_id
    )]
    Decode {
        /// The projection's name.
        projection: String,
        /// The decode point's error, naming the stream, position, tag and version.
        #[source]
        source: Box<DecodeError>,
    },
    /// The projection failed to apply a batch; its checkpoint did not move.
    #[error(
        "projection `{projection}` failed to apply the batch of positions {first_position} to {last_position}"
    )]
    Apply {
        /// The projection's name.
        projection: String,
        /// The first position the batch covers.
        first_position: u64,
        /// The last position the batch covers.
        last_position: u64,
        /// The projection's error.
        #[source]
        source: BoxError,
    },
    /// The checkpoint could not be loaded or saved.
    #[error("projection `{projection}` could not load or save its checkpoint")]
    Checkpoint {
        /// The projection's name.
        projection: String,
        /// The checkpoint store's error.
        #[source]
        source: CheckpointError,
    },
    /// The read model could not be reset for a rebuild.
    #[error("projection `{projection}` could not reset its read model")]
    Reset {
        /// The projection's name.
        projection: String,
        /// The projection's error.
        #[source]
        source: BoxError,
    },
}

/// How far a projection has read the log.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ProjectionStatus {
    /// The projection's name.
    pub name: String,
    /// Its checkpoint: the position of the last event it applied (0: none).
    pub position: u64,
    /// The store's head position when the status was taken.
    pub head: u64,
    /// How many positions it is behind the head (for stores with gap-free positions, the
    /// number of events not yet applied).
    pub lag: u64,
}

impl fmt::Display for ProjectionStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "projection `{}` at position {} of {} ({} behind)",
            self.name, self.position, self.head, self.lag
        )
    }
}
