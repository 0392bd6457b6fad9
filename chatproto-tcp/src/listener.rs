//! [`TcpChatListener`] and [`connect`]: TCP connections with a session each.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use chatproto::session::{Role, Session, SessionConfig};
use chatproto::transport::{Listener, SessionTransport, TransportError};
use chatproto::Dialect;
use tokio::io::{AsyncRead, AsyncWrite};
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
    /// How long a client waits for the connection to be accepted (and, with TLS, for the handshake).
    pub connect_timeout: Duration,
    /// With TLS, how long a server gives each new connection to finish its handshake before closing it.
    pub handshake_timeout: Duration,
}

impl Default for TcpOptions {
    fn default() -> TcpOptions {
        TcpOptions {
            session: SessionConfig::stream(),
            dialect: Dialect::V5,
            connect_timeout: Duration::from_secs(5),
            handshake_timeout: Duration::from_secs(10),
        }
    }
}

/// Starts a session over a plain TCP connection.
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
    start_session(read, write, peer, role, dialect, config)
}

/// Starts a session over any byte stream (TLS over TCP, in practice). `peer` is the address under it.
#[cfg(feature = "tls")]
pub(crate) fn spawn_over<S>(
    stream: S,
    peer: SocketAddr,
    role: Role,
    dialect: Option<Dialect>,
    config: SessionConfig,
) -> SessionTransport
where
    S: AsyncRead + AsyncWrite + Send + 'static,
{
    // The session task reads and writes from one task, so the halves never contend for split's lock.
    let (read, write) = tokio::io::split(stream);
    start_session(read, write, Some(peer), role, dialect, config)
}

fn start_session<R, W>(
    read: R,
    write: W,
    peer: Option<SocketAddr>,
    role: Role,
    dialect: Option<Dialect>,
    config: SessionConfig,
) -> SessionTransport
where
    R: AsyncRead + Unpin + Send + 'static,
    W: AsyncWrite + Unpin + Send + 'static,
{
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

/// Connects a TCP socket to `addr` within `options.connect_timeout`.
pub(crate) async fn connect_socket(
    addr: SocketAddr,
    options: &TcpOptions,
) -> Result<TcpStream, TransportError> {
    let started = Instant::now();
    tokio::time::timeout(options.connect_timeout, TcpStream::connect(addr))
        .await
        .map_err(|_| TransportError::ConnectTimeout {
            addr,
            attempts: 1,
            elapsed: started.elapsed(),
        })?
        .map_err(TransportError::from)
}

/// Connects to a chatproto server over TCP.
pub async fn connect(
    addr: SocketAddr,
    options: TcpOptions,
) -> Result<SessionTransport, TransportError> {
    let stream = connect_socket(addr, &options).await?;
    Ok(spawn(
        stream,
        Role::Client,
        Some(options.dialect),
        options.session,
    ))
}

/// A TCP server endpoint: each accepted connection becomes a transport with its own session.
///
/// Plain with [`TcpChatListener::bind`]; TLS with `TcpChatListener::bind_tls` (feature `tls`).
pub struct TcpChatListener {
    pub(crate) listener: TcpListener,
    pub(crate) session: SessionConfig,
    #[cfg(feature = "tls")]
    pub(crate) tls: Option<crate::tls::Handshakes>,
}

impl std::fmt::Debug for TcpChatListener {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TcpChatListener")
            .field("listener", &self.listener)
            .field("session", &self.session)
            .field("tls", &self.is_tls())
            .finish()
    }
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
            #[cfg(feature = "tls")]
            tls: None,
        })
    }

    /// Whether the connections it yields are TLS: confidential and tamper-proof, where plain TCP is
    /// neither (PROTOCOL.md §9.1). A server accepts passwords only on such connections.
    pub fn is_tls(&self) -> bool {
        #[cfg(feature = "tls")]
        {
            self.tls.is_some()
        }
        #[cfg(not(feature = "tls"))]
        {
            false
        }
    }
}

#[async_trait]
impl Listener for TcpChatListener {
    type Transport = SessionTransport;

    async fn accept(&mut self) -> Result<SessionTransport, TransportError> {
        #[cfg(feature = "tls")]
        if let Some(tls) = &mut self.tls {
            return tls.accept(&self.listener, &self.session).await;
        }
        let (stream, _) = self.listener.accept().await?;
        Ok(spawn(stream, Role::Server, None, self.session.clone()))
    }

    fn local_addr(&self) -> Result<SocketAddr, TransportError> {
        Ok(self.listener.local_addr()?)
    }
}
