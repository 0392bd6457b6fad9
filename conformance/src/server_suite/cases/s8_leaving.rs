//! §8.7, leaving: QUIT, sessions that end without it, and the server stopping.

use super::common::*;

pub(super) const CASES: &[Case] = &[
    Case::new(
        "R-8.15/1",
        "QUIT is announced as `<name> has disconnected.` from the user to ALL, to everyone, the leaver \
         included",
        |c| Box::pin(quit_notice(c)),
    ),
    Case::new(
        "R-8.15/2",
        "a connection closed without QUIT is announced to the others",
        |c| Box::pin(closed_announced(c)),
    )
    .tcp(),
    Case::new(
        "R-8.15/3",
        "a user who leaves is removed from every room",
        |c| Box::pin(leaves_rooms(c)),
    )
    .v5()
    .needs(&[Feature::Rooms]),
    Case::new(
        "R-8.15/4",
        "once a user has left, the name is free to log in again",
        |c| Box::pin(name_free_again(c)),
    ),
    Case::new(
        "R-8.16/1",
        "when the server stops, every session gets SHUTDOWN from server to ALL saying why (needs \
         --await-shutdown and the operator stopping the server)",
        |c| Box::pin(shutdown(c)),
    )
    .at_shutdown(),
];

async fn quit_notice(ctx: Ctx) -> Check {
    let (mut ann, mut bob) = pair(&ctx).await?;
    let name = ann.name().to_owned();
    ann.send(Verb::QUIT, "ALL", &disconnected(&name)).await?;
    for (who, client) in [("the leaver", &mut ann), ("bob", &mut bob)] {
        let got = client
            .expect(&format!("the QUIT notice for {name}"), |m| {
                m.is_notice(Verb::QUIT, &name)
            })
            .await?;
        check!(
            got.to == "ALL" && got.text == disconnected(&name),
            "expected {who} to get QUIT from {name:?} to \"ALL\" with text {:?}, got {got}",
            disconnected(&name)
        );
    }
    Ok(())
}

async fn closed_announced(ctx: Ctx) -> Check {
    let (mut ann, mut bob) = pair(&ctx).await?;
    let name = ann.name().to_owned();
    ann.shutdown().await;
    drop(ann);
    let got = bob
        .expect(
            &format!("the QUIT notice for {name}, whose connection closed"),
            |m| m.is_notice(Verb::QUIT, &name),
        )
        .await?;
    check!(
        got.text == disconnected(&name),
        "expected the text {:?}, got {got}",
        disconnected(&name)
    );
    Ok(())
}

async fn leaves_rooms(ctx: Ctx) -> Check {
    let (mut ann, mut bob) = pair(&ctx).await?;
    let room = ctx.name("room");
    ann.send(Verb::ROOM_CREATE, &room, "").await?;
    for client in [&mut ann, &mut bob] {
        client.send(Verb::ROOM_JOIN, &room, "").await?;
        client
            .expect("ROOM_JOIN answered", |m| {
                m.is(Verb::ROOM_JOIN) || m.is_error()
            })
            .await?;
    }
    let name = ann.name().to_owned();
    ann.quit().await?;
    for room in [room.as_str(), "General"] {
        bob.send(Verb::ROOM_MEMBERS, room, "").await?;
        let members = bob
            .expect("ROOM_MEMBERS answered", |m| {
                m.is(Verb::ROOM_MEMBERS) || m.is_error()
            })
            .await?;
        check!(
            members.is(Verb::ROOM_MEMBERS) && !members.text.lines().any(|l| l == name),
            "expected {name} gone from {room} after QUIT, got {members}"
        );
    }
    Ok(())
}

async fn name_free_again(ctx: Ctx) -> Check {
    let mut ann = ctx.user("ann").await?;
    let name = ann.name().to_owned();
    ann.quit().await?;
    drop(ann);
    let mut again = ctx.connect().await?;
    again.login(&name).await
}

async fn shutdown(ctx: Ctx) -> Check {
    let Some(wait) = ctx.config().await_shutdown else {
        skip!(
            "the server must stop while this case waits: run it with --only R-8.16 --await-shutdown 60 \
             and stop the server (Ctrl-C) once it says it is waiting"
        );
    };
    let (mut ann, mut bob) = pair(&ctx).await?;
    if let Some(ready) = &ctx.config().shutdown_ready {
        ready.notify_one();
    } else {
        eprintln!("R-8.16/1: logged in and waiting up to {wait:?}: stop the server now");
    }
    for client in [&mut ann, &mut bob] {
        let got = client
            .expect_within(wait, "SHUTDOWN as the server stops", |m| {
                m.is(Verb::SHUTDOWN)
            })
            .await?;
        check!(
            got.from == "server" && got.to == "ALL" && !got.text.is_empty(),
            "expected SHUTDOWN from server to ALL saying why, got {got}"
        );
    }
    Ok(())
}
