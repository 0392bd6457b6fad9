//! One raw connection to the server: a TCP stream cut into 337-byte frames, or a connected UDP socket.
//! Nothing here knows the protocol beyond the frame length.

use std::io;
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use chatproto::FRAME_LEN;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream, UdpSocket};
use tokio::time::Instant;

use super::config::Transport;

/// What one read found.
// One lives at a time, on the stack: boxing the frame would only add an allocation per read.
#[allow(clippy::large_enum_variant)]
#[derive(Debug)]
pub(crate) enum Read {
    /// A whole frame.
    Frame([u8; FRAME_LEN]),
    /// A datagram that is not one frame long, with its length.
    WrongLength(usize),
    /// The server closed the connection; `partial` bytes of an unfinished frame were left.
    Closed { partial: usize },
    /// The connection failed.
    Failed(io::Error),
    /// Nothing before the deadline.
    TimedOut,
}

/// A TCP stream or a connected UDP socket.
#[derive(Debug)]
pub(crate) enum Conn {
    Tcp {
        stream: TcpStream,
        /// Bytes read and not yet a whole frame.
        pending: Vec<u8>,
        /// The stream has ended; reads report it again.
        ended: bool,
    },
    Udp(UdpSocket),
}

impl Conn {
    /// Connects to `addr`, from `source` when given (an address of this host).
    pub(crate) async fn open(
        transport: Transport,
        addr: SocketAddr,
        source: Option<IpAddr>,
        timeout: Duration,
    ) -> io::Result<Conn> {
        let any = match addr {
            SocketAddr::V4(_) => IpAddr::from([0, 0, 0, 0]),
            SocketAddr::V6(_) => IpAddr::from([0u16; 8]),
        };
        let local = SocketAddr::new(source.unwrap_or(any), 0);
        match transport {
            Transport::Tcp => {
                let socket = match addr {
                    SocketAddr::V4(_) => TcpSocket::new_v4()?,
                    SocketAddr::V6(_) => TcpSocket::new_v6()?,
                };
                if source.is_some() {
                    socket.bind(local)?;
                }
                let stream = tokio::time::timeout(timeout, socket.connect(addr))
                    .await
                    .map_err(|_| io::Error::new(io::ErrorKind::TimedOut, "connect timed out"))??;
                // Frames go out as the case writes them; Nagle would only add delay.
                stream.set_nodelay(true)?;
                Ok(Conn::Tcp {
                    stream,
                    pending: Vec::new(),
                    ended: false,
                })
            }
            Transport::Udp => {
                let socket = UdpSocket::bind(local).await?;
                socket.connect(addr).await?;
                Ok(Conn::Udp(socket))
            }
        }
    }

    /// Sends bytes: on TCP, written to the stream as they are; on UDP, one datagram.
    pub(crate) async fn write(&mut self, bytes: &[u8]) -> io::Result<()> {
        match self {
            Conn::Tcp { stream, .. } => stream.write_all(bytes).await,
            Conn::Udp(socket) => socket.send(bytes).await.map(|_| ()),
        }
    }

    /// Closes the sending direction of a TCP connection (the server sees the end of the stream).
    pub(crate) async fn shutdown(&mut self) -> io::Result<()> {
        match self {
            Conn::Tcp { stream, .. } => stream.shutdown().await,
            Conn::Udp(_) => Ok(()),
        }
    }

    /// The next frame, datagram or end, waiting until `deadline` at most. Cancel-safe.
    pub(crate) async fn read(&mut self, deadline: Instant) -> Read {
        match self {
            Conn::Tcp {
                stream,
                pending,
                ended,
            } => loop {
                if pending.len() >= FRAME_LEN {
                    let mut frame = [0; FRAME_LEN];
                    frame.copy_from_slice(&pending[..FRAME_LEN]);
                    pending.drain(..FRAME_LEN);
                    return Read::Frame(frame);
                }
                if *ended {
                    return Read::Closed {
                        partial: pending.len(),
                    };
                }
                let mut chunk = [0; 4096];
                match tokio::time::timeout_at(deadline, stream.read(&mut chunk)).await {
                    Err(_) => return Read::TimedOut,
                    Ok(Ok(0)) => *ended = true,
                    Ok(Ok(n)) => pending.extend_from_slice(&chunk[..n]),
                    Ok(Err(error)) => {
                        *ended = true;
                        // A reset is how many servers close; it ends the stream like a FIN.
                        if matches!(
                            error.kind(),
                            io::ErrorKind::ConnectionReset | io::ErrorKind::ConnectionAborted
                        ) {
                            continue;
                        }
                        return Read::Failed(error);
                    }
                }
            },
            Conn::Udp(socket) => {
                let mut buf = [0; 2048];
                match tokio::time::timeout_at(deadline, socket.recv(&mut buf)).await {
                    Err(_) => Read::TimedOut,
                    Ok(Ok(len)) if len == FRAME_LEN => {
                        let mut frame = [0; FRAME_LEN];
                        frame.copy_from_slice(&buf[..FRAME_LEN]);
                        Read::Frame(frame)
                    }
                    Ok(Ok(len)) => Read::WrongLength(len),
                    // An ICMP "port unreachable" from an earlier send: the server is not there.
                    Ok(Err(error)) if error.kind() == io::ErrorKind::ConnectionRefused => {
                        Read::Closed { partial: 0 }
                    }
                    Ok(Err(error)) => Read::Failed(error),
                }
            }
        }
    }
}
