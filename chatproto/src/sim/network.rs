//! [`SimPair`]: two sessions joined by faulty links in simulated time, with no sockets and no clock.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::time::{Duration, Instant};

use crate::session::{Event, Session};
use crate::FRAME_LEN;

use super::faults::{FaultConfig, Faults};

/// One direction of the simulated network: frames in flight, ordered by arrival time.
#[derive(Debug)]
struct Link {
    faults: Faults,
    /// (arrival, tie-breaker, frame); the tie-breaker keeps equal arrivals in sending order.
    in_flight: BinaryHeap<Reverse<(Instant, u64, [u8; FRAME_LEN])>>,
    sent: u64,
}

impl Link {
    fn send(&mut self, now: Instant, mut frame: [u8; FRAME_LEN]) {
        let fate = self.faults.fate(frame.len());
        for (i, delay) in fate.copies.iter().enumerate() {
            if i == 0 {
                Faults::damage(&fate, &mut frame);
            }
            self.sent += 1;
            self.in_flight
                .push(Reverse((now + *delay, self.sent, frame)));
        }
    }

    fn next_arrival(&self) -> Option<Instant> {
        self.in_flight.peek().map(|Reverse((at, _, _))| *at)
    }

    fn pop_due(&mut self, now: Instant) -> Option<[u8; FRAME_LEN]> {
        if self.next_arrival()? <= now {
            self.in_flight.pop().map(|Reverse((_, _, frame))| frame)
        } else {
            None
        }
    }
}

/// Two sessions, `a` and `b`, stepped in simulated time over links that lose, duplicate, reorder, delay
/// and corrupt frames as seeded [`Faults`] decide. The same seeds always give the same run.
///
/// ```
/// use std::time::{Duration, Instant};
/// use chatproto::session::{Event, Role, Session, SessionConfig};
/// use chatproto::sim::{FaultConfig, SimPair};
/// use chatproto::{Dialect, Message, Name, Verb};
///
/// let start = Instant::now();
/// let a = Session::new(Role::Client, Some(Dialect::V5), SessionConfig::default(), start);
/// let b = Session::new(Role::Server, None, SessionConfig::default(), start);
/// let network = FaultConfig::hostile(Duration::from_millis(5));
/// let mut pair = SimPair::new(a, b, network, 7, start);
///
/// pair.a.send(&Message::new(Verb::BROADCAST, Name::new("ann")?, Name::ALL, "hi"))?;
/// let mut got = Vec::new();
/// pair.run_until(Duration::from_secs(5), |_, b_events| {
///     got.extend(b_events.iter().cloned());
///     got.iter().any(|e| matches!(e, Event::Message(_)))
/// });
/// assert!(matches!(&got[..], [.., Event::Message(m)] if m.text == "hi"));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct SimPair {
    /// One end.
    pub a: Session,
    /// The other end.
    pub b: Session,
    a_to_b: Link,
    b_to_a: Link,
    now: Instant,
}

impl SimPair {
    /// Joins `a` and `b`. Each direction gets its own fault stream, derived from `seed`.
    pub fn new(a: Session, b: Session, network: FaultConfig, seed: u64, now: Instant) -> SimPair {
        let link = |seed| Link {
            faults: Faults::new(network.clone(), seed),
            in_flight: BinaryHeap::new(),
            sent: 0,
        };
        SimPair {
            a,
            b,
            a_to_b: link(seed.wrapping_mul(2)),
            b_to_a: link(seed.wrapping_mul(2) + 1),
            now,
        }
    }

    /// The simulated time.
    pub fn now(&self) -> Instant {
        self.now
    }

    /// Frames in flight in both directions.
    pub fn in_flight(&self) -> usize {
        self.a_to_b.in_flight.len() + self.b_to_a.in_flight.len()
    }

    /// Moves every frame each session wants to send onto its link.
    fn flush(&mut self) {
        while let Some(frame) = self.a.poll_transmit(self.now) {
            self.a_to_b.send(self.now, frame);
        }
        while let Some(frame) = self.b.poll_transmit(self.now) {
            self.b_to_a.send(self.now, frame);
        }
    }

    /// Advances to the next thing that happens (a frame arriving or a timer), handles it, and returns the
    /// events each side produced. Returns `None` when nothing will ever happen again.
    pub fn step(&mut self) -> Option<(Vec<Event>, Vec<Event>)> {
        self.flush();
        let next = [
            self.a_to_b.next_arrival(),
            self.b_to_a.next_arrival(),
            self.a.poll_timeout(),
            self.b.poll_timeout(),
        ]
        .into_iter()
        .flatten()
        .min()?;
        self.now = self.now.max(next);
        while let Some(frame) = self.a_to_b.pop_due(self.now) {
            self.b.handle_frame(self.now, &frame);
        }
        while let Some(frame) = self.b_to_a.pop_due(self.now) {
            self.a.handle_frame(self.now, &frame);
        }
        if self.a.poll_timeout().is_some_and(|t| t <= self.now) {
            self.a.handle_timeout(self.now);
        }
        if self.b.poll_timeout().is_some_and(|t| t <= self.now) {
            self.b.handle_timeout(self.now);
        }
        self.flush();
        let drain = |s: &mut Session| std::iter::from_fn(|| s.poll_event()).collect::<Vec<_>>();
        Some((drain(&mut self.a), drain(&mut self.b)))
    }

    /// Steps until `done` (given each step's events of `a` and of `b`) returns true, or until `limit` of
    /// simulated time has passed. Returns whether `done` was reached.
    pub fn run_until(
        &mut self,
        limit: Duration,
        mut done: impl FnMut(&[Event], &[Event]) -> bool,
    ) -> bool {
        let deadline = self.now + limit;
        while self.now < deadline {
            let Some((a_events, b_events)) = self.step() else {
                return false;
            };
            if done(&a_events, &b_events) {
                return true;
            }
        }
        false
    }
}
