//! §8.2 and §8.3, messages and presence: BROADCAST, PRIVATE_MESSAGE, messages kept for offline users,
//! impersonation, WHO.

use super::common::*;

const PASSWORDS: &[Feature] = &[Feature::Passwords];

pub(super) const CASES: &[Case] = &[
    Case::new(
        "R-8.5/1",
        "a BROADCAST reaches every online user, the sender included, with the same verb, names and text",
        |c| Box::pin(broadcast(c)),
    ),
    Case::new(
        "R-8.6/1",
        "a PRIVATE_MESSAGE reaches its recipient and its sender, and nobody else",
        |c| Box::pin(private_message(c)),
    ),
    Case::new(
        "R-8.6/2",
        "a PRIVATE_MESSAGE to a registered user who is offline is kept and delivered at their next login",
        |c| Box::pin(kept_for_offline(c)),
    )
    .needs(PASSWORDS),
    Case::new(
        "R-8.6/3",
        "a PRIVATE_MESSAGE to a name neither online nor registered gets ERROR",
        |c| Box::pin(private_to_nobody(c)),
    ),
    Case::new(
        "R-8.6/4",
        "a kept message whose delivery is cut short (never confirmed) is delivered again at the next login",
        |c| Box::pin(kept_until_confirmed(c)),
    )
    .v5()
    .needs(PASSWORDS),
    Case::new(
        "R-8.7/1",
        "a BROADCAST under another user's name gets ERROR and reaches nobody; the server goes on serving",
        |c| Box::pin(impersonated_broadcast(c)),
    ),
    Case::new(
        "R-8.7/2",
        "a PRIVATE_MESSAGE under another user's name gets ERROR and is not delivered",
        |c| Box::pin(impersonated_private(c)),
    ),
    Case::new(
        "R-8.7/3",
        "a HISTORY_REQUEST under another user's name gets ERROR and no history",
        |c| Box::pin(impersonated_history(c)),
    )
    .v5()
    .needs(&[Feature::History]),
    Case::new(
        "R-8.8/1",
        "WHO lists the online users in login order: `a, b` in v4, `<name>\\tavailable` lines in v5",
        |c| Box::pin(who_lists(c)),
    ),
    Case::new(
        "R-8.8/2",
        "WHO lists registered users who are offline as `<name>\\toffline`, after those online",
        |c| Box::pin(who_offline(c)),
    )
    .v5()
    .needs(PASSWORDS),
];

async fn broadcast(ctx: Ctx) -> Check {
    let (mut ann, mut bob) = pair(&ctx).await?;
    let mut cy = ctx.user("cy").await?;
    let text = format!("hello, everyone ✓ {}", ctx.name("b"));
    ann.send(Verb::BROADCAST, "ALL", &text).await?;
    let from = ann.name().to_owned();
    for client in [&mut ann, &mut bob, &mut cy] {
        let got = client
            .expect("the BROADCAST", |m| m.is(Verb::BROADCAST) && m.text == text)
            .await?;
        check!(
            got.from == from && got.to == "ALL",
            "expected {} to get BROADCAST from {from:?} to \"ALL\", got {got}",
            client.name()
        );
    }
    Ok(())
}

async fn private_message(ctx: Ctx) -> Check {
    let (mut ann, mut bob) = pair(&ctx).await?;
    let mut cy = ctx.user("cy").await?;
    let text = ctx.name("psst");
    let (from, to) = (ann.name().to_owned(), bob.name().to_owned());
    ann.send(Verb::PRIVATE_MESSAGE, &to, &text).await?;
    for client in [&mut bob, &mut ann] {
        let got = client
            .expect("the PRIVATE_MESSAGE", |m| {
                m.is(Verb::PRIVATE_MESSAGE) && m.text == text
            })
            .await?;
        check!(
            got.from == from && got.to == to,
            "expected PRIVATE_MESSAGE from {from:?} to {to:?}, got {got}"
        );
    }
    not_acted_on(
        &ctx,
        &mut ann,
        &mut cy,
        &text,
        "a private message to someone else",
    )
    .await
}

async fn kept_for_offline(ctx: Ctx) -> Check {
    ctx.require_plaintext_passwords()?;
    let name = ctx.name("away");
    registered(&ctx, &name, "pw").await?;
    let mut ann = ctx.user("ann").await?;
    let text = ctx.name("kept");
    let number = ann.send(Verb::PRIVATE_MESSAGE, &name, &text).await?;
    ann.expect_confirm(number).await?;
    ann.expect_nothing(
        ctx.settle(),
        "ERROR for a message to an offline user",
        Msg::is_error,
    )
    .await?;
    let mut back = ctx.connect().await?;
    let notice = back.try_password(Verb::AUTH, &name, "pw").await?;
    check!(!notice.is_error(), "expected AUTH to log in, got {notice}");
    let got = back
        .expect("the message kept while offline", |m| {
            m.is(Verb::PRIVATE_MESSAGE) && m.text == text
        })
        .await?;
    check!(
        got.from == ann.name() && got.to == name,
        "expected the kept message from {:?} to {name:?}, got {got}",
        ann.name()
    );
    Ok(())
}

async fn private_to_nobody(ctx: Ctx) -> Check {
    let mut ann = ctx.user("ann").await?;
    ann.send(Verb::PRIVATE_MESSAGE, &ctx.name("nobody"), "hello?")
        .await?;
    ann.expect_error("a private message to nobody").await?;
    Ok(())
}

async fn kept_until_confirmed(ctx: Ctx) -> Check {
    ctx.require_plaintext_passwords()?;
    let name = ctx.name("away");
    registered(&ctx, &name, "pw").await?;
    let mut ann = ctx.user("ann").await?;
    let text = ctx.name("kept");
    let number = ann.send(Verb::PRIVATE_MESSAGE, &name, &text).await?;
    ann.expect_confirm(number).await?;
    // The recipient receives it but never confirms it, then leaves.
    let mut first = ctx.connect().await?;
    first.set_auto_confirm(false);
    let notice = first.try_password(Verb::AUTH, &name, "pw").await?;
    check!(!notice.is_error(), "expected AUTH to log in, got {notice}");
    first
        .expect("the kept message, first delivery", |m| m.text == text)
        .await?;
    first.send(Verb::QUIT, "ALL", &disconnected(&name)).await?;
    first.shutdown().await;
    drop(first);
    // The server may take a moment to end that session; until then the name is online.
    let mut again = ctx.connect().await?;
    let mut answer = None;
    for pause in [1, 2, 3, 4] {
        tokio::time::sleep(Duration::from_secs(pause)).await;
        let got = again.try_password(Verb::AUTH, &name, "pw").await?;
        if !got.is_error() {
            answer = Some(got);
            break;
        }
    }
    check!(
        answer.is_some(),
        "expected AUTH to succeed once the first session ended; it was refused four times in 10 s"
    );
    again
        .expect(
            "the kept message delivered again, since it was never confirmed",
            |m| m.is(Verb::PRIVATE_MESSAGE) && m.text == text,
        )
        .await?;
    Ok(())
}

async fn impersonated_broadcast(ctx: Ctx) -> Check {
    let (mut ann, mut bob) = pair(&ctx).await?;
    let mut cy = ctx.user("cy").await?;
    let bad = ctx.name("fake");
    let victim = bob.name().to_owned();
    ann.send_from(&victim, Verb::BROADCAST, "ALL", &bad, false)
        .await?;
    ann.expect_error(&format!("a BROADCAST under the name {victim}"))
        .await?;
    not_acted_on(
        &ctx,
        &mut ann,
        &mut bob,
        &bad,
        "a BROADCAST under another's name",
    )
    .await?;
    refused_and_still_serving(
        &ctx,
        &mut ann,
        &mut cy,
        &bad,
        "a BROADCAST under another's name",
    )
    .await
}

async fn impersonated_private(ctx: Ctx) -> Check {
    let (mut ann, bob) = pair(&ctx).await?;
    let mut cy = ctx.user("cy").await?;
    let bad = ctx.name("fake");
    let (victim, target) = (bob.name().to_owned(), cy.name().to_owned());
    ann.send_from(&victim, Verb::PRIVATE_MESSAGE, &target, &bad, false)
        .await?;
    ann.expect_error(&format!("a PRIVATE_MESSAGE under the name {victim}"))
        .await?;
    refused_and_still_serving(
        &ctx,
        &mut ann,
        &mut cy,
        &bad,
        "a PRIVATE_MESSAGE under another's name",
    )
    .await
}

async fn impersonated_history(ctx: Ctx) -> Check {
    let (mut ann, mut bob) = pair(&ctx).await?;
    let secret = ctx.name("secret");
    let to = ann.name().to_owned();
    bob.send(Verb::PRIVATE_MESSAGE, &to, &secret).await?;
    ann.expect("the private message", |m| m.text == secret)
        .await?;
    let mut eve = ctx.user("eve").await?;
    let victim = bob.name().to_owned();
    eve.send_from(&victim, Verb::HISTORY_REQUEST, "server", "", false)
        .await?;
    eve.expect_error(&format!("HISTORY_REQUEST under the name {victim}"))
        .await?;
    eve.expect_nothing(ctx.settle(), "HISTORY_REPLY for another user", |m| {
        m.is(Verb::HISTORY_REPLY)
    })
    .await
}

async fn who_lists(ctx: Ctx) -> Check {
    let (mut ann, bob) = pair(&ctx).await?;
    let cy = ctx.user("cy").await?;
    let names = [
        ann.name().to_owned(),
        bob.name().to_owned(),
        cy.name().to_owned(),
    ];
    let text = who(&mut ann).await?;
    let listed: Vec<&str> = match ctx.dialect() {
        Dialect::Legacy => text.split(", ").collect(),
        Dialect::V5 => {
            for name in &names {
                let line = format!("{name}\tavailable");
                check!(
                    text.lines().any(|l| l == line),
                    "expected the line {line:?} in the WHO reply, got {text:?}"
                );
            }
            text.lines().filter_map(|l| l.split('\t').next()).collect()
        }
    };
    let wanted: Vec<&str> = names.iter().map(String::as_str).collect();
    check!(
        in_order(&listed, &wanted),
        "expected {wanted:?} in login order in the WHO reply, got {text:?}"
    );
    Ok(())
}

async fn who_offline(ctx: Ctx) -> Check {
    ctx.require_plaintext_passwords()?;
    let away = ctx.name("away");
    registered(&ctx, &away, "pw").await?;
    let mut ann = ctx.user("ann").await?;
    let text = who(&mut ann).await?;
    let lines: Vec<&str> = text.lines().collect();
    let offline_line = format!("{away}\toffline");
    let Some(at) = lines.iter().position(|l| *l == offline_line) else {
        fail!("expected the line {offline_line:?} in the WHO reply, got {text:?}");
    };
    let own = format!("{}\tavailable", ann.name());
    let own_at = lines.iter().position(|l| *l == own);
    check!(
        own_at.is_some_and(|own_at| own_at < at),
        "expected the online users before the offline ones, got {text:?}"
    );
    Ok(())
}
