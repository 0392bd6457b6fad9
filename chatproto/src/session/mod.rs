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
//! - `renumber`: a new packet number in an encoded frame, its CRC-32 updated rather than recomputed.
//! - [`SharedMessage`]: a message relayed to many sessions, encoded once per dialect.
//! - [`SessionConfig`]: limits and timers.
//! - [`Event`], [`Confirmations`] and the errors [`ProtocolError`], [`SessionError`], [`SendError`].

mod config;
mod connection;
mod event;
mod idle;
mod receive;
mod renumber;
mod rtt;
mod send;
mod shared;

pub use config::SessionConfig;
pub use connection::{Role, Session, MAX_CONFIRM_DELAY};
pub use event::{Confirmations, Event, ProtocolError, SendError, SessionError};
pub(crate) use idle::{release as release_idle, KEEP as IDLE_KEEP};
pub use rtt::RetransmitTimer;
pub use shared::SharedMessage;
