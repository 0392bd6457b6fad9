//! [`LoginThrottle`]: a limit on password guessing (PROTOCOL.md ).

use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant};

/// Failed attempts allowed for one name within [`WINDOW`].
pub const MAX_FAILURES: usize = 5;
/// How long failures count, and how long a name stays locked after too many.
pub const WINDOW: Duration = Duration::from_secs(60);
/// Names tracked one by one at most, so the table cannot grow without bound.
const MAX_TRACKED: usize = 10_000;

/// One name's recent failures, and the end of its lock.
#[derive(Debug, Default)]
struct Tracker {
    recent: VecDeque<Instant>,
    locked_until: Option<Instant>,
}

impl Tracker {
    fn allows(&self, now: Instant) -> bool {
        self.locked_until.is_none_or(|until| now >= until)
    }

    fn failed(&mut self, now: Instant) {
        while self
            .recent
            .front()
            .is_some_and(|&t| now.saturating_duration_since(t) >= WINDOW)
        {
            self.recent.pop_front();
        }
        self.recent.push_back(now);
        if self.recent.len() >= MAX_FAILURES {
            // The lock runs a whole minute from the failure that caused it.
            self.locked_until = Some(now + WINDOW);
            self.recent.clear();
        }
    }

    fn idle(&self, now: Instant) -> bool {
        self.allows(now)
            && self
                .recent
                .back()
                .is_none_or(|&t| now.saturating_duration_since(t) >= WINDOW)
    }
}

/// Counts failed password attempts per name: five within a minute lock the name for a minute from the
/// fifth, right password or not.
///
/// The table of names is bounded. When it is full of names with recent failures, every further name
/// shares one tracker, so flooding it with made-up names locks those out rather than lifting the limit
/// from a name under attack.
#[derive(Debug, Default)]
pub struct LoginThrottle {
    names: HashMap<String, Tracker>,
    overflow: Tracker,
}

impl LoginThrottle {
    /// Whether `name` may try a password now.
    pub fn allows(&mut self, name: &str, now: Instant) -> bool {
        match self.names.get(name) {
            Some(tracker) => tracker.allows(now),
            None if self.names.len() >= MAX_TRACKED => self.overflow.allows(now),
            None => true,
        }
    }

    /// Records a failed attempt.
    pub fn failed(&mut self, name: &str, now: Instant) {
        if !self.names.contains_key(name) && self.names.len() >= MAX_TRACKED {
            self.names.retain(|_, tracker| !tracker.idle(now));
            if self.names.len() >= MAX_TRACKED {
                self.overflow.failed(now);
                return;
            }
        }
        self.names.entry(name.to_owned()).or_default().failed(now);
    }

    /// Forgets the failures of a name that logged in.
    pub fn succeeded(&mut self, name: &str) {
        self.names.remove(name);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn five_failures_lock_a_name_for_a_minute_from_the_fifth() {
        let mut throttle = LoginThrottle::default();
        let start = Instant::now();
        let at = |s| start + Duration::from_secs(s);
        for (i, s) in [0, 10, 20, 30, 40].into_iter().enumerate() {
            assert!(throttle.allows("ann", at(s)), "attempt {i}");
            throttle.failed("ann", at(s));
        }
        assert!(
            !throttle.allows("ann", at(99)),
            "locked a minute from the fifth failure"
        );
        assert!(
            throttle.allows("bob", at(41)),
            "other names are not affected"
        );
        assert!(throttle.allows("ann", at(100)));
    }

    #[test]
    fn a_flood_of_names_does_not_lift_the_limit() {
        let mut throttle = LoginThrottle::default();
        let now = Instant::now();
        for i in 0..MAX_TRACKED {
            throttle.failed(&format!("made-up-{i}"), now);
        }
        for _ in 0..MAX_FAILURES {
            throttle.failed("victim", now);
        }
        assert!(!throttle.allows("victim", now));
    }
}
