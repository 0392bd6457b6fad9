//! # chatproto-tcp
//!
//! The tokio TCP transport for chatproto: frames back to back on a byte stream (PROTOCOL.md R-2.3), each
//! connection driven by a [`chatproto::session::Session`] so that damaged frames are answered with RESEND
//! and resent, and a silent peer is noticed.
//!
//! ```no_run
//! use chatproto::transport::{Incoming, Listener, Transport};
//! use chatproto::{Message, Name, Verb};
//! use chatproto_tcp::{connect, TcpChatListener, TcpOptions};
//!
//! # async fn example() -> Result<(), Box<dyn std::error::Error>> {
//! let mut listener = TcpChatListener::bind("127.0.0.1:0".parse()?, TcpOptions::default()).await?;
//! let addr = listener.local_addr()?;
//! let mut client = connect(addr, TcpOptions::default()).await?;
//! let mut server_side = listener.accept().await?;
//! client.send(Message::new(Verb::BROADCAST, Name::new("ann")?, Name::ALL, "hi")).await?;
//! assert!(matches!(server_side.recv().await?, Some(Incoming::Message(_))));
//! # Ok(()) }
//! ```
//!
//! # TLS
//!
//! With the `tls` feature, `TcpChatListener::bind_tls` and `connect_tls` carry the same frames inside
//! TLS (rustls, with the ring provider), the only transport that keeps passwords and text confidential and
//! authenticates the server (PROTOCOL.md §9.1). The listener yields the same [`SessionTransport`] type and
//! says which it is with [`TcpChatListener::is_tls`]. `rustls` is re-exported for building configurations.
//!
//! [`SessionTransport`]: chatproto::transport::SessionTransport
//!
//! # Layout
//!
//! - `reader`: [`TcpFrameReader`], cutting the stream into frames.
//! - `writer`: [`TcpFrameWriter`], one write per burst of frames.
//! - `listener`: [`TcpChatListener`] and [`connect`].
//! - `tls` (feature `tls`): `TcpChatListener::bind_tls`, `connect_tls` and `HandshakeError`.

#![warn(missing_docs)]

mod listener;
mod reader;
#[cfg(feature = "tls")]
mod tls;
mod writer;

pub use listener::{connect, TcpChatListener, TcpOptions};
pub use reader::TcpFrameReader;
#[cfg(feature = "tls")]
pub use tls::{connect_tls, HandshakeError};
/// The rustls this crate is built with, to build the configurations [`TcpChatListener::bind_tls`] and
/// [`connect_tls`] take.
#[cfg(feature = "tls")]
pub use tokio_rustls::rustls;
pub use writer::TcpFrameWriter;
