//! Projection checkpoints in the store's `checkpoints` table, shared by every instance.

use es_core::{CheckpointError, CheckpointStore};

use crate::sql::Stmt;
use crate::store::PgStore;

impl CheckpointStore for PgStore {
    fn load_checkpoint(&self, projection: &str) -> Result<Option<u64>, CheckpointError> {
        let rows = self
            .query(
                Stmt::LoadCheckpoint,
                format!("load the checkpoint of projection `{projection}`"),
                vec![Box::new(projection.to_owned())],
            )
            .map_err(|error| CheckpointError::Backend(Box::new(error)))?;
        let Some(row) = rows.first() else {
            return Ok(None);
        };
        let position: i64 = row.get(0);
        u64::try_from(position)
            .map(Some)
            .map_err(|_| CheckpointError::Corrupt {
                projection: projection.to_owned(),
                reason: format!("position {position} is negative"),
            })
    }

    fn save_checkpoint(&self, projection: &str, position: u64) -> Result<(), CheckpointError> {
        let position = i64::try_from(position).map_err(|_| CheckpointError::Corrupt {
            projection: projection.to_owned(),
            reason: format!("position {position} is beyond PostgreSQL's bigint"),
        })?;
        self.query(
            Stmt::SaveCheckpoint,
            format!("save the checkpoint of projection `{projection}`"),
            vec![Box::new(projection.to_owned()), Box::new(position)],
        )
        .map_err(|error| CheckpointError::Backend(Box::new(error)))?;
        Ok(())
    }
}
