//! One test per class of malformed frame: each takes a valid encoded frame, breaks exactly one thing
//! (repairing the checksum where needed so the intended check is the one that fires), and checks the exact
//! error and the context it carries. Then the `ValidationError`s of building packets.

mod common;

use chatproto::{
    DecodeError, Dialect, Field, Flags, Header, Name, Packet, PacketView, Text, ValidationError,
    Verb,
};
use common::*;

/// A valid frame of `dialect` (see `common::sample`).
fn frame(dialect: Dialect) -> [u8; FRAME_LEN] {
    sample(dialect).encode()
}

/// The header as PROTOCOL.md lays it out, read from the frame by offset.
fn header_of(frame: &[u8; FRAME_LEN]) -> Header {
    Header {
        number: get_u32(frame, NUMBER_AT),
        version: get_u32(frame, VERSION_AT),
        verb: Verb::from_u32(get_u32(frame, VERB_AT)),
        from: frame[FROM_AT..TO_AT].try_into().unwrap(),
        to: frame[TO_AT..VERB_AT].try_into().unwrap(),
    }
}

/// Decodes with both decoders, checks they agree and fail, and returns the error.
fn decode_err(input: &[u8]) -> DecodeError {
    let owned = Packet::decode(input).expect_err("the frame must be refused");
    let viewed = PacketView::decode(input).expect_err("the frame must be refused");
    assert_eq!(owned, viewed, "Packet and PacketView disagree");
    owned
}

/// Writes `content` at the start of the field at `at`, `width` wide, NUL-padding the rest.
fn set_field(frame: &mut [u8; FRAME_LEN], at: usize, width: usize, content: &[u8]) {
    frame[at..at + width].fill(0);
    frame[at..at + content.len()].copy_from_slice(content);
}

/// Every string field: where it sits, its width, and how errors name it.
const FIELDS: [(usize, usize, Field); 3] = [
    (FROM_AT, NAME_LEN, Field::FromName),
    (TO_AT, NAME_LEN, Field::ToName),
    (TEXT_AT, TEXT_LEN, Field::Text),
];

// ---------------------------------------------------------------------------------------------------------
// The reference helpers and the valid frames themselves

#[test]
fn reference_checksums_match_published_values() {
    // The CRC-32 check value from the zlib/IEEE catalogue.
    assert_eq!(reference_crc32(*b"123456789"), 0xCBF4_3926);
    // 'h' 'e' 'l' 'l' 'o' = 104 + 101 + 108 + 108 + 111.
    assert_eq!(legacy_sum(b"hello\0\0"), Some(532));
}

/// the sample frames are laid out field by field as PROTOCOL.md says.
#[test]
fn valid_frames_follow_the_documented_layout() {
    for dialect in DIALECTS {
        let mut expected = [0u8; FRAME_LEN];
        set_u32(&mut expected, NUMBER_AT, 0x0102_0304);
        set_u32(&mut expected, VERSION_AT, dialect.version());
        set_field(&mut expected, FROM_AT, NAME_LEN, b"alice");
        set_field(&mut expected, TO_AT, NAME_LEN, b"bob");
        set_u32(&mut expected, VERB_AT, 1);
        set_field(&mut expected, TEXT_AT, TEXT_LEN, b"hello");
        let sum = match dialect {
            Dialect::Legacy => 532,
            Dialect::V5 => frame_crc(&expected),
        };
        set_u32(&mut expected, CHECKSUM_AT, sum);
        assert_eq!(frame(dialect), expected, "{dialect}");
        assert_eq!(Packet::decode(&expected), Ok(sample(dialect)));
    }
}

#[test]
fn error_headers_read_back_the_frame_fields() {
    let mut bad = frame(Dialect::V5);
    set_u32(&mut bad, VERSION_AT, 6);
    fix_checksum(&mut bad);
    let header = *decode_err(&bad).header().unwrap();
    assert_eq!(header.number, 0x0102_0304);
    assert_eq!(header.version, 6);
    assert_eq!(header.verb, Verb::BROADCAST);
    assert_eq!(header.from, raw_name(b"alice"));
    assert_eq!(header.to, raw_name(b"bob"));
    assert_eq!(header.from_lossy(), "alice");
    assert_eq!(header.to_lossy(), "bob");
    assert_eq!(header.dialect(), None);
}

// ---------------------------------------------------------------------------------------------------------
// length

#[test]
fn frames_of_the_wrong_length_are_refused_with_the_length() {
    for dialect in DIALECTS {
        let valid = frame(dialect);
        let mut longer = valid.to_vec();
        longer.push(0);
        let doubled = [valid, valid].concat();
        for input in [
            &[][..],
            &valid[..1],
            &valid[..336],
            &longer[..],
            &doubled[..],
        ] {
            let err = decode_err(input);
            assert_eq!(err, DecodeError::WrongLength { len: input.len() });
            assert_eq!(err.header(), None);
            assert!(!err.wants_resend());
        }
    }
}

// ---------------------------------------------------------------------------------------------------------
// version

#[test]
fn unsupported_versions_are_refused_with_the_header() {
    for dialect in DIALECTS {
        // 0x0500_0000 is 5 read big-endian: the integers are little-endian.
        for version in [0, 1, 3, 6, 0x0500_0000, u32::MAX] {
            let mut bad = frame(dialect);
            set_u32(&mut bad, VERSION_AT, version);
            fix_checksum(&mut bad);
            let err = decode_err(&bad);
            assert_eq!(
                err,
                DecodeError::UnsupportedVersion {
                    header: header_of(&bad)
                }
            );
            assert_eq!(err.header().unwrap().version, version);
        }
    }
}

/// a damaged version field also reads as an unknown version, so an unknown version whose CRC-32 does
/// not hold is damage, answered RESEND.
#[test]
fn unknown_version_with_a_bad_crc_is_a_checksum_mismatch() {
    for dialect in DIALECTS {
        let mut bad = frame(dialect);
        set_u32(&mut bad, VERSION_AT, 6);
        fix_checksum(&mut bad);
        let crc = get_u32(&bad, CHECKSUM_AT);
        set_u32(&mut bad, CHECKSUM_AT, crc ^ 1);
        let err = decode_err(&bad);
        assert_eq!(
            err,
            DecodeError::ChecksumMismatch {
                header: header_of(&bad),
                computed: crc,
                received: crc ^ 1,
            }
        );
        assert!(err.wants_resend());
    }
}

// ---------------------------------------------------------------------------------------------------------
// checksums

#[test]
fn v5_checksum_mismatch_reports_computed_and_received() {
    let valid = frame(Dialect::V5);
    let received = get_u32(&valid, CHECKSUM_AT);
    // Damage anywhere is caught, the header included: the CRC covers the whole frame.
    for at in [
        NUMBER_AT,
        FROM_AT + 1,
        TO_AT + 31,
        VERB_AT + 3,
        FLAGS_AT,
        TEXT_AT,
        TEXT_AT + 255,
    ] {
        let mut bad = valid;
        bad[at] ^= 0x10;
        let err = decode_err(&bad);
        assert_eq!(
            err,
            DecodeError::ChecksumMismatch {
                header: header_of(&bad),
                computed: frame_crc(&bad),
                received,
            },
            "damage at byte {at}"
        );
    }
    // A damaged checksum field.
    let mut bad = valid;
    set_u32(&mut bad, CHECKSUM_AT, received ^ 0x8000_0000);
    assert_eq!(
        decode_err(&bad),
        DecodeError::ChecksumMismatch {
            header: header_of(&bad),
            computed: received,
            received: received ^ 0x8000_0000,
        }
    );
}

#[test]
fn v4_checksum_mismatch_reports_computed_and_received() {
    let valid = frame(Dialect::Legacy);
    // "hello" → "jello": the code-point sum goes up by 2.
    let mut bad = valid;
    bad[TEXT_AT] = b'j';
    assert_eq!(
        decode_err(&bad),
        DecodeError::ChecksumMismatch {
            header: header_of(&bad),
            computed: 534,
            received: 532,
        }
    );
    // A character added in the padding counts too.
    let mut bad = valid;
    bad[TEXT_AT + 200] = b'!';
    assert_eq!(
        decode_err(&bad),
        DecodeError::ChecksumMismatch {
            header: header_of(&bad),
            computed: 532 + 33,
            received: 532,
        }
    );
    // A damaged checksum field.
    let mut bad = valid;
    set_u32(&mut bad, CHECKSUM_AT, 533);
    assert_eq!(
        decode_err(&bad),
        DecodeError::ChecksumMismatch {
            header: header_of(&bad),
            computed: 532,
            received: 533,
        }
    );
}

/// in v4 nothing but the text is covered, so damage elsewhere goes unnoticed.
#[test]
fn v4_checksum_covers_only_the_text() {
    let mut damaged = frame(Dialect::Legacy);
    damaged[NUMBER_AT] ^= 0xFF;
    damaged[FROM_AT] = b'A';
    let packet = Packet::decode(&damaged).unwrap();
    assert_eq!(packet.from(), "Alice");
    assert_eq!(packet.number(), 0x0102_03FB);
}

/// a damaged v5 frame is answered RESEND whatever else looks wrong in it.
#[test]
fn v5_checksum_is_checked_before_everything_else_in_the_frame() {
    let mut bad = frame(Dialect::V5);
    bad[FLAGS_AT] = 0x80;
    set_u32(&mut bad, VERB_AT, 9);
    bad[FROM_AT + 20] = b'x';
    bad[TEXT_AT] = 0xFF;
    assert!(matches!(
        decode_err(&bad),
        DecodeError::ChecksumMismatch { .. }
    ));
}

/// RESEND answers damage, and only damage; every other refusal is answered ERROR.
#[test]
fn only_a_checksum_mismatch_wants_resend() {
    let mut errors = vec![decode_err(&[0; 10])];
    for dialect in DIALECTS {
        let breakers: [fn(&mut [u8; FRAME_LEN]); 6] = [
            |f| set_u32(f, VERSION_AT, 9),
            |f| f[TEXT_AT + 1] ^= 1,
            |f| f[FLAGS_AT] = 0x40,
            |f| f[FROM_AT] = 0xFF,
            |f| f[TO_AT + 10] = b'x',
            |f| set_u32(f, VERB_AT, 9),
        ];
        for (i, breaker) in breakers.iter().enumerate() {
            let mut bad = frame(dialect);
            breaker(&mut bad);
            // Repair the checksum for every case but the one meant to damage it.
            if i != 1 {
                fix_checksum(&mut bad);
            }
            errors.push(decode_err(&bad));
        }
    }
    let mut resends = 0;
    for err in &errors {
        let mismatch = matches!(err, DecodeError::ChecksumMismatch { .. });
        assert_eq!(err.wants_resend(), mismatch, "{err:?}");
        resends += usize::from(mismatch);
    }
    assert_eq!(resends, 2, "one checksum mismatch per dialect: {errors:?}");
}

// ---------------------------------------------------------------------------------------------------------
// flags

#[test]
fn v5_reserved_flag_bits_are_refused() {
    for flags in [0b100, 0b111, 0x08, 0x80, 0xFF] {
        let mut bad = frame(Dialect::V5);
        bad[FLAGS_AT] = flags;
        fix_checksum(&mut bad);
        assert_eq!(
            decode_err(&bad),
            DecodeError::ReservedFlags {
                header: header_of(&bad),
                flags
            }
        );
    }
    for bits in 0..=3 {
        let mut good = frame(Dialect::V5);
        good[FLAGS_AT] = bits;
        fix_checksum(&mut good);
        assert_eq!(Packet::decode(&good).unwrap().flags().bits(), bits);
    }
}

#[test]
fn v4_flags_other_than_0_or_1_are_refused() {
    // MORE_FRAGMENTS (2) does not exist in v4. The v4 checksum does not cover the flags.
    for flags in [2, 3, 0x80, 0xFF] {
        let mut bad = frame(Dialect::Legacy);
        bad[FLAGS_AT] = flags;
        assert_eq!(
            decode_err(&bad),
            DecodeError::ReservedFlags {
                header: header_of(&bad),
                flags
            }
        );
    }
    for bits in 0..=1 {
        let mut good = frame(Dialect::Legacy);
        good[FLAGS_AT] = bits;
        assert_eq!(Packet::decode(&good).unwrap().flags().bits(), bits);
    }
}

// ---------------------------------------------------------------------------------------------------------
// UTF-8

#[test]
fn invalid_utf8_is_refused_in_every_field_in_both_dialects() {
    let bad_sequences: [&[u8]; 5] = [
        b"\xFF",         // never valid
        b"ab\xC3",       // a two-byte char cut short by the padding
        b"\xC0\xAF",     // overlong encoding of '/'
        b"\xED\xA0\x80", // a UTF-16 surrogate
        b"x\x80y",       // a lone continuation byte
    ];
    for dialect in DIALECTS {
        for (at, width, field) in FIELDS {
            for bytes in bad_sequences {
                let mut bad = frame(dialect);
                set_field(&mut bad, at, width, bytes);
                // In v4 a non-UTF-8 text has no checksum to repair; its UTF-8 is what gets refused.
                fix_checksum(&mut bad);
                assert_eq!(
                    decode_err(&bad),
                    DecodeError::InvalidUtf8 {
                        header: header_of(&bad),
                        field
                    },
                    "{dialect} {field} {bytes:x?}"
                );
            }
        }
    }
}

/// what follows an interior NUL in v4 text is text, so it must be UTF-8 too.
#[test]
fn v4_text_after_an_interior_nul_must_be_utf8() {
    let mut bad = frame(Dialect::Legacy);
    set_field(&mut bad, TEXT_AT, TEXT_LEN, b"ok\0\xFF");
    assert_eq!(
        decode_err(&bad),
        DecodeError::InvalidUtf8 {
            header: header_of(&bad),
            field: Field::Text
        }
    );
}

// ---------------------------------------------------------------------------------------------------------
// padding

#[test]
fn v5_non_canonical_padding_is_refused_in_every_field() {
    for (at, width, field) in FIELDS {
        // (content, offset of the stray byte within the field, the stray byte)
        let cases: [(&[u8], usize, u8); 5] = [
            (b"bob", 10, b'x'),
            (b"bob", 4, b'x'),
            (b"bob", width - 1, b'x'),
            (b"", 1, b'x'),    // empty content, stray byte right after the first NUL
            (b"bob", 7, 0xFF), // a stray byte that is not even UTF-8
        ];
        for (content, offset, stray) in cases {
            let mut bad = frame(Dialect::V5);
            set_field(&mut bad, at, width, content);
            bad[at + offset] = stray;
            fix_checksum(&mut bad);
            assert_eq!(
                decode_err(&bad),
                DecodeError::NonCanonicalPadding {
                    header: header_of(&bad),
                    field,
                    offset
                },
                "{field} {content:?} stray at {offset}"
            );
        }
    }
}

/// an interior NUL in v5 text ends the content, so what follows is stray padding.
#[test]
fn v5_interior_nul_in_text_is_non_canonical_padding() {
    let mut bad = frame(Dialect::V5);
    set_field(&mut bad, TEXT_AT, TEXT_LEN, b"a\0b");
    fix_checksum(&mut bad);
    assert_eq!(
        decode_err(&bad),
        DecodeError::NonCanonicalPadding {
            header: header_of(&bad),
            field: Field::Text,
            offset: 2
        }
    );
}

/// v4 names are padded as in v5.
#[test]
fn v4_non_canonical_padding_in_names_is_refused() {
    for (at, width, field) in &FIELDS[..2] {
        for (content, offset) in [(&b"al\0ce"[..], 3), (b"", 31), (b"bob", 4)] {
            let mut bad = frame(Dialect::Legacy);
            set_field(&mut bad, *at, *width, content);
            bad[at + offset] = b'z';
            assert_eq!(
                decode_err(&bad),
                DecodeError::NonCanonicalPadding {
                    header: header_of(&bad),
                    field: *field,
                    offset
                },
                "{field} {content:?}"
            );
        }
    }
}

/// v4 text keeps its interior NULs (only trailing ones are padding), and the frame re-encodes to
/// exactly the same bytes.
#[test]
fn v4_interior_nuls_in_text_are_kept_and_round_trip() {
    let texts: [&[u8]; 4] = [
        b"alice\0\0\0\0, bob", // the original server's WHO reply
        b"\0leading",
        b"a\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0z",
        b"\0\0\xC3\xA9\0\xE2\x82\xAC", // "\0\0é\0€"
    ];
    for content in texts {
        let mut frame = frame(Dialect::Legacy);
        set_field(&mut frame, TEXT_AT, TEXT_LEN, content);
        fix_checksum(&mut frame);
        let packet = Packet::decode(&frame).unwrap();
        assert_eq!(packet.text().as_bytes(), content);
        assert!(packet.text().contains_nul());
        assert_eq!(
            PacketView::decode(&frame).unwrap().text().as_bytes(),
            content
        );
        assert_eq!(packet.encode(), frame);
        // The same packet built by hand.
        let text = Text::legacy(std::str::from_utf8(content).unwrap()).unwrap();
        assert_eq!(sample(Dialect::Legacy).with_text(text).unwrap(), packet);
    }
    // Text right up to the last byte of the field, NULs before it.
    let mut frame = frame(Dialect::Legacy);
    set_field(&mut frame, TEXT_AT, TEXT_LEN, b"");
    frame[TEXT_AT + TEXT_LEN - 1] = b'!';
    fix_checksum(&mut frame);
    let packet = Packet::decode(&frame).unwrap();
    assert_eq!(packet.text().len(), TEXT_LEN);
    assert_eq!(packet.encode(), frame);
}

// ---------------------------------------------------------------------------------------------------------
// verbs

#[test]
fn unknown_verbs_are_refused_with_the_header() {
    for dialect in DIALECTS {
        // 0x0100_0000 is BROADCAST read big-endian.
        for verb in [9, 15, 1000, 0x0100_0000, u32::MAX] {
            let mut bad = frame(dialect);
            set_u32(&mut bad, VERB_AT, verb);
            fix_checksum(&mut bad);
            let err = decode_err(&bad);
            assert_eq!(
                err,
                DecodeError::UnknownVerb {
                    header: header_of(&bad)
                }
            );
            assert_eq!(err.header().unwrap().verb, Verb::from_u32(verb));
            assert!(!err.wants_resend());
        }
        for &verb in Verb::ALL {
            let mut good = frame(dialect);
            set_u32(&mut good, VERB_AT, verb.to_u32());
            fix_checksum(&mut good);
            assert_eq!(Packet::decode(&good).unwrap().verb(), verb);
        }
    }
}

// ---------------------------------------------------------------------------------------------------------
// ValidationError: packets that cannot be built

#[test]
fn names_and_texts_longer_than_their_field_are_refused() {
    assert_eq!(
        Name::new(&"a".repeat(33)),
        Err(ValidationError::TooLong {
            field: Field::Name,
            len: 33,
            max: 32
        })
    );
    // 17 two-byte chars: 17 characters but 34 bytes. The limit is in bytes.
    assert_eq!(
        Name::legacy(&"é".repeat(17)),
        Err(ValidationError::TooLong {
            field: Field::Name,
            len: 34,
            max: 32
        })
    );
    assert_eq!(
        Text::new(&"a".repeat(257)),
        Err(ValidationError::TooLong {
            field: Field::Text,
            len: 257,
            max: 256
        })
    );
    assert_eq!(
        Text::legacy(&"€".repeat(86)),
        Err(ValidationError::TooLong {
            field: Field::Text,
            len: 258,
            max: 256
        })
    );
    // Exactly full is fine.
    assert_eq!(Name::new(&"é".repeat(16)).unwrap().len(), 32);
    assert_eq!(Text::new(&"😀".repeat(64)).unwrap().len(), 256);
}

#[test]
fn nul_in_v5_text_is_refused() {
    assert_eq!(
        Text::new("a\0b"),
        Err(ValidationError::ContainsNul { field: Field::Text })
    );
    let with_nul = Text::legacy("a\0b").unwrap();
    let p = sample(Dialect::V5);
    assert_eq!(
        Packet::new(Dialect::V5, p.verb(), *p.from(), *p.to(), with_nul),
        Err(ValidationError::ContainsNul { field: Field::Text })
    );
    assert_eq!(
        p.with_text(with_nul),
        Err(ValidationError::ContainsNul { field: Field::Text })
    );
    // v4 keeps it.
    assert!(sample(Dialect::Legacy).with_text(with_nul).is_ok());
}

#[test]
fn nul_in_names_is_refused_in_both_dialects() {
    assert_eq!(
        Name::new("a\0b"),
        Err(ValidationError::ContainsNul { field: Field::Name })
    );
    let with_nul = Name::legacy("a\0b").unwrap();
    for dialect in DIALECTS {
        assert_eq!(
            Packet::new(dialect, Verb::WHO, with_nul, Name::ALL, Text::EMPTY),
            Err(ValidationError::ContainsNul {
                field: Field::FromName
            })
        );
        assert_eq!(
            Packet::new(dialect, Verb::WHO, Name::SERVER, with_nul, Text::EMPTY),
            Err(ValidationError::ContainsNul {
                field: Field::ToName
            })
        );
    }
}

/// content ending in NUL would read back as padding.
#[test]
fn trailing_nul_is_refused() {
    assert_eq!(
        Text::legacy("ab\0"),
        Err(ValidationError::TrailingNul { field: Field::Text })
    );
    assert_eq!(
        Text::legacy("\0"),
        Err(ValidationError::TrailingNul { field: Field::Text })
    );
    assert_eq!(
        Name::legacy("ab\0"),
        Err(ValidationError::TrailingNul { field: Field::Name })
    );
    assert!(Text::new("ab\0").is_err());
}

/// v4 has no more-fragments flag.
#[test]
fn more_fragments_on_a_v4_packet_is_refused() {
    let legacy = sample(Dialect::Legacy);
    assert_eq!(
        legacy.with_flags(Flags::MORE_FRAGMENTS),
        Err(ValidationError::FlagsNotInDialect {
            flags: 0b10,
            dialect: Dialect::Legacy
        })
    );
    assert_eq!(
        legacy.with_flags(Flags::ENCRYPTED | Flags::MORE_FRAGMENTS),
        Err(ValidationError::FlagsNotInDialect {
            flags: 0b11,
            dialect: Dialect::Legacy
        })
    );
    assert!(legacy.with_flags(Flags::ENCRYPTED).is_ok());
    assert!(sample(Dialect::V5)
        .with_flags(Flags::ENCRYPTED | Flags::MORE_FRAGMENTS)
        .is_ok());
}
