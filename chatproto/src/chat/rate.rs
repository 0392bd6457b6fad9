//! A session's rate of data packets (PROTOCOL.md ): a [`TokenBucket`] that refuses packets beyond the
//! rate, and [`RecentRefusals`], which tells when a session has been refused too often to keep.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

/// Billionths of a token in one token: the bucket counts in these so that refilling at any rate over any
/// number of nanoseconds needs no floating point and loses nothing to rounding.
const NANO: u128 = 1_000_000_000;

/// A token bucket: it holds at most `burst` tokens, gains `per_second` a second, and each packet takes one.
/// It starts full, so a session may send a burst at once.
#[derive(Clone, Debug)]
pub(super) struct TokenBucket {
    /// Tokens held, in billionths.
    nanotokens: u128,
    /// The most it holds, in billionths.
    capacity: u128,
    per_second: u128,
    /// When the tokens were last counted.
    last: Instant,
}

impl TokenBucket {
    /// A full bucket.
    pub(super) fn full(burst: u32, per_second: u32, now: Instant) -> TokenBucket {
        let capacity = u128::from(burst) * NANO;
        TokenBucket {
            nanotokens: capacity,
            capacity,
            per_second: u128::from(per_second),
            last: now,
        }
    }

    /// Takes a token if there is one: whether the packet may be acted on.
    pub(super) fn take(&mut self, now: Instant) -> bool {
        // A clock that seems to go backwards adds nothing rather than panicking.
        let elapsed = now.saturating_duration_since(self.last).as_nanos();
        self.last = self.last.max(now);
        // per_second tokens a second is per_second billionths of a token a nanosecond.
        let gained = elapsed.saturating_mul(self.per_second);
        self.nanotokens = self.nanotokens.saturating_add(gained).min(self.capacity);
        if self.nanotokens >= NANO {
            self.nanotokens -= NANO;
            true
        } else {
            false
        }
    }
}

/// The times of a session's refused packets within the last window, at most as many as close it: so it
/// holds nothing until a session is refused, and never more than the limit.
#[derive(Clone, Debug)]
pub(super) struct RecentRefusals {
    times: VecDeque<Instant>,
    to_close: usize,
    window: Duration,
}

impl RecentRefusals {
    /// No refusals yet; `to_close` within `window` close the session.
    pub(super) fn new(to_close: u32, window: Duration) -> RecentRefusals {
        RecentRefusals {
            times: VecDeque::new(),
            to_close: usize::try_from(to_close).unwrap_or(usize::MAX),
            window,
        }
    }

    /// Counts a refusal at `now`: whether the session has now had `to_close` refusals within the window.
    pub(super) fn refused(&mut self, now: Instant) -> bool {
        while self
            .times
            .front()
            .is_some_and(|&t| now.saturating_duration_since(t) >= self.window)
        {
            self.times.pop_front();
        }
        self.times.push_back(now);
        if self.times.len() >= self.to_close {
            self.times.clear();
            return true;
        }
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    // a full bucket lets a burst through at once, and refuses the packet after it.
    #[test]
    fn a_full_bucket_passes_a_burst_then_refuses() {
        let now = Instant::now();
        let mut bucket = TokenBucket::full(100, 50, now);
        for i in 0..100 {
            assert!(bucket.take(now), "packet {i} of the burst");
        }
        assert!(!bucket.take(now));
    }

    // an empty bucket refills at the rate: 50 a second is one every 20 ms.
    #[test]
    fn an_empty_bucket_refills_at_the_rate() {
        let start = Instant::now();
        let mut bucket = TokenBucket::full(1, 50, start);
        assert!(bucket.take(start));
        assert!(!bucket.take(start + ms(19)), "not a whole token yet");
        assert!(bucket.take(start + ms(20)), "a token after 20 ms");
        assert!(!bucket.take(start + ms(20)));
        // Fractions carry over: 10 ms refused above, 10 more make a token.
        assert!(!bucket.take(start + ms(30)));
        assert!(bucket.take(start + ms(40)));
    }

    // the bucket never holds more than the burst, however long the session was quiet.
    #[test]
    fn a_quiet_session_saves_up_only_a_burst() {
        let start = Instant::now();
        let mut bucket = TokenBucket::full(3, 50, start);
        let later = start + Duration::from_secs(3600);
        for _ in 0..3 {
            assert!(bucket.take(later));
        }
        assert!(!bucket.take(later));
    }

    #[test]
    fn a_clock_that_goes_back_adds_nothing() {
        let start = Instant::now() + Duration::from_secs(10);
        let mut bucket = TokenBucket::full(1, 1_000, start);
        assert!(bucket.take(start));
        assert!(!bucket.take(start - Duration::from_secs(5)));
        assert!(
            !bucket.take(start),
            "going back then forward again gains nothing"
        );
        assert!(bucket.take(start + ms(1)));
    }

    #[test]
    fn huge_rates_and_gaps_do_not_overflow() {
        let start = Instant::now();
        let mut bucket = TokenBucket::full(u32::MAX, u32::MAX, start);
        let later = start + Duration::from_secs(u64::from(u32::MAX));
        for _ in 0..10 {
            assert!(bucket.take(later));
        }
    }

    // the limit of refusals within the window closes; refusals older than the window do not count.
    #[test]
    fn refusals_close_only_when_enough_fall_within_the_window() {
        let start = Instant::now();
        let mut refusals = RecentRefusals::new(3, Duration::from_secs(10));
        assert!(!refusals.refused(start));
        assert!(!refusals.refused(start + ms(1_000)));
        // The first has left the window: two within it.
        assert!(!refusals.refused(start + ms(10_000)));
        assert!(refusals.refused(start + ms(10_500)), "three within 10 s");
    }
}
