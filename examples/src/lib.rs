//! The example programs built on chatproto: the `chat-server`, `chat-client` and `chat-load` binaries and
//! the pieces they are made of.
//!
//! # Layout
//!
//! - [`store`]: SQLite persistence and argon2id password hashing for the server.
//! - [`server`]: the server: listeners, one task per session, and the task that owns the chat hub.
//! - [`client`]: the interactive and scriptable client.
//! - [`load`]: the `chat-load` load generator and its Redis pub/sub baseline.

pub mod client;
pub mod load;
pub mod server;
pub mod store;
