//! [`ProjectionRunner`]: reads the log from a projection's checkpoint, decodes, applies in
//! batches and saves the checkpoint; whichever of the two checkpoint modes holds it.

use std::time::Duration;

use super::decoded_chunk::{read_decoded, ChunkFailure};
use super::projection::BoxError;
use super::subscription::DEFAULT_STOP_CHECK_INTERVAL;
use crate::{
    CheckpointError, CheckpointStore, Envelope, EventStore, Projection, ProjectionError,
    ProjectionStatus, ReadError, StopHandle, TransactionalProjection,
};

/// How many stored events a [`ProjectionRunner`] applies per batch, and so per checkpoint
/// save, unless told otherwise.
pub const DEFAULT_BATCH_SIZE: usize = 100;

mod sealed {
    use super::BoxError;
    use crate::{CheckpointError, Envelope, Event};

    /// Why a [`Drive`] step failed, before the runner adds its context.
    pub enum Failure {
        /// The read model's own code or storage.
        Model(BoxError),
        /// The checkpoint store.
        Checkpoint(CheckpointError),
    }

    /// What the runner needs of a projection and its checkpoint, whichever holds it.
    pub trait Drive {
        type Event: Event;
        fn name(&self) -> &str;
        fn load_checkpoint(&self) -> Result<Option<u64>, Failure>;
        fn apply(&mut self, events: &[Envelope<Self::Event>], through: u64) -> Result<(), Failure>;
        fn reset(&mut self) -> Result<(), Failure>;
    }
}

use sealed::{Drive, Failure};

/// Where a [`ProjectionRunner`] keeps the checkpoint: [`SeparateCheckpoint`] or
/// [`OwnCheckpoint`]. Sealed: the runner's constructors choose it.
pub trait CheckpointMode: Drive {
    /// The projection the runner drives.
    type Projection;
    /// The projection.
    fn projection(&self) -> &Self::Projection;
    /// The projection, mutably.
    fn projection_mut(&mut self) -> &mut Self::Projection;
    /// The projection, given back.
    fn into_projection(self) -> Self::Projection;
}

/// A [`Projection`] with its checkpoint in a [`CheckpointStore`]; made by
/// [`ProjectionRunner::new`].
#[derive(Debug)]
pub struct SeparateCheckpoint<P, C> {
    projection: P,
    checkpoints: C,
}

impl<P: Projection, C: CheckpointStore> Drive for SeparateCheckpoint<P, C> {
    type Event = P::Event;

    fn name(&self) -> &str {
        self.projection.name()
    }

    fn load_checkpoint(&self) -> Result<Option<u64>, Failure> {
        self.checkpoints
            .load_checkpoint(self.projection.name())
            .map_err(Failure::Checkpoint)
    }

    fn apply(&mut self, events: &[Envelope<P::Event>], through: u64) -> Result<(), Failure> {
        for event in events {
            self.projection
                .apply(event)
                .map_err(|e| Failure::Model(e.into()))?;
        }
        self.checkpoints
            .save_checkpoint(self.projection.name(), through)
            .map_err(Failure::Checkpoint)
    }

    fn reset(&mut self) -> Result<(), Failure> {
        // Checkpoint first: a crash between the two steps leaves a full model replayed from
        // the start (harmless, handlers are idempotent), never an empty model that resumes
        // from an old checkpoint and misses everything before it.
        self.checkpoints
            .save_checkpoint(self.projection.name(), 0)
            .map_err(Failure::Checkpoint)?;
        self.projection
            .reset()
            .map_err(|e| Failure::Model(e.into()))
    }
}

impl<P: Projection, C: CheckpointStore> CheckpointMode for SeparateCheckpoint<P, C> {
    type Projection = P;
    fn projection(&self) -> &P {
        &self.projection
    }
    fn projection_mut(&mut self) -> &mut P {
        &mut self.projection
    }
    fn into_projection(self) -> P {
        self.projection
    }
}

/// A [`TransactionalProjection`], which keeps its checkpoint with its rows; made by
/// [`ProjectionRunner::transactional`].
#[derive(Debug)]
pub struct OwnCheckpoint<T>(T);

impl<T: TransactionalProjection> Drive for OwnCheckpoint<T> {
    type Event = T::Event;

    fn name(&self) -> &str {
        self.0.name()
    }

    fn load_checkpoint(&self) -> Result<Option<u64>, Failure> {
        self.0
            .checkpoint()
            .map_err(|e| Failure::Checkpoint(CheckpointError::Backend(e.into())))
    }

    fn apply(&mut self, events: &[Envelope<T::Event>], through: u64) -> Result<(), Failure> {
        self.0
            .apply_batch(events, through)
            .map_err(|e| Failure::Model(e.into()))
    }

    fn reset(&mut self) -> Result<(), Failure> {
        self.0.reset().map_err(|e| Failure::Model(e.into()))
    }
}

impl<T: TransactionalProjection> CheckpointMode for OwnCheckpoint<T> {
    type Projection = T;
    fn projection(&self) -> &T {
        &self.0
    }
    fn projection_mut(&mut self) -> &mut T {
        &mut self.0
    }
    fn into_projection(self) -> T {
        self.0
    }
}

/// Runs one projection over a store: catch up from its checkpoint, follow new events, report
/// its position and lag, rebuild from scratch.
///
/// Several runners over one store are independent: each reads at its own pace from its own
/// checkpoint (see [`status`](Self::status) to compare them). A runner is driven by the
/// caller's thread; to run several at once, give each a thread and the store by reference or
/// [`Arc`](std::sync::Arc).
///
/// See [`Projection`] and [`TransactionalProjection`] for examples.
#[derive(Debug)]
///
/// A projection folds the events of [`EventStore::read_all`] into a read model that answers a
/// query the streams cannot (for example "accounts with a balance above 50"). The
/// [`ProjectionRunner`] reads from the projection's checkpoint, decodes every stored event
/// through [`Event::decode`](crate::Event::decode) (the one decode point, so legacy events arrive upcast), applies
/// them in batches and records the position of the last event applied. A stored event that
/// does not decode stops the runner with [`ProjectionError::Decode`], naming its stream and
/// position, after the events before it are applied and checkpointed: nothing is skipped.
///
/// # Where the checkpoint lives, and what a crash costs
///
/// - **With the read model** ([`TransactionalProjection`], run by
///   [`transactional`](Self::transactional)): the projection writes a batch's effects and its
///   checkpoint in one transaction of its own store (for example SQLite). A crash loses the
///   uncommitted batch entirely, checkpoint included, so after a restart every event is
///   applied exactly once.
/// - **In a separate [`CheckpointStore`]** ([`Projection`], run by [`new`](Self::new)):
///   effects are written first and the checkpoint saved after each batch. A crash between
///   the two delivers the batch's events again after the restart: delivery is at least once,
///   so handlers must be idempotent. Key each effect on the event's position (or event id)
///   and ignore one already recorded, for example an SQL `INSERT ... ON CONFLICT (position)
///   DO NOTHING`, or a read model that records the last position it applied per row and
///   ignores older ones.
///
/// # Batch size: throughput against replay after a crash
///
/// [`with_batch_size`](Self::with_batch_size) sets how many stored events one batch holds (default
/// [`DEFAULT_BATCH_SIZE`]). One checkpoint save (a transaction, often an fsync) per batch
/// instead of per event makes catch-up much faster. The price: after a crash up to one batch
/// is read and applied again (re-applied twice with a separate checkpoint store, hence
/// idempotent handlers; rolled back and redone with a transactional one), readers of a
/// transactional read model see it advance a batch at a time, and a batch's decoded events
/// are held in memory. A batch size of 1 saves after every event.
pub struct ProjectionRunner<S, M> {
    store: S,
    mode: M,
    position: u64,
    batch_size: usize,
    stop_check_interval: Duration,
}

impl<S: EventStore, P: Projection, C: CheckpointStore>
    ProjectionRunner<S, SeparateCheckpoint<P, C>>
{
    /// A runner for `projection`, with its checkpoint in `checkpoints` under the projection's
    /// name; it starts from the saved checkpoint. Delivery is at least once (see
    /// [`Projection`]).
    ///
    /// **The checkpoint must live as long as the projection's state.** A projection kept in
    /// memory starts empty in every process, but a checkpoint in a durable store (the event
    /// store itself, say) survives: the runner then resumes after it, and the new, empty
    /// model never sees the events before it. Give an in-memory projection an in-memory
    /// checkpoint store, or [`rebuild`](Self::rebuild) it. When the stored checkpoint is past
    /// 0, `new` logs a `tracing` warning naming the projection and the checkpoint.
    ///
    /// # Errors
    /// [`ProjectionError::Checkpoint`] when the checkpoint cannot be loaded.
    pub fn new(store: S, projection: P, checkpoints: C) -> Result<Self, ProjectionError> {
        let runner = Self::start(
            store,
            SeparateCheckpoint {
                projection,
                checkpoints,
            },
        )?;
        if runner.position > 0 {
            let name = runner.mode.projection.name();
            tracing::warn!(
                projection = name,
                checkpoint = runner.position,
                "projection {name} resumes after its stored checkpoint {}: the events up to it \
                 are not applied again, so its state must be as durable as the checkpoint",
                runner.position
            );
        }
        Ok(runner)
    }
}

impl<S: EventStore, T: TransactionalProjection> ProjectionRunner<S, OwnCheckpoint<T>> {
    /// A runner for a projection that commits its checkpoint with its rows; it starts from
    /// [`TransactionalProjection::checkpoint`]. Every event is applied exactly once.
    ///
    /// # Errors
    /// [`ProjectionError::Checkpoint`] when the checkpoint cannot be read.
    pub fn transactional(store: S, projection: T) -> Result<Self, ProjectionError> {
        Self::start(store, OwnCheckpoint(projection))
    }
}

impl<S: EventStore, M: CheckpointMode> ProjectionRunner<S, M> {
    fn start(store: S, mode: M) -> Result<Self, ProjectionError> {
        let mut runner = Self {
            store,
            mode,
            position: 0,
            batch_size: DEFAULT_BATCH_SIZE,
            stop_check_interval: DEFAULT_STOP_CHECK_INTERVAL,
        };
        runner.position = runner.load_position()?;
        Ok(runner)
    }

    /// Sets how many stored events a batch holds, at least 1 (default [`DEFAULT_BATCH_SIZE`]);
    /// the checkpoint is saved once per batch. See the [type docs](ProjectionRunner) for the trade-off.
    #[must_use]
    pub fn with_batch_size(mut self, batch_size: usize) -> Self {
        self.batch_size = batch_size.max(1);
        self
    }

    /// Sets how long [`follow`](Self::follow) waits for new events before it checks its
    /// [`StopHandle`] again (default [`DEFAULT_STOP_CHECK_INTERVAL`]).
    #[must_use]
    pub fn with_stop_check_interval(mut self, interval: Duration) -> Self {
        self.stop_check_interval = interval;
        self
    }

    /// The projection's name.
    #[must_use]
    pub fn name(&self) -> &str {
        self.mode.name()
    }

    /// The checkpoint: the position of the last event applied (0: none yet).
    #[must_use]
    pub fn position(&self) -> u64 {
        self.position
    }

    /// How many positions the projection is behind the store's head.
    ///
    /// # Errors
    /// When the store cannot report its head.
    pub fn lag(&self) -> Result<u64, ReadError> {
        Ok(self.status()?.lag)
    }

    /// Name, position, head and lag, taken together.
    ///
    /// # Errors
    /// When the store cannot report its head.
    pub fn status(&self) -> Result<ProjectionStatus, ReadError> {
        let head = self.store.head_position()?;
        Ok(ProjectionStatus {
            name: self.name().to_owned(),
            position: self.position,
            head,
            lag: head.saturating_sub(self.position),
        })
    }

    /// The projection.
    #[must_use]
    pub fn projection(&self) -> &M::Projection {
        self.mode.projection()
    }

    /// The projection, mutably.
    #[must_use]
    pub fn projection_mut(&mut self) -> &mut M::Projection {
        self.mode.projection_mut()
    }

    /// Stops the runner and gives the projection back.
    #[must_use]
    pub fn into_projection(self) -> M::Projection {
        self.mode.into_projection()
    }

    /// The store.
    #[must_use]
    pub fn store(&self) -> &S {
        &self.store
    }

    /// Applies the next batch (up to the batch size) and saves the checkpoint; returns how
    /// many stored events it consumed, 0 at the end of the log.
    ///
    /// # Errors
    /// [`ProjectionError`]: on a read or decode failure, the events before the failing one are
    /// applied and checkpointed first, so the next run starts at the failing event.
    pub fn run_batch(&mut self) -> Result<usize, ProjectionError> {
        let chunk = read_decoded::<M::Event, S>(&self.store, self.position, self.batch_size);
        if chunk.consumed > 0 {
            let first_position = self.position + 1;
            self.mode
                .apply(&chunk.envelopes, chunk.through)
                .map_err(|failure| match failure {
                    Failure::Model(source) => ProjectionError::Apply {
                        projection: self.mode.name().to_owned(),
                        first_position,
                        last_position: chunk.through,
                        source,
                    },
                    Failure::Checkpoint(source) => self.checkpoint_error(source),
                })?;
            self.position = chunk.through;
        }
        match chunk.failure {
            None => Ok(chunk.consumed),
            Some(ChunkFailure::Read(source)) => Err(ProjectionError::Read {
                projection: self.name().to_owned(),
                source,
            }),
            Some(ChunkFailure::Decode(source)) => Err(ProjectionError::Decode {
                projection: self.name().to_owned(),
                source: Box::new(source),
            }),
        }
    }

    /// Applies batches until the end of the log; returns how many stored events it consumed.
    ///
    /// # Errors
    /// See [`run_batch`](Self::run_batch).
    pub fn catch_up(&mut self) -> Result<u64, ProjectionError> {
        self.run_while(|| true)
    }

    /// Catches up, then applies new events as they are appended, woken by the store (see
    /// [`EventStore::wait_for_append`]), until `stop` is stopped; returns how many stored
    /// events it consumed. Run it on a thread of its own.
    ///
    /// # Errors
    /// See [`run_batch`](Self::run_batch).
    pub fn follow(&mut self, stop: &StopHandle) -> Result<u64, ProjectionError> {
        let mut consumed = 0;
        loop {
            consumed += self.run_while(|| !stop.is_stopped())?;
            if stop.is_stopped() {
                return Ok(consumed);
            }
            self.store
                .wait_for_append(self.position, self.stop_check_interval)
                .map_err(|source| ProjectionError::Read {
                    projection: self.name().to_owned(),
                    source,
                })?;
        }
    }

    /// Replays the whole log into an empty read model: resets the projection (and its
    /// checkpoint to 0), then catches up. Returns how many stored events it consumed.
    ///
    /// With a separate checkpoint store the reset is two steps (checkpoint, then model): if
    /// it fails between them, run `rebuild` again.
    ///
    /// # Errors
    /// [`ProjectionError::Reset`] or [`ProjectionError::Checkpoint`] when the reset fails
    /// (including a [`TransactionalProjection::reset`] that left its checkpoint in place);
    /// then those of [`catch_up`](Self::catch_up).
    pub fn rebuild(&mut self) -> Result<u64, ProjectionError> {
        self.mode.reset().map_err(|failure| match failure {
            Failure::Model(source) => self.reset_error(source),
            Failure::Checkpoint(source) => self.checkpoint_error(source),
        })?;
        let kept = self.load_position()?;
        if kept != 0 {
            return Err(self
                .reset_error(format!("the reset left the checkpoint at position {kept}").into()));
        }
        self.position = 0;
        self.catch_up()
    }

    fn run_while(&mut self, mut go_on: impl FnMut() -> bool) -> Result<u64, ProjectionError> {
        let mut consumed = 0;
        while go_on() {
            match self.run_batch()? {
                0 => break,
                n => consumed += n as u64,
            }
        }
        Ok(consumed)
    }

    fn load_position(&self) -> Result<u64, ProjectionError> {
        self.mode
            .load_checkpoint()
            .map(Option::unwrap_or_default)
            .map_err(|failure| match failure {
                Failure::Checkpoint(source) => self.checkpoint_error(source),
                Failure::Model(source) => self.checkpoint_error(CheckpointError::Backend(source)),
            })
    }

    fn checkpoint_error(&self, source: CheckpointError) -> ProjectionError {
        ProjectionError::Checkpoint {
            projection: self.name().to_owned(),
            source,
        }
    }

    fn reset_error(&self, source: BoxError) -> ProjectionError {
        ProjectionError::Reset {
            projection: self.name().to_owned(),
            source,
        }
    }
}
