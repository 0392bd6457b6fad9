//! Raw sockets to the server, from a chosen loopback address: they send bytes, not sessions, so they can
//! send anything. Linux routes all of 127.0.0.0/8 to the loopback interface, so each hostile connection
//! can come from an address of its own; that spreads per-address limits the way many hosts would,
//! and keeps the normal clients' 127.0.0.1 out of them.

use std::io;
use std::net::{Ipv4Addr, SocketAddr};

use tokio::net::{TcpSocket, TcpStream, UdpSocket};

/// The `i`-th loopback address after 127.0.0.1: 127.0.0.2, … 127.0.0.254, 127.0.1.2, …
pub fn loopback(i: usize) -> Ipv4Addr {
    let i = u32::try_from(i).expect("a small index");
    Ipv4Addr::new(127, 0, (i / 253) as u8, (2 + i % 253) as u8)
}

/// A TCP connection to `server` from `source`.
pub async fn tcp(source: Ipv4Addr, server: SocketAddr) -> io::Result<TcpStream> {
    let socket = TcpSocket::new_v4()?;
    socket.bind(SocketAddr::from((source, 0)))?;
    let stream = socket.connect(server).await?;
    stream.set_nodelay(true)?;
    Ok(stream)
}

/// A UDP socket on `source` that sends to and hears from `server` only.
pub async fn udp(source: Ipv4Addr, server: SocketAddr) -> io::Result<UdpSocket> {
    let socket = UdpSocket::bind(SocketAddr::from((source, 0))).await?;
    socket.connect(server).await?;
    Ok(socket)
}

/// A TCP connection whose incoming bytes are read and dropped, so that the server never waits to write to
/// it: for clients that only send.
pub struct DrainedTcp {
    writer: tokio::net::tcp::OwnedWriteHalf,
    drain: tokio::task::JoinHandle<()>,
}

impl DrainedTcp {
    /// Connects from `source`.
    pub async fn open(source: Ipv4Addr, server: SocketAddr) -> io::Result<DrainedTcp> {
        let (mut reader, writer) = tcp(source, server).await?.into_split();
        let drain = tokio::spawn(async move {
            let mut buf = vec![0; 16 * 1024];
            while let Ok(1..) = tokio::io::AsyncReadExt::read(&mut reader, &mut buf).await {}
        });
        Ok(DrainedTcp { writer, drain })
    }

    /// Writes the frames one by one at [`PACE`](super::PACE).
    pub async fn send_paced(&mut self, frames: &[[u8; chatproto::FRAME_LEN]]) -> io::Result<()> {
        let mut pacer = super::pacer();
        for frame in frames {
            pacer.tick().await;
            tokio::io::AsyncWriteExt::write_all(&mut self.writer, frame).await?;
        }
        Ok(())
    }

    /// Whether the server has closed the connection.
    pub fn closed_by_server(&self) -> bool {
        self.drain.is_finished()
    }
}

impl Drop for DrainedTcp {
    fn drop(&mut self) {
        self.drain.abort();
    }
}
