//! §8.4, rooms: creating, joining, leaving, listing, and room messages.

use std::collections::BTreeSet;

use super::common::*;

const ROOMS: &[Feature] = &[Feature::Rooms];

pub(super) const CASES: &[Case] = &[
    Case::new(
        "R-8.9/1",
        "ROOM_CREATE creates a room without making its creator a member; an existing or invalid name gets \
         ERROR",
        |c| Box::pin(create(c)),
    )
    .v5()
    .needs(ROOMS),
    Case::new(
        "R-8.9/2",
        "ROOM_JOIN and ROOM_LEAVE succeed once each, and get ERROR when repeated or for no such room",
        |c| Box::pin(join_leave(c)),
    )
    .v5()
    .needs(ROOMS),
    Case::new(
        "R-8.9/3",
        "the room General always exists: creating it gets ERROR, and ROOM_LIST starts with it",
        |c| Box::pin(general(c)),
    )
    .v5()
    .needs(ROOMS),
    Case::new(
        "R-8.10/1",
        "ROOM_LIST lists the rooms one per line in the order created",
        |c| Box::pin(list(c)),
    )
    .v5()
    .needs(ROOMS),
    Case::new(
        "R-8.10/2",
        "ROOM_MEMBERS lists a room's members in the order they joined; no such room gets ERROR",
        |c| Box::pin(members(c)),
    )
    .v5()
    .needs(ROOMS),
    Case::new(
        "R-8.10/3",
        "a ROOM_MESSAGE reaches every member, the sender included, with to_name the room, and nobody else",
        |c| Box::pin(room_message(c)),
    )
    .v5()
    .needs(ROOMS),
    Case::new(
        "R-8.10/4",
        "a ROOM_MESSAGE to a room the sender is not in, or that does not exist, gets ERROR",
        |c| Box::pin(room_message_refused(c)),
    )
    .v5()
    .needs(ROOMS),
    Case::new(
        "R-8.10/5",
        "a ROOM_MESSAGE with an empty to_name is relayed once to each room the sender is in",
        |c| Box::pin(every_room(c)),
    )
    .v5()
    .needs(ROOMS),
];

/// Sends a request and returns its answer: the same verb, or ERROR.
async fn request(client: &mut RawClient, verb: Verb, to: &str) -> Check<Msg> {
    client.send(verb, to, "").await?;
    client
        .expect(&format!("{verb} answered, or ERROR"), |m| {
            m.is(verb) || m.is_error()
        })
        .await
}

/// A request that must succeed, answered with the same verb from `server` (R-8.9).
async fn succeeds(client: &mut RawClient, verb: Verb, to: &str) -> Check<Msg> {
    let answer = request(client, verb, to).await?;
    check!(
        answer.is(verb) && answer.from == "server",
        "expected {verb} {to:?} answered with {verb} from server, got {answer}"
    );
    Ok(answer)
}

/// A request that must fail with ERROR.
async fn refused(client: &mut RawClient, verb: Verb, to: &str, why: &str) -> Check {
    let answer = request(client, verb, to).await?;
    check!(
        answer.is_error(),
        "expected ERROR for {verb} {to:?} ({why}), got {answer}"
    );
    Ok(())
}

async fn create(ctx: Ctx) -> Check {
    let mut ann = ctx.user("ann").await?;
    let room = ctx.name("room");
    succeeds(&mut ann, Verb::ROOM_CREATE, &room).await?;
    let members = succeeds(&mut ann, Verb::ROOM_MEMBERS, &room).await?;
    check!(
        !members.text.lines().any(|l| l == ann.name()),
        "expected the creator not to be a member until it joins, got {members}"
    );
    refused(&mut ann, Verb::ROOM_CREATE, &room, "it exists").await?;
    for bad in ["a,b", "ALL", "server", "tab\there"] {
        refused(&mut ann, Verb::ROOM_CREATE, bad, "not a valid name").await?;
    }
    Ok(())
}

async fn join_leave(ctx: Ctx) -> Check {
    let mut ann = ctx.user("ann").await?;
    let room = ctx.name("room");
    let nowhere = ctx.name("none");
    succeeds(&mut ann, Verb::ROOM_CREATE, &room).await?;
    succeeds(&mut ann, Verb::ROOM_JOIN, &room).await?;
    refused(&mut ann, Verb::ROOM_JOIN, &room, "already a member").await?;
    refused(&mut ann, Verb::ROOM_JOIN, &nowhere, "no such room").await?;
    succeeds(&mut ann, Verb::ROOM_LEAVE, &room).await?;
    refused(&mut ann, Verb::ROOM_LEAVE, &room, "not a member").await?;
    refused(&mut ann, Verb::ROOM_LEAVE, &nowhere, "no such room").await?;
    Ok(())
}

async fn general(ctx: Ctx) -> Check {
    let mut ann = ctx.user("ann").await?;
    refused(&mut ann, Verb::ROOM_CREATE, "General", "General exists").await?;
    let list = succeeds(&mut ann, Verb::ROOM_LIST, "server").await?;
    check!(
        list.text.lines().next() == Some("General"),
        "expected ROOM_LIST to start with General, got {list}"
    );
    Ok(())
}

async fn list(ctx: Ctx) -> Check {
    let mut ann = ctx.user("ann").await?;
    let rooms = [ctx.name("r"), ctx.name("r"), ctx.name("r")];
    for room in &rooms {
        succeeds(&mut ann, Verb::ROOM_CREATE, room).await?;
    }
    let list = succeeds(&mut ann, Verb::ROOM_LIST, "server").await?;
    let lines: Vec<&str> = list.text.lines().collect();
    let wanted = ["General", &rooms[0], &rooms[1], &rooms[2]];
    check!(
        in_order(&lines, &wanted),
        "expected {wanted:?} in the order created in ROOM_LIST, got {:?}",
        list.text
    );
    Ok(())
}

async fn members(ctx: Ctx) -> Check {
    let (mut ann, mut bob) = pair(&ctx).await?;
    let mut cy = ctx.user("cy").await?;
    let room = ctx.name("room");
    succeeds(&mut ann, Verb::ROOM_CREATE, &room).await?;
    for client in [&mut bob, &mut ann, &mut cy] {
        succeeds(client, Verb::ROOM_JOIN, &room).await?;
    }
    let members = succeeds(&mut ann, Verb::ROOM_MEMBERS, &room).await?;
    let expected = [bob.name(), ann.name(), cy.name()].join("\n");
    check!(
        members.text == expected,
        "expected the members in the order they joined, {expected:?}, got {:?}",
        members.text
    );
    refused(
        &mut ann,
        Verb::ROOM_MEMBERS,
        &ctx.name("none"),
        "no such room",
    )
    .await
}

async fn room_message(ctx: Ctx) -> Check {
    let (mut ann, mut bob) = pair(&ctx).await?;
    let mut outsider = ctx.user("out").await?;
    let room = ctx.name("room");
    succeeds(&mut ann, Verb::ROOM_CREATE, &room).await?;
    succeeds(&mut ann, Verb::ROOM_JOIN, &room).await?;
    succeeds(&mut bob, Verb::ROOM_JOIN, &room).await?;
    let text = ctx.name("hi-room");
    ann.send(Verb::ROOM_MESSAGE, &room, &text).await?;
    let from = ann.name().to_owned();
    for client in [&mut ann, &mut bob] {
        let got = client
            .expect("the ROOM_MESSAGE", |m| {
                m.is(Verb::ROOM_MESSAGE) && m.text == text
            })
            .await?;
        check!(
            got.from == from && got.to == room,
            "expected ROOM_MESSAGE from {from:?} to {room:?}, got {got}"
        );
    }
    not_acted_on(&ctx, &mut ann, &mut outsider, &text, "a message to a room").await
}

async fn room_message_refused(ctx: Ctx) -> Check {
    let (mut ann, mut bob) = pair(&ctx).await?;
    let room = ctx.name("room");
    succeeds(&mut bob, Verb::ROOM_CREATE, &room).await?;
    succeeds(&mut bob, Verb::ROOM_JOIN, &room).await?;
    let text = ctx.name("not-in");
    ann.send(Verb::ROOM_MESSAGE, &room, &text).await?;
    ann.expect_error("a ROOM_MESSAGE to a room the sender is not in")
        .await?;
    ann.send(Verb::ROOM_MESSAGE, &ctx.name("none"), &text)
        .await?;
    ann.expect_error("a ROOM_MESSAGE to a room that does not exist")
        .await?;
    not_acted_on(&ctx, &mut ann, &mut bob, &text, "a refused ROOM_MESSAGE").await
}

async fn every_room(ctx: Ctx) -> Check {
    let (mut ann, mut bob) = pair(&ctx).await?;
    let (shared, own) = (ctx.name("r"), ctx.name("r"));
    for room in [&shared, &own] {
        succeeds(&mut ann, Verb::ROOM_CREATE, room).await?;
        succeeds(&mut ann, Verb::ROOM_JOIN, room).await?;
    }
    succeeds(&mut bob, Verb::ROOM_JOIN, &shared).await?;
    let text = ctx.name("everywhere");
    ann.send(Verb::ROOM_MESSAGE, "", &text).await?;
    let expect_rooms =
        |rooms: &[&str]| rooms.iter().map(|r| r.to_string()).collect::<BTreeSet<_>>();
    for (client, rooms) in [
        (&mut ann, expect_rooms(&["General", &shared, &own])),
        (&mut bob, expect_rooms(&["General", &shared])),
    ] {
        let mut got = BTreeSet::new();
        for _ in 0..rooms.len() {
            let relay = client
                .expect("a relay of the ROOM_MESSAGE with an empty to_name", |m| {
                    m.is(Verb::ROOM_MESSAGE) && m.text == text
                })
                .await?;
            check!(
                got.insert(relay.to.clone()),
                "expected one relay per room, got two to {:?}",
                relay.to
            );
        }
        check!(
            got == rooms,
            "expected {} to get the message once for each of {rooms:?}, got {got:?}",
            client.name()
        );
    }
    Ok(())
}
