//! The accept loops: each accepted transport gets a session task.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use chatproto::chat::ClientId;
use chatproto::transport::Listener;
use tokio::sync::mpsc;

use super::hub_thread::ToHub;
use super::session_task;

/// Accepts until the task is aborted. An accept error (out of file descriptors, say) is logged and
/// retried after a pause instead of ending the server.
pub(super) async fn accept_loop<L>(mut listener: L, hub: mpsc::Sender<ToHub>, ids: Arc<AtomicU64>)
where
    L: Listener,
    L::Transport: 'static,
{
    loop {
        match listener.accept().await {
            Ok(transport) => {
                let client = ClientId(ids.fetch_add(1, Ordering::Relaxed));
                tokio::spawn(session_task::serve(client, transport, hub.clone()));
            }
            Err(error) => {
                tracing::warn!(%error, "accept failed");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
}
