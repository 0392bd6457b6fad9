//! §8.6 and R-8.14: DELIVERED receipts, history, and HELP.

use super::common::*;

pub(super) const CASES: &[Case] = &[
    Case::new(
        "R-8.12/1",
        "when the recipient confirms a PRIVATE_MESSAGE, the sender gets DELIVERED `<number> <ms>` from \
         the recipient",
        |c| Box::pin(delivered_private(c)),
    )
    .v5()
    .needs(&[Feature::Receipts]),
    Case::new(
        "R-8.12/2",
        "a fragmented ROOM_MESSAGE gets DELIVERED from each member, with the number of its last packet",
        |c| Box::pin(delivered_room(c)),
    )
    .v5()
    .needs(&[Feature::Receipts, Feature::Rooms]),
    Case::new(
        "R-8.12/3",
        "a message kept for an offline user gets DELIVERED when it is delivered at their next login",
        |c| Box::pin(delivered_kept(c)),
    )
    .v5()
    .needs(&[Feature::Receipts, Feature::Passwords]),
    Case::new(
        "R-8.13/1",
        "HISTORY_REQUEST returns what the requester may see, oldest first, as `<ms> <VERB> <text>` from \
         sender to recipient, then `end <count>` from server",
        |c| Box::pin(history_visible(c)),
    )
    .v5()
    .needs(&[Feature::History, Feature::Rooms]),
    Case::new(
        "R-8.13/2",
        "HISTORY_REQUEST for 1 returns one entry; for 1000, at most 500; with no number, at most 50",
        |c| Box::pin(history_counts(c)),
    )
    .v5()
    .needs(&[Feature::History]),
    Case::new(
        "R-8.13/3",
        "a message the server has confirmed is in the history at once (stored before the CONFIRM)",
        |c| Box::pin(history_after_confirm(c)),
    )
    .v5()
    .needs(&[Feature::History]),
    Case::new(
        "R-8.14/1",
        "HELP is answered with HELP from server listing the commands",
        |c| Box::pin(help(c)),
    )
    .v5(),
];

/// Checks a DELIVERED: from `recipient` to `sender`, text `<number> <ms since the epoch>`.
fn check_delivered(got: &Msg, sender: &str, recipient: &str, number: u32) -> Check {
    let fields: Vec<&str> = got.text.split(' ').collect();
    let shape = fields.len() == 2 && fields[1].parse::<u64>().is_ok();
    check!(
        got.from == recipient && got.to == sender && shape && fields[0] == number.to_string(),
        "expected DELIVERED from {recipient:?} to {sender:?} with text \"{number} <ms since epoch>\", got \
         {got}"
    );
    Ok(())
}

async fn delivered_private(ctx: Ctx) -> Check {
    let (mut ann, mut bob) = pair(&ctx).await?;
    let text = ctx.name("receipt");
    let (a, b) = (ann.name().to_owned(), bob.name().to_owned());
    let number = ann.send(Verb::PRIVATE_MESSAGE, &b, &text).await?;
    bob.expect("the PRIVATE_MESSAGE", |m| m.text == text)
        .await?;
    let got = ann
        .expect(&format!("DELIVERED from {b}"), |m| {
            m.is(Verb::DELIVERED) && m.from == b
        })
        .await?;
    check_delivered(&got, &a, &b, number)
}

async fn delivered_room(ctx: Ctx) -> Check {
    let (mut ann, mut bob) = pair(&ctx).await?;
    let mut cy = ctx.user("cy").await?;
    let room = ctx.name("room");
    ann.send(Verb::ROOM_CREATE, &room, "").await?;
    ann.expect("ROOM_CREATE answered", |m| m.is(Verb::ROOM_CREATE))
        .await?;
    for client in [&mut ann, &mut bob, &mut cy] {
        client.send(Verb::ROOM_JOIN, &room, "").await?;
        client
            .expect("ROOM_JOIN answered", |m| m.is(Verb::ROOM_JOIN))
            .await?;
    }
    let text = format!("{} {}", "r".repeat(600), ctx.name("long"));
    let number = ann.send(Verb::ROOM_MESSAGE, &room, &text).await?;
    let a = ann.name().to_owned();
    for member in [&mut bob, &mut cy] {
        member
            .expect("the long ROOM_MESSAGE", |m| m.text == text)
            .await?;
        let name = member.name().to_owned();
        let got = ann
            .expect(&format!("DELIVERED from {name}"), |m| {
                m.is(Verb::DELIVERED) && m.from == name
            })
            .await?;
        check_delivered(&got, &a, &name, number)?;
    }
    Ok(())
}

async fn delivered_kept(ctx: Ctx) -> Check {
    ctx.require_plaintext_passwords()?;
    let away = ctx.name("away");
    registered(&ctx, &away, "pw").await?;
    let mut ann = ctx.user("ann").await?;
    let text = ctx.name("kept");
    let number = ann.send(Verb::PRIVATE_MESSAGE, &away, &text).await?;
    ann.expect_confirm(number).await?;
    let mut back = ctx.connect().await?;
    let notice = back.try_password(Verb::AUTH, &away, "pw").await?;
    check!(!notice.is_error(), "expected AUTH to log in, got {notice}");
    back.expect("the kept message", |m| m.text == text).await?;
    let got = ann
        .expect(&format!("DELIVERED from {away}"), |m| {
            m.is(Verb::DELIVERED) && m.from == away
        })
        .await?;
    let a = ann.name().to_owned();
    check_delivered(&got, &a, &away, number)
}

/// The entries of a HISTORY_REQUEST for `n`, and the `end <count>` marker, checked against each other.
async fn history(client: &mut RawClient, n: &str) -> Check<Vec<Msg>> {
    client.send(Verb::HISTORY_REQUEST, "server", n).await?;
    let mut entries = Vec::new();
    loop {
        let reply = client
            .expect("HISTORY_REPLY, or ERROR", |m| {
                m.is(Verb::HISTORY_REPLY) || m.is_error()
            })
            .await?;
        check!(!reply.is_error(), "expected history for {n:?}, got {reply}");
        if reply.from == "server" {
            let end = format!("end {}", entries.len());
            check!(
                reply.text == end && reply.to == client.name(),
                "expected the last HISTORY_REPLY from server to {:?} with text {end:?}, got {reply}",
                client.name()
            );
            return Ok(entries);
        }
        entries.push(reply);
    }
}

/// An entry's text: `<ms since epoch> <VERB> <text>`.
fn entry_parts(entry: &Msg) -> Option<(u64, &str, &str)> {
    let (ms, rest) = entry.text.split_once(' ')?;
    let (verb, text) = rest.split_once(' ').unwrap_or((rest, ""));
    Some((ms.parse().ok()?, verb, text))
}

async fn history_visible(ctx: Ctx) -> Check {
    let (mut ann, mut bob) = pair(&ctx).await?;
    let (mut cy, dan) = (ctx.user("cy").await?, ctx.user("dan").await?);
    let (a, b) = (ann.name().to_owned(), bob.name().to_owned());
    let (first, second) = (ctx.name("h1"), ctx.name("h2"));
    let n = ann.send(Verb::PRIVATE_MESSAGE, &b, &first).await?;
    ann.expect_confirm(n).await?;
    let n = bob.send(Verb::PRIVATE_MESSAGE, &a, &second).await?;
    bob.expect_confirm(n).await?;
    // What ann may not see: a private message between others, and a room she is not in.
    let secret = ctx.name("secret");
    let n = cy.send(Verb::PRIVATE_MESSAGE, dan.name(), &secret).await?;
    cy.expect_confirm(n).await?;
    let room = ctx.name("room");
    cy.send(Verb::ROOM_CREATE, &room, "").await?;
    cy.send(Verb::ROOM_JOIN, &room, "").await?;
    let n = cy.send(Verb::ROOM_MESSAGE, &room, &secret).await?;
    cy.expect_confirm(n).await?;
    let entries = history(&mut ann, "500").await?;
    if let Some(leak) = entries.iter().find(|e| e.text.contains(&secret)) {
        fail!("expected no message ann may not see in her history, got {leak}");
    }
    let find = |text: &str| entries.iter().position(|e| e.text.ends_with(text));
    let (Some(i), Some(j)) = (find(&first), find(&second)) else {
        fail!(
            "expected both private messages in the history, got {} entries without one of them",
            entries.len()
        );
    };
    check!(
        i < j,
        "expected the history oldest first; {first:?} came after {second:?}"
    );
    for (at, from, to, text) in [(i, &a, &b, &first), (j, &b, &a, &second)] {
        let entry = &entries[at];
        let parts = entry_parts(entry);
        check!(
            entry.from == *from
                && entry.to == *to
                && parts.is_some_and(|(_, verb, t)| verb == "PRIVATE_MESSAGE" && t == text),
            "expected HISTORY_REPLY from {from:?} to {to:?} with text \"<ms> PRIVATE_MESSAGE {text}\", got \
             {entry}"
        );
    }
    Ok(())
}

async fn history_counts(ctx: Ctx) -> Check {
    let (mut ann, bob) = pair(&ctx).await?;
    let n = ann
        .send(Verb::PRIVATE_MESSAGE, bob.name(), &ctx.name("h"))
        .await?;
    ann.expect_confirm(n).await?;
    let one = history(&mut ann, "1").await?;
    check!(one.len() == 1, "expected 1 entry for 1, got {}", one.len());
    let many = history(&mut ann, "1000").await?;
    check!(
        many.len() <= 500,
        "expected at most 500 entries for 1000, got {}",
        many.len()
    );
    let default = history(&mut ann, "").await?;
    check!(
        default.len() <= 50,
        "expected at most 50 entries with no number, got {}",
        default.len()
    );
    Ok(())
}

async fn history_after_confirm(ctx: Ctx) -> Check {
    let (mut ann, bob) = pair(&ctx).await?;
    let text = ctx.name("durable");
    let n = ann.send(Verb::PRIVATE_MESSAGE, bob.name(), &text).await?;
    ann.expect_confirm(n).await?;
    let entries = history(&mut ann, "500").await?;
    check!(
        entries.iter().any(|e| e.text.ends_with(&text)),
        "expected the message confirmed as packet {n} in the history at once; it is not among the last {}",
        entries.len()
    );
    Ok(())
}

async fn help(ctx: Ctx) -> Check {
    let mut ann = ctx.user("ann").await?;
    ann.send(Verb::HELP, "server", "").await?;
    let help = ann
        .expect("HELP answered, or ERROR", |m| {
            m.is(Verb::HELP) || m.is_error()
        })
        .await?;
    check!(
        help.is(Verb::HELP) && help.from == "server" && !help.text.trim().is_empty(),
        "expected HELP from server listing the commands, got {help}"
    );
    Ok(())
}
