//! Serializing a [`Packet`] into its 337-byte frame (PROTOCOL.md §2 and §3).

use bytes::BufMut;

use super::checksum;
use super::dialect::Dialect;
use super::layout::{
    CHECKSUM_AT, FLAGS_AT, FRAME_LEN, FROM_AT, NAME_LEN, NUMBER_AT, TEXT_AT, TEXT_LEN, TO_AT,
    VERB_AT, VERSION_AT,
};
use super::packet::Packet;

impl Packet {
    /// The frame, on the stack.
    pub fn encode(&self) -> [u8; FRAME_LEN] {
        let mut frame = [0; FRAME_LEN];
        self.encode_into(&mut frame);
        frame
    }

    /// Writes the frame into `frame`, overwriting all 337 bytes. Allocates nothing.
    pub fn encode_into(&self, frame: &mut [u8; FRAME_LEN]) {
        // integers little-endian, fields in order, no separators.
        frame[NUMBER_AT..NUMBER_AT + 4].copy_from_slice(&self.number().to_le_bytes());
        frame[VERSION_AT..VERSION_AT + 4].copy_from_slice(&self.dialect().version().to_le_bytes());
        // names and text are NUL-padded to their width; the fields hold their padding already.
        frame[FROM_AT..FROM_AT + NAME_LEN].copy_from_slice(self.from().padded());
        frame[TO_AT..TO_AT + NAME_LEN].copy_from_slice(self.to().padded());
        frame[VERB_AT..VERB_AT + 4].copy_from_slice(&self.verb().to_u32().to_le_bytes());
        frame[FLAGS_AT] = self.flags().bits();
        frame[TEXT_AT..TEXT_AT + TEXT_LEN].copy_from_slice(self.text().padded());
        let sum = match self.dialect() {
            // the code-point sum of the text as sent.
            Dialect::Legacy => checksum::legacy(self.text().as_str()),
            // CRC-32 over the frame with the checksum field zero (`crc32` ignores that field).
            Dialect::V5 => checksum::crc32(frame),
        };
        frame[CHECKSUM_AT..CHECKSUM_AT + 4].copy_from_slice(&sum.to_le_bytes());
    }

    /// Appends the frame to `buf`.
    pub fn encode_to<B: BufMut>(&self, buf: &mut B) {
        buf.put_slice(&self.encode());
    }
}
