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

#[cfg(test)]
mod tests {
    use std::io;

    use super::Window;
    use crate::store::file::fs::LogFile;

    /// A file of the bytes 0, 1, 2, ... in memory.
    #[derive(Debug)]
    struct Counting(Vec<u8>);

    impl LogFile for Counting {
        fn read_at(&self, buf: &mut [u8], offset: u64) -> io::Result<usize> {
            let from = usize::try_from(offset)
                .unwrap_or(usize::MAX)
                .min(self.0.len());
            let n = buf.len().min(self.0.len() - from);
            buf[..n].copy_from_slice(&self.0[from..from + n]);
            Ok(n)
        }
        fn write_at(&self, _: &[u8], _: u64) -> io::Result<usize> {
            Err(io::Error::other("read only"))
        }
        fn sync_data(&self) -> io::Result<()> {
            Ok(())
        }
        fn set_len(&self, _: u64) -> io::Result<()> {
            Ok(())
        }
        fn len(&self) -> io::Result<u64> {
            Ok(self.0.len() as u64)
        }
    }

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
