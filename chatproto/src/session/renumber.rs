//! Renumbering an encoded v5 frame: a new packet number, and its CRC-32 updated in a few table
//! look-ups instead of computed again over 337 bytes, once per session a shared message goes to.
//!
//! CRC-32 is affine: for two messages of one length, `crc(a) ^ crc(b)` depends on `a ^ b` alone, linearly.
//! Two encodings of one packet differ only in the number field (bytes 0..4), so the checksum of one
//! follows from the other's and the difference of the numbers: each byte of that difference, pushed
//! through the 333 bytes after it, changes the CRC by an amount tabulated here at compile time.
//! `wire::checksum` takes the checksum field's own contribution out of a CRC the same way.

use crate::wire::byte_change_terms;
use crate::wire::layout::{CHECKSUM_AT, FRAME_LEN, NUMBER_AT};

/// A copy of the v5 `frame`, whose checksum field holds its CRC-32, numbered `number`, with the checksum
/// to match: what encoding the packet with that number gives.
pub(super) fn numbered(frame: &[u8; FRAME_LEN], number: u32) -> [u8; FRAME_LEN] {
    let mut frame = *frame;
    renumber(&mut frame, number);
    frame
}

/// Writes `number` into the v5 `frame`, whose checksum field holds its CRC-32, and updates the checksum.
pub(super) fn renumber(frame: &mut [u8; FRAME_LEN], number: u32) {
    let field =
        |at: usize| u32::from_le_bytes([frame[at], frame[at + 1], frame[at + 2], frame[at + 3]]);
    let change = (field(NUMBER_AT) ^ number).to_le_bytes();
    let sum = field(CHECKSUM_AT)
        ^ NUMBER_TERM[0][usize::from(change[0])]
        ^ NUMBER_TERM[1][usize::from(change[1])]
        ^ NUMBER_TERM[2][usize::from(change[2])]
        ^ NUMBER_TERM[3][usize::from(change[3])];
    frame[NUMBER_AT..NUMBER_AT + 4].copy_from_slice(&number.to_le_bytes());
    frame[CHECKSUM_AT..CHECKSUM_AT + 4].copy_from_slice(&sum.to_le_bytes());
}

/// `NUMBER_TERM[i][v]`: how much byte `i` of the number field changing by `v` (xor) changes the frame's
/// CRC-32.
const NUMBER_TERM: [[u32; 256]; 4] = byte_change_terms(NUMBER_AT);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::crc32;

    #[test]
    fn renumbering_gives_the_crc_of_the_renumbered_frame() {
        let mut frame = [0u8; FRAME_LEN];
        let mut x = 0x9E37_79B9u32;
        for round in 0..500u32 {
            for b in frame.iter_mut() {
                x ^= x << 13;
                x ^= x >> 17;
                x ^= x << 5;
                *b = x as u8;
            }
            let sum = crc32(&frame);
            frame[CHECKSUM_AT..CHECKSUM_AT + 4].copy_from_slice(&sum.to_le_bytes());
            let number = x.rotate_left(round % 32);
            let renumbered = numbered(&frame, number);
            let mut expected = frame;
            expected[NUMBER_AT..NUMBER_AT + 4].copy_from_slice(&number.to_le_bytes());
            let sum = crc32(&expected);
            expected[CHECKSUM_AT..CHECKSUM_AT + 4].copy_from_slice(&sum.to_le_bytes());
            assert_eq!(renumbered, expected, "round {round}");
        }
    }
}
