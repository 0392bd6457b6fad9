//! §8.5, one-to-one chats: invitations, accepting, declining, ending, and leaving.

use super::common::*;

const CHATS: &[Feature] = &[Feature::Chats];

pub(super) const CASES: &[Case] = &[
    Case::new(
        "R-8.11/1",
        "CHAT_INVITE is relayed; CHAT_ACCEPT is relayed to the inviter and answered from server; WHO \
         shows both `chatting with` the other",
        |c| Box::pin(invite_accept(c)),
    )
    .v5()
    .needs(CHATS),
    Case::new(
        "R-8.11/2",
        "inviting someone offline, oneself, or someone already chatting gets ERROR, the last naming the \
         partner",
        |c| Box::pin(invite_refused(c)),
    )
    .v5()
    .needs(CHATS),
    Case::new(
        "R-8.11/3",
        "CHAT_DECLINE and CHAT_END are relayed; without an invitation or a chat, ACCEPT, DECLINE and END \
         get ERROR",
        |c| Box::pin(decline_end(c)),
    )
    .v5()
    .needs(CHATS),
    Case::new(
        "R-8.11/4",
        "a user who logs out leaves their chat: the partner is available and can be invited again",
        |c| Box::pin(logout_leaves_chat(c)),
    )
    .v5()
    .needs(CHATS),
];

/// `inviter` invites `invitee`, who accepts; both see it done.
async fn chatting(inviter: &mut RawClient, invitee: &mut RawClient) -> Check {
    let (a, b) = (inviter.name().to_owned(), invitee.name().to_owned());
    inviter.send(Verb::CHAT_INVITE, &b, "hi").await?;
    let invite = invitee
        .expect(&format!("CHAT_INVITE from {a}"), |m| {
            m.is(Verb::CHAT_INVITE) || m.is_error()
        })
        .await?;
    check!(
        invite.is(Verb::CHAT_INVITE) && invite.from == a && invite.to == b,
        "expected CHAT_INVITE from {a:?} to {b:?}, got {invite}"
    );
    invitee.send(Verb::CHAT_ACCEPT, &a, "").await?;
    let answer = invitee
        .expect("CHAT_ACCEPT answered, or ERROR", |m| {
            m.is(Verb::CHAT_ACCEPT) || m.is_error()
        })
        .await?;
    check!(
        answer.is(Verb::CHAT_ACCEPT) && answer.from == "server",
        "expected CHAT_ACCEPT from server answering the accept, got {answer}"
    );
    let relayed = inviter
        .expect(&format!("CHAT_ACCEPT from {b}"), |m| {
            m.is(Verb::CHAT_ACCEPT) || m.is_error()
        })
        .await?;
    check!(
        relayed.is(Verb::CHAT_ACCEPT) && relayed.from == b && relayed.to == a,
        "expected CHAT_ACCEPT from {b:?} to {a:?}, got {relayed}"
    );
    Ok(())
}

async fn invite_accept(ctx: Ctx) -> Check {
    let (mut ann, mut bob) = pair(&ctx).await?;
    chatting(&mut ann, &mut bob).await?;
    let text = who(&mut ann).await?;
    let (a, b) = (ann.name(), bob.name());
    for line in [
        format!("{a}\tchatting with {b}"),
        format!("{b}\tchatting with {a}"),
    ] {
        check!(
            text.lines().any(|l| l == line),
            "expected the line {line:?} in WHO, got {text:?}"
        );
    }
    Ok(())
}

async fn invite_refused(ctx: Ctx) -> Check {
    let (mut ann, mut bob) = pair(&ctx).await?;
    let mut cy = ctx.user("cy").await?;
    let own = ann.name().to_owned();
    for (to, why) in [(ctx.name("nobody"), "not online"), (own, "oneself")] {
        ann.send(Verb::CHAT_INVITE, &to, "").await?;
        ann.expect_error(&format!("CHAT_INVITE to {why}")).await?;
    }
    chatting(&mut bob, &mut cy).await?;
    let busy = bob.name().to_owned();
    ann.send(Verb::CHAT_INVITE, &busy, "").await?;
    let error = ann
        .expect_error("CHAT_INVITE to someone already chatting")
        .await?;
    check!(
        error.text.contains(cy.name()),
        "expected the ERROR to give the reason, naming the partner {:?}, got {error}",
        cy.name()
    );
    Ok(())
}

async fn decline_end(ctx: Ctx) -> Check {
    let (mut ann, mut bob) = pair(&ctx).await?;
    let (a, b) = (ann.name().to_owned(), bob.name().to_owned());
    for verb in [Verb::CHAT_ACCEPT, Verb::CHAT_DECLINE, Verb::CHAT_END] {
        bob.send(verb, &a, "").await?;
        bob.expect_error(&format!("{verb} with no invitation or chat"))
            .await?;
    }
    ann.send(Verb::CHAT_INVITE, &b, "").await?;
    bob.expect("CHAT_INVITE", |m| m.is(Verb::CHAT_INVITE))
        .await?;
    bob.send(Verb::CHAT_DECLINE, &a, "busy").await?;
    let declined = ann
        .expect("CHAT_DECLINE relayed", |m| {
            m.is(Verb::CHAT_DECLINE) || m.is_error()
        })
        .await?;
    check!(
        declined.is(Verb::CHAT_DECLINE) && declined.from == b,
        "expected CHAT_DECLINE from {b:?}, got {declined}"
    );
    chatting(&mut ann, &mut bob).await?;
    ann.send(Verb::CHAT_END, &b, "").await?;
    let ended = bob
        .expect("CHAT_END relayed", |m| m.is(Verb::CHAT_END) && m.from == a)
        .await?;
    check!(
        ended.to == b,
        "expected CHAT_END from {a:?} to {b:?}, got {ended}"
    );
    Ok(())
}

async fn logout_leaves_chat(ctx: Ctx) -> Check {
    let (mut ann, mut bob) = pair(&ctx).await?;
    let mut cy = ctx.user("cy").await?;
    chatting(&mut ann, &mut bob).await?;
    ann.quit().await?;
    let b = bob.name().to_owned();
    let text = who(&mut cy).await?;
    let line = format!("{b}\tavailable");
    check!(
        text.lines().any(|l| l == line),
        "expected {b} available once the partner logged out; WHO gave {text:?}"
    );
    cy.send(Verb::CHAT_INVITE, &b, "").await?;
    let c = cy.name().to_owned();
    bob.expect(&format!("CHAT_INVITE from {c}"), |m| {
        m.is(Verb::CHAT_INVITE) && m.from == c
    })
    .await?;
    Ok(())
}
