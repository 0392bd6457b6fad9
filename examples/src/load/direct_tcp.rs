//! A chatproto client over TCP that drives its sans-IO [`Session`] itself, on the task that uses it.
//!
//! A load generator shares the machine with the server it measures, so every microsecond it spends per
//! message is one the server does not get. [`SessionTransport`](chatproto::transport::SessionTransport)
//! runs the session on a task of its own and hands each message over a channel: two tasks woken per
//! message. This client reads, feeds the frames to the session, writes its CONFIRMs (all of one read in
//! one write) and hands back the messages, all on the caller's task, with no allocation per frame.

use std::collections::VecDeque;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use chatproto::session::{
    Event, Role, SendError, Session, SessionConfig, SessionError, MAX_CONFIRM_DELAY,
};
use chatproto::transport::{Incoming, TransportError};
use chatproto::{Dialect, Message, FRAME_LEN};
use tokio::net::TcpStream;
use tokio::time::Sleep;

/// Frames the read buffer starts with room for, and grows to at most while reads fill it.
const READ_START: usize = 8;
const READ_MAX: usize = 64;

/// A client session over one TCP connection; see the module documentation.
pub(crate) struct DirectTcp {
    stream: TcpStream,
    session: Session,
    /// Bytes read and not yet fed to the session: an unfinished frame at the front, at most.
    input: Vec<u8>,
    filled: usize,
    /// Frames to write, and how much of them has been written.
    output: Vec<u8>,
    written: usize,
    /// What arrived, for [`DirectTcp::recv`].
    incoming: VecDeque<Incoming>,
    /// How the session ended, once it has.
    ended: Option<Result<(), TransportError>>,
    /// The session's next deadline, and the timer set for it.
    timer: Pin<Box<Sleep>>,
    timer_set_for: Option<Instant>,
}

impl std::fmt::Debug for DirectTcp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DirectTcp")
            .field("peer", &self.stream.peer_addr().ok())
            .finish_non_exhaustive()
    }
}

fn unix_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

impl DirectTcp {
    /// Connects to `addr`, within `within`, to speak `dialect`.
    pub(crate) async fn connect(
        addr: SocketAddr,
        dialect: Dialect,
        within: Duration,
    ) -> io::Result<DirectTcp> {
        let stream = tokio::time::timeout(within, TcpStream::connect(addr))
            .await
            .map_err(|_| io::Error::new(io::ErrorKind::TimedOut, "connection timed out"))??;
        // Frames are written whole, a burst at a time: Nagle's algorithm would only delay them.
        stream.set_nodelay(true)?;
        // A load client receives far more than it sends: its CONFIRMs go several to a write, which
        // saves the server a read for each.
        let config = SessionConfig {
            confirm_delay: MAX_CONFIRM_DELAY,
            ..SessionConfig::stream()
        };
        let session = Session::new(Role::Client, Some(dialect), config, Instant::now());
        Ok(DirectTcp {
            stream,
            session,
            input: vec![0; READ_START * FRAME_LEN],
            filled: 0,
            output: Vec::new(),
            written: 0,
            incoming: VecDeque::new(),
            ended: None,
            timer: Box::pin(tokio::time::sleep(Duration::ZERO)),
            timer_set_for: None,
        })
    }

    /// Queues `message` and writes what it can at once; waits (reading meanwhile) while the session's
    /// send buffer is full. Returns the number of its last packet.
    pub(crate) async fn send(&mut self, message: &Message) -> Result<u32, TransportError> {
        loop {
            if let Some(ended) = &self.ended {
                return Err(match ended {
                    Err(TransportError::Session(error)) => error.clone().into(),
                    _ => TransportError::Closed,
                });
            }
            match self.session.send(message) {
                Ok(number) => {
                    self.transmit()?;
                    return Ok(number);
                }
                Err(SendError::BufferFull { .. }) => self.drive().await?,
                Err(error) => return Err(error.into()),
            }
        }
    }

    /// The next message or confirmation; `Ok(None)` once the server has closed cleanly. Cancel-safe.
    pub(crate) async fn recv(&mut self) -> Result<Option<Incoming>, TransportError> {
        loop {
            if let Some(item) = self.incoming.pop_front() {
                return Ok(Some(item));
            }
            match self.ended.take() {
                Some(Ok(())) => {
                    self.ended = Some(Ok(()));
                    return Ok(None);
                }
                Some(Err(error)) => {
                    self.ended = Some(Err(TransportError::Closed));
                    return Err(error);
                }
                None => self.drive().await?,
            }
        }
    }

    /// Waits for the socket or the session's timer once, and does what is due. Cancel-safe: the waits
    /// lose nothing, and what follows them does not wait.
    async fn drive(&mut self) -> Result<(), TransportError> {
        let deadline = self.session.poll_timeout();
        if let Some(deadline) = deadline {
            if self.timer_set_for != Some(deadline) {
                self.timer.as_mut().reset(deadline.into());
                self.timer_set_for = Some(deadline);
            }
        }
        let writing = self.written < self.output.len();
        tokio::select! {
            biased;
            ready = self.stream.writable(), if writing => ready?,
            ready = self.stream.readable() => {
                ready?;
                self.read()?;
            }
            () = &mut self.timer, if deadline.is_some() => {
                self.timer_set_for = None;
                self.session.handle_timeout(Instant::now());
            }
        }
        self.transmit()
    }

    /// Reads what has arrived and feeds the whole frames to the session.
    fn read(&mut self) -> Result<(), TransportError> {
        let read = match self.stream.try_read(&mut self.input[self.filled..]) {
            Ok(read) => read,
            Err(error) if error.kind() == io::ErrorKind::WouldBlock => return Ok(()),
            Err(error) => return Err(error.into()),
        };
        if read == 0 {
            self.ended = Some(match self.filled {
                0 => Ok(()),
                len => Err(TransportError::TruncatedFrame { len }),
            });
            return Ok(());
        }
        self.filled += read;
        let filled_up = self.filled == self.input.len();
        let now = Instant::now();
        self.session.set_wall_clock(unix_ms());
        let whole = self.filled / FRAME_LEN * FRAME_LEN;
        for frame in self.input[..whole].chunks_exact(FRAME_LEN) {
            self.session.handle_frame(now, frame);
        }
        self.input.copy_within(whole..self.filled, 0);
        self.filled -= whole;
        // A read that filled the buffer leaves more behind: room for more, so that fewer reads take it.
        if filled_up && self.input.len() < READ_MAX * FRAME_LEN {
            self.input.resize(self.input.len() * 2, 0);
        }
        while let Some(event) = self.session.poll_event() {
            match event {
                Event::Message(message) => self.incoming.push_back(Incoming::Message(message)),
                Event::Confirmed { number } => self.incoming.push_back(Incoming::Confirmed(number)),
                Event::Refused(_) => {}
                Event::Closed(SessionError::Closed) => self.ended = Some(Ok(())),
                Event::Closed(error) => self.ended = Some(Err(error.into())),
            }
        }
        Ok(())
    }

    /// Takes every frame the session has to send and writes as much as the socket takes now; the rest
    /// waits for [`DirectTcp::drive`].
    fn transmit(&mut self) -> Result<(), TransportError> {
        let now = Instant::now();
        let mut frame = [0; FRAME_LEN];
        while self.session.poll_transmit_into(now, &mut frame) {
            self.output.extend_from_slice(&frame);
        }
        while self.written < self.output.len() {
            match self.stream.try_write(&self.output[self.written..]) {
                Ok(written) => self.written += written,
                Err(error) if error.kind() == io::ErrorKind::WouldBlock => return Ok(()),
                Err(error) => return Err(error.into()),
            }
        }
        self.output.clear();
        self.written = 0;
        Ok(())
    }
}
