//! Splitting long messages into packets and joining them back (PROTOCOL.md §6).

mod common;

use chatproto::cipher;
use chatproto::fragment::DEFAULT_LIMIT;
use chatproto::{
    Dialect, Field, Flags, Fragments, Message, Name, Packet, Reassembler, ReassemblyError, Text,
    ValidationError, Verb,
};
use common::*;

fn split(template: Packet, message: &str) -> Vec<Packet> {
    Fragments::new(template, message).unwrap().collect()
}

/// Pushes every packet, expecting nothing until the last, and returns what the last one completes.
fn reassemble(reassembler: &mut Reassembler, packets: &[Packet]) -> Message {
    let (last, init) = packets.split_last().unwrap();
    for p in init {
        assert_eq!(reassembler.push(p), Ok(None));
    }
    reassembler
        .push(last)
        .unwrap()
        .expect("the last fragment completes the message")
}

fn texts(packets: &[Packet]) -> Vec<&str> {
    packets.iter().map(|p| p.text().as_str()).collect()
}

// ---------------------------------------------------------------------------------------------------------
// Splitting

#[test]
fn split_points_fall_exactly_on_the_256_byte_limit() {
    let v5 = template(Dialect::V5);
    for (len, pieces) in [
        (0, vec![0]),
        (1, vec![1]),
        (256, vec![256]),
        (257, vec![256, 1]),
        (512, vec![256, 256]),
        (513, vec![256, 256, 1]),
    ] {
        let message = "m".repeat(len);
        let packets = split(v5, &message);
        let lens: Vec<usize> = packets.iter().map(|p| p.text().len()).collect();
        assert_eq!(lens, pieces, "{len}-byte message");
        for (i, p) in packets.iter().enumerate() {
            assert_eq!(p.flags().has_more_fragments(), i + 1 < packets.len());
        }
    }
}

#[test]
fn an_empty_message_is_one_empty_packet() {
    for dialect in DIALECTS {
        let packets = split(template(dialect), "");
        assert_eq!(packets.len(), 1);
        assert!(packets[0].text().is_empty());
        assert!(!packets[0].flags().has_more_fragments());
        let out = Reassembler::default().push(&packets[0]).unwrap().unwrap();
        assert_eq!(out.text, "");
    }
}

/// the split never cuts a character, and takes as much as fits.
#[test]
fn split_never_cuts_a_multibyte_character() {
    let v5 = template(Dialect::V5);
    // Four-byte chars: 64 fit exactly.
    let emoji = "😀".repeat(200);
    assert_eq!(
        texts(&split(v5, &emoji)),
        [
            "😀".repeat(64),
            "😀".repeat(64),
            "😀".repeat(64),
            "😀".repeat(8)
        ]
    );
    // Three-byte chars: 85 fit (255 bytes), the 86th would not.
    let euros = "€".repeat(200);
    assert_eq!(
        texts(&split(v5, &euros)),
        ["€".repeat(85), "€".repeat(85), "€".repeat(30)]
    );
    // Shifted by one ASCII byte, the three-byte chars end exactly on 256.
    let shifted = format!("a{}", "€".repeat(100));
    assert_eq!(
        texts(&split(v5, &shifted)),
        [format!("a{}", "€".repeat(85)), "€".repeat(15)]
    );
    // A four-byte char straddling byte 256 moves whole into the next packet.
    let straddling = format!("{}😀tail", "a".repeat(254));
    assert_eq!(
        texts(&split(v5, &straddling)),
        ["a".repeat(254), "😀tail".to_owned()]
    );
}

/// v4 peers cannot reassemble, so each piece goes as a whole message with no more-fragments flag.
#[test]
fn v4_sends_each_piece_as_a_whole_message() {
    let message = format!("{}{}", "x".repeat(300), "é".repeat(150));
    let packets = split(template(Dialect::Legacy), &message);
    assert_eq!(packets.len(), 3);
    let mut reassembler = Reassembler::default();
    let mut joined = String::new();
    for p in &packets {
        assert_eq!(p.dialect(), Dialect::Legacy);
        assert!(!p.flags().has_more_fragments());
        let received = Packet::decode(&p.encode()).unwrap();
        let out = reassembler
            .push(&received)
            .unwrap()
            .expect("a whole message");
        assert_eq!(out.text, p.text().as_str());
        joined.push_str(&out.text);
    }
    assert_eq!(joined, message);
}

#[test]
fn fragments_carry_the_template_header_but_not_its_text_or_more_flag() {
    let template = template(Dialect::V5)
        .with_number(42)
        .with_text(Text::new("ignored").unwrap())
        .unwrap()
        .with_flags(Flags::MORE_FRAGMENTS)
        .unwrap();
    let packets = split(template, "short");
    assert_eq!(packets.len(), 1);
    let p = packets[0];
    assert_eq!(p.text(), "short");
    assert_eq!(p.flags(), Flags::NONE);
    assert_eq!(
        (p.dialect(), p.number(), p.verb(), p.from(), p.to()),
        (
            Dialect::V5,
            42,
            Verb::BROADCAST,
            &Name::new("ann").unwrap(),
            &Name::ALL
        )
    );
}

/// with the encrypted flag every fragment is enciphered; the reassembled message is plain.
#[test]
fn encrypted_messages_are_enciphered_per_fragment_and_reassembled_plain() {
    let template = template(Dialect::V5).with_flags(Flags::ENCRYPTED).unwrap();
    let message = "hello, world! ".repeat(40);
    let packets = split(template, &message);
    assert_eq!(packets.len(), 3);
    for p in &packets {
        assert!(p.flags().is_encrypted());
        assert!(p.text().as_bytes().iter().all(|b| (32..=126).contains(b)));
    }
    // "hello" enciphers to "uryy|" (R-5.1's own example).
    assert!(packets[0].text().as_str().starts_with("uryy|"));
    let plain: String = packets
        .iter()
        .map(|p| cipher::decipher(p.text().as_str()))
        .collect();
    assert_eq!(plain, message);
    let out = reassemble(&mut Reassembler::default(), &packets);
    assert!(out.encrypted);
    assert_eq!(out.text, message);
}

// v5 text cannot hold NUL.
#[test]
fn a_v5_message_holding_nul_cannot_be_split() {
    assert_eq!(
        Fragments::new(template(Dialect::V5), "a\0b").err(),
        Some(ValidationError::ContainsNul { field: Field::Text })
    );
}

// in v4 interior NULs are text and go as they are; a piece that would end in NUL cannot, since the
// NUL would read as padding.
#[test]
fn a_v4_message_keeps_its_interior_nuls_but_no_piece_may_end_in_one() {
    let packets: Vec<Packet> = Fragments::new(template(Dialect::Legacy), "a\0b")
        .unwrap()
        .collect();
    assert_eq!(packets.len(), 1);
    assert_eq!(packets[0].text().as_str(), "a\0b");
    assert_eq!(
        Fragments::new(template(Dialect::Legacy), "ab\0").err(),
        Some(ValidationError::TrailingNul { field: Field::Text })
    );
    let split_after_nul = format!("{}\0{}", "x".repeat(255), "y");
    assert_eq!(
        Fragments::new(template(Dialect::Legacy), &split_after_nul).err(),
        Some(ValidationError::TrailingNul { field: Field::Text })
    );
    let split_elsewhere = format!("{}\0{}", "x".repeat(200), "y".repeat(100));
    let pieces: Vec<String> = Fragments::new(template(Dialect::Legacy), &split_elsewhere)
        .unwrap()
        .map(|p| p.text().as_str().to_owned())
        .collect();
    assert_eq!(pieces.concat(), split_elsewhere);
}

#[test]
fn len_and_remaining_count_exactly_what_is_yielded() {
    for dialect in DIALECTS {
        for len in [0, 1, 255, 256, 257, 1000, 5000] {
            let message = "é".repeat(len / 2) + &"z".repeat(len % 2);
            let mut fragments = Fragments::new(template(dialect), &message).unwrap();
            let total = fragments.len();
            assert_eq!(fragments.size_hint(), (total, Some(total)));
            let mut yielded = 0;
            loop {
                let remaining = fragments.remaining();
                assert_eq!(fragments.len(), remaining);
                assert_eq!(remaining, total - yielded);
                match fragments.next() {
                    Some(_) => yielded += 1,
                    None => break,
                }
            }
            assert_eq!(yielded, total, "{len}-byte message");
            assert_eq!(fragments.remaining(), 0);
            assert_eq!(fragments.next(), None);
        }
    }
}

// ---------------------------------------------------------------------------------------------------------
// Reassembling

/// a packet of another message before the last fragment discards both; the next message is fine.
#[test]
fn an_interleaved_packet_is_refused_and_the_next_message_still_works() {
    let ann = template(Dialect::V5);
    let bob = Packet::new(
        Dialect::V5,
        Verb::PRIVATE_MESSAGE,
        Name::new("bob").unwrap(),
        Name::new("ann").unwrap(),
        Text::new("hi").unwrap(),
    )
    .unwrap();
    let long = split(ann, &"a".repeat(600));
    let mut reassembler = Reassembler::default();
    assert_eq!(reassembler.push(&long[0]), Ok(None));
    assert_eq!(reassembler.buffered(), 256);
    assert_eq!(
        reassembler.push(&bob),
        Err(ReassemblyError::Interleaved {
            verb: Verb::BROADCAST,
            from: Name::new("ann").unwrap(),
            got_verb: Verb::PRIVATE_MESSAGE,
            got_from: Name::new("bob").unwrap(),
        })
    );
    assert_eq!(reassembler.buffered(), 0);

    // The rest of the interrupted message is dropped rather than delivered without its head.
    assert_eq!(reassembler.push(&long[1]), Ok(None));
    assert_eq!(reassembler.push(&long[2]), Ok(None));
    assert_eq!(reassembler.buffered(), 0);

    // A whole message, then a fragmented one, go through untouched.
    let out = reassembler.push(&bob).unwrap().unwrap();
    assert_eq!((out.verb, out.text.as_str()), (Verb::PRIVATE_MESSAGE, "hi"));
    let message = "b".repeat(700);
    assert_eq!(
        reassemble(&mut reassembler, &split(ann, &message)).text,
        message
    );
}

/// the fragments of one message share verb, sender, recipient and encrypted flag; a change in any of
/// them is another message.
#[test]
fn a_change_of_verb_sender_recipient_or_encrypted_flag_is_interleaving() {
    let first = split(template(Dialect::V5), &"x".repeat(300))[0];
    let tail = Packet::new(
        Dialect::V5,
        Verb::BROADCAST,
        Name::new("ann").unwrap(),
        Name::ALL,
        Text::new("end").unwrap(),
    )
    .unwrap();
    let others = [
        Packet::new(
            Dialect::V5,
            Verb::ROOM_MESSAGE,
            *tail.from(),
            *tail.to(),
            *tail.text(),
        )
        .unwrap(),
        Packet::new(
            Dialect::V5,
            tail.verb(),
            Name::new("bob").unwrap(),
            *tail.to(),
            *tail.text(),
        )
        .unwrap(),
        Packet::new(
            Dialect::V5,
            tail.verb(),
            *tail.from(),
            Name::SERVER,
            *tail.text(),
        )
        .unwrap(),
        tail.with_flags(Flags::ENCRYPTED).unwrap(),
    ];
    for other in others {
        let mut reassembler = Reassembler::default();
        assert_eq!(reassembler.push(&first), Ok(None));
        assert!(
            matches!(
                reassembler.push(&other),
                Err(ReassemblyError::Interleaved { .. })
            ),
            "{other:?}"
        );
        assert_eq!(reassembler.buffered(), 0);
    }
    // The same header continues the message.
    let mut reassembler = Reassembler::default();
    assert_eq!(reassembler.push(&first), Ok(None));
    let out = reassembler.push(&tail).unwrap().unwrap();
    assert_eq!(out.text, format!("{}end", "x".repeat(256)));
}

/// an overlong message is refused once, the rest of its fragments are dropped without being buffered,
/// and the next message is fine.
#[test]
fn an_overlong_message_is_refused_and_its_remaining_fragments_dropped() {
    let ann = template(Dialect::V5);
    let mut reassembler = Reassembler::new(1000);
    assert_eq!(reassembler.limit(), 1000);
    let packets = split(ann, &"x".repeat(2000));
    assert_eq!(packets.len(), 8);
    for (i, p) in packets[..3].iter().enumerate() {
        assert_eq!(reassembler.push(p), Ok(None));
        assert_eq!(reassembler.buffered(), 256 * (i + 1));
    }
    // 768 + 256 > 1000.
    assert_eq!(
        reassembler.push(&packets[3]),
        Err(ReassemblyError::TooLong {
            from: Name::new("ann").unwrap(),
            limit: 1000
        })
    );
    assert_eq!(reassembler.buffered(), 0);
    for p in &packets[4..] {
        assert_eq!(reassembler.push(p), Ok(None));
        assert_eq!(reassembler.buffered(), 0);
    }
    let message = "y".repeat(600);
    assert_eq!(
        reassemble(&mut reassembler, &split(ann, &message)).text,
        message
    );
}

#[test]
fn the_limit_is_inclusive() {
    let ann = template(Dialect::V5);
    let at_limit = "z".repeat(DEFAULT_LIMIT);
    let mut reassembler = Reassembler::default();
    assert_eq!(reassembler.limit(), DEFAULT_LIMIT);
    assert_eq!(
        reassemble(&mut reassembler, &split(ann, &at_limit)).text,
        at_limit
    );

    let over = "z".repeat(DEFAULT_LIMIT + 1);
    let packets = split(ann, &over);
    let results: Vec<_> = packets.iter().map(|p| reassembler.push(p)).collect();
    let errors = results.iter().filter(|r| r.is_err()).count();
    assert_eq!(errors, 1);
    assert!(results
        .iter()
        .all(|r| matches!(r, Ok(None) | Err(ReassemblyError::TooLong { .. }))));

    // A single packet longer than a small limit.
    let mut small = Reassembler::new(10);
    assert_eq!(
        small.push(&split(ann, &"q".repeat(11))[0]),
        Err(ReassemblyError::TooLong {
            from: Name::new("ann").unwrap(),
            limit: 10
        })
    );
    assert_eq!(
        small
            .push(&split(ann, &"q".repeat(10))[0])
            .unwrap()
            .unwrap()
            .text
            .len(),
        10
    );
}

/// memory stays bounded however long a message claims to be.
#[test]
fn buffered_bytes_never_exceed_the_limit_under_an_endless_message() {
    let endless = template(Dialect::V5)
        .with_text(Text::new(&"e".repeat(TEXT_LEN)).unwrap())
        .unwrap()
        .with_flags(Flags::MORE_FRAGMENTS)
        .unwrap();
    let mut reassembler = Reassembler::default();
    let mut errors = 0;
    let packets = 10 * 1024 * 1024 / TEXT_LEN;
    for _ in 0..packets {
        match reassembler.push(&endless) {
            Ok(None) => {}
            Err(ReassemblyError::TooLong { limit, .. }) => {
                assert_eq!(limit, DEFAULT_LIMIT);
                errors += 1;
            }
            other => panic!("unexpected {other:?}"),
        }
        assert!(reassembler.buffered() <= DEFAULT_LIMIT);
    }
    assert_eq!(errors, 1, "refused once, then dropped quietly");
    assert_eq!(reassembler.buffered(), 0);
    // Its last fragment ends the discarded message; the next one is fine.
    let last = endless.with_flags(Flags::NONE).unwrap();
    assert_eq!(reassembler.push(&last), Ok(None));
    let out = reassembler.push(&split(template(Dialect::V5), "after")[0]);
    assert_eq!(out.unwrap().unwrap().text, "after");
}

/// when the interrupting packet starts a message of its own, its tail is dropped too, so neither
/// message is delivered without its beginning.
#[test]
fn neither_interleaved_message_is_delivered_headless() {
    let ann = template(Dialect::V5);
    let bob = Packet::new(
        Dialect::V5,
        Verb::PRIVATE_MESSAGE,
        Name::new("bob").unwrap(),
        Name::new("ann").unwrap(),
        Text::EMPTY,
    )
    .unwrap();
    let first = split(ann, &"a".repeat(600));
    let second = split(bob, &"b".repeat(600));
    let mut reassembler = Reassembler::default();
    assert_eq!(reassembler.push(&first[0]), Ok(None));
    assert!(matches!(
        reassembler.push(&second[0]),
        Err(ReassemblyError::Interleaved { .. })
    ));
    // The tails of both, in either order, produce nothing.
    for packet in [&second[1], &first[1], &second[2], &first[2]] {
        assert_eq!(reassembler.push(packet), Ok(None));
    }
    assert_eq!(reassembler.buffered(), 0);
    // And then both senders are heard again.
    assert_eq!(reassemble(&mut reassembler, &second).text, "b".repeat(600));
    assert_eq!(reassemble(&mut reassembler, &first).text, "a".repeat(600));
}
