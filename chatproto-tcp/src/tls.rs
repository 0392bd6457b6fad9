//! TLS over TCP (feature `tls`): [`TcpChatListener::bind_tls`], [`connect_tls`] and [`HandshakeError`].
//!
//! TLS is the only transport that keeps passwords and text from eavesdroppers and authenticates the server
//! (PROTOCOL.md §9.1). Frames travel inside TLS exactly as on plain TCP, so the session is the same.
//!
//! A server performs each handshake in a task of its own, bounded by
//! [`TcpOptions::handshake_timeout`], so a client that stalls halfway or sends garbage never holds up the
//! others; `accept` hands out connections whose handshake has finished, and a failed handshake is logged
//! (`log`, target `chatproto_tcp::tls`) rather than returned: it is one client's failure, not the
//! listener's.

use std::fmt;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chatproto::session::{Role, SessionConfig};
use chatproto::transport::{SessionTransport, TransportError};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinSet;
use tokio_rustls::rustls::pki_types::ServerName;
use tokio_rustls::rustls::{self, ClientConfig, ServerConfig};
use tokio_rustls::{server, TlsAcceptor, TlsConnector};

use crate::listener::{connect_socket, spawn_over, TcpChatListener, TcpOptions};

/// Handshakes in progress (or finished and not yet accepted) at most. Beyond this the listener stops
/// taking new connections, which wait in the kernel's backlog, until one finishes or times out: memory
/// stays bounded however many clients stall.
const MAX_HANDSHAKES: usize = 1024;

type Handshake = Result<(server::TlsStream<TcpStream>, SocketAddr), HandshakeError>;

/// A TLS listener's handshakes: each runs in a task of its own.
pub(crate) struct Handshakes {
    acceptor: TlsAcceptor,
    timeout: Duration,
    running: JoinSet<Handshake>,
}

impl TcpChatListener {
    /// Listens on `addr` for TLS connections, with `config`'s certificate. Each connection's handshake
    /// runs in a task of its own, within [`TcpOptions::handshake_timeout`].
    ///
    /// ```no_run
    /// use std::sync::Arc;
    ///
    /// use chatproto_tcp::rustls::pki_types::{CertificateDer, PrivateKeyDer};
    /// use chatproto_tcp::rustls::{self, pki_types::pem::PemObject};
    /// use chatproto_tcp::{TcpChatListener, TcpOptions};
    ///
    /// # async fn example() -> Result<(), Box<dyn std::error::Error>> {
    /// let chain = CertificateDer::pem_file_iter("cert.pem")?.collect::<Result<Vec<_>, _>>()?;
    /// let key = PrivateKeyDer::from_pem_file("key.pem")?;
    /// let config = rustls::ServerConfig::builder_with_provider(Arc::new(
    ///     rustls::crypto::ring::default_provider(),
    /// ))
    /// .with_safe_default_protocol_versions()?
    /// .with_no_client_auth()
    /// .with_single_cert(chain, key)?;
    /// let listener =
    ///     TcpChatListener::bind_tls("0.0.0.0:53289".parse()?, TcpOptions::default(), Arc::new(config))
    ///         .await?;
    /// assert!(listener.is_tls());
    /// # Ok(()) }
    /// ```
    pub async fn bind_tls(
        addr: SocketAddr,
        options: TcpOptions,
        config: Arc<ServerConfig>,
    ) -> Result<TcpChatListener, TransportError> {
        let mut listener = TcpChatListener::bind(addr, options.clone()).await?;
        listener.tls = Some(Handshakes {
            acceptor: TlsAcceptor::from(config),
            timeout: options.handshake_timeout,
            running: JoinSet::new(),
        });
        Ok(listener)
    }
}

impl Handshakes {
    /// The next connection whose handshake has succeeded. Errors are the listening socket's only (out
    /// of file descriptors, say). Cancel-safe: a connection accepted meanwhile is kept in `running`.
    pub(crate) async fn accept(
        &mut self,
        listener: &TcpListener,
        session: &SessionConfig,
    ) -> Result<SessionTransport, TransportError> {
        loop {
            let room = self.running.len() < MAX_HANDSHAKES;
            tokio::select! {
                // Finished handshakes first: they are clients ready to be served.
                biased;
                Some(done) = self.running.join_next(), if !self.running.is_empty() => match done {
                    Ok(Ok((stream, peer))) => {
                        return Ok(spawn_over(stream, peer, Role::Server, None, session.clone()));
                    }
                    Ok(Err(error)) => log::info!("{error}"),
                    // A handshake task cannot panic short of a bug in rustls; the others go on.
                    Err(error) => log::warn!("TLS handshake task failed: {error}"),
                },
                accepted = listener.accept(), if room => {
                    let (stream, peer) = accepted?;
                    // Frames are small and latency matters (as for plain TCP).
                    let _ = stream.set_nodelay(true);
                    let acceptor = self.acceptor.clone();
                    let timeout = self.timeout;
                    self.running.spawn(async move {
                        match tokio::time::timeout(timeout, acceptor.accept(stream)).await {
                            Ok(Ok(stream)) => Ok((stream, peer)),
                            Ok(Err(cause)) => Err(HandshakeError::new(peer, cause)),
                            Err(_) => Err(HandshakeError::timed_out(peer, timeout)),
                        }
                    });
                }
            }
        }
    }
}

/// Connects to a chatproto server over TLS, verifying its certificate against `config` for
/// `server_name` (a DNS name, or an IP address for a certificate that names one). The TCP connection and
/// the handshake together are bounded by [`TcpOptions::connect_timeout`].
///
/// A handshake that fails (the certificate is not trusted or does not name `server_name`, or the
/// server does not speak TLS) is a [`TransportError::Io`] holding a [`HandshakeError`]; see
/// [`HandshakeError::find`].
///
/// ```no_run
/// use std::sync::Arc;
///
/// use chatproto_tcp::rustls::pki_types::{CertificateDer, ServerName};
/// use chatproto_tcp::rustls::{self, pki_types::pem::PemObject};
/// use chatproto_tcp::{connect_tls, TcpOptions};
///
/// # async fn example() -> Result<(), Box<dyn std::error::Error>> {
/// let mut roots = rustls::RootCertStore::empty();
/// for cert in CertificateDer::pem_file_iter("ca.pem")? {
///     roots.add(cert?)?;
/// }
/// let config = rustls::ClientConfig::builder_with_provider(Arc::new(
///     rustls::crypto::ring::default_provider(),
/// ))
/// .with_safe_default_protocol_versions()?
/// .with_root_certificates(roots)
/// .with_no_client_auth();
/// let name = ServerName::try_from("chat.example.org")?;
/// let addr = "192.0.2.1:53289".parse()?;
/// let client = connect_tls(addr, TcpOptions::default(), Arc::new(config), name).await?;
/// # Ok(()) }
/// ```
pub async fn connect_tls(
    addr: SocketAddr,
    options: TcpOptions,
    config: Arc<ClientConfig>,
    server_name: ServerName<'static>,
) -> Result<SessionTransport, TransportError> {
    let started = Instant::now();
    let stream = connect_socket(addr, &options).await?;
    let _ = stream.set_nodelay(true);
    let left = options.connect_timeout.saturating_sub(started.elapsed());
    let handshake = TlsConnector::from(config).connect(server_name, stream);
    let stream = match tokio::time::timeout(left, handshake).await {
        Ok(Ok(stream)) => stream,
        Ok(Err(cause)) => return Err(HandshakeError::new(addr, cause).into()),
        Err(_) => return Err(HandshakeError::timed_out(addr, left).into()),
    };
    Ok(spawn_over(
        stream,
        addr,
        Role::Client,
        Some(options.dialect),
        options.session,
    ))
}

/// A TLS handshake that failed: the certificate was not trusted or did not match the name, the peer
/// does not speak TLS, or it took too long.
#[derive(Debug)]
pub struct HandshakeError {
    peer: SocketAddr,
    cause: io::Error,
}

impl HandshakeError {
    fn new(peer: SocketAddr, cause: io::Error) -> HandshakeError {
        HandshakeError { peer, cause }
    }

    fn timed_out(peer: SocketAddr, limit: Duration) -> HandshakeError {
        let cause = io::Error::new(
            io::ErrorKind::TimedOut,
            format!("not finished within {limit:?}"),
        );
        HandshakeError { peer, cause }
    }

    /// The other end.
    pub fn peer(&self) -> SocketAddr {
        self.peer
    }

    /// Why rustls refused the handshake (an untrusted certificate, say), if it was rustls and not the
    /// connection or the clock.
    pub fn tls_error(&self) -> Option<&rustls::Error> {
        self.cause.get_ref()?.downcast_ref()
    }

    /// Whether the handshake ran out of time.
    pub fn is_timeout(&self) -> bool {
        self.cause.kind() == io::ErrorKind::TimedOut
    }

    /// The handshake failure inside a [`TransportError`] from [`connect_tls`], if that is what it was.
    pub fn find(error: &TransportError) -> Option<&HandshakeError> {
        match error {
            TransportError::Io(io) => io.get_ref()?.downcast_ref(),
            _ => None,
        }
    }
}

impl fmt::Display for HandshakeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TLS handshake with {} failed: {}", self.peer, self.cause)
    }
}

impl std::error::Error for HandshakeError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.cause)
    }
}

impl From<HandshakeError> for TransportError {
    fn from(error: HandshakeError) -> TransportError {
        TransportError::Io(io::Error::new(error.cause.kind(), error))
    }
}
