//! Giving back what an emptied queue no longer needs. A session's queues grow with a burst; kept at that
//! size, they would hold the memory of the busiest moment of every idle session, which over thousands of
//! sessions is most of what a server holds.

use std::collections::VecDeque;

/// Items a buffer that is used again at once keeps room for (a burst's buffers between bursts).
pub(crate) const KEEP: usize = 16;

/// Frees `queue` if it is empty. Callers do this when a session has been idle a while, not each time a
/// queue empties, so that busy sessions do not reallocate with every burst.
pub(crate) fn release<T>(queue: &mut VecDeque<T>) {
    if queue.is_empty() && queue.capacity() > 0 {
        *queue = VecDeque::new();
    }
}
