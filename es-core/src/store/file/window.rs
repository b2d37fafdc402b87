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
    /// Where reading ahead stops: a read covers the bytes asked for and, beyond them, no more
    /// than up to here (the end of a range a reader was asked for).
    ahead_end: u64,
}

impl Window {
    pub(crate) fn new(capacity: usize) -> Self {
        Self::with_buffer(Vec::new(), capacity)
    }

    /// A window reading into `buf`, a buffer an earlier window gave back
    /// ([`into_buffer`](Self::into_buffer)): its memory is neither allocated nor zeroed again.
    pub(crate) fn with_buffer(buf: Vec<u8>, capacity: usize) -> Self {
        Self {
            buf,
            start: 0,
            filled: 0,
            capacity,
            ahead_end: u64::MAX,
        }
    }

    /// Reads ahead no further than `end` from now on (`u64::MAX`: as far as the capacity).
    /// The bytes asked for are always read: this bounds only what is read beyond them.
    pub(crate) fn read_ahead_until(&mut self, end: u64) {
        self.ahead_end = end;
    }

    /// The buffer, for another window; `None` when a large frame grew it past the capacity.
    pub(crate) fn into_buffer(self) -> Option<Vec<u8>> {
        (self.buf.len() == self.capacity).then_some(self.buf)
    }

    /// Forgets the buffered bytes (for example when switching files).
    pub(crate) fn clear(&mut self) {
        self.filled = 0;
    }

    /// [`get`](Self::get), but the slice goes on to the end of the buffered bytes (never past
    /// `limit`): a caller reading a frame's header sees whether the rest is buffered too.
    #[inline]
    pub(crate) fn get_rest(
        &mut self,
        file: &dyn LogFile,
        offset: u64,
        len: usize,
        limit: u64,
    ) -> io::Result<&[u8]> {
        self.get(file, offset, len, limit)?;
        let to_limit = usize::try_from(limit.saturating_sub(offset)).unwrap_or(usize::MAX);
        Ok(self.buffered(offset, to_limit))
    }

    /// The `len` buffered bytes at `offset`, which a [`get_rest`](Self::get_rest) at `offset`
    /// returned; fewer when they are not buffered.
    #[inline]
    pub(crate) fn buffered(&self, offset: u64, len: usize) -> &[u8] {
        let Some(from) = offset
            .checked_sub(self.start)
            .and_then(|from| usize::try_from(from).ok())
        else {
            return &[];
        };
        let end = from.saturating_add(len).min(self.filled);
        self.buf.get(from..end).unwrap_or_default()
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
            let ahead =
                usize::try_from(self.ahead_end.saturating_sub(offset)).unwrap_or(usize::MAX);
            let read_len = len.max(self.capacity.min(ahead)).min(available);
            if self.buf.len() > self.capacity && read_len <= self.capacity {
                // A large frame grew the buffer; give the memory back.
                self.buf.truncate(self.capacity);
                self.buf.shrink_to_fit();
            }
            if self.buf.len() < read_len {
                // Grown to the whole capacity at once, even for a bounded read: a buffer of
                // the capacity goes back to the store for the next reader.
                self.buf.resize(read_len.max(self.capacity), 0);
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

#[cfg(test)]
mod tests {
    use super::Window;
    use crate::store::file::fs::Counting;

    #[test]
    fn get_rest_goes_to_the_end_of_the_buffer_never_past_the_limit() {
        let file = Counting((0..=255).collect());
        let mut window = Window::new(16);
        let rest = window.get_rest(&file, 10, 4, 200).expect("read").to_vec();
        assert_eq!(rest, (10..26).collect::<Vec<u8>>());
        assert_eq!(window.buffered(12, 5), [12, 13, 14, 15, 16]);
        assert_eq!(window.buffered(24, 5), [24, 25], "only what is buffered");
        assert_eq!(window.buffered(9, 1), [0u8; 0], "before the buffer");
        let rest = window.get_rest(&file, 20, 2, 23).expect("read").to_vec();
        assert_eq!(rest, [20, 21, 22], "cut at the limit");
        assert!(window.get_rest(&file, 23, 1, 23).expect("read").is_empty());
    }

    #[test]
    fn reading_ahead_stops_at_the_bound_but_never_short_of_the_bytes_asked_for() {
        let file = Counting((0..=255).collect());
        let mut window = Window::new(64);
        window.read_ahead_until(20);
        let rest = window.get_rest(&file, 10, 4, 200).expect("read").to_vec();
        assert_eq!(rest, (10..20).collect::<Vec<u8>>(), "read up to the bound");
        let past = window.get(&file, 18, 6, 200).expect("read").to_vec();
        assert_eq!(
            past,
            (18..24).collect::<Vec<u8>>(),
            "asked for past the bound"
        );
        assert_eq!(window.buffered(18, 64).len(), 6, "and nothing more");
        window.read_ahead_until(u64::MAX);
        assert_eq!(window.get_rest(&file, 30, 1, 200).expect("read").len(), 64);
        let mut bounded = Window::new(64);
        bounded.read_ahead_until(8);
        assert_eq!(bounded.get(&file, 0, 2, 200).expect("read"), [0, 1]);
        assert_eq!(bounded.buffered(0, 64).len(), 8);
        assert!(
            bounded.into_buffer().is_some(),
            "a bounded read still leaves a buffer of the capacity to reuse"
        );
    }

    #[test]
    fn a_buffer_given_back_is_reused_unless_a_large_read_grew_it() {
        let file = Counting((0..=255).collect());
        let mut window = Window::new(16);
        window.get(&file, 0, 4, 256).expect("read");
        let buf = window.into_buffer().expect("the buffer of a window");
        let mut reused = Window::with_buffer(buf, 16);
        assert_eq!(
            reused.get(&file, 100, 3, 256).expect("read"),
            [100, 101, 102]
        );
        reused.get(&file, 0, 64, 256).expect("a large read");
        assert!(reused.into_buffer().is_none());
    }
}
