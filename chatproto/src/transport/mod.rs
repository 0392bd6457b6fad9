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
//! - `handle`: [`SessionTransport`], the application's handle to a session run by a task of its own.
//! - `driver`: that task, which drives the session over a reader and a writer.
//! - `relayer`: [`Relayer`], which queues relayed messages for that task from any thread.
//! - `channel`: [`ChannelReader`] and [`ChannelWriter`], frames through tokio channels, and [`link`].
//! - [`memory`]: an in-memory carrier, for tests and as an example.
//! - [`faulty`]: a seeded fault-injecting wrapper around any [`FrameWriter`].

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;

use crate::fragment::Message;
use crate::session::{SendError, SessionError, SharedMessage};

mod channel;
mod driver;
pub mod faulty;
mod frames;
mod handle;
pub mod memory;
mod relayer;

pub use channel::{link, ChannelReader, ChannelWriter};
pub use frames::{FrameBatch, FrameReader, FrameWriter};
pub use handle::SessionTransport;
pub use relayer::{RelayError, Relayer};

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

    /// Queues a message shared with other transports (one relayed to many peers), as [`Transport::send`]
    /// does. [`SessionTransport`] sends the frames the message was encoded into once, copying them with
    /// its own packet numbers; the default clones the message and calls `send`.
    async fn send_shared(&mut self, message: Arc<SharedMessage>) -> Result<u32, TransportError> {
        self.send(Message::clone(message.message())).await
    }

    /// Queues the messages of `messages` in order, as one burst, leaving `messages` empty, and appends the
    /// number of each to `numbers` (what [`Transport::send`] returns). The burst goes out together: a
    /// byte stream in one write when it fits the carrier's batch. On an error, `numbers` holds the numbers
    /// of the messages queued before the one that failed; those after it are not sent. The default sends
    /// them one at a time with [`Transport::send_shared`].
    async fn send_batch(
        &mut self,
        messages: &mut Vec<Arc<SharedMessage>>,
        numbers: &mut Vec<u32>,
    ) -> Result<(), TransportError> {
        for message in messages.drain(..) {
            numbers.push(self.send_shared(message).await?);
        }
        Ok(())
    }

    /// Queues the messages of `messages` in order, as one burst, leaving `messages` empty, for a relay
    /// that keeps no receipts: it does not wait for their numbers, and does not need to hear when the
    /// peer has them. [`SessionTransport`] returns as soon as the burst is handed to its task (waiting
    /// only while that is full: backpressure), reports no [`Incoming::Confirmed`] for them, and drops a
    /// message that cannot be put into frames, as a relay has no one to tell. A busy server so saves a
    /// round trip between tasks per burst and a confirmation to pass on per message. The default sends
    /// them with [`Transport::send_batch`].
    async fn relay(
        &mut self,
        messages: &mut Vec<Arc<SharedMessage>>,
    ) -> Result<(), TransportError> {
        let mut numbers = Vec::with_capacity(messages.len());
        self.send_batch(messages, &mut numbers).await
    }

    /// A handle that queues relayed messages for this transport from any thread without waiting, one task
    /// hop shorter than [`Transport::relay`]; `None` (the default) where the transport has none, and the
    /// application relays through `relay`. [`SessionTransport`] has one.
    fn relayer(&self) -> Option<Relayer> {
        None
    }

    /// The next message or confirmation; `Ok(None)` once the peer has closed cleanly.
    async fn recv(&mut self) -> Result<Option<Incoming>, TransportError>;

    /// Waits for the next message or confirmation, and takes it with those that have already arrived
    /// behind it, up to `limit` in all, appending them to `items` in order. Returns how many it took: 0
    /// once the peer has closed cleanly (where `recv` returns `Ok(None)`), or if `limit` is 0. An error
    /// is returned after the items that arrived before it, by the next call. Cancel-safe, like `recv`.
    /// The default takes one with [`Transport::recv`].
    async fn recv_many(
        &mut self,
        items: &mut Vec<Incoming>,
        limit: usize,
    ) -> Result<usize, TransportError> {
        if limit == 0 {
            return Ok(0);
        }
        match self.recv().await? {
            Some(item) => {
                items.push(item);
                Ok(1)
            }
            None => Ok(0),
        }
    }

    /// Confirms a received message (by its [`Message::number`]) once the application has handled it, for a
    /// session configured with deferred confirmation. Does nothing otherwise.
    async fn confirm(&mut self, number: u32) -> Result<(), TransportError> {
        let _ = number;
        Ok(())
    }

    /// Sends what is queued, waits for it to be confirmed (within the session's dead-peer limit), and
    /// closes.
    async fn close(&mut self) -> Result<(), TransportError>;

    /// Ends the connection now, without flushing: what is queued is dropped and the peer sees the
    /// connection end. For a peer that has to be cut off, such as a client that does not keep up with what
    /// is sent to it. Nothing works on the transport afterwards. The default does nothing: dropping
    /// the transport is all it takes.
    fn abort(&mut self) {}

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
