//! The chat server's routing core (PROTOCOL.md §8): who is online, rooms, one-to-one chats, receipts and
//! history, as a sans-IO state machine. Fed each session's messages, [`Hub`] returns what to send to whom;
//! it never touches a socket, so every rule is tested without one.
//!
//! # Layout
//!
//! - `hub`: [`Hub`] itself, its dispatch and the helpers the features share.
//! - `login`, `messages`, `rooms`, `chats`, `history`: one file per feature, each an `impl Hub`.
//! - `io`: [`Input`], [`Output`], [`ClientId`], [`Link`], [`Receipt`].
//! - `reply`: keeping what the server composes within what a client can take in.
//! - `relay`: one message on its way to many sessions, built once per dialect.
//! - `store`: the [`Store`] and [`PasswordHasher`] traits, and [`MemoryStore`].
//! - `names`, `throttle`: name rules and the login throttle.
//! - `limits`: [`Limits`], what a client can make the server hold (§9.2).
//! - `session_limits`: how many sessions there may be, how fast each may send, and how long each may take
//!   to log in or sit idle; `rate`: the token bucket behind the rate limit.
//! - `address_throttle`: failed logins per client address.

mod address_throttle;
mod chats;
mod history;
mod hub;
mod io;
mod limits;
mod login;
mod messages;
mod names;
mod rate;
mod relay;
mod reply;
mod rooms;
mod session_limits;
mod store;
mod throttle;

pub use history::{DEFAULT_HISTORY, MAX_HISTORY};
pub use hub::{Hub, GENERAL};
pub use io::{ClientId, Input, Link, Output, Receipt};
pub use limits::Limits;
pub use names::refuse_name;
pub use reply::REPLY_LIMIT;
pub use store::{
    visible_to, Entry, Kept, MemoryStore, PasswordHasher, PlainTextForTests, Store, StoreError,
};
pub use throttle::{LoginThrottle, MAX_FAILURES, WINDOW};
