//! [`UdpChatListener`]: one socket, many peers, a session each.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;

use async_trait::async_trait;
use chatproto::session::{Role, Session};
use chatproto::transport::{ChannelReader, Listener, SessionTransport, TransportError};
use chatproto::{PacketView, FRAME_LEN};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use crate::client::UdpOptions;
use crate::peer::{route_datagram, PeerWriter};
use crate::socket::DatagramSocket;

/// Datagrams queued for one peer's session at most; more are dropped, as a congested network would.
const PEER_QUEUE: usize = 1024;
/// New peers waiting for `accept` at most; the demultiplexer waits when it is full.
const ACCEPT_QUEUE: usize = 128;

/// A UDP server endpoint. A task reads the socket and routes each datagram to its sender's session; the
/// first well-formed frame from a new address creates that session and yields it from `accept`.
#[derive(Debug)]
pub struct UdpChatListener {
    accepted: mpsc::Receiver<SessionTransport>,
    local: SocketAddr,
    task: JoinHandle<()>,
}

impl UdpChatListener {
    /// Listens on `addr`.
    pub async fn bind(
        addr: SocketAddr,
        options: UdpOptions,
    ) -> Result<UdpChatListener, TransportError> {
        let socket = crate::bind(addr, options.socket_buffer)?;
        UdpChatListener::on(Arc::new(socket), options)
    }

    /// Listens on a socket already bound (a simulated one, for instance).
    pub fn on<S: DatagramSocket>(
        socket: Arc<S>,
        options: UdpOptions,
    ) -> Result<UdpChatListener, TransportError> {
        let local = socket.local_addr()?;
        let (tx, accepted) = mpsc::channel(ACCEPT_QUEUE);
        let task = tokio::spawn(demultiplex(socket, options, tx));
        Ok(UdpChatListener {
            accepted,
            local,
            task,
        })
    }
}

impl Drop for UdpChatListener {
    fn drop(&mut self) {
        self.task.abort();
    }
}

#[async_trait]
impl Listener for UdpChatListener {
    type Transport = SessionTransport;

    async fn accept(&mut self) -> Result<SessionTransport, TransportError> {
        self.accepted.recv().await.ok_or(TransportError::Closed)
    }

    fn local_addr(&self) -> Result<SocketAddr, TransportError> {
        Ok(self.local)
    }
}

async fn demultiplex<S: DatagramSocket>(
    socket: Arc<S>,
    options: UdpOptions,
    accepted: mpsc::Sender<SessionTransport>,
) {
    let mut peers: HashMap<SocketAddr, mpsc::Sender<[u8; FRAME_LEN]>> = HashMap::new();
    let mut buf = [0; FRAME_LEN + 1];
    let mut created_since_prune = 0usize;
    loop {
        let (frame, from) = match route_datagram(&*socket, &mut buf).await {
            Ok(Some(datagram)) => datagram,
            // a wrong-sized datagram is dropped without touching any session.
            Ok(None) => continue,
            // ICMP errors from earlier sends surface here on some systems; they concern one peer only.
            Err(_) => continue,
        };
        if let Some(peer) = peers.get(&from) {
            match peer.try_send(frame) {
                Ok(()) | Err(mpsc::error::TrySendError::Full(_)) => continue,
                // That session has ended; a new frame from the address starts a new one.
                Err(mpsc::error::TrySendError::Closed(_)) => {
                    peers.remove(&from);
                }
            }
        }
        // A new address gets a session only for a frame that decodes, so garbage costs nothing.
        if PacketView::decode(&frame).is_err() {
            continue;
        }
        let (tx, rx) = mpsc::channel(PEER_QUEUE);
        let _ = tx.try_send(frame);
        // tokio's clock, so that simulated time (turmoil) drives the session too.
        let now = tokio::time::Instant::now().into_std();
        let session = Session::new(Role::Server, None, options.session.clone(), now);
        let writer = PeerWriter::new(socket.clone(), from);
        let transport =
            SessionTransport::spawn(session, ChannelReader::new(rx), writer, Some(from));
        if accepted.send(transport).await.is_err() {
            return;
        }
        peers.insert(from, tx);
        created_since_prune += 1;
        // Forget ended sessions now and then, so the table tracks the live peers.
        if created_since_prune >= 64 {
            peers.retain(|_, peer| !peer.is_closed());
            created_since_prune = 0;
        }
    }
}
