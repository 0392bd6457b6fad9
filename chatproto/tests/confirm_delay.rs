//! A confirmation delay: CONFIRMs wait at most the delay, and go at once when 16 wait; every message
//! still arrives exactly once and in order through a hostile network.

use std::time::{Duration, Instant};

use chatproto::session::{Event, Role, Session, SessionConfig, MAX_CONFIRM_DELAY};
use chatproto::sim::{FaultConfig, SimPair};
use chatproto::wire::PacketView;
use chatproto::{Dialect, Message, Name, Verb};

fn pair(now: Instant, delay: Duration) -> (Session, Session) {
    let sender = Session::new(
        Role::Server,
        Some(Dialect::V5),
        SessionConfig::default(),
        now,
    );
    let config = SessionConfig {
        confirm_delay: delay,
        ..SessionConfig::default()
    };
    let receiver = Session::new(Role::Client, Some(Dialect::V5), config, now);
    (sender, receiver)
}

fn broadcast(i: usize) -> Message {
    Message::new(
        Verb::BROADCAST,
        Name::new("ann").unwrap(),
        Name::ALL,
        format!("message {i}"),
    )
}

/// Sends `count` messages from `sender` to `receiver` at `now`.
fn deliver(sender: &mut Session, receiver: &mut Session, count: usize, now: Instant) {
    for i in 0..count {
        sender.send(&broadcast(i)).unwrap();
    }
    while let Some(frame) = sender.poll_transmit(now) {
        receiver.handle_frame(now, &frame);
    }
}

/// The verbs of every frame `session` sends at `now`.
fn sent_verbs(session: &mut Session, now: Instant) -> Vec<Verb> {
    std::iter::from_fn(|| session.poll_transmit(now))
        .map(|frame| PacketView::decode(&frame).unwrap().verb())
        .collect()
}

#[test]
fn a_confirm_waits_for_the_delay_and_no_longer() {
    let now = Instant::now();
    let delay = Duration::from_millis(10);
    let (mut sender, mut receiver) = pair(now, delay);
    deliver(&mut sender, &mut receiver, 3, now);
    assert!(
        sent_verbs(&mut receiver, now).is_empty(),
        "sent before the delay"
    );
    let due = receiver
        .poll_timeout()
        .expect("a deadline for the CONFIRMs");
    assert!(due <= now + delay, "the CONFIRMs would wait past the delay");
    receiver.handle_timeout(due);
    assert_eq!(sent_verbs(&mut receiver, due), vec![Verb::CONFIRM; 3]);
}

#[test]
fn sixteen_waiting_confirms_go_at_once() {
    let now = Instant::now();
    let (mut sender, mut receiver) = pair(now, MAX_CONFIRM_DELAY);
    deliver(&mut sender, &mut receiver, 15, now);
    assert!(sent_verbs(&mut receiver, now).is_empty());
    deliver(&mut sender, &mut receiver, 1, now);
    assert_eq!(sent_verbs(&mut receiver, now), vec![Verb::CONFIRM; 16]);
}

#[test]
fn a_delay_beyond_the_limit_is_cut_to_it() {
    let now = Instant::now();
    let (mut sender, mut receiver) = pair(now, Duration::from_secs(5));
    deliver(&mut sender, &mut receiver, 1, now);
    let due = receiver.poll_timeout().unwrap();
    assert!(due <= now + MAX_CONFIRM_DELAY);
}

#[test]
fn without_a_delay_confirms_go_at_once() {
    let now = Instant::now();
    let (mut sender, mut receiver) = pair(now, Duration::ZERO);
    deliver(&mut sender, &mut receiver, 2, now);
    assert_eq!(sent_verbs(&mut receiver, now), vec![Verb::CONFIRM; 2]);
}

#[test]
fn delayed_confirms_lose_nothing_through_a_hostile_network() {
    const COUNT: usize = 2_000;
    for seed in 0..4 {
        let start = Instant::now();
        let config = SessionConfig {
            confirm_delay: MAX_CONFIRM_DELAY,
            ..SessionConfig::default()
        };
        let a = Session::new(Role::Client, Some(Dialect::V5), config.clone(), start);
        let b = Session::new(Role::Server, None, config, start);
        let network = FaultConfig::hostile(Duration::from_millis(5));
        let mut pair = SimPair::new(a, b, network, seed, start);
        let (mut sent, mut next) = (0, 0);
        let deadline = start + Duration::from_secs(3600);
        while next < COUNT {
            // As much as the send buffer takes; a full buffer is backpressure, not loss.
            while sent < COUNT && pair.a.send(&broadcast(sent)).is_ok() {
                sent += 1;
            }
            let (_, b_events) = pair.step().expect("the simulation stalled");
            for event in b_events {
                match event {
                    Event::Message(message) => {
                        assert_eq!(message.text, format!("message {next}"), "seed {seed}");
                        next += 1;
                    }
                    Event::Closed(error) => panic!("seed {seed}: closed: {error}"),
                    _ => {}
                }
            }
            assert!(pair.now() < deadline, "seed {seed}: not done in an hour");
        }
    }
}
