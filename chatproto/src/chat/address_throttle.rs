//! [`AddressThrottle`]: a limit on failed logins per client address, whatever the names tried
//! (PROTOCOL.md ).

use std::collections::HashMap;
use std::net::{IpAddr, Ipv6Addr};
use std::time::{Duration, Instant};

/// How long failures count: the limit is per minute, and a locked address waits out the minute.
pub(super) const MINUTE: Duration = Duration::from_secs(60);
/// Addresses tracked one by one at most, so the table cannot grow without bound.
const MAX_TRACKED: usize = 10_000;
/// How often a full table may be swept for expired entries: a sweep walks the whole table, and a flood of
/// new addresses must not make every failure pay for one.
const SWEEP_EVERY: Duration = Duration::from_secs(1);

/// One address's failures in the minute that began with the first of them.
#[derive(Clone, Copy, Debug)]
struct Minute {
    began: Instant,
    failures: u32,
}

impl Minute {
    fn expired(&self, now: Instant) -> bool {
        now.saturating_duration_since(self.began) >= MINUTE
    }

    fn failed(&mut self, now: Instant) {
        if self.expired(now) {
            *self = Minute {
                began: now,
                failures: 0,
            };
        }
        self.failures = self.failures.saturating_add(1);
    }
}

/// Counts failed logins per client address. An address with `limit` failures in the minute that began
/// with its first is refused until that minute has passed.
///
/// An IPv6 address counts by its /64 prefix, which is what one host is usually given: otherwise a single
/// client could try from as many addresses as it likes. The table is bounded: when it is full of addresses
/// with recent failures, every further address shares one count, so a flood of addresses locks those out
/// rather than lifting the limit.
#[derive(Debug)]
pub(super) struct AddressThrottle {
    limit: u32,
    addresses: HashMap<IpAddr, Minute>,
    overflow: Option<Minute>,
    last_sweep: Option<Instant>,
}

impl AddressThrottle {
    /// No failures yet; `limit` a minute per address.
    pub(super) fn new(limit: u32) -> AddressThrottle {
        AddressThrottle {
            limit,
            addresses: HashMap::new(),
            overflow: None,
            last_sweep: None,
        }
    }

    /// Whether a login from `address` may be tried now.
    pub(super) fn allows(&self, address: IpAddr, now: Instant) -> bool {
        let minute = match self.addresses.get(&key(address)) {
            Some(minute) => Some(minute),
            None if self.addresses.len() >= MAX_TRACKED => self.overflow.as_ref(),
            None => None,
        };
        minute.is_none_or(|m| m.expired(now) || m.failures < self.limit)
    }

    /// Records a failed login from `address`.
    pub(super) fn failed(&mut self, address: IpAddr, now: Instant) {
        let address = key(address);
        if !self.addresses.contains_key(&address) && self.addresses.len() >= MAX_TRACKED {
            self.sweep(now);
            if self.addresses.len() >= MAX_TRACKED {
                self.overflow
                    .get_or_insert(Minute {
                        began: now,
                        failures: 0,
                    })
                    .failed(now);
                return;
            }
        }
        self.addresses
            .entry(address)
            .or_insert(Minute {
                began: now,
                failures: 0,
            })
            .failed(now);
    }

    /// Forgets the addresses whose minute is over, at most once every [`SWEEP_EVERY`].
    fn sweep(&mut self, now: Instant) {
        if self
            .last_sweep
            .is_some_and(|t| now.saturating_duration_since(t) < SWEEP_EVERY)
        {
            return;
        }
        self.last_sweep = Some(now);
        self.addresses.retain(|_, minute| !minute.expired(now));
    }

    /// How many addresses are tracked one by one.
    #[cfg(test)]
    fn tracked(&self) -> usize {
        self.addresses.len()
    }
}

/// What an address counts as: itself for IPv4 (an IPv4-mapped IPv6 address included), its /64 for IPv6.
fn key(address: IpAddr) -> IpAddr {
    match address {
        IpAddr::V4(v4) => IpAddr::V4(v4),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => IpAddr::V6(Ipv6Addr::from(
                u128::from(v6) & 0xffff_ffff_ffff_ffff_0000_0000_0000_0000,
            )),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn secs(n: u64) -> Duration {
        Duration::from_secs(n)
    }

    // the limit's failures lock the address until the minute that began with the first is over.
    #[test]
    fn an_address_is_locked_until_its_minute_is_over() {
        let start = Instant::now();
        let mut throttle = AddressThrottle::new(3);
        let eve = ip("192.0.2.1");
        for s in [0, 10, 20] {
            assert!(throttle.allows(eve, start + secs(s)));
            throttle.failed(eve, start + secs(s));
        }
        assert!(!throttle.allows(eve, start + secs(59)));
        assert!(throttle.allows(ip("192.0.2.2"), start + secs(59)));
        assert!(throttle.allows(eve, start + secs(60)));
        // A new minute begins with the next failure.
        throttle.failed(eve, start + secs(61));
        assert!(throttle.allows(eve, start + secs(61)));
    }

    // an IPv6 client cannot escape the limit by changing the low 64 bits of its address.
    #[test]
    fn ipv6_addresses_count_by_their_64_prefix() {
        let now = Instant::now();
        let mut throttle = AddressThrottle::new(2);
        throttle.failed(ip("2001:db8:1:2::1"), now);
        throttle.failed(ip("2001:db8:1:2:ffff::9"), now);
        assert!(!throttle.allows(ip("2001:db8:1:2::77"), now));
        assert!(throttle.allows(ip("2001:db8:1:3::1"), now));
        // An IPv4-mapped address is its IPv4 address.
        throttle.failed(ip("::ffff:192.0.2.9"), now);
        throttle.failed(ip("192.0.2.9"), now);
        assert!(!throttle.allows(ip("192.0.2.9"), now));
    }

    // the table stays bounded, and a flood of addresses does not lift the limit from others.
    #[test]
    fn a_flood_of_addresses_stays_bounded_and_locks_only_itself_out() {
        let start = Instant::now();
        let mut throttle = AddressThrottle::new(2);
        for i in 0..MAX_TRACKED as u32 + 500 {
            throttle.failed(IpAddr::V4((0x0a00_0000 + i).into()), start);
        }
        assert_eq!(throttle.tracked(), MAX_TRACKED);
        let newcomer = ip("198.51.100.1");
        assert!(
            !throttle.allows(newcomer, start),
            "untracked addresses share the overflow's count"
        );
        assert!(
            throttle.allows(ip("10.0.0.1"), start),
            "a tracked address keeps its own count: one failure of two"
        );
        // Once the minute is over, the table is swept and newcomers are tracked on their own again.
        let later = start + MINUTE;
        assert!(throttle.allows(newcomer, later));
        throttle.failed(newcomer, later);
        assert_eq!(throttle.tracked(), 1);
        assert!(throttle.allows(newcomer, later));
    }
}
