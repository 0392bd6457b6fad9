//! What the hub is fed ([`Input`]) and what it asks for ([`Output`]).

use std::net::SocketAddr;
use std::sync::Arc;

use crate::fragment::Message;
use crate::wire::Name;

/// A session, as the hub knows it: a number the server assigns when it accepts a connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ClientId(pub u64);

/// A relayed message whose delivery its sender wants to hear about.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Receipt {
    /// Who sent the original.
    pub sender: Name,
    /// Who received it.
    pub recipient: Name,
    /// The packet number the sender gave the original's last packet; 0 when the sender wants no
    /// DELIVERED (a legacy sender, or an unnumbered packet).
    pub number: u32,
    /// For a message kept for an offline user: its id in the store, forgotten only once the recipient's
    /// session confirms it.
    pub kept: Option<u64>,
}

/// What the server knows of a session's connection when it accepts it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Link {
    /// The peer's address, when the transport has one.
    pub peer: Option<SocketAddr>,
    /// Whether passwords may travel on it: a TLS connection, or a plaintext one the operator
    /// allowed from a loopback address.
    pub confidential: bool,
}

impl Link {
    /// A link that may carry passwords.
    pub fn confidential(peer: Option<SocketAddr>) -> Link {
        Link {
            peer,
            confidential: true,
        }
    }

    /// A link that must not carry passwords: plain TCP or UDP.
    pub fn plaintext(peer: Option<SocketAddr>) -> Link {
        Link {
            peer,
            confidential: false,
        }
    }
}

/// Something that happened to a session.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Input {
    /// A session was accepted, on this link.
    Connected(ClientId, Link),
    /// A whole message arrived on a session.
    Received(ClientId, Message),
    /// A relayed message that carried a receipt was confirmed by its recipient's session.
    Delivered(Receipt),
    /// A session ended, however it ended.
    Disconnected(ClientId),
    /// Time has passed: sessions past their login or idle timeout are closed. The server feeds it
    /// periodically, or at [`Hub::next_deadline`](super::Hub::next_deadline).
    Tick,
    /// The server is stopping; the text says why.
    Shutdown(String),
}

/// Something the hub wants done.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Output {
    /// Send a message on a session. When it carries a receipt, report [`Input::Delivered`] once the
    /// recipient's session confirms it.
    Send {
        /// The session.
        to: ClientId,
        /// The message, in the recipient's dialect. Shared: a message relayed to many sessions is built once
        /// per dialect, and each recipient gets a reference to it.
        message: Arc<Message>,
        /// The receipt to report on delivery, if any.
        receipt: Option<Receipt>,
    },
    /// The message with this packet number, received on this session, is fully handled and stored: let the
    /// session confirm it. It comes before the replies the message caused, and every store write
    /// the message caused has returned before [`Hub::handle`](super::Hub::handle) returns.
    Confirm {
        /// The session.
        client: ClientId,
        /// The message's number.
        number: u32,
    },
    /// Close a session once what was sent on it is flushed.
    Close(ClientId),
}
