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
    /// How long CONFIRM and RESEND frames may wait so that several go out in one write: at most
    /// [`MAX_CONFIRM_DELAY`](super::MAX_CONFIRM_DELAY) (a longer one is cut to it), and 16 waiting go at
    /// once. A client over a byte stream that receives far more than it sends saves a write per message,
    /// and its server a read; the RTO absorbs the delay. Zero by default: they go as soon as they
    /// are polled. v4 sessions never wait.
    pub confirm_delay: Duration,
}

/// A datagram session's send window. A lost packet holds the window at its number for about two
/// round trips: one until later confirmations show it missing, one for its retransmission to be
/// confirmed. A sender that keeps its window full, as a busy one on a LAN does even without loss, sends a
/// window per round trip, so with 128 each loss stopped it for most of a round trip. 256 keeps it sending
/// through more of them: at 10 % loss each way the goodput bench went from a median of 67 % to 72 % of
/// lossless, with lossless no slower. It is no larger because the receive window is 256, and
/// because past it a burst outruns what the receiving transport holds for its application, which then
/// drops the excess for the sender to retransmit even on a lossless network.
const DATAGRAM_SEND_WINDOW: u32 = 256;

impl Default for SessionConfig {
    fn default() -> SessionConfig {
        SessionConfig {
            send_window: DATAGRAM_SEND_WINDOW,
            receive_window: 256,
            send_buffer: 4096,
            max_message: DEFAULT_LIMIT,
            initial_rto: Duration::from_millis(500),
            min_rto: Duration::from_millis(20),
            max_rto: Duration::from_secs(5),
            keepalive_interval: Duration::from_secs(2),
            dead_after: Duration::from_secs(10),
            defer_confirm: false,
            confirm_delay: Duration::ZERO,
        }
    }
}

impl SessionConfig {
    /// Defaults for a byte stream such as TCP: the stream already retransmits, so the timer only has to
    /// catch frames refused as damaged, and a larger minimum avoids spurious resends under load. Nothing
    /// is lost on a stream, so the window need not outlast a loss as a datagram session's must: it keeps
    /// 128.
    pub fn stream() -> SessionConfig {
        SessionConfig {
            send_window: 128,
            min_rto: Duration::from_millis(500),
            initial_rto: Duration::from_secs(1),
            ..Self::default()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_peer_with_the_same_defaults_takes_the_whole_send_window() {
        // a receiver drops what lies beyond its receive window. The sender's window starts at its
        // oldest unconfirmed packet, never past the receiver's next expected one, so a send window no
        // larger than the receive window is never cut short.
        for config in [SessionConfig::default(), SessionConfig::stream()] {
            assert!(config.send_window <= config.receive_window, "{config:?}");
        }
    }

    #[test]
    fn a_stream_keeps_its_own_window_and_timer_bounds() {
        let stream = SessionConfig::stream();
        assert_eq!(stream.send_window, 128);
        assert_eq!(stream.min_rto, Duration::from_millis(500));
        assert_eq!(stream.initial_rto, Duration::from_secs(1));
    }
}
