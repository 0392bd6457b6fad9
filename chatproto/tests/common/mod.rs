//! Helpers shared by the integration tests: the frame layout and both checksums written out again from
//! PROTOCOL.md, independently of the crate, so tests can build and repair frames by hand.

// Each test file uses a different subset of these helpers.
#![allow(dead_code)]

use chatproto::{Dialect, Name, Packet, Text, Verb};

/// every frame is 337 bytes.
pub const FRAME_LEN: usize = 337;
/// field offsets, little-endian integers, no padding between fields.
pub const NUMBER_AT: usize = 0;
pub const VERSION_AT: usize = 4;
pub const FROM_AT: usize = 8;
pub const TO_AT: usize = 40;
pub const VERB_AT: usize = 72;
pub const CHECKSUM_AT: usize = 76;
pub const FLAGS_AT: usize = 80;
pub const TEXT_AT: usize = 81;
pub const NAME_LEN: usize = 32;
pub const TEXT_LEN: usize = 256;

/// A plain bitwise CRC-32 (IEEE, reflected, as zlib), the reference for.
pub fn reference_crc32(bytes: impl IntoIterator<Item = u8>) -> u32 {
    let mut crc = !0u32;
    for byte in bytes {
        crc ^= u32::from(byte);
        for _ in 0..8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

/// the CRC-32 of the frame with its checksum field read as zero.
pub fn frame_crc(frame: &[u8; FRAME_LEN]) -> u32 {
    reference_crc32(frame.iter().enumerate().map(|(i, &b)| {
        if (CHECKSUM_AT..CHECKSUM_AT + 4).contains(&i) {
            0
        } else {
            b
        }
    }))
}

/// with: the code-point sum of the text field without its trailing NULs, or `None` if that is
/// not UTF-8.
pub fn legacy_sum(text_field: &[u8]) -> Option<u32> {
    let end = text_field
        .iter()
        .rposition(|&b| b != 0)
        .map_or(0, |i| i + 1);
    let text = std::str::from_utf8(&text_field[..end]).ok()?;
    Some(text.chars().map(u32::from).sum())
}

pub fn get_u32(frame: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(frame[at..at + 4].try_into().unwrap())
}

pub fn set_u32(frame: &mut [u8], at: usize, value: u32) {
    frame[at..at + 4].copy_from_slice(&value.to_le_bytes());
}

/// The checksum the frame's own version calls for, computed with the reference implementations above:
/// the code-point sum for v4 (`None` if its text is not UTF-8), the CRC-32 for every other version. (R-3.1:
/// a frame of unknown version is believed only when its CRC-32 holds; otherwise it is damage.)
pub fn expected_checksum(frame: &[u8; FRAME_LEN]) -> Option<u32> {
    match get_u32(frame, VERSION_AT) {
        4 => legacy_sum(&frame[TEXT_AT..]),
        _ => Some(frame_crc(frame)),
    }
}

/// Rewrites the checksum field so the checksum check passes and the check under test is the one that fires.
/// Leaves the frame alone when no checksum can be computed.
pub fn fix_checksum(frame: &mut [u8; FRAME_LEN]) {
    if let Some(sum) = expected_checksum(frame) {
        set_u32(frame, CHECKSUM_AT, sum);
    }
}

/// A name field as on the wire: the bytes, NUL-padded to 32.
pub fn raw_name(bytes: &[u8]) -> [u8; NAME_LEN] {
    let mut out = [0; NAME_LEN];
    out[..bytes.len()].copy_from_slice(bytes);
    out
}

/// A known-good packet: number 0x0102_0304, verb BROADCAST, "alice" → "bob", text "hello".
pub fn sample(dialect: Dialect) -> Packet {
    Packet::new(
        dialect,
        Verb::BROADCAST,
        Name::new("alice").unwrap(),
        Name::new("bob").unwrap(),
        Text::new("hello").unwrap(),
    )
    .unwrap()
    .with_number(0x0102_0304)
}

/// A template for fragmenting: "ann" → ALL, BROADCAST, empty text.
pub fn template(dialect: Dialect) -> Packet {
    Packet::new(
        dialect,
        Verb::BROADCAST,
        Name::new("ann").unwrap(),
        Name::ALL,
        Text::EMPTY,
    )
    .unwrap()
}

pub const DIALECTS: [Dialect; 2] = [Dialect::Legacy, Dialect::V5];
