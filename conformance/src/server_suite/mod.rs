//! A server conformance suite, in the manner of h2spec and irctest: it connects to a running chatproto
//! server over TCP or UDP, speaks raw frames to it, and checks every numbered requirement of PROTOCOL.md
//! that a client can observe.
//!
//! The `chatproto-conformance` binary runs it from the command line; a test can call [`run`] directly:
//!
//! ```no_run
//! # async fn example() {
//! use conformance::server_suite::{run, SuiteConfig, Target};
//!
//! let config = SuiteConfig::new(Target::Tcp("127.0.0.1:53289".parse().unwrap()));
//! let report = run(&config).await;
//! println!("{}", report.summary());
//! assert_eq!(report.failed(), 0);
//! # }
//! ```
//!
//! Each [`Case`] has an id such as `R-6.2/1` (the requirement it checks, then a number), a one-line
//! description, a strict flag (set for cases that check a SHOULD), and the dialects and transports it
//! applies to. A case uses fresh connections and user names of its own, so cases run side by side. Every
//! read is bounded by a timeout, so a silent server makes cases fail, never hang.
//!
//! # Layout
//!
//! - `config`: [`SuiteConfig`], what to test and what the server is configured with ([`ServerLimits`]).
//! - `case`: [`Case`], [`Outcome`], and the `Stop` a check returns.
//! - `conn`: one TCP connection or UDP socket, with a chosen source address.
//! - `frames`: building frames byte by byte, breaking them on purpose, and showing differences in hex.
//! - `client`: [`RawClient`], a client that speaks frames byte-exactly and does just enough v5 session
//!   handling (numbering, CONFIRM, PING, retransmission over UDP) to drive a case.
//! - `pacer`: keeps a client within the server's rate limit (R-9.3) unless a case means to exceed it.
//! - `context`: [`Ctx`], what a case is given: unique names, connections, "does the server still serve".
//! - `runner`: [`run`]: filtering, concurrency, ordering of the results.
//! - `report`: [`Report`], as text, JUnit XML or JSON.
//! - `cases`: the cases, one file per section of PROTOCOL.md.

/// Ends a case with a failure: `fail!("expected {}, got {}", a, b)`.
macro_rules! fail {
    ($($arg:tt)*) => {
        return Err($crate::server_suite::Stop::Fail(format!($($arg)*)))
    };
}

/// Fails a case unless the condition holds.
macro_rules! check {
    ($cond:expr, $($arg:tt)*) => {
        let holds: bool = $cond;
        if !holds {
            fail!($($arg)*);
        }
    };
}

/// Ends a case as skipped, with the reason.
macro_rules! skip {
    ($($arg:tt)*) => {
        return Err($crate::server_suite::Stop::Skip(format!($($arg)*)))
    };
}

mod case;
mod cases;
mod client;
mod config;
mod conn;
mod context;
mod frames;
mod pacer;
mod report;
mod runner;

pub use case::{Case, Check, Dialects, Isolation, Outcome, Stop, Transports};
pub use cases::all as cases;
pub use client::{Msg, RawClient, Received};
pub use config::{Feature, ServerLimits, SuiteConfig, Target, Transport};
pub use context::Ctx;
pub use frames::{decipher, encipher, hex_diff};
pub use report::{CaseResult, Report};
pub use runner::{run, run_streaming};
