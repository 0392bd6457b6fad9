//! [`SuiteConfig`]: which server to test, how, and what it is configured with.

use std::collections::BTreeSet;
use std::fmt;
use std::net::SocketAddr;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use chatproto::Dialect;
use tokio::sync::Notify;

/// How the suite reaches the server.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Transport {
    /// Frames back to back on a TCP connection.
    Tcp,
    /// One frame per UDP datagram.
    Udp,
}

impl fmt::Display for Transport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Transport::Tcp => "tcp",
            Transport::Udp => "udp",
        })
    }
}

/// The server under test: a transport and an address.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Target {
    /// A TCP address.
    Tcp(SocketAddr),
    /// A UDP address.
    Udp(SocketAddr),
}

impl Target {
    /// The transport.
    pub fn transport(&self) -> Transport {
        match self {
            Target::Tcp(_) => Transport::Tcp,
            Target::Udp(_) => Transport::Udp,
        }
    }

    /// The address.
    pub fn addr(&self) -> SocketAddr {
        match self {
            Target::Tcp(addr) | Target::Udp(addr) => *addr,
        }
    }
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.transport(), self.addr())
    }
}

/// Something a server may not support. Declaring it absent (`--without passwords`) turns the cases that
/// need it into skips.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Feature {
    /// The legacy dialect, version 4.
    V4,
    /// The chatproto dialect, version 5.
    V5,
    /// Accounts: REGISTER and AUTH.
    Passwords,
    /// Rooms.
    Rooms,
    /// One-to-one chats.
    Chats,
    /// DELIVERED receipts.
    Receipts,
    /// History.
    History,
    /// The encrypted flag (§5).
    Cipher,
}

impl Feature {
    /// Every feature, with the name the command line uses.
    pub const ALL: [(Feature, &'static str); 8] = [
        (Feature::V4, "v4"),
        (Feature::V5, "v5"),
        (Feature::Passwords, "passwords"),
        (Feature::Rooms, "rooms"),
        (Feature::Chats, "chats"),
        (Feature::Receipts, "receipts"),
        (Feature::History, "history"),
        (Feature::Cipher, "cipher"),
    ];

    /// The name the command line uses.
    pub fn name(self) -> &'static str {
        Feature::ALL
            .iter()
            .find(|(f, _)| *f == self)
            .map_or("?", |(_, name)| name)
    }
}

impl FromStr for Feature {
    type Err = String;
    fn from_str(s: &str) -> Result<Feature, String> {
        Feature::ALL
            .iter()
            .find(|(_, name)| name.eq_ignore_ascii_case(s))
            .map(|(f, _)| *f)
            .ok_or_else(|| {
                let names: Vec<&str> = Feature::ALL.iter().map(|(_, n)| *n).collect();
                format!("unknown feature {s:?}; one of {}", names.join(", "))
            })
    }
}

impl fmt::Display for Feature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// What the server under test is configured with. The defaults are PROTOCOL.md's (§7, §9.2); a server
/// configured with smaller limits lets the limit cases run quickly, once the suite is told them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServerLimits {
    /// Concurrent sessions at most.
    pub max_sessions: usize,
    /// Data packets a session may send in a burst.
    pub rate_burst: u32,
    /// Data packets a second the burst refills at.
    pub rate_per_second: u32,
    /// Refused packets within `refusal_window` that close a session.
    pub refusals_to_close: u32,
    /// The window refusals are counted in.
    pub refusal_window: Duration,
    /// Rooms one user may be in, `General` included.
    pub rooms_per_user: usize,
    /// Rooms that may exist, `General` included.
    pub rooms_total: usize,
    /// Failed login attempts per client address per minute.
    pub login_failures_per_address: u32,
    /// How long a session may take to log in.
    pub login_timeout: Duration,
    /// How long a logged-in session may send no data packet.
    pub idle_timeout: Duration,
    /// Text bytes one reassembled message may hold.
    pub max_message: usize,
    /// Silence after which the server declares a peer gone.
    pub dead_after: Duration,
    /// Longest silence after which the server sends PING to an idle v5 session. PROTOCOL.md sets
    /// no default; the suite waits this long at most.
    pub keepalive: Duration,
}

impl Default for ServerLimits {
    fn default() -> ServerLimits {
        ServerLimits {
            max_sessions: 10_000,
            rate_burst: 100,
            rate_per_second: 50,
            refusals_to_close: 50,
            refusal_window: Duration::from_secs(10),
            rooms_per_user: 100,
            rooms_total: 10_000,
            login_failures_per_address: 20,
            login_timeout: Duration::from_secs(30),
            idle_timeout: Duration::from_secs(60 * 60),
            max_message: 64 * 1024,
            dead_after: Duration::from_secs(10),
            keepalive: Duration::from_secs(10),
        }
    }
}

/// Everything a run needs.
#[derive(Clone, Debug)]
pub struct SuiteConfig {
    /// The server.
    pub target: Target,
    /// Which dialect's cases to run; v5-only cases are skipped under v4 and the other way round.
    pub dialect: Dialect,
    /// Also run the cases that check a SHOULD.
    pub strict: bool,
    /// Run only cases whose id starts with one of these (all when empty).
    pub only: Vec<String>,
    /// Leave out cases whose id starts with one of these.
    pub skip: Vec<String>,
    /// How long one read waits before the case fails.
    pub timeout: Duration,
    /// The server's configured limits.
    pub limits: ServerLimits,
    /// What the server does not support.
    pub without: BTreeSet<Feature>,
    /// The server accepts passwords over plain TCP and UDP from loopback (its operator allowed it, R-9.1).
    pub plaintext_passwords: bool,
    /// Cases run at once at most.
    pub jobs: usize,
    /// Against a loopback server on Linux, give each case a source address of its own in 127.0.0.0/8, so
    /// per-address limits count each case apart.
    pub distinct_sources: bool,
    /// can only be seen while the server stops: with this set, its case waits this long for the
    /// SHUTDOWN while the operator stops the server. Otherwise the case is skipped.
    pub await_shutdown: Option<Duration>,
    /// Notified once the shutdown case is logged in and waiting, for a harness that stops the server
    /// itself.
    pub shutdown_ready: Option<Arc<Notify>>,
}

impl SuiteConfig {
    /// The defaults: dialect 5, no strict cases, a 2-second read timeout, PROTOCOL.md's limits.
    pub fn new(target: Target) -> SuiteConfig {
        SuiteConfig {
            target,
            dialect: Dialect::V5,
            strict: false,
            only: Vec::new(),
            skip: Vec::new(),
            timeout: Duration::from_secs(2),
            limits: ServerLimits::default(),
            without: BTreeSet::new(),
            plaintext_passwords: false,
            jobs: 8,
            distinct_sources: true,
            await_shutdown: None,
            shutdown_ready: None,
        }
    }

    /// Whether the server supports `feature`.
    pub fn supports(&self, feature: Feature) -> bool {
        !self.without.contains(&feature)
    }

    /// Whether a case id passes the `only` and `skip` filters.
    pub fn selects(&self, id: &str) -> bool {
        let only = self.only.is_empty() || self.only.iter().any(|p| prefix_of(p, id));
        only && !self.skip.iter().any(|p| prefix_of(p, id))
    }
}

/// Whether `prefix` selects `id`: `R-8.1` selects `R-8.1/2` but not `R-8.10/1`.
fn prefix_of(prefix: &str, id: &str) -> bool {
    id.strip_prefix(prefix)
        .is_some_and(|rest| !rest.starts_with(|c: char| c.is_ascii_digit()))
}
