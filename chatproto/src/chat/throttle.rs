//! [`LoginThrottle`]: a limit on password guessing (PROTOCOL.md ).

use std::collections::HashMap;
use std::time::{Duration, Instant};

/// Failed attempts allowed for one name within [`WINDOW`].
pub const MAX_FAILURES: usize = 5;
/// How long failures count, and how long a name stays locked after too many.
pub const WINDOW: Duration = Duration::from_secs(60);
/// Names tracked at most; the oldest entries go first, so the table cannot grow without bound.
const MAX_TRACKED: usize = 10_000;

/// Counts failed password attempts per name and locks a name for a minute after five in a minute.
#[derive(Debug, Default)]
pub struct LoginThrottle {
    failures: HashMap<String, Vec<Instant>>,
}

impl LoginThrottle {
    /// Whether `name` may try a password now.
    pub fn allows(&mut self, name: &str, now: Instant) -> bool {
        let Some(times) = self.failures.get_mut(name) else {
            return true;
        };
        times.retain(|&t| now.saturating_duration_since(t) < WINDOW);
        times.len() < MAX_FAILURES
    }

    /// Records a failed attempt.
    pub fn failed(&mut self, name: &str, now: Instant) {
        if self.failures.len() >= MAX_TRACKED && !self.failures.contains_key(name) {
            self.failures.retain(|_, times| {
                times
                    .iter()
                    .any(|&t| now.saturating_duration_since(t) < WINDOW)
            });
            if self.failures.len() >= MAX_TRACKED {
                return;
            }
        }
        let times = self.failures.entry(name.to_owned()).or_default();
        times.push(now);
        if times.len() > MAX_FAILURES {
            times.remove(0);
        }
    }

    /// Forgets the failures of a name that logged in.
    pub fn succeeded(&mut self, name: &str) {
        self.failures.remove(name);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn five_failures_lock_a_name_for_a_minute() {
        let mut throttle = LoginThrottle::default();
        let start = Instant::now();
        for i in 0..MAX_FAILURES {
            assert!(throttle.allows("ann", start), "attempt {i}");
            throttle.failed("ann", start);
        }
        assert!(!throttle.allows("ann", start + Duration::from_secs(59)));
        assert!(
            throttle.allows("bob", start),
            "other names are not affected"
        );
        assert!(throttle.allows("ann", start + WINDOW));
    }
}
