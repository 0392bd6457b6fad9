//! §6, fragmentation: long messages both ways, interleaving, the reassembly limit, and v4 peers.

use chatproto::{Flags, Packet};

use super::common::*;

pub(super) const CASES: &[Case] = &[
    Case::new(
        "R-6.1/1",
        "a long message with multi-byte characters is reassembled and relayed in fragments of at most \
         256 bytes, split at character boundaries, all flagged but the last",
        |c| Box::pin(long_message(c)),
    )
    .v5(),
    Case::new(
        "R-6.1/2",
        "every fragment of a long encrypted message carries the encrypted flag",
        |c| Box::pin(long_encrypted(c)),
    )
    .v5()
    .needs(&[Feature::Cipher]),
    Case::new(
        "R-6.2/1",
        "a one-packet message inside a fragmented one: both are discarded, and the rest of the first too",
        |c| Box::pin(interleaved_single(c)),
    )
    .v5(),
    Case::new(
        "R-6.2/2",
        "two fragmented messages interleaved: both are discarded to their last fragments",
        |c| Box::pin(interleaved_fragmented(c)),
    )
    .v5(),
    Case::new(
        "R-6.2/3",
        "interleaved fragments are answered with ERROR",
        |c| Box::pin(interleaved_error(c)),
    )
    .v5()
    .strict(),
    Case::new(
        "R-6.3/1",
        "a fragmented message beyond the configured limit (--max-message) is discarded with the rest of \
         its fragments, and the server goes on serving",
        |c| Box::pin(overlong(c)),
    )
    .v5(),
    Case::new(
        "R-6.3/2",
        "a message beyond the limit is answered with ERROR once",
        |c| Box::pin(overlong_error(c)),
    )
    .v5()
    .strict(),
    Case::new(
        "R-6.4/1",
        "a long message reaches a v4 user as several whole messages, none flagged, split at character \
         boundaries",
        |c| Box::pin(long_to_legacy(c)),
    )
    .v4()
    .needs(&[Feature::V5]),
];

/// 801 bytes: a one-byte character, then two-byte ones, so that 256 bytes would split a character.
fn long_text(ctx: &Ctx) -> String {
    format!("a{}{}", "é".repeat(400), ctx.name("long"))
}

/// Checks the fragments of a relayed long message; the client has checked already that they
/// share verb, names and flag, and follow each other.
fn check_fragments(got: &Msg, encrypted: bool) -> Check {
    let least = got.text.len().div_ceil(256);
    check!(
        got.frames.len() >= least,
        "expected the {}-byte message in at least {least} fragments of at most 256 bytes, got {}",
        got.text.len(),
        got.frames.len()
    );
    let last = got.frames.len() - 1;
    for (i, frame) in got.frames.iter().enumerate() {
        let flags = frame.packet.flags();
        check!(
            flags.has_more_fragments() == (i != last),
            "expected the more-fragments flag on every fragment but the last; fragment {} of {} has \
             flags {:#04x}",
            i + 1,
            got.frames.len(),
            flags.bits()
        );
        check!(
            flags.is_encrypted() == encrypted,
            "expected encrypted = {encrypted} on every fragment; fragment {} has flags {:#04x}",
            i + 1,
            flags.bits()
        );
    }
    Ok(())
}

async fn long_message(ctx: Ctx) -> Check {
    let (mut ann, mut bob) = pair(&ctx).await?;
    let text = long_text(&ctx);
    let to = bob.name().to_owned();
    ann.send(Verb::PRIVATE_MESSAGE, &to, &text).await?;
    let got = bob
        .expect("the long PRIVATE_MESSAGE", |m| {
            m.is(Verb::PRIVATE_MESSAGE) && m.from == ann.name()
        })
        .await?;
    check!(
        got.text == text,
        "expected the {}-byte text whole, got {} bytes: {}",
        text.len(),
        got.text.len(),
        got
    );
    check_fragments(&got, false)
}

async fn long_encrypted(ctx: Ctx) -> Check {
    let (mut ann, mut bob) = pair(&ctx).await?;
    let text = format!("{} {}", "Hello, qr~! ".repeat(60), ctx.name("long"));
    ann.send_encrypted(Verb::BROADCAST, "ALL", &text).await?;
    let got = bob
        .expect("the long encrypted BROADCAST", |m| {
            m.is(Verb::BROADCAST) && m.from == ann.name()
        })
        .await?;
    check!(
        got.text == text,
        "expected the text whole and deciphered, got {got}"
    );
    check_fragments(&got, true)
}

/// One packet of a message, with the more-fragments flag as asked, numbered and sent.
async fn piece(client: &mut RawClient, verb: Verb, to: &str, text: &str, more: bool) -> Check {
    let mut packet: Packet = client.packet(verb, to, text)?;
    if more {
        packet = packet
            .with_flags(Flags::MORE_FRAGMENTS)
            .map_err(|e| Stop::Fail(e.to_string()))?;
    }
    client.take_number();
    client.send_packet(packet).await?;
    Ok(())
}

async fn interleaved_single(ctx: Ctx) -> Check {
    let (mut ann, mut bob) = pair(&ctx).await?;
    let bad = ctx.name("mix");
    let to = bob.name().to_owned();
    piece(
        &mut ann,
        Verb::BROADCAST,
        "ALL",
        &format!("{bad} a1 "),
        true,
    )
    .await?;
    piece(
        &mut ann,
        Verb::PRIVATE_MESSAGE,
        &to,
        &format!("{bad} p"),
        false,
    )
    .await?;
    piece(
        &mut ann,
        Verb::BROADCAST,
        "ALL",
        &format!("{bad} a2 "),
        true,
    )
    .await?;
    piece(
        &mut ann,
        Verb::BROADCAST,
        "ALL",
        &format!("{bad} a3"),
        false,
    )
    .await?;
    refused_and_still_serving(
        &ctx,
        &mut ann,
        &mut bob,
        &bad,
        "a message interleaved with fragments",
    )
    .await
}

async fn interleaved_fragmented(ctx: Ctx) -> Check {
    let (mut ann, mut bob) = pair(&ctx).await?;
    let bad = ctx.name("mix");
    let to = bob.name().to_owned();
    piece(
        &mut ann,
        Verb::BROADCAST,
        "ALL",
        &format!("{bad} a1 "),
        true,
    )
    .await?;
    piece(
        &mut ann,
        Verb::PRIVATE_MESSAGE,
        &to,
        &format!("{bad} p1 "),
        true,
    )
    .await?;
    piece(
        &mut ann,
        Verb::BROADCAST,
        "ALL",
        &format!("{bad} a2 "),
        true,
    )
    .await?;
    piece(
        &mut ann,
        Verb::PRIVATE_MESSAGE,
        &to,
        &format!("{bad} p2"),
        false,
    )
    .await?;
    piece(
        &mut ann,
        Verb::BROADCAST,
        "ALL",
        &format!("{bad} a3"),
        false,
    )
    .await?;
    refused_and_still_serving(
        &ctx,
        &mut ann,
        &mut bob,
        &bad,
        "two fragmented messages interleaved",
    )
    .await
}

async fn interleaved_error(ctx: Ctx) -> Check {
    let (mut ann, bob) = pair(&ctx).await?;
    let to = bob.name().to_owned();
    piece(&mut ann, Verb::BROADCAST, "ALL", "a1 ", true).await?;
    piece(&mut ann, Verb::PRIVATE_MESSAGE, &to, "p", false).await?;
    ann.expect_error("a message interleaved with fragments")
        .await?;
    Ok(())
}

/// Sends a BROADCAST of `limit + 300` bytes in full fragments, each starting with `tag`.
async fn send_overlong(ctx: &Ctx, client: &mut RawClient, tag: &str) -> Check {
    let total = ctx.limits().max_message + 300;
    let chunk = format!("{tag} {}", "x".repeat(256 - tag.len() - 1));
    let count = total.div_ceil(chunk.len());
    for i in 0..count {
        piece(client, Verb::BROADCAST, "ALL", &chunk, i + 1 < count).await?;
    }
    Ok(())
}

async fn overlong(ctx: Ctx) -> Check {
    let (mut ann, mut bob) = pair(&ctx).await?;
    let bad = ctx.name("big");
    send_overlong(&ctx, &mut ann, &bad).await?;
    refused_and_still_serving(
        &ctx,
        &mut ann,
        &mut bob,
        &bad,
        "a message beyond the reassembly limit",
    )
    .await
}

async fn overlong_error(ctx: Ctx) -> Check {
    let mut ann = ctx.user("ann").await?;
    let bad = ctx.name("big");
    send_overlong(&ctx, &mut ann, &bad).await?;
    let marker = ctx.name("marker");
    ann.send(Verb::BROADCAST, "ALL", &marker).await?;
    ann.expect("the marker BROADCAST echoed", |m| m.text == marker)
        .await?;
    let errors = ann.inbox().filter(|m| m.is_error()).count();
    check!(
        errors == 1,
        "expected one ERROR for the message beyond the limit, got {errors}"
    );
    Ok(())
}

async fn long_to_legacy(ctx: Ctx) -> Check {
    let mut devon = ctx.user("devon").await?;
    let mut ann = ctx.user_in(Dialect::V5, "ann").await?;
    let text = long_text(&ctx);
    ann.send(Verb::BROADCAST, "ALL", &text).await?;
    let from = ann.name().to_owned();
    let mut joined = String::new();
    let mut pieces = 0;
    while joined.len() < text.len() {
        let piece = devon
            .expect(
                &format!("piece {} of the long BROADCAST", pieces + 1),
                |m| m.is(Verb::BROADCAST) && m.from == from,
            )
            .await?;
        check!(
            piece.frames[0].packet.flags().bits() == 0,
            "expected whole messages with flags 0 for a v4 peer, got {piece}"
        );
        joined.push_str(&piece.text);
        pieces += 1;
    }
    check!(
        joined == text,
        "expected the pieces to join into the {}-byte message, got {} bytes",
        text.len(),
        joined.len()
    );
    check!(
        pieces >= 4,
        "expected at least 4 pieces of at most 256 bytes, got {pieces}"
    );
    Ok(())
}
