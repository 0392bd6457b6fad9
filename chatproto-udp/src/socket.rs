//! [`DatagramSocket`]: the datagram operations the transport uses.

use std::io;
use std::net::SocketAddr;

use async_trait::async_trait;

/// A datagram socket. Implemented for `tokio::net::UdpSocket`; a simulated network (such as turmoil's)
/// implements it to run the same transport deterministically.
#[async_trait]
pub trait DatagramSocket: Send + Sync + 'static {
    /// Sends one datagram to `target`.
    async fn send_to(&self, buf: &[u8], target: SocketAddr) -> io::Result<usize>;
    /// Receives one datagram. Cancel-safe.
    async fn recv_from(&self, buf: &mut [u8]) -> io::Result<(usize, SocketAddr)>;
    /// The local address.
    fn local_addr(&self) -> io::Result<SocketAddr>;
}

#[async_trait]
impl DatagramSocket for tokio::net::UdpSocket {
    async fn send_to(&self, buf: &[u8], target: SocketAddr) -> io::Result<usize> {
        tokio::net::UdpSocket::send_to(self, buf, target).await
    }

    async fn recv_from(&self, buf: &mut [u8]) -> io::Result<(usize, SocketAddr)> {
        tokio::net::UdpSocket::recv_from(self, buf).await
    }

    fn local_addr(&self) -> io::Result<SocketAddr> {
        tokio::net::UdpSocket::local_addr(self)
    }
}
