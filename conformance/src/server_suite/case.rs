//! [`Case`]: one check of one requirement, and what it can end with.

use std::fmt;
use std::future::Future;
use std::pin::Pin;

use chatproto::Dialect;

use super::config::{Feature, Transport};
use super::context::Ctx;

/// Why a check stopped before the end: it failed, or it cannot run against this server.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Stop {
    /// The server broke the requirement: "expected X, got Y".
    Fail(String),
    /// The case cannot run here, and why.
    Skip(String),
}

/// What a check returns: the value it read, or why it stopped.
pub type Check<T = ()> = Result<T, Stop>;

/// The future a case's function returns.
pub type CaseFuture = Pin<Box<dyn Future<Output = Check> + Send>>;

/// A case's function.
pub type CaseFn = fn(Ctx) -> CaseFuture;

/// How a case ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// The server did what the requirement says.
    Pass,
    /// It did not: what was expected and what came.
    Fail(String),
    /// The case did not run, and why.
    Skip(String),
}

impl Outcome {
    /// `pass`, `fail` or `skip`.
    pub fn word(&self) -> &'static str {
        match self {
            Outcome::Pass => "pass",
            Outcome::Fail(_) => "fail",
            Outcome::Skip(_) => "skip",
        }
    }

    /// The failure or the reason for skipping; empty for a pass.
    pub fn detail(&self) -> &str {
        match self {
            Outcome::Pass => "",
            Outcome::Fail(why) | Outcome::Skip(why) => why,
        }
    }
}

impl From<Check> for Outcome {
    fn from(check: Check) -> Outcome {
        match check {
            Ok(()) => Outcome::Pass,
            Err(Stop::Fail(why)) => Outcome::Fail(why),
            Err(Stop::Skip(why)) => Outcome::Skip(why),
        }
    }
}

/// The dialects a case applies to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dialects {
    /// Either: the case speaks the dialect of the run.
    Both,
    /// Legacy sessions only.
    V4,
    /// chatproto sessions only.
    V5,
}

impl Dialects {
    /// Whether a run in `dialect` includes the case.
    pub fn include(self, dialect: Dialect) -> bool {
        matches!(
            (self, dialect),
            (Dialects::Both, _) | (Dialects::V4, Dialect::Legacy) | (Dialects::V5, Dialect::V5)
        )
    }
}

/// The transports a case applies to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Transports {
    /// Either.
    Both,
    /// TCP only (byte-stream framing).
    Tcp,
    /// UDP only (datagram framing).
    Udp,
}

impl Transports {
    /// Whether a run over `transport` includes the case.
    pub fn include(self, transport: Transport) -> bool {
        matches!(
            (self, transport),
            (Transports::Both, _)
                | (Transports::Tcp, Transport::Tcp)
                | (Transports::Udp, Transport::Udp)
        )
    }
}

/// Whether a case can run beside others.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Isolation {
    /// Runs concurrently with other cases.
    Shared,
    /// Counts something server-wide (sessions), so it runs alone, after the shared cases.
    Alone,
    /// Leaves the server changed for a while (rooms filled, an address locked out), so it runs alone and
    /// after the others.
    Last,
    /// Sees the server stop, so it runs after everything else.
    Shutdown,
}

/// One check of one requirement.
#[derive(Clone, Copy)]
pub struct Case {
    /// `R-6.2/1`: the requirement, then a number.
    pub id: &'static str,
    /// One line: what the server must do.
    pub description: &'static str,
    /// The case checks a SHOULD, so it runs only with `--strict`.
    pub strict: bool,
    /// The dialects it applies to.
    pub dialects: Dialects,
    /// The transports it applies to.
    pub transports: Transports,
    /// Whether it can run beside other cases.
    pub isolation: Isolation,
    /// What the server must support beyond the run's dialect.
    pub needs: &'static [Feature],
    /// The check.
    pub run: CaseFn,
}

impl Case {
    /// A case for both dialects and both transports, needing nothing, not strict.
    pub const fn new(id: &'static str, description: &'static str, run: CaseFn) -> Case {
        Case {
            id,
            description,
            strict: false,
            dialects: Dialects::Both,
            transports: Transports::Both,
            isolation: Isolation::Shared,
            needs: &[],
            run,
        }
    }

    /// Checks a SHOULD.
    pub const fn strict(mut self) -> Case {
        self.strict = true;
        self
    }

    /// Applies to v5 sessions only.
    pub const fn v5(mut self) -> Case {
        self.dialects = Dialects::V5;
        self
    }

    /// Applies to v4 sessions only.
    pub const fn v4(mut self) -> Case {
        self.dialects = Dialects::V4;
        self
    }

    /// Applies to TCP only.
    pub const fn tcp(mut self) -> Case {
        self.transports = Transports::Tcp;
        self
    }

    /// Applies to UDP only.
    pub const fn udp(mut self) -> Case {
        self.transports = Transports::Udp;
        self
    }

    /// Runs alone.
    pub const fn alone(mut self) -> Case {
        self.isolation = Isolation::Alone;
        self
    }

    /// Runs alone and last.
    pub const fn last(mut self) -> Case {
        self.isolation = Isolation::Last;
        self
    }

    /// Runs after everything else, while the server stops.
    pub const fn at_shutdown(mut self) -> Case {
        self.isolation = Isolation::Shutdown;
        self
    }

    /// Needs these features.
    pub const fn needs(mut self, needs: &'static [Feature]) -> Case {
        self.needs = needs;
        self
    }

    /// The requirement the case checks: its id up to the `/`.
    pub fn requirement(&self) -> &'static str {
        let id: &'static str = self.id;
        id.split('/').next().unwrap_or(id)
    }
}

impl fmt::Debug for Case {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Case")
            .field("id", &self.id)
            .field("description", &self.description)
            .field("strict", &self.strict)
            .field("dialects", &self.dialects)
            .field("transports", &self.transports)
            .field("isolation", &self.isolation)
            .field("needs", &self.needs)
            .finish()
    }
}
