//! Persistence behind a trait: accounts, messages kept for offline users, and history (PROTOCOL.md,
//! The hub calls it synchronously; an implementation MUST have made a write durable when
//! the call returns, because the hub confirms the message right after.

use std::collections::HashMap;

use crate::wire::Verb;

/// One stored message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    /// When the server accepted it, in ms since the Unix epoch.
    pub at_ms: u64,
    /// BROADCAST, ROOM_MESSAGE or PRIVATE_MESSAGE.
    pub verb: Verb,
    /// The sender.
    pub from: String,
    /// `ALL`, the room, or the recipient.
    pub to: String,
    /// The plain text.
    pub text: String,
    /// For a private message kept for an offline user: the packet number its v5 sender gave it, so that
    /// the sender can get DELIVERED when it is delivered at login; 0 otherwise. History entries do
    /// not keep it.
    pub number: u32,
}

/// A message kept for an offline user, and its id in the store.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Kept {
    /// The store's id for it: unique, and increasing in the order kept.
    pub id: u64,
    /// The message.
    pub entry: Entry,
}

/// A storage failure, in the implementation's words.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("storage failed: {0}")]
pub struct StoreError(pub String);

/// What the hub stores. Every write is durable when it returns.
pub trait Store: Send {
    /// The stored password hash of an account, if the name is registered.
    fn password_hash(&self, name: &str) -> Result<Option<String>, StoreError>;
    /// Creates an account. The hub has checked that the name is free.
    fn create_account(&mut self, name: &str, password_hash: &str) -> Result<(), StoreError>;
    /// Every registered name, in registration order.
    fn accounts(&self) -> Result<Vec<String>, StoreError>;
    /// Keeps a message for a registered user who is offline.
    fn keep_for(&mut self, user: &str, entry: &Entry) -> Result<(), StoreError>;
    /// Keeps a message for an offline user and adds it to the history, both or neither. The default does
    /// the two calls; a store with transactions should make them one.
    fn keep_and_record(&mut self, user: &str, entry: &Entry) -> Result<(), StoreError> {
        // History first: if keeping then fails, nothing will be delivered that the sender was told failed.
        self.append_history(entry)?;
        self.keep_for(user, entry)
    }
    /// Everything kept for a user, oldest first. It stays kept until [`Store::forget_kept`].
    fn kept(&self, user: &str) -> Result<Vec<Kept>, StoreError>;
    /// Forgets one kept message, once its recipient's session has confirmed it. Forgetting one that is
    /// gone already is not an error.
    fn forget_kept(&mut self, user: &str, id: u64) -> Result<(), StoreError>;
    /// Adds a message to the history.
    fn append_history(&mut self, entry: &Entry) -> Result<(), StoreError>;
    /// The last `limit` history entries `viewer` may see, oldest first: broadcasts, messages to `rooms`,
    /// and private messages from or to `viewer`.
    fn history(&self, viewer: &str, rooms: &[&str], limit: usize)
        -> Result<Vec<Entry>, StoreError>;
    /// Makes everything durable (on shutdown).
    fn flush(&mut self) -> Result<(), StoreError> {
        Ok(())
    }
}

/// Hashes and checks passwords. The server uses argon2id; this trait keeps the hub free of any one
/// algorithm and lets tests use a fast one.
pub trait PasswordHasher: Send {
    /// A salted hash of `password`, in a self-describing string form.
    fn hash(&self, password: &str) -> Result<String, StoreError>;
    /// Whether `password` matches `hash`.
    fn verify(&self, hash: &str, password: &str) -> bool;
}

/// A store in memory: for tests and for a server started without a data directory. Nothing survives a
/// restart.
#[derive(Debug, Default)]
pub struct MemoryStore {
    accounts: Vec<(String, String)>,
    kept: HashMap<String, Vec<Kept>>,
    next_kept: u64,
    history: Vec<Entry>,
}

impl Store for MemoryStore {
    fn password_hash(&self, name: &str) -> Result<Option<String>, StoreError> {
        Ok(self
            .accounts
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, h)| h.clone()))
    }

    fn create_account(&mut self, name: &str, password_hash: &str) -> Result<(), StoreError> {
        self.accounts
            .push((name.to_owned(), password_hash.to_owned()));
        Ok(())
    }

    fn accounts(&self) -> Result<Vec<String>, StoreError> {
        Ok(self.accounts.iter().map(|(n, _)| n.clone()).collect())
    }

    fn keep_for(&mut self, user: &str, entry: &Entry) -> Result<(), StoreError> {
        self.next_kept += 1;
        let kept = Kept {
            id: self.next_kept,
            entry: entry.clone(),
        };
        self.kept.entry(user.to_owned()).or_default().push(kept);
        Ok(())
    }

    fn kept(&self, user: &str) -> Result<Vec<Kept>, StoreError> {
        Ok(self.kept.get(user).cloned().unwrap_or_default())
    }

    fn forget_kept(&mut self, user: &str, id: u64) -> Result<(), StoreError> {
        if let Some(kept) = self.kept.get_mut(user) {
            kept.retain(|k| k.id != id);
        }
        Ok(())
    }

    fn append_history(&mut self, entry: &Entry) -> Result<(), StoreError> {
        self.history.push(entry.clone());
        Ok(())
    }

    fn history(
        &self,
        viewer: &str,
        rooms: &[&str],
        limit: usize,
    ) -> Result<Vec<Entry>, StoreError> {
        let visible = |e: &&Entry| visible_to(e, viewer, rooms);
        let mut entries: Vec<Entry> = self
            .history
            .iter()
            .rev()
            .filter(visible)
            .take(limit)
            .cloned()
            .collect();
        entries.reverse();
        Ok(entries)
    }
}

/// broadcasts, the viewer's rooms, and the viewer's own private messages.
pub fn visible_to(entry: &Entry, viewer: &str, rooms: &[&str]) -> bool {
    match entry.verb {
        Verb::BROADCAST => true,
        Verb::ROOM_MESSAGE => rooms.contains(&entry.to.as_str()),
        Verb::PRIVATE_MESSAGE => entry.from == viewer || entry.to == viewer,
        _ => false,
    }
}

/// A "hasher" that keeps passwords readable, for tests only: it makes logins instant where argon2 would
/// take most of a second in a debug build. Never use it in a server.
#[derive(Clone, Copy, Debug, Default)]
pub struct PlainTextForTests;

impl PasswordHasher for PlainTextForTests {
    fn hash(&self, password: &str) -> Result<String, StoreError> {
        Ok(format!("plain-text-for-tests${password}"))
    }

    fn verify(&self, hash: &str, password: &str) -> bool {
        hash.strip_prefix("plain-text-for-tests$") == Some(password)
    }
}
