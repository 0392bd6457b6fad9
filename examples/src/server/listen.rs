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

/// How long accepting pauses after an error: out of file descriptors or memory, retrying at once would only
/// spin.
const RETRY_AFTER: Duration = Duration::from_millis(100);

/// Accepts until `stop` fires, then hands the listener back. An accept error (out of file descriptors,
/// say) pauses accepting and retries, instead of ending the server: its sessions go on meanwhile.
/// A run of errors is logged when it begins and when it ends, not once per retry.
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
    // Accept errors since the last success.
    let mut failures: u64 = 0;
    loop {
        let accepted = tokio::select! {
            _ = stop.changed() => return Box::new(listener),
            accepted = listener.accept() => accepted,
        };
        match accepted {
            Ok(transport) => {
                if failures > 0 {
                    tracing::info!(failures, "accepting again");
                    failures = 0;
                }
                let client = ClientId(ids.fetch_add(1, Ordering::Relaxed));
                let link = confidentiality.link(transport.peer_addr());
                tokio::spawn(session_task::serve(client, link, transport, hub.clone()));
            }
            Err(error) => {
                if failures == 0 {
                    tracing::warn!(%error, "accept failed; retrying every {RETRY_AFTER:?} meanwhile");
                }
                failures += 1;
                tokio::select! {
                    _ = stop.changed() => return Box::new(listener),
                    _ = tokio::time::sleep(RETRY_AFTER) => {}
                }
            }
        }
    }
}
