//! What the case files share: their imports, and checks that recur.

pub(super) use std::time::Duration;

pub(super) use chatproto::{Dialect, Verb};

pub(super) use crate::server_suite::case::{Case, Check, Stop};
pub(super) use crate::server_suite::client::{Msg, RawClient};
pub(super) use crate::server_suite::config::{Feature, Transport};
pub(super) use crate::server_suite::context::Ctx;
pub(super) use crate::server_suite::frames::{self, hex_diff, Frame};

/// Where a client sends WHO and LOGIN: `server` in v5, `ALL` in v4 (table 4.1).
pub(super) fn to_server(dialect: Dialect) -> &'static str {
    match dialect {
        Dialect::V5 => "server",
        Dialect::Legacy => "ALL",
    }
}

/// Matches the RESEND for packet `number` (any RESEND in v4, whose numbers mean nothing, R-3.4).
pub(super) fn resend_of(dialect: Dialect, number: u32) -> impl Fn(&Msg) -> bool {
    move |m| m.is(Verb::RESEND) && (dialect == Dialect::Legacy || m.number == number)
}

/// Matches the CONFIRM of packet `number` (any CONFIRM in v4).
pub(super) fn confirm_of(dialect: Dialect, number: u32) -> impl Fn(&Msg) -> bool {
    move |m| m.is(Verb::CONFIRM) && (dialect == Dialect::Legacy || m.number == number)
}

/// Two users, logged in.
pub(super) async fn pair(ctx: &Ctx) -> Check<(RawClient, RawClient)> {
    Ok((ctx.user("ann").await?, ctx.user("bob").await?))
}

/// A frame from `client`, numbered with its next number (not used up: a refused frame takes no number,
/// so the next good packet carries the same one).
pub(super) fn frame(client: &RawClient, verb: Verb, to: &str, text: &str) -> Check<Frame> {
    Ok(client.packet(verb, to, text)?.encode())
}

/// After `sender` sent something the server must refuse, whose text held `bad`: a BROADCAST marker from
/// `sender` reaches `watcher` with nothing holding `bad` before it, and the server still serves others.
pub(super) async fn refused_and_still_serving(
    ctx: &Ctx,
    sender: &mut RawClient,
    watcher: &mut RawClient,
    bad: &str,
    what: &str,
) -> Check {
    not_acted_on(ctx, sender, watcher, bad, what).await?;
    ctx.still_serves(what).await
}

/// The marker check of [`refused_and_still_serving`], without the final check on other clients.
pub(super) async fn not_acted_on(
    ctx: &Ctx,
    sender: &mut RawClient,
    watcher: &mut RawClient,
    bad: &str,
    what: &str,
) -> Check {
    let marker = ctx.name("marker");
    let number = sender.send(Verb::BROADCAST, "ALL", &marker).await?;
    let bad = bad.to_owned();
    let found = watcher
        .expect_before(
            &format!("the marker BROADCAST sent after {what}"),
            |m| m.is(Verb::BROADCAST) && m.text == marker,
            &format!("message from {what}"),
            |m| !bad.is_empty() && m.text.contains(&bad),
        )
        .await;
    found.map(|_| ()).map_err(|stop| match stop {
        Stop::Fail(why) if sender.dialect() == Dialect::V5 => Stop::Fail(format!(
            "{why}\n(the marker was packet {number}; a server that accepted the refused frame under \
             that number would take the marker for a duplicate)"
        )),
        other => other,
    })
}

/// The text of the WHO reply. In v4 a long list comes as several whole WHO packets, all but the
/// last full (256 bytes, less at most three for a character boundary), so pieces are joined until one is
/// short.
pub(super) async fn who(client: &mut RawClient) -> Check<String> {
    let to = to_server(client.dialect());
    client.send(Verb::WHO, to, "").await?;
    let mut text = String::new();
    loop {
        let piece = client
            .expect("the WHO reply from server", |m| {
                m.is(Verb::WHO) && m.from == "server"
            })
            .await?;
        text.push_str(&piece.text);
        if client.dialect() == Dialect::V5 || piece.text.len() < 253 {
            return Ok(text);
        }
    }
}

/// Whether `wanted` appear in `list` in this order (others may come between: other cases' users).
pub(super) fn in_order(list: &[&str], wanted: &[&str]) -> bool {
    let mut at = 0;
    for item in list {
        if at < wanted.len() && *item == wanted[at] {
            at += 1;
        }
    }
    at == wanted.len()
}

/// `<name> has connected.`.
pub(super) fn connected(name: &str) -> String {
    format!("{name} has connected.")
}

/// `<name> has disconnected.`.
pub(super) fn disconnected(name: &str) -> String {
    format!("{name} has disconnected.")
}

/// Registers `name` with REGISTER on a new session and leaves with QUIT, so the account exists and
/// nobody is online under it.
pub(super) async fn registered(ctx: &Ctx, name: &str, password: &str) -> Check {
    let mut client = ctx.connect().await?;
    let answer = client.try_password(Verb::REGISTER, name, password).await?;
    check!(
        !answer.is_error(),
        "expected REGISTER of {name} to log in, got {answer}"
    );
    client.quit().await
}

/// Fails unless a received frame has exactly the bytes of `expected`, showing the difference in hex.
pub(super) fn same_bytes(what: &str, expected: &Frame, got: &Frame) -> Check {
    if expected != got {
        fail!(
            "{what}: the frame differs from the expected bytes:\n{}",
            hex_diff(expected, got)
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn in_order_allows_others_between() {
        assert!(in_order(&["a", "x", "b", "c"], &["a", "b", "c"]));
        assert!(!in_order(&["b", "a"], &["a", "b"]));
        assert!(in_order(&["a"], &[]));
    }
}
