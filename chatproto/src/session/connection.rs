//! [`Session`]: one peer's reliable session, as a sans-IO state machine (PROTOCOL.md §7).

use std::collections::{BTreeMap, VecDeque};
use std::time::{Duration, Instant};

use crate::fragment::{Fragments, Message, Reassembler};
use crate::wire::{DecodeError, Dialect, Header, Name, Packet, PacketView, Text, Verb};
use crate::FRAME_LEN;

use super::config::SessionConfig;
use super::event::{Confirmations, Event, ProtocolError, SendError, SessionError};
use super::idle::release;
use super::receive::{Arrival, ReceiveBuffer};
use super::renumber::numbered;
use super::rtt::RetransmitTimer;
use super::send::{ConfirmOutcome, SendBuffer};
use super::shared::SharedMessage;

/// Which end of the conversation a session is. It matters only in v4, where the server confirms every
/// packet and clients confirm nothing (R-3.6).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    /// The end that connected.
    Client,
    /// The end that accepted.
    Server,
}

/// Most control frames (CONFIRM, RESEND) held for transmission; beyond it the oldest go, and the peer's
/// retransmission recovers them. Keeps memory bounded against a peer that floods (R-7.6).
const MAX_CONTROL: usize = 1024;

/// The longest a session lets CONFIRM and RESEND frames wait to go out together (R-7.2).
pub const MAX_CONFIRM_DELAY: Duration = Duration::from_millis(20);

/// Control frames held back at most by a confirmation delay (`SessionConfig::confirm_delay`): with this
/// many waiting they go at once.
const HOLD_CONTROL: usize = 16;

/// Least probe timeout: a blocked window is probed no sooner than this after the last transmission.
const MIN_PTO: Duration = Duration::from_millis(1);

/// One peer's session: numbering, confirmation, retransmission, ordering, fragmentation and liveness.
///
/// It does no IO and reads no clock. The owner feeds it frames with [`Session::handle_frame`] and the time
/// with [`Session::handle_timeout`], sends what [`Session::poll_transmit`] gives, sleeps until
/// [`Session::poll_timeout`], and takes [`Event`]s from [`Session::poll_event`].
///
/// ```
/// use std::time::Instant;
/// use chatproto::session::{Event, Role, Session, SessionConfig};
/// use chatproto::{Dialect, Message, Name, Verb};
///
/// let now = Instant::now();
/// let mut client = Session::new(Role::Client, Some(Dialect::V5), SessionConfig::default(), now);
/// let mut server = Session::new(Role::Server, None, SessionConfig::default(), now);
///
/// let hello = Message::new(Verb::BROADCAST, Name::new("ann")?, Name::ALL, "hello");
/// let number = client.send(&hello)?;
/// while let Some(frame) = client.poll_transmit(now) {
///     server.handle_frame(now, &frame);
/// }
/// while let Some(frame) = server.poll_transmit(now) {
///     client.handle_frame(now, &frame);
/// }
/// match server.poll_event() {
///     Some(Event::Message(got)) => assert_eq!((got.text.as_str(), got.number), ("hello", number)),
///     other => panic!("expected the message, got {other:?}"),
/// }
/// assert_eq!(client.poll_event(), Some(Event::Confirmed { number }));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct Session {
    role: Role,
    dialect: Option<Dialect>,
    config: SessionConfig,
    send: SendBuffer,
    receive: ReceiveBuffer,
    timer: RetransmitTimer,
    reassembler: Reassembler,
    /// CONFIRM, RESEND and, in v4, data frames, in the order they go out.
    control: VecDeque<[u8; FRAME_LEN]>,
    /// When the oldest control frame held back by `SessionConfig::confirm_delay` must go (R-7.2).
    control_due: Option<Instant>,
    /// v4: the last data frame sent, for RESEND (R-3.6).
    /// Boxed: v5 sessions, most of them, never use it, and inline it would make every session a third
    /// of a kilobyte larger.
    legacy_last: Option<Box<[u8; FRAME_LEN]>>,
    events: VecDeque<Event>,
    last_heard: Instant,
    last_ping: Instant,
    /// Numbers of keepalive PINGs not yet confirmed (a few at most: one goes out per idle interval).
    keepalives: VecDeque<u32>,
    /// Set while the application is not taking messages (see `pause_delivery`).
    paused: bool,
    /// The highest number dropped while paused, with the names of our answer: once delivery resumes, what
    /// is missing up to it is asked for again with RESEND (R-7.2), so the peer resends it at once rather
    /// than after its RTO (at least 500 ms on a stream).
    dropped: Option<(u32, Name, Name)>,
    /// Messages delivered and not yet confirmed by the application: number → (our name, peer's name).
    awaiting_app: BTreeMap<u32, (Name, Name)>,
    /// v4: packets delivered and not yet confirmed by the application, oldest first.
    awaiting_legacy: VecDeque<Packet>,
    /// The wall clock in ms since the Unix epoch, as last told; v5 CONFIRMs carry it (R-3.12).
    wall_clock: Option<u64>,
    /// The last v5 CONFIRM built, to renumber for the next; boxed, since only a receiving session needs it.
    confirm_template: Option<Box<ConfirmTemplate>>,
    closing: bool,
    closed: bool,
}

impl Session {
    /// A session. `dialect` is `None` for a server that learns it from the first good frame (R-7.1).
    pub fn new(
        role: Role,
        dialect: Option<Dialect>,
        config: SessionConfig,
        now: Instant,
    ) -> Session {
        Session {
            role,
            dialect,
            send: SendBuffer::new(config.send_window, config.send_buffer),
            receive: ReceiveBuffer::new(config.receive_window),
            timer: RetransmitTimer::new(config.initial_rto, config.min_rto, config.max_rto),
            reassembler: Reassembler::new(config.max_message),
            config,
            control: VecDeque::new(),
            control_due: None,
            legacy_last: None,
            events: VecDeque::new(),
            last_heard: now,
            last_ping: now,
            keepalives: VecDeque::new(),
            paused: false,
            dropped: None,
            awaiting_app: BTreeMap::new(),
            awaiting_legacy: VecDeque::new(),
            wall_clock: None,
            confirm_template: None,
            closing: false,
            closed: false,
        }
    }

    /// The session's dialect, once known.
    pub fn dialect(&self) -> Option<Dialect> {
        self.dialect
    }

    /// The configuration in force.
    pub fn config(&self) -> &SessionConfig {
        &self.config
    }

    /// Data packets accepted by [`Session::send`] and not yet confirmed (always 0 in v4).
    pub fn unconfirmed(&self) -> usize {
        self.send.outstanding()
    }

    /// Packets held by the receiver, out of order or awaiting delivery.
    pub fn held(&self) -> usize {
        self.receive.held()
    }

    /// Whether the session has ended.
    pub fn is_closed(&self) -> bool {
        self.closed
    }

    /// Queues a message, fragmented as needed (R-6.1, R-6.4). In v5 returns the packet number of its last
    /// packet: [`Event::Confirmed`] with that number means the peer has it all. In v4 returns 0.
    pub fn send(&mut self, message: &Message) -> Result<u32, SendError> {
        if self.closing || self.closed {
            return Err(SendError::Closed);
        }
        let dialect = self.dialect.unwrap_or_default();
        let template = Packet::new(dialect, message.verb, message.from, message.to, Text::EMPTY)?;
        let template = if message.encrypted {
            crate::cipher::encrypt(template)
        } else {
            template
        };
        let fragments = Fragments::new(template, &message.text)?;
        match dialect {
            Dialect::V5 => {
                let needed = fragments.len();
                let room = self.send.room();
                if needed > room {
                    return Err(SendError::BufferFull { needed, room });
                }
                Ok(fragments.fold(0, |_, packet| self.send.push(packet)))
            }
            Dialect::Legacy => {
                for packet in fragments {
                    // R-3.4: old peers always send 1.
                    let frame = packet.with_number(1).encode();
                    self.remember_legacy(&frame);
                    self.control.push_back(frame);
                }
                Ok(0)
            }
        }
    }

    /// Queues a message shared with other sessions, as [`Session::send`] does, from the frames it was
    /// encoded into once: the session keeps a reference to them and writes in its numbers as they go out.
    /// With [`Confirmations::Ignore`], no [`Event::Confirmed`] is reported for its packets, for a relay
    /// that keeps no receipt: a busy server saves handling one per message. Allocates nothing once the
    /// session's buffers have grown.
    pub fn send_shared(
        &mut self,
        message: &SharedMessage,
        confirmations: Confirmations,
    ) -> Result<u32, SendError> {
        let report = confirmations == Confirmations::Report;
        if self.closing || self.closed {
            return Err(SendError::Closed);
        }
        let dialect = self.dialect.unwrap_or_default();
        let frames = message.shared_frames(dialect)?;
        match dialect {
            Dialect::V5 => {
                let needed = frames.len();
                let room = self.send.room();
                if needed > room {
                    return Err(SendError::BufferFull { needed, room });
                }
                Ok((0..needed).fold(0, |_, index| self.send.push_shared(frames, index, report)))
            }
            Dialect::Legacy => {
                for frame in frames.iter() {
                    self.remember_legacy(frame);
                    self.control.push_back(*frame);
                }
                Ok(0)
            }
        }
    }

    /// v4: keeps `frame` as the last data frame sent, for RESEND (R-3.6), in the same box each time.
    fn remember_legacy(&mut self, frame: &[u8; FRAME_LEN]) {
        match &mut self.legacy_last {
            Some(last) => **last = *frame,
            None => self.legacy_last = Some(Box::new(*frame)),
        }
    }

    /// Queues a PING (R-7.8) and returns its number: a peer that confirms it is there. A UDP client uses
    /// this to find out whether anyone is listening.
    pub fn ping(&mut self) -> Result<u32, SendError> {
        let message = Message::new(Verb::PING, Name::EMPTY, Name::EMPTY, "");
        self.send(&message).map(|number| number.max(1))
    }

    /// Tells the session the wall-clock time, in milliseconds since the Unix epoch. From then on its v5
    /// CONFIRMs carry it, so that a sender can show when its message was accepted (R-3.12, R-8.12). The
    /// session reads no clock of its own.
    pub fn set_wall_clock(&mut self, unix_ms: u64) {
        self.wall_clock = Some(unix_ms);
    }

    /// With [`SessionConfig::defer_confirm`], confirms the message whose last packet had `number` (as in
    /// [`Message::number`]) now that the application has handled it. In v4, confirms the oldest
    /// unconfirmed packet, since v4 numbers carry no meaning.
    pub fn confirm(&mut self, number: u32) {
        if self.dialect == Some(Dialect::Legacy) {
            if let Some(packet) = self.awaiting_legacy.pop_front() {
                self.confirm_packet(&packet);
            }
        } else if let Some((us, peer)) = self.awaiting_app.remove(&number) {
            self.queue_confirm(Dialect::V5, number, us, peer);
        }
    }

    /// While `paused`, new data packets are dropped unconfirmed instead of delivered, so a driver whose
    /// application has fallen behind can keep reading frames (confirmations, keepalives) without buffering
    /// more messages. The peer retransmits what was dropped once delivery resumes.
    pub fn pause_delivery(&mut self, paused: bool) {
        let resumed = self.paused && !paused;
        self.paused = paused;
        if resumed {
            self.ask_again();
        }
    }

    /// RESEND for every number from the next expected up to the highest dropped while paused that has not
    /// arrived since, within the receive window.
    fn ask_again(&mut self) {
        let Some((highest, from, to)) = self.dropped.take() else {
            return;
        };
        let next = self.receive.next_expected();
        let span = highest.wrapping_sub(next);
        if span >= u32::MAX / 2 {
            return;
        }
        let dialect = self.dialect.unwrap_or_default();
        let Ok(resend) = Packet::new(dialect, Verb::RESEND, from, to, Text::EMPTY) else {
            return;
        };
        for offset in 0..=span.min(self.config.receive_window.saturating_sub(1)) {
            let number = next.wrapping_add(offset);
            if !self.receive.has_seen(number) {
                self.push_control(resend.with_number(number).encode());
            }
        }
    }

    /// Changes the dead-peer limit (R-7.9), for instance once a connection attempt, which has a limit of
    /// its own, has succeeded.
    pub fn set_dead_after(&mut self, limit: std::time::Duration) {
        self.config.dead_after = limit;
    }

    /// Stops accepting messages. The session closes once everything sent is confirmed.
    pub fn close(&mut self) {
        self.closing = true;
        self.finish_if_drained();
    }

    fn finish_if_drained(&mut self) {
        if self.closing && !self.closed && self.send.outstanding() == 0 && self.control.is_empty() {
            self.closed = true;
            self.events.push_back(Event::Closed(SessionError::Closed));
        }
    }

    /// Feeds one frame received from the peer (any length: a wrong one is refused, R-2.4).
    pub fn handle_frame(&mut self, now: Instant, frame: &[u8]) {
        if self.closed {
            return;
        }
        self.last_heard = now;
        match PacketView::decode(frame) {
            // A CONFIRM needs its number only: no copy of the packet (one comes back for every packet
            // sent, so this is the commonest frame a busy sender reads).
            Ok(view)
                if view.verb() == Verb::CONFIRM
                    && view.dialect() == Dialect::V5
                    && self.dialect == Some(Dialect::V5) =>
            {
                self.on_confirm(now, view.number());
            }
            Ok(view) => {
                let packet = view.to_packet();
                self.handle_packet(now, &packet);
            }
            Err(error) => self.refuse_frame(error),
        }
    }

    fn handle_packet(&mut self, now: Instant, packet: &Packet) {
        // R-7.1: the first good frame fixes a server's dialect; after that frames must match.
        let dialect = *self.dialect.get_or_insert(packet.dialect());
        if packet.dialect() != dialect {
            let error = ProtocolError::DialectMismatch {
                session: dialect,
                got: packet.dialect(),
            };
            self.answer_error(packet, &error);
            self.events.push_back(Event::Refused(error));
            return;
        }
        match dialect {
            Dialect::V5 => self.handle_v5(now, packet),
            Dialect::Legacy => self.handle_legacy(packet),
        }
    }

    fn handle_v5(&mut self, now: Instant, packet: &Packet) {
        match packet.verb() {
            Verb::CONFIRM => self.on_confirm(now, packet.number()),
            Verb::RESEND => {
                self.send.on_resend(packet.number());
            }
            // R-7.10: numbering starts at 1.
            _ if packet.number() == 0 => {
                self.answer_error(packet, &ProtocolError::ZeroNumber);
                self.events
                    .push_back(Event::Refused(ProtocolError::ZeroNumber));
            }
            _ => {
                let number = packet.number();
                // R-8.13: with deferred confirmation, a message's last packet is confirmed only once the
                // application says it is handled; a duplicate of it meanwhile is not confirmed either.
                let defer = self.config.defer_confirm
                    && !packet.flags().has_more_fragments()
                    && packet.verb() != Verb::PING;
                // While the application is not taking messages, new data is dropped unconfirmed (the
                // peer retransmits it later); duplicates, PINGs and control frames still count, so
                // liveness never depends on the application keeping up (R-7.6, R-7.9).
                if self.paused && packet.verb() != Verb::PING && !self.receive.has_seen(number) {
                    let next = self.receive.next_expected();
                    let higher = match self.dropped {
                        Some((highest, ..)) => {
                            number.wrapping_sub(next) > highest.wrapping_sub(next)
                        }
                        None => true,
                    };
                    if higher {
                        self.dropped = Some((number, *packet.to(), *packet.from()));
                    }
                    return;
                }
                let arrival = self.receive.on_data(packet);
                match arrival {
                    Arrival::InOrder | Arrival::Accepted if defer => {
                        self.awaiting_app
                            .insert(number, (*packet.to(), *packet.from()));
                    }
                    Arrival::Duplicate if self.awaiting_app.contains_key(&number) => {}
                    // R-7.6: a new packet and a duplicate are both confirmed; one beyond the window is not.
                    Arrival::InOrder | Arrival::Accepted | Arrival::Duplicate => {
                        self.confirm_packet(packet)
                    }
                    Arrival::BeyondWindow => {}
                }
                // R-7.7: in order, each once.
                if arrival == Arrival::InOrder {
                    self.deliver(packet);
                    while let Some(packet) = self.receive.pop_ready() {
                        self.deliver(&packet);
                    }
                }
            }
        }
    }

    /// CONFIRM(`number`) in a v5 session (R-7.2).
    fn on_confirm(&mut self, now: Instant, number: u32) {
        if let ConfirmOutcome::New { rtt, report } = self.send.on_confirm(number, now) {
            if let Some(rtt) = rtt {
                self.timer.on_sample(rtt);
            }
            // Keepalives are the session's own business; the application hears of nothing.
            if let Some(at) = self.keepalives.iter().position(|&n| n == number) {
                self.keepalives.remove(at);
            } else if report {
                self.events.push_back(Event::Confirmed { number });
            }
            self.finish_if_drained();
        }
    }

    fn handle_legacy(&mut self, packet: &Packet) {
        match packet.verb() {
            Verb::CONFIRM => self.events.push_back(Event::Confirmed {
                number: packet.number(),
            }),
            Verb::RESEND => {
                // R-3.6: "send your last packet again".
                if let Some(frame) = self.legacy_last.as_deref().copied() {
                    self.push_control(frame);
                }
            }
            _ => {
                if self.role == Role::Server {
                    // A PING never reaches the application, so nothing would confirm it later.
                    if self.config.defer_confirm && packet.verb() != Verb::PING {
                        self.awaiting_legacy.push_back(*packet);
                    } else {
                        self.confirm_packet(packet);
                    }
                }
                self.deliver(packet);
            }
        }
    }

    fn deliver(&mut self, packet: &Packet) {
        if packet.verb() == Verb::PING {
            return;
        }
        match self.reassembler.push(packet) {
            Ok(Some(message)) => self.events.push_back(Event::Message(message)),
            Ok(None) => {}
            Err(error) => {
                // Never reaches the application, so it is confirmed here if it was waiting.
                self.confirm(packet.number());
                // R-6.2, R-6.3: the partial message is gone; say so once.
                let error = ProtocolError::from(error);
                self.answer_error(packet, &error);
                self.events.push_back(Event::Refused(error));
            }
        }
    }

    /// R-3.11 and R-4.2: RESEND for a damaged frame, ERROR for any other refusal.
    fn refuse_frame(&mut self, error: DecodeError) {
        if let Some(header) = error.header() {
            let dialect = header.dialect().or(self.dialect).unwrap_or_default();
            let (from, to) = swapped_names(header);
            if error.wants_resend() {
                if let Ok(resend) = Packet::new(dialect, Verb::RESEND, from, to, Text::EMPTY) {
                    self.push_control(resend.with_number(header.number).encode());
                }
            } else if header.verb != Verb::CONFIRM && header.verb != Verb::RESEND {
                self.queue_error(dialect, from, to, header.number, &error.to_string());
            }
        }
        self.events.push_back(Event::Refused(error.into()));
    }

    fn answer_error(&mut self, packet: &Packet, error: &ProtocolError) {
        let dialect = self.dialect.unwrap_or(packet.dialect());
        self.queue_error(
            dialect,
            *packet.to(),
            *packet.from(),
            packet.number(),
            &error.to_string(),
        );
    }

    /// Sends ERROR as a data packet. It is advisory (R-4.2 is a SHOULD), so with no room it is skipped
    /// rather than letting a peer that sends garbage fill the send buffer.
    fn queue_error(&mut self, dialect: Dialect, from: Name, to: Name, number: u32, why: &str) {
        let text = Text::new(truncate(why, Text::CAPACITY)).unwrap_or_default();
        let Ok(error) = Packet::new(dialect, Verb::ERROR, from, to, text) else {
            return;
        };
        match dialect {
            Dialect::V5 if self.send.room() > 0 && !self.closing => {
                self.send.push(error);
            }
            Dialect::V5 => {}
            Dialect::Legacy => self.push_control(error.with_number(number).encode()),
        }
    }
    /// Queues CONFIRM(`number`) from `us` to `peer`; a v5 CONFIRM carries the time (R-3.12).
    fn queue_confirm(&mut self, dialect: Dialect, number: u32, us: Name, peer: Name) {
        if dialect == Dialect::V5 {
            if let Some(frame) = self.confirm_from_template(number, us, peer) {
                self.push_control(frame);
                return;
            }
        }
        let mut digits = [0; 20];
        let text = match self.wall_clock {
            Some(ms) if dialect == Dialect::V5 => {
                Text::new(decimal(ms, &mut digits)).unwrap_or_default()
            }
            _ => Text::EMPTY,
        };
        if let Ok(confirm) = Packet::new(dialect, Verb::CONFIRM, us, peer, text) {
            let frame = confirm.with_number(number).encode();
            if dialect == Dialect::V5 {
                self.confirm_template = Some(Box::new(ConfirmTemplate {
                    us,
                    peer,
                    wall_clock: self.wall_clock,
                    frame,
                }));
            }
            self.push_control(frame);
        }
    }

    /// A v5 CONFIRM renumbered from the last one built, if that was between the same names at the same
    /// time: a burst of confirmations differs only in the numbers, and renumbering costs a few table
    /// look-ups where encoding costs a CRC over the frame.
    fn confirm_from_template(&self, number: u32, us: Name, peer: Name) -> Option<[u8; FRAME_LEN]> {
        let template = self.confirm_template.as_deref()?;
        let same =
            template.us == us && template.peer == peer && template.wall_clock == self.wall_clock;
        same.then(|| numbered(&template.frame, number))
    }

    /// CONFIRM answering `packet`, names swapped (R-3.11, R-3.12).
    fn confirm_packet(&mut self, packet: &Packet) {
        self.queue_confirm(
            packet.dialect(),
            packet.number(),
            *packet.to(),
            *packet.from(),
        );
    }

    fn push_control(&mut self, frame: [u8; FRAME_LEN]) {
        if self.control.len() >= MAX_CONTROL {
            self.control.pop_front();
        }
        let delay = self.config.confirm_delay.min(MAX_CONFIRM_DELAY);
        if self.control.is_empty() && !delay.is_zero() {
            // `last_heard` is the time of the frame being answered, or close to it.
            self.control_due = Some(self.last_heard + delay);
        }
        self.control.push_back(frame);
    }

    /// Whether the control frames waiting may go now (see `SessionConfig::confirm_delay`).
    fn control_may_go(&self, now: Instant) -> bool {
        self.control_due.is_none_or(|due| due <= now)
            || self.control.len() >= HOLD_CONTROL
            || self.closing
            || self.dialect != Some(Dialect::V5)
    }

    /// The next frame to send, if any. Call until it returns `None`, and send the frames in order; a
    /// stream transport should write them in one batch.
    pub fn poll_transmit(&mut self, now: Instant) -> Option<[u8; FRAME_LEN]> {
        let mut frame = [0; FRAME_LEN];
        self.poll_transmit_into(now, &mut frame).then_some(frame)
    }

    /// [`Session::poll_transmit`], writing the frame straight into `frame` (a slot of the caller's write
    /// buffer, say) rather than returning it: one copy fewer per frame. Returns whether there was one.
    pub fn poll_transmit_into(&mut self, now: Instant, frame: &mut [u8; FRAME_LEN]) -> bool {
        if self.closed {
            return false;
        }
        if !self.control.is_empty() && self.control_may_go(now) {
            // All of them, once one goes: they leave in the same write.
            self.control_due = None;
            if let Some(control) = self.control.pop_front() {
                *frame = control;
                return true;
            }
        }
        let sent = self.send.poll_transmit_into(now, frame);
        if !sent {
            self.finish_if_drained();
        }
        sent
    }

    /// When [`Session::handle_timeout`] must next be called, if ever.
    pub fn poll_timeout(&self) -> Option<Instant> {
        if self.closed || self.dialect == Some(Dialect::Legacy) {
            return None;
        }
        let dead = self.last_heard + self.config.dead_after;
        let retransmit = self.send.next_timeout(self.timer.rto());
        let probe = self
            .probe_timeout()
            .and_then(|pto| self.send.probe_deadline(pto));
        let keepalive = self.keepalive_due();
        let control = self.control_due.filter(|_| !self.control.is_empty());
        [Some(dead), retransmit, probe, keepalive, control]
            .into_iter()
            .flatten()
            .min()
    }

    fn keepalive_due(&self) -> Option<Instant> {
        // While data is unconfirmed its retransmissions already probe the peer.
        if self.send.outstanding() > 0 || self.closing {
            return None;
        }
        Some(self.last_heard.max(self.last_ping) + self.config.keepalive_interval)
    }

    /// Advances the timers to `now`: retransmits (R-7.3), probes (R-7.8), declares the peer gone (R-7.9).
    pub fn handle_timeout(&mut self, now: Instant) {
        if self.closed || self.dialect == Some(Dialect::Legacy) {
            return;
        }
        let silent_for = now.saturating_duration_since(self.last_heard);
        if silent_for >= self.config.dead_after {
            self.closed = true;
            self.events
                .push_back(Event::Closed(SessionError::PeerGone { silent_for }));
            return;
        }
        if let Some(pto) = self.probe_timeout() {
            self.send.on_probe(now, pto);
        }
        if self.send.on_timeout(now, self.timer.rto()) > 0 {
            self.timer.on_expiry();
        }
        if self.keepalive_due().is_some_and(|due| due <= now) && self.send.room() > 0 {
            self.last_ping = now;
            if let Ok(ping) = Packet::new(
                Dialect::V5,
                Verb::PING,
                Name::EMPTY,
                Name::EMPTY,
                Text::EMPTY,
            ) {
                let number = self.send.push(ping);
                // Outstanding keepalives are at most a few, since the next waits for an idle interval
                // with nothing unconfirmed; the bound only guards against a peer that never confirms.
                if self.keepalives.len() >= 8 {
                    self.keepalives.pop_front();
                }
                self.keepalives.push_back(number);
            }
        }
    }

    /// Frees the memory of the queues a burst grew, as far as they are empty. A session keeps its queues'
    /// room from burst to burst, so that a busy one does not reallocate with each; its owner calls this
    /// once it has been quiet a while, so that thousands of idle sessions do not each keep the size of
    /// their busiest moment.
    pub fn release_memory(&mut self) {
        self.confirm_template = None;
        release(&mut self.control);
        release(&mut self.events);
        release(&mut self.keepalives);
        release(&mut self.awaiting_legacy);
        // An emptied BTreeMap keeps its root node (most of a kilobyte).
        if self.awaiting_app.is_empty() {
            self.awaiting_app = BTreeMap::new();
        }
        self.send.release_memory();
    }

    /// The probe timeout for a blocked window (RFC 8985's PTO): twice the smoothed round trip, at least
    /// `MIN_PTO`, at most the RTO. `None` until a round trip has been measured.
    fn probe_timeout(&self) -> Option<Duration> {
        let srtt = self.timer.srtt()?;
        Some((srtt * 2).max(MIN_PTO).min(self.timer.rto()))
    }

    /// The next event, if any.
    pub fn poll_event(&mut self) -> Option<Event> {
        self.events.pop_front()
    }
}

/// A v5 CONFIRM and what it was built from.
#[derive(Debug)]
struct ConfirmTemplate {
    us: Name,
    peer: Name,
    wall_clock: Option<u64>,
    /// Its frame, with some packet number and the CRC-32 to match.
    frame: [u8; FRAME_LEN],
}

/// The header's names, swapped for the answer; a name that is not valid becomes empty.
fn swapped_names(header: &Header) -> (Name, Name) {
    let name = |raw: &[u8]| {
        let end = raw.iter().position(|&b| b == 0).unwrap_or(raw.len());
        std::str::from_utf8(&raw[..end])
            .ok()
            .and_then(|s| Name::new(s).ok())
            .unwrap_or_default()
    };
    (name(&header.to), name(&header.from))
}

/// `n` in decimal, written into `buf` without allocating.
fn decimal(mut n: u64, buf: &mut [u8; 20]) -> &str {
    let mut at = buf.len();
    loop {
        at -= 1;
        buf[at] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    std::str::from_utf8(&buf[at..]).unwrap_or("0")
}

/// `s` cut to at most `max` bytes at a character boundary.
fn truncate(s: &str, max: usize) -> &str {
    let mut end = s.len().min(max);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}
