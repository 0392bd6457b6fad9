//! The thread that owns the chat hub: it takes inputs from every session and routes the hub's outputs.

use std::collections::HashMap;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use std::sync::Arc;

use chatproto::chat::{ClientId, Hub, Input, Link, Output, PasswordHasher, Receipt, Store};
use chatproto::Message;
use tokio::sync::mpsc;

/// What a session tells the hub thread.
#[derive(Debug)]
pub(super) enum ToHub {
    /// A new session, and where to send what the hub has for it.
    Connected {
        client: ClientId,
        link: Link,
        outbox: mpsc::Sender<ToSession>,
    },
    /// Anything else.
    Input(Input),
}

/// What the hub thread asks of a session.
#[derive(Debug)]
pub(super) enum ToSession {
    Send(Arc<Message>, Option<Receipt>),
    Confirm(u32),
    Close,
}

/// What one session may have queued from the hub; a session that falls this far behind is a slow consumer
/// and is disconnected rather than allowed to slow everyone else down.
pub(super) const OUTBOX: usize = 4096;

/// Inputs queued for the hub at most; sessions wait when it is full.
pub(super) const INBOX: usize = 4096;

/// Runs the hub on a thread of its own (storage blocks) until every session and listener has gone.
pub(super) fn spawn<S, H>(
    hub: Hub<S, H>,
    inbox: mpsc::Receiver<ToHub>,
) -> std::io::Result<std::thread::JoinHandle<()>>
where
    S: Store + 'static,
    H: PasswordHasher + 'static,
{
    std::thread::Builder::new()
        .name("chat-hub".into())
        .spawn(move || run(hub, inbox))
}

fn unix_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

fn run<S: Store, H: PasswordHasher>(mut hub: Hub<S, H>, mut inbox: mpsc::Receiver<ToHub>) {
    let mut outboxes: HashMap<ClientId, mpsc::Sender<ToSession>> = HashMap::new();
    while let Some(message) = inbox.blocking_recv() {
        let input = match message {
            ToHub::Connected {
                client,
                link,
                outbox,
            } => {
                outboxes.insert(client, outbox);
                Input::Connected(client, link)
            }
            ToHub::Input(input) => input,
        };
        let gone = match input {
            Input::Disconnected(client) => Some(client),
            _ => None,
        };
        for output in hub.handle(Instant::now(), unix_ms(), input) {
            let (client, command) = match output {
                Output::Send {
                    to,
                    message,
                    receipt,
                } => (to, ToSession::Send(message, receipt)),
                Output::Confirm { client, number } => (client, ToSession::Confirm(number)),
                Output::Close(client) => (client, ToSession::Close),
            };
            let Some(outbox) = outboxes.get(&client) else {
                continue;
            };
            if let Err(mpsc::error::TrySendError::Full(_)) = outbox.try_send(command) {
                // Dropping its outbox ends the session task, which then reports the disconnection.
                tracing::warn!(
                    client = client.0,
                    "client is not keeping up; disconnecting it"
                );
                outboxes.remove(&client);
            }
        }
        if let Some(client) = gone {
            outboxes.remove(&client);
        }
    }
    tracing::debug!("hub stopped");
}
