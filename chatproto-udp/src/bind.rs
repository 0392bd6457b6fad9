//! [`bind`]: a UDP socket whose kernel buffers have room for a session's window.

use std::io;
use std::net::SocketAddr;

use socket2::{Domain, Protocol, Socket, Type};
use tokio::net::UdpSocket;

/// Binds a UDP socket to `addr`, asking the kernel for `buffer` bytes of receive and send buffer
/// (`SO_RCVBUF`, `SO_SNDBUF`). Must be called within a tokio runtime.
///
/// A sender may put its whole send window on the wire at once, and a datagram that finds the
/// receive buffer full is dropped by the kernel, which the session must then recover like a loss on the
/// network. Linux's default buffer (208 KiB) holds fewer than 200 frames' datagrams, less than the default
/// window of 256 (see [`DEFAULT_SOCKET_BUFFER`](crate::DEFAULT_SOCKET_BUFFER)). The kernel caps what is asked at `net.core.rmem_max` and
/// `net.core.wmem_max`; a smaller buffer than asked is no error, only more of those drops.
pub fn bind(addr: SocketAddr, buffer: usize) -> io::Result<UdpSocket> {
    let socket = Socket::new(Domain::for_address(addr), Type::DGRAM, Some(Protocol::UDP))?;
    if buffer > 0 {
        socket.set_recv_buffer_size(buffer)?;
        socket.set_send_buffer_size(buffer)?;
    }
    socket.set_nonblocking(true)?;
    socket.bind(&addr.into())?;
    UdpSocket::from_std(socket.into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn asks_for_the_buffer_and_binds() {
        let socket = bind("127.0.0.1:0".parse().unwrap(), 1 << 20).unwrap();
        assert_ne!(socket.local_addr().unwrap().port(), 0);
        // Linux reports twice what it grants (the rest is its bookkeeping), capped at rmem_max; either way
        // the buffer is no smaller than the default of a socket that asked for nothing.
        let plain = bind("127.0.0.1:0".parse().unwrap(), 0).unwrap();
        let asked = socket2::SockRef::from(&socket).recv_buffer_size().unwrap();
        let default = socket2::SockRef::from(&plain).recv_buffer_size().unwrap();
        assert!(asked >= default, "{asked} < {default}");
    }
}
