//! What receivers saw in a round: a latency histogram, and each sender's sequence checked for gaps,
//! duplicates and reordering.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use hdrhistogram::Histogram;
use tokio::time::Instant;

use super::fleet::{ClientLive, RoundPlan};
use super::stamp::Stamp;

/// Latencies are recorded in µs, up to an hour.
const HIGHEST_US: u64 = 3_600_000_000;
/// Two significant digits: 1 % resolution, in 26 KiB per histogram. Every client keeps its own, so with
/// thousands of clients three digits (184 KiB each) would make the load generator's memory the story.
const SIGNIFICANT_DIGITS: u8 = 2;

/// The gaps in one sender's sequence as one receiver saw it.
#[derive(Clone, Debug, Default)]
struct SequenceTrack {
    /// The highest sequence number seen.
    highest: u32,
    /// Numbers below `highest` not seen yet, as inclusive ranges in ascending order. A reliable, ordered
    /// transport leaves this empty, so it costs nothing in the normal case.
    gaps: Vec<(u32, u32)>,
}

/// How a sequence number compares with what was seen before.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Arrival {
    /// The next one, or later (a gap opens).
    InOrder,
    /// A number that a gap was waiting for.
    Reordered,
    /// Seen before.
    Duplicate,
}

impl SequenceTrack {
    fn see(&mut self, seq: u32) -> Arrival {
        if seq > self.highest {
            if seq > self.highest + 1 {
                self.gaps.push((self.highest + 1, seq - 1));
            }
            self.highest = seq;
            return Arrival::InOrder;
        }
        let Some(at) = self
            .gaps
            .iter()
            .position(|&(lo, hi)| lo <= seq && seq <= hi)
        else {
            return Arrival::Duplicate;
        };
        let (lo, hi) = self.gaps[at];
        match (seq == lo, seq == hi) {
            (true, true) => {
                self.gaps.remove(at);
            }
            (true, false) => self.gaps[at].0 = seq + 1,
            (false, true) => self.gaps[at].1 = seq - 1,
            (false, false) => {
                self.gaps[at].1 = seq - 1;
                self.gaps.insert(at + 1, (seq + 1, hi));
            }
        }
        Arrival::Reordered
    }
}

/// Records `value` in `histogram`, creating it on first use: a client that never sends needs no send-lag
/// histogram.
fn record(histogram: &mut Option<Histogram<u64>>, value: u64) {
    histogram
        .get_or_insert_with(|| {
            Histogram::new_with_bounds(1, HIGHEST_US, SIGNIFICANT_DIGITS)
                .expect("constant histogram bounds are valid")
        })
        .saturating_record(value);
}

/// Adds `other` into `into`.
fn add(into: &mut Option<Histogram<u64>>, other: &Option<Histogram<u64>>) {
    match (into.as_mut(), other) {
        // Both have the same bounds, so adding cannot fail.
        (Some(into), Some(other)) => {
            let _ = into.add(other);
        }
        (None, Some(other)) => *into = Some(other.clone()),
        (_, None) => {}
    }
}

/// Microseconds from `from` to `to`, at least 1 (the histogram's lowest value).
fn micros(from: Instant, to: Instant) -> u64 {
    u64::try_from(to.saturating_duration_since(from).as_micros())
        .unwrap_or(u64::MAX)
        .max(1)
}

/// One receiver's round, or several merged.
#[derive(Clone, Debug)]
pub(crate) struct Tally {
    /// End-to-end latency in µs of messages meant to be sent after the warm-up.
    pub latency: Option<Histogram<u64>>,
    /// How late senders sent messages meant for the window, in µs: the load generator's own lag. Small
    /// values mean it kept its schedule and was not the bottleneck.
    pub send_lag: Option<Histogram<u64>>,
    /// Deliveries that arrived within the measured window (after the warm-up, before the end).
    pub delivered_in_window: u64,
    /// Distinct messages of this round received.
    pub unique: u64,
    /// Messages received more than once.
    pub duplicated: u64,
    /// Messages that arrived after a later message of the same sender.
    pub reordered: u64,
    /// Messages of an earlier round that arrived during this one.
    pub stale: u64,
    /// ERROR packets the server sent.
    pub errors: u64,
    /// The first ERROR's text.
    pub first_error: Option<String>,
    /// Connections that ended during the round.
    pub disconnected: u64,
    senders: Vec<SequenceTrack>,
}

impl Tally {
    /// An empty tally for a round with `senders` senders.
    pub fn new(senders: usize) -> Tally {
        Tally {
            latency: None,
            send_lag: None,
            delivered_in_window: 0,
            unique: 0,
            duplicated: 0,
            reordered: 0,
            stale: 0,
            errors: 0,
            first_error: None,
            disconnected: 0,
            senders: vec![SequenceTrack::default(); senders],
        }
    }

    /// Adds another receiver's counts (its per-sender tracks are not needed once it has reported).
    pub fn merge(&mut self, other: &Tally) {
        add(&mut self.latency, &other.latency);
        add(&mut self.send_lag, &other.send_lag);
        self.delivered_in_window += other.delivered_in_window;
        self.unique += other.unique;
        self.duplicated += other.duplicated;
        self.reordered += other.reordered;
        self.stale += other.stale;
        self.errors += other.errors;
        if self.first_error.is_none() {
            self.first_error.clone_from(&other.first_error);
        }
        self.disconnected += other.disconnected;
    }

    /// Notes that a message meant for `intended` was sent at `sent`, if it was meant for the window.
    pub fn sent(&mut self, plan: &RoundPlan, intended: Instant, sent: Instant) {
        if intended >= plan.warm_end {
            record(&mut self.send_lag, micros(intended, sent));
        }
    }

    /// Notes an ERROR from the server.
    pub fn error(&mut self, text: &str) {
        self.errors += 1;
        if self.first_error.is_none() {
            self.first_error = Some(text.to_owned());
        }
    }
}

/// A receiver: the round under way and its tally so far.
#[derive(Debug)]
pub(crate) struct Receiving {
    plan: Option<Arc<RoundPlan>>,
    /// This round's tally.
    pub tally: Tally,
}

impl Receiving {
    /// Between rounds.
    pub fn new(senders: usize) -> Receiving {
        Receiving {
            plan: None,
            tally: Tally::new(senders),
        }
    }

    /// A round begins: a fresh tally.
    pub fn begin(&mut self, plan: Arc<RoundPlan>) {
        self.tally = Tally::new(plan.senders);
        self.plan = Some(plan);
    }

    /// The round's tally, leaving an empty one.
    pub fn take(&mut self) -> Tally {
        let senders = self.tally.senders.len();
        std::mem::replace(&mut self.tally, Tally::new(senders))
    }

    /// A message's text arrived at `now`. Texts that are not load messages are ignored.
    pub fn on_text(&mut self, text: &[u8], now: Instant, live: &ClientLive) {
        let Some(stamp) = Stamp::parse(text) else {
            return;
        };
        let Some(plan) = &self.plan else {
            self.tally.stale += 1;
            return;
        };
        if stamp.round != plan.round {
            self.tally.stale += 1;
            return;
        }
        let Some(track) = self.tally.senders.get_mut(stamp.sender as usize) else {
            return;
        };
        live.delivered.fetch_add(1, Ordering::Relaxed);
        match track.see(stamp.seq) {
            Arrival::Duplicate => {
                self.tally.duplicated += 1;
                return;
            }
            Arrival::Reordered => self.tally.reordered += 1,
            Arrival::InOrder => {}
        }
        self.tally.unique += 1;
        live.unique.fetch_add(1, Ordering::Relaxed);
        if now >= plan.warm_end && now < plan.end {
            self.tally.delivered_in_window += 1;
        }
        let intended = plan.epoch + std::time::Duration::from_micros(stamp.intended_us);
        if intended >= plan.warm_end {
            record(&mut self.tally.latency, micros(intended, now));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn in_order_sequences_leave_no_gaps() {
        let mut track = SequenceTrack::default();
        for seq in 1..=1000 {
            assert_eq!(track.see(seq), Arrival::InOrder);
        }
        assert!(track.gaps.is_empty());
        assert_eq!(track.see(500), Arrival::Duplicate);
    }

    #[test]
    fn late_numbers_fill_their_gaps_and_repeats_are_duplicates() {
        let mut track = SequenceTrack::default();
        assert_eq!(track.see(1), Arrival::InOrder);
        assert_eq!(track.see(6), Arrival::InOrder);
        assert_eq!(track.gaps, vec![(2, 5)]);
        assert_eq!(track.see(4), Arrival::Reordered);
        assert_eq!(track.gaps, vec![(2, 3), (5, 5)]);
        assert_eq!(track.see(4), Arrival::Duplicate);
        for seq in [2, 5, 3] {
            assert_eq!(track.see(seq), Arrival::Reordered);
        }
        assert!(track.gaps.is_empty());
        assert_eq!(track.see(3), Arrival::Duplicate);
    }
}
