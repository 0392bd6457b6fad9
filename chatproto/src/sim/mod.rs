//! Deterministic simulation: sessions stepped in simulated time over seeded faulty links, and the seeded
//! fault source that the tokio transports' fault-injecting wrappers use too. Every failure replays from its
//! seed.
//!
//! # Layout
//!
//! - `rng`: [`SplitMix64`], the seeded generator.
//! - `faults`: [`FaultConfig`] and [`Faults`]: loss, duplication, reordering, delay and corruption.
//! - `network`: [`SimPair`], two sessions joined by two faulty links.

mod faults;
mod network;
mod rng;

pub use faults::{Fate, FaultConfig, Faults};
pub use network::SimPair;
pub use rng::SplitMix64;
