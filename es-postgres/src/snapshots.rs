//! Snapshots in the store's `snapshots` table: one row per stream, replaced on save.

use es_core::{Snapshot, SnapshotError, SnapshotStore};

use crate::sql::Stmt;
use crate::store::PgStore;

impl SnapshotStore for PgStore {
    fn load_snapshot(&self, stream_id: &str) -> Result<Option<Snapshot>, SnapshotError> {
        let rows = self
            .query(
                Stmt::LoadSnapshot,
                format!("load the snapshot of stream `{stream_id}`"),
                vec![Box::new(stream_id.to_owned())],
            )
            .map_err(|error| SnapshotError::Backend(Box::new(error)))?;
        let Some(row) = rows.first() else {
            return Ok(None);
        };
        let version: i64 = row.get(0);
        let stream_version = u64::try_from(version).map_err(|_| SnapshotError::Corrupt {
            stream_id: stream_id.to_owned(),
            reason: format!("stream version {version} is negative"),
        })?;
        Ok(Some(Snapshot::new(
            stream_id,
            stream_version,
            row.get::<_, String>(1),
            row.get::<_, Vec<u8>>(2),
        )))
    }

    fn save_snapshot(&self, snapshot: &Snapshot) -> Result<(), SnapshotError> {
        let version =
            i64::try_from(snapshot.stream_version).map_err(|_| SnapshotError::Corrupt {
                stream_id: snapshot.stream_id.clone(),
                reason: format!(
                    "stream version {} is beyond PostgreSQL's bigint",
                    snapshot.stream_version
                ),
            })?;
        self.query(
            Stmt::SaveSnapshot,
            format!("save the snapshot of stream `{}`", snapshot.stream_id),
            vec![
                Box::new(snapshot.stream_id.clone()),
                Box::new(version),
                Box::new(snapshot.fingerprint.clone()),
                Box::new(snapshot.state.clone()),
            ],
        )
        .map_err(|error| SnapshotError::Backend(Box::new(error)))?;
        Ok(())
    }
}
