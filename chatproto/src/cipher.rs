//! The text cipher behind the encrypted flag (PROTOCOL.md §5).
//!
//! It is a rotation by 13 within the 95 printable ASCII characters 32..=126, as the original application
//! did: obfuscation against a casual glance at a capture, **not** confidentiality. Anyone can undo it.
//! Bytes outside 32..=126 (control characters and every byte of a multi-byte UTF-8 character) pass through
//! unchanged, so enciphered text is still valid UTF-8 and never gains or loses a NUL.

use crate::wire::{Flags, Packet};

const FIRST: u8 = 32;
const SPAN: u8 = 95;
const SHIFT: u8 = 13;

/// Enciphers one byte (R-5.1): 32..=126 shift +13 within that range, wrapping; others are unchanged.
///
/// ```
/// use chatproto::cipher::encipher_byte;
/// assert_eq!(encipher_byte(b'h'), b'u');
/// assert_eq!(encipher_byte(126), 44); // wraps around
/// assert_eq!(encipher_byte(0xC3), 0xC3); // not printable ASCII
/// ```
pub const fn encipher_byte(b: u8) -> u8 {
    if b >= FIRST && b < FIRST + SPAN {
        (b - FIRST + SHIFT) % SPAN + FIRST
    } else {
        b
    }
}

/// Deciphers one byte (R-5.2): the inverse of [`encipher_byte`].
pub const fn decipher_byte(b: u8) -> u8 {
    if b >= FIRST && b < FIRST + SPAN {
        (b - FIRST + SPAN - SHIFT) % SPAN + FIRST
    } else {
        b
    }
}

/// Enciphers `text` into a new string.
///
/// ```
/// assert_eq!(chatproto::cipher::encipher("hello"), "uryy|");
/// ```
pub fn encipher(text: &str) -> String {
    map(text, encipher_byte)
}

/// Deciphers `text` into a new string.
///
/// ```
/// assert_eq!(chatproto::cipher::decipher("uryy|"), "hello");
/// ```
pub fn decipher(text: &str) -> String {
    map(text, decipher_byte)
}

/// Appends `text`, deciphered, to `out`.
pub fn decipher_into(out: &mut String, text: &str) {
    map_into(out, text, decipher_byte);
}

fn map(text: &str, f: fn(u8) -> u8) -> String {
    let mut out = String::with_capacity(text.len());
    map_into(&mut out, text, f);
    out
}

fn map_into(out: &mut String, text: &str, f: fn(u8) -> u8) {
    // Only ASCII bytes change, and only into ASCII, so mapping ASCII chars keeps the UTF-8 intact.
    out.extend(text.chars().map(|c| {
        if c.is_ascii() {
            char::from(f(c as u8))
        } else {
            c
        }
    }));
}

/// The packet with its text enciphered and the encrypted flag set; unchanged if the flag is already set.
/// Allocates nothing.
pub fn encrypt(mut packet: Packet) -> Packet {
    if !packet.flags().is_encrypted() {
        packet.text_mut().map_bytes(encipher_byte);
        packet = packet
            .with_flags(packet.flags() | Flags::ENCRYPTED)
            .unwrap_or(packet);
    }
    packet
}

/// The packet with its text deciphered and the encrypted flag cleared; unchanged if the flag is not set.
/// Allocates nothing.
pub fn decrypt(mut packet: Packet) -> Packet {
    if packet.flags().is_encrypted() {
        packet.text_mut().map_bytes(decipher_byte);
        packet = packet
            .with_flags(packet.flags().with(Flags::ENCRYPTED, false))
            .unwrap_or(packet);
    }
    packet
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn edge_bytes() {
        assert_eq!(encipher_byte(32), 45); // ' ' → '-'
        assert_eq!(encipher_byte(113), 126); // 'q' → '~', the last that does not wrap
        assert_eq!(encipher_byte(114), 32); // 'r' → ' ', the first that wraps
        assert_eq!(encipher_byte(126), 44); // '~' → ','
        assert_eq!(encipher_byte(31), 31);
        assert_eq!(encipher_byte(127), 127);
        assert_eq!(encipher_byte(0), 0);
    }

    #[test]
    fn every_byte_round_trips() {
        for b in 0..=255u8 {
            assert_eq!(decipher_byte(encipher_byte(b)), b);
        }
    }

    #[test]
    fn seed_log_sample() {
        // From the original server's log: "hello" is sent as "uryy|" with the encrypted flag.
        assert_eq!(encipher("hello"), "uryy|");
        assert_eq!(decipher("uv"), "hi");
        assert_eq!(encipher("héllo"), "u\u{e9}yy|");
    }
}
