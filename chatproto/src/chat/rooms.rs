//! Rooms: ROOM_CREATE, ROOM_JOIN, ROOM_LEAVE, ROOM_LIST, ROOM_MEMBERS and ROOM_MESSAGE (PROTOCOL.md §8.4).

use crate::fragment::Message;
use crate::wire::{Name, Verb};

use super::hub::{Hub, Room};
use super::io::ClientId;
use super::names::refuse_name;
use super::relay::Relay;
use super::reply::join_within;
use super::store::{PasswordHasher, Store, StoreError};

impl<S: Store, H: PasswordHasher> Hub<S, H> {
    fn room_index(&self, name: &Name) -> Option<usize> {
        self.rooms.iter().position(|r| r.name == *name)
    }

    /// How many rooms a session's user is in, `General` included.
    fn rooms_joined(&self, client: ClientId) -> usize {
        self.clients.get(&client).map_or(0, |c| c.rooms)
    }

    fn count_rooms(&mut self, client: ClientId, change: impl FnOnce(usize) -> usize) {
        if let Some(state) = self.clients.get_mut(&client) {
            state.rooms = change(state.rooms);
        }
    }

    /// The rooms a user is in, in the order created.
    pub(super) fn rooms_of(&self, user: &Name) -> Vec<Name> {
        self.rooms
            .iter()
            .filter(|r| r.members.contains(user))
            .map(|r| r.name)
            .collect()
    }

    pub(super) fn room_create(
        &mut self,
        client: ClientId,
        message: &Message,
    ) -> Result<(), StoreError> {
        let room = message.to;
        if let Some(why) = refuse_name(room.as_str()) {
            self.error(client, &format!("bad room name: {why}"));
        } else if self.room_index(&room).is_some() {
            self.error(client, &format!("room {room} already exists"));
        } else if self.rooms.len() >= self.limits.rooms_total {
            // General counts.
            let most = self.limits.rooms_total;
            self.error(client, &format!("there are {most} rooms, the most allowed"));
        } else {
            self.rooms.push(Room {
                name: room,
                members: Vec::new(),
            });
            self.reply(client, Verb::ROOM_CREATE, format!("created {room}"));
        }
        Ok(())
    }

    pub(super) fn room_join(
        &mut self,
        client: ClientId,
        user: Name,
        message: &Message,
    ) -> Result<(), StoreError> {
        let room = message.to;
        match self.room_index(&room) {
            None => self.error(client, &format!("no room {room}")),
            Some(i) if self.rooms[i].members.contains(&user) => {
                self.error(client, &format!("already a member of {room}"))
            }
            Some(_) if self.rooms_joined(client) >= self.limits.rooms_per_user => {
                // General counts.
                let most = self.limits.rooms_per_user;
                self.error(
                    client,
                    &format!("you are in {most} rooms, the most allowed: leave one first"),
                )
            }
            Some(i) => {
                self.rooms[i].members.push(user);
                self.count_rooms(client, |n| n + 1);
                self.reply(client, Verb::ROOM_JOIN, format!("joined {room}"));
            }
        }
        Ok(())
    }

    pub(super) fn room_leave(
        &mut self,
        client: ClientId,
        user: Name,
        message: &Message,
    ) -> Result<(), StoreError> {
        let room = message.to;
        match self.room_index(&room) {
            None => self.error(client, &format!("no room {room}")),
            Some(i) if !self.rooms[i].members.contains(&user) => {
                self.error(client, &format!("not a member of {room}"))
            }
            Some(i) => {
                self.rooms[i].members.retain(|m| *m != user);
                self.count_rooms(client, |n| n.saturating_sub(1));
                self.reply(client, Verb::ROOM_LEAVE, format!("left {room}"));
            }
        }
        Ok(())
    }

    pub(super) fn room_list(&mut self, client: ClientId) -> Result<(), StoreError> {
        // cut to what a client can take in.
        let text = join_within(self.rooms.iter().map(|r| r.name.as_str()), "\n");
        self.reply(client, Verb::ROOM_LIST, text);
        Ok(())
    }

    pub(super) fn room_members(
        &mut self,
        client: ClientId,
        message: &Message,
    ) -> Result<(), StoreError> {
        match self.room_index(&message.to) {
            None => self.error(client, &format!("no room {}", message.to)),
            Some(i) => {
                let text = join_within(self.rooms[i].members.iter().map(Name::as_str), "\n");
                let to = self.name_of(client);
                self.send(
                    client,
                    Message::new(Verb::ROOM_MEMBERS, Name::SERVER, to, text),
                    None,
                );
            }
        }
        Ok(())
    }

    /// to every member, the sender included; an empty room name means every room of the sender's.
    pub(super) fn room_message(
        &mut self,
        client: ClientId,
        user: Name,
        message: Message,
    ) -> Result<(), StoreError> {
        let targets = if message.to.is_empty() {
            self.rooms_of(&user)
        } else {
            vec![message.to]
        };
        for room in targets {
            let Some(i) = self.room_index(&room) else {
                self.error(client, &format!("no room {room}"));
                continue;
            };
            if !self.rooms[i].members.contains(&user) {
                self.error(client, &format!("not a member of {room}"));
                continue;
            }
            let mut relay = message.clone();
            relay.to = room;
            self.store.append_history(&self.entry(&relay))?;
            let mut shared = Relay::new(relay.clone());
            for m in 0..self.rooms[i].members.len() {
                let member = self.rooms[i].members[m];
                if let Some(target) = self.client_of(&member) {
                    let receipt = if target == client {
                        None
                    } else {
                        self.receipt_for(client, &relay, member)
                    };
                    self.relay(target, &mut shared, receipt);
                }
            }
        }
        Ok(())
    }
}
