//! The thread that owns the chat hub: it takes inputs from every session and routes the hub's outputs.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use chatproto::chat::{ClientId, Hub, Input, Link, Output, PasswordHasher, Receipt, Store};
use chatproto::session::SharedMessage;
use chatproto::transport::{RelayError, Relayer};
use chatproto::Message;
use tokio::sync::{mpsc, oneshot};

/// What a session tells the hub thread.
#[derive(Debug)]
pub(super) enum ToHub {
    /// A new session, and where to send what the hub has for it.
    Connected {
        client: ClientId,
        link: Link,
        outbox: Outbox,
    },
    /// Anything else.
    Input(Input),
}

/// What the hub thread asks of a session.
#[derive(Debug)]
pub(super) enum ToSession {
    /// A message without a receipt, shared with every other session it goes to, so that it is encoded once.
    Relay(Arc<SharedMessage>),
    /// A message, and the receipt that answers its delivery; boxed together to keep this small.
    Send(Box<(Arc<SharedMessage>, Receipt)>),
    Confirm(u32),
    Close,
}

// Kept to 16 bytes: tokio's channel holds its slots in blocks of 32, and keeps up to three spare blocks
// once it has been busy, so every byte here costs an idle session up to 128.
const _: () = assert!(std::mem::size_of::<ToSession>() == 16);

/// The hub thread's way to one session.
#[derive(Debug)]
pub(super) struct Outbox {
    /// What the hub has for the session, at most [`OUTBOX`] commands.
    pub(super) commands: mpsc::Sender<ToSession>,
    /// Text bytes of the messages sent into `commands` that the session has not yet put into its
    /// session, at most [`OUTBOX_BYTES`]: the session task takes them off once they are in.
    pub(super) queued: Arc<AtomicUsize>,
    /// Commands sent into `commands` that the session task has not yet passed to its transport.
    pub(super) via_task: Arc<AtomicUsize>,
    /// The transport's own queue, for relays while nothing is on its way through `commands`: one task
    /// woken per delivery instead of two. `None` for a transport without one.
    pub(super) relayer: Option<Relayer>,
    /// Fired (or dropped) when the session must end at once: it has not kept up. A separate
    /// channel, because the outbox of such a session is full.
    pub(super) cut_off: oneshot::Sender<()>,
}

impl Outbox {
    /// Queues `command`, unless that would take the session past either bound.
    fn offer(&self, command: ToSession) -> Result<(), Full> {
        // A relay (a message without a receipt) goes straight to the transport's queue, unless commands
        // sent through the session task are still on their way: it must not overtake them. While that
        // queue is full, the message takes the session task's way, which waits for room, and so do those
        // after it until the task has caught up; only a session whose outbox fills too is cut off.
        if let (ToSession::Relay(message), Some(relayer)) = (&command, &self.relayer) {
            if self.via_task.load(Ordering::Acquire) == 0 {
                match relayer.try_relay(Arc::clone(message)) {
                    Ok(()) => return Ok(()),
                    // The session has ended; its disconnection is on its way to the hub.
                    Err(RelayError::Closed) => return Ok(()),
                    Err(RelayError::Full) => {}
                }
            }
        }
        let bytes = command.text_bytes();
        if self.queued.load(Ordering::Relaxed) + bytes > OUTBOX_BYTES {
            return Err(Full);
        }
        // Counted before it is sent, so that the session task, which takes it off once the command is
        // with the transport, never sees it go below zero.
        self.via_task.fetch_add(1, Ordering::AcqRel);
        match self.commands.try_send(command) {
            Ok(()) => {
                self.queued.fetch_add(bytes, Ordering::Relaxed);
                Ok(())
            }
            Err(error) => {
                self.via_task.fetch_sub(1, Ordering::AcqRel);
                match error {
                    mpsc::error::TrySendError::Full(_) => Err(Full),
                    // The session has ended; its disconnection is on its way to the hub.
                    mpsc::error::TrySendError::Closed(_) => Ok(()),
                }
            }
        }
    }
}

/// An outbox that cannot take more.
struct Full;

impl ToSession {
    /// The text bytes it queues, counted against [`OUTBOX_BYTES`].
    pub(super) fn text_bytes(&self) -> usize {
        match self {
            ToSession::Relay(message) => message.message().text.len(),
            ToSession::Send(send) => send.0.message().text.len(),
            ToSession::Confirm(_) | ToSession::Close => 0,
        }
    }
}

/// What one session may have queued from the hub, in commands and in text bytes; a session that falls
/// this far behind is a slow consumer and is disconnected rather than allowed to slow everyone else down
/// or to make the server hold its backlog. With messages of a frame or less the count binds first;
/// the byte bound is for long messages (up to 64 KiB each, R-6.3).
pub(super) const OUTBOX: usize = 4096;
pub(super) const OUTBOX_BYTES: usize = 1024 * 1024;

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

/// Outputs gathered in one step at most: the hub takes every input already queued (up to this many
/// outputs) before it hands anything out.
const STEP_OUTPUTS: usize = 16 * 1024;
/// How long one step may go on taking inputs: what the first input of a step answers waits for the step
/// to end. A store that syncs each write to disk takes longer than this per input, so it gets a step per
/// input, as though there were no steps.
const STEP_TIME: Duration = Duration::from_millis(1);

fn run<S: Store, H: PasswordHasher>(mut hub: Hub<S, H>, mut inbox: mpsc::Receiver<ToHub>) {
    let mut step = Step {
        outboxes: HashMap::new(),
        shared: Shared::default(),
        outputs: Vec::new(),
        gone: Vec::new(),
    };
    while let Some(first) = inbox.blocking_recv() {
        // Every input already queued is handled before anything is handed out, so that a burst of
        // messages reaches each session as one burst: its task is woken once for all of them, and it
        // writes them at once.
        let started = Instant::now();
        let mut inputs = 0;
        let mut next = Some(first);
        while let Some(message) = next {
            step.handle(&mut hub, message);
            inputs += 1;
            next = if step.outputs.len() < STEP_OUTPUTS && started.elapsed() < STEP_TIME {
                inbox.try_recv().ok()
            } else {
                None
            };
        }
        if inputs > 1 {
            // Grouped by session; stable, so each session's commands keep their order.
            step.outputs.sort_by_key(|(client, _)| *client);
        }
        step.hand_out();
    }
    tracing::debug!("hub stopped");
}

/// What the hub thread keeps from step to step.
struct Step {
    outboxes: HashMap<ClientId, Outbox>,
    shared: Shared,
    /// The commands of this step, in the order the hub gave them. Bounded by [`STEP_OUTPUTS`] and what
    /// one input adds, and kept from step to step.
    outputs: Vec<(ClientId, ToSession)>,
    /// Sessions that ended in this step.
    gone: Vec<ClientId>,
}

impl Step {
    /// Gives `message` to the hub and gathers what it answers.
    fn handle<S: Store, H: PasswordHasher>(&mut self, hub: &mut Hub<S, H>, message: ToHub) {
        let input = match message {
            ToHub::Connected {
                client,
                link,
                outbox,
            } => {
                self.outboxes.insert(client, outbox);
                Input::Connected(client, link)
            }
            ToHub::Input(input) => input,
        };
        if let Input::Disconnected(client) = input {
            self.gone.push(client);
        }
        for output in hub.handle(Instant::now(), unix_ms(), input) {
            let command = match output {
                Output::Send {
                    to,
                    message,
                    receipt,
                } => {
                    let message = self.shared.wrap(message);
                    let command = match receipt {
                        Some(receipt) => ToSession::Send(Box::new((message, receipt))),
                        None => ToSession::Relay(message),
                    };
                    (to, command)
                }
                Output::Confirm { client, number } => (client, ToSession::Confirm(number)),
                Output::Close(client) => (client, ToSession::Close),
            };
            self.outputs.push(command);
        }
    }

    /// Hands this step's commands to their sessions.
    fn hand_out(&mut self) {
        for (client, command) in self.outputs.drain(..) {
            let Some(outbox) = self.outboxes.get(&client) else {
                continue;
            };
            if let Err(Full) = outbox.offer(command) {
                // its queue is full, so it is closed now, and why is logged. Waiting for room would
                // hold up every other session.
                tracing::warn!(
                    client = client.0,
                    queued_messages = outbox.commands.max_capacity() - outbox.commands.capacity(),
                    queued_bytes = outbox.queued.load(Ordering::Relaxed),
                    "client is not keeping up; disconnecting it"
                );
                if let Some(outbox) = self.outboxes.remove(&client) {
                    let _ = outbox.cut_off.send(());
                }
            }
        }
        // The messages of this step have all been handed out; holding them longer would only keep them
        // in memory.
        self.shared.clear();
        for client in self.gone.drain(..) {
            self.outboxes.remove(&client);
        }
    }
}

/// The shared form of the messages of one hub step. The hub relays a message to many sessions as one
/// `Arc` per dialect; each gets one [`SharedMessage`] here, so that the message is encoded once per
/// dialect however many sessions it goes to, and handing it to each session costs a reference count.
#[derive(Default)]
struct Shared {
    /// The most recent few, newest last. A step relays one message in at most two forms (v5 and v4),
    /// interleaved by recipient, so a handful always finds it.
    recent: Vec<Arc<SharedMessage>>,
}

/// Messages remembered by [`Shared`].
const RECENT: usize = 4;

impl Shared {
    fn wrap(&mut self, message: Arc<Message>) -> Arc<SharedMessage> {
        if let Some(found) = self
            .recent
            .iter()
            .rev()
            .find(|shared| Arc::ptr_eq(shared.message(), &message))
        {
            return Arc::clone(found);
        }
        let wrapped = Arc::new(SharedMessage::new(message));
        if self.recent.len() == RECENT {
            self.recent.remove(0);
        }
        self.recent.push(Arc::clone(&wrapped));
        wrapped
    }

    fn clear(&mut self) {
        self.recent.clear();
    }
}
