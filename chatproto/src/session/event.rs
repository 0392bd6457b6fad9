//! What a [`Session`](super::Session) reports, and its errors.

use std::time::Duration;

use crate::fragment::{Message, ReassemblyError};
use crate::wire::{DecodeError, Dialect, ValidationError};

/// Something the application should know about, from [`Session::poll_event`](super::Session::poll_event).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Event {
    /// A whole message arrived: exactly once, in order.
    Message(Message),
    /// The peer confirmed the data packet with this number. When it is the number
    /// [`Session::send`](super::Session::send) returned, the whole message has arrived.
    Confirmed {
        /// The packet number confirmed.
        number: u32,
    },
    /// The peer sent something this session refused; it has answered with RESEND or ERROR as PROTOCOL.md
    /// requires. Informational: the session goes on.
    Refused(ProtocolError),
    /// The session is over; no more events follow.
    Closed(SessionError),
}

/// Whether the application hears, with [`Event::Confirmed`], that the peer has a message it sent.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Confirmations {
    /// Report each of its packets when the peer confirms it.
    #[default]
    Report,
    /// Report nothing: the session still retransmits until the peer confirms, but the
    /// application keeps no receipt and need not hear of it.
    Ignore,
}

/// A frame or message from the peer that breaks PROTOCOL.md.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ProtocolError {
    /// The frame did not decode.
    #[error(transparent)]
    Decode(#[from] DecodeError),
    /// Its fragments did not make a message.
    #[error(transparent)]
    Reassembly(#[from] ReassemblyError),
    /// The frame's dialect is not the session's.
    #[error("a {got} frame in a {session} session")]
    DialectMismatch {
        /// The session's dialect.
        session: Dialect,
        /// The frame's.
        got: Dialect,
    },
    /// A v5 data packet numbered 0; numbers start at 1.
    #[error("data packet numbered 0")]
    ZeroNumber,
}

/// Why a session ended.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SessionError {
    /// Nothing was heard from the peer for the configured limit, keepalives included.
    #[error("peer silent for {silent_for:?}; declared gone")]
    PeerGone {
        /// How long it had been silent.
        silent_for: Duration,
    },
    /// The application closed the session and everything sent was confirmed.
    #[error("session closed")]
    Closed,
}

/// Why [`Session::send`](super::Session::send) refused a message.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SendError {
    /// The session is closing or closed.
    #[error("session is closed")]
    Closed,
    /// The send buffer cannot take the message's packets now; try again after confirmations.
    #[error("send buffer full: {needed} packets needed, {room} free")]
    BufferFull {
        /// Packets the message needs.
        needed: usize,
        /// Packets free.
        room: usize,
    },
    /// The message cannot be put into packets.
    #[error(transparent)]
    Invalid(#[from] ValidationError),
}
