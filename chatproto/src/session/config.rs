//! [`SessionConfig`]: the session's limits and timers, each with a safe default.

use std::time::Duration;

use crate::fragment::DEFAULT_LIMIT;

/// Limits and timers of a [`Session`](super::Session). Every field has a default suited to a datagram
/// transport on a LAN; [`SessionConfig::stream`] suits TCP, where the transport already retransmits.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SessionConfig {
    /// Most data packets sent and not yet confirmed, counted from the oldest unconfirmed one.
    pub send_window: u32,
    /// Most packets the receiver holds out of order: it drops numbers that far beyond the next one it
    /// expects, unconfirmed.
    pub receive_window: u32,
    /// Most packets queued behind a full send window before [`Session::send`](super::Session::send)
    /// refuses more.
    pub send_buffer: usize,
    /// Largest message the receiver reassembles, in bytes of text.
    pub max_message: usize,
    /// Retransmission timeout before any round trip is measured (RFC 6298 §2.1).
    pub initial_rto: Duration,
    /// Lower bound of the retransmission timeout.
    pub min_rto: Duration,
    /// Upper bound of the retransmission timeout, backoff included.
    pub max_rto: Duration,
    /// Silence after which an idle session sends PING.
    pub keepalive_interval: Duration,
    /// Silence after which the peer is declared gone.
    pub dead_after: Duration,
    /// Confirm a message's last packet only when the application calls
    /// [`Session::confirm`](super::Session::confirm), not on arrival: a server that must store a message
    /// before confirming it sets this. Off by default.
    pub defer_confirm: bool,
}

impl Default for SessionConfig {
    fn default() -> SessionConfig {
        SessionConfig {
            send_window: 128,
            receive_window: 256,
            send_buffer: 4096,
            max_message: DEFAULT_LIMIT,
            initial_rto: Duration::from_millis(500),
            min_rto: Duration::from_millis(20),
            max_rto: Duration::from_secs(5),
            keepalive_interval: Duration::from_secs(2),
            dead_after: Duration::from_secs(10),
            defer_confirm: false,
        }
    }
}

impl SessionConfig {
    /// Defaults for a byte stream such as TCP: the stream already retransmits, so the timer only has to
    /// catch frames refused as damaged, and a larger minimum avoids spurious resends under load.
    pub fn stream() -> SessionConfig {
        SessionConfig {
            min_rto: Duration::from_millis(500),
            initial_rto: Duration::from_secs(1),
            ..Self::default()
        }
    }
}
