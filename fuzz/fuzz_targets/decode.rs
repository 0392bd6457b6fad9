//! Decoding arbitrary bytes.
//!
//! Invariants checked, for any input:
//! - `PacketView::decode` and `Packet::decode` agree: both `Ok` with equal fields, or both `Err` with the
//!   same error, whose header is the raw bytes it claims to be.
//! - Whatever decodes encodes back to exactly the same 337 bytes (`encode` and `encode_into`), and is a
//!   packet the public constructors (`Name::new`, `Text::new`/`Text::legacy`, `Packet::new`, `with_flags`)
//!   accept and rebuild identically.
//! - The input, cut into 337-byte frames, is fed in order through one `Reassembler` with a 4 KiB limit,
//!   so multi-frame fragment sequences are exercised; `buffered()` never exceeds the limit and no message
//!   it returns is longer than the limit.
//!
//! A random frame almost never carries a valid checksum, so each 337-byte chunk is also decoded a second
//! time with its checksum field recomputed (CRC-32 for version 5, the code-point sum for version 4), through
//! a second reassembler: that lets the fuzzer reach every check that comes after the checksum.

#![no_main]

use chatproto::wire::layout::{CHECKSUM_AT, TEXT_AT};
use chatproto::wire::{crc32, legacy_checksum};
use chatproto::{
    cipher, DecodeError, Dialect, Name, Packet, PacketView, Reassembler, Text, ValidationError,
    FRAME_LEN,
};
use libfuzzer_sys::fuzz_target;

/// Small, so that a handful of fragments reaches it.
const LIMIT: usize = 4 * 1024;

fuzz_target!(|data: &[u8]| {
    // The input as a whole: every length but 337 must be refused, and 337 bytes decode as one frame.
    check_frame(data, None);

    let mut as_sent = Reassembler::new(LIMIT);
    let mut patched = Reassembler::new(LIMIT);
    for chunk in data.chunks(FRAME_LEN) {
        check_frame(chunk, Some(&mut as_sent));
        if let Ok(frame) = <[u8; FRAME_LEN]>::try_from(chunk) {
            if let Some(frame) = with_valid_checksum(frame) {
                check_frame(&frame, Some(&mut patched));
            }
        }
    }
});

fn check_frame(bytes: &[u8], reassembler: Option<&mut Reassembler>) {
    let view = PacketView::decode(bytes);
    let packet = Packet::decode(bytes);
    match (view, packet) {
        (Ok(view), Ok(packet)) => {
            check_decoded(bytes, &view, &packet);
            if let Some(reassembler) = reassembler {
                check_reassembly(reassembler, &packet);
            }
        }
        (Err(view_err), Err(packet_err)) => {
            assert_eq!(
                view_err, packet_err,
                "PacketView::decode and Packet::decode fail differently"
            );
            check_error(bytes, &view_err);
        }
        (view, packet) => panic!(
            "PacketView::decode and Packet::decode disagree:\n  view:   {view:?}\n  packet: {packet:?}"
        ),
    }
}

fn check_decoded(bytes: &[u8], view: &PacketView<'_>, packet: &Packet) {
    assert_eq!(
        bytes.len(),
        FRAME_LEN,
        "a frame of the wrong length decoded"
    );
    assert_eq!(view.frame().as_slice(), bytes);
    assert_eq!(view.dialect(), packet.dialect());
    assert_eq!(view.number(), packet.number());
    assert_eq!(view.verb(), packet.verb());
    assert_eq!(view.flags(), packet.flags());
    assert_eq!(view.from(), packet.from().as_str());
    assert_eq!(view.to(), packet.to().as_str());
    assert_eq!(view.text(), packet.text().as_str());
    assert_eq!(view.to_packet(), *packet);
    assert!(view.verb().is_known(), "an unknown verb decoded");
    assert_eq!(
        view.checksum(),
        u32_at(bytes, CHECKSUM_AT),
        "the view's checksum is not the frame's"
    );

    // The round trip: what decodes encodes back to the very same bytes.
    let encoded = packet.encode();
    assert_eq!(
        encoded.as_slice(),
        bytes,
        "encode(decode(frame)) != frame for {packet:?}"
    );
    // encode_into overwrites every byte, whatever the buffer held.
    let mut dirty = [0xA5; FRAME_LEN];
    packet.encode_into(&mut dirty);
    assert_eq!(dirty, encoded, "encode_into left stale bytes");

    // Valid by construction: the public constructors accept every decoded packet and build the same one
    // (so decoding never yields a field the dialect forbids, such as a NUL inside a v5 field).
    assert_eq!(
        rebuild(packet),
        Ok(*packet),
        "decoded a packet the constructors refuse"
    );

    // The cipher is a bijection on the text, so undoing and redoing it gives the packet back.
    if packet.flags().is_encrypted() {
        assert_eq!(cipher::encrypt(cipher::decrypt(*packet)), *packet);
    }
}

fn rebuild(packet: &Packet) -> Result<Packet, ValidationError> {
    let text = packet.text().as_str();
    let text = match packet.dialect() {
        Dialect::V5 => Text::new(text)?,
        Dialect::Legacy => Text::legacy(text)?,
    };
    Packet::new(
        packet.dialect(),
        packet.verb(),
        Name::new(packet.from().as_str())?,
        Name::new(packet.to().as_str())?,
        text,
    )?
    .with_number(packet.number())
    .with_flags(packet.flags())
}

fn check_error(bytes: &[u8], err: &DecodeError) {
    match err.header() {
        None => {
            assert!(
                matches!(err, DecodeError::WrongLength { len } if *len == bytes.len()),
                "{err:?} without a header"
            );
            assert_ne!(
                bytes.len(),
                FRAME_LEN,
                "a 337-byte frame refused as {err:?}"
            );
        }
        Some(header) => {
            // The header is the frame's raw fields, whatever else is wrong with it.
            assert_eq!(bytes.len(), FRAME_LEN, "{err:?} for {} bytes", bytes.len());
            assert_eq!(header.number, u32_at(bytes, 0));
            assert_eq!(header.version, u32_at(bytes, 4));
            assert_eq!(header.verb.to_u32(), u32_at(bytes, 72));
            assert_eq!(header.from.as_slice(), &bytes[8..40]);
            assert_eq!(header.to.as_slice(), &bytes[40..72]);
        }
    }
    assert_eq!(
        err.wants_resend(),
        matches!(err, DecodeError::ChecksumMismatch { .. })
    );
    // Display must not panic either (it formats names lossily).
    let _ = err.to_string();
}

fn check_reassembly(reassembler: &mut Reassembler, packet: &Packet) {
    let limit = reassembler.limit();
    // Errors (too long, interleaved) are legitimate outcomes for arbitrary input.
    if let Ok(Some(message)) = reassembler.push(packet) {
        assert!(
            message.text.len() <= limit,
            "reassembled {} bytes past the {limit}-byte limit",
            message.text.len()
        );
        assert_eq!(message.verb, packet.verb());
        assert_eq!(message.dialect, packet.dialect());
    }
    assert!(
        reassembler.buffered() <= limit,
        "reassembler holds {} bytes, limit {limit}",
        reassembler.buffered()
    );
}

/// The frame with the checksum its version calls for, or `None` if there is none to compute (an unknown
/// version, or v4 text that is not UTF-8).
fn with_valid_checksum(mut frame: [u8; FRAME_LEN]) -> Option<[u8; FRAME_LEN]> {
    let sum = match u32_at(&frame, 4) {
        5 => crc32(&frame),
        4 => {
            let text = &frame[TEXT_AT..];
            let end = text
                .iter()
                .rposition(|&b| b != 0)
                .map_or(0, |last| last + 1);
            legacy_checksum(std::str::from_utf8(&text[..end]).ok()?)
        }
        _ => return None,
    };
    frame[CHECKSUM_AT..CHECKSUM_AT + 4].copy_from_slice(&sum.to_le_bytes());
    Some(frame)
}

fn u32_at(bytes: &[u8], at: usize) -> u32 {
    let mut word = [0; 4];
    word.copy_from_slice(&bytes[at..at + 4]);
    u32::from_le_bytes(word)
}
