//! The chat hub (PROTOCOL.md §8) driven by arbitrary sequences of inputs.
//!
//! The fuzz bytes are read as a script (through `arbitrary::Unstructured`): sessions connect (speaking v4 or
//! v5, on a link that may or may not carry passwords) and disconnect; they send messages, either built from
//! a verb, names and a text drawn from small pools (so that logins, rooms, chats and receipts actually
//! happen), or decoded from 337 raw bytes and joined by a `Reassembler` as a session would; relayed messages
//! that carry a receipt are confirmed; the clock moves and ticks; and the script may end with a shutdown.
//! Half the runs use tiny limits (§9.2: sessions, rate, rooms, login failures, timeouts), so that every
//! limit is reached.
//!
//! Invariants checked after every input:
//! - the hub does not panic;
//! - every output addresses a session that is connected: a disconnected session is never sent to; a
//!   connection beyond the session limit gets only ERROR and Close, and is not a session;
//! - a received message gets exactly one Confirm, for its number, ahead of everything it caused;
//!   no other input causes a Confirm;
//! - what is sent to a session is in its dialect, and a legacy session gets only verbs 0–8;
//! - a private message, a private history entry and DELIVERED go only to their sender or recipient, and a
//!   receipt names the session's own user as recipient;
//! - the output is bounded: at most a few messages per online session and room, plus what was kept for
//!   the user logging in; and no message for a v5 session holds more text than a receiver reassembles by
//!   default, since such a message can never be delivered;
//! - a Tick leaves no login or idle deadline in the past;
//! - Shutdown sends every session SHUTDOWN from `server` to `ALL`, then Close.

#![no_main]

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chatproto::chat::{
    ClientId, Hub, Input, Limits, Link, MemoryStore, Output, PlainTextForTests, Receipt,
};
use chatproto::fragment::DEFAULT_LIMIT;
use chatproto::wire::layout::{CHECKSUM_AT, TEXT_AT, VERSION_AT};
use chatproto::wire::{crc32, legacy_checksum};
use chatproto::{Dialect, Message, Name, Packet, Reassembler, Verb, FRAME_LEN};
use libfuzzer_sys::arbitrary::{Result, Unstructured};
use libfuzzer_sys::fuzz_target;

/// Inputs per run at most, so that one run stays short.
const MAX_STEPS: usize = 256;
/// Sessions connected at once at most: few, so that they meet each other.
const MAX_CLIENTS: usize = 6;

/// Names the script draws from: users, reserved names, the general room, names the hub must refuse.
const NAMES: &[&str] = &[
    "ann",
    "bob",
    "cy",
    "dee",
    "ALL",
    "server",
    "General",
    "lobby",
    "Server",
    "all",
    "a,b",
    "tab\there",
    "",
    "abcdefghijklmnopqrstuvwxyz012345",
];
/// Texts the script draws from: passwords, history counts, receipts.
const TEXTS: &[&str] = &[
    "",
    "pw",
    "secret",
    "0",
    "1",
    "50",
    "500",
    "501",
    "-1",
    "99999999999999999999",
    "1 2",
    "hello",
    "ann has connected.",
    "\u{1F600}",
    " ",
    "\n",
];
/// The verbs a client sends most; the rest are drawn from every known verb.
const CLIENT_VERBS: &[Verb] = &[
    Verb::LOGIN,
    Verb::REGISTER,
    Verb::AUTH,
    Verb::BROADCAST,
    Verb::PRIVATE_MESSAGE,
    Verb::WHO,
    Verb::QUIT,
    Verb::ROOM_CREATE,
    Verb::ROOM_JOIN,
    Verb::ROOM_LEAVE,
    Verb::ROOM_LIST,
    Verb::ROOM_MEMBERS,
    Verb::ROOM_MESSAGE,
    Verb::CHAT_INVITE,
    Verb::CHAT_ACCEPT,
    Verb::CHAT_DECLINE,
    Verb::CHAT_END,
    Verb::HISTORY_REQUEST,
    Verb::HELP,
];

fuzz_target!(|data: &[u8]| {
    let mut u = Unstructured::new(data);
    let Ok(limits) = limits(&mut u) else {
        return;
    };
    let mut harness = Harness::new(limits);
    let _ = harness.run(&mut u);
});

/// A session as the script sees it.
struct Session {
    dialect: Dialect,
    /// Whether it has sent the hub anything: only then does the hub know its dialect.
    spoken: bool,
    /// The user it is logged in as, learned from its own LOGIN notice.
    name: Option<Name>,
    /// The next packet number it gives a message (v5).
    next_number: u32,
    /// Joins decoded frames into messages, as the real session does.
    reassembler: Reassembler,
    /// The hub asked for it to be closed; the server's session task has not reported it gone yet.
    closing: bool,
}

struct Harness {
    hub: Hub<MemoryStore, PlainTextForTests>,
    sessions: HashMap<ClientId, Session>,
    next_id: u64,
    now: Instant,
    wall_ms: u64,
    /// Receipts handed out with relayed messages and not yet reported, with the session they went to.
    receipts: Vec<(ClientId, Receipt)>,
    /// Upper bounds for what one input may cause.
    rooms_created: usize,
    /// Broadcasts, room and private messages received: what history and kept messages can hold.
    recorded: usize,
}

impl Harness {
    fn new(limits: Limits) -> Harness {
        Harness {
            hub: Hub::with_limits(MemoryStore::default(), PlainTextForTests, limits),
            sessions: HashMap::new(),
            next_id: 1,
            now: Instant::now(),
            wall_ms: 1_700_000_000_000,
            receipts: Vec::new(),
            rooms_created: 0,
            recorded: 0,
        }
    }

    fn run(&mut self, u: &mut Unstructured<'_>) -> Result<()> {
        for _ in 0..MAX_STEPS {
            if u.is_empty() {
                break;
            }
            match u.int_in_range(0..=16u8)? {
                0 | 1 => self.connect(u)?,
                2 => {
                    if let Some(client) = self.pick(u)? {
                        self.disconnect(client);
                    }
                }
                3..=9 => {
                    if let Some(client) = self.pick(u)? {
                        let message = self.built_message(u, client)?;
                        self.receive(client, message);
                    }
                }
                10 | 11 => {
                    if let Some(client) = self.pick(u)? {
                        self.decoded_frame(u, client)?;
                    }
                }
                12 => self.deliver(u)?,
                13 => {
                    let ms = u.int_in_range(0..=120_000u64)?;
                    self.now += Duration::from_millis(ms);
                    self.wall_ms += ms;
                }
                14 => {
                    // A long message: up to exactly the limit a session reassembles.
                    if let Some(client) = self.pick(u)? {
                        let short_by = usize::from(u.int_in_range(0..=64u8)?);
                        let mut message = self.built_message(u, client)?;
                        message.text = "x".repeat(DEFAULT_LIMIT - short_by);
                        self.receive(client, message);
                    }
                }
                15 => self.tick(),
                _ => {
                    let reason = if u.arbitrary()? { "stopping" } else { "" };
                    self.shutdown(reason);
                    return Ok(());
                }
            }
        }
        Ok(())
    }

    fn connect(&mut self, u: &mut Unstructured<'_>) -> Result<()> {
        if self.sessions.len() >= MAX_CLIENTS {
            return Ok(());
        }
        let client = ClientId(self.next_id);
        self.next_id += 1;
        let dialect = if u.ratio(1u8, 4u8)? {
            Dialect::Legacy
        } else {
            Dialect::V5
        };
        let link = if u.ratio(3u8, 4u8)? {
            Link::confidential(None)
        } else {
            Link::plaintext(None)
        };
        let outputs = self
            .hub
            .handle(self.now, self.wall_ms, Input::Connected(client, link));
        assert!(outputs.is_empty(), "Connected caused {outputs:#?}");
        if self.sessions.len() >= self.hub.limits().max_sessions {
            // beyond the session limit, no session: its first packet is answered with one ERROR
            // `server full` in its own dialect, then Close; its end changes nothing.
            let mut message = Message::new(Verb::LOGIN, Name::new("eve").unwrap(), Name::SERVER, "");
            message.dialect = dialect;
            let outputs = self
                .hub
                .handle(self.now, self.wall_ms, Input::Received(client, message));
            match outputs.as_slice() {
                [Output::Send {
                    to,
                    message,
                    receipt: None,
                }, Output::Close(closed)]
                    if *to == client
                        && *closed == client
                        && message.verb == Verb::ERROR
                        && message.dialect == dialect
                        && message.text.starts_with("server full") => {}
                _ => panic!("a refused connection's first packet caused {outputs:#?}"),
            }
            let outputs = self
                .hub
                .handle(self.now, self.wall_ms, Input::Disconnected(client));
            assert!(
                outputs.is_empty(),
                "a refused connection's end caused {outputs:#?}"
            );
            return Ok(());
        }
        self.sessions.insert(
            client,
            Session {
                dialect,
                spoken: false,
                name: None,
                next_number: 1,
                reassembler: Reassembler::new(DEFAULT_LIMIT),
                closing: false,
            },
        );
        Ok(())
    }

    fn pick(&self, u: &mut Unstructured<'_>) -> Result<Option<ClientId>> {
        let mut ids: Vec<ClientId> = self.sessions.keys().copied().collect();
        if ids.is_empty() {
            return Ok(None);
        }
        ids.sort();
        Ok(Some(*u.choose(&ids)?))
    }

    fn disconnect(&mut self, client: ClientId) {
        self.sessions.remove(&client);
        // The session task forgets its receipts when it ends.
        self.receipts.retain(|(to, _)| *to != client);
        let outputs = self.handle(Input::Disconnected(client));
        self.check_common(&outputs);
        assert_no_confirm(&outputs);
    }

    fn name(&self, u: &mut Unstructured<'_>) -> Result<Name> {
        // Mostly a pool name; now and then any short string the field can hold.
        if u.ratio(7u8, 8u8)? {
            return Ok(Name::new(u.choose(NAMES)?).unwrap_or_default());
        }
        let raw: &str = u.arbitrary()?;
        Ok(Name::new(raw).unwrap_or_default())
    }

    fn built_message(&mut self, u: &mut Unstructured<'_>, client: ClientId) -> Result<Message> {
        let verb = if u.ratio(15u8, 16u8)? {
            *u.choose(CLIENT_VERBS)?
        } else {
            *u.choose(Verb::ALL)?
        };
        let own = self.sessions[&client].name;
        // A logged-in session mostly speaks as itself (R-8.7 is checked when it does not).
        let from = match own {
            Some(name) if u.ratio(7u8, 8u8)? => name,
            _ => self.name(u)?,
        };
        let to = self.name(u)?;
        let text = if u.ratio(3u8, 4u8)? {
            (*u.choose(TEXTS)?).to_owned()
        } else {
            let raw: &str = u.arbitrary()?;
            raw.to_owned()
        };
        let session = self.sessions.get_mut(&client).unwrap();
        let mut message = Message::new(verb, from, to, text);
        message.dialect = session.dialect;
        message.encrypted = u.ratio(1u8, 8u8)?;
        message.number = match session.dialect {
            Dialect::V5 => {
                let number = session.next_number;
                session.next_number = session.next_number.wrapping_add(1).max(1);
                number
            }
            Dialect::Legacy => 0,
        };
        Ok(message)
    }

    /// 337 bytes from the script, given a matching checksum most of the time so that they decode, fed
    /// through the session's reassembler as a real session would.
    fn decoded_frame(&mut self, u: &mut Unstructured<'_>, client: ClientId) -> Result<()> {
        let mut frame = [0u8; FRAME_LEN];
        u.fill_buffer(&mut frame)?;
        let dialect = self.sessions[&client].dialect;
        if u.ratio(7u8, 8u8)? {
            let version: u32 = match dialect {
                Dialect::V5 => 5,
                Dialect::Legacy => 4,
            };
            frame[VERSION_AT..VERSION_AT + 4].copy_from_slice(&version.to_le_bytes());
            fix_checksum(&mut frame);
        }
        let Ok(packet) = Packet::decode(&frame) else {
            return Ok(());
        };
        // A session refuses the other dialect and keeps its own business to itself.
        if packet.dialect() != dialect
            || matches!(packet.verb(), Verb::CONFIRM | Verb::RESEND | Verb::PING)
        {
            return Ok(());
        }
        let session = self.sessions.get_mut(&client).unwrap();
        if let Ok(Some(message)) = session.reassembler.push(&packet) {
            assert!(message.text.len() <= DEFAULT_LIMIT);
            self.receive(client, message);
        }
        Ok(())
    }

    /// A receipt handed out earlier is reported, as the session does once its peer confirms the message.
    fn deliver(&mut self, u: &mut Unstructured<'_>) -> Result<()> {
        if self.receipts.is_empty() {
            return Ok(());
        }
        let at = u.choose_index(self.receipts.len())?;
        let (_, receipt) = self.receipts.swap_remove(at);
        let outputs = self.handle(Input::Delivered(receipt.clone()));
        self.check_common(&outputs);
        assert_no_confirm(&outputs);
        for output in &outputs {
            if let Output::Send { message, .. } = output {
                assert_eq!(
                    message.verb,
                    Verb::DELIVERED,
                    "a receipt caused {message:?}"
                );
                assert_eq!(
                    (message.from, message.to),
                    (receipt.recipient, receipt.sender)
                );
            }
        }
        Ok(())
    }

    fn receive(&mut self, client: ClientId, message: Message) {
        let number = message.number;
        let verb = message.verb;
        let from = message.from;
        match verb {
            Verb::ROOM_CREATE => self.rooms_created += 1,
            Verb::BROADCAST | Verb::ROOM_MESSAGE | Verb::PRIVATE_MESSAGE => self.recorded += 1,
            _ => {}
        }
        let online_before = self.sessions.len();
        // A closing session's messages are confirmed and dropped unread, so they teach the hub nothing.
        let session = self.sessions.get_mut(&client).unwrap();
        session.spoken |= !session.closing;
        let outputs = self.handle(Input::Received(client, message));

        // one Confirm, for this message, first.
        let confirms: Vec<&Output> = outputs
            .iter()
            .filter(|o| matches!(o, Output::Confirm { .. }))
            .collect();
        assert_eq!(
            confirms,
            vec![&Output::Confirm { client, number }],
            "{verb} from {from} caused {outputs:#?}"
        );
        assert_eq!(outputs.first(), confirms.first().copied());

        // A login is seen in the session's own LOGIN notice.
        if self.sessions[&client].name.is_none()
            && matches!(verb, Verb::LOGIN | Verb::REGISTER | Verb::AUTH)
        {
            let own_notice = outputs.iter().any(|o| {
                matches!(o, Output::Send { to, message, .. }
                    if *to == client
                        && message.verb == Verb::LOGIN
                        && message.from == from
                        && message.text == format!("{from} has connected."))
            });
            if own_notice {
                self.sessions.get_mut(&client).unwrap().name = Some(from);
            }
        }

        // A relay per room and session, a notice per session, one history entry per recorded message,
        // and everything kept for a user logging in.
        let bound = (self.rooms_created + 4) * (online_before + 1) + 2 * self.recorded + 2;
        assert!(
            outputs.len() <= bound,
            "{verb} caused {} outputs (bound {bound})",
            outputs.len()
        );
        self.check_common(&outputs);
    }

    /// whatever was due is closed, so no deadline is left in the past.
    fn tick(&mut self) {
        let outputs = self.handle(Input::Tick);
        self.check_common(&outputs);
        assert_no_confirm(&outputs);
        if let Some(deadline) = self.hub.next_deadline() {
            assert!(deadline > self.now, "a Tick left a deadline in the past");
        }
    }

    fn shutdown(&mut self, reason: &str) {
        let outputs = self.handle(Input::Shutdown(reason.to_owned()));
        self.check_common(&outputs);
        assert_no_confirm(&outputs);
        // every session, logged in or not, is told and closed.
        let mut ids: Vec<ClientId> = self.sessions.keys().copied().collect();
        ids.sort();
        for client in ids {
            let told = outputs.iter().position(|o| {
                matches!(o, Output::Send { to, message, .. }
                    if *to == client
                        && message.verb == Verb::SHUTDOWN
                        && message.from == Name::SERVER
                        && message.to == Name::ALL)
            });
            let closed = outputs.iter().position(|o| *o == Output::Close(client));
            match (told, closed) {
                (Some(told), Some(closed)) => assert!(told < closed, "closed before told"),
                _ => panic!("shutdown left {client:?} untold or open: {outputs:#?}"),
            }
            self.disconnect(client);
        }
    }

    fn handle(&mut self, input: Input) -> Vec<Output> {
        self.hub.handle(self.now, self.wall_ms, input)
    }

    /// What every batch of outputs must satisfy.
    fn check_common(&mut self, outputs: &[Output]) {
        for output in outputs {
            let client = match output {
                Output::Send { to, .. } => *to,
                Output::Confirm { client, .. } => *client,
                Output::Close(client) => *client,
            };
            let Some(session) = self.sessions.get_mut(&client) else {
                panic!("output for {client:?}, which is not connected: {output:?}");
            };
            if let Output::Close(_) = output {
                session.closing = true;
            }
            let Output::Send {
                message, receipt, ..
            } = output
            else {
                continue;
            };
            check_sent(session, message);
            if let Some(receipt) = receipt {
                // The receipt is reported when this session confirms the message: it is its user's.
                assert_eq!(
                    Some(receipt.recipient),
                    session.name,
                    "receipt {receipt:?} on a message to {client:?}"
                );
                self.receipts.push((client, receipt.clone()));
            }
        }
    }
}

/// What one message sent to `session` must satisfy.
fn check_sent(session: &Session, message: &Arc<Message>) {
    // The hub learns a session's dialect from what it sends; until then it assumes v5, and the
    // session encodes in its own dialect whatever the message says.
    if session.spoken {
        assert_eq!(message.dialect, session.dialect, "{message:?}");
    }
    if session.dialect == Dialect::Legacy && session.spoken {
        // verbs 16 and up are never sent to a legacy client.
        assert!(message.verb.to_u32() < 16, "{message:?} to a v4 session");
    } else {
        // a receiver with the default limit discards anything longer, so it could never arrive.
        assert!(
            message.text.len() <= DEFAULT_LIMIT,
            "{} {} bytes for a v5 session, more than a receiver reassembles ({DEFAULT_LIMIT}); \
             text starts {:?}",
            message.verb,
            message.text.len(),
            &message.text[..message.text.len().min(40)]
        );
    }
    // private messages, private history and receipts reach only their sender or recipient.
    let private = match message.verb {
        Verb::PRIVATE_MESSAGE | Verb::DELIVERED => true,
        Verb::HISTORY_REPLY => message.text.split(' ').nth(1) == Some("PRIVATE_MESSAGE"),
        _ => false,
    };
    if private {
        let Some(name) = session.name else {
            panic!("{message:?} to a session not logged in");
        };
        assert!(
            message.from == name || message.to == name,
            "{message:?} reached {name}"
        );
    }
}

fn assert_no_confirm(outputs: &[Output]) {
    assert!(
        !outputs.iter().any(|o| matches!(o, Output::Confirm { .. })),
        "a Confirm without a received message: {outputs:?}"
    );
}

/// Gives the frame the checksum its version calls for: CRC-32 for v5 (and unknown versions, R-3.1), the
/// code-point sum of the text for v4 when it is UTF-8.
fn fix_checksum(frame: &mut [u8; FRAME_LEN]) {
    let version = u32::from_le_bytes(frame[VERSION_AT..VERSION_AT + 4].try_into().unwrap());
    let sum = if version == 4 {
        let text = &frame[TEXT_AT..];
        let end = text
            .iter()
            .rposition(|&b| b != 0)
            .map_or(0, |last| last + 1);
        match std::str::from_utf8(&text[..end]) {
            Ok(text) => legacy_checksum(text),
            Err(_) => return,
        }
    } else {
        crc32(frame)
    };
    frame[CHECKSUM_AT..CHECKSUM_AT + 4].copy_from_slice(&sum.to_le_bytes());
}

/// The default limits, or (half the time) tiny ones, so that a short script reaches each of them.
fn limits(u: &mut Unstructured<'_>) -> Result<Limits> {
    if u.arbitrary()? {
        return Ok(Limits::default());
    }
    Ok(Limits {
        max_sessions: u.int_in_range(1..=MAX_CLIENTS)?,
        rate_burst: u.int_in_range(1..=8)?,
        rate_per_second: u.int_in_range(1..=4)?,
        refusals_to_close: u.int_in_range(1..=4)?,
        refusal_window: Duration::from_secs(u.int_in_range(1..=20)?),
        rooms_per_user: u.int_in_range(1..=4)?,
        rooms_total: u.int_in_range(1..=6)?,
        login_failures_per_address: u.int_in_range(1..=4)?,
        login_timeout: Duration::from_secs(u.int_in_range(1..=60)?),
        idle_timeout: Duration::from_secs(u.int_in_range(1..=600)?),
        max_message: DEFAULT_LIMIT,
    })
}
