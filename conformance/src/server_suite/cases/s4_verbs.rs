//! §4, verbs: the table, ERROR, unknown verbs, the reserved names, answers to requests.

use super::common::*;

pub(super) const CASES: &[Case] = &[
    Case::new(
        "R-4.1/1",
        "a v4 client is never sent a verb above 8, whatever it asks and whatever v5 users do",
        |c| Box::pin(legacy_sees_legacy_verbs(c)),
    )
    .v4(),
    Case::new(
        "R-4.2/1",
        "a frame refused for its flags is answered with ERROR that says why",
        |c| Box::pin(error_for_flags(c)),
    )
    .strict(),
    Case::new(
        "R-4.2/2",
        "a frame refused for text that is not UTF-8 is answered with ERROR",
        |c| Box::pin(error_for_utf8(c)),
    )
    .strict(),
    Case::new(
        "R-4.2/3",
        "a v5 frame refused for its padding is answered with ERROR",
        |c| Box::pin(error_for_padding(c)),
    )
    .strict()
    .v5(),
    Case::new(
        "R-4.2/4",
        "in v4, the ERROR for a refused frame carries that frame's packet_number",
        |c| Box::pin(error_number(c)),
    )
    .strict()
    .v4(),
    Case::new(
        "R-4.2/5",
        "a packet the server refuses after login (another user's from_name) is answered with ERROR that \
         says why",
        |c| Box::pin(error_for_impersonation(c)),
    )
    .strict(),
    Case::new(
        "R-4.3/1",
        "frames with verbs 9, 15, 33 and 0xFFFFFFFF are refused, unconfirmed, and the session goes on",
        |c| Box::pin(unknown_verbs(c)),
    ),
    Case::new(
        "R-4.3/2",
        "a frame with an unknown verb is answered with ERROR",
        |c| Box::pin(unknown_verb_error(c)),
    )
    .strict(),
    Case::new(
        "R-4.4/1",
        "nobody may log in as ALL or server, in any letter case; the session may then log in properly",
        |c| Box::pin(reserved_names(c)),
    ),
    Case::new(
        "R-4.4/2",
        "the server's replies come from `server`; notices go to `ALL`",
        |c| Box::pin(server_and_all(c)),
    ),
    Case::new(
        "R-4.5/1",
        "a request that succeeds is answered with the same verb from `server`",
        |c| Box::pin(success_same_verb(c)),
    ),
    Case::new(
        "R-4.5/2",
        "a request that fails is answered with ERROR",
        |c| Box::pin(failure_error(c)),
    ),
];

async fn legacy_sees_legacy_verbs(ctx: Ctx) -> Check {
    let mut devon = ctx.user("devon").await?;
    let devon_name = devon.name().to_owned();
    // Requests a v4 client may send but whose replies it could not read.
    for (verb, to) in [
        (Verb::HELP, "server"),
        (Verb::ROOM_LIST, "server"),
        (Verb::ROOM_MEMBERS, "General"),
        (Verb::HISTORY_REQUEST, "server"),
    ] {
        devon.send(verb, to, "").await?;
        devon.expect_confirm(1).await?;
    }
    if ctx.config().supports(Feature::V5) {
        // A v5 user talks to the room and invites the v4 user: nothing of 16 and up may reach it.
        let mut ann = ctx.user_in(Dialect::V5, "ann").await?;
        ann.send(Verb::ROOM_MESSAGE, "General", &ctx.name("room"))
            .await?;
        ann.send(Verb::CHAT_INVITE, &devon_name, "").await?;
    }
    let marker = ctx.name("marker");
    devon.send(Verb::BROADCAST, "ALL", &marker).await?;
    devon
        .expect("the marker BROADCAST echoed", |m| m.text == marker)
        .await?;
    if let Some(high) = devon.log().iter().find(|r| r.packet.verb().to_u32() > 8) {
        fail!(
            "expected only verbs 0 to 8 on a v4 session, got {}",
            frames::describe(&high.bytes)
        );
    }
    Ok(())
}

async fn error_for_flags(ctx: Ctx) -> Check {
    let mut ann = ctx.user("ann").await?;
    let flags = match ctx.dialect() {
        Dialect::V5 => 0x04,
        Dialect::Legacy => 0x02,
    };
    let frame = frames::with_flags(frame(&ann, Verb::BROADCAST, "ALL", "flags")?, flags);
    let error = ann
        .send_expecting(
            &frame,
            "ERROR after a frame with a reserved flag",
            Msg::is_error,
        )
        .await?;
    check!(
        !error.text.is_empty(),
        "expected the ERROR to say why in words, got an empty text"
    );
    Ok(())
}

async fn error_for_utf8(ctx: Ctx) -> Check {
    let mut ann = ctx.user("ann").await?;
    let frame = frames::with_text_bytes(frame(&ann, Verb::BROADCAST, "ALL", "ab")?, 0, &[0xFF]);
    let error = ann
        .send_expecting(
            &frame,
            "ERROR after a frame whose text is not UTF-8",
            Msg::is_error,
        )
        .await?;
    check!(
        !error.text.is_empty(),
        "expected the ERROR to say why in words, got an empty text"
    );
    Ok(())
}

async fn error_for_padding(ctx: Ctx) -> Check {
    let mut ann = ctx.user("ann").await?;
    let frame = frames::with_text_bytes(frame(&ann, Verb::BROADCAST, "ALL", "ab")?, 3, b"x");
    ann.send_expecting(
        &frame,
        "ERROR after a frame with a byte after its padding",
        Msg::is_error,
    )
    .await?;
    Ok(())
}

async fn error_number(ctx: Ctx) -> Check {
    let mut ann = ctx.user("ann").await?;
    // v4 peers send 1, so that is the number a refused v4 frame has.
    let frame = frames::with_flags(frame(&ann, Verb::BROADCAST, "ALL", "flags")?, 0x02);
    let error = ann
        .send_expecting(&frame, "ERROR after a v4 frame with flags 2", Msg::is_error)
        .await?;
    check!(
        error.number == frames::number(&frame),
        "expected the ERROR to carry packet_number {}, got {}",
        frames::number(&frame),
        error.number
    );
    Ok(())
}

async fn error_for_impersonation(ctx: Ctx) -> Check {
    let (mut ann, bob) = pair(&ctx).await?;
    let victim = bob.name().to_owned();
    ann.send_from(&victim, Verb::WHO, to_server(ctx.dialect()), "", false)
        .await?;
    let error = ann
        .expect(&format!("ERROR for WHO under the name {victim}"), |m| {
            m.is_error() || m.is(Verb::WHO)
        })
        .await?;
    check!(
        error.is_error() && !error.text.is_empty(),
        "expected ERROR saying why for a packet under another user's name, got {error}"
    );
    Ok(())
}

async fn unknown_verbs(ctx: Ctx) -> Check {
    let (mut ann, mut bob) = pair(&ctx).await?;
    let bad = ctx.name("verb");
    let number = ann.peek_number();
    let before = ann.log().len();
    for verb in [9, 15, 33, u32::MAX] {
        let frame = frames::with_verb(frame(&ann, Verb::BROADCAST, "ALL", &bad)?, verb);
        ann.send_frame(&frame).await?;
    }
    not_acted_on(&ctx, &mut ann, &mut bob, &bad, "frames with unknown verbs").await?;
    ann.expect_confirm(number).await?;
    ann.read_for(ctx.settle()).await?;
    // In v5 the marker took the number the unknown verbs carried, and is confirmed once; in v4 there is
    // one CONFIRM, for the marker.
    let confirms = ann.log()[before..]
        .iter()
        .filter(|r| r.packet.verb() == Verb::CONFIRM)
        .filter(|r| ctx.dialect() == Dialect::Legacy || r.packet.number() == number)
        .count();
    check!(
        confirms == 1,
        "expected one CONFIRM (for the marker) and none for the four unknown verbs, got {confirms}"
    );
    ctx.still_serves("frames with unknown verbs").await
}

async fn unknown_verb_error(ctx: Ctx) -> Check {
    let mut ann = ctx.user("ann").await?;
    let frame = frames::with_verb(frame(&ann, Verb::BROADCAST, "ALL", "verb")?, 12);
    ann.send_expecting(&frame, "ERROR after a frame with verb 12", Msg::is_error)
        .await?;
    Ok(())
}

async fn reserved_names(ctx: Ctx) -> Check {
    let mut client = ctx.connect().await?;
    for reserved in ["ALL", "all", "All", "server", "SERVER", "Server"] {
        let answer = client.try_login(reserved).await?;
        check!(
            answer.is_error(),
            "expected ERROR for LOGIN as {reserved:?}, got {answer}"
        );
    }
    let name = ctx.name("after");
    client.login(&name).await
}

async fn server_and_all(ctx: Ctx) -> Check {
    let mut ann = ctx.connect().await?;
    let name = ctx.name("ann");
    let notice = ann.try_login(&name).await?;
    check!(
        notice.to == "ALL" && notice.from == name,
        "expected the LOGIN notice from {name:?} to \"ALL\", got {notice}"
    );
    let to = to_server(ctx.dialect());
    ann.send(Verb::WHO, to, "").await?;
    let reply = ann.expect("the WHO reply", |m| m.is(Verb::WHO)).await?;
    check!(
        reply.from == "server",
        "expected the WHO reply from \"server\", got {reply}"
    );
    ann.send(Verb::PRIVATE_MESSAGE, &ctx.name("nobody"), "hello?")
        .await?;
    let error = ann.expect_error("a private message to nobody").await?;
    check!(
        error.from == "server",
        "expected the ERROR from \"server\", got {error}"
    );
    Ok(())
}

async fn success_same_verb(ctx: Ctx) -> Check {
    let mut ann = ctx.user("ann").await?;
    let mut requests = vec![(Verb::WHO, to_server(ctx.dialect()))];
    if ctx.dialect() == Dialect::V5 {
        requests.push((Verb::HELP, "server"));
        if ctx.config().supports(Feature::Rooms) {
            requests.push((Verb::ROOM_LIST, "server"));
        }
    }
    for (verb, to) in requests {
        ann.send(verb, to, "").await?;
        let reply = ann
            .expect(&format!("{verb} from server, or ERROR"), |m| {
                m.is(verb) || m.is_error()
            })
            .await?;
        check!(
            reply.is(verb) && reply.from == "server",
            "expected {verb} from \"server\" answering {verb}, got {reply}"
        );
    }
    Ok(())
}

async fn failure_error(ctx: Ctx) -> Check {
    let mut ann = ctx.user("ann").await?;
    ann.send(Verb::PRIVATE_MESSAGE, &ctx.name("nobody"), "hi")
        .await?;
    ann.expect_error("a private message to a user who does not exist")
        .await?;
    if ctx.dialect() == Dialect::V5 && ctx.config().supports(Feature::Rooms) {
        ann.send(Verb::ROOM_JOIN, &ctx.name("noroom"), "").await?;
        ann.expect_error("ROOM_JOIN of a room that does not exist")
            .await?;
    }
    Ok(())
}
