//! Reliable sessions (PROTOCOL.md §7): a sans-IO state machine per peer, in the manner of quinn-proto.
//!
//! A [`Session`] is fed received frames and the current time, and polled for frames to send, the next
//! timeout and [`Event`]s. It numbers data packets, confirms what it receives, retransmits what the peer
//! does not confirm (on RESEND, on a timer estimated from round trips, and on reordering evidence), drops
//! duplicates, delivers whole messages exactly once and in order, fragments and reassembles, keeps every
//! buffer bounded, and declares a silent peer gone. Transports only move its frames.
//!
//! # Layout
//!
//! - `connection`: [`Session`] and [`Role`], tying the parts together.
//! - `send`: numbering, the send window and retransmission.
//! - `receive`: duplicate suppression and in-order delivery.
//! - `rtt`: the RFC 6298 retransmission timer.
//! - [`SessionConfig`]: limits and timers.
//! - [`Event`] and the errors [`ProtocolError`], [`SessionError`], [`SendError`].

mod config;
mod connection;
mod event;
mod receive;
mod rtt;
mod send;

pub use config::SessionConfig;
pub use connection::{Role, Session};
pub use event::{Event, ProtocolError, SendError, SessionError};
pub use rtt::RetransmitTimer;
