//! One task per session: what the client sends goes to the hub; what the hub has for the client goes out.
//!
//! The hub's commands are carried out a burst at a time: every command already queued is taken at once,
//! and the messages among them go to the transport together ([`Transport::send_batch`]), so that a client
//! that has fallen behind catches up with one write per burst rather than one per message.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use chatproto::chat::{ClientId, Input, Link, Receipt};
use chatproto::session::SharedMessage;
use chatproto::transport::{Incoming, Transport, TransportError};
use tokio::sync::{mpsc, oneshot};

use super::hub_thread::{Outbox, ToHub, ToSession, OUTBOX};

/// Receipts awaiting their recipient's confirmation, per session; the oldest go first beyond this.
const MAX_RECEIPTS: usize = 4096;
/// How long a closing session may take to flush; a peer that takes longer is cut off.
const CLOSE_WITHIN: Duration = Duration::from_secs(2);
/// How long a session may be unable to take a message before its client counts as not reading:
/// the bound for a client that falls behind too slowly to fill its outbox.
const SEND_WITHIN: Duration = Duration::from_secs(10);
/// Commands carried out, or items taken from the client, in one go at most: each side gets its turn.
const BURST: usize = 256;

/// Frees `buffer` once emptied. Bursts through this task are rare (relays go straight to the transport),
/// and most sessions are idle most of the time: keeping room between bursts would cost every one of them.
fn release<T>(buffer: &mut Vec<T>) {
    if buffer.is_empty() && buffer.capacity() > 0 {
        *buffer = Vec::new();
    }
}

/// Serves one session until it ends, then tells the hub.
pub(super) async fn serve<T: Transport>(
    client: ClientId,
    link: Link,
    transport: T,
    hub: mpsc::Sender<ToHub>,
) {
    let (commands_tx, commands) = mpsc::channel(OUTBOX);
    let (cut_off_tx, mut cut_off) = oneshot::channel();
    let queued = Arc::new(AtomicUsize::new(0));
    let via_task = Arc::new(AtomicUsize::new(0));
    let outbox = Outbox {
        commands: commands_tx,
        queued: queued.clone(),
        via_task: via_task.clone(),
        relayer: transport.relayer(),
        cut_off: cut_off_tx,
    };
    let connected = ToHub::Connected {
        client,
        link,
        outbox,
    };
    if hub.send(connected).await.is_err() {
        return;
    }
    let mut task = SessionTask {
        client,
        peer: transport.peer_addr(),
        transport,
        hub,
        commands,
        queued,
        via_task,
        burst_bytes: 0,
        receipts: BTreeMap::new(),
        burst: Vec::new(),
        burst_receipts: Vec::new(),
        numbers: Vec::new(),
        incoming: Vec::new(),
    };
    tracing::debug!(client = client.0, peer = ?task.peer, "session started");
    loop {
        let step = tokio::select! {
            // First, so that a session cut off stops even while it waits on a full transport.
            biased;
            _ = &mut cut_off => {
                // the hub has logged why. What is queued is dropped and the connection closed now.
                tracing::debug!(client = client.0, peer = ?task.peer, "session cut off");
                task.transport.abort();
                Step::Stop
            }
            step = task.step() => step,
        };
        if let Step::Stop = step {
            break;
        }
    }
    tracing::debug!(client = client.0, peer = ?task.peer, "session closed");
    let _ = task
        .hub
        .send(ToHub::Input(Input::Disconnected(client)))
        .await;
}

/// Whether the session goes on.
enum Step {
    Go,
    Stop,
}

/// One session's task, between its transport and the hub.
struct SessionTask<T> {
    client: ClientId,
    peer: Option<SocketAddr>,
    transport: T,
    hub: mpsc::Sender<ToHub>,
    commands: mpsc::Receiver<ToSession>,
    /// Text bytes the hub has queued for this session and it has not yet put into its session.
    queued: Arc<AtomicUsize>,
    /// Commands the hub has sent this task that are not yet with the transport: while there are any,
    /// the hub relays through this task rather than straight to the transport, keeping their order.
    via_task: Arc<AtomicUsize>,
    /// Text bytes of the burst being gathered.
    burst_bytes: usize,
    /// Receipts by the packet number of the message they are for.
    receipts: BTreeMap<u32, Receipt>,
    /// Messages gathered for the next burst, the receipt of each, and then their numbers. Kept from burst
    /// to burst, so that sending allocates nothing once they have grown.
    burst: Vec<Arc<SharedMessage>>,
    burst_receipts: Vec<Option<Receipt>>,
    numbers: Vec<u32>,
    /// What the client sent, taken a burst at a time.
    incoming: Vec<Incoming>,
}

impl<T: Transport> SessionTask<T> {
    /// Waits for the hub or the client, and does what it asks.
    async fn step(&mut self) -> Step {
        tokio::select! {
            command = self.commands.recv() => match command {
                Some(command) => {
                    let mut taken = 0;
                    let step = self.carry_out(command, &mut taken).await;
                    // With the transport now, in order: the hub may relay past this task again.
                    self.via_task.fetch_sub(taken, Ordering::AcqRel);
                    step
                }
                None => self.close().await,
            },
            taken = self.transport.recv_many(&mut self.incoming, BURST) => self.receive(taken).await,
        }
    }

    /// Carries out `first` and every command queued behind it (up to [`BURST`]), the messages among them
    /// as one burst.
    /// Counts in `taken` the commands it took.
    async fn carry_out(&mut self, first: ToSession, taken: &mut usize) -> Step {
        // Room for what is queued, at once, rather than growing message by message; none for a confirmation
        // (most of what comes this way), which needs none.
        if matches!(first, ToSession::Relay(_) | ToSession::Send(_)) {
            let queued = BURST.min(self.commands.len() + 1);
            self.burst.reserve(queued);
            self.burst_receipts.reserve(queued);
        }
        let mut next = Some(first);
        while let Some(command) = next {
            *taken += 1;
            self.burst_bytes += command.text_bytes();
            match command {
                ToSession::Relay(message) => {
                    self.burst.push(message);
                    self.burst_receipts.push(None);
                }
                ToSession::Send(send) => {
                    let (message, receipt) = *send;
                    self.burst.push(message);
                    self.burst_receipts.push(Some(receipt));
                }
                // A CONFIRM goes out ahead of the data frames of the same write whatever the order here,
                // so it need not wait for the burst.
                ToSession::Confirm(number) => {
                    if self.transport.confirm(number).await.is_err() {
                        return Step::Stop;
                    }
                }
                ToSession::Close => {
                    if self.flush().await.is_err() {
                        return Step::Stop;
                    }
                    return self.close().await;
                }
            }
            next = if *taken < BURST {
                self.commands.try_recv().ok()
            } else {
                None
            };
        }
        match self.flush().await {
            Ok(()) => Step::Go,
            Err(_) => Step::Stop,
        }
    }

    /// Sends the burst gathered so far, and files the receipts of its messages under their numbers.
    async fn flush(&mut self) -> Result<(), TransportError> {
        if self.burst.is_empty() {
            self.queued.fetch_sub(self.burst_bytes, Ordering::Relaxed);
            self.burst_bytes = 0;
            return Ok(());
        }
        // Numbers and confirmations are wanted only to answer receipts. A burst without any (broadcasts,
        // notices) is relayed: no waiting for the numbers, and no confirmation passed on per message.
        let sending = async {
            if self.burst_receipts.iter().any(Option::is_some) {
                self.transport
                    .send_batch(&mut self.burst, &mut self.numbers)
                    .await
            } else {
                self.transport.relay(&mut self.burst).await
            }
        };
        let Ok(sent) = tokio::time::timeout(SEND_WITHIN, sending).await else {
            // its session has had no room for this long; the reason is logged, and it is closed now.
            tracing::warn!(
                client = self.client.0,
                peer = ?self.peer,
                "client has not read for {SEND_WITHIN:?}; disconnecting it"
            );
            self.transport.abort();
            return Err(TransportError::Closed);
        };
        // In the session now (which bounds what it holds itself, R-7.5), or dropped with it.
        self.queued.fetch_sub(self.burst_bytes, Ordering::Relaxed);
        self.burst_bytes = 0;
        for (number, receipt) in self.numbers.drain(..).zip(self.burst_receipts.drain(..)) {
            // Legacy sessions number nothing: there is nothing to confirm a receipt by.
            if let (Some(receipt), true) = (receipt, number != 0) {
                self.receipts.insert(number, receipt);
                if self.receipts.len() > MAX_RECEIPTS {
                    self.receipts.pop_first();
                }
            }
        }
        self.burst.clear();
        self.burst_receipts.clear();
        // Small buffers are kept; a large burst allocates its own, sized at once, rather than an idle
        // session keeping them.
        release(&mut self.burst);
        release(&mut self.burst_receipts);
        release(&mut self.numbers);
        if let Err(error) = &sent {
            tracing::debug!(client = self.client.0, %error, "send failed");
        }
        sent
    }

    /// Closes the session once what is queued has gone out and been confirmed, or cuts it off if that
    /// takes longer than [`CLOSE_WITHIN`].
    async fn close(&mut self) -> Step {
        if tokio::time::timeout(CLOSE_WITHIN, self.transport.close())
            .await
            .is_err()
        {
            self.transport.abort();
        }
        Step::Stop
    }

    /// Passes on what the client sent: the messages, and the confirmations that answer receipts.
    async fn receive(&mut self, taken: Result<usize, TransportError>) -> Step {
        match taken {
            Ok(0) => return Step::Stop,
            Ok(_) => {}
            Err(error) => {
                tracing::info!(client = self.client.0, peer = ?self.peer, %error, "session ended");
                return Step::Stop;
            }
        }
        for item in self.incoming.drain(..) {
            let input = match item {
                Incoming::Message(message) => Input::Received(self.client, message),
                Incoming::Confirmed(number) => match self.receipts.remove(&number) {
                    Some(receipt) => Input::Delivered(receipt),
                    None => continue,
                },
            };
            if self.hub.send(ToHub::Input(input)).await.is_err() {
                return Step::Stop;
            }
        }
        // Freed, not kept: what a client sends is rare beside what it is sent, and an idle session (most
        // of them) would otherwise keep room for messages for ever.
        self.incoming = Vec::new();
        Step::Go
    }
}
