//! [`RetransmitTimer`]: the retransmission timeout from measured round trips (RFC 6298).

use std::time::Duration;

/// Smoothed round-trip time and the retransmission timeout derived from it.
///
/// RFC 6298: the first sample R sets SRTT = R and RTTVAR = R/2; later ones update
/// RTTVAR = ¾·RTTVAR + ¼·|SRTT − R| and SRTT = ⅞·SRTT + ⅛·R; RTO = SRTT + max(G, 4·RTTVAR), kept within
/// the configured bounds. Each expiry doubles the timeout (exponential backoff) until a new sample arrives.
/// Karn's rule, that a retransmitted packet gives no sample, is the caller's (see `SendBuffer`).
#[derive(Clone, Debug)]
pub struct RetransmitTimer {
    srtt: Option<Duration>,
    rttvar: Duration,
    base: Duration,
    backoff: u32,
    min: Duration,
    max: Duration,
}

/// Clock granularity G of RFC 6298: the resolution the timeout is rounded to.
const GRANULARITY: Duration = Duration::from_millis(1);

impl RetransmitTimer {
    /// A timer starting at `initial`, always kept within `min..=max`.
    pub fn new(initial: Duration, min: Duration, max: Duration) -> RetransmitTimer {
        RetransmitTimer {
            srtt: None,
            rttvar: Duration::ZERO,
            base: initial,
            backoff: 0,
            min,
            max,
        }
    }

    /// Takes one round-trip sample and resets the backoff.
    pub fn on_sample(&mut self, rtt: Duration) {
        match self.srtt {
            None => {
                self.srtt = Some(rtt);
                self.rttvar = rtt / 2;
            }
            Some(srtt) => {
                let delta = srtt.abs_diff(rtt);
                self.rttvar = self.rttvar * 3 / 4 + delta / 4;
                self.srtt = Some(srtt * 7 / 8 + rtt / 8);
            }
        }
        let srtt = self.srtt.unwrap_or(rtt);
        self.base = srtt + GRANULARITY.max(self.rttvar * 4);
        self.backoff = 0;
    }

    /// The timeout expired: double it (up to the maximum).
    pub fn on_expiry(&mut self) {
        self.backoff = (self.backoff + 1).min(16);
    }

    /// The current timeout.
    pub fn rto(&self) -> Duration {
        let backed_off = self.base.saturating_mul(1 << self.backoff);
        backed_off.clamp(self.min, self.max)
    }

    /// The smoothed round-trip time, once measured.
    pub fn srtt(&self) -> Option<Duration> {
        self.srtt
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn first_sample_follows_rfc6298() {
        let mut timer = RetransmitTimer::new(ms(1000), ms(10), ms(60_000));
        assert_eq!(timer.rto(), ms(1000));
        timer.on_sample(ms(100));
        // SRTT = 100, RTTVAR = 50, RTO = 100 + 4 × 50.
        assert_eq!(timer.srtt(), Some(ms(100)));
        assert_eq!(timer.rto(), ms(300));
    }

    #[test]
    fn later_samples_smooth() {
        let mut timer = RetransmitTimer::new(ms(1000), ms(1), ms(60_000));
        timer.on_sample(ms(100));
        timer.on_sample(ms(200));
        // RTTVAR = ¾·50 + ¼·100 = 62.5; SRTT = ⅞·100 + ⅛·200 = 112.5; RTO = 112.5 + 250.
        assert_eq!(timer.srtt(), Some(Duration::from_micros(112_500)));
        assert_eq!(timer.rto(), Duration::from_micros(362_500));
    }

    #[test]
    fn backoff_doubles_within_bounds_and_a_sample_resets_it() {
        let mut timer = RetransmitTimer::new(ms(100), ms(50), ms(1000));
        timer.on_expiry();
        assert_eq!(timer.rto(), ms(200));
        timer.on_expiry();
        timer.on_expiry();
        timer.on_expiry();
        assert_eq!(timer.rto(), ms(1000), "capped at the maximum");
        timer.on_sample(ms(4));
        // 4 + 4 × 2 = 12 ms, raised to the 50 ms minimum.
        assert_eq!(timer.rto(), ms(50));
    }
}
