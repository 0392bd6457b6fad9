//! [`TcpChatListener`] and [`connect`]: TCP connections with a session each.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use chatproto::session::{Role, Session, SessionConfig};
use chatproto::transport::{Listener, SessionTransport, TransportError};
use chatproto::Dialect;
use tokio::net::{TcpListener, TcpStream};

use crate::reader::TcpFrameReader;
use crate::writer::TcpFrameWriter;

/// Settings for TCP connections.
#[derive(Clone, Debug)]
pub struct TcpOptions {
    /// The session's limits and timers; [`SessionConfig::stream`] by default.
    pub session: SessionConfig,
    /// The dialect a client speaks (a server learns each client's from its first frame).
    pub dialect: Dialect,
    /// How long a client waits for the connection to be accepted.
    pub connect_timeout: Duration,
}

impl Default for TcpOptions {
    fn default() -> TcpOptions {
        TcpOptions {
            session: SessionConfig::stream(),
            dialect: Dialect::V5,
            connect_timeout: Duration::from_secs(5),
        }
    }
}

fn spawn(
    stream: TcpStream,
    role: Role,
    dialect: Option<Dialect>,
    config: SessionConfig,
) -> SessionTransport {
    // Frames are small and latency matters; batching happens in the writer, not in Nagle's algorithm.
    let _ = stream.set_nodelay(true);
    let peer = stream.peer_addr().ok();
    let (read, write) = stream.into_split();
    // tokio's clock, so that paused or simulated time drives the session too.
    let session = Session::new(
        role,
        dialect,
        config,
        tokio::time::Instant::now().into_std(),
    );
    SessionTransport::spawn(
        session,
        TcpFrameReader::new(read),
        TcpFrameWriter::new(write),
        peer,
    )
}

/// Connects to a chatproto server over TCP.
pub async fn connect(
    addr: SocketAddr,
    options: TcpOptions,
) -> Result<SessionTransport, TransportError> {
    let started = Instant::now();
    let stream = tokio::time::timeout(options.connect_timeout, TcpStream::connect(addr))
        .await
        .map_err(|_| TransportError::ConnectTimeout {
            addr,
            attempts: 1,
            elapsed: started.elapsed(),
        })??;
    Ok(spawn(
        stream,
        Role::Client,
        Some(options.dialect),
        options.session,
    ))
}

/// A TCP server endpoint: each accepted connection becomes a transport with its own session.
#[derive(Debug)]
pub struct TcpChatListener {
    listener: TcpListener,
    session: SessionConfig,
}

impl TcpChatListener {
    /// Listens on `addr`.
    pub async fn bind(
        addr: SocketAddr,
        options: TcpOptions,
    ) -> Result<TcpChatListener, TransportError> {
        Ok(TcpChatListener {
            listener: TcpListener::bind(addr).await?,
            session: options.session,
        })
    }
}

#[async_trait]
impl Listener for TcpChatListener {
    type Transport = SessionTransport;

    async fn accept(&mut self) -> Result<SessionTransport, TransportError> {
        let (stream, _) = self.listener.accept().await?;
        Ok(spawn(stream, Role::Server, None, self.session.clone()))
    }

    fn local_addr(&self) -> Result<SocketAddr, TransportError> {
        Ok(self.listener.local_addr()?)
    }
}
