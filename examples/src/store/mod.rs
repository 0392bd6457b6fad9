//! The chat server's persistence: where [`chatproto::chat::Hub`] keeps accounts, messages for offline users
//! and history ([`SqliteStore`], a [`chatproto::chat::Store`]), and how it hashes passwords
//! ([`Argon2Hasher`], a [`chatproto::chat::PasswordHasher`]) (PROTOCOL.md R-8.3, R-8.6, R-8.13, R-8.16).
//!
//! ```no_run
//! use chatproto::chat::Hub;
//! use chatproto_examples::store::{Argon2Hasher, SqliteStore};
//!
//! let store = SqliteStore::open(std::path::Path::new("data"))?; // data/chatproto.db
//! let hub = Hub::new(store, Argon2Hasher::default());
//! # Ok::<(), chatproto::chat::StoreError>(())
//! ```
//!
//! # Layout
//!
//! - `sqlite`: [`SqliteStore`], one SQLite database file in WAL mode with `synchronous=FULL`, so each
//!   write is on disk when its call returns; its schema and migrations.
//! - `password`: [`Argon2Hasher`], argon2id with a random salt per password, as PHC strings.
//! - `tests`: the store against [`chatproto::chat::visible_to`], across reopening, and under the hub.

#![warn(missing_docs)]

mod password;
mod sqlite;
#[cfg(test)]
mod tests;

pub use password::Argon2Hasher;
pub use sqlite::{SqliteStore, DB_FILE};
