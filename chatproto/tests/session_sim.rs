//! Sessions under a hostile simulated network (PROTOCOL.md §7): every message arrives exactly once and in
//! order, whatever the seed. Deterministic: a failure names its seed, and the same seed replays it.

use std::sync::Arc;
use std::time::{Duration, Instant};

use chatproto::session::{
    Confirmations, Event, Role, Session, SessionConfig, SessionError, SharedMessage,
};
use chatproto::sim::{FaultConfig, SimPair};
use chatproto::{Dialect, Message, Name, Verb};

/// The text of message `i` from `who`: its index first, and every 97th one long enough to fragment.
fn text(who: &str, i: u32) -> String {
    let mut text = format!("{i} from {who}");
    if i % 97 == 0 {
        text.push(' ');
        text.push_str(&"é".repeat(300)); // 600 bytes: three fragments
    }
    text
}

/// Tracks what one side has received and checks order and uniqueness as it goes.
struct Inbox {
    who: &'static str,
    next: u32,
}

impl Inbox {
    fn take(&mut self, events: &[Event], seed: u64) {
        for event in events {
            match event {
                Event::Message(message) => {
                    assert_eq!(
                        message.text,
                        text(self.who, self.next),
                        "seed {seed}: wrong message"
                    );
                    self.next += 1;
                }
                Event::Closed(error) => panic!("seed {seed}: session closed: {error}"),
                Event::Confirmed { .. } | Event::Refused(_) => {}
            }
        }
    }
}

fn exchange(seed: u64, network: FaultConfig, count: u32) -> SimPair {
    let start = Instant::now();
    let a = Session::new(
        Role::Client,
        Some(Dialect::V5),
        SessionConfig::default(),
        start,
    );
    let b = Session::new(Role::Server, None, SessionConfig::default(), start);
    let mut pair = SimPair::new(a, b, network, seed, start);
    let (ann, bob) = (Name::new("ann").unwrap(), Name::new("bob").unwrap());
    let (mut sent_a, mut sent_b) = (0, 0);
    let mut inbox_a = Inbox {
        who: "bob",
        next: 0,
    };
    let mut inbox_b = Inbox {
        who: "ann",
        next: 0,
    };
    let deadline = start + Duration::from_secs(3600);
    while inbox_a.next < count || inbox_b.next < count {
        // Offer as much as the send buffers take; a full buffer is backpressure, not loss.
        while sent_a < count
            && pair
                .a
                .send(&Message::new(
                    Verb::PRIVATE_MESSAGE,
                    ann,
                    bob,
                    text("ann", sent_a),
                ))
                .is_ok()
        {
            sent_a += 1;
        }
        while sent_b < count
            && pair
                .b
                .send(&Message::new(
                    Verb::PRIVATE_MESSAGE,
                    bob,
                    ann,
                    text("bob", sent_b),
                ))
                .is_ok()
        {
            sent_b += 1;
        }
        let (a_events, b_events) = pair.step().expect("the simulation stalled");
        inbox_a.take(&a_events, seed);
        inbox_b.take(&b_events, seed);
        assert!(
            pair.now() < deadline,
            "seed {seed}: not done after an hour of simulated time"
        );
    }
    pair
}

#[test]
fn ten_thousand_messages_each_way_through_a_hostile_network() {
    // 20 % loss, 5 % duplication, 10 % reordering, 1 % corruption (R-7.2 … ).
    for seed in [1, 2, 3] {
        let pair = exchange(seed, FaultConfig::hostile(Duration::from_millis(5)), 10_000);
        assert_eq!(
            pair.a.held(),
            0,
            "seed {seed}: receiver still holds packets"
        );
    }
}

#[test]
fn more_seeds_with_fewer_messages() {
    for seed in 10..30 {
        exchange(seed, FaultConfig::hostile(Duration::from_millis(2)), 500);
    }
}

#[test]
fn buffers_stay_bounded_under_faults() {
    let config = SessionConfig::default();
    let start = Instant::now();
    let a = Session::new(Role::Client, Some(Dialect::V5), config.clone(), start);
    let b = Session::new(Role::Server, None, config.clone(), start);
    let mut pair = SimPair::new(
        a,
        b,
        FaultConfig::hostile(Duration::from_millis(5)),
        99,
        start,
    );
    let (ann, bob) = (Name::new("ann").unwrap(), Name::new("bob").unwrap());
    for _ in 0..20_000 {
        while pair
            .a
            .send(&Message::new(Verb::BROADCAST, ann, bob, "x"))
            .is_ok()
        {}
        assert!(pair.a.unconfirmed() <= config.send_buffer + config.send_window as usize);
        assert!(pair.b.held() <= config.receive_window as usize);
        let Some((_, b_events)) = pair.step() else {
            break;
        };
        drop(b_events);
    }
}

#[test]
fn a_vanished_peer_is_declared_gone_within_the_limit() {
    let config = SessionConfig {
        dead_after: Duration::from_secs(3),
        ..SessionConfig::default()
    };
    let start = Instant::now();
    let a = Session::new(Role::Client, Some(Dialect::V5), config.clone(), start);
    let b = Session::new(Role::Server, None, config.clone(), start);
    // Every frame is lost: from a's point of view, b has vanished.
    let network = FaultConfig {
        loss: 1.0,
        ..FaultConfig::clean(Duration::from_millis(5))
    };
    let mut pair = SimPair::new(a, b, network, 5, start);
    pair.a
        .send(&Message::new(
            Verb::BROADCAST,
            Name::new("ann").unwrap(),
            Name::ALL,
            "anyone?",
        ))
        .unwrap();
    let mut gone_at = None;
    pair.run_until(Duration::from_secs(60), |a_events, _| {
        for event in a_events {
            if let Event::Closed(SessionError::PeerGone { silent_for }) = event {
                gone_at = Some(*silent_for);
                return true;
            }
        }
        false
    });
    let silent_for = gone_at.expect("peer never declared gone");
    assert!(
        silent_for >= config.dead_after,
        "declared gone early: {silent_for:?}"
    );
    // Detected at the limit, not whenever the backed-off retransmission timer next fires.
    assert!(
        silent_for < config.dead_after + Duration::from_millis(1),
        "declared gone late: {silent_for:?}"
    );
    assert!(pair.a.is_closed());
    assert!(pair.a.unconfirmed() <= 1, "nothing grew while waiting");
}

#[test]
fn an_idle_session_keeps_itself_alive_with_pings() {
    let config = SessionConfig::default();
    let start = Instant::now();
    let a = Session::new(Role::Client, Some(Dialect::V5), config.clone(), start);
    let b = Session::new(Role::Server, Some(Dialect::V5), config.clone(), start);
    let mut pair = SimPair::new(a, b, FaultConfig::clean(Duration::from_millis(5)), 1, start);
    let mut events = Vec::new();
    // Ten times the dead-peer limit with no application traffic at all.
    pair.run_until(config.dead_after * 10, |a, b| {
        events.extend(a.iter().chain(b).cloned());
        false
    });
    assert!(
        !pair.a.is_closed() && !pair.b.is_closed(),
        "an idle but healthy peer was declared gone"
    );
    assert!(
        !events.iter().any(|e| matches!(e, Event::Message(_))),
        "PING must not reach the application"
    );
}

#[test]
fn deferred_confirmation_waits_for_the_application() {
    // a server that stores before confirming sets `defer_confirm`.
    let start = Instant::now();
    let config = SessionConfig {
        defer_confirm: true,
        ..SessionConfig::default()
    };
    let a = Session::new(
        Role::Client,
        Some(Dialect::V5),
        SessionConfig::default(),
        start,
    );
    let b = Session::new(Role::Server, None, config, start);
    let mut pair = SimPair::new(a, b, FaultConfig::clean(Duration::from_millis(5)), 1, start);
    let long = "é".repeat(300); // three fragments: the first two are confirmed on arrival
    let number = pair
        .a
        .send(&Message::new(
            Verb::BROADCAST,
            Name::new("ann").unwrap(),
            Name::ALL,
            long,
        ))
        .unwrap();
    let mut delivered = None;
    let mut confirmed = false;
    // Several retransmission timeouts pass: the last packet is retransmitted, and still not confirmed.
    pair.run_until(Duration::from_secs(3), |a_events, b_events| {
        for event in b_events {
            if let Event::Message(message) = event {
                delivered = Some(message.number);
            }
        }
        confirmed |= a_events.contains(&Event::Confirmed { number });
        false
    });
    assert_eq!(delivered, Some(number), "the message was delivered");
    assert!(!confirmed, "confirmed before the application said so");
    assert_eq!(pair.a.unconfirmed(), 1, "only the last packet waits");

    pair.b.confirm(number);
    let done = pair.run_until(Duration::from_secs(3), |a_events, _| {
        a_events.contains(&Event::Confirmed { number })
    });
    assert!(done, "the application's confirmation reached the sender");
    assert_eq!(pair.a.unconfirmed(), 0);
}

/// Message `i` of a relay: every 97th fragments, every 5th is enciphered.
fn relayed(i: u32) -> Arc<SharedMessage> {
    let mut message = Message::new(
        Verb::BROADCAST,
        Name::new("ann").unwrap(),
        Name::ALL,
        text("ann", i),
    );
    message.encrypted = i % 5 == 0;
    Arc::new(SharedMessage::new(message))
}

#[test]
fn one_shared_message_reaches_every_session_through_its_own_hostile_network() {
    // Encoded once, numbered by each session, and still delivered exactly once and in order
    // however each network treats it (R-7.2 … ).
    let start = Instant::now();
    let count = 300;
    let messages: Vec<Arc<SharedMessage>> = (0..count).map(relayed).collect();
    for seed in 40..44 {
        let server = Session::new(
            Role::Server,
            Some(Dialect::V5),
            SessionConfig::default(),
            start,
        );
        let client = Session::new(Role::Client, None, SessionConfig::default(), start);
        let network = FaultConfig::hostile(Duration::from_millis(3));
        let mut pair = SimPair::new(server, client, network, seed, start);
        let mut inbox = Inbox {
            who: "ann",
            next: 0,
        };
        let mut sent = 0;
        let mut reported = Vec::new();
        while inbox.next < count {
            while sent < count
                && pair
                    .a
                    .send_shared(&messages[sent as usize], Confirmations::Ignore)
                    .is_ok()
            {
                sent += 1;
            }
            let (server_events, client_events) = pair.step().expect("the simulation stalled");
            reported.extend(server_events);
            inbox.take(&client_events, seed);
            assert!(
                pair.now() < start + Duration::from_secs(3600),
                "seed {seed}: not done after an hour of simulated time"
            );
        }
        // Everything sent is confirmed in the end (keepalive PINGs come and go meanwhile).
        let deadline = pair.now() + Duration::from_secs(60);
        while pair.a.unconfirmed() > 0 && pair.now() < deadline {
            let (server_events, _) = pair.step().expect("the simulation stalled");
            reported.extend(server_events);
        }
        assert_eq!(pair.a.unconfirmed(), 0, "seed {seed}: all confirmed");
        // Confirmations::Ignore: the sender was told of none of them.
        assert!(
            !reported
                .iter()
                .any(|e| matches!(e, Event::Confirmed { .. })),
            "seed {seed}: confirmations reported"
        );
    }
}

#[test]
fn a_shared_message_puts_the_same_frames_on_the_wire_as_an_owned_one() {
    let now = Instant::now();
    for dialect in [Dialect::V5, Dialect::Legacy] {
        let mut owned = Session::new(Role::Server, Some(dialect), SessionConfig::default(), now);
        let mut shared = Session::new(Role::Server, Some(dialect), SessionConfig::default(), now);
        for i in [0, 97, 5, 1] {
            let message = relayed(i);
            let a = owned.send(message.message()).unwrap();
            let b = shared.send_shared(&message, Confirmations::Report).unwrap();
            assert_eq!(a, b, "{dialect:?}: numbers");
            let frames =
                |s: &mut Session| std::iter::from_fn(|| s.poll_transmit(now)).collect::<Vec<_>>();
            let (a, b) = (frames(&mut owned), frames(&mut shared));
            assert!(!a.is_empty());
            assert_eq!(a, b, "{dialect:?}: message {i}");
        }
    }
}
