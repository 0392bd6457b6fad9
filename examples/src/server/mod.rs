//! The chat server: TCP and UDP listeners, a task per session, and one thread that owns the chat
//! [`Hub`](chatproto::chat::Hub) and its store (PROTOCOL.md §8).
//!
//! Sessions never share state: each session task forwards what its client sends to the hub thread and
//! carries out what the hub asks for its client. The hub runs on a thread of its own because storage
//! (SQLite, argon2) blocks, and it must never stall the tasks that move frames.
//!
//! # Layout
//!
//! - `config`: [`ServerConfig`], what the server listens on and where it keeps its data.
//! - `hub_thread`: the thread that owns the hub and routes its outputs to sessions.
//! - `session_task`: one task per session, between its transport and the hub.
//! - `listen`: the accept loops.
//! - `open_files`: raising the process's limit on open files, so the sessions allowed can be accepted.
//! - `run`: [`Server`], starting and stopping it all, and telling the hub the time.

mod config;
mod hub_thread;
mod listen;
mod open_files;
mod run;
mod session_task;
mod tls;

pub use config::{Limits, PasswordHashing, ServerConfig, Storage, TlsFiles};
pub use run::Server;
