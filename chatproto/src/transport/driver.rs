//! The task that drives one [`Session`] over a [`FrameReader`] and a [`FrameWriter`], for a
//! [`SessionTransport`](super::SessionTransport).
//!
//! The task owns the session, so nothing is shared and no lock is held across an await. When the
//! application stops taking messages, the task stops delivering them (the session drops new data for the
//! peer to retransmit) but keeps reading, serving timers and sending, so neither side can deadlock the
//! other.
//!
//! A write costs microseconds and a frame's encoding tens of nanoseconds, so the task puts everything the
//! application has queued into the session before it writes: a burst leaves in one write per [`BATCH`]
//! frames.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::{mpsc, oneshot, Semaphore};

use crate::fragment::Message;
use crate::session::{
    release_idle, Confirmations, Event, SendError, Session, SessionError, SharedMessage,
};
use crate::FRAME_LEN;

use super::frames::{FrameBatch, FrameReader, FrameWriter};
use super::{Incoming, TransportError};

/// Commands, and items for the application, waiting in each channel at most; and messages held for an
/// application that does not take them before the session drops new ones.
pub(super) const CHANNEL: usize = 256;
/// Confirmations held for an application that does not collect them; past this the oldest are dropped.
/// They are receipts, not data, and an application that never reads them must not stall the session.
const MAX_CONFIRMATIONS: usize = 4096;
/// Frames written in one batch at most.
const BATCH: usize = 128;
/// How long a session has to be quiet (nothing written, read or asked of it) before the memory its bursts
/// grew is freed. Long enough that a busy session keeps its buffers from burst to burst; short enough that
/// a client's keepalives (every 2 s by default) do not keep an idle session from ever being quiet.
const RELEASE_AFTER: Duration = Duration::from_secs(1);
/// How long one write may wait for the peer to take what was sent. A peer that reads nothing for this long
/// holds the session's buffers and its place for nothing, so the session ends.
pub(super) const WRITE_WITHIN: Duration = Duration::from_secs(10);

/// What the application's handle asks of the task.
///
/// Kept to 16 bytes: tokio's channel holds its slots in blocks of 32, and keeps up to three spare blocks
/// once it has been busy, so every byte here costs an idle session up to 128.
pub(super) enum Command {
    /// Messages to put into the session, in order; the burst comes back through its `reply` with their
    /// numbers once they are all in (or one has failed), unless nobody waits for it (a relay).
    Send(Box<Burst>),
    /// One message relayed (see `SessionTransport::relay` and `Relayer`): the common case of a relay to a
    /// session that is keeping up, without a burst to allocate. It took [`relay_room`] on its way.
    Relay(Arc<SharedMessage>),
    Confirm(u32),
    Close(oneshot::Sender<()>),
}

const _: () = assert!(std::mem::size_of::<Command>() == 16);

/// Relayed text not yet in the session at most, in bytes (and one more per message, so that empty ones
/// count too): `relay` does not wait for its burst to be taken in, so this is what bounds the relays on
/// their way, and a relay that outruns its peer waits (backpressure, R-7.5).
pub(super) const RELAY_IN_FLIGHT: usize = 256 * 1024;

/// The room a relayed message takes on its way into the session: its text bytes, and one more so that
/// empty messages count too; all of [`RELAY_IN_FLIGHT`] at most, so that even the longest can go.
pub(super) fn relay_room(message: &SharedMessage) -> usize {
    (message.message().text.len() + 1).min(RELAY_IN_FLIGHT)
}

impl std::fmt::Debug for Command {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Command::Send(burst) => f.debug_tuple("Send").field(burst).finish(),
            Command::Relay(message) => f.debug_tuple("Relay").field(message).finish(),
            Command::Confirm(number) => f.debug_tuple("Confirm").field(number).finish(),
            Command::Close(_) => f.write_str("Close"),
        }
    }
}

/// Messages on their way into the session, and what became of them. The handle keeps it between sends,
/// so its buffers are used again.
#[derive(Debug, Default)]
pub(super) struct Burst {
    /// A message of the application's own, which goes alone.
    pub(super) own: Option<Message>,
    /// Messages shared with other sessions not yet in the session, oldest first.
    pub(super) shared: VecDeque<Arc<SharedMessage>>,
    /// Whether the application hears when the peer has the shared ones. `Ignore` for a relay, whose
    /// burst nobody waits for: a message in it that cannot be sent is dropped and the rest go on.
    pub(super) confirmations: Confirmations,
    /// The number of each message put in, in order.
    pub(super) numbers: Vec<u32>,
    /// Why a message could not be put in; those after it were dropped.
    pub(super) error: Option<SendError>,
    /// For a relay: the room it took on its way (see `SessionTransport::relay`), given back once it is in.
    pub(super) relay_room: usize,
    /// Where the burst goes back once its messages are in; `None` for a relay, which nobody waits for.
    pub(super) reply: Option<oneshot::Sender<Box<Burst>>>,
}

/// What the task hands the application.
#[derive(Debug)]
pub(super) enum ToApp {
    Message(Box<Message>),
    Confirmed(u32),
    /// Why the session ended; nothing follows.
    Failed(Box<TransportError>),
}

impl ToApp {
    pub(super) fn into_incoming(self) -> Result<Incoming, TransportError> {
        match self {
            ToApp::Message(message) => Ok(Incoming::Message(*message)),
            ToApp::Confirmed(number) => Ok(Incoming::Confirmed(number)),
            ToApp::Failed(error) => Err(*error),
        }
    }
}

/// The task's state besides what it reads and writes.
pub(super) struct Driver {
    session: Session,
    waiting: Waiting,
    incoming: mpsc::Sender<ToApp>,
    closers: Vec<oneshot::Sender<()>>,
    /// Room for relays on their way, given back as they are taken in; closed when the task ends.
    relay_room: Arc<Semaphore>,
}

/// What waits for room in the application's channel.
#[derive(Default)]
struct Waiting {
    /// Messages; the session drops new data while there are `CHANNEL` of them, which bounds this.
    ready: VecDeque<Box<Message>>,
    /// Confirmations, at most `MAX_CONFIRMATIONS`.
    confirmations: VecDeque<u32>,
}

impl Waiting {
    fn is_empty(&self) -> bool {
        self.ready.is_empty() && self.confirmations.is_empty()
    }

    /// The next item: confirmations first, since they are small and the application may be waiting on
    /// one to send more.
    fn next(&mut self) -> Option<ToApp> {
        match self.confirmations.pop_front() {
            Some(number) => Some(ToApp::Confirmed(number)),
            None => self.ready.pop_front().map(ToApp::Message),
        }
    }

    fn release_memory(&mut self) {
        release_idle(&mut self.confirmations);
        release_idle(&mut self.ready);
    }
}

/// Messages taken from the application that are not all in the session yet.
enum Pending {
    /// A burst, and where its answer goes, if anywhere.
    Burst(Box<Burst>, Option<oneshot::Sender<Box<Burst>>>),
    /// One relayed message, and the room it took on its way.
    Relay(Arc<SharedMessage>, usize),
}

/// What the task has taken from the application's commands.
#[derive(Default)]
struct Intake {
    /// What waits for room in the send buffer; nothing more is taken meanwhile.
    pending: Option<Pending>,
    /// The application has dropped its handle: what arrives is dropped and the session only flushes.
    app_gone: bool,
}

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

/// The clock, from tokio so that paused and simulated time (turmoil) drive sessions too.
fn now() -> Instant {
    tokio::time::Instant::now().into_std()
}

impl Driver {
    pub(super) fn new(
        session: Session,
        incoming: mpsc::Sender<ToApp>,
        relay_room: Arc<Semaphore>,
    ) -> Driver {
        Driver {
            session,
            waiting: Waiting::default(),
            incoming,
            closers: Vec::new(),
            relay_room,
        }
    }

    /// The task: serves the session until it ends, then hands the application what is left and why it
    /// ended.
    ///
    /// A plain function returning the future, not an `async fn`: an `async fn` keeps its arguments twice
    /// in its state (as received, and as locals), which for the driver is a kilobyte and a half more per
    /// session. Captured by the `async move` block and used in place, they are kept once.
    pub(super) fn run<R: FrameReader, W: FrameWriter>(
        self,
        mut reader: R,
        mut writer: W,
        mut commands: mpsc::Receiver<Command>,
    ) -> impl std::future::Future<Output = ()> + Send {
        let mut driver = self;
        async move {
            let result = driver.serve(&mut reader, &mut writer, &mut commands).await;
            // A relay waiting for room learns that the session is over.
            driver.relay_room.close();
            let _ = tokio::time::timeout(WRITE_WITHIN, writer.shutdown()).await;
            // Everything received goes to the application before the end is reported.
            drop(commands);
            while let Some(item) = driver.waiting.next() {
                if driver.incoming.send(item).await.is_err() {
                    break;
                }
            }
            if let Err(error) = result {
                let _ = driver.incoming.send(ToApp::Failed(Box::new(error))).await;
            }
            for closer in driver.closers.drain(..) {
                let _ = closer.send(());
            }
        }
    }

    async fn serve<R: FrameReader, W: FrameWriter>(
        &mut self,
        reader: &mut R,
        writer: &mut W,
        commands: &mut mpsc::Receiver<Command>,
    ) -> Result<(), TransportError> {
        let mut batch = FrameBatch::new();
        // Grows with the bursts, up to BATCH frames, and shrinks once the session is idle.
        let mut out: Vec<[u8; FRAME_LEN]> = Vec::new();
        let mut intake = Intake::default();
        let mut paused = false;
        // Since when nothing has happened, and whether the memory has been freed since.
        let mut quiet_since = now();
        let mut released = false;
        // One timer, moved as the deadline moves, rather than a new one each time round: a new timer is
        // an insertion into tokio's timer wheel and a removal, where moving one later is a store.
        let timer = tokio::time::sleep_until(tokio::time::Instant::now());
        tokio::pin!(timer);
        let mut timer_set_for = None;
        loop {
            // Everything the application has queued goes into the session before anything is written, so
            // that a burst leaves in one write.
            self.take_commands(commands, &mut intake);
            // The application has gone: close now, so that the end is seen this time round the loop
            // rather than at the next timer.
            if intake.app_gone && !self.session.is_closed() {
                self.session.close();
            }
            // One write per burst: everything the session has to send, in batches.
            let now = now();
            loop {
                let taken = self.take_frames(&mut out, now);
                if taken == 0 {
                    break;
                }
                write_within(writer, &out[..taken]).await?;
                released = false;
            }
            while let Some(event) = self.session.poll_event() {
                match event {
                    Event::Message(message) => self.waiting.ready.push_back(Box::new(message)),
                    Event::Confirmed { number } => {
                        let confirmations = &mut self.waiting.confirmations;
                        if confirmations.len() == MAX_CONFIRMATIONS {
                            confirmations.pop_front();
                        }
                        confirmations.push_back(number);
                    }
                    // Already answered on the wire; the application needs no word of it.
                    Event::Refused(_) => {}
                    Event::Closed(SessionError::Closed) => return Ok(()),
                    Event::Closed(error) => return Err(error.into()),
                }
            }
            intake.app_gone |= self.hand_over();
            if intake.app_gone && !self.session.is_closed() {
                self.session.close();
            }
            // Reading never stops, so confirmations and keepalives are always heard; while the
            // application is behind, the session drops new data for the peer to retransmit. On resuming
            // it asks for that data again (RESEND): go round once more to send those before waiting.
            let behind = self.waiting.ready.len() >= CHANNEL;
            let resumed = paused && !behind;
            paused = behind;
            self.session.pause_delivery(paused);
            if resumed {
                continue;
            }
            let release_at = (!released).then(|| quiet_since + RELEASE_AFTER);
            let deadline = [self.session.poll_timeout(), release_at]
                .into_iter()
                .flatten()
                .min()
                .map(tokio::time::Instant::from_std);
            if let Some(deadline) = deadline {
                if timer_set_for != Some(deadline) {
                    timer.as_mut().reset(deadline);
                    timer_set_for = Some(deadline);
                }
            }
            // Biased, in a fixed order, so that a simulated run replays exactly from its seed. Reading
            // comes last: the other branches drain, so they cannot starve it, while a flood of frames
            // could starve them.
            tokio::select! {
                biased;
                _ = &mut timer, if deadline.is_some() => {
                    timer_set_for = None;
                    let now = self::now();
                    // Safe to call early: the session acts only on what is due.
                    self.session.handle_timeout(now);
                    if release_at.is_some_and(|at| at <= now) {
                        if self.session.unconfirmed() == 0 && self.waiting.is_empty() && intake.pending.is_none() {
                            // Quiet: free what the bursts grew, here, in the session and in the carrier.
                            self.session.release_memory();
                            self.waiting.release_memory();
                            out = Vec::new();
                            batch.clear_and_shrink(0);
                            reader.release_idle_memory();
                            writer.release_idle_memory();
                            released = true;
                        } else {
                            quiet_since = now;
                        }
                    }
                    continue;
                }
                command = commands.recv(), if intake.pending.is_none() && !intake.app_gone => match command {
                    Some(command) => take(&mut self.session, &mut self.closers, command, &mut intake),
                    None => intake.app_gone = true,
                },
                permit = self.incoming.reserve(), if !self.waiting.is_empty() => match permit {
                    Ok(permit) => {
                        if let Some(item) = self.waiting.next() {
                            permit.send(item);
                        }
                    }
                    Err(_) => intake.app_gone = true,
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
                    released = false;
                }
            }
            quiet_since = self::now();
        }
    }

    /// Has the session write the frames it has to send into `out`, up to [`BATCH`], straight into their
    /// slots. Returns how many; the slots beyond are left over from earlier bursts. `out` grows only when
    /// a burst is larger than any since it was last freed.
    fn take_frames(&mut self, out: &mut Vec<[u8; FRAME_LEN]>, now: Instant) -> usize {
        let mut taken = 0;
        while taken < BATCH {
            if let Some(slot) = out.get_mut(taken) {
                if !self.session.poll_transmit_into(now, slot) {
                    break;
                }
            } else {
                // Grown only for a frame there is, and from one frame up (a plain push would make room
                // for four): an idle session's keepalive answer then costs one frame's room, not four.
                let mut frame = [0; FRAME_LEN];
                if !self.session.poll_transmit_into(now, &mut frame) {
                    break;
                }
                out.reserve_exact(out.len().max(1));
                out.push(frame);
            }
            taken += 1;
        }
        taken
    }

    /// Takes the application's commands until none is left or a burst waits for room in the send buffer
    /// when the rest wait too: that is the backpressure the application feels.
    fn take_commands(&mut self, commands: &mut mpsc::Receiver<Command>, intake: &mut Intake) {
        loop {
            match intake.pending.take() {
                Some(Pending::Burst(mut burst, reply)) => {
                    if !self.queue(&mut burst) {
                        intake.pending = Some(Pending::Burst(burst, reply));
                        return;
                    }
                    self.relay_room.add_permits(burst.relay_room);
                    if let Some(reply) = reply {
                        let _ = reply.send(burst);
                    }
                }
                Some(Pending::Relay(message, room)) => {
                    match self.session.send_shared(&message, Confirmations::Ignore) {
                        Err(SendError::BufferFull { .. }) => {
                            intake.pending = Some(Pending::Relay(message, room));
                            return;
                        }
                        // In, or dropped: a relay has no one to tell.
                        Ok(_) | Err(_) => self.relay_room.add_permits(room),
                    }
                }
                None => {}
            }
            if intake.app_gone {
                return;
            }
            match commands.try_recv() {
                Ok(command) => take(&mut self.session, &mut self.closers, command, intake),
                Err(mpsc::error::TryRecvError::Empty) => return,
                Err(mpsc::error::TryRecvError::Disconnected) => {
                    intake.app_gone = true;
                    return;
                }
            }
        }
    }

    /// Puts the burst's messages into the session in order, until one does not fit. Returns whether the
    /// burst is done: all in, or one refused, which drops the rest.
    fn queue(&mut self, burst: &mut Burst) -> bool {
        loop {
            let queued = if let Some(message) = &burst.own {
                self.session.send(message)
            } else if let Some(message) = burst.shared.front() {
                self.session.send_shared(message, burst.confirmations)
            } else {
                return true;
            };
            match queued {
                Ok(number) => {
                    burst.numbers.push(number);
                    if burst.own.take().is_none() {
                        burst.shared.pop_front();
                    }
                }
                Err(SendError::BufferFull { .. }) => return false,
                // A relay has no one to tell: the message is dropped and the rest go on.
                Err(SendError::Invalid(_)) if burst.confirmations == Confirmations::Ignore => {
                    burst.shared.pop_front();
                }
                Err(error) => {
                    burst.error = Some(error);
                    burst.own = None;
                    burst.shared.clear();
                    return true;
                }
            }
        }
    }

    /// Passes waiting items to the application as far as its channel has room. Returns whether the
    /// application has gone, in which case what arrives is dropped and the session only flushes.
    fn hand_over(&mut self) -> bool {
        while !self.waiting.is_empty() {
            let permit = match self.incoming.try_reserve() {
                Ok(permit) => permit,
                Err(mpsc::error::TrySendError::Full(())) => return false,
                Err(mpsc::error::TrySendError::Closed(())) => {
                    self.waiting = Waiting::default();
                    return true;
                }
            };
            if let Some(item) = self.waiting.next() {
                permit.send(item);
            }
        }
        false
    }
}

/// Carries out one command. (A function of the fields it needs, since `select!` holds other fields of
/// the driver borrowed when it runs.)
fn take(
    session: &mut Session,
    closers: &mut Vec<oneshot::Sender<()>>,
    command: Command,
    intake: &mut Intake,
) {
    match command {
        Command::Send(mut burst) => {
            let reply = burst.reply.take();
            intake.pending = Some(Pending::Burst(burst, reply));
        }
        Command::Relay(message) => {
            let room = relay_room(&message);
            intake.pending = Some(Pending::Relay(message, room));
        }
        Command::Confirm(number) => session.confirm(number),
        Command::Close(done) => {
            closers.push(done);
            session.close();
        }
    }
}

/// The wall clock for CONFIRM timestamps, in ms since the Unix epoch.
fn unix_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}
