//! Frames byte by byte: building them, breaking them on purpose, and showing how two differ.
//!
//! Well-formed frames come from `chatproto::wire` ([`Packet::encode`]); the helpers here then change
//! single fields of the 337 bytes, and [`reseal`] recomputes the checksum when a case wants a frame that
//! is malformed in one way only.

use std::fmt::Write as _;

use chatproto::wire::layout::{
    CHECKSUM_AT, FLAGS_AT, FROM_AT, NAME_LEN, NUMBER_AT, TEXT_AT, TEXT_LEN, TO_AT, VERB_AT,
    VERSION_AT,
};
use chatproto::{Packet, FRAME_LEN};

/// A frame: always 337 bytes.
pub type Frame = [u8; FRAME_LEN];

/// The little-endian `u32` at `at`.
pub fn u32_at(frame: &Frame, at: usize) -> u32 {
    let mut word = [0; 4];
    word.copy_from_slice(&frame[at..at + 4]);
    u32::from_le_bytes(word)
}

/// Writes a little-endian `u32` at `at`.
pub fn set_u32(frame: &mut Frame, at: usize, value: u32) {
    frame[at..at + 4].copy_from_slice(&value.to_le_bytes());
}

/// The frame's `version`.
pub fn version(frame: &Frame) -> u32 {
    u32_at(frame, VERSION_AT)
}

/// The frame's `verb` as a number.
pub fn verb(frame: &Frame) -> u32 {
    u32_at(frame, VERB_AT)
}

/// The frame's `packet_number`.
pub fn number(frame: &Frame) -> u32 {
    u32_at(frame, NUMBER_AT)
}

/// The checksum the frame ought to carry for its version: the code-point sum of the text for 4 (R-3.2),
/// CRC-32 of the frame with the checksum zeroed for anything else (R-3.7; R-3.1 keeps it for future
/// versions). Text that is not UTF-8 sums its bytes, which is as good as any sum for a frame that must be
/// refused anyway.
pub fn expected_checksum(frame: &Frame) -> u32 {
    if version(frame) == 4 {
        let text = &frame[TEXT_AT..TEXT_AT + TEXT_LEN];
        let end = text.iter().rposition(|&b| b != 0).map_or(0, |i| i + 1);
        match std::str::from_utf8(&text[..end]) {
            Ok(s) => chatproto::wire::legacy_checksum(s),
            Err(_) => text[..end].iter().map(|&b| u32::from(b)).sum(),
        }
    } else {
        chatproto::wire::crc32(frame)
    }
}

/// Recomputes the checksum field, so the frame is damaged in no way but the ones a case made on purpose.
pub fn reseal(frame: &mut Frame) {
    let sum = expected_checksum(frame);
    set_u32(frame, CHECKSUM_AT, sum);
}

/// The frame with its checksum made wrong (one bit of the checksum field flipped).
pub fn damaged(mut frame: Frame) -> Frame {
    frame[CHECKSUM_AT] ^= 0x01;
    frame
}

/// The frame with another `flags` byte, resealed.
pub fn with_flags(mut frame: Frame, flags: u8) -> Frame {
    frame[FLAGS_AT] = flags;
    reseal(&mut frame);
    frame
}

/// The frame with another `version`, resealed.
pub fn with_version(mut frame: Frame, version: u32) -> Frame {
    set_u32(&mut frame, VERSION_AT, version);
    reseal(&mut frame);
    frame
}

/// The frame with another `verb`, resealed.
pub fn with_verb(mut frame: Frame, verb: u32) -> Frame {
    set_u32(&mut frame, VERB_AT, verb);
    reseal(&mut frame);
    frame
}

/// The frame with `bytes` written into the text field at `offset`, resealed.
pub fn with_text_bytes(mut frame: Frame, offset: usize, bytes: &[u8]) -> Frame {
    frame[TEXT_AT + offset..TEXT_AT + offset + bytes.len()].copy_from_slice(bytes);
    reseal(&mut frame);
    frame
}

/// The frame with `bytes` written into `from_name` at `offset`, resealed.
pub fn with_from_bytes(mut frame: Frame, offset: usize, bytes: &[u8]) -> Frame {
    frame[FROM_AT + offset..FROM_AT + offset + bytes.len()].copy_from_slice(bytes);
    reseal(&mut frame);
    frame
}

/// Where a string field breaks canonical padding (R-3.8): the offset of a non-NUL byte after its first
/// NUL.
pub fn padding_fault(field: &[u8]) -> Option<usize> {
    let first_nul = field.iter().position(|&b| b == 0)?;
    field[first_nul..]
        .iter()
        .position(|&b| b != 0)
        .map(|i| first_nul + i)
}

/// R-5.1, written out here rather than taken from `chatproto::cipher`, so the suite checks the server
/// against the spec's formula and not against the library it may share.
pub fn encipher(text: &str) -> String {
    map_printable(text, 13)
}

/// R-5.2: the inverse of [`encipher`].
pub fn decipher(text: &str) -> String {
    map_printable(text, 82)
}

fn map_printable(text: &str, shift: u16) -> String {
    let bytes: Vec<u8> = text
        .bytes()
        .map(|b| {
            if (32..=126).contains(&b) {
                ((u16::from(b) - 32 + shift) % 95 + 32) as u8
            } else {
                b
            }
        })
        .collect();
    // Only bytes below 128 change, and they stay below 128, so this is still UTF-8.
    String::from_utf8(bytes).unwrap_or_default()
}

/// The fields of the layout, for showing differences.
const FIELDS: [(&str, usize, usize); 8] = [
    ("packet_number", NUMBER_AT, 4),
    ("version", VERSION_AT, 4),
    ("from_name", FROM_AT, NAME_LEN),
    ("to_name", TO_AT, NAME_LEN),
    ("verb", VERB_AT, 4),
    ("checksum", CHECKSUM_AT, 4),
    ("flags", FLAGS_AT, 1),
    ("text", TEXT_AT, TEXT_LEN),
];

/// Where two frames differ, field by field, in hex: empty when they are equal.
///
/// ```
/// use conformance::server_suite::hex_diff;
/// let a = [0u8; 337];
/// let mut b = a;
/// b[80] = 4;
/// assert!(hex_diff(&a, &b).contains("flags"));
/// assert_eq!(hex_diff(&a, &a), "");
/// ```
pub fn hex_diff(expected: &Frame, got: &Frame) -> String {
    let mut out = String::new();
    for (name, at, width) in FIELDS {
        let (want, have) = (&expected[at..at + width], &got[at..at + width]);
        if want == have {
            continue;
        }
        // Show the stretch that differs, with a little context, not all 256 bytes of a text.
        let first = want.iter().zip(have).position(|(a, b)| a != b).unwrap_or(0);
        let last = want
            .iter()
            .zip(have)
            .rposition(|(a, b)| a != b)
            .unwrap_or(0);
        let from = first.saturating_sub(4);
        let to = (last + 5).min(width);
        let _ = writeln!(
            out,
            "  {name} (bytes {}..{} of the frame):\n    expected {}\n    got      {}",
            at + from,
            at + to,
            hex(&want[from..to]),
            hex(&have[from..to])
        );
    }
    out
}

/// Bytes as `61 6e 6e 00`.
pub fn hex(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() * 3);
    for (i, b) in bytes.iter().enumerate() {
        if i > 0 {
            out.push(' ');
        }
        let _ = write!(out, "{b:02x}");
    }
    out
}

/// One line about a frame, whatever it holds: for failure messages.
pub fn describe(frame: &Frame) -> String {
    match Packet::decode(frame) {
        Ok(packet) => describe_packet(&packet),
        Err(error) => format!("undecodable frame ({error})"),
    }
}

/// One line about a packet: `BROADCAST #3 ann -> ALL "hello"`.
pub fn describe_packet(packet: &Packet) -> String {
    let flags = match packet.flags().bits() {
        0 => String::new(),
        bits => format!(" flags={bits:#04x}"),
    };
    format!(
        "v{} {} #{} {:?} -> {:?}{} {}",
        packet.dialect().version(),
        packet.verb(),
        packet.number(),
        packet.from().as_str(),
        packet.to().as_str(),
        flags,
        shorten(packet.text().as_str())
    )
}

/// Text for a failure message: quoted, escaped, and cut to a readable length.
pub fn shorten(text: &str) -> String {
    const MAX: usize = 80;
    let quoted = format!("{text:?}");
    if quoted.chars().count() <= MAX {
        return quoted;
    }
    let head: String = quoted.chars().take(MAX).collect();
    format!("{head}… ({} bytes)", text.len())
}

#[cfg(test)]
mod tests {
    use super::*;
    use chatproto::{Dialect, Name, Text, Verb};

    fn frame(dialect: Dialect, text: &str) -> Frame {
        Packet::new(
            dialect,
            Verb::BROADCAST,
            Name::new("ann").unwrap(),
            Name::ALL,
            Text::new(text).unwrap(),
        )
        .unwrap()
        .with_number(1)
        .encode()
    }

    #[test]
    fn reseal_gives_back_what_the_encoder_wrote() {
        for dialect in [Dialect::Legacy, Dialect::V5] {
            let good = frame(dialect, "héllo");
            let mut copy = damaged(good);
            assert_ne!(copy, good);
            reseal(&mut copy);
            assert_eq!(copy, good);
        }
    }

    #[test]
    fn the_cipher_follows_the_spec_examples() {
        // R-5.1's own examples.
        assert_eq!(encipher("hello"), "uryy|");
        assert_eq!(encipher("q"), "~");
        assert_eq!(encipher("r"), " ");
        assert_eq!(encipher("~"), ",");
        assert_eq!(decipher(&encipher("héllo, wörld ~")), "héllo, wörld ~");
    }

    #[test]
    fn padding_faults_are_found() {
        assert_eq!(padding_fault(b"ann\0\0\0"), None);
        assert_eq!(padding_fault(b"ann\0x\0"), Some(4));
        assert_eq!(padding_fault(b"annx"), None);
    }

    #[test]
    fn a_diff_names_the_field() {
        let a = frame(Dialect::V5, "hello");
        let b = frame(Dialect::V5, "hellO");
        let diff = hex_diff(&a, &b);
        assert!(diff.contains("text") && diff.contains("checksum"), "{diff}");
        assert!(!diff.contains("from_name"), "{diff}");
    }
}
