//! A transport conformance suite: generic checks that any [`Transport`] implementation can run, over its
//! own carrier, to show that it delivers what chatproto promises (PROTOCOL.md §6 and §7).
//!
//! Implement [`TransportHarness`] to make connected pairs of your transport, then call [`run`]:
//!
//! ```no_run
//! # use conformance::transport_suite::{run, TransportHarness};
//! # async fn example<H: TransportHarness>(mut harness: H) {
//! let report = run(&mut harness).await;
//! assert!(report.failed.is_empty(), "{report}");
//! # }
//! ```

use std::fmt;
use std::time::Duration;

use async_trait::async_trait;
use chatproto::transport::Transport;

mod cases;

pub use cases::CASES;

/// Makes connected transports for the suite.
#[async_trait]
pub trait TransportHarness: Send {
    /// The connecting side.
    type Client: Transport;
    /// The accepting side.
    type Server: Transport;

    /// A short name for reports: "tcp", "udp", "memory".
    fn name(&self) -> &str;

    /// A connected client and the server side of the same connection.
    async fn connect(&mut self) -> (Self::Client, Self::Server);

    /// A client connected to a peer that then goes silent without closing (a crashed host), or `None` if
    /// the carrier cannot arrange one.
    async fn connect_to_silent_peer(&mut self) -> Option<Self::Client>;

    /// The dead-peer limit the transports were configured with (R-7.9); the suite waits a few times this
    /// long at most.
    fn dead_after(&self) -> Duration;
}

/// What a run found.
#[derive(Debug, Default)]
pub struct SuiteReport {
    /// The harness's name.
    pub transport: String,
    /// Cases that passed.
    pub passed: Vec<&'static str>,
    /// Cases that failed, with what went wrong.
    pub failed: Vec<(&'static str, String)>,
    /// Cases the harness could not arrange.
    pub skipped: Vec<&'static str>,
}

impl fmt::Display for SuiteReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for name in &self.passed {
            writeln!(f, "{}: pass  {name}", self.transport)?;
        }
        for name in &self.skipped {
            writeln!(f, "{}: skip  {name}", self.transport)?;
        }
        for (name, why) in &self.failed {
            writeln!(f, "{}: FAIL  {name}: {why}", self.transport)?;
        }
        write!(
            f,
            "{} passed, {} failed, {} skipped",
            self.passed.len(),
            self.failed.len(),
            self.skipped.len()
        )
    }
}

/// What one case concluded.
pub enum Outcome {
    /// It held.
    Pass,
    /// It did not, and why.
    Fail(String),
    /// The harness could not arrange it.
    Skip,
}

/// Runs every case in [`CASES`] against the harness, in order.
pub async fn run<H: TransportHarness>(harness: &mut H) -> SuiteReport {
    let mut report = SuiteReport {
        transport: harness.name().to_owned(),
        ..SuiteReport::default()
    };
    report.record(CASES[0], cases::ordering(harness).await);
    report.record(CASES[1], cases::large_messages(harness).await);
    report.record(CASES[2], cases::confirmations(harness).await);
    report.record(CASES[3], cases::close(harness).await);
    report.record(CASES[4], cases::dead_peer(harness).await);
    report
}

impl SuiteReport {
    fn record(&mut self, name: &'static str, outcome: Outcome) {
        match outcome {
            Outcome::Pass => self.passed.push(name),
            Outcome::Fail(why) => self.failed.push((name, why)),
            Outcome::Skip => self.skipped.push(name),
        }
    }
}
