//! [`PeerWriter`]: one peer's frames over a socket shared with others, and the routing of received
//! datagrams (each peer's arrive through a [`chatproto::transport::ChannelReader`]).

use std::net::SocketAddr;
use std::sync::Arc;

use async_trait::async_trait;
use chatproto::transport::{FrameWriter, TransportError};
use chatproto::FRAME_LEN;

use crate::socket::DatagramSocket;

/// Sends one peer's frames, a datagram each, on a shared socket.
#[derive(Debug)]
pub struct PeerWriter<S> {
    socket: Arc<S>,
    peer: SocketAddr,
}

impl<S> PeerWriter<S> {
    /// Writes to `peer` through `socket`.
    pub fn new(socket: Arc<S>, peer: SocketAddr) -> PeerWriter<S> {
        PeerWriter { socket, peer }
    }
}

#[async_trait]
impl<S: DatagramSocket> FrameWriter for PeerWriter<S> {
    async fn write(&mut self, frames: &[[u8; FRAME_LEN]]) -> Result<(), TransportError> {
        // one frame per datagram.
        for frame in frames {
            self.socket.send_to(frame, self.peer).await?;
        }
        Ok(())
    }
}

/// Receives datagrams on `socket` and routes each well-sized one from a known peer to it. Wrong-sized
/// datagrams are dropped here; a full peer queue drops too, as the network would, and the session
/// retransmits.
pub(crate) async fn route_datagram<S: DatagramSocket>(
    socket: &S,
    buf: &mut [u8; FRAME_LEN + 1],
) -> std::io::Result<Option<([u8; FRAME_LEN], SocketAddr)>> {
    let (len, from) = socket.recv_from(buf).await?;
    if len != FRAME_LEN {
        return Ok(None);
    }
    let mut frame = [0; FRAME_LEN];
    frame.copy_from_slice(&buf[..FRAME_LEN]);
    Ok(Some((frame, from)))
}
