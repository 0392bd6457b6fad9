//! The accept loops: each accepted transport gets a session task.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use chatproto::chat::{ClientId, Link};
use chatproto::transport::{Listener, Transport};
use tokio::sync::{mpsc, watch};

use super::hub_thread::ToHub;
use super::session_task;

/// A listener handed back when accepting stops. It must outlive the sessions it made: a UDP listener's
/// socket task feeds them their datagrams.
pub(super) type Stopped = Box<dyn std::any::Any + Send>;

/// Which sessions may carry passwords.
#[derive(Clone, Copy, Debug)]
pub(super) enum Confidentiality {
    /// Every session: the listener is TLS.
    #[allow(dead_code)] // Until the TLS listener is wired in.
    Always,
    /// Plaintext sessions from loopback addresses, as the operator allowed.
    Loopback,
    /// None: plain TCP or UDP.
    Never,
}

impl Confidentiality {
    fn link(self, peer: Option<std::net::SocketAddr>) -> Link {
        let confidential = match self {
            Confidentiality::Always => true,
            Confidentiality::Loopback => peer.is_some_and(|p| p.ip().is_loopback()),
            Confidentiality::Never => false,
        };
        Link { peer, confidential }
    }
}

/// Accepts until `stop` fires, then hands the listener back. An accept error (out of file descriptors,
/// say) is logged and retried after a pause instead of ending the server.
pub(super) async fn accept_loop<L>(
    mut listener: L,
    confidentiality: Confidentiality,
    hub: mpsc::Sender<ToHub>,
    ids: Arc<AtomicU64>,
    mut stop: watch::Receiver<bool>,
) -> Stopped
where
    L: Listener + 'static,
    L::Transport: 'static,
{
    loop {
        let accepted = tokio::select! {
            _ = stop.changed() => return Box::new(listener),
            accepted = listener.accept() => accepted,
        };
        match accepted {
            Ok(transport) => {
                let client = ClientId(ids.fetch_add(1, Ordering::Relaxed));
                let link = confidentiality.link(transport.peer_addr());
                tokio::spawn(session_task::serve(client, link, transport, hub.clone()));
            }
            Err(error) => {
                tracing::warn!(%error, "accept failed");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
}
