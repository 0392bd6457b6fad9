//! One task per session: what the client sends goes to the hub; what the hub has for the client goes out.

use std::collections::BTreeMap;
use std::time::Duration;

use chatproto::chat::{ClientId, Input, Link, Receipt};
use chatproto::transport::{Incoming, Transport};
use chatproto::Message;
use tokio::sync::mpsc;

use super::hub_thread::{ToHub, ToSession, OUTBOX};

/// Receipts awaiting their recipient's confirmation, per session; the oldest go first beyond this.
const MAX_RECEIPTS: usize = 4096;
/// How long a closing session may take to flush.
const CLOSE_WITHIN: Duration = Duration::from_secs(2);
/// How long a session may be unable to take a message before its client counts as not reading.
const SEND_WITHIN: Duration = Duration::from_secs(10);

/// Serves one session until it ends, then tells the hub.
pub(super) async fn serve<T: Transport>(
    client: ClientId,
    link: Link,
    mut transport: T,
    hub: mpsc::Sender<ToHub>,
) {
    let (outbox, mut commands) = mpsc::channel(OUTBOX);
    let connected = ToHub::Connected {
        client,
        link,
        outbox,
    };
    if hub.send(connected).await.is_err() {
        return;
    }
    let peer = transport.peer_addr();
    tracing::debug!(client = client.0, ?peer, "session started");
    let mut receipts: BTreeMap<u32, Receipt> = BTreeMap::new();
    loop {
        tokio::select! {
            command = commands.recv() => match command {
                Some(ToSession::Send(message, receipt)) => {
                    // a client that does not read fills its session's window and then this send
                    // waits. One that cannot take a message for this long is cut off, so that what is queued
                    // for it stays bounded and it slows nobody else.
                    let sent = tokio::time::timeout(SEND_WITHIN, transport.send(Message::clone(&message)));
                    match sent.await {
                        Ok(Ok(number)) => {
                            if let (Some(receipt), true) = (receipt, number != 0) {
                                receipts.insert(number, receipt);
                                if receipts.len() > MAX_RECEIPTS {
                                    receipts.pop_first();
                                }
                            }
                        }
                        Ok(Err(error)) => {
                            tracing::debug!(client = client.0, %error, "send failed");
                            break;
                        }
                        Err(_) => {
                            tracing::warn!(
                                client = client.0,
                                ?peer,
                                "client has not read for {SEND_WITHIN:?}; disconnecting it"
                            );
                            break;
                        }
                    }
                }
                Some(ToSession::Confirm(number)) => {
                    if transport.confirm(number).await.is_err() {
                        break;
                    }
                }
                Some(ToSession::Close) | None => {
                    let _ = tokio::time::timeout(CLOSE_WITHIN, transport.close()).await;
                    break;
                }
            },
            incoming = transport.recv() => match incoming {
                Ok(Some(Incoming::Message(message))) => {
                    if hub.send(ToHub::Input(Input::Received(client, message))).await.is_err() {
                        break;
                    }
                }
                Ok(Some(Incoming::Confirmed(number))) => {
                    if let Some(receipt) = receipts.remove(&number) {
                        let _ = hub.send(ToHub::Input(Input::Delivered(receipt))).await;
                    }
                }
                Ok(None) => break,
                Err(error) => {
                    tracing::info!(client = client.0, ?peer, %error, "session ended");
                    break;
                }
            },
        }
    }
    tracing::debug!(client = client.0, ?peer, "session closed");
    let _ = hub.send(ToHub::Input(Input::Disconnected(client))).await;
}
