//! # chatproto-udp
//!
//! The tokio UDP transport for chatproto: one frame per datagram (PROTOCOL.md R-2.4), each peer driven by
//! a [`chatproto::session::Session`], which is all that stands between users and lost, duplicated or
//! reordered datagrams.
//!
//! ```no_run
//! use chatproto::transport::{Incoming, Listener, Transport};
//! use chatproto::{Message, Name, Verb};
//! use chatproto_udp::{connect, UdpChatListener, UdpOptions};
//!
//! # async fn example() -> Result<(), Box<dyn std::error::Error>> {
//! let mut listener = UdpChatListener::bind("127.0.0.1:0".parse()?, UdpOptions::default()).await?;
//! let addr = listener.local_addr()?;
//! let mut client = connect(addr, UdpOptions::default()).await?;
//! let mut server_side = listener.accept().await?;
//! client.send(Message::new(Verb::BROADCAST, Name::new("ann")?, Name::ALL, "hi")).await?;
//! assert!(matches!(server_side.recv().await?, Some(Incoming::Message(_))));
//! # Ok(()) }
//! ```
//!
//! # Layout
//!
//! - `bind`: [`bind`], a UDP socket with kernel buffers sized for a session's window.
//! - `socket`: [`DatagramSocket`], the socket operations used, so a simulated network can stand in.
//! - `peer`: [`PeerWriter`], one peer's frames over a shared socket.
//! - `client`: [`connect`], with retries, progress and a time limit.
//! - `listener`: [`UdpChatListener`], which demultiplexes datagrams into per-peer sessions.
//! - `faulty`: [`FaultySocket`], seeded loss, duplication, reordering, delay and corruption, for tests.

#![warn(missing_docs)]

mod bind;
mod client;
mod faulty;
mod listener;
mod peer;
mod socket;

pub use bind::bind;
pub use client::{connect, connect_on, connect_with_progress, UdpOptions, DEFAULT_SOCKET_BUFFER};
pub use faulty::FaultySocket;
pub use listener::UdpChatListener;
pub use peer::PeerWriter;
pub use socket::DatagramSocket;
