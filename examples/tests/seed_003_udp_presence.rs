//! Seed 003, the UDP chat app: a client that keeps trying to reach the server (and says so) and gives up
//! after a time limit; who is online and who is offline; group chat; "sent" and "received" confirmations;
//! and messages kept for a user who was away. Over TCP and UDP wherever the transport does not matter.

mod support;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream, UdpSocket};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use chatproto::transport::{Incoming, Transport, TransportError};
use chatproto::{Dialect, Message, Name, Packet, Text, Verb, FRAME_LEN};
use chatproto_examples::server::{PasswordHashing, Server, ServerConfig, Storage};
use chatproto_udp::UdpOptions;
use support::*;

fn unix_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64
}

/// Connects and logs in with REGISTER or AUTH, returning once the LOGIN notice is back.
async fn log_in(server: &Server, net: Net, verb: Verb, who: &str, password: &str) -> Peer {
    let mut peer = Peer::connect(server, net, Dialect::V5).await;
    peer.name = name(who);
    peer.send_raw(Message::new(verb, peer.name, Name::SERVER, password))
        .await;
    peer.expect_notice(Verb::LOGIN, who).await;
    peer
}

/// QUIT, seen back by the leaver and by `witness`, so the name is free when this returns.
async fn quit(mut peer: Peer, witness: &mut Peer) {
    let text = format!("{} has disconnected.", peer.name);
    peer.send(Verb::QUIT, "ALL", &text).await;
    peer.expect_text(Verb::QUIT, &text).await;
    witness.expect_text(Verb::QUIT, &text).await;
}

/// A DELIVERED receipt from `recipient` for message `number`, stamped between `sent_after` and
/// now.
async fn expect_delivered(sender: &mut Peer, recipient: &str, number: u32, sent_after: u64) {
    let recipient = recipient.to_owned();
    let prefix = format!("{number} ");
    let receipt = sender
        .expect(&format!("DELIVERED {number} from {recipient}"), move |m| {
            m.verb == Verb::DELIVERED && m.from.as_str() == recipient && m.text.starts_with(&prefix)
        })
        .await;
    assert_eq!(receipt.to, sender.name, "DELIVERED goes to the sender");
    let (n, ms) = receipt.text.split_once(' ').unwrap();
    assert_eq!(n.parse::<u32>().unwrap(), number);
    let ms: u64 = ms
        .parse()
        .unwrap_or_else(|_| panic!("DELIVERED text {:?} is not `<number> <ms>`", receipt.text));
    let now = unix_ms();
    assert!(
        (sent_after..=now).contains(&ms),
        "DELIVERED time {ms} is not within {sent_after}..={now}"
    );
}

/// Each transport with each store: SQLite in a directory under `dir` (the binary's default) and memory.
fn nets_and_stores(dir: &tempfile::TempDir) -> Vec<(Net, Storage)> {
    let mut runs = Vec::new();
    for net in NETS {
        runs.push((net, Storage::Directory(dir.path().join(format!("{net:?}")))));
        runs.push((net, Storage::Memory));
    }
    runs
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn udp_connect_retries_with_progress_until_a_late_server_starts() {
    // The seed's client printed `*` per try for up to 15 s; connect_with_progress reports each attempt.
    let addr: SocketAddr = {
        let probe = UdpSocket::bind("127.0.0.1:0").unwrap();
        probe.local_addr().unwrap()
    };
    let attempts = Arc::new(AtomicU32::new(0));
    let counter = attempts.clone();
    let options = UdpOptions {
        connect_timeout: Duration::from_secs(10),
        retry_interval: Duration::from_millis(200),
        ..UdpOptions::default()
    };
    let began = tokio::time::Instant::now();
    let connecting = tokio::spawn(chatproto_udp::connect_with_progress(
        addr,
        options,
        move |_attempt| {
            counter.fetch_add(1, Ordering::SeqCst);
        },
    ));
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert!(!connecting.is_finished(), "connected with no server");
    let server = Server::start(ServerConfig {
        tcp: None,
        udp: Some(addr),
        storage: Storage::Memory,
        hashing: PasswordHashing::FastForTests,
        allow_plaintext_passwords: true,
        ..ServerConfig::default()
    })
    .await
    .expect("server starts on the port the client is trying");
    let mut transport = tokio::time::timeout(PATIENCE, connecting)
        .await
        .expect("connects once the server is up")
        .unwrap()
        .expect("connected");
    let tries = attempts.load(Ordering::SeqCst);
    assert!(
        tries >= 2,
        "{tries} progress calls in {:?}",
        began.elapsed()
    );
    assert!(began.elapsed() >= Duration::from_millis(900));
    // The session is a working one: log in on it.
    transport
        .send(Message::new(Verb::LOGIN, name("ann"), Name::SERVER, ""))
        .await
        .unwrap();
    let notice = loop {
        match tokio::time::timeout(PATIENCE, transport.recv()).await {
            Ok(Ok(Some(Incoming::Message(m)))) if m.verb == Verb::LOGIN => break m,
            Ok(Ok(Some(_))) => {}
            other => panic!("no LOGIN notice: {other:?}"),
        }
    };
    assert_eq!(notice.text, "ann has connected.");
    server.shutdown("test over").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn udp_connect_gives_up_with_a_typed_timeout_when_nobody_answers() {
    // A port where a socket is bound but never answers, and one where nothing is bound at all.
    let silent = UdpSocket::bind("127.0.0.1:0").unwrap();
    let closed = UdpSocket::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    for addr in [silent.local_addr().unwrap(), closed] {
        let calls = Arc::new(AtomicU32::new(0));
        let counter = calls.clone();
        let options = UdpOptions {
            connect_timeout: Duration::from_millis(600),
            retry_interval: Duration::from_millis(100),
            ..UdpOptions::default()
        };
        let began = std::time::Instant::now();
        let result = tokio::time::timeout(
            PATIENCE,
            chatproto_udp::connect_with_progress(addr, options, move |_| {
                counter.fetch_add(1, Ordering::SeqCst);
            }),
        )
        .await
        .expect("gives up by itself");
        let took = began.elapsed();
        match result {
            Err(TransportError::ConnectTimeout {
                addr: to,
                attempts,
                elapsed,
            }) => {
                assert_eq!(to, addr);
                assert!(attempts >= 2, "{attempts} attempts");
                assert_eq!(attempts, calls.load(Ordering::SeqCst), "one call per try");
                assert!(
                    elapsed >= Duration::from_millis(600),
                    "gave up early: {elapsed:?}"
                );
            }
            other => panic!("expected ConnectTimeout, got {other:?}"),
        }
        assert!(took < Duration::from_secs(3), "took {took:?} to give up");
    }
    drop(silent);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn who_lists_online_users_available_and_registered_offline_users_offline() {
    // R-8.8 (v5): online users in login order, then registered users who are not online.
    let dir = tempfile::tempdir().unwrap();
    for (net, storage) in nets_and_stores(&dir) {
        let server = start_server(storage).await;
        let mut ann = log_in(&server, net, Verb::REGISTER, "ann", "pw-a").await;
        let bob = log_in(&server, net, Verb::REGISTER, "bob", "pw-b").await;
        let _cy = Peer::join(&server, net, "cy").await;
        // dave never registered: once gone, he is not listed at all.
        let dave = Peer::join(&server, net, "dave").await;
        quit(bob, &mut ann).await;
        quit(dave, &mut ann).await;
        ann.send(Verb::WHO, "server", "").await;
        let who = ann.expect_verb(Verb::WHO).await;
        assert_eq!((who.from.as_str(), who.to.as_str()), ("server", "ann"));
        assert_eq!(
            who.text, "ann\tavailable\ncy\tavailable\nbob\toffline",
            "{net:?}"
        );
        // bob comes back: available again, at the end of the login order.
        let _bob = log_in(&server, net, Verb::AUTH, "bob", "pw-b").await;
        ann.send(Verb::WHO, "server", "").await;
        assert_eq!(
            ann.expect_verb(Verb::WHO).await.text,
            "ann\tavailable\ncy\tavailable\nbob\tavailable"
        );
        server.shutdown("test over").await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn group_chat_reaches_every_member_and_nobody_else() {
    // the seed's `JOIN MyChat`, then a message to the group.
    for net in NETS {
        let server = start_server(Storage::Memory).await;
        let mut ann = Peer::join(&server, net, "ann").await;
        let mut bob = Peer::join(&server, net, "bob").await;
        let mut cy = Peer::join(&server, net, "cy").await;
        ann.send(Verb::ROOM_CREATE, "MyChat", "").await;
        ann.expect("ROOM_CREATE from server", |m| {
            m.verb == Verb::ROOM_CREATE && m.from == Name::SERVER
        })
        .await;
        for peer in [&mut ann, &mut bob] {
            peer.send(Verb::ROOM_JOIN, "MyChat", "").await;
            let joined = peer.expect_verb(Verb::ROOM_JOIN).await;
            assert_eq!(joined.from, Name::SERVER);
        }
        ann.send(Verb::ROOM_MEMBERS, "MyChat", "").await;
        assert_eq!(ann.expect_verb(Verb::ROOM_MEMBERS).await.text, "ann\nbob");
        ann.send(Verb::ROOM_MESSAGE, "MyChat", "hey My Name is Prince")
            .await;
        for peer in [&mut ann, &mut bob] {
            let got = peer
                .expect_text(Verb::ROOM_MESSAGE, "hey My Name is Prince")
                .await;
            assert_eq!((got.from.as_str(), got.to.as_str()), ("ann", "MyChat"));
        }
        // cy is not a member: she cannot post there, and sees the marker sent after the group message
        // with no group message before it, nor in the moment after.
        cy.send(Verb::ROOM_MESSAGE, "MyChat", "let me in").await;
        cy.expect_error("MyChat").await;
        ann.send(Verb::BROADCAST, "ALL", "marker").await;
        let first = cy
            .expect("the marker or a leak", |m| {
                m.verb == Verb::ROOM_MESSAGE || m.text == "marker"
            })
            .await;
        assert_eq!(
            (first.verb, first.text.as_str()),
            (Verb::BROADCAST, "marker")
        );
        cy.expect_nothing(Duration::from_millis(200), |m| m.verb == Verb::ROOM_MESSAGE)
            .await;
        server.shutdown("test over").await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sent_is_the_confirm_and_received_is_delivered_for_private_and_room_messages() {
    // CONFIRM tells the sender the server has it; DELIVERED `<number> <ms>` that the recipient does.
    for net in NETS {
        let server = start_server(Storage::Memory).await;
        let mut ann = Peer::join(&server, net, "ann").await;
        let mut bob = Peer::join(&server, net, "bob").await;
        let mut cy = Peer::join(&server, net, "cy").await;

        let before = unix_ms();
        let number = ann.send(Verb::PRIVATE_MESSAGE, "bob", "psst").await;
        ann.expect_confirmed(number).await;
        let got = bob.expect_text(Verb::PRIVATE_MESSAGE, "psst").await;
        assert_eq!(got.from.as_str(), "ann");
        expect_delivered(&mut ann, "bob", number, before).await;

        // A room message: one DELIVERED per other member, each quoting the same number.
        let before = unix_ms();
        let number = ann
            .send(Verb::ROOM_MESSAGE, chatproto::chat::GENERAL, "to the room")
            .await;
        ann.expect_confirmed(number).await;
        for peer in [&mut bob, &mut cy] {
            peer.expect_text(Verb::ROOM_MESSAGE, "to the room").await;
        }
        expect_delivered(&mut ann, "bob", number, before).await;
        expect_delivered(&mut ann, "cy", number, before).await;

        // The other way round, so the number is the sender's own sequence and not a coincidence.
        let before = unix_ms();
        let mut numbers = Vec::new();
        for text in ["one", "two", "three"] {
            numbers.push(cy.send(Verb::PRIVATE_MESSAGE, "ann", text).await);
        }
        for &number in &numbers {
            cy.expect_confirmed(number).await;
            expect_delivered(&mut cy, "ann", number, before).await;
        }
        server.shutdown("test over").await;
    }
}

/// One raw v5 frame numbered 1 to the server, over a plain socket; the CONFIRM answering it.
fn raw_confirm(net: Net, server: &Server) -> Packet {
    let login = Packet::new(
        Dialect::V5,
        Verb::LOGIN,
        name("raw"),
        Name::SERVER,
        Text::EMPTY,
    )
    .unwrap()
    .with_number(1)
    .encode();
    match net {
        Net::Tcp => {
            let mut socket = TcpStream::connect(server.tcp_addr().unwrap()).unwrap();
            socket.set_read_timeout(Some(PATIENCE)).unwrap();
            socket.write_all(&login).unwrap();
            first_confirm(|frame| socket.read_exact(frame).unwrap())
        }
        Net::Udp => {
            let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
            socket.set_read_timeout(Some(PATIENCE)).unwrap();
            socket.connect(server.udp_addr().unwrap()).unwrap();
            socket.send(&login).unwrap();
            first_confirm(|frame| assert_eq!(socket.recv(frame).unwrap(), FRAME_LEN))
        }
    }
}

/// Reads frames until a CONFIRM (the LOGIN notice may come first or after).
fn first_confirm(mut read: impl FnMut(&mut [u8; FRAME_LEN])) -> Packet {
    let mut frame = [0u8; FRAME_LEN];
    loop {
        read(&mut frame);
        let packet = Packet::decode(&frame).unwrap();
        if packet.verb() == Verb::CONFIRM {
            return packet;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sent_confirmation_carries_the_server_clock() {
    // the seed showed "Message sent - 08:33:46"; the CONFIRM's text is the server's time.
    let server = start_server(Storage::Memory).await;
    for net in NETS {
        let before = unix_ms();
        let confirm = {
            let server = &server;
            tokio::task::block_in_place(|| raw_confirm(net, server))
        };
        let after = unix_ms();
        assert_eq!(confirm.number(), 1, "{net:?}: CONFIRM names the packet");
        assert_eq!(
            (confirm.from().as_str(), confirm.to().as_str()),
            ("server", "raw")
        );
        let ms: u64 = confirm.text().as_str().parse().unwrap_or_else(|_| {
            panic!(
                "{net:?}: CONFIRM text {:?} is not ms",
                confirm.text().as_str()
            )
        });
        assert!(
            (before..=after).contains(&ms),
            "{net:?}: server time {ms} not within {before}..={after}"
        );
    }
    // No SHUTDOWN: the raw UDP session would never confirm it, and the server would wait for it.
    drop(server);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn private_messages_to_an_offline_registered_user_arrive_in_order_at_next_login() {
    // kept while away (the seed's "message retrieval"), delivered once, in order.
    let dir = tempfile::tempdir().unwrap();
    for (net, storage) in nets_and_stores(&dir) {
        let server = start_server(storage).await;
        let mut ann = Peer::join(&server, net, "ann").await;
        let bob = log_in(&server, net, Verb::REGISTER, "bob", "pw-b").await;
        quit(bob, &mut ann).await;
        let texts: Vec<String> = (1..=5).map(|i| format!("missed {i}")).collect();
        for text in &texts {
            let number = ann.send(Verb::PRIVATE_MESSAGE, "bob", text).await;
            ann.expect_confirmed(number).await;
        }
        // Someone never registered is an error, not kept.
        ann.send(Verb::PRIVATE_MESSAGE, "ghost", "anyone?").await;
        ann.expect_error("ghost").await;

        let mut bob = Peer::connect(&server, net, Dialect::V5).await;
        bob.name = name("bob");
        bob.send_raw(Message::new(Verb::AUTH, bob.name, Name::SERVER, "pw-b"))
            .await;
        // The notice first, then the kept messages.
        let mut got = Vec::new();
        let first = bob
            .expect("LOGIN or PRIVATE_MESSAGE", |m| {
                m.verb == Verb::LOGIN || m.verb == Verb::PRIVATE_MESSAGE
            })
            .await;
        assert_eq!(
            (first.verb, first.text.as_str()),
            (Verb::LOGIN, "bob has connected.")
        );
        for _ in &texts {
            let pm = bob.expect_verb(Verb::PRIVATE_MESSAGE).await;
            assert_eq!((pm.from.as_str(), pm.to.as_str()), ("ann", "bob"));
            got.push(pm.text);
        }
        assert_eq!(got, texts, "{net:?}");

        // Delivered once: the next login brings none.
        quit(bob, &mut ann).await;
        let mut bob = log_in(&server, net, Verb::AUTH, "bob", "pw-b").await;
        bob.send(Verb::BROADCAST, "ALL", "back").await;
        bob.expect_text(Verb::BROADCAST, "back").await;
        bob.expect_nothing(Duration::from_millis(100), |m| {
            m.verb == Verb::PRIVATE_MESSAGE
        })
        .await;
        server.shutdown("test over").await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_private_message_kept_while_offline_is_receipted_when_delivered() {
    // R-8.12: "When the recipient's session confirms a relayed PRIVATE_MESSAGE … the server MUST send the
    // original v5 sender DELIVERED" — the seed's "received" for a message bob only gets when he is back.
    for net in NETS {
        let server = start_server(Storage::Memory).await;
        let mut ann = Peer::join(&server, net, "ann").await;
        let bob = log_in(&server, net, Verb::REGISTER, "bob", "pw-b").await;
        quit(bob, &mut ann).await;
        let number = ann.send(Verb::PRIVATE_MESSAGE, "bob", "while away").await;
        ann.expect_confirmed(number).await;
        let before = unix_ms();
        let mut bob = log_in(&server, net, Verb::AUTH, "bob", "pw-b").await;
        bob.expect_text(Verb::PRIVATE_MESSAGE, "while away").await;
        expect_delivered(&mut ann, "bob", number, before).await;
        server.shutdown("test over").await;
    }
}
