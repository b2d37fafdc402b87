//! Checkpoints: how far each projection has read the log.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

/// Why a checkpoint could not be read or written.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CheckpointError {
    /// The storage failed.
    #[error("checkpoint storage I/O failed")]
    Io(#[source] std::io::Error),
    /// The stored checkpoint is damaged.
    #[error("checkpoint of projection `{projection}` is damaged: {reason}")]
    Corrupt {
        /// The projection.
        projection: String,
        /// What is wrong.
        reason: String,
    },
    /// The store refuses writes (for example a file store opened read-only).
    #[error("the store refuses checkpoint writes: {reason}")]
    Unavailable {
        /// Why.
        reason: String,
    },
    /// A backend-specific failure.
    #[error("the checkpoint backend failed")]
    Backend(#[source] Box<dyn std::error::Error + Send + Sync>),
}

/// Where projections keep the global position of the last event they applied.
///
/// Position 0 means "nothing applied yet", the same as no checkpoint: a projection that is
/// rebuilt saves 0.
pub trait CheckpointStore: Send + Sync {
    /// The last position saved for `projection`, `None` if it never saved one.
    ///
    /// # Errors
    /// When the storage fails or the checkpoint is damaged.
    fn load_checkpoint(&self, projection: &str) -> Result<Option<u64>, CheckpointError>;

    /// Saves `position` as the last position `projection` applied, atomically.
    ///
    /// # Errors
    /// When the storage fails; the previous checkpoint is then still intact.
    fn save_checkpoint(&self, projection: &str, position: u64) -> Result<(), CheckpointError>;
}

macro_rules! forward_checkpoint_store {
    ($($ptr:ty),*) => {$(
        impl<C: CheckpointStore + ?Sized> CheckpointStore for $ptr {
            fn load_checkpoint(&self, projection: &str) -> Result<Option<u64>, CheckpointError> {
                (**self).load_checkpoint(projection)
            }
            fn save_checkpoint(&self, projection: &str, position: u64) -> Result<(), CheckpointError> {
                (**self).save_checkpoint(projection, position)
            }
        }
    )*};
}

forward_checkpoint_store!(&C, Arc<C>, Box<C>);

/// Checkpoints held in memory, for tests and examples; gone when dropped.
///
/// # Examples
/// ```
/// # #![allow(deprecated)]
/// use es_core::{CheckpointStore, MemoryCheckpoints};
///
/// let checkpoints = MemoryCheckpoints::new();
/// assert_eq!(checkpoints.load_checkpoint("balances")?, None);
/// checkpoints.save_checkpoint("balances", 42)?;
/// assert_eq!(checkpoints.load_checkpoint("balances")?, Some(42));
/// # Ok::<(), es_core::CheckpointError>(())
/// ```
#[deprecated(note = "use `MemoryStore`, which implements `CheckpointStore` too")]
#[derive(Debug, Default)]
pub struct MemoryCheckpoints {
    positions: Mutex<HashMap<String, u64>>,
}

#[allow(deprecated)]
impl MemoryCheckpoints {
    /// No checkpoints yet.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }
}

#[allow(deprecated)]
impl CheckpointStore for MemoryCheckpoints {
    fn load_checkpoint(&self, projection: &str) -> Result<Option<u64>, CheckpointError> {
        // A map insert cannot be seen half-done, so a poisoned lock still guards sound data.
        let positions = self
            .positions
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        Ok(positions.get(projection).copied())
    }

    fn save_checkpoint(&self, projection: &str, position: u64) -> Result<(), CheckpointError> {
        let mut positions = self
            .positions
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        positions.insert(projection.to_owned(), position);
        Ok(())
    }
}
