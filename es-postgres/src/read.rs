//! Reads: `read_stream` and `read_all` in pages, rows turned into stored events.

use es_core::store::backend::stored_metadata;
use es_core::{ReadError, StoredEvent};
use tokio_postgres::Row;

use crate::error::PgError;
use crate::order::settled_prefix;
use crate::runtime::{Pending, Runtime};
use crate::sql::{time_from_nanos, JsonBytes, Stmt};
use crate::store::{read_error, signed, PgStore};

impl PgStore {
    /// [`EventStore::read_stream`](es_core::EventStore::read_stream).
    pub(crate) fn stream_pages(
        &self,
        stream_id: &str,
        from_version: u64,
    ) -> impl Iterator<Item = Result<StoredEvent, ReadError>> + Send + '_ {
        let stream_id = stream_id.to_owned();
        let limit = signed(self.shared.read_batch as u64);
        let mut next = from_version.max(1);
        Pages::new(move || {
            let rows = self.query(
                Stmt::ReadStream,
                format!("read stream `{stream_id}`"),
                vec![
                    Box::new(stream_id.clone()),
                    Box::new(signed(next)),
                    Box::new(limit),
                ],
            )?;
            let full = rows.len() as u64 == self.shared.read_batch as u64;
            let events = rows
                .iter()
                .map(|row| self.stored_event(row))
                .collect::<Result<Vec<_>, _>>()?;
            if let Some(last) = events.last() {
                next = last.stream_version + 1;
            }
            Ok((events, full))
        })
    }

    /// [`EventStore::read_all`](es_core::EventStore::read_all): pages of settled events, the
    /// next page fetched while the caller works on the current one. A page that ends before
    /// its last row stopped at an append not yet committed: the read ends there, and a later
    /// read (or `wait_for_append`) picks it up.
    ///
    /// No event after `through` is returned, and a page asks for no more rows than positions
    /// are left up to it (a replay reading the log in ranges reads each range about once;
    /// rows past `through`, fetched where positions were left unused, are dropped).
    pub(crate) fn all_pages(
        &self,
        from_position: u64,
        through: u64,
    ) -> impl Iterator<Item = Result<StoredEvent, ReadError>> + Send + '_ {
        let mut next = from_position.max(1);
        let mut pending: Option<Pending<Result<Vec<Row>, PgError>>> = None;
        let page_len = move |next: u64| {
            let left = through.saturating_sub(next).saturating_add(1);
            usize::try_from(left).map_or(self.shared.read_batch, |left| {
                left.min(self.shared.read_batch)
            })
        };
        Pages::new(move || {
            if next > through {
                return Ok((Vec::new(), false));
            }
            let page = pending
                .take()
                .unwrap_or_else(|| self.start_page(next, page_len(next)));
            let rows = Runtime::wait(&page)??;
            let first = next;
            let Some(xmin) = rows.first().map(|row| row.get::<_, i64>(10)) else {
                return Ok((Vec::new(), false));
            };
            let xmin = self.unsigned(xmin, "snapshot")?;
            let placed = rows
                .iter()
                .map(|row| self.placed(row, 0, 9))
                .collect::<Result<Vec<_>, _>>()?;
            let settled = settled_prefix(next - 1, placed.iter().copied(), xmin);
            // Positions left unused (a rolled-back append) bring rows past `through` in.
            let kept = placed[..settled]
                .iter()
                .take_while(|placed| placed.position <= through)
                .count();
            if kept > 0 {
                next = placed[kept - 1].position + 1;
            }
            let more = rows.len() == page_len(first) && kept == rows.len() && next <= through;
            if more {
                pending = Some(self.start_page(next, page_len(next)));
            }
            let events = rows[..kept]
                .iter()
                .map(|row| self.stored_event(row))
                .collect::<Result<Vec<_>, _>>()?;
            Ok((events, more))
        })
    }

    /// Starts fetching the page of `read_all` of up to `len` rows from position `from`.
    fn start_page(&self, from: u64, len: usize) -> Pending<Result<Vec<Row>, PgError>> {
        let limit = signed(len as u64);
        self.start_query(
            Stmt::ReadAll,
            "read the log".to_owned(),
            vec![Box::new(signed(from)), Box::new(limit)],
        )
    }

    fn stored_event(&self, row: &Row) -> Result<StoredEvent, PgError> {
        let malformed = |what, reason: String| PgError::Malformed {
            target: self.target().to_owned(),
            what,
            reason,
        };
        let JsonBytes(metadata) = row.get(7);
        // Kept as the column's text (a `json` column keeps it as written), not parsed.
        let metadata = String::from_utf8(metadata)
            .ok()
            .and_then(stored_metadata)
            .ok_or_else(|| malformed("metadata", "not a JSON object".to_owned()))?;
        let schema_version: i64 = row.get(5);
        let JsonBytes(payload) = row.get(6);
        Ok(StoredEvent {
            position: self.unsigned(row.get(0), "position")?,
            stream_id: row.get(1),
            stream_version: self.unsigned(row.get(2), "stream version")?,
            event_id: row.get(3),
            event_type: row.get(4),
            schema_version: u32::try_from(schema_version).map_err(|_| {
                malformed(
                    "schema version",
                    format!("{schema_version} is out of range"),
                )
            })?,
            payload,
            metadata,
            recorded_at: time_from_nanos(row.get(8)),
        })
    }
}

/// An iterator over pages that a closure fetches: `(events, more may follow)`.
struct Pages<F> {
    fetch: F,
    buffer: std::vec::IntoIter<StoredEvent>,
    done: bool,
}

impl<F> Pages<F> {
    fn new(fetch: F) -> Self {
        Self {
            fetch,
            buffer: Vec::new().into_iter(),
            done: false,
        }
    }
}

impl<F: FnMut() -> Result<(Vec<StoredEvent>, bool), PgError>> Iterator for Pages<F> {
    type Item = Result<StoredEvent, ReadError>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if let Some(event) = self.buffer.next() {
                return Some(Ok(event));
            }
            if self.done {
                return None;
            }
            match (self.fetch)() {
                Ok((events, more)) => {
                    self.done = !more;
                    self.buffer = events.into_iter();
                }
                Err(error) => {
                    self.done = true;
                    return Some(Err(read_error(error)));
                }
            }
        }
    }
}
