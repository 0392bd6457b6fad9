//! `chat-load`: an open-loop load generator for the chat server, with Redis pub/sub as a baseline.
//!
//! N clients log in; K of them broadcast at a fixed total rate. Every message's text carries its round, its
//! sender, a sequence number and the time it was *meant* to be sent. The schedule is fixed from the start of a
//! round, so a sender that falls behind sends late but stamps the intended time: a stall shows up as
//! latency instead of hiding as a slower offered rate (coordinated omission). Every receiver records the
//! end-to-end latency of every message in its own histogram and checks each sender's sequence for gaps,
//! duplicates and reordering; the histograms are merged at the end.
//!
//! The same fan-out runs through Redis pub/sub (one channel, N subscriber connections, K of which also
//! publish), with the same stamps and the same accounting, so the two can be compared in one run.
//!
//! # Layout
//!
//! - `args`: [`LoadArgs`], the command line.
//! - `stamp`: the text of a load message, and reading it back.
//! - `schedule`: a sender's open-loop schedule.
//! - `tally`: what one receiver saw in a round: latency histogram, loss, duplicates, reordering.
//! - `fleet`: the clients of one system and the coordinator that runs rounds across them.
//! - `chat_client`, `redis_client`: one task per chatproto or Redis client.
//! - `search`: finding the highest rate a system sustains.
//! - `idle`: many idle logged-in connections, and what they cost the server.
//! - `process`: CPU and memory of a process from `/proc`; raising the open-file limit.
//! - `spawn`: starting a `chat-server` child to measure.
//! - `report`, `json`: printing results as text and as JSON.
//! - `run`: [`run`], tying it together.

mod args;
mod chat_client;
mod connection;
mod direct_tcp;
mod fleet;
mod idle;
mod json;
mod process;
mod redis_client;
mod report;
mod run;
mod schedule;
mod search;
mod spawn;
mod stamp;
mod tally;

pub use args::LoadArgs;
pub use run::run;

/// Any error of a run, with its cause in words.
pub(crate) type LoadError = Box<dyn std::error::Error + Send + Sync>;
