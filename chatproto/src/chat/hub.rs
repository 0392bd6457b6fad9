//! [`Hub`]: the chat server's routing core, as a sans-IO state machine (PROTOCOL.md §8).

use std::collections::HashMap;
use std::time::Instant;

use crate::fragment::Message;
use crate::wire::{Dialect, Name, Verb};

use super::address_throttle::AddressThrottle;
use super::io::{ClientId, Input, Link, Output, Receipt};
use super::limits::Limits;
use super::rate::{RecentRefusals, TokenBucket};
use super::relay::Relay;
use super::reply::error_text;
use super::store::{PasswordHasher, Store, StoreError};
use super::throttle::LoginThrottle;

/// The room everyone is in (R-8.9).
pub const GENERAL: &str = "General";

/// One session, as the hub sees it.
#[derive(Debug)]
pub(super) struct Client {
    pub(super) name: Option<Name>,
    pub(super) dialect: Dialect,
    pub(super) link: Link,
    /// When it connected, for the login timeout (R-9.6).
    pub(super) connected_at: Instant,
    /// When it last sent a data packet, for the idle timeout (R-9.6).
    pub(super) last_data: Instant,
    /// Its rate of data packets (R-9.3).
    pub(super) rate: TokenBucket,
    pub(super) refusals: RecentRefusals,
    /// The rooms its user is in, `General` included (R-9.4).
    pub(super) rooms: usize,
    /// The hub has asked for it to be closed: what it still sends is confirmed and otherwise ignored.
    pub(super) closing: bool,
}

/// A room and its members, in the order they joined.
#[derive(Debug)]
pub(super) struct Room {
    pub(super) name: Name,
    pub(super) members: Vec<Name>,
}

/// The chat server's state and rules, fed [`Input`]s and returning [`Output`]s. It does no IO and reads no
/// clock: `now` drives the login throttles, the rate limit and the timeouts, `wall_ms` stamps history and
/// receipts. Storage sits behind [`Store`], password hashing behind [`PasswordHasher`]. What a client can
/// make it hold is bounded by its [`Limits`] (PROTOCOL.md §9.2).
///
/// ```
/// use std::time::Instant;
/// use chatproto::chat::{ClientId, Hub, Input, Link, MemoryStore, Output, PlainTextForTests};
/// use chatproto::{Message, Name, Verb};
///
/// let mut hub = Hub::new(MemoryStore::default(), PlainTextForTests);
/// let ann = ClientId(1);
/// hub.handle(Instant::now(), 0, Input::Connected(ann, Link::confidential(None)));
/// let login = Message::new(Verb::LOGIN, Name::new("ann")?, Name::SERVER, "");
/// let out = hub.handle(Instant::now(), 0, Input::Received(ann, login));
/// assert!(out.iter().any(|o| matches!(o,
///     Output::Send { to, message, .. } if *to == ann && message.text == "ann has connected.")));
/// # Ok::<(), chatproto::ValidationError>(())
/// ```
#[derive(Debug)]
pub struct Hub<S, H> {
    pub(super) store: S,
    pub(super) hasher: H,
    pub(super) clients: HashMap<ClientId, Client>,
    /// Online users in login order (R-8.8).
    pub(super) online: Vec<(Name, ClientId)>,
    /// The same, by name: routing looks a recipient up once per delivery.
    pub(super) sessions_by_name: HashMap<Name, ClientId>,
    /// Rooms in the order created; `General` first.
    pub(super) rooms: Vec<Room>,
    /// Pending invitations, (inviter, invitee).
    pub(super) invitations: Vec<(Name, Name)>,
    /// One-to-one chats, both directions.
    pub(super) chats: HashMap<Name, Name>,
    pub(super) throttle: LoginThrottle,
    /// Failed logins per client address (R-9.5).
    pub(super) address_throttle: AddressThrottle,
    pub(super) limits: Limits,
    pub(super) out: Vec<Output>,
    /// Connections beyond the session limit, told why at their first packet (R-9.2).
    pub(super) turned_away: Vec<ClientId>,
    pub(super) now: Instant,
    pub(super) wall_ms: u64,
}

impl<S: Store, H: PasswordHasher> Hub<S, H> {
    /// A hub with no one connected and only the room `General`, with the default [`Limits`].
    pub fn new(store: S, hasher: H) -> Hub<S, H> {
        Hub::with_limits(store, hasher, Limits::default())
    }

    /// A hub with no one connected and only the room `General`, enforcing `limits` (PROTOCOL.md §9.2).
    ///
    /// ```
    /// use chatproto::chat::{Hub, Limits, MemoryStore, PlainTextForTests};
    ///
    /// let limits = Limits { max_sessions: 100, ..Limits::default() };
    /// let hub = Hub::with_limits(MemoryStore::default(), PlainTextForTests, limits);
    /// assert_eq!(hub.limits().max_sessions, 100);
    /// ```
    pub fn with_limits(store: S, hasher: H, limits: Limits) -> Hub<S, H> {
        let general = Room {
            name: Name::new(GENERAL).unwrap_or_default(),
            members: Vec::new(),
        };
        Hub {
            store,
            hasher,
            clients: HashMap::new(),
            online: Vec::new(),
            sessions_by_name: HashMap::new(),
            rooms: vec![general],
            invitations: Vec::new(),
            chats: HashMap::new(),
            throttle: LoginThrottle::default(),
            address_throttle: AddressThrottle::new(limits.login_failures_per_address),
            limits,
            out: Vec::new(),
            turned_away: Vec::new(),
            now: Instant::now(),
            wall_ms: 0,
        }
    }

    /// The store.
    pub fn store(&self) -> &S {
        &self.store
    }

    /// The limits it enforces.
    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// How many sessions are connected, logged in or not. A connection refused because the server was
    /// full (R-9.2) is not one.
    pub fn connected(&self) -> usize {
        self.clients.len()
    }

    /// Handles one input and returns what to do about it, in order.
    pub fn handle(&mut self, now: Instant, wall_ms: u64, input: Input) -> Vec<Output> {
        self.now = now;
        self.wall_ms = wall_ms;
        match input {
            Input::Connected(client, link) => self.connected_on(client, link),
            Input::Received(client, message) => self.received(client, message),
            Input::Delivered(receipt) => self.delivered(receipt),
            Input::Disconnected(client) => {
                self.leave(client, false);
                self.clients.remove(&client);
                self.turned_away.retain(|&c| c != client);
            }
            Input::Tick => self.tick(),
            Input::Shutdown(reason) => self.shutdown(&reason),
        }
        std::mem::take(&mut self.out)
    }

    fn received(&mut self, client: ClientId, message: Message) {
        if !self.clients.contains_key(&client) {
            self.turn_away(client, message.dialect);
            return;
        }
        let first_output = self.out.len();
        let number = message.number;
        if self.within_limits(client, &message) {
            self.act_on(client, message);
        }
        // R-8.13: whatever the message caused is stored by now, since the store writes synchronously and
        // outputs are carried out only after `handle` returns. So the confirmation can go first, ahead of
        // the replies, as the original server sent it (R-8.17). Every message is confirmed, even one refused
        // for its rate (R-9.3): a v4 session confirms its oldest waiting packet whatever the number, a v5
        // session ignores numbers it is not waiting on.
        self.out
            .insert(first_output, Output::Confirm { client, number });
    }

    fn act_on(&mut self, client: ClientId, message: Message) {
        let Some(state) = self.clients.get(&client) else {
            return;
        };
        let result = match state.name {
            None => self.before_login(client, &message),
            // R-8.7: after login, from_name must be the session's own.
            Some(name) if message.from != name => {
                self.error(
                    client,
                    &format!("you are logged in as {name}, not {}", message.from),
                );
                Ok(())
            }
            Some(name) => self.after_login(client, name, message),
        };
        if let Err(error) = result {
            self.error(client, &format!("{error}; nothing was done"));
        }
    }

    fn before_login(&mut self, client: ClientId, message: &Message) -> Result<(), StoreError> {
        match message.verb {
            Verb::LOGIN | Verb::REGISTER | Verb::AUTH => self.try_login(client, message),
            Verb::HELP => {
                self.help(client);
                Ok(())
            }
            // R-8.1.
            verb => {
                self.error(client, &format!("log in before {verb}"));
                Ok(())
            }
        }
    }

    fn after_login(
        &mut self,
        client: ClientId,
        name: Name,
        message: Message,
    ) -> Result<(), StoreError> {
        match message.verb {
            Verb::LOGIN | Verb::REGISTER | Verb::AUTH => {
                self.error(client, &format!("already logged in as {name}"));
                Ok(())
            }
            Verb::BROADCAST => self.broadcast(message),
            Verb::PRIVATE_MESSAGE => self.private_message(client, message),
            Verb::WHO => {
                self.who(client);
                Ok(())
            }
            Verb::ROOM_CREATE => self.room_create(client, &message),
            Verb::ROOM_JOIN => self.room_join(client, name, &message),
            Verb::ROOM_LEAVE => self.room_leave(client, name, &message),
            Verb::ROOM_LIST => self.room_list(client),
            Verb::ROOM_MEMBERS => self.room_members(client, &message),
            Verb::ROOM_MESSAGE => self.room_message(client, name, message),
            Verb::CHAT_INVITE | Verb::CHAT_ACCEPT | Verb::CHAT_DECLINE | Verb::CHAT_END => {
                self.chat(client, name, &message);
                Ok(())
            }
            Verb::HISTORY_REQUEST => self.history(client, name, &message.text),
            Verb::HELP => {
                self.help(client);
                Ok(())
            }
            Verb::QUIT => {
                self.leave(client, true);
                self.close(client);
                Ok(())
            }
            // An ERROR from a client answers something of ours; there is nothing to do.
            Verb::ERROR => Ok(()),
            verb => {
                self.error(client, &format!("clients do not send {verb}"));
                Ok(())
            }
        }
    }

    fn delivered(&mut self, receipt: Receipt) {
        // R-8.6: a kept message is forgotten only now that its recipient's session has it.
        if let Some(id) = receipt.kept {
            // Should forgetting fail, it stays kept and comes again at the next login: a duplicate, not a
            // loss.
            let _ = self.store.forget_kept(receipt.recipient.as_str(), id);
        }
        if receipt.number == 0 {
            return;
        }
        // R-8.12: DELIVERED goes to a v5 sender that is still online.
        let Some(sender) = self.client_of(&receipt.sender) else {
            return;
        };
        if self.dialect_of(sender) == Dialect::V5 {
            let text = format!("{} {}", receipt.number, self.wall_ms);
            self.send(
                sender,
                Message::new(Verb::DELIVERED, receipt.recipient, receipt.sender, text),
                None,
            );
        }
    }

    fn shutdown(&mut self, reason: &str) {
        // R-8.16: storage first, then everyone is told.
        // A failed flush cannot stop the shutdown; what was confirmed was durable already (R-8.13).
        let _ = self.store.flush();
        let mut clients: Vec<ClientId> = self.clients.keys().copied().collect();
        clients.sort();
        for client in clients {
            self.send(
                client,
                Message::new(Verb::SHUTDOWN, Name::SERVER, Name::ALL, reason),
                None,
            );
            self.close(client);
        }
    }

    // Helpers shared by the feature files.

    pub(super) fn client_of(&self, name: &Name) -> Option<ClientId> {
        self.sessions_by_name.get(name).copied()
    }

    pub(super) fn dialect_of(&self, client: ClientId) -> Dialect {
        self.clients.get(&client).map_or(Dialect::V5, |c| c.dialect)
    }

    pub(super) fn name_of(&self, client: ClientId) -> Name {
        self.clients
            .get(&client)
            .and_then(|c| c.name)
            .unwrap_or_default()
    }

    /// Queues a message for a session, in a form its dialect understands (R-8.17).
    pub(super) fn send(&mut self, to: ClientId, message: Message, receipt: Option<Receipt>) {
        self.relay(to, &mut Relay::new(message), receipt);
    }

    /// Queues a shared message for a session, in the form its dialect gets.
    pub(super) fn relay(&mut self, to: ClientId, relay: &mut Relay, receipt: Option<Receipt>) {
        if let Some(message) = relay.for_dialect(self.dialect_of(to)) {
            self.out.push(Output::Send {
                to,
                message,
                receipt,
            });
        }
    }

    /// An answer from `server` to a session (R-4.5).
    pub(super) fn reply(&mut self, client: ClientId, verb: Verb, text: impl Into<String>) {
        let to = self.name_of(client);
        self.send(client, Message::new(verb, Name::SERVER, to, text), None);
    }

    /// ERROR to a session (R-4.2).
    pub(super) fn error(&mut self, client: ClientId, why: &str) {
        // R-4.2: one packet, whatever the request put in it.
        self.reply(client, Verb::ERROR, error_text(why));
    }

    /// Asks for a session to be closed once what was sent on it is flushed; until it has gone, what it
    /// sends is confirmed and otherwise ignored.
    pub(super) fn close(&mut self, client: ClientId) {
        if let Some(state) = self.clients.get_mut(&client) {
            state.closing = true;
        }
        self.out.push(Output::Close(client));
    }

    /// A notice to every online user.
    pub(super) fn notice(&mut self, verb: Verb, from: Name, text: &str) {
        let mut relay = Relay::new(Message::new(verb, from, Name::ALL, text));
        for i in 0..self.online.len() {
            let client = self.online[i].1;
            self.relay(client, &mut relay, None);
        }
    }
}
