//! The `tokio_util` codec over a byte stream, driven directly on `BytesMut`.

#![cfg(feature = "codec")]

mod common;

use bytes::BytesMut;
use chatproto::{CodecError, DecodeError, Dialect, Packet, PacketCodec, Text, Verb};
use common::*;
use tokio_util::codec::{Decoder, Encoder};

/// Three different packets, both dialects.
fn packets() -> [Packet; 3] {
    let a = sample(Dialect::V5).with_number(1);
    let b = sample(Dialect::Legacy)
        .with_text(Text::legacy("a\0b").unwrap())
        .unwrap();
    let c = template(Dialect::V5).with_number(u32::MAX);
    [a, b, c]
}

fn stream_of(packets: &[Packet]) -> BytesMut {
    let mut buf = BytesMut::new();
    for p in packets {
        buf.extend_from_slice(&p.encode());
    }
    buf
}

#[test]
fn several_frames_in_one_buffer_decode_in_order() {
    let sent = packets();
    let mut buf = stream_of(&sent);
    let mut codec = PacketCodec::new();
    for (i, p) in sent.iter().enumerate() {
        assert_eq!(codec.decode(&mut buf).unwrap(), Some(Ok(*p)));
        assert_eq!(buf.len(), (sent.len() - i - 1) * FRAME_LEN);
    }
    assert_eq!(codec.decode(&mut buf).unwrap(), None);
    assert_eq!(codec.decode_eof(&mut buf).unwrap(), None);
}

#[test]
fn frames_arriving_one_byte_at_a_time_decode_once_complete() {
    let sent = packets();
    let wire = stream_of(&sent);
    let mut codec = PacketCodec::new();
    let mut buf = BytesMut::new();
    let mut received = Vec::new();
    for (i, &byte) in wire.iter().enumerate() {
        buf.extend_from_slice(&[byte]);
        match codec.decode(&mut buf).unwrap() {
            Some(item) => {
                // Only the last byte of a frame completes it.
                assert_eq!((i + 1) % FRAME_LEN, 0, "frame completed at byte {i}");
                received.push(item.unwrap());
            }
            None => assert_ne!((i + 1) % FRAME_LEN, 0, "no frame after byte {i}"),
        }
    }
    assert_eq!(received, sent);
    assert!(buf.is_empty());
}

#[test]
fn a_partial_frame_is_not_ready_and_is_left_in_the_buffer() {
    let frame = packets()[0].encode();
    let mut codec = PacketCodec::new();
    for len in [1, 100, FRAME_LEN - 1] {
        let mut buf = BytesMut::from(&frame[..len]);
        assert_eq!(codec.decode(&mut buf).unwrap(), None);
        assert_eq!(&buf[..], &frame[..len]);
    }
    // Then the rest arrives.
    let mut buf = BytesMut::from(&frame[..FRAME_LEN - 1]);
    assert_eq!(codec.decode(&mut buf).unwrap(), None);
    buf.extend_from_slice(&frame[FRAME_LEN - 1..]);
    assert_eq!(codec.decode(&mut buf).unwrap(), Some(Ok(packets()[0])));
}

/// Frames have a fixed length, so a damaged one is an item, not a stream error, and does not desynchronise
/// the frames behind it.
#[test]
fn a_damaged_frame_is_reported_and_the_following_frames_still_decode() {
    let sent = packets();
    let mut wire = stream_of(&sent);
    // Damage the text of the second frame (v4): a checksum mismatch.
    wire[FRAME_LEN + TEXT_AT] ^= 0x01;
    let mut unsupported = sent[2].encode();
    set_u32(&mut unsupported, VERSION_AT, 7);
    fix_checksum(&mut unsupported);
    wire.extend_from_slice(&unsupported);
    wire.extend_from_slice(&sent[0].encode());

    let mut codec = PacketCodec::new();
    assert_eq!(codec.decode(&mut wire).unwrap(), Some(Ok(sent[0])));
    match codec.decode(&mut wire).unwrap() {
        Some(Err(err @ DecodeError::ChecksumMismatch { .. })) => assert!(err.wants_resend()),
        other => panic!("expected a checksum mismatch, got {other:?}"),
    }
    assert_eq!(codec.decode(&mut wire).unwrap(), Some(Ok(sent[2])));
    match codec.decode(&mut wire).unwrap() {
        Some(Err(DecodeError::UnsupportedVersion { header })) => assert_eq!(header.version, 7),
        other => panic!("expected an unsupported version, got {other:?}"),
    }
    assert_eq!(codec.decode_eof(&mut wire).unwrap(), Some(Ok(sent[0])));
    assert_eq!(codec.decode_eof(&mut wire).unwrap(), None);
}

/// a stream that ends partway through a frame is an error.
#[test]
fn bytes_left_at_end_of_stream_are_a_truncated_frame() {
    let frame = packets()[0].encode();
    let mut codec = PacketCodec::new();
    for len in [1, 200, FRAME_LEN - 1] {
        let mut buf = BytesMut::from(&frame[..len]);
        match codec.decode_eof(&mut buf) {
            Err(CodecError::TruncatedFrame { len: got }) => assert_eq!(got, len),
            other => panic!("expected a truncated frame, got {other:?}"),
        }
    }
    // A whole frame then a partial one: the whole one first, then the error.
    let mut buf = BytesMut::from(&frame[..]);
    buf.extend_from_slice(&frame[..5]);
    assert_eq!(codec.decode_eof(&mut buf).unwrap(), Some(Ok(packets()[0])));
    match codec.decode_eof(&mut buf) {
        Err(CodecError::TruncatedFrame { len: 5 }) => {}
        other => panic!("expected a truncated frame of 5 bytes, got {other:?}"),
    }
}

#[test]
fn an_empty_buffer_at_end_of_stream_is_a_clean_end() {
    let mut codec = PacketCodec::new();
    let mut buf = BytesMut::new();
    assert_eq!(codec.decode_eof(&mut buf).unwrap(), None);
    assert_eq!(codec.decode(&mut buf).unwrap(), None);
}

#[test]
fn encoders_for_packet_reference_and_frame_append_the_same_bytes() {
    let mut codec = PacketCodec::new();
    for p in packets() {
        let frame = p.encode();
        let mut by_value = BytesMut::from(&b"head"[..]);
        let mut by_ref = BytesMut::from(&b"head"[..]);
        let mut pre_encoded = BytesMut::from(&b"head"[..]);
        codec.encode(p, &mut by_value).unwrap();
        codec.encode(&p, &mut by_ref).unwrap();
        codec.encode(&frame, &mut pre_encoded).unwrap();
        for buf in [&by_value, &by_ref, &pre_encoded] {
            assert_eq!(&buf[..4], b"head");
            assert_eq!(&buf[4..], &frame[..]);
        }
        // And what the encoder writes the decoder reads.
        let mut back = by_value.split_off(4);
        assert_eq!(codec.decode(&mut back).unwrap(), Some(Ok(p)));
    }
}

#[test]
fn encoded_packets_stream_back_through_the_decoder() {
    let mut codec = PacketCodec::new();
    let mut buf = BytesMut::new();
    let sent: Vec<Packet> = Verb::ALL
        .iter()
        .enumerate()
        .map(|(i, &verb)| {
            let dialect = DIALECTS[i % 2];
            Packet::new(
                dialect,
                verb,
                *sample(dialect).from(),
                *sample(dialect).to(),
                Text::EMPTY,
            )
            .unwrap()
            .with_number(i as u32)
        })
        .collect();
    for p in &sent {
        codec.encode(p, &mut buf).unwrap();
    }
    assert_eq!(buf.len(), sent.len() * FRAME_LEN);
    let mut received = Vec::new();
    while let Some(item) = codec.decode_eof(&mut buf).unwrap() {
        received.push(item.unwrap());
    }
    assert_eq!(received, sent);
}
