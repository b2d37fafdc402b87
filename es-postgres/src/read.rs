//! Reads: `read_stream` and `read_all` in pages, rows turned into stored events.

use std::ops::ControlFlow;

use es_core::store::backend::is_stored_metadata;
use es_core::{ReadError, StoredEvent, StoredEventRef};
use tokio_postgres::Row;

use crate::error::PgError;
use crate::order::settled_prefix;
use crate::runtime::{Pending, Runtime};
use crate::sql::{time_from_nanos, JsonText, Stmt};
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
            let events: Vec<_> = rows.iter().map(|row| self.stored_event(row)).collect();
            if let Some(Ok(last)) = events.last() {
                next = last.stream_version + 1;
            }
            Ok((events, full))
        })
    }

    /// [`EventStore::read_all`](es_core::EventStore::read_all): the events of
    /// [`AllRows`], owned.
    pub(crate) fn all_pages(
        &self,
        from_position: u64,
        through: u64,
    ) -> impl Iterator<Item = Result<StoredEvent, ReadError>> + Send + '_ {
        let mut pages = AllRows::new(self, from_position, through);
        Pages::new(move || {
            let (rows, more) = pages.next_page()?;
            Ok((
                rows.iter().map(|row| self.stored_event(row)).collect(),
                more,
            ))
        })
    }

    /// [`EventStore::visit_all`](es_core::EventStore::visit_all) and
    /// [`visit_range`](es_core::EventStore::visit_range): the events of [`AllRows`], each lent
    /// to `visit` borrowed from its row (no owned stream id, tag, payload or metadata), until
    /// `visit` breaks.
    pub(crate) fn visit_rows(
        &self,
        from_position: u64,
        through: u64,
        visit: &mut dyn FnMut(&StoredEventRef<'_>) -> ControlFlow<()>,
    ) -> Result<(), PgError> {
        let mut pages = AllRows::new(self, from_position, through);
        loop {
            let (rows, more) = pages.next_page()?;
            for row in &rows {
                if visit(&self.stored_event_ref(row)?).is_break() {
                    return Ok(());
                }
            }
            if !more {
                return Ok(());
            }
        }
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
        self.stored_event_ref(row)?
            .to_stored()
            .map_err(|e| self.malformed("metadata", e.to_string()))
    }

    /// The event of a row, borrowed from it.
    fn stored_event_ref<'r>(&self, row: &'r Row) -> Result<StoredEventRef<'r>, PgError> {
        let JsonText(metadata) = row.get(7);
        // Kept as the column's text (a `json` column keeps it as written), not parsed.
        if !is_stored_metadata(metadata) {
            return Err(self.malformed("metadata", "not a JSON object".to_owned()));
        }
        let schema_version: i64 = row.get(5);
        let JsonText(payload) = row.get(6);
        Ok(StoredEventRef::from_parts(
            self.unsigned(row.get(0), "position")?,
            row.get(1),
            self.unsigned(row.get(2), "stream version")?,
            row.get(3),
            row.get(4),
            u32::try_from(schema_version).map_err(|_| {
                self.malformed(
                    "schema version",
                    format!("{schema_version} is out of range"),
                )
            })?,
            payload,
            metadata,
            time_from_nanos(row.get(8)),
        ))
    }
}

/// `read_all`'s pages of settled rows, the next page fetched while the caller works on the
/// current one. A page that ends before its last row stopped at an append not yet committed:
/// the read ends there, and a later read (or `wait_for_append`) picks it up.
///
/// No row after `through` is returned, and a page asks for no more rows than positions are
/// left up to it (a replay reading the log in ranges reads each range about once; rows past
/// `through`, fetched where positions were left unused, are dropped).
struct AllRows<'s> {
    store: &'s PgStore,
    next: u64,
    through: u64,
    pending: Option<Pending<Result<Vec<Row>, PgError>>>,
}

impl<'s> AllRows<'s> {
    fn new(store: &'s PgStore, from_position: u64, through: u64) -> Self {
        Self {
            store,
            next: from_position.max(1),
            through,
            pending: None,
        }
    }

    fn page_len(&self, next: u64) -> usize {
        let left = self.through.saturating_sub(next).saturating_add(1);
        let batch = self.store.shared.read_batch;
        usize::try_from(left).map_or(batch, |left| left.min(batch))
    }

    /// The next page's settled rows, and whether more may follow.
    fn next_page(&mut self) -> Result<(Vec<Row>, bool), PgError> {
        if self.next > self.through {
            return Ok((Vec::new(), false));
        }
        let store = self.store;
        let page = self
            .pending
            .take()
            .unwrap_or_else(|| store.start_page(self.next, self.page_len(self.next)));
        let mut rows = Runtime::wait(&page)??;
        let first = self.next;
        let Some(xmin) = rows.first().map(|row| row.get::<_, i64>(10)) else {
            return Ok((Vec::new(), false));
        };
        let xmin = store.unsigned(xmin, "snapshot")?;
        let placed = rows
            .iter()
            .map(|row| store.placed(row, 0, 9))
            .collect::<Result<Vec<_>, _>>()?;
        let settled = settled_prefix(self.next - 1, placed.iter().copied(), xmin);
        // Positions left unused (a rolled-back append) bring rows past `through` in.
        let kept = placed[..settled]
            .iter()
            .take_while(|placed| placed.position <= self.through)
            .count();
        if kept > 0 {
            self.next = placed[kept - 1].position + 1;
        }
        let more =
            rows.len() == self.page_len(first) && kept == rows.len() && self.next <= self.through;
        if more {
            self.pending = Some(store.start_page(self.next, self.page_len(self.next)));
        }
        rows.truncate(kept);
        Ok((rows, more))
    }
}

/// An iterator over pages that a closure fetches: `(events, more may follow)`. A row that does
/// not make an event ends the read there, after the events before it.
struct Pages<F> {
    fetch: F,
    buffer: std::vec::IntoIter<Result<StoredEvent, PgError>>,
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

type Page = Vec<Result<StoredEvent, PgError>>;

impl<F: FnMut() -> Result<(Page, bool), PgError>> Iterator for Pages<F> {
    type Item = Result<StoredEvent, ReadError>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            match self.buffer.next() {
                Some(Ok(event)) => return Some(Ok(event)),
                Some(Err(error)) => {
                    self.done = true;
                    self.buffer = Vec::new().into_iter();
                    return Some(Err(read_error(error)));
                }
                None => {}
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
