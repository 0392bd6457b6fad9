//! [`Connection`]: one load client's connection, over whichever client suits its carrier.

use chatproto::transport::{Incoming, SessionTransport, Transport, TransportError};
use chatproto::Message;

use super::direct_tcp::DirectTcp;

/// A logged-in client's connection: TCP drives its session on the client's own task ([`DirectTcp`]);
/// UDP goes through `chatproto-udp`'s transport.
#[derive(Debug)]
pub(crate) enum Connection {
    /// Over TCP.
    Tcp(Box<DirectTcp>),
    /// Over anything else.
    Transport(SessionTransport),
}

impl Connection {
    /// Queues a message, waiting while the send buffer is full.
    pub(crate) async fn send(&mut self, message: Message) -> Result<u32, TransportError> {
        match self {
            Connection::Tcp(tcp) => tcp.send(&message).await,
            Connection::Transport(transport) => transport.send(message).await,
        }
    }

    /// The next message or confirmation; `Ok(None)` once the server has closed. Cancel-safe.
    pub(crate) async fn recv(&mut self) -> Result<Option<Incoming>, TransportError> {
        match self {
            Connection::Tcp(tcp) => tcp.recv().await,
            Connection::Transport(transport) => transport.recv().await,
        }
    }
}
