//! [`Limits`]: everything a client can make the server hold is bounded (PROTOCOL.md §9.2).

use std::time::Duration;

/// The server's limits, each with the default PROTOCOL.md gives it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Concurrent sessions at most.
    pub max_sessions: usize,
    /// Data packets a session may send in a burst.
    pub rate_burst: u32,
    /// Data packets a second the burst refills at.
    pub rate_per_second: u32,
    /// Refused packets within [`Limits::refusal_window`] that close a session.
    pub refusals_to_close: u32,
    /// The window refusals are counted in.
    pub refusal_window: Duration,
    /// Rooms one user may be in, `General` included.
    pub rooms_per_user: usize,
    /// Rooms that may exist, `General` included.
    pub rooms_total: usize,
    /// Failed login attempts per client address per minute.
    pub login_failures_per_address: u32,
    /// How long a session may take to log in.
    pub login_timeout: Duration,
    /// How long a logged-in session may send no data packet.
    pub idle_timeout: Duration,
    /// Text bytes one reassembled message may hold. The default leaves a client's default limit
    /// room for what the server adds when it sends a message back (a HISTORY_REPLY's prefix).
    pub max_message: usize,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            max_sessions: 10_000,
            rate_burst: 100,
            rate_per_second: 50,
            refusals_to_close: 50,
            refusal_window: Duration::from_secs(10),
            rooms_per_user: 100,
            rooms_total: 10_000,
            login_failures_per_address: 20,
            login_timeout: Duration::from_secs(30),
            idle_timeout: Duration::from_secs(60 * 60),
            max_message: super::reply::REPLY_LIMIT,
        }
    }
}
