//! A read buffer over one file: large positioned reads, so that scanning or reading many
//! small frames in order costs few system calls.

use std::io;

use super::fs::{read_fully_at, LogFile};

/// How much a window reads at once.
pub(crate) const WINDOW_BYTES: usize = 1 << 20;

/// A copy of the bytes `[start, start + filled)` of some file.
#[derive(Debug)]
pub(crate) struct Window {
    buf: Vec<u8>,
    start: u64,
    filled: usize,
    capacity: usize,
}

impl Window {
    pub(crate) fn new(capacity: usize) -> Self {
        Self {
            buf: Vec::new(),
            start: 0,
            filled: 0,
            capacity,
        }
    }

    /// A window reading into `buf`, a buffer an earlier window gave back
    /// ([`into_buffer`](Self::into_buffer)): its memory is neither allocated nor zeroed again.
    pub(crate) fn with_buffer(buf: Vec<u8>, capacity: usize) -> Self {
        Self {
            buf,
            start: 0,
            filled: 0,
            capacity,
        }
    }

    /// The buffer, for another window; `None` when a large frame grew it past the capacity.
    pub(crate) fn into_buffer(self) -> Option<Vec<u8>> {
        (self.buf.len() == self.capacity).then_some(self.buf)
    }

    /// Forgets the buffered bytes (for example when switching files).
    pub(crate) fn clear(&mut self) {
        self.filled = 0;
    }

    /// Up to `len` bytes of `file` at `offset`, never reading at or past `limit`; fewer than
    /// `len` only when `limit` or the end of the file comes first.
    pub(crate) fn get(
        &mut self,
        file: &dyn LogFile,
        offset: u64,
        len: usize,
        limit: u64,
    ) -> io::Result<&[u8]> {
        if offset >= limit {
            return Ok(&[]);
        }
        let wanted_end = offset.saturating_add(len as u64).min(limit);
        let buffered_end = self.start + self.filled as u64;
        if offset < self.start || wanted_end > buffered_end {
            let available = usize::try_from(limit.saturating_sub(offset)).unwrap_or(usize::MAX);
            let read_len = len.max(self.capacity).min(available);
            if self.buf.len() > self.capacity && read_len <= self.capacity {
                // A large frame grew the buffer; give the memory back.
                self.buf.truncate(self.capacity);
                self.buf.shrink_to_fit();
            }
            if self.buf.len() < read_len {
                self.buf.resize(read_len, 0);
            }
            self.start = offset;
            self.filled = 0;
            self.filled = read_fully_at(file, &mut self.buf[..read_len], offset)?;
        }
        let from = usize::try_from(offset - self.start).unwrap_or(usize::MAX);
        let end = usize::try_from(wanted_end - self.start)
            .unwrap_or(usize::MAX)
            .min(self.filled);
        Ok(self.buf.get(from..end).unwrap_or_default())
    }
}
