//! One-to-one chats by invitation: CHAT_INVITE, CHAT_ACCEPT, CHAT_DECLINE, CHAT_END (PROTOCOL.md §8.5).

use crate::fragment::Message;
use crate::wire::{Dialect, Name, Verb};

use super::hub::Hub;
use super::io::ClientId;
use super::store::{PasswordHasher, Store};

impl<S: Store, H: PasswordHasher> Hub<S, H> {
    ///
    pub(super) fn chat(&mut self, client: ClientId, user: Name, message: &Message) {
        let other = message.to;
        let relay = Message::new(message.verb, user, other, message.text.clone());
        match message.verb {
            Verb::CHAT_INVITE => {
                let Some(target) = self.client_of(&other) else {
                    return self.error(client, &format!("{other} is not online"));
                };
                if other == user {
                    return self.error(client, "you cannot invite yourself");
                }
                if let Some(partner) = self.chats.get(&user) {
                    return self.error(client, &format!("you are chatting with {partner}"));
                }
                if let Some(partner) = self.chats.get(&other) {
                    return self.error(client, &format!("{other} is chatting with {partner}"));
                }
                if self.dialect_of(target) == Dialect::Legacy {
                    return self.error(
                        client,
                        &format!("{other} uses a legacy client, which cannot chat one-to-one"),
                    );
                }
                if !self.invitations.contains(&(user, other)) {
                    self.invitations.push((user, other));
                }
                self.send(target, relay, None);
            }
            Verb::CHAT_ACCEPT => {
                if !self.invitations.contains(&(other, user)) {
                    return self.error(client, &format!("no invitation from {other}"));
                }
                if let Some(partner) = self.chats.get(&other).or(self.chats.get(&user)) {
                    let partner = *partner;
                    self.invitations.retain(|i| *i != (other, user));
                    return self.error(
                        client,
                        &format!("{other} or you are already chatting with {partner}"),
                    );
                }
                self.invitations
                    .retain(|(a, b)| !(*a == other && *b == user));
                self.chats.insert(user, other);
                self.chats.insert(other, user);
                if let Some(inviter) = self.client_of(&other) {
                    self.send(inviter, relay, None);
                }
                self.reply(client, Verb::CHAT_ACCEPT, format!("chatting with {other}"));
            }
            Verb::CHAT_DECLINE => {
                if !self.invitations.contains(&(other, user)) {
                    return self.error(client, &format!("no invitation from {other}"));
                }
                self.invitations.retain(|i| *i != (other, user));
                if let Some(inviter) = self.client_of(&other) {
                    self.send(inviter, relay, None);
                }
            }
            _ => {
                // CHAT_END: with whoever the user is chatting with, whatever to_name says.
                let Some(partner) = self.chats.remove(&user) else {
                    return self.error(client, "you are not in a one-to-one chat");
                };
                self.chats.remove(&partner);
                if let Some(peer) = self.client_of(&partner) {
                    self.send(
                        peer,
                        Message::new(Verb::CHAT_END, user, partner, message.text.clone()),
                        None,
                    );
                }
                self.reply(client, Verb::CHAT_END, format!("chat with {partner} ended"));
            }
        }
    }
}
