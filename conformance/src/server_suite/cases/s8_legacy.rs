//! §8.8, legacy clients: the original exchange byte for byte, and v4 and v5 users on one server.

use chatproto::{Name, Packet, Text};

use super::common::*;

pub(super) const CASES: &[Case] = &[
    Case::new(
        "R-8.17/1",
        "a v4 LOGIN is answered as the original server did: CONFIRM, then the notice, byte for byte",
        |c| Box::pin(original_login(c)),
    )
    .v4(),
    Case::new(
        "R-8.17/2",
        "v4 and v5 users exchange private messages on one server, each in its own dialect",
        |c| Box::pin(mixed_private(c)),
    )
    .v4()
    .needs(&[Feature::V5]),
    Case::new(
        "R-8.17/3",
        "a room message reaches a v4 user as a BROADCAST from the sender with text `[<room>] <text>`",
        |c| Box::pin(room_as_broadcast(c)),
    )
    .v4()
    .needs(&[Feature::V5, Feature::Rooms]),
];

async fn original_login(ctx: Ctx) -> Check {
    let mut devon = ctx.connect().await?;
    let name = ctx.name("devon");
    let notice = devon.try_login(&name).await?;
    check!(
        !notice.is_error(),
        "expected LOGIN as {name} to succeed, got {notice}"
    );
    let expected = Packet::new(
        Dialect::Legacy,
        Verb::LOGIN,
        Name::new(&name).map_err(|e| Stop::Fail(e.to_string()))?,
        Name::ALL,
        Text::new(&connected(&name)).map_err(|e| Stop::Fail(e.to_string()))?,
    )
    .map_err(|e| Stop::Fail(e.to_string()))?
    .with_number(1)
    .encode();
    same_bytes("the v4 LOGIN notice", &expected, &notice.frames[0].bytes)?;
    let first = devon.log().first().map(|r| r.packet.verb());
    check!(
        first == Some(Verb::CONFIRM),
        "expected CONFIRM first, as the original server sent it, got {}",
        devon
            .log()
            .first()
            .map(|r| frames::describe(&r.bytes))
            .unwrap_or_default()
    );
    Ok(())
}

async fn mixed_private(ctx: Ctx) -> Check {
    let mut devon = ctx.user("devon").await?;
    let mut ann = ctx.user_in(Dialect::V5, "ann").await?;
    let (d, a) = (devon.name().to_owned(), ann.name().to_owned());
    let to_devon = ctx.name("to-v4");
    ann.send(Verb::PRIVATE_MESSAGE, &d, &to_devon).await?;
    let got = devon
        .expect("the private message from a v5 user", |m| m.text == to_devon)
        .await?;
    check!(
        got.from == a && got.number == 1,
        "expected a v4 PRIVATE_MESSAGE from {a:?} numbered 1, got {got}"
    );
    let to_ann = ctx.name("to-v5");
    devon.send(Verb::PRIVATE_MESSAGE, &a, &to_ann).await?;
    let got = ann
        .expect("the private message from a v4 user", |m| m.text == to_ann)
        .await?;
    check!(
        got.from == d,
        "expected the PRIVATE_MESSAGE from {d:?}, got {got}"
    );
    Ok(())
}

async fn room_as_broadcast(ctx: Ctx) -> Check {
    let mut devon = ctx.user("devon").await?;
    let mut ann = ctx.user_in(Dialect::V5, "ann").await?;
    let text = ctx.name("room");
    ann.send(Verb::ROOM_MESSAGE, "General", &text).await?;
    let marked = format!("[General] {text}");
    let got = devon
        .expect("the room message as a BROADCAST", |m| {
            m.text.contains(&text)
        })
        .await?;
    check!(
        got.is(Verb::BROADCAST) && got.from == ann.name() && got.text == marked,
        "expected BROADCAST from {:?} with text {marked:?}, got {got}",
        ann.name()
    );
    Ok(())
}
