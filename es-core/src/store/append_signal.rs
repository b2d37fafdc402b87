//! [`AppendSignal`]: wakes the threads waiting for new events, for store implementations.

use std::sync::{Condvar, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

/// The head position of a store, with a condition variable that appends notify: the building
/// block of a real [`EventStore::wait_for_append`](crate::EventStore::wait_for_append).
///
/// A store calls [`notify`](Self::notify) after each append is visible to readers, and
/// answers `wait_for_append` with [`wait`](Self::wait). Waiters sleep until an append wakes
/// them or their timeout ends; nothing polls.
///
/// # Examples
/// ```
/// use std::time::Duration;
/// use es_core::store::backend::AppendSignal;
///
/// let signal = AppendSignal::new(0);
/// std::thread::scope(|scope| {
///     scope.spawn(|| signal.notify(3));
///     // Returns as soon as the head passes 0, well before the timeout.
///     assert_eq!(signal.wait(0, Duration::from_secs(60)), 3);
/// });
/// // Nothing beyond position 3: the wait times out and reports the head.
/// assert_eq!(signal.wait(3, Duration::from_millis(1)), 3);
/// ```
#[derive(Debug, Default)]
pub struct AppendSignal {
    head: Mutex<u64>,
    appended: Condvar,
}

impl AppendSignal {
    /// A signal for a store whose last position is `head` (0: empty).
    #[must_use]
    pub fn new(head: u64) -> Self {
        Self {
            head: Mutex::new(head),
            appended: Condvar::new(),
        }
    }

    /// Records that the store's head is now at least `head` and wakes every waiter. Call it
    /// once the appended events are readable, so a woken reader finds them.
    pub fn notify(&self, head: u64) {
        let mut current = self.lock();
        // Two appenders may notify out of order; the head only grows.
        *current = (*current).max(head);
        drop(current);
        self.appended.notify_all();
    }

    /// The head position, as last notified.
    #[must_use]
    pub fn head(&self) -> u64 {
        *self.lock()
    }

    /// Blocks until the head passes `after_position` or `timeout` ends, then returns the head.
    /// Returns at once when the head is already past `after_position`.
    #[must_use]
    pub fn wait(&self, after_position: u64, timeout: Duration) -> u64 {
        let guard = self.lock();
        let (guard, _) = self
            .appended
            .wait_timeout_while(guard, timeout, |head| *head <= after_position)
            .unwrap_or_else(PoisonError::into_inner);
        *guard
    }

    fn lock(&self) -> MutexGuard<'_, u64> {
        // The guarded value is a single integer written in one step: a panic elsewhere while
        // holding the lock cannot leave it half-written.
        self.head.lock().unwrap_or_else(PoisonError::into_inner)
    }
}
