//! [`RawClient`]: a client that speaks frames byte-exactly, with just enough of a v5 session to drive a
//! case: it numbers what it sends, confirms what it receives (unless told not to), answers the server's
//! RESEND, retransmits over UDP, and joins fragments. Everything it receives is kept, in order, for the
//! checks; anything the server sends that breaks the frame rules fails the case at once.

use std::collections::{BTreeMap, VecDeque};
use std::fmt;
use std::net::SocketAddr;
use std::time::Duration;

use chatproto::{Dialect, Flags, Fragments, Name, Packet, Text, Verb, FRAME_LEN};
use tokio::time::Instant;

use super::case::{Check, Stop};
use super::config::Transport;
use super::conn::{Conn, Read};
use super::frames::{self, describe_packet, hex, shorten, Frame};
use super::pacer::Pacer;

/// One frame as it arrived.
#[derive(Clone, Debug)]
pub struct Received {
    /// When it was read.
    pub at: Instant,
    /// Its 337 bytes.
    pub bytes: Frame,
    /// What they decode to.
    pub packet: Packet,
}

/// One whole message from the server: a single frame, or the fragments of one joined.
#[derive(Clone, Debug)]
pub struct Msg {
    /// The verb.
    pub verb: Verb,
    /// `from_name`.
    pub from: String,
    /// `to_name`.
    pub to: String,
    /// The text, deciphered if the encrypted flag was set.
    pub text: String,
    /// Whether the encrypted flag was set.
    pub encrypted: bool,
    /// The packet number of its last frame.
    pub number: u32,
    /// Its frames, in order.
    pub frames: Vec<Received>,
}

impl Msg {
    /// Whether it has this verb.
    pub fn is(&self, verb: Verb) -> bool {
        self.verb == verb
    }

    /// Whether it is an ERROR.
    pub fn is_error(&self) -> bool {
        self.verb == Verb::ERROR
    }

    /// Whether it is the LOGIN or QUIT notice about `name`.
    pub fn is_notice(&self, verb: Verb, name: &str) -> bool {
        self.verb == verb && self.from == name
    }

    fn from_frame(received: Received) -> Msg {
        let packet = received.packet;
        let wire = packet.text().as_str();
        let encrypted = packet.flags().is_encrypted();
        Msg {
            verb: packet.verb(),
            from: packet.from().as_str().to_owned(),
            to: packet.to().as_str().to_owned(),
            text: if encrypted {
                frames::decipher(wire)
            } else {
                wire.to_owned()
            },
            encrypted,
            number: packet.number(),
            frames: vec![received],
        }
    }
}

impl fmt::Display for Msg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} #{} {:?} -> {:?}{} {}",
            self.verb,
            self.number,
            self.from,
            self.to,
            if self.encrypted { " (encrypted)" } else { "" },
            shorten(&self.text)
        )?;
        if self.frames.len() > 1 {
            write!(f, " in {} fragments", self.frames.len())?;
        }
        Ok(())
    }
}

/// A v5 packet sent and not yet confirmed.
#[derive(Debug)]
struct Unconfirmed {
    frame: Frame,
    sent: Instant,
    interval: Duration,
}

/// How far ahead of the next expected number the client holds the server's packets.
const MAX_AHEAD: u32 = 65_536;

/// First retransmission interval over UDP; it doubles up to [`MAX_RETRANSMIT`].
const FIRST_RETRANSMIT: Duration = Duration::from_millis(400);
const MAX_RETRANSMIT: Duration = Duration::from_secs(3);

/// A raw client connected to the server under test.
#[derive(Debug)]
pub struct RawClient {
    conn: Conn,
    transport: Transport,
    dialect: Dialect,
    name: String,
    timeout: Duration,
    next_number: u32,
    unconfirmed: BTreeMap<u32, Unconfirmed>,
    confirmed: Vec<u32>,
    /// The number of the server's next data packet to hand on (v5): packets are put in order, as a
    /// receiver must, since UDP may reorder them.
    next_expected: u32,
    /// Data packets that came ahead of `next_expected`.
    early: BTreeMap<u32, Received>,
    inbox: VecDeque<Msg>,
    partial: Option<Msg>,
    log: Vec<Received>,
    auto_confirm: bool,
    pacer: Pacer,
    ended: Option<String>,
    violation: Option<String>,
    quit_on_drop: bool,
}

impl RawClient {
    pub(crate) async fn connect(
        transport: Transport,
        addr: SocketAddr,
        source: Option<std::net::IpAddr>,
        dialect: Dialect,
        timeout: Duration,
        pacer: (u32, u32),
    ) -> Check<RawClient> {
        let conn = Conn::open(transport, addr, source, timeout)
            .await
            .map_err(|error| {
                let from = source.map(|s| format!(" from {s}")).unwrap_or_default();
                Stop::Fail(format!(
                    "could not connect to {transport} {addr}{from}: {error}"
                ))
            })?;
        Ok(RawClient {
            conn,
            transport,
            dialect,
            name: String::new(),
            timeout,
            next_number: 1,
            unconfirmed: BTreeMap::new(),
            confirmed: Vec::new(),
            next_expected: 1,
            early: BTreeMap::new(),
            inbox: VecDeque::new(),
            partial: None,
            log: Vec::new(),
            auto_confirm: true,
            pacer: Pacer::new(pacer.0, pacer.1),
            ended: None,
            violation: None,
            quit_on_drop: true,
        })
    }

    /// The dialect this client speaks.
    pub fn dialect(&self) -> Dialect {
        self.dialect
    }

    /// The name it logged in as, or empty.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Sets the name it sends as, without logging in (for cases that log in by hand).
    pub fn set_name(&mut self, name: &str) {
        self.name = name.to_owned();
    }

    /// The read timeout.
    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// Stops confirming the server's v5 data packets, so that a case can watch retransmission.
    pub fn set_auto_confirm(&mut self, on: bool) {
        self.auto_confirm = on;
    }

    /// Stops pacing: the case means to exceed the server's rate limit.
    pub fn unpaced(&mut self) {
        self.pacer.disable();
    }

    /// Leaves without QUIT when dropped: the case wants the server to notice the client is gone by itself.
    pub fn vanish_on_drop(&mut self) {
        self.quit_on_drop = false;
    }

    /// Every frame received so far, in order, retransmissions included.
    pub fn log(&self) -> &[Received] {
        &self.log
    }

    /// The numbers of every CONFIRM received, in order (v5).
    pub fn confirmed(&self) -> &[u32] {
        &self.confirmed
    }

    /// Why the connection ended, if it has.
    pub fn ended(&self) -> Option<&str> {
        self.ended.as_deref()
    }

    /// The number the next data packet will carry (v5), without using it.
    pub fn peek_number(&self) -> u32 {
        match self.dialect {
            Dialect::V5 => self.next_number,
            Dialect::Legacy => 1,
        }
    }

    /// Uses the next packet number (v5); v4 peers always send 1.
    pub fn take_number(&mut self) -> u32 {
        match self.dialect {
            Dialect::V5 => {
                let number = self.next_number;
                self.next_number = self.next_number.wrapping_add(1);
                number
            }
            Dialect::Legacy => 1,
        }
    }

    /// Starts numbering again at `number`, and expects the server's numbers from 1, as a new session
    /// would.
    pub fn restart_numbering(&mut self, number: u32) {
        self.next_number = number;
        self.unconfirmed.clear();
        self.next_expected = 1;
        self.early.clear();
        self.partial = None;
    }

    /// One packet from this client, numbered with [`RawClient::peek_number`], for a case to encode and
    /// then change.
    pub fn packet(&self, verb: Verb, to: &str, text: &str) -> Check<Packet> {
        self.packet_from(&self.name, verb, to, text)
    }

    /// One packet with any `from_name`, numbered with [`RawClient::peek_number`].
    pub fn packet_from(&self, from: &str, verb: Verb, to: &str, text: &str) -> Check<Packet> {
        let packet = Packet::new(
            self.dialect,
            verb,
            name(from)?,
            name(to)?,
            Text::legacy(text).map_err(|e| suite_bug(format!("text {text:?}: {e}")))?,
        )
        .map_err(|e| suite_bug(format!("packet: {e}")))?;
        Ok(packet.with_number(self.peek_number()))
    }

    /// Sends a message from this client's name, in fragments if it is long (R-6.1; in v4, as several whole
    /// messages, R-6.4). Returns the number of its last packet (v5).
    pub async fn send(&mut self, verb: Verb, to: &str, text: &str) -> Check<u32> {
        let from = self.name.clone();
        self.send_from(&from, verb, to, text, false).await
    }

    /// Sends a message with the encrypted flag, its text enciphered.
    pub async fn send_encrypted(&mut self, verb: Verb, to: &str, text: &str) -> Check<u32> {
        let from = self.name.clone();
        self.send_from(&from, verb, to, text, true).await
    }

    /// Sends a message with any `from_name`. Over UDP in v5 it then reads until the server has confirmed
    /// what this client sent, for a read timeout at most (see [`RawClient::send_now`]).
    pub async fn send_from(
        &mut self,
        from: &str,
        verb: Verb,
        to: &str,
        text: &str,
        encrypted: bool,
    ) -> Check<u32> {
        let last = self.send_now(from, verb, to, text, encrypted).await?;
        self.settle_sends().await?;
        Ok(last)
    }

    /// Sends a message without waiting for anything: for floods, and for sessions that may be refused.
    /// Over UDP the client retransmits only while it reads, so a case that sends this way reads this
    /// client before it expects others to have what it sent.
    pub async fn send_now(
        &mut self,
        from: &str,
        verb: Verb,
        to: &str,
        text: &str,
        encrypted: bool,
    ) -> Check<u32> {
        let mut template = Packet::new(self.dialect, verb, name(from)?, name(to)?, Text::EMPTY)
            .map_err(|e| suite_bug(format!("packet: {e}")))?;
        if encrypted {
            template = template
                .with_flags(Flags::ENCRYPTED)
                .map_err(|e| suite_bug(format!("flags: {e}")))?;
        }
        let fragments =
            Fragments::new(template, text).map_err(|e| suite_bug(format!("text: {e}")))?;
        let packets: Vec<Packet> = fragments.collect();
        let mut last = 0;
        for packet in packets {
            let number = self.take_number();
            last = self.send_packet(packet.with_number(number)).await?;
        }
        Ok(last)
    }

    /// Over UDP in v5, reads until the server has confirmed everything this client sent, retransmitting
    /// what was lost meanwhile (a client retransmits only while it reads), for one read timeout at most.
    /// Not confirmed by then is not a failure here: the cases check what they need.
    async fn settle_sends(&mut self) -> Check {
        if self.transport != Transport::Udp || self.dialect != Dialect::V5 {
            return Ok(());
        }
        let deadline = Instant::now() + self.timeout;
        while !self.unconfirmed.is_empty() && self.pump(deadline).await? {}
        Ok(())
    }

    /// Sends a packet as it is (its number already taken with [`RawClient::take_number`]), and in v5
    /// keeps it until it is confirmed, to answer RESEND and, over UDP, to retransmit it.
    pub async fn send_packet(&mut self, packet: Packet) -> Check<u32> {
        let frame = packet.encode();
        self.pacer.take().await;
        self.write(&frame).await?;
        if self.dialect == Dialect::V5 && !packet.verb().is_control() {
            self.unconfirmed.insert(
                packet.number(),
                Unconfirmed {
                    frame,
                    sent: Instant::now(),
                    interval: FIRST_RETRANSMIT,
                },
            );
        }
        Ok(packet.number())
    }

    /// Sends a frame as it is and, in v5, keeps it until it is confirmed, as [`RawClient::send_packet`]
    /// does: for a hand-made frame the server must accept.
    pub async fn send_frame_tracked(&mut self, frame: &Frame) -> Check {
        self.pacer.take().await;
        self.write(frame).await?;
        let verb = Verb::from_u32(frames::verb(frame));
        if self.dialect == Dialect::V5 && !verb.is_control() {
            self.unconfirmed.insert(
                frames::number(frame),
                Unconfirmed {
                    frame: *frame,
                    sent: Instant::now(),
                    interval: FIRST_RETRANSMIT,
                },
            );
        }
        self.settle_sends().await
    }

    /// Sends a frame the server must answer (RESEND, ERROR, or CONFIRM of a duplicate) and returns the
    /// answer matching `want`. A datagram may be lost, so over UDP the frame goes again every half read
    /// timeout until the answer comes, for two read timeouts at most; the frames cases send this way are
    /// refused or duplicates, so a copy changes nothing.
    pub async fn send_expecting(
        &mut self,
        frame: &Frame,
        what: &str,
        want: impl Fn(&Msg) -> bool,
    ) -> Check<Msg> {
        if self.transport == Transport::Tcp {
            self.send_frame(frame).await?;
            return self.expect(what, want).await;
        }
        let deadline = Instant::now() + self.timeout * 2;
        let mut sent = 0;
        loop {
            self.send_frame(frame).await?;
            sent += 1;
            let wait = (self.timeout / 2).max(Duration::from_millis(300));
            match self.expect_within(wait, what, &want).await {
                Ok(found) => return Ok(found),
                Err(Stop::Fail(_)) if Instant::now() < deadline => {}
                Err(Stop::Fail(why)) => fail!("{why} (the frame was sent {sent} times)"),
                Err(skip) => return Err(skip),
            }
        }
    }

    /// Sends a frame as it is, kept for nothing: for frames the server must refuse.
    pub async fn send_frame(&mut self, frame: &Frame) -> Check {
        if !Verb::from_u32(frames::verb(frame)).is_control() {
            self.pacer.take().await;
        }
        self.write(frame).await
    }

    /// Writes raw bytes: part of a frame, several frames, or garbage. A server that stops reading makes
    /// this fail after a few read timeouts rather than hang.
    pub async fn write(&mut self, bytes: &[u8]) -> Check {
        let limit = self.timeout * 3;
        let written = match tokio::time::timeout(limit, self.conn.write(bytes)).await {
            Ok(written) => written,
            Err(_) => fail!(
                "{}: could not send within {limit:?}: the server is not reading",
                self.who()
            ),
        };
        written.map_err(|error| {
            Stop::Fail(format!(
                "{}: could not send ({error}){}",
                self.who(),
                self.ended
                    .as_ref()
                    .map(|why| format!("; the connection had ended: {why}"))
                    .unwrap_or_default()
            ))
        })
    }

    /// Ends the sending direction of a TCP connection.
    pub async fn shutdown(&mut self) {
        let _ = self.conn.shutdown().await;
    }

    /// Sends CONFIRM for the server's data packet `number` (v5).
    pub async fn confirm(&mut self, number: u32) -> Check {
        let packet = Packet::new(
            self.dialect,
            Verb::CONFIRM,
            name(&self.name)?,
            Name::SERVER,
            Text::EMPTY,
        )
        .map_err(|e| suite_bug(format!("confirm: {e}")))?;
        self.write(&packet.with_number(number).encode()).await
    }

    /// Logs in with LOGIN: fails unless the server announces it.
    pub async fn login(&mut self, who: &str) -> Check {
        let answer = self.try_login(who).await?;
        if answer.is_error() {
            fail!("LOGIN as {who:?} was refused: {answer}");
        }
        Ok(())
    }

    /// Sends LOGIN and returns the answer: this user's LOGIN notice, or ERROR.
    pub async fn try_login(&mut self, who: &str) -> Check<Msg> {
        let text = match self.dialect {
            Dialect::V5 => String::new(),
            Dialect::Legacy => format!("{who} has connected."),
        };
        let to = match self.dialect {
            Dialect::V5 => "server",
            Dialect::Legacy => "ALL",
        };
        self.send_from(who, Verb::LOGIN, to, &text, false).await?;
        let wait = self.timeout;
        self.await_login(who, "LOGIN", wait).await
    }

    /// Sends REGISTER or AUTH with a password and returns the answer: this user's LOGIN notice, or
    /// ERROR.
    ///
    /// Password hashing is slow on purpose (R-8.3 asks for argon2id), so the answer may take up to five
    /// read timeouts.
    pub async fn try_password(&mut self, verb: Verb, who: &str, password: &str) -> Check<Msg> {
        self.send_from(who, verb, "server", password, false).await?;
        let wait = self.timeout * 5;
        self.await_login(who, &verb.to_string(), wait).await
    }

    async fn await_login(&mut self, who: &str, how: &str, wait: Duration) -> Check<Msg> {
        let owned = who.to_owned();
        let answer = self
            .expect_within(
                wait,
                &format!("the LOGIN notice for {who} or ERROR, after {how}"),
                |m| m.is_notice(Verb::LOGIN, &owned) || m.is_error(),
            )
            .await?;
        if !answer.is_error() {
            self.name = who.to_owned();
        }
        Ok(answer)
    }

    /// Sends QUIT and waits for its notice.
    pub async fn quit(&mut self) -> Check {
        let text = format!("{} has disconnected.", self.name);
        self.send(Verb::QUIT, "ALL", &text).await?;
        let me = self.name.clone();
        self.expect(&format!("the QUIT notice for {me}"), |m| {
            m.is_notice(Verb::QUIT, &me)
        })
        .await?;
        self.quit_on_drop = false;
        Ok(())
    }

    /// The first message matching `want`, within the read timeout; those before it stay unread.
    pub async fn expect(&mut self, what: &str, want: impl Fn(&Msg) -> bool) -> Check<Msg> {
        let timeout = self.timeout;
        self.expect_within(timeout, what, want).await
    }

    /// As [`RawClient::expect`], waiting up to `wait`.
    pub async fn expect_within(
        &mut self,
        wait: Duration,
        what: &str,
        want: impl Fn(&Msg) -> bool,
    ) -> Check<Msg> {
        let at = self.find(wait, what, &want).await?;
        Ok(self.inbox.remove(at).unwrap_or_else(unreachable_msg))
    }

    /// The inbox position of the first message matching `want`, reading until one comes.
    async fn find(
        &mut self,
        wait: Duration,
        what: &str,
        want: &impl Fn(&Msg) -> bool,
    ) -> Check<usize> {
        let deadline = Instant::now() + wait;
        let mut looked = 0;
        loop {
            if let Some(at) = self.inbox.iter().skip(looked).position(want) {
                return Ok(looked + at);
            }
            looked = self.inbox.len();
            if !self.pump(deadline).await? {
                let mut why = match &self.ended {
                    Some(why) => format!("the connection ended ({why})"),
                    None => format!("nothing matching within {wait:?}"),
                };
                if let Some(first) = self.early.keys().next() {
                    why.push_str(&format!(
                        " ({} later packets, from {first}, wait for packet {}, which has not come)",
                        self.early.len(),
                        self.next_expected
                    ));
                }
                fail!(
                    "{}: expected {what}; {why}; received meanwhile: {}",
                    self.who(),
                    self.recent()
                );
            }
        }
    }

    /// The next ERROR.
    pub async fn expect_error(&mut self, after: &str) -> Check<Msg> {
        self.expect(&format!("ERROR after {after}"), Msg::is_error)
            .await
    }

    /// CONFIRM of `number` in v5; in v4, the next CONFIRM (numbers mean nothing there, R-3.4).
    pub async fn expect_confirm(&mut self, number: u32) -> Check<Msg> {
        match self.dialect {
            Dialect::V5 => {
                self.expect(&format!("CONFIRM {number}"), |m| {
                    m.is(Verb::CONFIRM) && m.number == number
                })
                .await
            }
            Dialect::Legacy => self.expect("CONFIRM", |m| m.is(Verb::CONFIRM)).await,
        }
    }

    /// RESEND for `number` in v5; in v4, the next RESEND.
    pub async fn expect_resend(&mut self, number: u32) -> Check<Msg> {
        let v5 = self.dialect == Dialect::V5;
        self.expect(&format!("RESEND {number}"), |m| {
            m.is(Verb::RESEND) && (!v5 || m.number == number)
        })
        .await
    }

    /// Fails if anything matching `unwanted` is unread or arrives within `wait`. A bounded wait proves
    /// absence only so far; cases follow it with something that must arrive after.
    pub async fn expect_nothing(
        &mut self,
        wait: Duration,
        what: &str,
        unwanted: impl Fn(&Msg) -> bool,
    ) -> Check {
        let deadline = Instant::now() + wait;
        let mut looked = 0;
        loop {
            if let Some(found) = self.inbox.iter().skip(looked).find(|m| unwanted(m)) {
                fail!("{}: expected no {what}, got {found}", self.who());
            }
            looked = self.inbox.len();
            if !self.pump(deadline).await? {
                return Ok(());
            }
        }
    }

    /// The first message matching `want`, failing if one matching `forbidden` came before it (the server
    /// handles a session's packets in order, so something acted on before `want` would be seen first).
    pub async fn expect_before(
        &mut self,
        what: &str,
        want: impl Fn(&Msg) -> bool,
        forbidden_what: &str,
        forbidden: impl Fn(&Msg) -> bool,
    ) -> Check<Msg> {
        let timeout = self.timeout;
        let at = self.find(timeout, what, &want).await?;
        if let Some(bad) = self.inbox.iter().take(at).find(|m| forbidden(m)) {
            fail!(
                "{}: expected no {forbidden_what} before {what}, got {bad}",
                self.who()
            );
        }
        Ok(self.inbox.remove(at).unwrap_or_else(unreachable_msg))
    }

    /// Everything unread, and everything that arrives within `wait`.
    pub async fn collect(&mut self, wait: Duration) -> Check<Vec<Msg>> {
        let deadline = Instant::now() + wait;
        while self.pump(deadline).await? {}
        Ok(self.inbox.drain(..).collect())
    }

    /// Reads (keeping everything) for `wait`, or until the connection ends.
    pub async fn read_for(&mut self, wait: Duration) -> Check {
        let deadline = Instant::now() + wait;
        while self.pump(deadline).await? {}
        Ok(())
    }

    /// Waits for the server to end the connection (TCP), reading and keeping what comes before.
    pub async fn expect_end(&mut self, wait: Duration, why: &str) -> Check {
        let deadline = Instant::now() + wait;
        while self.ended.is_none() {
            if !self.pump(deadline).await? && self.ended.is_none() {
                fail!(
                    "{}: expected the server to close the connection ({why}) within {wait:?}; it stayed \
                     open; received meanwhile: {}",
                    self.who(),
                    self.recent()
                );
            }
        }
        Ok(())
    }

    /// Unread messages, oldest first, removed.
    pub fn take_inbox(&mut self) -> Vec<Msg> {
        self.inbox.drain(..).collect()
    }

    /// Unread messages, oldest first.
    pub fn inbox(&self) -> impl Iterator<Item = &Msg> {
        self.inbox.iter()
    }

    /// Who this client is, for messages.
    pub fn who(&self) -> String {
        if self.name.is_empty() {
            "a client not logged in".to_owned()
        } else {
            self.name.clone()
        }
    }

    /// The last few unread messages, for failure messages.
    fn recent(&self) -> String {
        const SHOWN: usize = 6;
        let interesting: Vec<&Msg> = self
            .inbox
            .iter()
            .filter(|m| !m.is(Verb::CONFIRM) && !m.is(Verb::PING))
            .collect();
        let confirms = self.inbox.len() - interesting.len();
        let mut shown: Vec<String> = interesting
            .iter()
            .rev()
            .take(SHOWN)
            .rev()
            .map(|m| m.to_string())
            .collect();
        if interesting.len() > SHOWN {
            shown.insert(0, format!("({} earlier)", interesting.len() - SHOWN));
        }
        if confirms > 0 {
            shown.push(format!("and {confirms} CONFIRM/PING"));
        }
        if shown.is_empty() {
            "nothing".to_owned()
        } else {
            shown.join("; ")
        }
    }

    /// Reads one frame (or the end, or nothing until `deadline`) and handles it; retransmits what is due
    /// meanwhile. `Ok(false)` when the deadline passed or the connection has ended.
    async fn pump(&mut self, deadline: Instant) -> Check<bool> {
        if let Some(violation) = self.violation.take() {
            return Err(Stop::Fail(violation));
        }
        if self.ended.is_some() {
            return Ok(false);
        }
        loop {
            let now = Instant::now();
            if now >= deadline {
                return Ok(false);
            }
            let due = self.retransmit_due();
            let until = due.map_or(deadline, |due| due.min(deadline));
            match self.conn.read(until).await {
                Read::Frame(frame) => {
                    self.handle(frame).await?;
                    return match self.violation.take() {
                        Some(violation) => Err(Stop::Fail(violation)),
                        None => Ok(true),
                    };
                }
                Read::WrongLength(len) => fail!(
                    "{}: the server sent a datagram of {len} bytes; a datagram holds exactly one \
                     {FRAME_LEN}-byte frame (R-2.4)",
                    self.who()
                ),
                Read::Closed { partial } => {
                    self.ended = Some("closed by the server".to_owned());
                    if partial > 0 {
                        fail!(
                            "{}: the server closed the connection {partial} bytes into a frame (R-2.1, \
                             R-2.3)",
                            self.who()
                        );
                    }
                    return Ok(false);
                }
                Read::Failed(error) => {
                    self.ended = Some(format!("failed: {error}"));
                    return Ok(false);
                }
                Read::TimedOut => self.retransmit().await?,
            }
        }
    }

    fn retransmit_due(&self) -> Option<Instant> {
        if self.transport != Transport::Udp {
            return None;
        }
        self.unconfirmed.values().map(|u| u.sent + u.interval).min()
    }

    /// Over UDP, sends again what stayed unconfirmed, as a v5 sender must.
    async fn retransmit(&mut self) -> Check {
        if self.transport != Transport::Udp {
            return Ok(());
        }
        let now = Instant::now();
        let due: Vec<Frame> = self
            .unconfirmed
            .values_mut()
            .filter(|u| u.sent + u.interval <= now)
            .map(|u| {
                u.sent = now;
                u.interval = (u.interval * 2).min(MAX_RETRANSMIT);
                u.frame
            })
            .collect();
        for frame in due {
            self.pacer.count();
            self.write(&frame).await?;
        }
        Ok(())
    }

    async fn handle(&mut self, bytes: Frame) -> Check {
        let packet = match Packet::decode(&bytes) {
            Ok(packet) => packet,
            Err(error) => {
                self.violation = Some(format!(
                    "{}: the server sent a frame that does not decode: {error}\n  frame: {}",
                    self.who(),
                    hex(&bytes)
                ));
                return Ok(());
            }
        };
        let received = Received {
            at: Instant::now(),
            bytes,
            packet,
        };
        self.log.push(received.clone());
        // a session speaks one dialect, both ways.
        if packet.dialect() != self.dialect {
            self.violation = Some(format!(
                "{}: a {} session received a {} frame: {}",
                self.who(),
                self.dialect,
                packet.dialect(),
                describe_packet(&packet)
            ));
            return Ok(());
        }
        match self.dialect {
            Dialect::Legacy => self.inbox.push_back(Msg::from_frame(received)),
            Dialect::V5 => self.handle_v5(received).await?,
        }
        Ok(())
    }

    async fn handle_v5(&mut self, received: Received) -> Check {
        let packet = received.packet;
        let number = packet.number();
        match packet.verb() {
            Verb::CONFIRM => {
                self.confirmed.push(number);
                self.unconfirmed.remove(&number);
                self.inbox.push_back(Msg::from_frame(received));
            }
            Verb::RESEND => {
                // send it again if it was ours and is not confirmed.
                if let Some(frame) = self.unconfirmed.get(&number).map(|u| u.frame) {
                    self.pacer.count();
                    self.write(&frame).await?;
                }
                self.inbox.push_back(Msg::from_frame(received));
            }
            _ => {
                if number == 0 {
                    self.violation = Some(format!(
                        "{}: the server sent a data packet numbered 0; numbers start at 1 (R-3.10, \
                         R-7.10): {}",
                        self.who(),
                        describe_packet(&packet)
                    ));
                    return Ok(());
                }
                if self.auto_confirm {
                    let to = packet.from().as_str().to_owned();
                    self.confirm_to(number, &to).await?;
                }
                // A retransmission of something already received: confirmed again, not seen twice.
                if number.wrapping_sub(self.next_expected) > u32::MAX / 2
                    || self.early.contains_key(&number)
                {
                    return Ok(());
                }
                if number.wrapping_sub(self.next_expected) > MAX_AHEAD {
                    self.violation = Some(format!(
                        "{}: the server sent packet {number} while packet {} had not come; numbers go \
                         1, 2, 3 … per session (R-3.10)",
                        self.who(),
                        self.next_expected
                    ));
                    return Ok(());
                }
                self.early.insert(number, received);
                while let Some(next) = self.early.remove(&self.next_expected) {
                    self.next_expected = self.next_expected.wrapping_add(1);
                    self.join(next);
                }
            }
        }
        Ok(())
    }

    async fn confirm_to(&mut self, number: u32, to: &str) -> Check {
        let to = Name::new(to).unwrap_or_default();
        let packet = Packet::new(
            Dialect::V5,
            Verb::CONFIRM,
            name(&self.name)?,
            to,
            Text::EMPTY,
        )
        .map_err(|e| suite_bug(format!("confirm: {e}")))?;
        self.write(&packet.with_number(number).encode()).await
    }

    /// Joins fragments, and notices a message broken into by another.
    fn join(&mut self, received: Received) {
        let packet = received.packet;
        let more = packet.flags().has_more_fragments();
        let piece = Msg::from_frame(received);
        let whole = match self.partial.take() {
            None => piece,
            Some(mut open) => {
                let same = open.verb == piece.verb
                    && open.from == piece.from
                    && open.to == piece.to
                    && open.encrypted == piece.encrypted;
                if !same {
                    self.violation = Some(format!(
                        "{}: the server sent {piece} before the last fragment of {open} (R-6.1, R-6.2)",
                        self.who()
                    ));
                    return;
                }
                open.text.push_str(&piece.text);
                open.number = piece.number;
                open.frames.extend(piece.frames);
                open
            }
        };
        if more {
            self.partial = Some(whole);
        } else {
            self.inbox.push_back(whole);
        }
    }
}

impl Drop for RawClient {
    /// A logged-in UDP client says QUIT on its way out, so the server need not wait for it to fall silent
    /// before its session is freed; a TCP connection's close says as much already.
    fn drop(&mut self) {
        if !self.quit_on_drop || self.name.is_empty() || self.ended.is_some() {
            return;
        }
        if let Conn::Udp(socket) = &self.conn {
            let text = format!("{} has disconnected.", self.name);
            let number = self.peek_number();
            if let (Ok(from), Ok(text)) = (Name::new(&self.name), Text::new(&text)) {
                if let Ok(packet) = Packet::new(self.dialect, Verb::QUIT, from, Name::ALL, text) {
                    let _ = socket.try_send(&packet.with_number(number).encode());
                }
            }
        }
    }
}

fn name(s: &str) -> Check<Name> {
    Name::new(s).map_err(|e| suite_bug(format!("name {s:?}: {e}")))
}

fn suite_bug(what: String) -> Stop {
    Stop::Fail(format!("the suite could not build a frame: {what}"))
}

fn unreachable_msg() -> Msg {
    Msg {
        verb: Verb::ERROR,
        from: String::new(),
        to: String::new(),
        text: String::new(),
        encrypted: false,
        number: 0,
        frames: Vec::new(),
    }
}
