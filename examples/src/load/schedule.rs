//! A sender's open-loop schedule: message `i` is due at `start + offset + i / rate`, whatever happened to the
//! messages before it.

use std::time::Duration;

use tokio::time::Instant;

/// When each of one sender's messages is due in a round.
#[derive(Clone, Debug)]
pub(crate) struct Schedule {
    first: Instant,
    interval: Duration,
    end: Instant,
    /// Messages handed out so far; the next one has sequence number `sent + 1`.
    sent: u32,
}

impl Schedule {
    /// `rate` messages a second from `start` until `end`. The `slot`-th of `slots` senders is offset by
    /// that fraction of an interval, so that K senders together send evenly rather than in bursts of K.
    pub fn new(start: Instant, end: Instant, rate: f64, slot: usize, slots: usize) -> Schedule {
        // A rate too small to express means nothing is due before the end. A long interval is kept as it
        // is: with many slow senders, only those whose offset falls within the round send in it.
        let never = end.saturating_duration_since(start) + Duration::from_secs(1);
        let interval = Duration::try_from_secs_f64(1.0 / rate)
            .ok()
            .filter(|i| !i.is_zero() && i.as_secs() < 1 << 40)
            .unwrap_or(never);
        let offset = interval.mul_f64(slot as f64 / slots.max(1) as f64);
        Schedule {
            first: start + offset,
            interval,
            end,
            sent: 0,
        }
    }

    /// When the next message is due, or `None` once the round's schedule is over.
    pub fn next_due(&self) -> Option<Instant> {
        let due = self.first + self.interval.saturating_mul(self.sent);
        (due < self.end).then_some(due)
    }

    /// Takes the next message if it is due at `now`: its sequence number and intended time.
    pub fn take_due(&mut self, now: Instant) -> Option<(u32, Instant)> {
        let due = self.next_due()?;
        if due > now {
            return None;
        }
        self.sent += 1;
        Some((self.sent, due))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_are_due_at_fixed_intervals_and_late_ones_keep_their_time() {
        let start = Instant::now();
        let end = start + Duration::from_secs(1);
        let mut schedule = Schedule::new(start, end, 10.0, 0, 1);
        assert_eq!(schedule.take_due(start), Some((1, start)));
        assert_eq!(schedule.take_due(start), None);
        // Half a second late: five messages are due at once, each with the time it was meant for.
        let late = start + Duration::from_millis(500);
        let due: Vec<_> = std::iter::from_fn(|| schedule.take_due(late)).collect();
        assert_eq!(due.len(), 5);
        assert_eq!(due[0], (2, start + Duration::from_millis(100)));
        assert_eq!(due[4], (6, late));
        let rest = std::iter::from_fn(|| schedule.take_due(end)).count();
        assert_eq!(rest, 4, "nothing is due at or after the end");
        assert_eq!(schedule.sent, 10);
        assert_eq!(schedule.next_due(), None);
    }

    #[test]
    fn many_slow_senders_add_up_to_the_total_rate() {
        // 1,000 senders at 10 messages a second in all: one each per 100 s, so 25 of them send in 2.5 s.
        let start = Instant::now();
        let end = start + Duration::from_millis(2500);
        let sent: usize = (0..1000)
            .map(|slot| {
                let mut schedule = Schedule::new(start, end, 0.01, slot, 1000);
                std::iter::from_fn(|| schedule.take_due(end)).count()
            })
            .sum();
        assert_eq!(sent, 25);
    }

    #[test]
    fn senders_are_spread_over_the_interval() {
        let start = Instant::now();
        let end = start + Duration::from_secs(1);
        let second = Schedule::new(start, end, 4.0, 1, 2);
        assert_eq!(second.next_due(), Some(start + Duration::from_millis(125)));
    }
}
