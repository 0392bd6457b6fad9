//! §7, sessions and reliability (v5): one dialect per session, confirmation, retransmission and backoff,
//! windows, ordering, keepalives, dead peers, and numbering from 1.

use std::collections::BTreeSet;

use chatproto::{Name, Packet, Text};
use tokio::time::Instant;

use super::common::*;

pub(super) const CASES: &[Case] = &[
    Case::new(
        "R-7.1/1",
        "after a session's first frame, a frame of the other dialect is refused",
        |c| Box::pin(other_dialect(c)),
    ),
    Case::new(
        "R-7.1/2",
        "a frame of the other dialect is answered with ERROR",
        |c| Box::pin(other_dialect_error(c)),
    )
    .strict(),
    Case::new(
        "R-7.2/1",
        "a duplicate of an accepted packet is confirmed again and not acted on twice",
        |c| Box::pin(duplicate_confirmed(c)),
    )
    .v5(),
    Case::new(
        "R-7.2/2",
        "RESEND for a packet not yet confirmed makes the server send it again: same number, same bytes",
        |c| Box::pin(resend_honoured(c)),
    )
    .v5(),
    Case::new(
        "R-7.3/1",
        "a data packet left unconfirmed is retransmitted with its number and content",
        |c| Box::pin(retransmitted(c)),
    )
    .v5(),
    Case::new(
        "R-7.3/2",
        "retransmissions back off: with nothing confirmed, the gaps between them grow",
        |c| Box::pin(backoff(c)),
    )
    .v5(),
    Case::new(
        "R-7.4/1",
        "a packet passed by one numbered 3 higher that is confirmed first is retransmitted at once",
        |c| Box::pin(fast_retransmit(c)),
    )
    .v5()
    .strict(),
    Case::new(
        "R-7.5/1",
        "with nothing confirmed the server stops at its send window; once confirmed, everything comes, \
         none lost",
        |c| Box::pin(send_window(c)),
    )
    .v5(),
    Case::new(
        "R-7.6/1",
        "a packet numbered far beyond the receive window is neither confirmed nor acted on",
        |c| Box::pin(beyond_window(c)),
    )
    .v5(),
    Case::new(
        "R-7.6/2",
        "a packet that arrives early is held, not dropped, and delivered once the gap is filled",
        |c| Box::pin(early_held(c)),
    )
    .v5(),
    Case::new(
        "R-7.7/1",
        "packets sent out of order and duplicated are delivered once each, in the order sent",
        |c| Box::pin(in_order_once(c)),
    )
    .v5(),
    Case::new(
        "R-7.8/1",
        "an idle session hears a PING, numbered like any data packet",
        |c| Box::pin(keepalive(c)),
    )
    .v5(),
    Case::new(
        "R-7.8/2",
        "a client's PING is confirmed and shown to nobody, before and after login",
        |c| Box::pin(ping_confirmed(c)),
    )
    .v5(),
    Case::new(
        "R-7.9/1",
        "a client that falls silent is declared gone after the dead-peer limit: others see it QUIT",
        |c| Box::pin(dead_peer(c)),
    )
    .v5(),
    Case::new(
        "R-7.10/1",
        "a data packet numbered 0 is refused: not confirmed, not acted on",
        |c| Box::pin(number_zero(c)),
    )
    .v5(),
    Case::new(
        "R-7.10/2",
        "a data packet numbered 0 is answered with ERROR",
        |c| Box::pin(number_zero_error(c)),
    )
    .v5()
    .strict(),
];

/// A BROADCAST from `client` in the dialect it does not speak, numbered as its next packet.
fn other_dialect_frame(client: &RawClient, text: &str) -> Check<Frame> {
    let other = match client.dialect() {
        Dialect::V5 => Dialect::Legacy,
        Dialect::Legacy => Dialect::V5,
    };
    let packet = Packet::new(
        other,
        Verb::BROADCAST,
        Name::new(client.name()).map_err(|e| Stop::Fail(e.to_string()))?,
        Name::ALL,
        Text::new(text).map_err(|e| Stop::Fail(e.to_string()))?,
    )
    .map_err(|e| Stop::Fail(e.to_string()))?;
    Ok(packet.with_number(client.peek_number()).encode())
}

async fn other_dialect(ctx: Ctx) -> Check {
    let (mut ann, mut bob) = pair(&ctx).await?;
    let bad = ctx.name("other");
    ann.send_frame(&other_dialect_frame(&ann, &bad)?).await?;
    refused_and_still_serving(
        &ctx,
        &mut ann,
        &mut bob,
        &bad,
        "a frame of the other dialect",
    )
    .await
}

async fn other_dialect_error(ctx: Ctx) -> Check {
    let mut ann = ctx.user("ann").await?;
    let frame = other_dialect_frame(&ann, "other")?;
    ann.send_expecting(
        &frame,
        "ERROR after a frame of the other dialect",
        Msg::is_error,
    )
    .await?;
    Ok(())
}

async fn duplicate_confirmed(ctx: Ctx) -> Check {
    let (mut ann, mut bob) = pair(&ctx).await?;
    let text = ctx.name("dup");
    let packet = ann.packet(Verb::BROADCAST, "ALL", &text)?;
    let number = ann.take_number();
    let frame = packet.encode();
    let confirm = confirm_of(Dialect::V5, number);
    ann.send_expecting(&frame, &format!("CONFIRM {number}"), &confirm)
        .await?;
    // Sent again once the first is confirmed, so it is a duplicate of one the server has accepted.
    ann.send_expecting(
        &frame,
        &format!("CONFIRM {number} again, for the duplicate"),
        &confirm,
    )
    .await?;
    bob.expect("the BROADCAST", |m| m.text == text).await?;
    not_acted_on(&ctx, &mut ann, &mut bob, &text, "a duplicate packet").await
}

/// bob sends ann a private message; ann, confirming nothing, gets its frame.
async fn unconfirmed_message(ctx: &Ctx) -> Check<(RawClient, RawClient, Arrived)> {
    let (mut ann, mut bob) = pair(ctx).await?;
    ann.set_auto_confirm(false);
    let text = ctx.name("unconfirmed");
    let to = ann.name().to_owned();
    bob.send(Verb::PRIVATE_MESSAGE, &to, &text).await?;
    let got = ann
        .expect("the PRIVATE_MESSAGE", |m| {
            m.is(Verb::PRIVATE_MESSAGE) && m.text == text
        })
        .await?;
    let first = &got.frames[0];
    Ok((
        ann,
        bob,
        Arrived {
            bytes: first.bytes,
            number: got.number,
        },
    ))
}

/// One frame a client received.
struct Arrived {
    bytes: Frame,
    number: u32,
}

/// When `frame` arrived, in order, waiting until `count` copies have come or `wait` has passed.
async fn copies(
    client: &mut RawClient,
    frame: &Frame,
    count: usize,
    wait: Duration,
) -> Check<Vec<Instant>> {
    let deadline = Instant::now() + wait;
    loop {
        let times: Vec<Instant> = client
            .log()
            .iter()
            .filter(|r| r.bytes == *frame)
            .map(|r| r.at)
            .collect();
        if times.len() >= count || Instant::now() >= deadline {
            return Ok(times);
        }
        client.read_for(Duration::from_millis(50).min(wait)).await?;
    }
}

async fn resend_honoured(ctx: Ctx) -> Check {
    let (mut ann, _bob, first) = unconfirmed_message(&ctx).await?;
    let resend = ann
        .packet(Verb::RESEND, "server", "")?
        .with_number(first.number);
    ann.send_frame(&resend.encode()).await?;
    let times = copies(&mut ann, &first.bytes, 2, ctx.timeout()).await?;
    check!(
        times.len() >= 2,
        "expected packet {} again, byte for byte, after RESEND {}; it did not come within {:?}",
        first.number,
        first.number,
        ctx.timeout()
    );
    Ok(())
}

/// How long to wait for retransmissions: well within the server's dead-peer limit.
fn retransmit_wait(ctx: &Ctx) -> Duration {
    (ctx.timeout() * 3).max(ctx.limits().dead_after * 6 / 10)
}

async fn retransmitted(ctx: Ctx) -> Check {
    let (mut ann, _bob, first) = unconfirmed_message(&ctx).await?;
    let wait = retransmit_wait(&ctx);
    let times = copies(&mut ann, &first.bytes, 2, wait).await?;
    check!(
        times.len() >= 2,
        "expected packet {} retransmitted, byte for byte, while unconfirmed; nothing within {wait:?}",
        first.number
    );
    Ok(())
}

async fn backoff(ctx: Ctx) -> Check {
    let (mut ann, _bob, first) = unconfirmed_message(&ctx).await?;
    let wait = retransmit_wait(&ctx);
    let times = copies(&mut ann, &first.bytes, 5, wait).await?;
    check!(
        times.len() >= 3,
        "expected at least two retransmissions of packet {} within {wait:?} to compare their gaps, got \
         {}",
        first.number,
        times.len() - 1
    );
    let gaps: Vec<Duration> = times.windows(2).map(|w| w[1] - w[0]).collect();
    let (head, tail) = (gaps[0], gaps[gaps.len() - 1]);
    // Doubling gives 2× after one expiry and 8× after three; the margins absorb timer jitter.
    let factor = if gaps.len() >= 3 { 2.0 } else { 1.5 };
    check!(
        tail.as_secs_f64() >= head.as_secs_f64() * factor,
        "expected the gaps between retransmissions to grow (exponential backoff), got {gaps:?}"
    );
    Ok(())
}

async fn fast_retransmit(ctx: Ctx) -> Check {
    let (mut ann, mut bob) = pair(&ctx).await?;
    ann.set_auto_confirm(false);
    let to = ann.name().to_owned();
    let texts: Vec<String> = (0..5).map(|_| ctx.name("fast")).collect();
    for text in &texts {
        bob.send(Verb::PRIVATE_MESSAGE, &to, text).await?;
    }
    let mut received = Vec::new();
    for text in &texts {
        received.push(
            ann.expect("one of five PRIVATE_MESSAGEs", |m| m.text == *text)
                .await?,
        );
    }
    let first = received[0].frames[0].bytes;
    let held = received[0].number;
    // Everything but the first is confirmed, the later ones by at least 3 higher.
    let numbers: BTreeSet<u32> = ann
        .log()
        .iter()
        .filter(|r| !r.packet.verb().is_control())
        .map(|r| r.packet.number())
        .filter(|&n| n != held)
        .collect();
    for number in numbers {
        ann.confirm(number).await?;
    }
    let confirmed_at = Instant::now();
    let before = ann.log().iter().filter(|r| r.bytes == first).count();
    let wait = ctx.settle();
    let times = copies(&mut ann, &first, before + 1, wait).await?;
    check!(
        times.len() > before && times[before] >= confirmed_at,
        "expected packet {held} retransmitted at once when packets 3 and more higher were confirmed \
         before it; nothing within {wait:?}"
    );
    Ok(())
}

async fn send_window(ctx: Ctx) -> Check {
    let (mut ann, mut bob) = pair(&ctx).await?;
    ann.set_auto_confirm(false);
    let to = ann.name().to_owned();
    // 10 messages of 32 fragments: 320 packets, more than any send window worth the name.
    let messages: Vec<String> = (0..10)
        .map(|_| {
            let tag = ctx.name("win");
            format!("{tag} {}", "w".repeat(32 * 256 - tag.len() - 1))
        })
        .collect();
    // ann reads (confirming nothing) while bob sends, so that its socket never overflows.
    {
        let sending = async {
            for text in &messages {
                bob.send(Verb::PRIVATE_MESSAGE, &to, text).await?;
            }
            Ok::<(), Stop>(())
        };
        let mut sending = std::pin::pin!(sending);
        loop {
            tokio::select! {
                done = &mut sending => {
                    done?;
                    break;
                }
                read = ann.read_for(Duration::from_millis(100)) => read?,
            }
        }
    }
    // Wait until nothing new comes: the server has stopped at its window.
    let mut outstanding = 0;
    loop {
        ann.read_for(ctx.settle() * 2).await?;
        let now = distinct_data(&ann);
        if now == outstanding {
            break;
        }
        outstanding = now;
    }
    check!(
        outstanding < 320,
        "expected the server to stop at its send window with nothing confirmed; {outstanding} data \
         packets came for 320 fragments"
    );
    // Now confirm everything, as it comes: every message must arrive, whole and in order.
    ann.set_auto_confirm(true);
    let numbers: Vec<u32> = ann
        .log()
        .iter()
        .filter(|r| !r.packet.verb().is_control())
        .map(|r| r.packet.number())
        .collect::<BTreeSet<u32>>()
        .into_iter()
        .collect();
    for number in numbers {
        ann.confirm(number).await?;
    }
    for (i, text) in messages.iter().enumerate() {
        let wait = retransmit_wait(&ctx);
        ann.expect_within(
            wait,
            &format!("message {} of 10 once confirmations flow", i + 1),
            |m| m.is(Verb::PRIVATE_MESSAGE) && m.text == *text,
        )
        .await
        .map_err(|stop| match stop {
            Stop::Fail(why) => Stop::Fail(format!(
                "{why}\n(the server had {outstanding} packets outstanding when confirmations began)"
            )),
            skip => skip,
        })?;
    }
    Ok(())
}

fn distinct_data(client: &RawClient) -> usize {
    client
        .log()
        .iter()
        .filter(|r| !r.packet.verb().is_control())
        .map(|r| r.packet.number())
        .collect::<BTreeSet<u32>>()
        .len()
}

async fn beyond_window(ctx: Ctx) -> Check {
    let (mut ann, mut bob) = pair(&ctx).await?;
    let bad = ctx.name("far");
    let far = ann.peek_number().wrapping_add(1_000_000);
    let packet = ann.packet(Verb::BROADCAST, "ALL", &bad)?.with_number(far);
    ann.send_frame(&packet.encode()).await?;
    not_acted_on(
        &ctx,
        &mut ann,
        &mut bob,
        &bad,
        "a packet far beyond the window",
    )
    .await?;
    check!(
        !ann.confirmed().contains(&far),
        "expected packet {far}, far beyond the receive window, unconfirmed; it was confirmed"
    );
    Ok(())
}

/// Sends `texts[i]` as a BROADCAST numbered `base + i`, in the order given by `order`.
async fn send_in_order(ann: &mut RawClient, base: u32, texts: &[String], order: &[usize]) -> Check {
    for &i in order {
        let packet = ann
            .packet(Verb::BROADCAST, "ALL", &texts[i])?
            .with_number(base + i as u32);
        ann.send_packet(packet).await?;
    }
    Ok(())
}

/// bob must see the texts in order, each once, before the marker.
async fn delivered_in_order(
    ctx: &Ctx,
    ann: &mut RawClient,
    bob: &mut RawClient,
    texts: &[String],
) -> Check {
    for text in texts {
        let found = bob
            .expect("a BROADCAST", |m| texts.contains(&m.text))
            .await?;
        check!(
            found.text == *text,
            "expected {text:?} next, in the order sent, got {:?}",
            found.text
        );
    }
    let marker = ctx.name("marker");
    ann.send(Verb::BROADCAST, "ALL", &marker).await?;
    bob.expect_before(
        "the marker BROADCAST",
        |m| m.text == marker,
        "second delivery",
        |m| texts.contains(&m.text),
    )
    .await?;
    Ok(())
}

async fn early_held(ctx: Ctx) -> Check {
    let (mut ann, mut bob) = pair(&ctx).await?;
    let base = ann.peek_number();
    let texts: Vec<String> = (0..2).map(|_| ctx.name("early")).collect();
    ann.take_number();
    ann.take_number();
    send_in_order(&mut ann, base, &texts, &[1]).await?;
    tokio::time::sleep(ctx.settle()).await;
    send_in_order(&mut ann, base, &texts, &[0]).await?;
    delivered_in_order(&ctx, &mut ann, &mut bob, &texts).await
}

async fn in_order_once(ctx: Ctx) -> Check {
    let (mut ann, mut bob) = pair(&ctx).await?;
    let base = ann.peek_number();
    let texts: Vec<String> = (0..3).map(|_| ctx.name("order")).collect();
    for _ in 0..3 {
        ann.take_number();
    }
    send_in_order(&mut ann, base, &texts, &[2, 1, 1, 0, 2]).await?;
    delivered_in_order(&ctx, &mut ann, &mut bob, &texts).await
}

async fn keepalive(ctx: Ctx) -> Check {
    // Not logged in, so no notices reach it and it sends nothing: the session is idle.
    let mut idle = ctx.connect().await?;
    idle.send(Verb::HELP, "server", "").await?;
    idle.expect("the HELP reply", |m| m.is(Verb::HELP) || m.is_error())
        .await?;
    let wait = ctx.limits().keepalive + ctx.timeout();
    let ping = idle
        .expect_within(wait, "PING from the server", |m| m.is(Verb::PING))
        .await?;
    check!(
        ping.number != 0,
        "expected the PING numbered like a data packet, got {ping}"
    );
    Ok(())
}

async fn ping_confirmed(ctx: Ctx) -> Check {
    let mut fresh = ctx.connect().await?;
    let number = fresh.send(Verb::PING, "server", "").await?;
    fresh.expect_confirm(number).await?;
    let (mut ann, mut bob) = pair(&ctx).await?;
    let number = ann.send(Verb::PING, "server", "").await?;
    ann.expect_confirm(number).await?;
    let marker = ctx.name("marker");
    ann.send(Verb::BROADCAST, "ALL", &marker).await?;
    bob.expect_before(
        "the marker BROADCAST",
        |m| m.text == marker,
        "sign of the PING",
        |m| m.is(Verb::PING) && m.from == ann.name(),
    )
    .await?;
    ann.expect_nothing(ctx.settle(), "ERROR for PING", Msg::is_error)
        .await
}

async fn dead_peer(ctx: Ctx) -> Check {
    let mut watcher = ctx.user("watch").await?;
    let mut ghost = ctx.user("ghost").await?;
    let name = ghost.name().to_owned();
    // From now on it reads nothing and sends nothing, but its socket stays open.
    ghost.vanish_on_drop();
    let wait = ctx.limits().dead_after + ctx.timeout() * 2;
    watcher
        .expect_within(
            wait,
            &format!("the QUIT notice for {name}, silent for the dead-peer limit"),
            |m| m.is_notice(Verb::QUIT, &name),
        )
        .await?;
    drop(ghost);
    Ok(())
}

async fn number_zero(ctx: Ctx) -> Check {
    let (mut ann, mut bob) = pair(&ctx).await?;
    let bad = ctx.name("zero");
    let packet = ann.packet(Verb::BROADCAST, "ALL", &bad)?.with_number(0);
    ann.send_frame(&packet.encode()).await?;
    not_acted_on(&ctx, &mut ann, &mut bob, &bad, "a packet numbered 0").await?;
    check!(
        !ann.confirmed().contains(&0),
        "expected the packet numbered 0 unconfirmed; CONFIRM 0 came"
    );
    Ok(())
}

async fn number_zero_error(ctx: Ctx) -> Check {
    let mut ann = ctx.user("ann").await?;
    let packet = ann.packet(Verb::BROADCAST, "ALL", "zero")?.with_number(0);
    ann.send_expecting(
        &packet.encode(),
        "ERROR after a packet numbered 0",
        Msg::is_error,
    )
    .await?;
    Ok(())
}
