//! BROADCAST, PRIVATE_MESSAGE and WHO (PROTOCOL.md §8.2, §8.3).

use crate::fragment::Message;
use crate::wire::{Dialect, Name, Verb};

use super::hub::Hub;
use super::io::{ClientId, Receipt};
use super::relay::Relay;
use super::reply::join_within;
use super::store::{Entry, PasswordHasher, Store, StoreError};

impl<S: Store, H: PasswordHasher> Hub<S, H> {
    pub(super) fn entry(&self, message: &Message) -> Entry {
        Entry {
            at_ms: self.wall_ms,
            verb: message.verb,
            from: message.from.to_string(),
            to: message.to.to_string(),
            text: message.text.clone(),
            number: 0,
        }
    }

    /// to everyone online, the sender included.
    pub(super) fn broadcast(&mut self, mut message: Message) -> Result<(), StoreError> {
        message.to = Name::ALL;
        self.store.append_history(&self.entry(&message))?;
        let mut relay = Relay::new(message);
        for i in 0..self.online.len() {
            let client = self.online[i].1;
            self.relay(client, &mut relay, None);
        }
        Ok(())
    }

    /// to the recipient and back to the sender; kept for a registered user who is offline.
    pub(super) fn private_message(
        &mut self,
        sender: ClientId,
        message: Message,
    ) -> Result<(), StoreError> {
        let recipient = message.to;
        if let Some(target) = self.client_of(&recipient) {
            self.store.append_history(&self.entry(&message))?;
            let receipt = self.receipt_for(sender, &message, recipient);
            self.send(target, message.clone(), receipt);
            if target != sender {
                self.send(sender, message, None);
            }
        } else if self.store.password_hash(recipient.as_str())?.is_some() {
            // The sender's number goes with it, for DELIVERED when it is delivered at login.
            let mut entry = self.entry(&message);
            entry.number = self
                .receipt_for(sender, &message, recipient)
                .map_or(0, |r| r.number);
            self.store.keep_and_record(recipient.as_str(), &entry)?;
        } else {
            self.error(sender, &format!("no user {recipient}"));
        }
        Ok(())
    }

    /// A receipt for a v5 sender's numbered message.
    pub(super) fn receipt_for(
        &self,
        sender: ClientId,
        message: &Message,
        recipient: Name,
    ) -> Option<Receipt> {
        (message.number != 0 && self.dialect_of(sender) == Dialect::V5).then_some(Receipt {
            sender: message.from,
            recipient,
            number: message.number,
            kept: None,
        })
    }

    /// `a, b` for v4; a line per user with availability, then registered users offline, for v5.
    pub(super) fn who(&mut self, client: ClientId) {
        let text = match self.dialect_of(client) {
            Dialect::Legacy => join_within(self.online.iter().map(|(n, _)| n.as_str()), ", "),
            Dialect::V5 => {
                let mut lines: Vec<String> = self
                    .online
                    .iter()
                    .map(|(name, _)| match self.chats.get(name) {
                        Some(other) => format!("{name}\tchatting with {other}"),
                        None => format!("{name}\tavailable"),
                    })
                    .collect();
                for account in self.store.accounts().unwrap_or_default() {
                    let online = Name::new(&account).is_ok_and(|n| self.client_of(&n).is_some());
                    if !online {
                        lines.push(format!("{account}\toffline"));
                    }
                }
                join_within(lines.iter(), "\n")
            }
        };
        self.reply(client, Verb::WHO, text);
    }
}
