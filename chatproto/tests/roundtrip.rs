//! Property tests: encoding and decoding are inverse on every valid packet and every frame that decodes,
//! no input makes the decoder panic, and the cipher and fragmentation round-trip.

mod common;

use chatproto::cipher::{self, decrypt, encrypt};
use chatproto::{
    DecodeError, Dialect, Flags, Fragments, Name, Packet, PacketView, Reassembler, Text, Verb,
};
use common::*;
use proptest::collection::vec;
use proptest::prelude::*;
use proptest::sample::select;

// ---------------------------------------------------------------------------------------------------------
// Strategies

/// Any char, leaning towards printable ASCII (the cipher's range) and the UTF-8 length boundaries.
fn any_char() -> impl Strategy<Value = char> {
    prop_oneof![
        4 => proptest::char::range(' ', '~'),
        3 => any::<char>(),
        2 => select(&[
            '\u{1}', '\u{1f}', '\u{7f}', '\u{80}', 'é', '\u{7ff}', '\u{800}', '€', '\u{ffff}',
            '\u{10000}', '😀', '\u{10ffff}',
        ][..]),
    ]
}

/// Any char but NUL.
fn char_without_nul() -> impl Strategy<Value = char> {
    any_char().prop_map(|c| if c == '\0' { 'x' } else { c })
}

/// Any char, NUL often (for v4 text, whose interior NULs are content: ).
fn char_or_nul() -> impl Strategy<Value = char> {
    prop_oneof![5 => any_char(), 1 => Just('\0')]
}

/// Accumulates chars while they fit in `max` bytes (a char that would overflow is skipped, so the string
/// often ends up exactly at the limit).
fn fill(chars: Vec<char>, max: usize) -> String {
    let mut s = String::new();
    for c in chars {
        if s.len() + c.len_utf8() <= max {
            s.push(c);
        }
    }
    s
}

/// A name: never NUL, up to 32 bytes.
fn name() -> impl Strategy<Value = Name> {
    vec(char_without_nul(), 0..=40).prop_map(|chars| Name::new(&fill(chars, NAME_LEN)).unwrap())
}

/// Text for `dialect`: up to 256 bytes; v4 text may hold interior NULs but never ends in one.
fn text(dialect: Dialect) -> BoxedStrategy<Text> {
    match dialect {
        Dialect::V5 => vec(char_without_nul(), 0..=300)
            .prop_map(|chars| Text::new(&fill(chars, TEXT_LEN)).unwrap())
            .boxed(),
        Dialect::Legacy => vec(char_or_nul(), 0..=300)
            .prop_map(|chars| {
                let s = fill(chars, TEXT_LEN);
                Text::legacy(s.trim_end_matches('\0')).unwrap()
            })
            .boxed(),
    }
}

/// Flags valid in `dialect`: v4 is the original boolean, v5 has two bits.
fn flags(dialect: Dialect) -> BoxedStrategy<Flags> {
    match dialect {
        Dialect::Legacy => select(vec![Flags::NONE, Flags::ENCRYPTED]).boxed(),
        Dialect::V5 => (0u8..4).prop_map(|b| Flags::from_bits(b).unwrap()).boxed(),
    }
}

fn packet_in(dialect: Dialect) -> impl Strategy<Value = Packet> {
    (
        select(Verb::ALL),
        any::<u32>(),
        name(),
        name(),
        text(dialect),
        flags(dialect),
    )
        .prop_map(move |(verb, number, from, to, text, flags)| {
            Packet::new(dialect, verb, from, to, text)
                .unwrap()
                .with_number(number)
                .with_flags(flags)
                .unwrap()
        })
}

fn packet() -> impl Strategy<Value = Packet> {
    prop_oneof![packet_in(Dialect::Legacy), packet_in(Dialect::V5)]
}

#[derive(Clone, Debug)]
enum Mutation {
    Replace(usize, u8),
    FlipBit(usize, u8),
    Nul(usize),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        (0..FRAME_LEN, any::<u8>()).prop_map(|(i, b)| Mutation::Replace(i, b)),
        (0..FRAME_LEN, 0u8..8).prop_map(|(i, bit)| Mutation::FlipBit(i, bit)),
        (0..FRAME_LEN).prop_map(Mutation::Nul),
    ]
}

/// 337-byte inputs, many of them close to valid: a valid frame with a few bytes replaced, and the checksum
/// repaired half the time so the checks after it are reached.
fn frame_bytes() -> impl Strategy<Value = Vec<u8>> {
    let random = vec(any::<u8>(), FRAME_LEN);
    let random_with_version = (vec(any::<u8>(), FRAME_LEN), 4u32..=5).prop_map(|(mut bytes, v)| {
        set_u32(&mut bytes, VERSION_AT, v);
        let mut frame: [u8; FRAME_LEN] = bytes.try_into().unwrap();
        fix_checksum(&mut frame);
        frame.to_vec()
    });
    let mutated = (packet(), vec(mutation(), 1..=4), any::<bool>()).prop_map(
        |(packet, mutations, repair)| {
            let mut frame = packet.encode();
            for m in mutations {
                match m {
                    Mutation::Replace(i, b) => frame[i] = b,
                    Mutation::FlipBit(i, bit) => frame[i] ^= 1 << bit,
                    Mutation::Nul(i) => frame[i] = 0,
                }
            }
            if repair {
                fix_checksum(&mut frame);
            }
            frame.to_vec()
        },
    );
    prop_oneof![1 => random, 1 => random_with_version, 6 => mutated]
}

/// A message of up to `max` bytes with no NUL: a random run of chars cycled up to a random length, so long
/// messages are cheap to generate yet have multi-byte chars at arbitrary offsets.
fn message(max: usize) -> impl Strategy<Value = String> {
    (0..=max, vec(char_without_nul(), 1..40)).prop_map(|(target, chars)| {
        let mut s = String::with_capacity(target);
        for &c in chars.iter().cycle() {
            if s.len() + c.len_utf8() > target {
                break;
            }
            s.push(c);
        }
        s
    })
}

/// Messages up to the default 64 KiB reassembly limit, often around a few packets' worth.
fn any_message() -> impl Strategy<Value = String> {
    prop_oneof![2 => message(3 * TEXT_LEN), 1 => message(chatproto::fragment::DEFAULT_LIMIT)]
}

// ---------------------------------------------------------------------------------------------------------
// Helpers

/// The cipher by, written out: printable ASCII 32..=126 moves 13 places along that range.
fn reference_encipher(bytes: &[u8]) -> Vec<u8> {
    bytes
        .iter()
        .map(|&b| {
            if (32..=126).contains(&b) {
                (b - 32 + 13) % 95 + 32
            } else {
                b
            }
        })
        .collect()
}

/// Checks that `view` says what `packet` says.
fn assert_view_matches(view: &PacketView<'_>, packet: &Packet) -> Result<(), TestCaseError> {
    prop_assert_eq!(view.dialect(), packet.dialect());
    prop_assert_eq!(view.number(), packet.number());
    prop_assert_eq!(view.verb(), packet.verb());
    prop_assert_eq!(view.flags(), packet.flags());
    prop_assert_eq!(view.from(), packet.from().as_str());
    prop_assert_eq!(view.to(), packet.to().as_str());
    prop_assert_eq!(view.text(), packet.text().as_str());
    prop_assert_eq!(view.checksum(), get_u32(view.frame(), CHECKSUM_AT));
    prop_assert_eq!(&view.to_packet(), packet);
    Ok(())
}

// ---------------------------------------------------------------------------------------------------------
// Properties

proptest! {
    /// a valid packet encodes to the documented layout and decodes back to itself.
    #[test]
    fn valid_packets_encode_to_the_layout_and_decode_back(p in packet()) {
        let frame = p.encode();
        prop_assert_eq!(get_u32(&frame, NUMBER_AT), p.number());
        prop_assert_eq!(get_u32(&frame, VERSION_AT), p.dialect().version());
        prop_assert_eq!(get_u32(&frame, VERB_AT), p.verb().to_u32());
        prop_assert_eq!(frame[FLAGS_AT], p.flags().bits());
        prop_assert_eq!(&frame[FROM_AT..TO_AT], &raw_name(p.from().as_bytes())[..]);
        prop_assert_eq!(&frame[TO_AT..VERB_AT], &raw_name(p.to().as_bytes())[..]);
        let mut text_field = [0u8; TEXT_LEN];
        text_field[..p.text().len()].copy_from_slice(p.text().as_bytes());
        prop_assert_eq!(&frame[TEXT_AT..], &text_field[..]);
        prop_assert_eq!(Some(get_u32(&frame, CHECKSUM_AT)), expected_checksum(&frame));

        prop_assert_eq!(Packet::decode(&frame), Ok(p));

        let mut into = [0xAAu8; FRAME_LEN];
        p.encode_into(&mut into);
        prop_assert_eq!(into, frame);
        let mut appended = vec![1, 2, 3];
        p.encode_to(&mut appended);
        prop_assert_eq!(&appended[..3], &[1, 2, 3][..]);
        prop_assert_eq!(&appended[3..], &frame[..]);
    }

    /// The zero-copy view of a valid frame agrees with the owned packet, field by field.
    #[test]
    fn packet_view_fields_equal_packet_fields(p in packet()) {
        let frame = p.encode();
        let view = PacketView::decode(&frame).unwrap();
        prop_assert!(std::ptr::eq(view.frame(), &frame));
        assert_view_matches(&view, &p)?;
    }

    /// Every 337-byte string that decodes is the canonical encoding of what it decodes to, so there is exactly
    /// one frame per packet; and the view and the packet decoders agree on every input.
    #[test]
    fn every_frame_that_decodes_reencodes_to_the_same_bytes(bytes in frame_bytes()) {
        let packet = Packet::decode(&bytes);
        let view = PacketView::decode(&bytes);
        match (&packet, &view) {
            (Ok(packet), Ok(view)) => {
                prop_assert_eq!(&packet.encode()[..], &bytes[..]);
                assert_view_matches(view, packet)?;
            }
            (Err(a), Err(b)) => {
                prop_assert_eq!(a, b);
                // Every error on a whole frame keeps the header it read.
                let header = a.header().expect("a 337-byte frame always has a header");
                prop_assert_eq!(header.number, get_u32(&bytes, NUMBER_AT));
                prop_assert_eq!(header.version, get_u32(&bytes, VERSION_AT));
                prop_assert_eq!(header.verb.to_u32(), get_u32(&bytes, VERB_AT));
                prop_assert_eq!(&header.from[..], &bytes[FROM_AT..TO_AT]);
                prop_assert_eq!(&header.to[..], &bytes[TO_AT..VERB_AT]);
            }
            _ => prop_assert!(false, "Packet::decode {:?} but PacketView::decode {:?}", packet, view),
        }
    }

    /// Nothing panics on any input, and only 337-byte inputs get past the length check.
    #[test]
    fn decoding_arbitrary_bytes_never_panics(bytes in prop_oneof![
        vec(any::<u8>(), 0..700),
        (packet(), 0usize..700).prop_map(|(p, len)| {
            // A valid frame cut short or extended.
            let mut bytes = p.encode().to_vec();
            bytes.resize(len, 0);
            bytes
        }),
    ]) {
        let packet = Packet::decode(&bytes);
        let view = PacketView::decode(&bytes);
        if bytes.len() == FRAME_LEN {
            let wrong_length = matches!(packet, Err(DecodeError::WrongLength { .. }));
            prop_assert!(!wrong_length, "a 337-byte input failed the length check");
        } else {
            prop_assert_eq!(&packet, &Err(DecodeError::WrongLength { len: bytes.len() }));
        }
        prop_assert_eq!(view.map(|v| v.to_packet()), packet);
    }

    /// the cipher moves printable ASCII by 13 within 32..=126, leaves every other byte alone,
    /// and deciphering undoes it.
    #[test]
    fn cipher_round_trips_strings(s in prop_oneof![any::<String>(), vec(any_char(), 0..300).prop_map(String::from_iter)]) {
        let enciphered = cipher::encipher(&s);
        prop_assert_eq!(enciphered.as_bytes(), &reference_encipher(s.as_bytes())[..]);
        prop_assert_eq!(cipher::decipher(&enciphered), s.clone());
        let mut out = String::from("prefix:");
        cipher::decipher_into(&mut out, &enciphered);
        prop_assert_eq!(out, format!("prefix:{s}"));
    }

    /// `encrypt` enciphers the text and sets the flag, touching nothing else; `decrypt` undoes it; both are
    /// no-ops when the flag already says so; an encrypted packet is still a valid frame.
    #[test]
    fn encrypt_and_decrypt_round_trip_packets(p in packet()) {
        let plain = p.with_flags(p.flags().with(Flags::ENCRYPTED, false)).unwrap();
        let sealed = encrypt(plain);
        prop_assert!(sealed.flags().is_encrypted());
        prop_assert_eq!(sealed.flags().has_more_fragments(), plain.flags().has_more_fragments());
        prop_assert_eq!(sealed.text().as_bytes(), &reference_encipher(plain.text().as_bytes())[..]);
        prop_assert_eq!(
            (sealed.dialect(), sealed.number(), sealed.verb(), sealed.from(), sealed.to()),
            (plain.dialect(), plain.number(), plain.verb(), plain.from(), plain.to())
        );
        prop_assert_eq!(decrypt(sealed), plain);
        prop_assert_eq!(encrypt(sealed), sealed);
        prop_assert_eq!(decrypt(plain), plain);
        prop_assert_eq!(Packet::decode(&sealed.encode()), Ok(sealed));
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// a message up to the limit splits into packets of at most 256 bytes, cut at char
    /// boundaries as late as possible, that survive the wire; v5 reassembles them into the whole message,
    /// v4 delivers each piece as a message of its own whose concatenation is the original.
    #[test]
    fn fragments_reassemble_into_the_message(
        template in packet(),
        msg in any_message(),
    ) {
        let dialect = template.dialect();
        let encrypted = template.flags().is_encrypted();
        let fragments = Fragments::new(template, &msg).unwrap();
        let expected_count = fragments.len();
        let packets: Vec<Packet> = fragments.collect();
        prop_assert_eq!(packets.len(), expected_count);
        prop_assert!(!packets.is_empty());

        let mut reassembler = Reassembler::default();
        let mut joined = String::new();
        let last = packets.len() - 1;
        for (i, packet) in packets.iter().enumerate() {
            prop_assert_eq!(
                (packet.dialect(), packet.number(), packet.verb(), packet.from(), packet.to()),
                (dialect, template.number(), template.verb(), template.from(), template.to())
            );
            prop_assert_eq!(packet.flags().is_encrypted(), encrypted);
            let more = dialect == Dialect::V5 && i != last;
            prop_assert_eq!(packet.flags().has_more_fragments(), more);
            prop_assert!(packet.text().len() <= TEXT_LEN);
            prop_assert!(std::str::from_utf8(packet.text().as_bytes()).is_ok());
            let piece = if encrypted {
                cipher::decipher(packet.text().as_str())
            } else {
                packet.text().as_str().to_owned()
            };
            // As late as possible: the next char would not have fitted.
            if i != last {
                let next = msg[joined.len() + piece.len()..].chars().next().unwrap();
                prop_assert!(piece.len() + next.len_utf8() > TEXT_LEN);
            }
            joined.push_str(&piece);

            // Through the wire, then into the reassembler.
            let received = Packet::decode(&packet.encode()).unwrap();
            prop_assert_eq!(&received, packet);
            let out = reassembler.push(&received).unwrap();
            match (dialect, i == last) {
                (Dialect::V5, false) => prop_assert_eq!(out, None),
                (Dialect::V5, true) => {
                    let whole = out.expect("the last fragment completes the message");
                    prop_assert_eq!(whole.dialect, Dialect::V5);
                    prop_assert_eq!(whole.verb, template.verb());
                    prop_assert_eq!(&whole.from, template.from());
                    prop_assert_eq!(&whole.to, template.to());
                    prop_assert_eq!(whole.encrypted, encrypted);
                    prop_assert_eq!(&whole.text, &msg);
                }
                (Dialect::Legacy, _) => {
                    let single = out.expect("every v4 piece is a whole message");
                    prop_assert_eq!(single.dialect, Dialect::Legacy);
                    prop_assert_eq!(single.encrypted, encrypted);
                    prop_assert_eq!(&single.text, &piece);
                }
            }
        }
        prop_assert_eq!(joined, msg);
        prop_assert_eq!(reassembler.buffered(), 0);
    }
}
