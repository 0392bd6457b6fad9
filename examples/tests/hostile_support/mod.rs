//! Shared by the hostile-input, crash and resource-exhaustion tests: hostile frames, raw connections from
//! many loopback addresses, a `chat-server` child with resource limits, and what `/proc` says about it.
//!
//! Needs `mod support;` beside it in the test crate (for [`Net`](crate::support::Net)).
//!
//! # Layout
//!
//! - `frames`: the conformance vectors, valid frames built to order, and seeded mutations of both.
//! - `raw`: TCP and UDP sockets from a chosen loopback address, that speak bytes, not sessions.
//! - `child`: [`ChildServer`](child::ChildServer), the `chat-server` binary with an fd limit or memory
//!   storage.
//! - `proc_stats`: a process's state, resident memory and open descriptors, from `/proc`.
//! - `slow_readers`: clients that never read, clients that write to them, and watching them be closed.

#![allow(dead_code)]

pub mod child;
pub mod frames;
pub mod proc_stats;
pub mod raw;
pub mod slow_readers;

use std::time::Duration;

/// One packet every 22 ms: 45 a second, under the default rate limit of 50 a second, so that a
/// test's clients are refused for what they send, never for how fast.
pub const PACE: Duration = Duration::from_millis(22);

/// A tokio interval at [`PACE`] that never catches up in a burst after a delay.
pub fn pacer() -> tokio::time::Interval {
    let mut interval = tokio::time::interval(PACE);
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    interval
}

/// The seed of a test's generator: `CHATPROTO_SEED` if set (to replay a failure), else the clock. Printed,
/// so that any run can be replayed.
pub fn seed(test: &str) -> u64 {
    let seed = match std::env::var("CHATPROTO_SEED") {
        Ok(value) => value
            .parse()
            .unwrap_or_else(|_| panic!("CHATPROTO_SEED={value:?} is not a u64")),
        Err(_) => std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as u64),
    };
    println!("{test}: seed {seed} (replay with CHATPROTO_SEED={seed})");
    seed
}
