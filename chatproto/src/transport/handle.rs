//! [`SessionTransport`]: the application's handle to a session driven by a task of its own (see `driver`).
//!
//! The handle talks to the task through two bounded channels. What goes through them is kept small (a
//! pointer or a number each), since tokio keeps a few blocks of every channel's slots for reuse: a slot
//! the size of a message would cost kilobytes per idle session.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::Arc;

use async_trait::async_trait;
use tokio::sync::{mpsc, oneshot, Semaphore};
use tokio::task::JoinHandle;

use crate::fragment::Message;
use crate::session::{Confirmations, Session, SharedMessage};

use super::driver::{
    relay_room, Burst, Command, Driver, ToApp, CHANNEL, RELAY_IN_FLIGHT, WRITE_WITHIN,
};
use super::frames::{FrameReader, FrameWriter};
use super::{Incoming, Relayer, Transport, TransportError};

/// Messages a burst's buffers keep room for between bursts; a larger burst grows them again.
const KEEP: usize = crate::session::IDLE_KEEP;

/// A [`Transport`] whose session runs in a tokio task of its own.
///
/// A burst of messages given to [`Transport::send_batch`], or several sends queued while the task was
/// busy, goes into the session before the task writes, so it leaves in one write per batch of frames
/// rather than one per message. A [`SharedMessage`] is copied in from the frames it was encoded into once.
#[derive(Debug)]
pub struct SessionTransport {
    commands: mpsc::Sender<Command>,
    incoming: mpsc::Receiver<ToApp>,
    peer: Option<SocketAddr>,
    task: JoinHandle<()>,
    /// The buffers of the last burst, kept for the next.
    spare: Option<Box<Burst>>,
    /// Room for relayed bursts on their way to the session; the task gives it back as it takes them in.
    relay_room: Arc<Semaphore>,
    /// The error that ended the task, met by `recv_many` behind items it returned first.
    failed: Option<TransportError>,
}

impl SessionTransport {
    /// Spawns the task that drives `session` over `reader` and `writer`. Needs a tokio runtime.
    pub fn spawn<R, W>(
        session: Session,
        reader: R,
        writer: W,
        peer: Option<SocketAddr>,
    ) -> SessionTransport
    where
        R: FrameReader + 'static,
        W: FrameWriter + 'static,
    {
        let (commands, command_rx) = mpsc::channel(CHANNEL);
        let (incoming_tx, incoming) = mpsc::channel(CHANNEL);
        let relay_room = Arc::new(Semaphore::new(RELAY_IN_FLIGHT));
        let driver = Driver::new(session, incoming_tx, relay_room.clone());
        let task = tokio::spawn(driver.run(reader, writer, command_rx));
        SessionTransport {
            commands,
            incoming,
            peer,
            task,
            // Made at the first send: a session that only relays, as most of a server's do, never needs it.
            spare: None,
            relay_room,
            failed: None,
        }
    }

    /// Hands a burst to the task and waits until its messages are in the session.
    async fn submit(&mut self, mut burst: Box<Burst>) -> Result<Box<Burst>, TransportError> {
        let (reply, answer) = oneshot::channel();
        burst.reply = Some(reply);
        self.commands
            .send(Command::Send(burst))
            .await
            .map_err(|_| TransportError::Closed)?;
        answer.await.map_err(|_| TransportError::Closed)
    }

    /// Sends one message, put into the burst by `put`.
    async fn send_one(&mut self, put: impl FnOnce(&mut Burst)) -> Result<u32, TransportError> {
        let mut burst = self.spare.take().unwrap_or_default();
        put(&mut burst);
        let mut burst = self.submit(burst).await?;
        let result = match (burst.error.take(), burst.numbers.first()) {
            (Some(error), _) => Err(error.into()),
            (None, Some(&number)) => Ok(number),
            (None, None) => Err(TransportError::Closed),
        };
        self.keep(burst);
        result
    }

    /// Keeps a burst's buffers for the next, if they are small: a large burst allocates its own, sized
    /// at once (two allocations), rather than an idle session keeping them.
    fn keep(&mut self, mut burst: Box<Burst>) {
        burst.own = None;
        burst.error = None;
        burst.shared.clear();
        burst.numbers.clear();
        if burst.shared.capacity() > KEEP {
            burst.shared = VecDeque::new();
        }
        if burst.numbers.capacity() > KEEP {
            burst.numbers = Vec::new();
        }
        self.spare = Some(burst);
    }
}

impl Drop for SessionTransport {
    fn drop(&mut self) {
        // The task ends by itself once it has flushed; abort only one that can no longer be reached.
        if self.commands.is_closed() {
            self.task.abort();
            return;
        }
        // A peer that neither reads nor confirms would keep a graceful close waiting for ever, and its
        // connection open: give the flush a while, then end the task, which closes the carrier.
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            let task = self.task.abort_handle();
            runtime.spawn(async move {
                tokio::time::sleep(WRITE_WITHIN).await;
                task.abort();
            });
        }
    }
}

#[async_trait]
impl Transport for SessionTransport {
    async fn send(&mut self, message: Message) -> Result<u32, TransportError> {
        self.send_one(|burst| burst.own = Some(message)).await
    }

    async fn send_shared(&mut self, message: Arc<SharedMessage>) -> Result<u32, TransportError> {
        self.send_one(|burst| burst.shared.push_back(message)).await
    }

    async fn send_batch(
        &mut self,
        messages: &mut Vec<Arc<SharedMessage>>,
        numbers: &mut Vec<u32>,
    ) -> Result<(), TransportError> {
        if messages.is_empty() {
            return Ok(());
        }
        let mut burst = self.spare.take().unwrap_or_default();
        burst.shared.extend(messages.drain(..));
        burst.numbers.reserve(burst.shared.len());
        let mut burst = self.submit(burst).await?;
        numbers.append(&mut burst.numbers);
        let error = burst.error.take();
        self.keep(burst);
        error.map_or(Ok(()), |error| Err(error.into()))
    }

    async fn relay(
        &mut self,
        messages: &mut Vec<Arc<SharedMessage>>,
    ) -> Result<(), TransportError> {
        if messages.is_empty() {
            return Ok(());
        }
        let size: usize = messages.iter().map(|m| relay_room(m)).sum();
        let room = size.min(RELAY_IN_FLIGHT);
        self.relay_room
            .acquire_many(u32::try_from(room).unwrap_or(u32::MAX))
            .await
            .map_err(|_| TransportError::Closed)?
            .forget();
        let command = if messages.len() == 1 {
            // The common case, a session keeping up: no burst to allocate.
            let message = messages.pop().ok_or(TransportError::Closed)?;
            Command::Relay(message)
        } else {
            // Its own burst, since it does not come back: sized at once, two allocations.
            Command::Send(Box::new(Burst {
                shared: messages.drain(..).collect(),
                confirmations: Confirmations::Ignore,
                relay_room: room,
                ..Burst::default()
            }))
        };
        self.commands
            .send(command)
            .await
            .map_err(|_| TransportError::Closed)
    }

    fn relayer(&self) -> Option<Relayer> {
        Some(Relayer {
            commands: self.commands.downgrade(),
            relay_room: self.relay_room.clone(),
        })
    }

    async fn recv(&mut self) -> Result<Option<Incoming>, TransportError> {
        if let Some(error) = self.failed.take() {
            return Err(error);
        }
        match self.incoming.recv().await {
            Some(item) => item.into_incoming().map(Some),
            None => Ok(None),
        }
    }

    async fn recv_many(
        &mut self,
        items: &mut Vec<Incoming>,
        limit: usize,
    ) -> Result<usize, TransportError> {
        if let Some(error) = self.failed.take() {
            return Err(error);
        }
        if limit == 0 {
            return Ok(0);
        }
        let Some(first) = self.incoming.recv().await else {
            return Ok(0);
        };
        // Room for what has arrived, at once, rather than growing item by item.
        items.reserve(limit.min(self.incoming.len() + 1));
        items.push(first.into_incoming()?);
        let mut taken = 1;
        // Nothing awaits from here on, so a cancelled call loses nothing.
        while taken < limit {
            let Ok(item) = self.incoming.try_recv() else {
                break;
            };
            match item.into_incoming() {
                Ok(item) => {
                    items.push(item);
                    taken += 1;
                }
                Err(error) => {
                    self.failed = Some(error);
                    break;
                }
            }
        }
        Ok(taken)
    }

    async fn confirm(&mut self, number: u32) -> Result<(), TransportError> {
        self.commands
            .send(Command::Confirm(number))
            .await
            .map_err(|_| TransportError::Closed)
    }

    async fn close(&mut self) -> Result<(), TransportError> {
        let (done, _finished) = oneshot::channel();
        // An Err here means the task ended first, which is also closed.
        let _ = self.commands.send(Command::Close(done)).await;
        // The task hands over everything it still holds before it ends, waiting for room in this channel,
        // so read it meanwhile: awaiting `_finished` first deadlocks once more than CHANNEL items wait.
        // The channel ends when the task does. Surface an error the task ended with (a dead peer), after
        // any messages still queued.
        if let Some(error) = self.failed.take() {
            return Err(error);
        }
        while let Some(item) = self.incoming.recv().await {
            item.into_incoming()?;
        }
        Ok(())
    }

    fn abort(&mut self) {
        self.task.abort();
    }

    fn peer_addr(&self) -> Option<SocketAddr> {
        self.peer
    }
}
