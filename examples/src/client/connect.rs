//! Reaching the server: name resolution, then TCP, TLS or UDP with retries, visible progress and a time
//! limit.

use std::fmt;
use std::io::Write;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use chatproto::session::SessionConfig;
use chatproto::transport::{SessionTransport, TransportError};
use chatproto::Dialect;
use chatproto_tcp::{HandshakeError, TcpOptions};
use chatproto_udp::UdpOptions;

use super::tls::TlsClient;

/// How often a TCP connection is tried again while nobody accepts (as the UDP client probes).
pub const RETRY: Duration = Duration::from_millis(200);

/// Which transport.
#[derive(Clone, Debug)]
pub enum Carrier {
    /// `chatproto-tcp`.
    Tcp,
    /// `chatproto-tcp` with TLS.
    Tls(TlsClient),
    /// `chatproto-udp`.
    Udp,
}

impl Carrier {
    /// Whether what is sent is kept from eavesdroppers (PROTOCOL.md §9.1): only TLS does. A server
    /// refuses passwords over the others.
    pub fn is_confidential(&self) -> bool {
        matches!(self, Carrier::Tls(_))
    }
}

impl fmt::Display for Carrier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Carrier::Tcp => "TCP",
            Carrier::Tls(_) => "TLS",
            Carrier::Udp => "UDP",
        })
    }
}

/// Why the server could not be reached.
#[derive(Debug)]
pub struct ConnectError {
    /// Where we tried.
    pub server: String,
    /// How.
    pub carrier: Carrier,
    /// How many tries.
    pub attempts: u32,
    /// How long it took.
    pub elapsed: Duration,
    /// The last thing that went wrong, if it said anything beyond "no answer".
    pub last: Option<String>,
    /// The TLS handshake failed, in words: the server answered, but trust could not be established, and
    /// trying again would not change that.
    pub handshake: Option<String>,
}

impl fmt::Display for ConnectError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(handshake) = &self.handshake {
            return f.write_str(handshake);
        }
        write!(
            f,
            "cannot reach {} over {} after {} attempt{} in {:.1} s",
            self.server,
            self.carrier,
            self.attempts,
            if self.attempts == 1 { "" } else { "s" },
            self.elapsed.as_secs_f64()
        )?;
        if let Some(last) = &self.last {
            write!(f, " (last error: {last})")?;
        }
        Ok(())
    }
}

impl std::error::Error for ConnectError {}

/// Resolves `HOST:PORT` (a literal address needs no lookup). The first address found is used.
pub async fn resolve(server: &str) -> Result<SocketAddr, String> {
    if let Ok(addr) = server.parse() {
        return Ok(addr);
    }
    let mut addrs = tokio::net::lookup_host(server)
        .await
        .map_err(|e| format!("cannot resolve {server}: {e}"))?;
    addrs
        .next()
        .ok_or_else(|| format!("cannot resolve {server}: no addresses"))
}

/// Connects over `carrier`, calling `progress` with the attempt number before each try, giving up after
/// `limit`. A TLS handshake that fails is not tried again.
pub async fn connect(
    server: &str,
    addr: SocketAddr,
    carrier: &Carrier,
    dialect: Dialect,
    limit: Duration,
    progress: impl FnMut(u32),
) -> Result<SessionTransport, ConnectError> {
    match carrier {
        Carrier::Tcp => tcp(server, addr, None, dialect, limit, progress).await,
        Carrier::Tls(tls) => tcp(server, addr, Some(tls), dialect, limit, progress).await,
        Carrier::Udp => {
            let started = Instant::now();
            let options = UdpOptions {
                session: SessionConfig::default(),
                dialect,
                connect_timeout: limit,
                ..UdpOptions::default()
            };
            chatproto_udp::connect_with_progress(addr, options, progress)
                .await
                .map_err(|error| {
                    let (attempts, elapsed, last) = match error {
                        TransportError::ConnectTimeout {
                            attempts, elapsed, ..
                        } => (attempts, elapsed, None),
                        other => (1, started.elapsed(), Some(other.to_string())),
                    };
                    ConnectError {
                        server: server.to_owned(),
                        carrier: carrier.clone(),
                        attempts,
                        elapsed,
                        last,
                        handshake: None,
                    }
                })
        }
    }
}

/// TCP has no retry of its own: try every [`RETRY`] until `limit`, each try allowed what time is left.
/// With `tls`, a handshake that fails ends the tries: the server is there, and will present the same
/// certificate next time.
async fn tcp(
    server: &str,
    addr: SocketAddr,
    tls: Option<&TlsClient>,
    dialect: Dialect,
    limit: Duration,
    mut progress: impl FnMut(u32),
) -> Result<SessionTransport, ConnectError> {
    let started = Instant::now();
    let deadline = started + limit;
    let mut attempts = 0;
    loop {
        attempts += 1;
        progress(attempts);
        let options = TcpOptions {
            session: SessionConfig::stream(),
            dialect,
            connect_timeout: deadline
                .saturating_duration_since(Instant::now())
                .max(Duration::from_millis(1)),
            ..TcpOptions::default()
        };
        let result = match tls {
            None => chatproto_tcp::connect(addr, options).await,
            Some(tls) => {
                chatproto_tcp::connect_tls(addr, options, tls.config.clone(), tls.name.clone())
                    .await
            }
        };
        let carrier = || tls.map_or(Carrier::Tcp, |tls| Carrier::Tls(tls.clone()));
        let error = match result {
            Ok(transport) => return Ok(transport),
            Err(TransportError::ConnectTimeout { .. }) => None,
            Err(error) => {
                if let (Some(tls), Some(handshake)) = (tls, HandshakeError::find(&error)) {
                    return Err(ConnectError {
                        server: server.to_owned(),
                        carrier: carrier(),
                        attempts,
                        elapsed: started.elapsed(),
                        last: Some(error.to_string()),
                        handshake: Some(tls.explain(handshake)),
                    });
                }
                Some(error.to_string())
            }
        };
        tracing::debug!(attempts, ?error, "TCP connect failed");
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(ConnectError {
                server: server.to_owned(),
                carrier: carrier(),
                attempts,
                elapsed: started.elapsed(),
                last: error,
                handshake: None,
            });
        }
        // The last try comes at the limit itself.
        tokio::time::sleep(RETRY.min(left)).await;
    }
}

/// Progress on stderr: `connecting to ADDR over TCP …` at the first attempt, then a dot per retry.
pub fn show_progress(server: &str, carrier: &Carrier) -> impl FnMut(u32) {
    let server = server.to_owned();
    let carrier = carrier.to_string();
    move |attempt| {
        let mut err = std::io::stderr().lock();
        let _ = if attempt == 1 {
            write!(err, "connecting to {server} over {carrier} \u{2026}")
        } else {
            write!(err, ".")
        };
        let _ = err.flush();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn tcp_gives_up_at_the_limit() {
        // A port nothing listens on: bind one, note it, close it.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .unwrap();
        let started = Instant::now();
        let mut seen = 0;
        let error = connect(
            "here",
            port,
            &Carrier::Tcp,
            Dialect::V5,
            Duration::from_millis(700),
            |n| seen = n,
        )
        .await
        .unwrap_err();
        assert!(started.elapsed() < Duration::from_secs(3));
        assert!(error.attempts >= 2, "{error}");
        assert_eq!(seen, error.attempts);
        let text = error.to_string();
        assert!(
            text.starts_with("cannot reach here over TCP after "),
            "{text}"
        );
        assert!(text.contains("(last error: "), "{text}");
        assert!(started.elapsed() >= Duration::from_millis(700));
    }

    #[tokio::test]
    async fn resolves_literals_and_names() {
        assert_eq!(
            resolve("127.0.0.1:9").await,
            Ok("127.0.0.1:9".parse().unwrap())
        );
        assert_eq!(resolve("localhost:9").await.map(|a| a.port()), Ok(9));
        assert!(resolve("no port").await.is_err());
    }
}
