//! [`ReceiveBuffer`]: duplicate suppression and in-order delivery within a window.

use std::collections::BTreeMap;

use crate::wire::Packet;

/// What became of a received data packet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Arrival {
    /// New, and the next in order: deliver it now, then whatever [`ReceiveBuffer::pop_ready`] gives.
    /// Confirm it. Not held: the common case costs no copy.
    InOrder,
    /// New, ahead of a gap: held until the gap fills. Confirm it.
    Accepted,
    /// Seen before: dropped. Confirm it again, since the sender evidently missed the confirmation.
    Duplicate,
    /// Too far ahead of the next expected number: dropped unconfirmed, so the sender will retransmit.
    BeyondWindow,
}

/// The receiver's half of a session.
#[derive(Debug)]
pub struct ReceiveBuffer {
    next_expected: u32,
    window: u32,
    /// Packets that arrived ahead of a gap, fewer than `window` of them.
    ahead: BTreeMap<u32, Packet>,
}

impl ReceiveBuffer {
    pub fn new(window: u32) -> ReceiveBuffer {
        ReceiveBuffer {
            next_expected: 1,
            window: window.max(1),
            ahead: BTreeMap::new(),
        }
    }

    /// Packets held.
    pub fn held(&self) -> usize {
        self.ahead.len()
    }

    /// Files one data packet by its number.
    pub fn on_data(&mut self, packet: &Packet) -> Arrival {
        let number = packet.number();
        let offset = number.wrapping_sub(self.next_expected);
        // Numbers below the next expected one wrap to huge offsets: they are duplicates.
        if offset >= u32::MAX / 2 {
            return Arrival::Duplicate;
        }
        if offset >= self.window {
            return Arrival::BeyondWindow;
        }
        if offset == 0 {
            self.next_expected = self.next_expected.wrapping_add(1);
            return Arrival::InOrder;
        }
        if self.ahead.contains_key(&number) {
            return Arrival::Duplicate;
        }
        self.ahead.insert(number, *packet);
        Arrival::Accepted
    }

    /// The number of the next packet to deliver.
    pub fn next_expected(&self) -> u32 {
        self.next_expected
    }

    /// Whether `number` has been accepted already (delivered, or held).
    pub fn has_seen(&self, number: u32) -> bool {
        let offset = number.wrapping_sub(self.next_expected);
        offset >= u32::MAX / 2 || self.ahead.contains_key(&number)
    }

    /// The next held packet in order, if it has arrived.
    pub fn pop_ready(&mut self) -> Option<Packet> {
        let packet = self.ahead.remove(&self.next_expected)?;
        self.next_expected = self.next_expected.wrapping_add(1);
        Some(packet)
    }
}
