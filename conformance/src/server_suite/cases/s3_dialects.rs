//! §3, the dialects: versions, checksums, flags, numbering, padding, RESEND and CONFIRM.

use std::collections::BTreeSet;

use chatproto::sim::SplitMix64;
use chatproto::wire::layout::{CHECKSUM_AT, FROM_AT, TO_AT};
use chatproto::{Name, Packet, Text};

use super::common::*;

pub(super) const CASES: &[Case] = &[
    Case::new(
        "R-3.1/1",
        "a frame of version 6, or 5 written big-endian, with a matching CRC-32 is refused",
        |c| Box::pin(unknown_version_refused(c)),
    ),
    Case::new(
        "R-3.1/2",
        "a frame of unknown version whose CRC-32 does not match is damaged: answered with RESEND",
        |c| Box::pin(unknown_version_damaged(c)),
    ),
    Case::new(
        "R-3.1/3",
        "a frame of unknown version whose CRC-32 matches is answered with ERROR",
        |c| Box::pin(unknown_version_error(c)),
    )
    .strict(),
    Case::new(
        "R-3.2/1",
        "v4 frames from the server carry the sum of the text's code points",
        |c| Box::pin(legacy_checksum_sent(c)),
    )
    .v4(),
    Case::new(
        "R-3.2/2",
        "a v4 frame whose code-point sum is wrong gets RESEND, and the frame sent again is accepted",
        |c| Box::pin(legacy_checksum_checked(c)),
    )
    .v4(),
    Case::new(
        "R-3.3/1",
        "a v4 frame with flags 2, 3 or 0x80 is refused",
        |c| Box::pin(legacy_flags_refused(c)),
    )
    .v4(),
    Case::new(
        "R-3.3/2",
        "a v4 frame with flags 1 (encrypted) is accepted and relayed with the flag",
        |c| Box::pin(legacy_flag_one_accepted(c)),
    )
    .v4()
    .needs(&[Feature::Cipher]),
    Case::new(
        "R-3.4/1",
        "the server's v4 frames carry packet_number 1",
        |c| Box::pin(legacy_numbers_are_one(c)),
    )
    .v4()
    .strict(),
    Case::new(
        "R-3.4/2",
        "v4 frames numbered 0, 7 and 0xFFFFFFFF are all acted on: the number is ignored",
        |c| Box::pin(legacy_numbers_ignored(c)),
    )
    .v4(),
    // Alone: a server that cannot carry the NULs may drop every v4 session it relays them to.
    Case::new(
        "R-3.5/1",
        "interior NULs of v4 text are kept: relayed to a v4 user byte for byte",
        |c| Box::pin(legacy_interior_nuls(c)),
    )
    .v4()
    .alone(),
    Case::new(
        "R-3.5/2",
        "a v4 name with a byte after its first NUL is refused",
        |c| Box::pin(legacy_name_padding(c)),
    )
    .v4(),
    Case::new(
        "R-3.6/1",
        "a v4 RESEND makes the server send its last packet again, byte for byte",
        |c| Box::pin(legacy_resend(c)),
    )
    .v4(),
    Case::new(
        "R-3.6/2",
        "the server confirms every v4 data packet, and never retransmits to a v4 client",
        |c| Box::pin(legacy_reliability(c)),
    )
    .v4(),
    Case::new(
        "R-3.7/1",
        "v5 frames from the server carry the CRC-32 of the frame with the checksum zeroed",
        |c| Box::pin(crc_sent(c)),
    )
    .v5(),
    Case::new(
        "R-3.7/2",
        "damage to to_name alone is caught by the v5 CRC-32: RESEND, then the clean frame is accepted",
        |c| Box::pin(crc_covers_names(c)),
    )
    .v5(),
    Case::new(
        "R-3.8/1",
        "a v5 frame with a byte after the NUL padding of its text is refused",
        |c| Box::pin(noncanonical_text(c)),
    )
    .v5(),
    Case::new(
        "R-3.8/2",
        "a v5 frame with a byte after the NUL padding of to_name or from_name is refused",
        |c| Box::pin(noncanonical_names(c)),
    )
    .v5(),
    Case::new(
        "R-3.9/1",
        "a v5 frame with a reserved flag bit (0x04, 0x80, 0xFC) is refused",
        |c| Box::pin(reserved_flags(c)),
    )
    .v5(),
    Case::new(
        "R-3.10/1",
        "the server numbers its v5 data packets 1, 2, 3 … with no gap",
        |c| Box::pin(server_numbering(c)),
    )
    .v5(),
    Case::new(
        "R-3.11/1",
        "a frame with a bad checksum gets RESEND, and the same frame sent again is accepted",
        |c| Box::pin(bad_checksum(c)),
    ),
    Case::new(
        "R-3.11/2",
        "CONFIRM and RESEND from a client are never answered",
        |c| Box::pin(control_not_answered(c)),
    ),
    Case::new(
        "R-3.11/3",
        "random 337-byte frames each get RESEND, none is acted on, and the server goes on serving",
        |c| Box::pin(garbage_frames(c)),
    ),
    Case::new(
        "R-3.12/1",
        "CONFIRM and RESEND carry the number of the packet they refer to; a CONFIRM's text is empty or \
         decimal",
        |c| Box::pin(control_numbers(c)),
    )
    .v5(),
];

/// A good frame whose version is changed and CRC-32 recomputed.
fn with_version(frame: Frame, version: u32) -> Frame {
    frames::with_version(frame, version)
}

async fn unknown_version_refused(ctx: Ctx) -> Check {
    let (mut ann, mut bob) = pair(&ctx).await?;
    let bad = ctx.name("v6");
    for version in [6, 0x0500_0000] {
        let frame = with_version(frame(&ann, Verb::BROADCAST, "ALL", &bad)?, version);
        ann.send_frame(&frame).await?;
    }
    refused_and_still_serving(&ctx, &mut ann, &mut bob, &bad, "frames of version 6").await
}

async fn unknown_version_damaged(ctx: Ctx) -> Check {
    let (mut ann, mut bob) = pair(&ctx).await?;
    let bad = ctx.name("v6");
    let number = ann.peek_number();
    let frame = frames::damaged(with_version(frame(&ann, Verb::BROADCAST, "ALL", &bad)?, 6));
    let resend = resend_of(ann.dialect(), number);
    ann.send_expecting(&frame, &format!("RESEND {number}"), resend)
        .await?;
    not_acted_on(
        &ctx,
        &mut ann,
        &mut bob,
        &bad,
        "a damaged frame of version 6",
    )
    .await
}

async fn unknown_version_error(ctx: Ctx) -> Check {
    let mut ann = ctx.user("ann").await?;
    let frame = with_version(frame(&ann, Verb::BROADCAST, "ALL", "v6")?, 6);
    let error = ann
        .send_expecting(&frame, "ERROR after a frame of version 6", Msg::is_error)
        .await?;
    check!(
        !error.text.is_empty(),
        "the ERROR should say why in words; its text is empty"
    );
    Ok(())
}

/// The code-point sum of, computed here from the definition.
fn code_point_sum(text: &str) -> u32 {
    text.chars().map(u32::from).sum()
}

async fn legacy_checksum_sent(ctx: Ctx) -> Check {
    let (mut ann, mut bob) = pair(&ctx).await?;
    let text = format!("héllo ☃ wörld {}", ctx.name("sum"));
    ann.send(Verb::BROADCAST, "ALL", &text).await?;
    let got = bob
        .expect("the BROADCAST with non-ASCII text", |m| {
            m.is(Verb::BROADCAST) && m.text == text
        })
        .await?;
    let bytes = got.frames[0].bytes;
    let sum = frames::u32_at(&bytes, CHECKSUM_AT);
    check!(
        sum == code_point_sum(&text),
        "expected checksum {} (the code-point sum of {text:?}), got {sum}",
        code_point_sum(&text)
    );
    Ok(())
}

async fn legacy_checksum_checked(ctx: Ctx) -> Check {
    let (mut ann, mut bob) = pair(&ctx).await?;
    let text = ctx.name("resent");
    let good = frame(&ann, Verb::BROADCAST, "ALL", &text)?;
    ann.send_expecting(
        &frames::damaged(good),
        "RESEND",
        resend_of(Dialect::Legacy, 1),
    )
    .await?;
    bob.expect_nothing(ctx.settle(), "relay of the damaged frame", |m| {
        m.text == text
    })
    .await?;
    ann.send_frame(&good).await?;
    ann.expect_confirm(1).await?;
    bob.expect("the BROADCAST sent again after RESEND", |m| {
        m.is(Verb::BROADCAST) && m.text == text
    })
    .await?;
    Ok(())
}

async fn legacy_flags_refused(ctx: Ctx) -> Check {
    let (mut ann, mut bob) = pair(&ctx).await?;
    let bad = ctx.name("flags");
    for flags in [2, 3, 0x80] {
        let frame = frames::with_flags(frame(&ann, Verb::BROADCAST, "ALL", &bad)?, flags);
        ann.send_frame(&frame).await?;
    }
    refused_and_still_serving(
        &ctx,
        &mut ann,
        &mut bob,
        &bad,
        "v4 frames with flags 2, 3, 0x80",
    )
    .await
}

async fn legacy_flag_one_accepted(ctx: Ctx) -> Check {
    let (mut ann, mut bob) = pair(&ctx).await?;
    let plain = ctx.name("secret");
    ann.send_encrypted(Verb::BROADCAST, "ALL", &plain).await?;
    let got = bob
        .expect("the encrypted BROADCAST", |m| {
            m.is(Verb::BROADCAST) && m.text == plain
        })
        .await?;
    check!(
        got.encrypted,
        "expected the relay to keep flags 1, got {got}"
    );
    Ok(())
}

async fn legacy_numbers_are_one(ctx: Ctx) -> Check {
    let mut ann = ctx.user("ann").await?;
    who(&mut ann).await?;
    let text = ctx.name("one");
    ann.send(Verb::BROADCAST, "ALL", &text).await?;
    ann.expect("the BROADCAST echoed", |m| m.text == text)
        .await?;
    if let Some(other) = ann.log().iter().find(|r| r.packet.number() != 1) {
        fail!(
            "expected packet_number 1 on every v4 frame, got {}",
            frames::describe(&other.bytes)
        );
    }
    Ok(())
}

async fn legacy_numbers_ignored(ctx: Ctx) -> Check {
    let (mut ann, mut bob) = pair(&ctx).await?;
    for number in [0, 7, u32::MAX] {
        let text = format!("{} #{number}", ctx.name("n"));
        let packet = ann
            .packet(Verb::BROADCAST, "ALL", &text)?
            .with_number(number);
        ann.send_frame(&packet.encode()).await?;
        bob.expect(&format!("the BROADCAST numbered {number}"), |m| {
            m.is(Verb::BROADCAST) && m.text == text
        })
        .await?;
    }
    Ok(())
}

async fn legacy_interior_nuls(ctx: Ctx) -> Check {
    let (mut ann, mut bob) = pair(&ctx).await?;
    let tag = ctx.name("nul");
    let text = format!("{tag} a\0b\0\0c");
    let packet = Packet::new(
        Dialect::Legacy,
        Verb::BROADCAST,
        Name::new(ann.name()).map_err(|e| Stop::Fail(e.to_string()))?,
        Name::ALL,
        Text::legacy(&text).map_err(|e| Stop::Fail(e.to_string()))?,
    )
    .map_err(|e| Stop::Fail(e.to_string()))?
    .with_number(1);
    ann.send_frame(&packet.encode()).await?;
    let got = bob
        .expect("the BROADCAST with interior NULs", |m| {
            m.is(Verb::BROADCAST) && m.text.starts_with(&tag)
        })
        .await?;
    check!(
        got.text == text,
        "expected the text {text:?} with its interior NULs, got {:?}",
        got.text
    );
    Ok(())
}

async fn legacy_name_padding(ctx: Ctx) -> Check {
    let (mut ann, mut bob) = pair(&ctx).await?;
    let bad = ctx.name("pad");
    let name_len = ann.name().len();
    let frame = frame(&ann, Verb::BROADCAST, "ALL", &bad)?;
    // from_name `ann…\0x`: a byte after the padding began.
    let from = frames::with_from_bytes(frame, name_len + 1, b"x");
    ann.send_frame(&from).await?;
    // to_name `ALL\0x`.
    let mut to = frame;
    to[TO_AT + 4] = b'x';
    frames::reseal(&mut to);
    ann.send_frame(&to).await?;
    refused_and_still_serving(
        &ctx,
        &mut ann,
        &mut bob,
        &bad,
        "v4 frames with a byte after a name's NUL",
    )
    .await
}

async fn legacy_resend(ctx: Ctx) -> Check {
    let mut ann = ctx.user("ann").await?;
    who(&mut ann).await?;
    let before = data_frames(&ann).len();
    let resend = frame(&ann, Verb::RESEND, "server", "")?;
    ann.send_frame(&resend).await?;
    // The server's last packet is the latest data frame it sent; one that crossed the RESEND on the wire
    // becomes the last, so what must come is a data frame identical to the one received just before it.
    let deadline = tokio::time::Instant::now() + ctx.timeout();
    loop {
        let data = data_frames(&ann);
        if (before.max(1)..data.len()).any(|i| data[i] == data[i - 1]) {
            return Ok(());
        }
        if tokio::time::Instant::now() >= deadline {
            let last = data.get(before.wrapping_sub(1)).map(frames::describe);
            let after: Vec<String> = data[before..].iter().map(frames::describe).collect();
            fail!(
                "expected the server's last packet ({}) again after RESEND; got {}",
                last.unwrap_or_else(|| "none".to_owned()),
                if after.is_empty() {
                    "nothing".to_owned()
                } else {
                    after.join("; ")
                }
            );
        }
        ann.read_for(Duration::from_millis(100)).await?;
    }
}

/// The data frames (not CONFIRM or RESEND) a client received, in order.
fn data_frames(client: &RawClient) -> Vec<Frame> {
    client
        .log()
        .iter()
        .filter(|r| !r.packet.verb().is_control())
        .map(|r| r.bytes)
        .collect()
}

async fn legacy_reliability(ctx: Ctx) -> Check {
    let (mut ann, mut bob) = pair(&ctx).await?;
    let texts: Vec<String> = (0..3).map(|_| ctx.name("conf")).collect();
    for text in &texts {
        ann.send(Verb::BROADCAST, "ALL", text).await?;
        ann.expect_confirm(1).await?;
    }
    for text in &texts {
        bob.expect("a BROADCAST", |m| m.text == *text).await?;
    }
    // bob confirms nothing, as v4 clients do; a server that waited for it would retransmit.
    bob.read_for(ctx.settle() * 4).await?;
    for text in &texts {
        let copies = bob
            .log()
            .iter()
            .filter(|r| r.packet.verb() == Verb::BROADCAST && r.packet.text().as_str() == text)
            .count();
        check!(
            copies == 1,
            "a v4 client does not confirm and the server has no retransmission timer in v4, yet the \
             BROADCAST {text:?} came {copies} times"
        );
    }
    Ok(())
}

async fn crc_sent(ctx: Ctx) -> Check {
    let (mut ann, mut bob) = pair(&ctx).await?;
    let text = format!("crc ✓ {}", ctx.name("crc"));
    ann.send(Verb::BROADCAST, "ALL", &text).await?;
    let got = bob
        .expect("the BROADCAST", |m| m.is(Verb::BROADCAST) && m.text == text)
        .await?;
    let bytes = got.frames[0].bytes;
    let mut zeroed = bytes;
    zeroed[CHECKSUM_AT..CHECKSUM_AT + 4].fill(0);
    let crc = crc32_of(&zeroed);
    let sent = frames::u32_at(&bytes, CHECKSUM_AT);
    check!(
        crc == sent,
        "expected checksum {crc:#010x} (CRC-32 of the frame with the field zeroed), got {sent:#010x}"
    );
    let expected = Packet::new(
        Dialect::V5,
        Verb::BROADCAST,
        Name::new(ann.name()).map_err(|e| Stop::Fail(e.to_string()))?,
        Name::ALL,
        Text::new(&text).map_err(|e| Stop::Fail(e.to_string()))?,
    )
    .map_err(|e| Stop::Fail(e.to_string()))?
    .with_number(got.number)
    .encode();
    same_bytes("the relayed BROADCAST", &expected, &bytes)
}

/// CRC-32 (IEEE, reflected, as zlib) bit by bit, from the definition, so the suite does not only trust
/// the library the server may share.
fn crc32_of(bytes: &[u8]) -> u32 {
    let mut crc = 0xFFFF_FFFFu32;
    for &byte in bytes {
        crc ^= u32::from(byte);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

async fn crc_covers_names(ctx: Ctx) -> Check {
    let (mut ann, mut bob) = pair(&ctx).await?;
    let text = ctx.name("names");
    let to = bob.name().to_owned();
    let number = ann.peek_number();
    let good = frame(&ann, Verb::PRIVATE_MESSAGE, &to, &text)?;
    let mut damaged = good;
    damaged[TO_AT] ^= 0x01;
    ann.send_expecting(
        &damaged,
        &format!("RESEND {number}"),
        resend_of(Dialect::V5, number),
    )
    .await?;
    ann.take_number();
    ann.send_frame_tracked(&good).await?;
    ann.expect_confirm(number).await?;
    bob.expect("the PRIVATE_MESSAGE sent again after RESEND", |m| {
        m.is(Verb::PRIVATE_MESSAGE) && m.text == text
    })
    .await?;
    Ok(())
}

async fn noncanonical_text(ctx: Ctx) -> Check {
    let (mut ann, mut bob) = pair(&ctx).await?;
    let bad = ctx.name("canon");
    let frame = frame(&ann, Verb::BROADCAST, "ALL", &bad)?;
    // `text\0x`: a byte after the first NUL, CRC-32 recomputed.
    let frame = frames::with_text_bytes(frame, bad.len() + 1, b"x");
    ann.send_frame(&frame).await?;
    refused_and_still_serving(
        &ctx,
        &mut ann,
        &mut bob,
        &bad,
        "a v5 frame with a byte after its text's padding",
    )
    .await
}

async fn noncanonical_names(ctx: Ctx) -> Check {
    let (mut ann, mut bob) = pair(&ctx).await?;
    let bad = ctx.name("canon");
    let frame = frame(&ann, Verb::BROADCAST, "ALL", &bad)?;
    let mut to = frame;
    to[TO_AT + 5] = b'y';
    frames::reseal(&mut to);
    ann.send_frame(&to).await?;
    let mut from = frame;
    from[FROM_AT + ann.name().len() + 3] = b'z';
    frames::reseal(&mut from);
    ann.send_frame(&from).await?;
    refused_and_still_serving(
        &ctx,
        &mut ann,
        &mut bob,
        &bad,
        "v5 frames with a byte after a name's padding",
    )
    .await
}

async fn reserved_flags(ctx: Ctx) -> Check {
    let (mut ann, mut bob) = pair(&ctx).await?;
    let bad = ctx.name("flags");
    for flags in [0x04, 0x80, 0xFC] {
        let frame = frames::with_flags(frame(&ann, Verb::BROADCAST, "ALL", &bad)?, flags);
        ann.send_frame(&frame).await?;
    }
    refused_and_still_serving(
        &ctx,
        &mut ann,
        &mut bob,
        &bad,
        "v5 frames with reserved flag bits",
    )
    .await
}

async fn server_numbering(ctx: Ctx) -> Check {
    let mut ann = ctx.user("ann").await?;
    for _ in 0..3 {
        who(&mut ann).await?;
    }
    let text = ctx.name("seq");
    ann.send(Verb::BROADCAST, "ALL", &text).await?;
    ann.expect("the BROADCAST echoed", |m| m.text == text)
        .await?;
    let numbers: BTreeSet<u32> = ann
        .log()
        .iter()
        .filter(|r| !r.packet.verb().is_control())
        .map(|r| r.packet.number())
        .collect();
    let expected: BTreeSet<u32> = (1..=numbers.len() as u32).collect();
    check!(
        numbers == expected,
        "expected the server's data packets numbered 1 to {}, got {:?}",
        numbers.len(),
        numbers
    );
    Ok(())
}

async fn bad_checksum(ctx: Ctx) -> Check {
    let (mut ann, mut bob) = pair(&ctx).await?;
    let text = ctx.name("damaged");
    let number = ann.peek_number();
    let good = frame(&ann, Verb::BROADCAST, "ALL", &text)?;
    let resend = resend_of(ann.dialect(), number);
    ann.send_expecting(&frames::damaged(good), &format!("RESEND {number}"), resend)
        .await?;
    ann.take_number();
    ann.send_frame_tracked(&good).await?;
    ann.expect_confirm(number).await?;
    bob.expect("the BROADCAST sent again after RESEND", |m| {
        m.is(Verb::BROADCAST) && m.text == text
    })
    .await?;
    ctx.still_serves("a frame with a bad checksum").await
}

async fn control_not_answered(ctx: Ctx) -> Check {
    let mut ann = ctx.user("ann").await?;
    let bogus = 9_999;
    let confirm = ann.packet(Verb::CONFIRM, "server", "")?.with_number(bogus);
    ann.send_frame(&confirm.encode()).await?;
    if ctx.dialect() == Dialect::V5 {
        // In v4, RESEND means "send your last packet again", which is an answer of sorts.
        let resend = ann.packet(Verb::RESEND, "server", "")?.with_number(bogus);
        ann.send_frame(&resend.encode()).await?;
    }
    let before = ann.log().len();
    let marker = ctx.name("marker");
    ann.send(Verb::BROADCAST, "ALL", &marker).await?;
    ann.expect("the marker BROADCAST echoed", |m| {
        m.is(Verb::BROADCAST) && m.text == marker
    })
    .await?;
    let answers: Vec<String> = ann.log()[before..]
        .iter()
        .filter(|r| match ctx.dialect() {
            Dialect::V5 => r.packet.number() == bogus || r.packet.verb() == Verb::ERROR,
            Dialect::Legacy => matches!(r.packet.verb(), Verb::ERROR | Verb::RESEND),
        })
        .map(|r| frames::describe(&r.bytes))
        .collect();
    check!(
        answers.is_empty(),
        "expected no answer to CONFIRM and RESEND, got {}",
        answers.join("; ")
    );
    if ctx.dialect() == Dialect::Legacy {
        // One CONFIRM, for the marker; none for the CONFIRM.
        let confirms = ann.log()[before..]
            .iter()
            .filter(|r| r.packet.verb() == Verb::CONFIRM)
            .count();
        check!(
            confirms <= 1,
            "expected one CONFIRM (for the marker) and none for the client's CONFIRM, got {confirms}"
        );
    }
    Ok(())
}

async fn garbage_frames(ctx: Ctx) -> Check {
    let (mut ann, mut bob) = pair(&ctx).await?;
    let mut rng = SplitMix64::new(ctx.name("seed").bytes().map(u64::from).sum());
    let count = 5;
    for i in 1..=count {
        let mut garbage = [0u8; 337];
        garbage.iter_mut().for_each(|b| *b = rng.next_u64() as u8);
        // Versions 4 and 5 would be read as frames; any other version with a CRC-32 that does not
        // match is damage. The chance a random CRC matches is 2^-32.
        if matches!(frames::version(&garbage), 4 | 5) {
            garbage[4] = 0xEE;
        }
        let number = frames::number(&garbage);
        // A RESEND carries the damaged frame's number in v5; in v4 any RESEND will do.
        ann.send_expecting(
            &garbage,
            &format!("RESEND for random frame {i} of {count}"),
            resend_of(ann.dialect(), number),
        )
        .await?;
    }
    refused_and_still_serving(&ctx, &mut ann, &mut bob, "", "random 337-byte frames").await
}

async fn control_numbers(ctx: Ctx) -> Check {
    let mut ann = ctx.user("ann").await?;
    let mut numbers = Vec::new();
    for _ in 0..3 {
        numbers.push(ann.send(Verb::WHO, "server", "").await?);
    }
    for number in numbers {
        let confirm = ann.expect_confirm(number).await?;
        check!(
            confirm.text.is_empty() || confirm.text.bytes().all(|b| b.is_ascii_digit()),
            "expected a CONFIRM text that is empty or milliseconds in decimal, got {:?}",
            confirm.text
        );
    }
    let number = ann.peek_number();
    let frame = frame(&ann, Verb::WHO, "server", "")?;
    ann.send_expecting(
        &frames::damaged(frame),
        &format!("RESEND {number}"),
        resend_of(Dialect::V5, number),
    )
    .await?;
    Ok(())
}
