//! [`Ctx`]: what a case gets to work with: the configuration, names no other case uses, connections, and
//! the check that the server still serves its other clients.

use std::net::{IpAddr, Ipv4Addr};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::Duration;

use chatproto::{Dialect, Verb};

use super::case::{Check, Stop};
use super::client::RawClient;
use super::config::{Feature, ServerLimits, SuiteConfig, Transport};

/// Shared by every case of one run.
#[derive(Debug)]
pub(crate) struct RunShared {
    pub(crate) config: SuiteConfig,
    /// A few letters that differ from run to run, so that names and rooms of one run never meet those of
    /// an earlier run against the same server.
    pub(crate) tag: String,
    /// The first source address of this run, as a number within 127.0.0.0/8.
    pub(crate) source_base: u32,
    /// Source addresses handed out so far.
    pub(crate) sources: AtomicU32,
}

/// A case's handle on the run.
#[derive(Clone, Debug)]
pub struct Ctx {
    shared: Arc<RunShared>,
    /// The case's position in the registry: part of every name it makes.
    index: usize,
    /// Names made so far by this case.
    made: Arc<AtomicU32>,
    /// The source address of this case's connections, when the run spreads them.
    source: Option<IpAddr>,
}

impl Ctx {
    pub(crate) fn new(shared: Arc<RunShared>, index: usize) -> Ctx {
        let source = next_source(&shared);
        Ctx {
            shared,
            index,
            made: Arc::new(AtomicU32::new(0)),
            source,
        }
    }

    /// The run's configuration.
    pub fn config(&self) -> &SuiteConfig {
        &self.shared.config
    }

    /// The dialect of the run.
    pub fn dialect(&self) -> Dialect {
        self.shared.config.dialect
    }

    /// The transport of the run.
    pub fn transport(&self) -> Transport {
        self.shared.config.target.transport()
    }

    /// The server's limits, as the suite was told them.
    pub fn limits(&self) -> &ServerLimits {
        &self.shared.config.limits
    }

    /// The read timeout.
    pub fn timeout(&self) -> Duration {
        self.shared.config.timeout
    }

    /// A short wait for "nothing more arrives" checks, which are always followed by something that must
    /// arrive after.
    pub fn settle(&self) -> Duration {
        (self.timeout() / 4).max(Duration::from_millis(200))
    }

    /// A name (for a user or a room) that no other case and no earlier run uses: `base.<case>.<run>`.
    pub fn name(&self, base: &str) -> String {
        let n = self.made.fetch_add(1, Ordering::Relaxed);
        let name = format!("{base}{n}.{}.{}", self.index, self.shared.tag);
        // Names are at most 32 bytes; cases use short bases, so this only guards against mistakes.
        name.chars().take(32).collect()
    }

    /// Skips the case unless the server supports `feature`.
    pub fn require(&self, feature: Feature) -> Check {
        if !self.config().supports(feature) {
            return Err(Stop::Skip(format!(
                "the server is declared --without {feature}"
            )));
        }
        Ok(())
    }

    /// Skips the case unless the server takes passwords over this plain transport.
    pub fn require_plaintext_passwords(&self) -> Check {
        self.require(Feature::Passwords)?;
        if !self.config().plaintext_passwords {
            return Err(Stop::Skip(
                "passwords over plain TCP/UDP are refused (R-9.1); against a server whose operator \
                 allows them from loopback, pass --plaintext-passwords allowed"
                    .to_owned(),
            ));
        }
        Ok(())
    }

    /// A new connection in the run's dialect, not logged in.
    pub async fn connect(&self) -> Check<RawClient> {
        self.connect_in(self.dialect()).await
    }

    /// A new connection speaking `dialect`, not logged in.
    pub async fn connect_in(&self, dialect: Dialect) -> Check<RawClient> {
        self.connect_from(self.source, dialect).await
    }

    /// A new connection from `source` (an address of this host), not logged in.
    pub async fn connect_from(&self, source: Option<IpAddr>, dialect: Dialect) -> Check<RawClient> {
        let feature = match dialect {
            Dialect::Legacy => Feature::V4,
            Dialect::V5 => Feature::V5,
        };
        self.require(feature)?;
        let config = self.config();
        RawClient::connect(
            config.target.transport(),
            config.target.addr(),
            source,
            dialect,
            config.timeout,
            (config.limits.rate_burst, config.limits.rate_per_second),
        )
        .await
    }

    /// A source address of its own, for a case that must be counted apart from the others; `None`
    /// when the run does not spread source addresses.
    pub fn fresh_source(&self) -> Option<IpAddr> {
        next_source(&self.shared)
    }

    /// This case's source address, if the run spreads them.
    pub fn source(&self) -> Option<IpAddr> {
        self.source
    }

    /// A new user, logged in with LOGIN, speaking the run's dialect: `base` made unique.
    pub async fn user(&self, base: &str) -> Check<RawClient> {
        self.user_in(self.dialect(), base).await
    }

    /// A new user speaking `dialect`.
    pub async fn user_in(&self, dialect: Dialect, base: &str) -> Check<RawClient> {
        let mut client = self.connect_in(dialect).await?;
        let name = self.name(base);
        client.login(&name).await?;
        Ok(client)
    }

    /// Two new users exchange a private message: the server still serves its other clients after what the
    /// case did (`after`).
    pub async fn still_serves(&self, after: &str) -> Check {
        let check = async {
            let mut a = self.user("ok").await?;
            let mut b = self.user("ok").await?;
            let text = format!("still there? {}", self.name("t"));
            let to = b.name().to_owned();
            a.send(Verb::PRIVATE_MESSAGE, &to, &text).await?;
            let from = a.name().to_owned();
            b.expect(&format!("the PRIVATE_MESSAGE from {from}"), |m| {
                m.is(Verb::PRIVATE_MESSAGE) && m.text == text && m.from == from
            })
            .await?;
            Ok(())
        };
        check.await.map_err(|stop| match stop {
            Stop::Fail(why) => Stop::Fail(format!(
                "after {after}, the server no longer serves its other clients: {why}"
            )),
            skip => skip,
        })
    }
}

/// The next source address of the run, or `None` when the run does not spread them: only against a
/// loopback IPv4 server, and only on Linux, where all of 127.0.0.0/8 is this host without configuration.
fn next_source(shared: &RunShared) -> Option<IpAddr> {
    let config = &shared.config;
    let loopback_v4 = matches!(config.target.addr().ip(), IpAddr::V4(ip) if ip.is_loopback());
    if !(config.distinct_sources && loopback_v4 && cfg!(target_os = "linux")) {
        return None;
    }
    let n = shared.sources.fetch_add(1, Ordering::Relaxed);
    Some(IpAddr::V4(source_address(
        shared.source_base.wrapping_add(n),
    )))
}

/// The `n`th address of 127.0.0.0/8 that avoids octets 0 and 255 (254 × 254 × 254 of them).
pub(crate) fn source_address(n: u32) -> Ipv4Addr {
    let n = n % (254 * 254 * 254);
    let octet = |k: u32| (k % 254 + 1) as u8;
    Ipv4Addr::new(127, octet(n / (254 * 254)), octet(n / 254), octet(n))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn source_addresses_stay_on_loopback_and_avoid_0_and_255() {
        for n in [0, 1, 253, 254, 255, 64_515, 64_516, 16_387_063, u32::MAX] {
            let ip = source_address(n);
            assert!(ip.is_loopback(), "{ip}");
            assert!(ip.octets()[1..].iter().all(|&o| o != 0 && o != 255), "{ip}");
        }
        assert_ne!(source_address(1), source_address(2));
    }
}
