//! Checkpoints: how far each projection has read the log.

use std::sync::Arc;

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
    /// A backend-specific failure.
    #[error("the checkpoint backend failed")]
    Backend(#[source] Box<dyn std::error::Error + Send + Sync>),
}

/// Where projections keep the global position of the last event they applied.
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
        impl<S: CheckpointStore + ?Sized> CheckpointStore for $ptr {
            fn load_checkpoint(&self, projection: &str) -> Result<Option<u64>, CheckpointError> {
                (**self).load_checkpoint(projection)
            }
            fn save_checkpoint(&self, projection: &str, position: u64) -> Result<(), CheckpointError> {
                (**self).save_checkpoint(projection, position)
            }
        }
    )*};
}

forward_checkpoint_store!(&S, Arc<S>, Box<S>);
