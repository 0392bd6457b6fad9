//! HISTORY_REQUEST (PROTOCOL.md ).

use crate::fragment::Message;
use crate::wire::{Name, Verb};

use super::hub::Hub;
use super::io::ClientId;
use super::store::{PasswordHasher, Store, StoreError};

/// Messages sent when the request gives no number.
pub const DEFAULT_HISTORY: usize = 50;
/// The most messages one request gets.
pub const MAX_HISTORY: usize = 500;

impl<S: Store, H: PasswordHasher> Hub<S, H> {
    pub(super) fn history(
        &mut self,
        client: ClientId,
        user: Name,
        text: &str,
    ) -> Result<(), StoreError> {
        let limit = match text.trim() {
            "" => DEFAULT_HISTORY,
            n => match n.parse::<usize>() {
                Ok(n) => n.min(MAX_HISTORY),
                Err(_) => {
                    self.error(client, &format!("not a number of messages: {n}"));
                    return Ok(());
                }
            },
        };
        let rooms = self.rooms_of(&user);
        let rooms: Vec<&str> = rooms.iter().map(Name::as_str).collect();
        let entries = self.store.history(user.as_str(), &rooms, limit)?;
        let count = entries.len();
        for entry in entries {
            let from = Name::new(&entry.from).unwrap_or_default();
            let to = Name::new(&entry.to).unwrap_or_default();
            let verb = entry.verb.name().unwrap_or("MESSAGE");
            let text = format!("{} {verb} {}", entry.at_ms, entry.text);
            self.send(
                client,
                Message::new(Verb::HISTORY_REPLY, from, to, text),
                None,
            );
        }
        self.send(
            client,
            Message::new(
                Verb::HISTORY_REPLY,
                Name::SERVER,
                user,
                format!("end {count}"),
            ),
            None,
        );
        Ok(())
    }
}
