//! Logging in and out: LOGIN, REGISTER, AUTH, QUIT and lost sessions (PROTOCOL.md §8.1, R-8.15).

use crate::fragment::Message;
use crate::wire::{Dialect, Name, Verb};

use super::hub::Hub;
use super::io::{ClientId, Receipt};
use super::names::refuse_name;
use super::store::{PasswordHasher, Store, StoreError};

impl<S: Store, H: PasswordHasher> Hub<S, H> {
    /// LOGIN, REGISTER or AUTH, unless the client's address has failed too often lately. A refusal
    /// counts against the address, whatever the name tried and whatever the reason.
    pub(super) fn try_login(
        &mut self,
        client: ClientId,
        message: &Message,
    ) -> Result<(), StoreError> {
        let address = self
            .clients
            .get(&client)
            .and_then(|c| c.link.peer)
            .map(|peer| peer.ip());
        if let Some(address) = address {
            if !self.address_throttle.allows(address, self.now) {
                self.error(
                    client,
                    "too many failed logins from your address: wait a minute",
                );
                return Ok(());
            }
        }
        let result = match message.verb {
            Verb::REGISTER => self.register(client, message.from, &message.text),
            Verb::AUTH => self.authenticate(client, message.from, &message.text),
            _ => self.login(client, message.from),
        };
        let logged_in = self.clients.get(&client).is_some_and(|c| c.name.is_some());
        // A store error is the server's failure, not a refusal of the client's.
        if let (Some(address), Ok(()), false) = (address, &result, logged_in) {
            self.address_throttle.failed(address, self.now);
        }
        result
    }

    /// a name without a password.
    pub(super) fn login(&mut self, client: ClientId, name: Name) -> Result<(), StoreError> {
        if let Some(why) = self.name_unavailable(&name) {
            self.error(client, &why);
            return Ok(());
        }
        if self.store.password_hash(name.as_str())?.is_some() {
            self.error(
                client,
                &format!("{name} is registered: log in with its password"),
            );
            return Ok(());
        }
        self.enter(client, name)
    }

    /// a new account, and logged in.
    pub(super) fn register(
        &mut self,
        client: ClientId,
        name: Name,
        password: &str,
    ) -> Result<(), StoreError> {
        if !self.may_send_password(client) {
            return Ok(());
        }
        if let Some(why) = self.name_unavailable(&name) {
            self.error(client, &why);
            return Ok(());
        }
        if password.is_empty() {
            self.error(client, "a password cannot be empty");
            return Ok(());
        }
        if self.store.password_hash(name.as_str())?.is_some() {
            self.error(client, &format!("{name} is already registered"));
            return Ok(());
        }
        let hash = self.hasher.hash(password)?;
        self.store.create_account(name.as_str(), &hash)?;
        self.send(
            client,
            Message::new(
                Verb::REGISTER,
                Name::SERVER,
                name,
                format!("registered {name}"),
            ),
            None,
        );
        self.enter(client, name)
    }

    /// an existing account, with a limit on guessing.
    pub(super) fn authenticate(
        &mut self,
        client: ClientId,
        name: Name,
        password: &str,
    ) -> Result<(), StoreError> {
        if !self.may_send_password(client) {
            return Ok(());
        }
        if !self.throttle.allows(name.as_str(), self.now) {
            self.error(
                client,
                &format!("too many failed attempts for {name}: wait a minute"),
            );
            return Ok(());
        }
        let Some(hash) = self.store.password_hash(name.as_str())? else {
            self.throttle.failed(name.as_str(), self.now);
            self.error(client, &format!("{name} is not registered"));
            return Ok(());
        };
        if !self.hasher.verify(&hash, password) {
            self.throttle.failed(name.as_str(), self.now);
            self.error(client, "wrong password");
            return Ok(());
        }
        if self.client_of(&name).is_some() {
            self.error(client, &format!("{name} is already online"));
            return Ok(());
        }
        self.throttle.succeeded(name.as_str());
        self.enter(client, name)
    }

    /// a password on a link without confidentiality is refused, and nothing is stored.
    fn may_send_password(&mut self, client: ClientId) -> bool {
        let confidential = self
            .clients
            .get(&client)
            .is_some_and(|c| c.link.confidential);
        if !confidential {
            self.error(
                client,
                "passwords are refused on this connection: it is not encrypted (use TLS)",
            );
        }
        confidential
    }

    fn name_unavailable(&self, name: &Name) -> Option<String> {
        if let Some(why) = refuse_name(name.as_str()) {
            return Some(why.to_owned());
        }
        if self.client_of(name).is_some() {
            return Some(format!("{name} is already taken"));
        }
        None
    }

    /// online, in General, announced to all, and given what was kept while offline.
    fn enter(&mut self, client: ClientId, name: Name) -> Result<(), StoreError> {
        if let Some(state) = self.clients.get_mut(&client) {
            state.name = Some(name);
            // General.
            state.rooms = 1;
        }
        self.online.push((name, client));
        self.sessions_by_name.insert(name, client);
        self.rooms[0].members.push(name);
        self.notice(Verb::LOGIN, name, &format!("{name} has connected."));
        // a kept message stays stored until this session confirms it; a legacy session confirms
        // nothing it receives, so what it is handed is forgotten at once.
        let confirms = self.dialect_of(client) == Dialect::V5;
        for kept in self.store.kept(name.as_str())? {
            let entry = kept.entry;
            let from = Name::new(&entry.from).unwrap_or_default();
            // its sender hears DELIVERED once this session confirms it.
            let receipt = Receipt {
                sender: from,
                recipient: name,
                number: entry.number,
                kept: confirms.then_some(kept.id),
            };
            let receipt = (confirms || entry.number != 0).then_some(receipt);
            self.send(
                client,
                Message::new(entry.verb, from, name, entry.text),
                receipt,
            );
            if !confirms {
                self.store.forget_kept(name.as_str(), kept.id)?;
            }
        }
        Ok(())
    }

    /// offline, out of every room, chat and invitation, and announced to all.
    pub(super) fn leave(&mut self, client: ClientId, quitting: bool) {
        let Some(state) = self.clients.get_mut(&client) else {
            return;
        };
        let Some(name) = state.name.take() else {
            return;
        };
        state.rooms = 0;
        if quitting {
            // The leaving user still has a session, so they hear it too.
            self.notice(Verb::QUIT, name, &format!("{name} has disconnected."));
        }
        self.online.retain(|&(_, c)| c != client);
        self.sessions_by_name.remove(&name);
        for room in &mut self.rooms {
            room.members.retain(|m| *m != name);
        }
        self.invitations
            .retain(|(inviter, invitee)| *inviter != name && *invitee != name);
        if let Some(other) = self.chats.remove(&name) {
            self.chats.remove(&other);
            if let Some(peer) = self.client_of(&other) {
                self.send(
                    peer,
                    Message::new(Verb::CHAT_END, name, other, "left the server"),
                    None,
                );
            }
        }
        if !quitting {
            self.notice(Verb::QUIT, name, &format!("{name} has disconnected."));
        }
    }

    ///
    pub(super) fn help(&mut self, client: ClientId) {
        self.reply(client, Verb::HELP, HELP);
    }
}

/// The commands, as the reference client spells them.
const HELP: &str = "\
all:<text>             message everyone online
<name>:<text>          private message (also /w <name> <text>)
who                    who is online, and who is chatting
/create <room>         create a room
/join <room>...        join rooms
/leave <room>          leave a room
/list                  list rooms
/users [room]          who is online, or in a room
/s <room>[,<room>...] <text>  message rooms (plain text goes to all your rooms)
/chat <name>           invite to a one-to-one chat; /accept <name>, /decline <name>, /end
/history [n]           the last n messages you may see
/register <pw>         create an account for your name; /login <name> <pw> to use it
/quit                  leave (also bye)";
