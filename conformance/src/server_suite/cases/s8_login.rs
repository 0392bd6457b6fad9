//! §8.1, logging in: what may come before login, names, accounts, and the LOGIN notice.

use super::common::*;

const PASSWORDS: &[Feature] = &[Feature::Passwords];

pub(super) const CASES: &[Case] = &[
    Case::new(
        "R-8.1/1",
        "before login, BROADCAST, PRIVATE_MESSAGE and WHO get ERROR and nothing is acted on",
        |c| Box::pin(before_login(c)),
    ),
    Case::new(
        "R-8.1/2",
        "before login, HELP is answered and PING confirmed",
        |c| Box::pin(allowed_before_login(c)),
    )
    .v5(),
    Case::new(
        "R-8.1/3",
        "before login, ROOM_CREATE, ROOM_JOIN, CHAT_INVITE and HISTORY_REQUEST get ERROR and change \
         nothing",
        |c| Box::pin(v5_verbs_before_login(c)),
    )
    .v5()
    .needs(&[Feature::Rooms]),
    Case::new(
        "R-8.2/1",
        "LOGIN as an empty name, or one with a control character or a comma, is refused; the session may \
         try again",
        |c| Box::pin(bad_names(c)),
    ),
    Case::new(
        "R-8.2/2",
        "LOGIN as a name online on another session is refused; names compare case-sensitively",
        |c| Box::pin(name_taken(c)),
    ),
    Case::new(
        "R-8.2/3",
        "LOGIN as a registered name is refused",
        |c| Box::pin(registered_name(c)),
    )
    .needs(PASSWORDS),
    Case::new(
        "R-8.3/1",
        "REGISTER creates an account and logs in; AUTH logs in to it later",
        |c| Box::pin(register_and_auth(c)),
    )
    .needs(PASSWORDS),
    Case::new(
        "R-8.3/2",
        "AUTH with a wrong password, or for an unknown account, is refused",
        |c| Box::pin(auth_refused(c)),
    )
    .needs(PASSWORDS),
    Case::new(
        "R-8.3/3",
        "REGISTER of a registered name, or of a name online, is refused",
        |c| Box::pin(register_refused(c)),
    )
    .needs(PASSWORDS),
    Case::new(
        "R-8.3/4",
        "after 5 failed attempts for a name within a minute, even the right password is refused",
        |c| Box::pin(lockout(c)),
    )
    .needs(PASSWORDS),
    Case::new(
        "R-8.4/1",
        "on login, every online user, the new one included, gets `<name> has connected.` from the user \
         to ALL",
        |c| Box::pin(login_notice(c)),
    ),
    Case::new(
        "R-8.4/2",
        "a user who logs in is in the room General",
        |c| Box::pin(in_general(c)),
    )
    .v5()
    .needs(&[Feature::Rooms]),
    Case::new(
        "R-8.4/3",
        "messages kept while a user was offline follow the LOGIN notice, in the order sent",
        |c| Box::pin(kept_follow_notice(c)),
    )
    .needs(PASSWORDS),
];

async fn before_login(ctx: Ctx) -> Check {
    let mut watcher = ctx.user("watch").await?;
    let mut ghost = ctx.connect().await?;
    let name = ctx.name("ghost");
    ghost.set_name(&name);
    let bad = ctx.name("early");
    let watcher_name = watcher.name().to_owned();
    let requests = [
        (Verb::BROADCAST, "ALL".to_owned()),
        (Verb::PRIVATE_MESSAGE, watcher_name),
        (Verb::WHO, to_server(ctx.dialect()).to_owned()),
    ];
    for (verb, to) in &requests {
        ghost.send(*verb, to, &bad).await?;
        ghost.expect_error(&format!("{verb} before login")).await?;
    }
    ghost
        .expect_nothing(ctx.settle(), "WHO reply before login", |m| m.is(Verb::WHO))
        .await?;
    // Logging in now shows the watcher the notice, with nothing from before login ahead of it.
    ghost.login(&name).await?;
    let bad_text = bad.clone();
    watcher
        .expect_before(
            &format!("the LOGIN notice for {name}"),
            |m| m.is_notice(Verb::LOGIN, &name),
            "message sent before login",
            |m| m.text.contains(&bad_text),
        )
        .await?;
    Ok(())
}

async fn allowed_before_login(ctx: Ctx) -> Check {
    let mut client = ctx.connect().await?;
    client.send(Verb::HELP, "server", "").await?;
    let help = client
        .expect("the HELP reply", |m| m.is(Verb::HELP) || m.is_error())
        .await?;
    check!(
        help.is(Verb::HELP),
        "expected HELP before login to be answered, got {help}"
    );
    let number = client.send(Verb::PING, "server", "").await?;
    client.expect_confirm(number).await?;
    Ok(())
}

async fn v5_verbs_before_login(ctx: Ctx) -> Check {
    let mut ghost = ctx.connect().await?;
    ghost.set_name(&ctx.name("ghost"));
    let room = ctx.name("room");
    for (verb, to) in [
        (Verb::ROOM_CREATE, room.as_str()),
        (Verb::ROOM_JOIN, "General"),
        (Verb::CHAT_INVITE, "server"),
        (Verb::HISTORY_REQUEST, "server"),
    ] {
        ghost.send(verb, to, "").await?;
        ghost.expect_error(&format!("{verb} before login")).await?;
    }
    // The room was not created: a logged-in user can create it now.
    let mut ann = ctx.user("ann").await?;
    ann.send(Verb::ROOM_CREATE, &room, "").await?;
    let answer = ann
        .expect("ROOM_CREATE answered", |m| {
            m.is(Verb::ROOM_CREATE) || m.is_error()
        })
        .await?;
    check!(
        answer.is(Verb::ROOM_CREATE),
        "expected ROOM_CREATE of {room} to succeed, since the one sent before login must have done \
         nothing; got {answer}"
    );
    Ok(())
}

async fn bad_names(ctx: Ctx) -> Check {
    let mut client = ctx.connect().await?;
    let base = ctx.name("x");
    for bad in [
        String::new(),
        format!("a\tb{}", &base[..4]),
        format!("bell\u{7}{}", &base[..4]),
        format!("a,b{}", &base[..4]),
    ] {
        let answer = client.try_login(&bad).await?;
        check!(
            answer.is_error(),
            "expected ERROR for LOGIN as {bad:?}, got {answer}"
        );
    }
    client.login(&base).await
}

async fn name_taken(ctx: Ctx) -> Check {
    let ann = ctx.user("ann").await?;
    let name = ann.name().to_owned();
    let mut other = ctx.connect().await?;
    let answer = other.try_login(&name).await?;
    check!(
        answer.is_error(),
        "expected ERROR for LOGIN as {name:?}, online on another session, got {answer}"
    );
    // Names compare exactly: the same name in capitals is another name.
    let upper = name.to_uppercase();
    other.login(&upper).await
}

async fn registered_name(ctx: Ctx) -> Check {
    ctx.require_plaintext_passwords()?;
    let name = ctx.name("acct");
    registered(&ctx, &name, "pw-1").await?;
    let mut other = ctx.connect().await?;
    let answer = other.try_login(&name).await?;
    check!(
        answer.is_error(),
        "expected ERROR for LOGIN as the registered {name}, got {answer}"
    );
    Ok(())
}

async fn register_and_auth(ctx: Ctx) -> Check {
    ctx.require_plaintext_passwords()?;
    let name = ctx.name("acct");
    registered(&ctx, &name, "pw-1").await?;
    let mut again = ctx.connect().await?;
    let answer = again.try_password(Verb::AUTH, &name, "pw-1").await?;
    check!(
        !answer.is_error(),
        "expected AUTH with the right password to log in, got {answer}"
    );
    Ok(())
}

async fn auth_refused(ctx: Ctx) -> Check {
    ctx.require_plaintext_passwords()?;
    let name = ctx.name("acct");
    registered(&ctx, &name, "pw-1").await?;
    let mut client = ctx.connect().await?;
    let wrong = client.try_password(Verb::AUTH, &name, "pw-2").await?;
    check!(
        wrong.is_error(),
        "expected ERROR for a wrong password, got {wrong}"
    );
    let unknown = ctx.name("nobody");
    let answer = client.try_password(Verb::AUTH, &unknown, "pw-1").await?;
    check!(
        answer.is_error(),
        "expected ERROR for AUTH to an unknown account, got {answer}"
    );
    // Still not logged in: WHO is refused.
    client.set_name(&name);
    client.send(Verb::WHO, to_server(ctx.dialect()), "").await?;
    let who = client
        .expect("WHO answered", |m| m.is(Verb::WHO) || m.is_error())
        .await?;
    check!(
        who.is_error(),
        "expected refused logins to leave the session logged out; WHO gave {who}"
    );
    Ok(())
}

async fn register_refused(ctx: Ctx) -> Check {
    ctx.require_plaintext_passwords()?;
    let name = ctx.name("acct");
    registered(&ctx, &name, "pw-1").await?;
    let mut client = ctx.connect().await?;
    let answer = client.try_password(Verb::REGISTER, &name, "pw-2").await?;
    check!(
        answer.is_error(),
        "expected ERROR for REGISTER of the registered {name}, got {answer}"
    );
    let online = ctx.user("online").await?;
    let taken = online.name().to_owned();
    let answer = client.try_password(Verb::REGISTER, &taken, "pw-1").await?;
    check!(
        answer.is_error(),
        "expected ERROR for REGISTER of {taken}, online, got {answer}"
    );
    Ok(())
}

async fn lockout(ctx: Ctx) -> Check {
    ctx.require_plaintext_passwords()?;
    let name = ctx.name("acct");
    registered(&ctx, &name, "right").await?;
    let mut client = ctx.connect().await?;
    for i in 0..5 {
        let answer = client.try_password(Verb::AUTH, &name, "wrong").await?;
        check!(
            answer.is_error(),
            "expected ERROR for wrong password {} of 5, got {answer}",
            i + 1
        );
    }
    let answer = client.try_password(Verb::AUTH, &name, "right").await?;
    check!(
        answer.is_error(),
        "expected the right password refused after 5 failures within a minute, got {answer}"
    );
    Ok(())
}

async fn login_notice(ctx: Ctx) -> Check {
    let mut ann = ctx.user("ann").await?;
    let mut bob = ctx.connect().await?;
    let name = ctx.name("bob");
    let own = bob.try_login(&name).await?;
    for (who, notice) in [
        ("the new user", own),
        ("ann", {
            let name = name.clone();
            ann.expect(&format!("the LOGIN notice for {name}"), move |m| {
                m.is_notice(Verb::LOGIN, &name)
            })
            .await?
        }),
    ] {
        check!(
            notice.is(Verb::LOGIN)
                && notice.from == name
                && notice.to == "ALL"
                && notice.text == connected(&name),
            "expected {who} to get LOGIN from {name:?} to \"ALL\" with text {:?}, got {notice}",
            connected(&name)
        );
    }
    Ok(())
}

async fn in_general(ctx: Ctx) -> Check {
    let mut ann = ctx.user("ann").await?;
    ann.send(Verb::ROOM_MEMBERS, "General", "").await?;
    let members = ann
        .expect("the members of General", |m| {
            m.is(Verb::ROOM_MEMBERS) || m.is_error()
        })
        .await?;
    check!(
        members.is(Verb::ROOM_MEMBERS) && members.text.lines().any(|l| l == ann.name()),
        "expected {} among the members of General, got {members}",
        ann.name()
    );
    Ok(())
}

async fn kept_follow_notice(ctx: Ctx) -> Check {
    ctx.require_plaintext_passwords()?;
    let name = ctx.name("away");
    registered(&ctx, &name, "pw").await?;
    let mut ann = ctx.user("ann").await?;
    let texts: Vec<String> = (0..3).map(|_| ctx.name("kept")).collect();
    for text in &texts {
        let number = ann.send(Verb::PRIVATE_MESSAGE, &name, text).await?;
        ann.expect_confirm(number).await?;
    }
    let mut back = ctx.connect().await?;
    let notice = back.try_password(Verb::AUTH, &name, "pw").await?;
    check!(!notice.is_error(), "expected AUTH to log in, got {notice}");
    let mut got = Vec::new();
    for _ in &texts {
        got.push(
            back.expect("a kept PRIVATE_MESSAGE", |m| {
                m.is(Verb::PRIVATE_MESSAGE) && texts.contains(&m.text)
            })
            .await?,
        );
    }
    // Order of arrival, from the log: the notice first, then the messages as sent.
    let position = |frame: &Frame| back.log().iter().position(|r| r.bytes == *frame);
    let mut order: Vec<(Option<usize>, String)> = got
        .iter()
        .map(|m| (position(&m.frames[0].bytes), m.text.clone()))
        .collect();
    order.sort();
    let notice_at = position(&notice.frames[0].bytes);
    check!(
        order.iter().all(|(at, _)| *at > notice_at),
        "expected the kept messages after the LOGIN notice; some came before it"
    );
    let arrived: Vec<&String> = order.iter().map(|(_, text)| text).collect();
    let sent: Vec<&String> = texts.iter().collect();
    check!(
        arrived == sent,
        "expected the kept messages in the order sent {sent:?}, got {arrived:?}"
    );
    Ok(())
}
