//! The `Transport` trait, and the machinery that runs a [`Session`](crate::session::Session) over any
//! frame carrier (feature `transport`, on by default).
//!
//! A [`Transport`] moves whole [`Message`]s between two peers; a [`Listener`] yields one per peer that
//! connects. `chatproto-tcp` and `chatproto-udp` implement them, and so can you:
//!
//! - the simple way: implement [`FrameReader`] and [`FrameWriter`] for your carrier (a pipe, a serial line,
//!   a QUIC stream…) and call [`SessionTransport::spawn`]. The session gives you confirmation,
//!   retransmission, ordering, fragmentation and liveness for free; [`memory`] is a complete example.
//! - from scratch: implement [`Transport`] directly, if your carrier is already reliable and ordered and
//!   you want none of that.
//!
//! # Layout
//!
//! - [`Transport`], [`Listener`], [`Incoming`], [`TransportError`]: this file.
//! - `frames`: [`FrameReader`], [`FrameWriter`] and [`FrameBatch`], what a carrier implements.
//! - `driver`: [`SessionTransport`], the task that drives a session over a reader and a writer.
//! - `channel`: [`ChannelReader`] and [`ChannelWriter`], frames through tokio channels, and [`link`].
//! - [`memory`]: an in-memory carrier, for tests and as an example.
//! - [`faulty`]: a seeded fault-injecting wrapper around any [`FrameWriter`].

use std::net::SocketAddr;
use std::time::Duration;

use async_trait::async_trait;

use crate::fragment::Message;
use crate::session::{SendError, SessionError};

mod channel;
mod driver;
pub mod faulty;
mod frames;
pub mod memory;

pub use channel::{link, ChannelReader, ChannelWriter};
pub use driver::SessionTransport;
pub use frames::{FrameBatch, FrameReader, FrameWriter};

/// What a transport hands the application.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Incoming {
    /// A whole message from the peer.
    Message(Message),
    /// The peer confirmed the message whose last packet had this number ([`Transport::send`] returns it).
    Confirmed(u32),
}

/// Why a transport failed.
#[derive(Debug, thiserror::Error)]
pub enum TransportError {
    /// The carrier failed.
    #[error("io error: {0}")]
    Io(#[from] std::io::Error),
    /// A byte stream ended partway through a frame.
    #[error("connection closed {len} bytes into a frame")]
    TruncatedFrame {
        /// Bytes of the unfinished frame.
        len: usize,
    },
    /// The session ended: the peer went silent.
    #[error(transparent)]
    Session(#[from] SessionError),
    /// The message could not be sent as it is.
    #[error(transparent)]
    Send(#[from] SendError),
    /// Nobody answered within the time limit.
    #[error("no answer from {addr} after {attempts} attempts in {elapsed:?}")]
    ConnectTimeout {
        /// Where we tried.
        addr: SocketAddr,
        /// How many tries.
        attempts: u32,
        /// How long it took.
        elapsed: Duration,
    },
    /// The transport is closed.
    #[error("transport closed")]
    Closed,
}

/// A connection to one peer that carries whole messages.
///
/// `recv` is cancel-safe: used in `tokio::select!` beside other work, nothing is lost when another branch
/// wins.
#[async_trait]
pub trait Transport: Send {
    /// Queues a message, waiting while the send buffer is full (backpressure). Returns the number that an
    /// [`Incoming::Confirmed`] will carry when the peer has it, or 0 where the dialect has no numbers.
    async fn send(&mut self, message: Message) -> Result<u32, TransportError>;

    /// The next message or confirmation; `Ok(None)` once the peer has closed cleanly.
    async fn recv(&mut self) -> Result<Option<Incoming>, TransportError>;

    /// Confirms a received message (by its [`Message::number`]) once the application has handled it, for a
    /// session configured with deferred confirmation. Does nothing otherwise.
    async fn confirm(&mut self, number: u32) -> Result<(), TransportError> {
        let _ = number;
        Ok(())
    }

    /// Sends what is queued, waits for it to be confirmed (within the session's dead-peer limit), and
    /// closes.
    async fn close(&mut self) -> Result<(), TransportError>;

    /// The peer's address, where the carrier has one.
    fn peer_addr(&self) -> Option<SocketAddr> {
        None
    }
}

/// A server endpoint that yields a [`Transport`] for each peer that connects.
#[async_trait]
pub trait Listener: Send {
    /// The transport it yields.
    type Transport: Transport;

    /// The next peer.
    async fn accept(&mut self) -> Result<Self::Transport, TransportError>;

    /// The address it listens on.
    fn local_addr(&self) -> Result<SocketAddr, TransportError>;
}
