//! [`SendBuffer`]: numbering, the send window, and retransmission of unconfirmed packets (R-7.2 … ).

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::wire::Packet;
use crate::FRAME_LEN;

use super::idle::release;
use super::renumber::renumber;
use super::shared::Frames;

/// Packets confirmed this many numbers past an unconfirmed one mark it lost (as QUIC's packet threshold).
const REORDER_THRESHOLD: u32 = 3;

/// A data packet's frame, as the buffer keeps it until the peer confirms it.
#[derive(Debug)]
enum Frame {
    /// Encoded by this session, its number included. Boxed, so that a long queue of packets costs a
    /// pointer each, not a frame each, until they are sent.
    Own(Box<[u8; FRAME_LEN]>),
    /// A frame of a message shared with other sessions, numbered as it goes out: the bytes are shared,
    /// not copied (see `SharedMessage`).
    Shared(Frames, usize),
}

impl Frame {
    /// Writes the bytes to put on the wire as packet `number` into `out`. Returns false only if a shared
    /// frame is missing, which its construction rules out.
    fn encode_into(&self, number: u32, out: &mut [u8; FRAME_LEN]) -> bool {
        match self {
            Frame::Own(frame) => *out = **frame,
            Frame::Shared(frames, index) => {
                let Some(frame) = frames.get(*index) else {
                    return false;
                };
                *out = *frame;
                renumber(out, number);
            }
        }
        true
    }
}

/// A numbered data packet waiting for the window to open.
#[derive(Debug)]
struct Queued {
    number: u32,
    frame: Frame,
    report: bool,
}

/// One numbered data packet, from the moment it enters the window until it is confirmed.
#[derive(Debug)]
struct Slot {
    number: u32,
    frame: Frame,
    /// Whether its confirmation is reported to the application.
    report: bool,
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
        /// Whether the application wants to hear of it.
        report: bool,
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
    /// Numbered, waiting for the window to open.
    waiting: VecDeque<Queued>,
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
        self.push_with(true, |number| {
            Frame::Own(Box::new(packet.with_number(number).encode()))
        })
    }

    /// Numbers and queues frame `index` of a message shared with other sessions, encoded with any
    /// number; `report` says whether its confirmation is reported. The caller has checked `room`.
    pub fn push_shared(&mut self, frames: &Frames, index: usize, report: bool) -> u32 {
        self.push_with(report, |_| Frame::Shared(Arc::clone(frames), index))
    }

    fn push_with(&mut self, report: bool, frame: impl FnOnce(u32) -> Frame) -> u32 {
        let number = self.next_number;
        self.next_number = self.next_number.wrapping_add(1);
        self.waiting.push_back(Queued {
            number,
            frame: frame(number),
            report,
        });
        self.fill_window();
        number
    }

    fn fill_window(&mut self) {
        while self.in_flight.len() < self.window as usize {
            let Some(Queued {
                number,
                frame,
                report,
            }) = self.waiting.pop_front()
            else {
                break;
            };
            self.in_flight.push_back(Slot {
                number,
                frame,
                report,
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

    /// Writes the next frame to put on the wire into `out`. Returns whether there was one.
    pub fn poll_transmit_into(&mut self, now: Instant, out: &mut [u8; FRAME_LEN]) -> bool {
        while let Some(number) = self.to_transmit.pop_front() {
            let Some(slot) = self.slot_mut(number) else {
                continue;
            };
            slot.queued = false;
            if slot.confirmed || !slot.frame.encode_into(number, out) {
                continue;
            }
            slot.sent_at = Some(now);
            slot.transmissions += 1;
            return true;
        }
        false
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
        let report = slot.report;
        self.probes = 0;
        self.detect_losses(number, confirmed_sent_at);
        while self.in_flight.front().is_some_and(|slot| slot.confirmed) {
            self.in_flight.pop_front();
        }
        self.fill_window();
        ConfirmOutcome::New { rtt, report }
    }

    /// a packet sent before one confirmed `REORDER_THRESHOLD` numbers later is taken as lost and
    /// retransmitted at once, without waiting for the timer.
    fn detect_losses(&mut self, confirmed: u32, confirmed_sent_at: Option<Instant>) {
        let Some(confirmed_sent_at) = confirmed_sent_at else {
            return;
        };
        let full = self.in_flight.len() >= self.window as usize;
        let mut oldest = true;
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
                // The oldest packet of a full window: until it is confirmed nothing new can be sent, so no
                // later confirmation could show that this retransmission was lost too, and only
                // the probe timer would recover it, stalling the session meanwhile. Sent twice, it stalls
                // only if both copies are lost.
                if oldest && full {
                    self.to_transmit.push_back(slot.number);
                }
            }
            oldest &= slot.confirmed;
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
        // Twice, for the reason `detect_losses` sends a blocking packet twice: a lost probe means another
        // probe timeout, twice as long, with the window still blocked.
        self.to_transmit.push_back(number);
        self.to_transmit.push_back(number);
        self.probes += 1;
        true
    }

    /// Gives back the memory of the queues, as far as they are empty.
    pub fn release_memory(&mut self) {
        release(&mut self.waiting);
        release(&mut self.in_flight);
        release(&mut self.to_transmit);
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::{Dialect, Name, Text, Verb};

    /// A buffer with `window`, holding packets 1..=4, packet 1 sent at `t0` and the others 1 ms later.
    fn four_sent(window: u32, t0: Instant) -> SendBuffer {
        let packet = Packet::new(
            Dialect::V5,
            Verb::BROADCAST,
            Name::new("ann").unwrap(),
            Name::ALL,
            Text::EMPTY,
        )
        .unwrap();
        let mut buffer = SendBuffer::new(window, 16);
        for _ in 0..4 {
            buffer.push(packet);
        }
        let mut frame = [0; FRAME_LEN];
        assert!(buffer.poll_transmit_into(t0, &mut frame));
        for _ in 0..3 {
            assert!(buffer.poll_transmit_into(t0 + Duration::from_millis(1), &mut frame));
        }
        buffer
    }

    fn transmitted(buffer: &mut SendBuffer, now: Instant) -> Vec<u32> {
        let mut frame = [0; FRAME_LEN];
        std::iter::from_fn(|| {
            buffer
                .poll_transmit_into(now, &mut frame)
                .then(|| Packet::decode(&frame).unwrap().number())
        })
        .collect()
    }

    #[test]
    fn the_oldest_packet_of_a_full_window_is_retransmitted_twice() {
        // Packet 1 is lost; 4 is confirmed, 3 numbers later. With the window full, nothing new
        // can go out until 1 is confirmed, so its retransmission goes twice.
        let t0 = Instant::now();
        let mut full = four_sent(4, t0);
        full.on_confirm(4, t0 + Duration::from_millis(2));
        assert_eq!(
            transmitted(&mut full, t0 + Duration::from_millis(2)),
            [1, 1]
        );
        // With room in the window, once.
        let mut roomy = four_sent(8, t0);
        roomy.on_confirm(4, t0 + Duration::from_millis(2));
        assert_eq!(transmitted(&mut roomy, t0 + Duration::from_millis(2)), [1]);
    }
}
