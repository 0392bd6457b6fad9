//! The server's limits (PROTOCOL.md §9.2) end to end: a real server with small limits, over real loopback
//! sockets. Each test waits for what must happen with a bounded wait, and checks that the other clients go
//! on being served.

mod support;

use std::net::Ipv4Addr;
use std::time::Duration;

use chatproto::transport::Transport;
use chatproto::{Dialect, Message, Name, Verb};
use chatproto_examples::server::{Limits, Server, ServerConfig, Storage};
use support::*;

/// A server with the default limits but those `limits` changes.
async fn server_with(limits: impl FnOnce(&mut Limits)) -> Server {
    start_server_with(Storage::Memory, |config: &mut ServerConfig| {
        limits(&mut config.limits)
    })
    .await
}

/// An ERROR from `server` whose text contains `words`; other messages before it stay unread.
async fn expect_error_saying(peer: &mut Peer, words: &str) -> Message {
    let words = words.to_owned();
    let error = peer
        .expect(&format!("ERROR saying {words:?}"), move |m| {
            m.verb == Verb::ERROR && m.text.contains(&words)
        })
        .await;
    assert_eq!(error.from, Name::SERVER, "{error:?}");
    error
}

/// Asserts that a broadcast from `from` reaches `to` (and its sender, R-8.5): the server still serves them.
async fn still_served(from: &mut Peer, to: &mut Peer, text: &str) {
    from.send(Verb::BROADCAST, "ALL", text).await;
    from.expect_text(Verb::BROADCAST, text).await;
    to.expect_text(Verb::BROADCAST, text).await;
}

// a client that floods gets ERROR `slow down` for what finds the bucket empty, and once enough are
// refused within the window, an ERROR saying why and the end of its session. Its flood is not relayed in
// full, and the others are served throughout.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_is_told_to_slow_down_then_disconnected() {
    const FLOOD: usize = 40;
    for net in NETS {
        let server = server_with(|l| {
            l.rate_burst = 5;
            l.rate_per_second = 1;
            l.refusals_to_close = 5;
        })
        .await;
        let mut ann = Peer::join(&server, net, "ann").await;
        let mut bob = Peer::join(&server, net, "bob").await;
        ann.expect_notice(Verb::LOGIN, "bob").await;
        for i in 0..FLOOD {
            let flood = Message::new(Verb::BROADCAST, ann.name, Name::ALL, format!("flood {i}"));
            // The server may close the session before the flood is over.
            if ann.transport.send(flood).await.is_err() {
                break;
            }
        }
        let first = ann.expect_verb(Verb::ERROR).await;
        assert!(first.text.starts_with("slow down"), "{net:?}: {first:?}");
        let last = expect_error_saying(&mut ann, "closing").await;
        assert!(last.text.starts_with("slow down"), "{net:?}: {last:?}");
        if net == Net::Tcp {
            ann.expect_closed().await;
        }
        // The session ended: the others hear that ann has gone.
        bob.expect_text(Verb::QUIT, "ann has disconnected.").await;
        let relayed = bob
            .unread_matching(|m| m.verb == Verb::BROADCAST && m.from.as_str() == "ann")
            .len();
        assert!(
            relayed < FLOOD,
            "{net:?}: all {FLOOD} were relayed despite the refusals"
        );
        let mut cat = Peer::join(&server, net, "cat").await;
        still_served(&mut bob, &mut cat, "bob is still served").await;
        server.shutdown("test over").await;
    }
}

// ROOM_JOIN beyond the rooms a user may be in (General counts) and ROOM_CREATE beyond the rooms that
// may exist are answered with ERROR and change nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rooms_per_user_and_rooms_total_are_bounded() {
    for net in NETS {
        let server = server_with(|l| {
            l.rooms_per_user = 2;
            l.rooms_total = 3;
        })
        .await;
        let mut ann = Peer::join(&server, net, "ann").await;
        for room in ["a", "b"] {
            ann.send(Verb::ROOM_CREATE, room, "").await;
            ann.expect_verb(Verb::ROOM_CREATE).await;
        }
        ann.send(Verb::ROOM_CREATE, "c", "").await;
        expect_error_saying(&mut ann, "rooms").await;
        ann.send(Verb::ROOM_LIST, "server", "").await;
        assert_eq!(
            ann.expect_verb(Verb::ROOM_LIST).await.text,
            "General\na\nb",
            "{net:?}"
        );

        // General and a: two rooms, the most ann may be in.
        ann.send(Verb::ROOM_JOIN, "a", "").await;
        ann.expect_verb(Verb::ROOM_JOIN).await;
        ann.send(Verb::ROOM_JOIN, "b", "").await;
        expect_error_saying(&mut ann, "rooms").await;
        ann.send(Verb::ROOM_MEMBERS, "b", "").await;
        assert_eq!(
            ann.expect_verb(Verb::ROOM_MEMBERS).await.text,
            "",
            "{net:?}"
        );
        // Another user has a count of their own.
        let mut bob = Peer::join(&server, net, "bob").await;
        bob.send(Verb::ROOM_JOIN, "b", "").await;
        bob.expect_verb(Verb::ROOM_JOIN).await;
        server.shutdown("test over").await;
    }
}

// a connection beyond the session limit is answered with ERROR `server full` and closed; the
// sessions there are unaffected, and a place freed is taken again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connection_beyond_max_sessions_is_refused_and_the_others_go_on() {
    let server = server_with(|l| l.max_sessions = 2).await;
    let mut ann = Peer::join(&server, Net::Tcp, "ann").await;
    let mut bob = Peer::join(&server, Net::Udp, "bob").await;
    for net in NETS {
        // It is told at its first packet, once its dialect is known.
        let mut extra = Peer::connect(&server, net, Dialect::V5).await;
        extra.name = name("extra");
        extra.send(Verb::LOGIN, "server", "").await;
        let error = extra.expect_verb(Verb::ERROR).await;
        assert!(error.text.starts_with("server full"), "{net:?}: {error:?}");
        assert_eq!(error.from, Name::SERVER);
        if net == Net::Tcp {
            extra.expect_closed().await;
        } else {
            // Turned away, its LOGIN was never confirmed, so a UDP client sends it again: once a place is
            // free, that is a new session that logs in. This one gives up instead.
            extra.transport.abort();
        }
    }
    still_served(&mut ann, &mut bob, "still two of us").await;
    bob.quit().await;
    let mut cat = join_when_a_place_is_free(&server, "cat").await;
    still_served(&mut cat, &mut ann, "a place was freed").await;
    server.shutdown("test over").await;
}

/// Logs in over TCP as `who` once the server has a place: a session that quit holds its place until it has
/// closed, which takes a moment after its QUIT notice.
async fn join_when_a_place_is_free(server: &Server, who: &str) -> Peer {
    let deadline = tokio::time::Instant::now() + PATIENCE;
    loop {
        let mut peer = Peer::connect(server, Net::Tcp, Dialect::V5).await;
        peer.name = name(who);
        peer.send(Verb::LOGIN, "server", "").await;
        let who = who.to_owned();
        let answer = peer
            .expect("the LOGIN notice or an ERROR", move |m| {
                (m.verb == Verb::LOGIN && m.from.as_str() == who) || m.verb == Verb::ERROR
            })
            .await;
        if answer.verb == Verb::LOGIN {
            return peer;
        }
        assert!(answer.text.starts_with("server full"), "{answer:?}");
        assert!(
            tokio::time::Instant::now() < deadline,
            "no place was freed within {PATIENCE:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

// failed logins from one address, whatever the names, are counted; beyond the limit, login packets
// from it are refused, even one that would succeed, while another address logs in as usual.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_logins_from_one_address_are_bounded() {
    let server = server_with(|l| l.login_failures_per_address = 3).await;
    let mut eve = Peer::connect(&server, Net::Tcp, Dialect::V5).await;
    // Refused for their names; a session may try again.
    for bad in ["server", "ALL", "a,b"] {
        eve.send_raw(Message::new(
            Verb::LOGIN,
            Name::new(bad).unwrap(),
            Name::SERVER,
            "",
        ))
        .await;
        let error = eve.expect_verb(Verb::ERROR).await;
        assert!(!error.text.contains("address"), "{error:?}");
    }
    // From 127.0.0.1, over any transport and any session: refused for the address.
    let mut eve2 = Peer::connect(&server, Net::Udp, Dialect::V5).await;
    for peer in [&mut eve, &mut eve2] {
        peer.send_raw(Message::new(
            Verb::LOGIN,
            Name::new("eve").unwrap(),
            Name::SERVER,
            "",
        ))
        .await;
        expect_error_saying(peer, "address").await;
    }
    // Another address is not affected.
    let mut dan = Peer::connect_udp_from(&server, Ipv4Addr::new(127, 0, 0, 2), Dialect::V5).await;
    dan.login("dan").await;
    server.shutdown("test over").await;
}

// a session that does not log in within the login timeout is told why and closed; one that logged
// in is not.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_that_does_not_log_in_in_time_is_closed() {
    for net in NETS {
        let server = server_with(|l| l.login_timeout = Duration::from_secs(2)).await;
        let mut ann = Peer::join(&server, net, "ann").await;
        let mut lurker = Peer::connect(&server, net, Dialect::V5).await;
        expect_error_saying(&mut lurker, "login timeout").await;
        if net == Net::Tcp {
            lurker.expect_closed().await;
        }
        let mut bob = Peer::join(&server, net, "bob").await;
        still_served(&mut ann, &mut bob, "ann was logged in in time").await;
        server.shutdown("test over").await;
    }
}

// a logged-in session that sends no data packet for the idle timeout is told why and closed;
// its keepalives do not count.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idle_session_is_closed_whatever_its_keepalives() {
    // Longer than the keepalive interval (2 s by default), so keepalives go both ways before it.
    let server = server_with(|l| l.idle_timeout = Duration::from_secs(3)).await;
    let mut ann = Peer::join(&server, Net::Tcp, "ann").await;
    expect_error_saying(&mut ann, "idle").await;
    ann.expect_closed().await;
    server.shutdown("test over").await;
}

// a message longer than the limit is discarded with an ERROR, and the session goes on.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_message_over_max_message_is_refused() {
    for net in NETS {
        let server = server_with(|l| l.max_message = 1_000).await;
        let mut ann = Peer::join(&server, net, "ann").await;
        let mut bob = Peer::join(&server, net, "bob").await;
        ann.send(Verb::BROADCAST, "ALL", &"x".repeat(2_000)).await;
        // The session layer answers it, before the hub ever sees it.
        let error = ann.expect_verb(Verb::ERROR).await;
        assert!(error.text.contains("1000"), "{net:?}: {error:?}");
        still_served(&mut ann, &mut bob, "short enough").await;
        assert!(
            bob.unread_matching(|m| m.text.len() > 1_000).is_empty(),
            "{net:?}: the long message was delivered"
        );
        server.shutdown("test over").await;
    }
}
