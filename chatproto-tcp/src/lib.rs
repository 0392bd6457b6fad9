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
//! # Layout
//!
//! - `reader`: [`TcpFrameReader`], cutting the stream into frames.
//! - `writer`: [`TcpFrameWriter`], one write per burst of frames.
//! - `listener`: [`TcpChatListener`] and [`connect`].

#![warn(missing_docs)]

mod listener;
mod reader;
mod writer;

pub use listener::{connect, TcpChatListener, TcpOptions};
pub use reader::TcpFrameReader;
pub use writer::TcpFrameWriter;
