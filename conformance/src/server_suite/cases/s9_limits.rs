//! §9, security and limits: passwords over plaintext, and each of the bounds of §9.2, checked against the
//! values the suite was told the server is configured with (`--max-sessions` and the like).

use std::time::Duration;

use tokio::time::Instant;

use super::common::*;

pub(super) const CASES: &[Case] = &[
    Case::new(
        "R-9.1/1",
        "over plain TCP or UDP, REGISTER and AUTH get ERROR and nothing is stored",
        |c| Box::pin(no_plaintext_passwords(c)),
    ),
    Case::new(
        "R-9.2/1",
        "sessions are bounded: one beyond --max-sessions is refused, and existing sessions go on",
        |c| Box::pin(session_limit(c)),
    )
    .alone(),
    Case::new(
        "R-9.2/2",
        "a connection beyond the limit gets one ERROR `server full…` from server and is closed",
        |c| Box::pin(server_full_error(c)),
    )
    .alone()
    .strict(),
    Case::new(
        "R-9.3/1",
        "packets beyond the rate bucket (--rate-burst, --rate-per-second) are confirmed but not acted on",
        |c| Box::pin(rate_limited(c)),
    ),
    Case::new(
        "R-9.3/2",
        "a packet that finds the bucket empty is answered with ERROR `slow down…`",
        |c| Box::pin(slow_down(c)),
    )
    .strict(),
    Case::new(
        "R-9.3/3",
        "a session with --refusals-to-close refusals within --refusal-window is closed after an ERROR",
        |c| Box::pin(rate_close(c)),
    ),
    Case::new(
        "R-9.4/1",
        "a ROOM_JOIN beyond --rooms-per-user (General included) gets ERROR and changes nothing",
        |c| Box::pin(rooms_per_user(c)),
    )
    .needs(&[Feature::Rooms])
    .v5(),
    Case::new(
        "R-9.4/2",
        "a ROOM_CREATE beyond --rooms-total gets ERROR and changes nothing (fills the server's rooms)",
        |c| Box::pin(rooms_total(c)),
    )
    .needs(&[Feature::Rooms])
    .v5()
    .last(),
    Case::new(
        "R-9.5/1",
        "after --login-failures-per-address refused logins from one address, its LOGINs get ERROR; other \
         addresses are served (locks that address out for a minute)",
        |c| Box::pin(failures_per_address(c)),
    )
    .last(),
    Case::new(
        "R-9.6/1",
        "a session that does not log in within --login-timeout gets ERROR and is closed",
        |c| Box::pin(login_timeout(c)),
    ),
    Case::new(
        "R-9.6/2",
        "a logged-in session that sends no data packet for --idle-timeout gets ERROR and is closed",
        |c| Box::pin(idle_timeout(c)),
    )
    .strict(),
    Case::new(
        "R-9.7/1",
        "while one client reads nothing and others keep sending to it, two others still exchange messages \
         within the read timeout (the close of a full queue is not provoked)",
        |c| Box::pin(slow_reader(c)),
    ),
    Case::new(
        "R-9.8/1",
        "running out of resources cannot be provoked from outside; the nearest check: with the session \
         limit reached, existing sessions are served, and once sessions end new ones are accepted again",
        |c| Box::pin(recovers_after_limit(c)),
    )
    .alone(),
];

/// Most sessions the suite opens to find the limit: beyond this the case asks for a smaller limit.
const MOST_SESSIONS: usize = 1000;
/// Longest timeout a case waits out.
const LONGEST_WAIT: Duration = Duration::from_secs(120);

async fn no_plaintext_passwords(ctx: Ctx) -> Check {
    ctx.require(Feature::Passwords)?;
    if ctx.config().plaintext_passwords {
        skip!(
            "the server is declared to accept passwords in plaintext (--plaintext-passwords allowed), \
             which R-9.1 lets its operator allow from loopback"
        );
    }
    let name = ctx.name("acct");
    let mut client = ctx.connect().await?;
    for verb in [Verb::REGISTER, Verb::AUTH] {
        let answer = client.try_password(verb, &name, "secret").await?;
        check!(
            answer.is_error(),
            "expected ERROR for {verb} over plain {}, got {answer}",
            ctx.transport()
        );
    }
    // Nothing was stored: the name is not registered, so LOGIN may take it (R-8.2).
    client.login(&name).await
}

/// What opening one more session found.
enum Probe {
    Accepted(RawClient),
    Refused {
        answer: Result<Msg, String>,
        client: RawClient,
    },
}

/// Opens a session without logging in (so nobody else hears of it) and sees whether the server serves it:
/// the answer to HELP (in v4, its CONFIRM) means yes; ERROR, the end of the connection or silence mean
/// no. A refusal may also come just after such an answer: [`fill`] looks again.
async fn probe(ctx: &Ctx) -> Check<Probe> {
    let mut client = match ctx.connect().await {
        Ok(client) => client,
        Err(Stop::Fail(why)) => fail!("could not open a connection: {why}"),
        Err(skip) => return Err(skip),
    };
    client.send_now("", Verb::HELP, "server", "", false).await?;
    let v5 = client.dialect() == Dialect::V5;
    let found = client
        .expect("the answer to HELP, or ERROR", |m| {
            (if v5 {
                m.is(Verb::HELP)
            } else {
                m.is(Verb::CONFIRM)
            }) || m.is_error()
        })
        .await;
    Ok(match found {
        Ok(m) if !m.is_error() => Probe::Accepted(client),
        Ok(error) => Probe::Refused {
            answer: Ok(error),
            client,
        },
        Err(Stop::Fail(why)) => Probe::Refused {
            answer: Err(why),
            client,
        },
        Err(skip) => return Err(skip),
    })
}

/// Opens sessions until one is refused; at most one more than the limit is needed, since the suite's own
/// and other sessions only make the refusal come sooner.
async fn fill(ctx: &Ctx) -> Check<(Vec<RawClient>, Result<Msg, String>, RawClient)> {
    let max = ctx.limits().max_sessions;
    if max > MOST_SESSIONS {
        skip!(
            "--max-sessions {max} is more than the suite opens ({MOST_SESSIONS}); configure the server \
             with a smaller limit and pass it with --max-sessions"
        );
    }
    let mut opened = Vec::new();
    for _ in 0..=max {
        match probe(ctx).await? {
            Probe::Accepted(client) => opened.push((Instant::now(), client)),
            Probe::Refused { answer, client } => {
                return Ok((opened.into_iter().map(|(_, c)| c).collect(), answer, client))
            }
        }
    }
    // Every one answered; a server that answers before it refuses has sent ERROR or closed by now. Only
    // an ERROR that came soon after opening counts: a later one is the login timeout (R-9.6).
    let soon = ctx.limits().login_timeout / 2;
    let mut refused = None;
    for (at, (opened_at, client)) in opened.iter_mut().enumerate() {
        client.read_for(Duration::from_millis(1)).await?;
        let error = client
            .inbox()
            .find(|m| m.is_error() && m.frames[0].at.saturating_duration_since(*opened_at) < soon)
            .cloned();
        if let Some(error) = error {
            refused = Some((at, Ok(error)));
            break;
        }
        if let Some(why) = client.ended() {
            refused = Some((at, Err(format!("the connection ended ({why})"))));
            break;
        }
    }
    let Some((at, answer)) = refused else {
        fail!(
            "expected a session beyond the limit of {max} to be refused; {} new sessions were all served",
            opened.len()
        );
    };
    let (_, client) = opened.remove(at);
    Ok((opened.into_iter().map(|(_, c)| c).collect(), answer, client))
}

async fn session_limit(ctx: Ctx) -> Check {
    let (mut ann, mut bob) = pair(&ctx).await?;
    let (opened, _, _) = fill(&ctx).await?;
    exchange(&ctx, &mut ann, &mut bob, "the session limit was reached").await?;
    drop(opened);
    sessions_freed(&ctx).await
}

/// Waits until the server takes new sessions again, after a case filled it, so the cases after it find
/// it as the case found it. Over TCP the sessions end with their connections; over UDP the server lets
/// them go at its login timeout (R-9.6) or when they fall silent (R-7.9). A user logs in and QUITs to
/// show a session is free, since one that only probed would hold its place until its own timeout.
async fn sessions_freed(ctx: &Ctx) -> Check {
    if ctx.transport() == Transport::Udp {
        let limits = ctx.limits();
        let linger = limits.login_timeout.min(limits.dead_after);
        tokio::time::sleep(linger + Duration::from_millis(500)).await;
    }
    let deadline = Instant::now() + ctx.limits().dead_after + ctx.timeout() * 3;
    loop {
        let mut client = ctx.connect().await?;
        let answer = client.try_login(&ctx.name("free")).await;
        if let Ok(notice) = &answer {
            if !notice.is_error() {
                return client.quit().await;
            }
        }
        if Instant::now() >= deadline {
            fail!(
                "expected new sessions accepted again once the extra sessions ended; still refused: {}",
                match answer {
                    Ok(error) => error.to_string(),
                    Err(Stop::Fail(why) | Stop::Skip(why)) => why,
                }
            );
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// ann sends bob a private message, which must arrive.
async fn exchange(ctx: &Ctx, ann: &mut RawClient, bob: &mut RawClient, after: &str) -> Check {
    let text = ctx.name("still");
    let to = bob.name().to_owned();
    ann.send(Verb::PRIVATE_MESSAGE, &to, &text).await?;
    bob.expect(&format!("a private message after {after}"), |m| {
        m.is(Verb::PRIVATE_MESSAGE) && m.text == text
    })
    .await
    .map(|_| ())
}

async fn server_full_error(ctx: Ctx) -> Check {
    let (opened, answer, mut refused) = fill(&ctx).await?;
    let answer = match answer {
        Ok(answer) => answer,
        Err(why) => fail!(
            "expected ERROR `server full…` for the connection beyond the limit; instead: {why}"
        ),
    };
    check!(
        answer.is_error() && answer.from == "server" && answer.text.starts_with("server full"),
        "expected ERROR from server whose text starts \"server full\", got {answer}"
    );
    if ctx.transport() == Transport::Tcp {
        refused
            .expect_end(ctx.timeout(), "a connection beyond the session limit")
            .await?;
    }
    drop(opened);
    sessions_freed(&ctx).await
}

/// Sends PRIVATE_MESSAGEs to itself as fast as it can, tagged `tag`, until the server has received
/// `count` of them; returns how many it received. In v5 the client retransmits what is lost; in v4 over
/// UDP nothing is, so CONFIRMs, which a v4 server sends for every packet it receives (R-3.6), count them.
async fn flood(ctx: &Ctx, client: &mut RawClient, tag: &str, count: usize) -> Check<usize> {
    client.unpaced();
    let me = client.name().to_owned();
    let confirms = |client: &RawClient| {
        client
            .log()
            .iter()
            .filter(|r| r.packet.verb() == Verb::CONFIRM)
            .count()
    };
    let before = confirms(client);
    let mut sent = 0;
    for _ in 0..4 {
        let received = match client.dialect() {
            Dialect::V5 => sent,
            Dialect::Legacy => confirms(client) - before,
        };
        if received >= count || client.ended().is_some() {
            return Ok(received);
        }
        for _ in received..count {
            client
                .send_now(
                    &me,
                    Verb::PRIVATE_MESSAGE,
                    &me,
                    &format!("{tag} {sent}"),
                    false,
                )
                .await?;
            sent += 1;
        }
        if client.dialect() == Dialect::Legacy {
            client.read_for(ctx.settle()).await?;
        }
    }
    Ok(match client.dialect() {
        Dialect::V5 => sent,
        Dialect::Legacy => confirms(client) - before,
    })
}

/// Waits for the bucket to hold a few tokens again.
async fn refill(ctx: &Ctx) {
    let per_second = f64::from(ctx.limits().rate_per_second.max(1));
    tokio::time::sleep(Duration::from_secs_f64(4.0 / per_second)).await;
}

/// How many packets beyond the bucket a case sends: enough to be refused, never enough to be closed.
fn beyond_burst(ctx: &Ctx) -> usize {
    (ctx.limits().refusals_to_close as usize / 2).clamp(1, 10)
}

async fn rate_limited(ctx: Ctx) -> Check {
    let mut ann = ctx.user("ann").await?;
    let tag = ctx.name("rate");
    let count = ctx.limits().rate_burst as usize + beyond_burst(&ctx);
    let started = Instant::now();
    let received = flood(&ctx, &mut ann, &tag, count).await?;
    let took = started.elapsed();
    if ctx.dialect() == Dialect::V5 {
        // Every packet is confirmed, those refused for the rate too.
        let next = ann.peek_number();
        for number in next - received as u32..next {
            ann.expect_confirm(number).await?;
        }
    }
    refill(&ctx).await;
    let marker = ctx.name("marker");
    let me = ann.name().to_owned();
    ann.send(Verb::PRIVATE_MESSAGE, &me, &marker).await?;
    ann.expect("the marker sent once the bucket refilled", |m| {
        m.text == marker
    })
    .await?;
    let acted = ann
        .inbox()
        .filter(|m| m.is(Verb::PRIVATE_MESSAGE) && m.text.starts_with(&tag))
        .count();
    let bound = ctx.limits().rate_burst as f64
        + took.as_secs_f64() * f64::from(ctx.limits().rate_per_second)
        + 1.0;
    check!(
        acted < received && acted as f64 <= bound,
        "expected at most {bound:.0} of {received} packets received in {took:?} acted on (a bucket of \
         {} refilled at {}/s), got {acted}",
        ctx.limits().rate_burst,
        ctx.limits().rate_per_second
    );
    Ok(())
}

async fn slow_down(ctx: Ctx) -> Check {
    let mut ann = ctx.user("ann").await?;
    let tag = ctx.name("rate");
    let count = ctx.limits().rate_burst as usize + beyond_burst(&ctx);
    flood(&ctx, &mut ann, &tag, count).await?;
    let error = ann.expect_error("packets beyond the rate bucket").await?;
    check!(
        error.text.starts_with("slow down"),
        "expected ERROR whose text starts \"slow down\", got {error}"
    );
    Ok(())
}

/// Whether the server has ended the session `client` had: on TCP the connection ends; on UDP a LOGIN
/// numbered 1 reaches a new session (the old one would take it for a duplicate) and logs `name` in.
async fn session_ended(ctx: &Ctx, client: &mut RawClient, name: &str, why: &str) -> Check {
    match ctx.transport() {
        Transport::Tcp => client.expect_end(ctx.timeout() * 2, why).await,
        Transport::Udp => {
            let deadline = Instant::now() + ctx.timeout() * 3;
            loop {
                client.restart_numbering(1);
                let text = match client.dialect() {
                    Dialect::V5 => String::new(),
                    Dialect::Legacy => connected(name),
                };
                let login =
                    client.packet_from(name, Verb::LOGIN, to_server(client.dialect()), &text)?;
                client.take_number();
                client.send_frame(&login.encode()).await?;
                let owned = name.to_owned();
                let found = client
                    .expect_within(
                        Duration::from_secs(1),
                        "a fresh session's LOGIN notice",
                        |m| m.is_notice(Verb::LOGIN, &owned),
                    )
                    .await;
                if found.is_ok() {
                    return Ok(());
                }
                if Instant::now() >= deadline {
                    fail!(
                        "expected the server to end the session ({why}); it still takes the client's \
                         packets as that session's"
                    );
                }
            }
        }
    }
}

async fn rate_close(ctx: Ctx) -> Check {
    let mut ann = ctx.user("ann").await?;
    let name = ann.name().to_owned();
    let tag = ctx.name("close");
    let count = ctx.limits().rate_burst as usize + ctx.limits().refusals_to_close as usize + 10;
    flood(&ctx, &mut ann, &tag, count).await?;
    // The ERROR saying why comes last, right before the close; "slow down" ones may come before it.
    ann.expect_error("packets refused beyond the limit").await?;
    session_ended(&ctx, &mut ann, &name, "too many packets refused").await
}

async fn rooms_per_user(ctx: Ctx) -> Check {
    let limit = ctx.limits().rooms_per_user;
    if limit > 500 {
        skip!("--rooms-per-user {limit} is more than the suite creates (500); configure a smaller limit");
    }
    let mut ann = ctx.user("ann").await?;
    let mut rooms = Vec::new();
    // General counts, so limit - 1 joins fill it and one more goes beyond.
    for _ in 0..limit {
        let room = ctx.name("r");
        ann.send(Verb::ROOM_CREATE, &room, "").await?;
        let answer = ann
            .expect("ROOM_CREATE answered", |m| {
                m.is(Verb::ROOM_CREATE) || m.is_error()
            })
            .await?;
        check!(
            answer.is(Verb::ROOM_CREATE),
            "expected ROOM_CREATE of room {} of {limit} to succeed, got {answer}",
            rooms.len() + 1
        );
        rooms.push(room);
    }
    let (last, within) = rooms
        .split_last()
        .map_or((None, &[][..]), |(l, w)| (Some(l), w));
    for room in within {
        ann.send(Verb::ROOM_JOIN, room, "").await?;
        let answer = ann
            .expect("ROOM_JOIN answered", |m| {
                m.is(Verb::ROOM_JOIN) || m.is_error()
            })
            .await?;
        check!(
            answer.is(Verb::ROOM_JOIN),
            "expected joins within the limit of {limit} rooms to succeed, got {answer}"
        );
    }
    let Some(last) = last else {
        return Ok(());
    };
    ann.send(Verb::ROOM_JOIN, last, "").await?;
    let answer = ann
        .expect("ROOM_JOIN beyond the limit answered", |m| {
            m.is(Verb::ROOM_JOIN) || m.is_error()
        })
        .await?;
    check!(
        answer.is_error(),
        "expected ERROR for joining room {} with --rooms-per-user {limit}, got {answer}",
        limit + 1
    );
    ann.send(Verb::ROOM_MEMBERS, last, "").await?;
    let members = ann
        .expect("ROOM_MEMBERS answered", |m| {
            m.is(Verb::ROOM_MEMBERS) || m.is_error()
        })
        .await?;
    check!(
        !members.text.lines().any(|l| l == ann.name()),
        "expected the refused join to change nothing, but {} is a member: {members}",
        ann.name()
    );
    Ok(())
}

async fn rooms_total(ctx: Ctx) -> Check {
    let limit = ctx.limits().rooms_total;
    if limit > 2000 {
        skip!("--rooms-total {limit} is more than the suite creates (2000); configure a smaller limit");
    }
    let mut ann = ctx.user("ann").await?;
    // General and the rooms earlier cases made count: the refusal comes at the latest at `limit`.
    for created in 0..limit {
        let room = ctx.name("t");
        ann.send(Verb::ROOM_CREATE, &room, "").await?;
        let answer = ann
            .expect("ROOM_CREATE answered", |m| {
                m.is(Verb::ROOM_CREATE) || m.is_error()
            })
            .await?;
        if answer.is_error() {
            ann.send(Verb::ROOM_LIST, "server", "").await?;
            let list = ann
                .expect("ROOM_LIST answered", |m| {
                    m.is(Verb::ROOM_LIST) || m.is_error()
                })
                .await?;
            check!(
                !list.text.lines().any(|l| l == room),
                "expected the refused ROOM_CREATE to change nothing, but {room} is listed"
            );
            let count = list.text.lines().count();
            check!(
                count <= limit,
                "expected at most {limit} rooms, ROOM_LIST has {count} (after {created} created here)"
            );
            return Ok(());
        }
    }
    fail!("expected a ROOM_CREATE refused by --rooms-total {limit}; all {limit} were created");
}

async fn failures_per_address(ctx: Ctx) -> Check {
    let limit = ctx.limits().login_failures_per_address as usize;
    if limit > 1000 {
        skip!("--login-failures-per-address {limit} is more than the suite tries (1000)");
    }
    // A source address of its own, so only this case's attempts count against it.
    let source = ctx.fresh_source().or(ctx.source());
    let mut failures = 0;
    let bad_names = ["", "ALL", "a,b", "server", "tab\tname"];
    while failures < limit {
        let mut client = ctx.connect_from(source, ctx.dialect()).await?;
        // A few per session, and several sessions: the limit is per address, whatever the names.
        for bad in bad_names.iter().take(limit - failures) {
            let answer = client.try_login(bad).await?;
            check!(
                answer.is_error(),
                "expected ERROR for LOGIN as {bad:?}, got {answer}"
            );
            failures += 1;
        }
    }
    let good = ctx.name("blocked");
    let mut client = ctx.connect_from(source, ctx.dialect()).await?;
    let answer = client.try_login(&good).await?;
    check!(
        answer.is_error(),
        "expected ERROR for any LOGIN from an address with {limit} refused logins within a minute, got \
         {answer}"
    );
    if source != ctx.source() {
        let mut other = ctx.connect().await?;
        other.login(&ctx.name("elsewhere")).await?;
    }
    Ok(())
}

async fn login_timeout(ctx: Ctx) -> Check {
    let limit = ctx.limits().login_timeout;
    if limit > LONGEST_WAIT {
        skip!("--login-timeout {limit:?} is longer than the suite waits ({LONGEST_WAIT:?})");
    }
    let mut client = ctx.connect().await?;
    // HELP is allowed before login and makes the session exist over UDP too.
    client.send(Verb::HELP, "server", "").await?;
    let started = Instant::now();
    let error = client
        .expect_within(
            limit + ctx.timeout() * 2,
            "ERROR at the login timeout",
            Msg::is_error,
        )
        .await?;
    check!(
        started.elapsed() + ctx.timeout() >= limit,
        "expected the login timeout of {limit:?} to pass before the ERROR, got {error} after {:?}",
        started.elapsed()
    );
    session_ended(
        &ctx,
        &mut client,
        &ctx.name("late"),
        "no login within the timeout",
    )
    .await
}

async fn idle_timeout(ctx: Ctx) -> Check {
    let limit = ctx.limits().idle_timeout;
    if limit > LONGEST_WAIT {
        skip!("--idle-timeout {limit:?} is longer than the suite waits ({LONGEST_WAIT:?})");
    }
    let mut ann = ctx.user("idle").await?;
    let name = ann.name().to_owned();
    // It confirms what it gets (keepalives included, which do not count) and sends no data packet.
    ann.expect_within(
        limit + ctx.timeout() * 2,
        "ERROR at the idle timeout",
        Msg::is_error,
    )
    .await?;
    session_ended(&ctx, &mut ann, &ctx.name("idle"), "idle for the timeout")
        .await
        .map_err(|stop| match stop {
            Stop::Fail(why) => Stop::Fail(format!("{name}: {why}")),
            other => other,
        })
}

async fn slow_reader(ctx: Ctx) -> Check {
    let sink = ctx.user("sink").await?;
    let target = sink.name().to_owned();
    let (mut ann, mut bob) = pair(&ctx).await?;
    let mut senders = Vec::new();
    for _ in 0..4 {
        senders.push(ctx.user("flood").await?);
    }
    // Each sender fills most of its bucket with long messages for the client that reads nothing.
    let per_sender = (ctx.limits().rate_burst as usize).saturating_sub(10).max(1);
    let text = format!("{} {}", ctx.name("heap"), "z".repeat(250));
    for sender in &mut senders {
        for _ in 0..per_sender {
            sender.send(Verb::PRIVATE_MESSAGE, &target, &text).await?;
        }
    }
    for round in 0..3 {
        exchange(
            &ctx,
            &mut ann,
            &mut bob,
            &format!("{round} rounds of messages to a client that reads nothing"),
        )
        .await?;
        exchange(
            &ctx,
            &mut bob,
            &mut ann,
            "messages to a client that reads nothing",
        )
        .await?;
    }
    drop(sink);
    Ok(())
}

async fn recovers_after_limit(ctx: Ctx) -> Check {
    let (mut ann, mut bob) = pair(&ctx).await?;
    let (opened, _, refused) = fill(&ctx).await?;
    exchange(&ctx, &mut ann, &mut bob, "the session limit was reached").await?;
    drop(refused);
    drop(opened);
    sessions_freed(&ctx).await
}
