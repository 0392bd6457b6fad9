//! Behaviour tests for the chat server's routing core, [`chatproto::chat::Hub`], against PROTOCOL.md §8
//! (R-8.1 …) and §9 (R-9.1 … ). Every test cites the requirement it checks. Expected outputs
//! are written out from the specification, never computed by the code under test.
//!
//! This file holds the harness; the tests are in `hub/*.rs`, one file per part of §8 and §9.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chatproto::chat::{
    refuse_name, ClientId, Entry, Hub, Input, Kept, Limits, Link, MemoryStore, Output,
    PasswordHasher, PlainTextForTests, Receipt, Store, StoreError, GENERAL,
};
use chatproto::{Dialect, Message, Name, Verb};

#[path = "hub/chats.rs"]
mod chats;
#[path = "hub/confirm.rs"]
mod confirm;
#[path = "hub/history.rs"]
mod history;
#[path = "hub/leaving.rs"]
mod leaving;
#[path = "hub/legacy.rs"]
mod legacy;
#[path = "hub/limits.rs"]
mod limits;
#[path = "hub/login.rs"]
mod login;
#[path = "hub/messages.rs"]
mod messages;
#[path = "hub/receipts.rs"]
mod receipts;
#[path = "hub/replies.rs"]
mod replies;
#[path = "hub/rooms.rs"]
mod rooms;
#[path = "hub/security.rs"]
mod security;

const V4: Dialect = Dialect::Legacy;
const V5: Dialect = Dialect::V5;

/// The wall clock the harness starts at, in ms since the Unix epoch; each input advances it by a second.
const WALL_START_MS: u64 = 1_700_000_000_000;

/// A name the test knows to be valid.
fn name(s: &str) -> Name {
    Name::new(s).unwrap_or_else(|e| panic!("{s:?} is not a valid name: {e}"))
}

/// A message as the tests compare it: verb, `from_name`, `to_name`, text.
type Shape = (Verb, String, String, String);

/// The shape a test expects.
fn shape(verb: Verb, from: &str, to: &str, text: &str) -> Shape {
    (verb, from.to_owned(), to.to_owned(), text.to_owned())
}

/// The shape of a message the hub produced.
fn shape_of(m: &Message) -> Shape {
    (m.verb, m.from.to_string(), m.to.to_string(), m.text.clone())
}

/// One `Output::Send`, owned.
#[derive(Clone, Debug)]
struct Sent {
    to: ClientId,
    message: Message,
    receipt: Option<Receipt>,
}

/// Every `Output::Send`, in order.
fn sends(out: &[Output]) -> Vec<Sent> {
    out.iter()
        .filter_map(|o| match o {
            Output::Send {
                to,
                message,
                receipt,
            } => Some(Sent {
                to: *to,
                message: Message::clone(message),
                receipt: receipt.clone(),
            }),
            _ => None,
        })
        .collect()
}

/// The messages sent to one session, in order.
fn sent_to(out: &[Output], client: ClientId) -> Vec<Message> {
    sends(out)
        .into_iter()
        .filter(|s| s.to == client)
        .map(|s| s.message)
        .collect()
}

/// The shapes of the messages sent to one session, in order.
fn shapes_to(out: &[Output], client: ClientId) -> Vec<Shape> {
    sent_to(out, client).iter().map(shape_of).collect()
}

/// Every `Output::Confirm`, as (session, number).
fn confirms(out: &[Output]) -> Vec<(ClientId, u32)> {
    out.iter()
        .filter_map(|o| match o {
            Output::Confirm { client, number } => Some((*client, *number)),
            _ => None,
        })
        .collect()
}

/// Every `Output::Close`.
fn closes(out: &[Output]) -> Vec<ClientId> {
    out.iter()
        .filter_map(|o| match o {
            Output::Close(c) => Some(*c),
            _ => None,
        })
        .collect()
}

/// Asserts that the outputs are one ERROR from `server` to `client` and nothing else sent or closed
/// anywhere (the server "acts on nothing"); returns the ERROR's text, which must say why.
#[track_caller]
fn assert_refused(out: &[Output], client: ClientId) -> String {
    let sent = sends(out);
    assert_eq!(
        sent.len(),
        1,
        "expected exactly one ERROR to {client:?}, got {sent:#?}"
    );
    let Sent { to, message, .. } = &sent[0];
    assert_eq!(*to, client, "the ERROR goes to the requester only");
    assert_eq!(message.verb, Verb::ERROR, "{message:?}");
    assert_eq!(message.from, Name::SERVER, "{message:?}");
    assert!(!message.text.is_empty(), "an ERROR says why in words");
    assert!(closes(out).is_empty(), "a refusal closes nothing: {out:?}");
    message.text.clone()
}

/// Whether the outputs tell `client` that `user` has connected.
fn told_connected(out: &[Output], client: ClientId, user: &str) -> bool {
    shapes_to(out, client).contains(&shape(
        Verb::LOGIN,
        user,
        "ALL",
        &format!("{user} has connected."),
    ))
}

/// The reply of one verb to one session, which must be the only message of that verb it got.
#[track_caller]
fn only_reply(out: &[Output], client: ClientId, verb: Verb) -> Message {
    let replies: Vec<Message> = sent_to(out, client)
        .into_iter()
        .filter(|m| m.verb == verb)
        .collect();
    assert_eq!(
        replies.len(),
        1,
        "expected one {verb} to {client:?}: {out:#?}"
    );
    replies[0].clone()
}

/// Lines of a list reply; an empty text is an empty list.
fn lines(text: &str) -> Vec<String> {
    if text.is_empty() {
        Vec::new()
    } else {
        text.split('\n').map(str::to_owned).collect()
    }
}

/// A hasher that is not the identity, to see that the hub stores exactly what the hasher makes.
struct Reversing;

impl PasswordHasher for Reversing {
    fn hash(&self, password: &str) -> Result<String, StoreError> {
        Ok(format!(
            "rev${}",
            password.chars().rev().collect::<String>()
        ))
    }

    fn verify(&self, hash: &str, password: &str) -> bool {
        self.hash(password).is_ok_and(|h| h == hash)
    }
}

/// Records the store's writes and can make one kind of write fail.
#[derive(Clone, Debug, Default)]
struct Probe {
    writes: Arc<Mutex<Vec<&'static str>>>,
    fail: Arc<Mutex<Option<&'static str>>>,
}

impl Probe {
    fn write(&self, op: &'static str) -> Result<(), StoreError> {
        if *self.fail.lock().unwrap() == Some(op) {
            return Err(StoreError(format!("{op} failed (test)")));
        }
        self.writes.lock().unwrap().push(op);
        Ok(())
    }

    fn writes(&self) -> Vec<&'static str> {
        self.writes.lock().unwrap().clone()
    }

    fn fail_on(&self, op: Option<&'static str>) {
        *self.fail.lock().unwrap() = op;
    }
}

/// A [`MemoryStore`] watched by a [`Probe`].
#[derive(Debug, Default)]
struct ProbeStore {
    inner: MemoryStore,
    probe: Probe,
}

impl Store for ProbeStore {
    fn password_hash(&self, name: &str) -> Result<Option<String>, StoreError> {
        self.inner.password_hash(name)
    }
    fn create_account(&mut self, name: &str, password_hash: &str) -> Result<(), StoreError> {
        self.probe.write("create_account")?;
        self.inner.create_account(name, password_hash)
    }
    fn accounts(&self) -> Result<Vec<String>, StoreError> {
        self.inner.accounts()
    }
    fn keep_for(&mut self, user: &str, entry: &Entry) -> Result<(), StoreError> {
        self.probe.write("keep_for")?;
        self.inner.keep_for(user, entry)
    }
    fn kept(&self, user: &str) -> Result<Vec<Kept>, StoreError> {
        self.inner.kept(user)
    }
    fn forget_kept(&mut self, user: &str, id: u64) -> Result<(), StoreError> {
        self.probe.write("forget_kept")?;
        self.inner.forget_kept(user, id)
    }
    fn append_history(&mut self, entry: &Entry) -> Result<(), StoreError> {
        self.probe.write("append_history")?;
        self.inner.append_history(entry)
    }
    fn history(
        &self,
        viewer: &str,
        rooms: &[&str],
        limit: usize,
    ) -> Result<Vec<Entry>, StoreError> {
        self.inner.history(viewer, rooms, limit)
    }
    fn flush(&mut self) -> Result<(), StoreError> {
        self.probe.write("flush")?;
        self.inner.flush()
    }
}

/// A hub with sessions, clocks and per-session packet numbers.
struct Harness<S: Store = MemoryStore, H: PasswordHasher = PlainTextForTests> {
    hub: Hub<S, H>,
    start: Instant,
    now: Instant,
    /// The wall clock the next input is handled at.
    wall_ms: u64,
    next_id: u64,
    dialects: HashMap<ClientId, Dialect>,
    numbers: HashMap<ClientId, u32>,
}

impl Harness {
    fn new() -> Harness {
        Harness::with(MemoryStore::default(), PlainTextForTests)
    }

    /// A hub enforcing `limits` (PROTOCOL.md §9.2).
    fn with_limits(limits: Limits) -> Harness {
        Harness::with_hub(Hub::with_limits(
            MemoryStore::default(),
            PlainTextForTests,
            limits,
        ))
    }

    /// A hub whose rate limit a test of something else cannot reach, for tests that send hundreds
    /// of messages at one instant.
    fn without_rate_limit() -> Harness {
        Harness::with_limits(Limits {
            rate_burst: u32::MAX,
            ..Limits::default()
        })
    }
}

impl<S: Store, H: PasswordHasher> Harness<S, H> {
    fn with(store: S, hasher: H) -> Harness<S, H> {
        Harness::with_hub(Hub::new(store, hasher))
    }

    fn with_hub(hub: Hub<S, H>) -> Harness<S, H> {
        let start = Instant::now();
        Harness {
            hub,
            start,
            now: start,
            wall_ms: WALL_START_MS,
            next_id: 1,
            dialects: HashMap::new(),
            numbers: HashMap::new(),
        }
    }

    /// Sets the monotonic clock to `start + since_start`.
    fn at(&mut self, since_start: Duration) {
        self.now = self.start + since_start;
    }

    fn input(&mut self, input: Input) -> Vec<Output> {
        let out = self.hub.handle(self.now, self.wall_ms, input);
        self.wall_ms += 1_000;
        out
    }

    /// A new session speaking `dialect`, on a link that may carry passwords.
    fn connect(&mut self, dialect: Dialect) -> ClientId {
        self.connect_on(dialect, Link::confidential(None))
    }

    /// A new session speaking `dialect` on `link`.
    fn connect_on(&mut self, dialect: Dialect, link: Link) -> ClientId {
        let client = ClientId(self.next_id);
        self.next_id += 1;
        self.dialects.insert(client, dialect);
        let out = self.input(Input::Connected(client, link));
        assert!(out.is_empty(), "accepting a session says nothing: {out:?}");
        client
    }

    /// A message as the session layer would hand it over: in the session's dialect, numbered 1, 2, 3 … in
    /// v5, and 1 in v4 (what original peers send, R-3.4).
    fn message(
        &mut self,
        client: ClientId,
        verb: Verb,
        from: &str,
        to: &str,
        text: &str,
    ) -> Message {
        let dialect = self.dialects[&client];
        let number = match dialect {
            Dialect::V5 => {
                let n = self.numbers.entry(client).or_insert(0);
                *n += 1;
                *n
            }
            Dialect::Legacy => 1,
        };
        let mut message = Message::new(verb, name(from), name(to), text);
        message.dialect = dialect;
        message.number = number;
        message
    }

    fn receive(&mut self, client: ClientId, message: Message) -> Vec<Output> {
        self.input(Input::Received(client, message))
    }

    fn send(
        &mut self,
        client: ClientId,
        verb: Verb,
        from: &str,
        to: &str,
        text: &str,
    ) -> Vec<Output> {
        let message = self.message(client, verb, from, to, text);
        self.receive(client, message)
    }

    /// LOGIN as the dialect does it: v5 to `server` with no text; v4 to `ALL` with the connected text
    ///
    fn login_as(&mut self, client: ClientId, user: &str) -> Vec<Output> {
        match self.dialects[&client] {
            Dialect::V5 => self.send(client, Verb::LOGIN, user, "server", ""),
            Dialect::Legacy => {
                let text = format!("{user} has connected.");
                self.send(client, Verb::LOGIN, user, "ALL", &text)
            }
        }
    }

    /// A new session logged in as `user`.
    #[track_caller]
    fn login(&mut self, user: &str, dialect: Dialect) -> ClientId {
        let client = self.connect(dialect);
        let out = self.login_as(client, user);
        assert!(told_connected(&out, client, user), "login failed: {out:#?}");
        client
    }

    fn register_as(&mut self, client: ClientId, user: &str, password: &str) -> Vec<Output> {
        self.send(client, Verb::REGISTER, user, "server", password)
    }

    /// A new v5 session that registered `user`.
    #[track_caller]
    fn register(&mut self, user: &str, password: &str) -> ClientId {
        let client = self.connect(V5);
        let out = self.register_as(client, user, password);
        assert!(
            told_connected(&out, client, user),
            "register failed: {out:#?}"
        );
        client
    }

    fn auth_as(&mut self, client: ClientId, user: &str, password: &str) -> Vec<Output> {
        self.send(client, Verb::AUTH, user, "server", password)
    }

    fn quit(&mut self, client: ClientId, user: &str) -> Vec<Output> {
        self.send(client, Verb::QUIT, user, "ALL", "")
    }

    fn disconnect(&mut self, client: ClientId) -> Vec<Output> {
        self.input(Input::Disconnected(client))
    }

    /// WHO's reply text.
    #[track_caller]
    fn who(&mut self, client: ClientId, user: &str) -> String {
        let to = if self.dialects[&client] == V4 {
            "ALL"
        } else {
            "server"
        };
        let out = self.send(client, Verb::WHO, user, to, "");
        let reply = only_reply(&out, client, Verb::WHO);
        assert_eq!(reply.from, Name::SERVER);
        reply.text
    }

    /// ROOM_LIST's reply, one room a line.
    #[track_caller]
    fn rooms(&mut self, client: ClientId, user: &str) -> Vec<String> {
        let out = self.send(client, Verb::ROOM_LIST, user, "server", "");
        let reply = only_reply(&out, client, Verb::ROOM_LIST);
        assert_eq!(reply.from, Name::SERVER);
        lines(&reply.text)
    }

    /// ROOM_MEMBERS's reply, one member a line.
    #[track_caller]
    fn members(&mut self, client: ClientId, user: &str, room: &str) -> Vec<String> {
        let out = self.send(client, Verb::ROOM_MEMBERS, user, room, "");
        let reply = only_reply(&out, client, Verb::ROOM_MEMBERS);
        assert_eq!(reply.from, Name::SERVER);
        lines(&reply.text)
    }

    /// A request answered with the same verb from `server`; returns the reply's text.
    #[track_caller]
    fn succeeds(
        &mut self,
        client: ClientId,
        verb: Verb,
        user: &str,
        to: &str,
        text: &str,
    ) -> String {
        let out = self.send(client, verb, user, to, text);
        let reply = only_reply(&out, client, verb);
        assert_eq!(reply.from, Name::SERVER, "{reply:?}");
        assert_eq!(reply.to.as_str(), user, "{reply:?}");
        assert!(
            sent_to(&out, client).iter().all(|m| m.verb != Verb::ERROR),
            "{out:#?}"
        );
        reply.text
    }

    /// Every HISTORY_REPLY to a request, in order, the final `end <count>` included.
    #[track_caller]
    fn history(&mut self, client: ClientId, user: &str, n: &str) -> Vec<Shape> {
        let out = self.send(client, Verb::HISTORY_REQUEST, user, "server", n);
        let got = sent_to(&out, client);
        assert!(
            got.iter().all(|m| m.verb == Verb::HISTORY_REPLY),
            "{out:#?}"
        );
        assert_eq!(
            sends(&out).len(),
            got.len(),
            "history goes to the requester only"
        );
        got.iter().map(shape_of).collect()
    }
}
