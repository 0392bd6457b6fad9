//! §9.2 Limits: …. Each test sets small limits, so that what it checks is a few messages away.

use super::*;

fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}

/// Asserts that the outputs are, in order, one ERROR from `server` to `client` and its Close, with nothing
/// else sent or closed but a confirmation of the message that caused it; returns the ERROR's text.
#[track_caller]
fn assert_closed_after_error(out: &[Output], client: ClientId) -> String {
    let sent = sends(out);
    assert_eq!(sent.len(), 1, "one ERROR and nothing else: {out:#?}");
    let message = &sent[0].message;
    assert_eq!(sent[0].to, client, "{out:#?}");
    assert_eq!(message.verb, Verb::ERROR, "{out:#?}");
    assert_eq!(message.from, Name::SERVER, "{out:#?}");
    assert_eq!(closes(out), [client], "{out:#?}");
    let error_at = out
        .iter()
        .position(|o| matches!(o, Output::Send { .. }))
        .unwrap();
    let close_at = out
        .iter()
        .position(|o| matches!(o, Output::Close(_)))
        .unwrap();
    assert!(
        error_at < close_at,
        "told why before being closed: {out:#?}"
    );
    message.text.clone()
}

/// A link from an address of the documentation range (RFC 5737), from its own port.
fn from_address(ip: &str, port: u16) -> Link {
    Link::confidential(Some(std::net::SocketAddr::new(ip.parse().unwrap(), port)))
}

// --- sessions ---

// a connection beyond the limit gets one ERROR from server starting `server full` at its first
// packet (only then is its dialect known, R-8.17), then Close, and is not a session: what it sends is not
// acted on or confirmed, and its disconnection changes nothing.
#[test]
fn a_connection_beyond_max_sessions_is_told_server_full_and_closed() {
    let mut t = Harness::with_limits(Limits {
        max_sessions: 2,
        ..Limits::default()
    });
    let ann = t.login("ann", V5);
    let waiting = t.connect(V5);
    for (extra, dialect) in [(ClientId(98), V4), (ClientId(99), V5)] {
        t.dialects.insert(extra, dialect);
        let out = t.input(Input::Connected(extra, Link::confidential(None)));
        assert!(out.is_empty(), "nothing until it speaks: {out:#?}");
        let out = t.login_as(extra, "eve");
        let text = assert_closed_after_error(&out, extra);
        assert!(text.starts_with("server full"), "{text:?}");
        assert!(
            sent_to(&out, extra).iter().all(|m| m.dialect == dialect),
            "in its own dialect: {out:#?}"
        );
        assert_eq!(
            t.hub.connected(),
            2,
            "the refused connection is not counted"
        );
        assert!(confirms(&out).is_empty());
    }
    let extra = ClientId(99);
    let out = t.login_as(extra, "eve");
    assert!(out.is_empty(), "nothing it sends is acted on: {out:#?}");
    let out = t.disconnect(extra);
    assert!(out.is_empty(), "its end changes nothing: {out:#?}");
    assert_eq!(t.hub.connected(), 2);

    // The sessions there are unaffected.
    let out = t.send(ann, Verb::BROADCAST, "ann", "ALL", "still here");
    assert_eq!(
        shapes_to(&out, ann),
        [shape(Verb::BROADCAST, "ann", "ALL", "still here")]
    );
    let out = t.login_as(waiting, "bob");
    assert!(told_connected(&out, waiting, "bob"), "{out:#?}");
}

// a session that ends frees its place.
#[test]
fn a_place_freed_by_a_session_that_ended_is_taken_again() {
    let mut t = Harness::with_limits(Limits {
        max_sessions: 1,
        ..Limits::default()
    });
    let ann = t.login("ann", V5);
    t.disconnect(ann);
    let bob = t.connect(V5);
    let out = t.login_as(bob, "bob");
    assert!(told_connected(&out, bob, "bob"), "{out:#?}");
}

// --- rate ---

fn rate(burst: u32, per_second: u32, refusals_to_close: u32) -> Limits {
    Limits {
        rate_burst: burst,
        rate_per_second: per_second,
        refusals_to_close,
        refusal_window: secs(10),
        ..Limits::default()
    }
}

// a burst passes; a packet that finds the bucket empty is confirmed (first, as always) but not acted
// on, and answered with ERROR starting `slow down`.
#[test]
fn a_message_beyond_the_burst_is_confirmed_refused_and_not_acted_on() {
    let mut t = Harness::with_limits(rate(3, 1, 50));
    let ann = t.login("ann", V5);
    let bob = t.login("bob", V5);
    // LOGIN took one of ann's three tokens.
    for text in ["one", "two"] {
        let out = t.send(ann, Verb::BROADCAST, "ann", "ALL", text);
        assert_eq!(
            shapes_to(&out, bob),
            [shape(Verb::BROADCAST, "ann", "ALL", text)]
        );
    }
    let message = t.message(ann, Verb::BROADCAST, "ann", "ALL", "three");
    let number = message.number;
    let out = t.receive(ann, message);
    assert_eq!(
        out[0],
        Output::Confirm {
            client: ann,
            number
        },
        "{out:#?}"
    );
    assert_eq!(confirms(&out).len(), 1);
    let text = assert_refused(&out, ann);
    assert!(text.starts_with("slow down"), "{text:?}");
    // Not acted on: a message that changes state is refused the same way.
    let out = t.send(ann, Verb::ROOM_CREATE, "ann", "lobby", "");
    assert!(assert_refused(&out, ann).starts_with("slow down"));
    assert_eq!(t.rooms(bob, "bob"), [GENERAL], "no room was created");
}

// the bucket refills at the rate, with `now` as its clock.
#[test]
fn the_bucket_refills_at_the_rate() {
    let mut t = Harness::with_limits(rate(1, 2, 50));
    let ann = t.login("ann", V5);
    let out = t.send(ann, Verb::BROADCAST, "ann", "ALL", "early");
    assert!(assert_refused(&out, ann).starts_with("slow down"));
    // Two a second: one token every 500 ms.
    t.at(Duration::from_millis(499));
    let out = t.send(ann, Verb::BROADCAST, "ann", "ALL", "early");
    assert!(assert_refused(&out, ann).starts_with("slow down"));
    t.at(Duration::from_millis(500));
    let out = t.send(ann, Verb::BROADCAST, "ann", "ALL", "on time");
    assert_eq!(
        shapes_to(&out, ann),
        [shape(Verb::BROADCAST, "ann", "ALL", "on time")]
    );
}

// the refusals that close a session must fall within the window; when they do, the session gets an
// ERROR saying why and is closed. Afterwards what it sends is confirmed and nothing more.
#[test]
fn enough_refusals_within_the_window_close_the_session() {
    let mut t = Harness::with_limits(rate(1, 1, 3));
    let ann = t.login("ann", V5);
    let bob = t.login("bob", V5);
    // One a second: each second one message passes and the next is refused.
    for s in [0, 6, 12] {
        t.at(secs(s + 1));
        let out = t.send(ann, Verb::BROADCAST, "ann", "ALL", "ok");
        assert_eq!(sent_to(&out, bob).len(), 1, "at {s} s: {out:#?}");
        let out = t.send(ann, Verb::BROADCAST, "ann", "ALL", "too fast");
        assert!(
            assert_refused(&out, ann).starts_with("slow down"),
            "at {s} s"
        );
    }
    // Refused at 1, 7 and 13 s: the first has left the 10 s window. One more within it closes.
    let out = t.send(ann, Verb::BROADCAST, "ann", "ALL", "too fast");
    assert_eq!(confirms(&out).len(), 1, "{out:#?}");
    let text = assert_closed_after_error(&out, ann);
    assert!(text.starts_with("slow down"), "{text:?}");
    assert!(text.contains("closing"), "says why: {text:?}");
    // Closing: confirmed, and nothing more, however long it waits.
    t.at(secs(60));
    let message = t.message(ann, Verb::BROADCAST, "ann", "ALL", "after");
    let number = message.number;
    let out = t.receive(ann, message);
    assert_eq!(
        out,
        [Output::Confirm {
            client: ann,
            number
        }]
    );
    let out = t.disconnect(ann);
    assert!(
        shapes_to(&out, bob).contains(&shape(Verb::QUIT, "ann", "ALL", "ann has disconnected.")),
        "{out:#?}"
    );
}

// rate is per session; one session's flood does not slow another.
#[test]
fn one_sessions_flood_does_not_use_up_anothers_tokens() {
    let mut t = Harness::with_limits(rate(2, 1, 50));
    let ann = t.login("ann", V5);
    let bob = t.login("bob", V5);
    for _ in 0..5 {
        t.send(ann, Verb::BROADCAST, "ann", "ALL", "flood");
    }
    let out = t.send(bob, Verb::BROADCAST, "bob", "ALL", "calm");
    assert_eq!(
        shapes_to(&out, ann),
        [shape(Verb::BROADCAST, "bob", "ALL", "calm")]
    );
}

// --- rooms ---

// a user may be in at most rooms_per_user rooms, General included; ROOM_JOIN beyond is refused and
// changes nothing; leaving one makes room for another.
#[test]
fn room_join_beyond_rooms_per_user_is_refused_and_changes_nothing() {
    let mut t = Harness::with_limits(Limits {
        rooms_per_user: 3,
        ..Limits::default()
    });
    let ann = t.login("ann", V5);
    for room in ["a", "b", "c"] {
        t.succeeds(ann, Verb::ROOM_CREATE, "ann", room, "");
    }
    t.succeeds(ann, Verb::ROOM_JOIN, "ann", "a", "");
    t.succeeds(ann, Verb::ROOM_JOIN, "ann", "b", "");
    let out = t.send(ann, Verb::ROOM_JOIN, "ann", "c", "");
    assert_refused(&out, ann);
    assert!(t.members(ann, "ann", "c").is_empty());
    // Refusals do not count either way: still refused.
    let out = t.send(ann, Verb::ROOM_JOIN, "ann", "c", "");
    assert_refused(&out, ann);
    t.succeeds(ann, Verb::ROOM_LEAVE, "ann", "a", "");
    t.succeeds(ann, Verb::ROOM_JOIN, "ann", "c", "");
    assert_eq!(t.members(ann, "ann", "c"), ["ann"]);
}

// the count is the user's: others are not limited by it, and it starts again, with General, at the
// next login.
#[test]
fn rooms_per_user_counts_each_user_and_starts_again_at_login() {
    let mut t = Harness::with_limits(Limits {
        rooms_per_user: 2,
        ..Limits::default()
    });
    let ann = t.login("ann", V5);
    let bob = t.login("bob", V5);
    t.succeeds(ann, Verb::ROOM_CREATE, "ann", "a", "");
    t.succeeds(ann, Verb::ROOM_CREATE, "ann", "b", "");
    t.succeeds(ann, Verb::ROOM_JOIN, "ann", "a", "");
    assert_refused(&t.send(ann, Verb::ROOM_JOIN, "ann", "b", ""), ann);
    t.succeeds(bob, Verb::ROOM_JOIN, "bob", "b", "");
    t.quit(ann, "ann");
    let ann = t.login("ann", V5);
    t.succeeds(ann, Verb::ROOM_JOIN, "ann", "b", "");
    assert_refused(&t.send(ann, Verb::ROOM_JOIN, "ann", "a", ""), ann);
}

// at most rooms_total rooms exist, General included; ROOM_CREATE beyond is refused and changes
// nothing.
#[test]
fn room_create_beyond_rooms_total_is_refused_and_changes_nothing() {
    let mut t = Harness::with_limits(Limits {
        rooms_total: 3,
        ..Limits::default()
    });
    let ann = t.login("ann", V5);
    t.succeeds(ann, Verb::ROOM_CREATE, "ann", "a", "");
    t.succeeds(ann, Verb::ROOM_CREATE, "ann", "b", "");
    let out = t.send(ann, Verb::ROOM_CREATE, "ann", "c", "");
    assert_refused(&out, ann);
    assert_eq!(t.rooms(ann, "ann"), [GENERAL, "a", "b"]);
    // An existing room's refusal still says that it exists.
    let text = assert_refused(&t.send(ann, Verb::ROOM_CREATE, "ann", "a", ""), ann);
    assert!(text.contains("exists"), "{text:?}");
}

// --- failed logins per address ---

// refused LOGIN, REGISTER and AUTH from one address, whatever the names, count together; beyond the
// limit, every login packet from it is refused until the minute is over, even one that would succeed. Other
// addresses are not affected.
#[test]
fn failed_logins_from_one_address_lock_it_for_the_rest_of_the_minute() {
    let mut t = Harness::with_limits(Limits {
        login_failures_per_address: 3,
        ..Limits::default()
    });
    let ann = t.register("ann", "pw");
    t.quit(ann, "ann");
    let bob = t.login("bob", V5);
    // Three refusals, from three sessions of one address: a reserved name, a taken one, a wrong password.
    let tries: [(u16, Verb, &str, &str); 3] = [
        (4001, Verb::LOGIN, "server", ""),
        (4002, Verb::REGISTER, "bob", "pw"),
        (4003, Verb::AUTH, "ann", "wrong"),
    ];
    for (port, verb, user, text) in tries {
        t.at(secs(u64::from(port - 4001) * 10));
        let eve = t.connect_on(V5, from_address("192.0.2.7", port));
        let out = t.send(eve, verb, user, "server", text);
        assert_refused(&out, eve);
    }
    // The fourth, a LOGIN that would succeed, is refused for the address.
    t.at(secs(30));
    let eve = t.connect_on(V5, from_address("192.0.2.7", 4004));
    let text = assert_refused(&t.login_as(eve, "eve"), eve);
    assert!(text.contains("address"), "{text:?}");
    // The refusal for the address does not prolong the lock, nor count against another address.
    let other = t.connect_on(V5, from_address("198.51.100.1", 5000));
    assert!(told_connected(&t.login_as(other, "dan"), other, "dan"));
    // The minute began with the first failure, at 0 s.
    t.at(secs(59));
    assert_refused(&t.login_as(eve, "eve"), eve);
    t.at(secs(60));
    let out = t.login_as(eve, "eve");
    assert!(told_connected(&out, eve, "eve"), "{out:#?}");
    assert!(sent_to(&out, bob).iter().any(|m| m.verb == Verb::LOGIN));
}

// logins that succeed do not count.
#[test]
fn successful_logins_do_not_count_against_the_address() {
    let mut t = Harness::with_limits(Limits {
        login_failures_per_address: 1,
        ..Limits::default()
    });
    for (port, user) in [(1, "ann"), (2, "bob"), (3, "cat")] {
        let client = t.connect_on(V5, from_address("192.0.2.7", port));
        let out = t.login_as(client, user);
        assert!(told_connected(&out, client, user), "{out:#?}");
    }
}

// --- timeouts ---

// a session not logged in within the login timeout is closed at the next tick, after an ERROR that
// says why; a logged-in one is not.
#[test]
fn a_session_not_logged_in_within_the_login_timeout_is_closed() {
    let mut t = Harness::with_limits(Limits {
        login_timeout: secs(30),
        ..Limits::default()
    });
    let lurker = t.connect(V5);
    let ann = t.login("ann", V5);
    // HELP is allowed before login, but does not log in.
    t.at(secs(10));
    t.send(lurker, Verb::HELP, "lurker", "server", "");
    t.at(secs(29));
    assert!(t.input(Input::Tick).is_empty());
    t.at(secs(30));
    let out = t.input(Input::Tick);
    let text = assert_closed_after_error(&out, lurker);
    assert!(text.contains("log"), "{text:?}");
    assert!(sent_to(&out, ann).is_empty());
    // Told once: the next tick says nothing more to a session already closing.
    t.at(secs(31));
    assert!(t.input(Input::Tick).is_empty());
}

// a logged-in session that has sent no data packet for the idle timeout is closed at the next tick,
// after an ERROR that says why; any data packet counts as activity.
#[test]
fn a_session_idle_for_the_idle_timeout_is_closed() {
    let mut t = Harness::with_limits(Limits {
        idle_timeout: secs(60),
        ..Limits::default()
    });
    let ann = t.login("ann", V5);
    let bob = t.login("bob", V5);
    t.at(secs(50));
    t.send(ann, Verb::WHO, "ann", "server", "");
    t.at(secs(60));
    let out = t.input(Input::Tick);
    let text = assert_closed_after_error(&out, bob);
    assert!(text.contains("idle"), "{text:?}");
    assert_eq!(t.hub.next_deadline(), Some(t.start + secs(110)));
    t.at(secs(109));
    assert!(t.input(Input::Tick).is_empty());
    t.at(secs(110));
    assert_closed_after_error(&t.input(Input::Tick), ann);
    assert_eq!(t.hub.next_deadline(), None, "both are closing");
}

// the next deadline is the earliest login or idle timeout of the sessions there are.
#[test]
fn next_deadline_is_the_earliest_timeout() {
    let mut t = Harness::with_limits(Limits {
        login_timeout: secs(30),
        idle_timeout: secs(100),
        ..Limits::default()
    });
    assert_eq!(t.hub.next_deadline(), None);
    t.at(secs(5));
    let ann = t.login("ann", V5);
    assert_eq!(t.hub.next_deadline(), Some(t.start + secs(105)));
    t.at(secs(10));
    t.connect(V5);
    assert_eq!(t.hub.next_deadline(), Some(t.start + secs(40)));
    t.at(secs(40));
    let out = t.input(Input::Tick);
    assert_eq!(closes(&out).len(), 1);
    assert!(!closes(&out).contains(&ann));
    assert_eq!(t.hub.next_deadline(), Some(t.start + secs(105)));
}
