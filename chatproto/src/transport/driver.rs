//! [`SessionTransport`]: a task that drives one [`Session`] over a [`FrameReader`] and a [`FrameWriter`].
//!
//! The task owns the session, so nothing is shared and no lock is held across an await. The application's
//! handle talks to it through two bounded channels; when the application stops taking messages, the task
//! stops reading from the network (the peer's retransmissions wait) but keeps serving timers and sends, so
//! neither side can deadlock the other.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

use crate::fragment::Message;
use crate::session::{Event, SendError, Session, SessionError};
use crate::FRAME_LEN;

use super::frames::{FrameBatch, FrameReader, FrameWriter};
use super::{Incoming, Transport, TransportError};

/// Messages the application may have waiting in each direction.
const CHANNEL: usize = 256;
/// Confirmations held for an application that does not collect them; past this the oldest are dropped.
/// They are receipts, not data, and an application that never reads them must not stall the session.
const MAX_CONFIRMATIONS: usize = 4096;
/// Frames written in one batch at most.
const BATCH: usize = 128;

enum Command {
    Send(Message, oneshot::Sender<Result<u32, SendError>>),
    Confirm(u32),
    Close(oneshot::Sender<()>),
}

/// A [`Transport`] whose session runs in a tokio task of its own.
#[derive(Debug)]
pub struct SessionTransport {
    commands: mpsc::Sender<Command>,
    incoming: mpsc::Receiver<Result<Incoming, TransportError>>,
    peer: Option<SocketAddr>,
    task: JoinHandle<()>,
}

impl std::fmt::Debug for Command {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Command::Send(message, _) => f.debug_tuple("Send").field(message).finish(),
            Command::Confirm(number) => f.debug_tuple("Confirm").field(number).finish(),
            Command::Close(_) => f.write_str("Close"),
        }
    }
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
        let driver = Driver {
            session,
            ready: VecDeque::new(),
            confirmations: VecDeque::new(),
            incoming: incoming_tx,
            closers: Vec::new(),
        };
        let task = tokio::spawn(driver.run(reader, writer, command_rx));
        SessionTransport {
            commands,
            incoming,
            peer,
            task,
        }
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
        let (reply, answer) = oneshot::channel();
        self.commands
            .send(Command::Send(message, reply))
            .await
            .map_err(|_| TransportError::Closed)?;
        Ok(answer.await.map_err(|_| TransportError::Closed)??)
    }

    async fn recv(&mut self) -> Result<Option<Incoming>, TransportError> {
        self.incoming.recv().await.transpose()
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
        while let Some(item) = self.incoming.recv().await {
            item?;
        }
        Ok(())
    }

    fn peer_addr(&self) -> Option<SocketAddr> {
        self.peer
    }
}

struct Driver {
    session: Session,
    /// Messages for the application that its channel has not taken yet; the session drops new data while
    /// this is at `CHANNEL`, which bounds it.
    ready: VecDeque<Incoming>,
    /// Confirmations not yet taken, at most `MAX_CONFIRMATIONS`.
    confirmations: VecDeque<Incoming>,
    incoming: mpsc::Sender<Result<Incoming, TransportError>>,
    closers: Vec<oneshot::Sender<()>>,
}

/// The clock, from tokio so that paused and simulated time (turmoil) drive sessions too.
fn now() -> Instant {
    tokio::time::Instant::now().into_std()
}

/// How long one write may wait for the peer to take what was sent. A peer that reads nothing for this long
/// holds the session's buffers and its place for nothing, so the session ends.
const WRITE_WITHIN: Duration = Duration::from_secs(10);

/// One write, bounded by [`WRITE_WITHIN`].
async fn write_within<W: FrameWriter>(
    writer: &mut W,
    frames: &[[u8; FRAME_LEN]],
) -> Result<(), TransportError> {
    match tokio::time::timeout(WRITE_WITHIN, writer.write(frames)).await {
        Ok(result) => result,
        Err(_) => Err(TransportError::Io(std::io::Error::new(
            std::io::ErrorKind::TimedOut,
            format!("the peer has read nothing for {WRITE_WITHIN:?}"),
        ))),
    }
}

impl Driver {
    async fn run<R: FrameReader, W: FrameWriter>(
        mut self,
        mut reader: R,
        mut writer: W,
        mut commands: mpsc::Receiver<Command>,
    ) {
        let result = self.serve(&mut reader, &mut writer, &mut commands).await;
        let _ = tokio::time::timeout(WRITE_WITHIN, writer.shutdown()).await;
        // Everything received goes to the application before the end is reported.
        drop(commands);
        let confirmations = std::mem::take(&mut self.confirmations);
        for item in confirmations.into_iter().chain(self.ready.drain(..)) {
            if self.incoming.send(Ok(item)).await.is_err() {
                break;
            }
        }
        if let Err(error) = result {
            let _ = self.incoming.send(Err(error)).await;
        }
        for closer in self.closers.drain(..) {
            let _ = closer.send(());
        }
    }

    async fn serve<R: FrameReader, W: FrameWriter>(
        &mut self,
        reader: &mut R,
        writer: &mut W,
        commands: &mut mpsc::Receiver<Command>,
    ) -> Result<(), TransportError> {
        let mut batch = FrameBatch::new();
        let mut out: Vec<[u8; FRAME_LEN]> = Vec::with_capacity(BATCH);
        let mut pending: Option<(Message, oneshot::Sender<Result<u32, SendError>>)> = None;
        let mut app_gone = false;
        let mut paused = false;
        loop {
            if let Some((message, reply)) = pending.take() {
                match self.session.send(&message) {
                    Err(SendError::BufferFull { .. }) => pending = Some((message, reply)),
                    result => {
                        let _ = reply.send(result);
                    }
                }
            }
            // The application has gone: close now, so that the end is seen this time round the loop
            // rather than at the next timer.
            if app_gone && !self.session.is_closed() {
                self.session.close();
            }
            // One write per burst: everything the session has to send, in batches.
            let now = now();
            while let Some(frame) = self.session.poll_transmit(now) {
                out.push(frame);
                if out.len() == BATCH {
                    write_within(writer, &out).await?;
                    out.clear();
                }
            }
            if !out.is_empty() {
                write_within(writer, &out).await?;
                out.clear();
            }
            while let Some(event) = self.session.poll_event() {
                match event {
                    Event::Message(message) => self.ready.push_back(Incoming::Message(message)),
                    Event::Confirmed { number } => {
                        if self.confirmations.len() == MAX_CONFIRMATIONS {
                            self.confirmations.pop_front();
                        }
                        self.confirmations.push_back(Incoming::Confirmed(number));
                    }
                    // Already answered on the wire; the application needs no word of it.
                    Event::Refused(_) => {}
                    Event::Closed(SessionError::Closed) => return Ok(()),
                    Event::Closed(error) => return Err(error.into()),
                }
            }
            app_gone |= self.hand_over();
            if app_gone && !self.session.is_closed() {
                self.session.close();
            }
            // Reading never stops, so confirmations and keepalives are always heard; while the
            // application is behind, the session drops new data for the peer to retransmit. On resuming
            // it asks for that data again (RESEND): go round once more to send those before waiting.
            let behind = self.ready.len() >= CHANNEL;
            let resumed = paused && !behind;
            paused = behind;
            self.session.pause_delivery(paused);
            if resumed {
                continue;
            }
            let deadline = self
                .session
                .poll_timeout()
                .map(tokio::time::Instant::from_std);
            // Biased, in a fixed order, so that a simulated run replays exactly from its seed. Reading
            // comes last: the other branches drain, so they cannot starve it, while a flood of frames
            // could starve them.
            tokio::select! {
                biased;
                _ = sleep_until(deadline), if deadline.is_some() => {
                    self.session.handle_timeout(self::now());
                }
                command = commands.recv(), if pending.is_none() && !app_gone => match command {
                    Some(Command::Send(message, reply)) => pending = Some((message, reply)),
                    Some(Command::Confirm(number)) => self.session.confirm(number),
                    Some(Command::Close(done)) => {
                        self.closers.push(done);
                        self.session.close();
                    }
                    None => app_gone = true,
                },
                permit = self.incoming.reserve(), if self.has_ready() => match permit {
                    Ok(permit) => {
                        if let Some(item) = self.confirmations.pop_front().or_else(|| self.ready.pop_front()) {
                            permit.send(Ok(item));
                        }
                    }
                    Err(_) => app_gone = true,
                },
                read = reader.read(&mut batch) => {
                    if !read? {
                        return Ok(());
                    }
                    let now = self::now();
                    self.session.set_wall_clock(unix_ms());
                    for frame in batch.iter() {
                        self.session.handle_frame(now, frame);
                    }
                    batch.clear();
                }
            }
        }
    }
}

impl Driver {
    fn has_ready(&self) -> bool {
        !self.ready.is_empty() || !self.confirmations.is_empty()
    }

    /// Passes waiting items to the application as far as its channel has room. Returns whether the
    /// application has gone, in which case what arrives is dropped and the session only flushes.
    fn hand_over(&mut self) -> bool {
        loop {
            let queue = if self.confirmations.is_empty() {
                &mut self.ready
            } else {
                &mut self.confirmations
            };
            let Some(item) = queue.pop_front() else {
                return false;
            };
            match self.incoming.try_send(Ok(item)) {
                Ok(()) => {}
                Err(mpsc::error::TrySendError::Full(Ok(item))) => {
                    queue.push_front(item);
                    return false;
                }
                Err(_) => {
                    self.ready.clear();
                    self.confirmations.clear();
                    return true;
                }
            }
        }
    }
}

/// The wall clock for CONFIRM timestamps, in ms since the Unix epoch.
fn unix_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

async fn sleep_until(deadline: Option<tokio::time::Instant>) {
    match deadline {
        Some(deadline) => tokio::time::sleep_until(deadline).await,
        None => std::future::pending().await,
    }
}
