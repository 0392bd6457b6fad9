//! [`SendBuffer`]: numbering, the send window, and retransmission of unconfirmed packets (R-7.2 … ).

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use crate::wire::Packet;
use crate::FRAME_LEN;

/// Packets confirmed this many numbers past an unconfirmed one mark it lost (as QUIC's packet threshold).
const REORDER_THRESHOLD: u32 = 3;

/// One numbered data packet, from the moment it enters the window until it is confirmed.
#[derive(Debug)]
struct Slot {
    number: u32,
    frame: [u8; FRAME_LEN],
    /// When it was last transmitted; `None` until the first time.
    sent_at: Option<Instant>,
    transmissions: u32,
    confirmed: bool,
    /// Waiting in `to_transmit`, so it is not queued twice.
    queued: bool,
}

/// What a CONFIRM did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConfirmOutcome {
    /// It confirmed a packet in flight for the first time.
    New {
        /// A round-trip sample, unless the packet was retransmitted (Karn's rule).
        rtt: Option<Duration>,
    },
    /// It referred to nothing in flight: already confirmed, or never sent.
    Stale,
}

/// The sender's half of a session.
#[derive(Debug)]
pub struct SendBuffer {
    next_number: u32,
    window: u32,
    capacity: usize,
    /// Numbered and encoded, waiting for the window to open.
    waiting: VecDeque<(u32, [u8; FRAME_LEN])>,
    /// The window: consecutive numbers from the oldest unconfirmed one.
    in_flight: VecDeque<Slot>,
    /// Numbers to (re)transmit, oldest first.
    to_transmit: VecDeque<u32>,
    /// Probes of a blocked window since the last new confirmation; each doubles the probe timeout.
    probes: u32,
}

impl SendBuffer {
    pub fn new(window: u32, capacity: usize) -> SendBuffer {
        SendBuffer {
            next_number: 1,
            window: window.max(1),
            capacity,
            waiting: VecDeque::new(),
            in_flight: VecDeque::new(),
            to_transmit: VecDeque::new(),
            probes: 0,
        }
    }

    /// Packets accepted and not yet confirmed.
    pub fn outstanding(&self) -> usize {
        self.waiting.len() + self.in_flight.len()
    }

    /// Room left for new packets before `push` refuses.
    pub fn room(&self) -> usize {
        self.capacity.saturating_sub(self.waiting.len())
    }

    /// Numbers and queues one data packet. The caller has checked `room`.
    pub fn push(&mut self, packet: Packet) -> u32 {
        let number = self.next_number;
        self.next_number = self.next_number.wrapping_add(1);
        self.waiting
            .push_back((number, packet.with_number(number).encode()));
        self.fill_window();
        number
    }

    fn fill_window(&mut self) {
        while self.in_flight.len() < self.window as usize {
            let Some((number, frame)) = self.waiting.pop_front() else {
                break;
            };
            self.in_flight.push_back(Slot {
                number,
                frame,
                sent_at: None,
                transmissions: 0,
                confirmed: false,
                queued: true,
            });
            self.to_transmit.push_back(number);
        }
    }

    fn slot_mut(&mut self, number: u32) -> Option<&mut Slot> {
        let front = self.in_flight.front()?.number;
        let index = number.wrapping_sub(front) as usize;
        self.in_flight
            .get_mut(index)
            .filter(|slot| slot.number == number)
    }

    /// The next frame to put on the wire, if any.
    pub fn poll_transmit(&mut self, now: Instant) -> Option<[u8; FRAME_LEN]> {
        while let Some(number) = self.to_transmit.pop_front() {
            let Some(slot) = self.slot_mut(number) else {
                continue;
            };
            slot.queued = false;
            if slot.confirmed {
                continue;
            }
            slot.sent_at = Some(now);
            slot.transmissions += 1;
            return Some(slot.frame);
        }
        None
    }

    /// Handles CONFIRM(`number`).
    pub fn on_confirm(&mut self, number: u32, now: Instant) -> ConfirmOutcome {
        let Some(slot) = self.slot_mut(number) else {
            return ConfirmOutcome::Stale;
        };
        if slot.confirmed || slot.sent_at.is_none() {
            return ConfirmOutcome::Stale;
        }
        slot.confirmed = true;
        // Karn's rule: a retransmitted packet's confirmation could answer any of its copies.
        let rtt = match (slot.transmissions, slot.sent_at) {
            (1, Some(sent)) => Some(now.saturating_duration_since(sent)),
            _ => None,
        };
        let confirmed_sent_at = slot.sent_at;
        self.probes = 0;
        self.detect_losses(number, confirmed_sent_at);
        while self.in_flight.front().is_some_and(|slot| slot.confirmed) {
            self.in_flight.pop_front();
        }
        self.fill_window();
        ConfirmOutcome::New { rtt }
    }

    /// a packet sent before one confirmed `REORDER_THRESHOLD` numbers later is taken as lost and
    /// retransmitted at once, without waiting for the timer.
    fn detect_losses(&mut self, confirmed: u32, confirmed_sent_at: Option<Instant>) {
        let Some(confirmed_sent_at) = confirmed_sent_at else {
            return;
        };
        for slot in &mut self.in_flight {
            if slot.number.wrapping_add(REORDER_THRESHOLD) > confirmed {
                break;
            }
            if !slot.confirmed
                && !slot.queued
                && slot.sent_at.is_some_and(|sent| sent < confirmed_sent_at)
            {
                slot.queued = true;
                self.to_transmit.push_back(slot.number);
            }
        }
    }

    /// Handles RESEND(`number`): retransmit it now, if it is still unconfirmed.
    pub fn on_resend(&mut self, number: u32) -> bool {
        let Some(slot) = self.slot_mut(number) else {
            return false;
        };
        if slot.confirmed || slot.queued {
            return false;
        }
        slot.queued = true;
        self.to_transmit.push_back(number);
        true
    }

    /// Queues every packet unconfirmed for `rto` since its last transmission. Returns how many.
    pub fn on_timeout(&mut self, now: Instant, rto: Duration) -> usize {
        let mut expired = 0;
        for slot in &mut self.in_flight {
            if slot.confirmed || slot.queued {
                continue;
            }
            if slot.sent_at.is_some_and(|sent| sent + rto <= now) {
                slot.queued = true;
                self.to_transmit.push_back(slot.number);
                expired += 1;
            }
        }
        expired
    }

    /// When to probe a blocked window: it is full, and its oldest packet, already retransmitted, is still
    /// unconfirmed. Nothing newer can be sent, so no later confirmation can show that the retransmission was
    /// lost too; without a probe only the RTO, floored at `min_rto`, recovers it. The timeout
    /// doubles with each probe that brings no new confirmation.
    pub fn probe_deadline(&self, pto: Duration) -> Option<Instant> {
        if self.in_flight.len() < self.window as usize {
            return None;
        }
        let head = self.in_flight.front()?;
        if head.confirmed || head.queued || head.transmissions < 2 {
            return None;
        }
        Some(head.sent_at? + pto.saturating_mul(1 << self.probes.min(16)))
    }

    /// Retransmits the oldest packet of a blocked window if its probe is due (see `probe_deadline`).
    pub fn on_probe(&mut self, now: Instant, pto: Duration) -> bool {
        if self.probe_deadline(pto).is_none_or(|at| at > now) {
            return false;
        }
        let Some(head) = self.in_flight.front_mut() else {
            return false;
        };
        head.queued = true;
        let number = head.number;
        self.to_transmit.push_back(number);
        self.probes += 1;
        true
    }

    /// When the oldest transmission still unconfirmed times out.
    pub fn next_timeout(&self, rto: Duration) -> Option<Instant> {
        self.in_flight
            .iter()
            .filter(|slot| !slot.confirmed && !slot.queued)
            .filter_map(|slot| slot.sent_at)
            .min()
            .map(|sent| sent + rto)
    }
}
