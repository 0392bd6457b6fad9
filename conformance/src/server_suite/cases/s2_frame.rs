//! §2, the frame: its layout, padding and UTF-8, and framing on streams and datagrams.

use chatproto::sim::SplitMix64;
use chatproto::wire::layout::{FROM_AT, NAME_LEN, TEXT_AT, TEXT_LEN, TO_AT};
use chatproto::{Name, Packet, Text};

use super::common::*;

pub(super) const CASES: &[Case] = &[
    Case::new(
        "R-2.1/1",
        "the LOGIN notice is one 337-byte frame with every field where §2 puts it",
        |c| Box::pin(layout(c)),
    ),
    Case::new(
        "R-2.2/1",
        "a frame whose text is not UTF-8 is refused, and the server goes on serving",
        |c| Box::pin(text_not_utf8(c)),
    ),
    Case::new(
        "R-2.2/2",
        "a LOGIN whose from_name is not UTF-8 is refused: nobody logs in",
        |c| Box::pin(name_not_utf8(c)),
    ),
    Case::new(
        "R-2.2/3",
        "the server's names and text are NUL-padded, with nothing after the padding starts",
        |c| Box::pin(server_pads_with_nul(c)),
    ),
    Case::new(
        "R-2.3/1",
        "two frames in one TCP write are both read and acted on",
        |c| Box::pin(two_frames_one_write(c)),
    )
    .tcp(),
    Case::new(
        "R-2.3/2",
        "a frame written in three pieces, with pauses, is read whole",
        |c| Box::pin(one_frame_three_writes(c)),
    )
    .tcp(),
    Case::new(
        "R-2.3/3",
        "a frame cut off by the end of the connection is not acted on, and the server goes on serving",
        |c| Box::pin(cut_off_frame(c)),
    )
    .tcp(),
    Case::new(
        "R-2.4/1",
        "datagrams of 0, 1, 336, 338 and 674 bytes are dropped unanswered, and the session goes on",
        |c| Box::pin(wrong_length_datagrams(c)),
    )
    .udp(),
    Case::new(
        "R-2.4/2",
        "random datagrams from a stranger disturb no session",
        |c| Box::pin(stranger_garbage(c)),
    )
    .udp(),
];

async fn layout(ctx: Ctx) -> Check {
    let mut ann = ctx.connect().await?;
    let name = ctx.name("ann");
    let notice = ann.try_login(&name).await?;
    check!(!notice.is_error(), "LOGIN as {name} was refused: {notice}");
    let got = notice.frames[0].bytes;
    // leaves the number of a v4 frame free and v5 numbers it in sequence: taken from what came.
    let expected = Packet::new(
        ctx.dialect(),
        Verb::LOGIN,
        Name::new(&name).map_err(|e| Stop::Fail(e.to_string()))?,
        Name::ALL,
        Text::new(&connected(&name)).map_err(|e| Stop::Fail(e.to_string()))?,
    )
    .map_err(|e| Stop::Fail(e.to_string()))?
    .with_number(frames::number(&got))
    .encode();
    same_bytes(&format!("the LOGIN notice for {name}"), &expected, &got)
}

async fn text_not_utf8(ctx: Ctx) -> Check {
    let (mut ann, mut bob) = pair(&ctx).await?;
    let bad = ctx.name("bad");
    let frame = frame(&ann, Verb::BROADCAST, "ALL", &format!("{bad} xx"))?;
    // 0xC3 starts a two-byte character and 0x28 cannot continue it.
    let frame = frames::with_text_bytes(frame, bad.len() + 1, &[0xC3, 0x28]);
    ann.send_frame(&frame).await?;
    refused_and_still_serving(
        &ctx,
        &mut ann,
        &mut bob,
        &bad,
        "a BROADCAST whose text is not UTF-8",
    )
    .await
}

async fn name_not_utf8(ctx: Ctx) -> Check {
    let mut watcher = ctx.user("watch").await?;
    let mut ann = ctx.connect().await?;
    let name = ctx.name("ann");
    let text = match ctx.dialect() {
        Dialect::V5 => String::new(),
        Dialect::Legacy => connected(&name),
    };
    let login = ann
        .packet_from(&name, Verb::LOGIN, to_server(ctx.dialect()), &text)?
        .encode();
    // The name's last byte becomes 0xFF, which UTF-8 never uses.
    let login = frames::with_from_bytes(login, name.len() - 1, &[0xFF]);
    ann.send_frame(&login).await?;
    let stem = name[..name.len() - 1].to_owned();
    // The same session may then log in properly (the refused frame took nothing). Only the notice
    // counts as the answer: an ERROR for the refused frame may come first.
    let text = match ctx.dialect() {
        Dialect::V5 => String::new(),
        Dialect::Legacy => connected(&name),
    };
    ann.send_from(&name, Verb::LOGIN, to_server(ctx.dialect()), &text, false)
        .await?;
    let own = name.clone();
    ann.expect(&format!("the LOGIN notice for {name}"), |m| {
        m.is_notice(Verb::LOGIN, &own)
    })
    .await?;
    let refused_stem = stem.clone();
    let good = name.clone();
    watcher
        .expect_before(
            &format!("the LOGIN notice for {name}"),
            |m| m.is_notice(Verb::LOGIN, &good),
            "LOGIN notice for the name that is not UTF-8",
            |m| m.is(Verb::LOGIN) && m.from.starts_with(&refused_stem) && m.from != good,
        )
        .await?;
    Ok(())
}

async fn server_pads_with_nul(ctx: Ctx) -> Check {
    let mut ann = ctx.user("ann").await?;
    let text = ctx.name("padded");
    ann.send(Verb::BROADCAST, "ALL", &text).await?;
    ann.expect("the BROADCAST echoed", |m| {
        m.is(Verb::BROADCAST) && m.text == text
    })
    .await?;
    who(&mut ann).await?;
    for received in ann.log() {
        let bytes = &received.bytes;
        let fields = [
            ("from_name", &bytes[FROM_AT..FROM_AT + NAME_LEN]),
            ("to_name", &bytes[TO_AT..TO_AT + NAME_LEN]),
            ("text", &bytes[TEXT_AT..TEXT_AT + TEXT_LEN]),
        ];
        for (field, content) in fields {
            // in v4 text, interior NULs are text; only the names are padded from the first NUL.
            if field == "text" && ctx.dialect() == Dialect::Legacy {
                continue;
            }
            if let Some(at) = frames::padding_fault(content) {
                fail!(
                    "the server sent {} with byte {:#04x} at offset {at} of {field}, after the NUL \
                     padding began",
                    frames::describe(bytes),
                    content[at]
                );
            }
        }
    }
    Ok(())
}

async fn two_frames_one_write(ctx: Ctx) -> Check {
    let mut ann = ctx.user("ann").await?;
    let text = ctx.name("pair");
    let first = ann.packet(Verb::WHO, to_server(ctx.dialect()), "")?;
    ann.take_number();
    let second = ann.packet(Verb::BROADCAST, "ALL", &text)?;
    ann.take_number();
    let mut both = first.encode().to_vec();
    both.extend_from_slice(&second.encode());
    ann.write(&both).await?;
    ann.expect("the WHO reply to the first frame", |m| m.is(Verb::WHO))
        .await?;
    ann.expect("the BROADCAST of the second frame echoed", |m| {
        m.is(Verb::BROADCAST) && m.text == text
    })
    .await?;
    Ok(())
}

async fn one_frame_three_writes(ctx: Ctx) -> Check {
    let mut ann = ctx.user("ann").await?;
    let text = ctx.name("pieces");
    let frame = frame(&ann, Verb::BROADCAST, "ALL", &text)?;
    ann.take_number();
    for piece in [&frame[..5], &frame[5..200], &frame[200..]] {
        ann.write(piece).await?;
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    ann.expect("the BROADCAST sent in three pieces, echoed", |m| {
        m.is(Verb::BROADCAST) && m.text == text
    })
    .await?;
    Ok(())
}

async fn cut_off_frame(ctx: Ctx) -> Check {
    let mut watcher = ctx.user("watch").await?;
    let mut ann = ctx.user("ann").await?;
    let name = ann.name().to_owned();
    let bad = ctx.name("cut");
    let frame = frame(&ann, Verb::BROADCAST, "ALL", &bad)?;
    // The whole text is within the first 200 bytes; the checksum and flags too. Only the padding is
    // missing, so a server that acted on a partial frame would have all it needs to relay it.
    ann.write(&frame[..200]).await?;
    ann.shutdown().await;
    drop(ann);
    let bad_text = bad.clone();
    watcher
        .expect_before(
            &format!("the QUIT notice for {name}, whose connection ended mid-frame"),
            |m| m.is_notice(Verb::QUIT, &name),
            "BROADCAST from the cut-off frame",
            |m| m.text.contains(&bad_text),
        )
        .await?;
    watcher
        .expect_nothing(ctx.settle(), "BROADCAST from the cut-off frame", |m| {
            m.text.contains(&bad)
        })
        .await?;
    ctx.still_serves("a frame cut off by the end of its connection")
        .await
}

async fn wrong_length_datagrams(ctx: Ctx) -> Check {
    let mut ann = ctx.user("ann").await?;
    let good = frame(&ann, Verb::BROADCAST, "ALL", &ctx.name("wrong"))?;
    let mut long = good.to_vec();
    long.push(0);
    let mut double = good.to_vec();
    double.extend_from_slice(&good);
    for datagram in [&[][..], &good[..1], &good[..336], &long[..], &double[..]] {
        ann.write(datagram).await?;
    }
    // Nothing answers them: the marker's echo comes with no RESEND or ERROR before it.
    let marker = ctx.name("marker");
    ann.send(Verb::BROADCAST, "ALL", &marker).await?;
    ann.expect_before(
        "the marker BROADCAST echoed",
        |m| m.is(Verb::BROADCAST) && m.text == marker,
        "RESEND, ERROR or relay answering a datagram of the wrong length",
        |m| m.is(Verb::RESEND) || m.is_error() || m.text.contains("wrong"),
    )
    .await?;
    ctx.still_serves("datagrams of the wrong length").await
}

async fn stranger_garbage(ctx: Ctx) -> Check {
    let (mut ann, mut bob) = pair(&ctx).await?;
    let mut stranger = ctx.connect().await?;
    let mut rng = SplitMix64::new(ctx.name("seed").bytes().map(u64::from).sum());
    for round in 0..40 {
        // Every fourth datagram is frame-sized, so it reaches the decoder rather than the length check.
        let len = if round % 4 == 0 {
            337
        } else {
            rng.below(700) as usize
        };
        let garbage: Vec<u8> = (0..len).map(|_| rng.next_u64() as u8).collect();
        stranger.write(&garbage).await?;
    }
    let text = ctx.name("after");
    let to = bob.name().to_owned();
    ann.send(Verb::PRIVATE_MESSAGE, &to, &text).await?;
    bob.expect("the PRIVATE_MESSAGE sent after the garbage", |m| {
        m.is(Verb::PRIVATE_MESSAGE) && m.text == text
    })
    .await?;
    ctx.still_serves("random datagrams from a stranger").await
}
