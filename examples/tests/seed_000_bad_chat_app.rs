//! Seed 000, "Bad chat app": the packet, login, broadcast (`all:hi`), private messages (`name:hi`), `who`,
//! quit, checksum RESEND/CONFIRM, the encrypted flag and the shutdown notice — for v4 clients exactly as
//! the original served them, and for v5 clients, over TCP and UDP, on one server.

mod support;

use std::io::{Read, Write};
use std::time::Duration;

use chatproto::chat::GENERAL;
use chatproto::{Dialect, Flags, Message, Name, Packet, Text, Verb};
use chatproto_examples::server::Storage;
use support::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn login_is_announced_to_everyone_including_the_new_user() {
    //
    for net in NETS {
        let server = start_server(Storage::Memory).await;
        // `join` returns once the user's own notice has come back.
        let mut ann = Peer::join(&server, net, "ann").await;
        let _bob = Peer::join(&server, net, "bob").await;
        ann.expect_text(Verb::LOGIN, "bob has connected.").await;
        server.shutdown("test over").await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn taken_empty_and_reserved_names_are_refused_and_the_client_may_retry() {
    //
    for net in NETS {
        let server = start_server(Storage::Memory).await;
        let _ann = Peer::join(&server, net, "ann").await;
        let mut other = Peer::connect(&server, net, Dialect::V5).await;
        for (taken, why) in [
            ("ann", "taken"),
            ("", "empty"),
            ("ALL", "reserved"),
            ("server", "reserved"),
        ] {
            other
                .send_raw(Message::new(
                    Verb::LOGIN,
                    Name::new(taken).unwrap(),
                    Name::SERVER,
                    "",
                ))
                .await;
            other.expect_error(why).await;
        }
        // Same connection, a free name.
        other.login("cy").await;
        server.shutdown("test over").await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn broadcast_reaches_everyone_including_the_sender() {
    //
    for net in NETS {
        let server = start_server(Storage::Memory).await;
        let mut ann = Peer::join(&server, net, "ann").await;
        let mut bob = Peer::join(&server, net, "bob").await;
        ann.send(Verb::BROADCAST, "ALL", "hello").await;
        for peer in [&mut ann, &mut bob] {
            let got = peer.expect_text(Verb::BROADCAST, "hello").await;
            assert_eq!((got.from.as_str(), got.to.as_str()), ("ann", "ALL"));
        }
        server.shutdown("test over").await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn private_message_reaches_the_target_and_the_sender_only() {
    //
    for net in NETS {
        let server = start_server(Storage::Memory).await;
        let mut ann = Peer::join(&server, net, "ann").await;
        let mut bob = Peer::join(&server, net, "bob").await;
        let mut cy = Peer::join(&server, net, "cy").await;
        bob.send(Verb::PRIVATE_MESSAGE, "ann", "psst").await;
        ann.expect_text(Verb::PRIVATE_MESSAGE, "psst").await;
        bob.expect_text(Verb::PRIVATE_MESSAGE, "psst").await;
        // cy sees the marker broadcast but never the private message.
        bob.send(Verb::BROADCAST, "ALL", "marker").await;
        let before = cy.expect_text(Verb::BROADCAST, "marker").await;
        assert_eq!(before.text, "marker");
        cy.expect_nothing(Duration::from_millis(200), |m| {
            m.verb == Verb::PRIVATE_MESSAGE
        })
        .await;
        // An unknown user is an error.
        bob.send(Verb::PRIVATE_MESSAGE, "nobody", "hello?").await;
        bob.expect_error("no user nobody").await;
        server.shutdown("test over").await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn who_lists_everyone_online_in_both_dialects() {
    //
    let server = start_server(Storage::Memory).await;
    let mut ann = Peer::join(&server, Net::Tcp, "ann").await;
    let mut devon = Peer::connect(&server, Net::Tcp, Dialect::Legacy).await;
    devon.login("devon").await;
    devon.send(Verb::WHO, "ALL", "").await;
    assert_eq!(devon.expect_verb(Verb::WHO).await.text, "ann, devon");
    ann.send(Verb::WHO, "server", "").await;
    assert_eq!(
        ann.expect_verb(Verb::WHO).await.text,
        "ann\tavailable\ndevon\tavailable"
    );
    server.shutdown("test over").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn legacy_and_v5_clients_talk_to_each_other() {
    // one server, both dialects; room messages reach a v4 client as marked broadcasts.
    let server = start_server(Storage::Memory).await;
    let mut devon = Peer::connect(&server, Net::Tcp, Dialect::Legacy).await;
    devon.login("devon").await;
    let mut ann = Peer::join(&server, Net::Udp, "ann").await;
    devon.expect_text(Verb::LOGIN, "ann has connected.").await;
    ann.send(Verb::PRIVATE_MESSAGE, "devon", "hi devon").await;
    devon.expect_text(Verb::PRIVATE_MESSAGE, "hi devon").await;
    devon.send(Verb::PRIVATE_MESSAGE, "ann", "hi ann").await;
    ann.expect_text(Verb::PRIVATE_MESSAGE, "hi ann").await;
    ann.send(Verb::ROOM_MESSAGE, GENERAL, "to the room").await;
    devon
        .expect_text(Verb::BROADCAST, "[General] to the room")
        .await;
    server.shutdown("test over").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn quit_is_announced_and_a_crashed_client_is_cleaned_up() {
    //
    for net in NETS {
        let server = start_server(Storage::Memory).await;
        let mut ann = Peer::join(&server, net, "ann").await;
        let mut bob = Peer::join(&server, net, "bob").await;
        bob.send(Verb::QUIT, "ALL", "bob has disconnected.").await;
        bob.expect_text(Verb::QUIT, "bob has disconnected.").await;
        ann.expect_text(Verb::QUIT, "bob has disconnected.").await;
        if net == Net::Tcp {
            // A client that vanishes without QUIT: its connection drops.
            let cy = Peer::join(&server, net, "cy").await;
            ann.expect_notice(Verb::LOGIN, "cy").await;
            drop(cy);
            ann.expect_text(Verb::QUIT, "cy has disconnected.").await;
            // The name is free again.
            let _cy_again = Peer::join(&server, net, "cy").await;
        }
        server.shutdown("test over").await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_tells_every_client() {
    //
    for net in NETS {
        let server = start_server(Storage::Memory).await;
        let mut ann = Peer::join(&server, net, "ann").await;
        server.shutdown("maintenance").await;
        let got = ann.expect_verb(Verb::SHUTDOWN).await;
        assert_eq!(
            (got.from.as_str(), got.text.as_str()),
            ("server", "maintenance")
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn encrypted_messages_are_relayed_with_the_flag() {
    // …: the session deciphers on arrival and enciphers again on the way out.
    let server = start_server(Storage::Memory).await;
    let mut ann = Peer::join(&server, Net::Tcp, "ann").await;
    let mut bob = Peer::join(&server, Net::Udp, "bob").await;
    let mut secret = Message::new(Verb::BROADCAST, name("ann"), Name::ALL, "hello");
    secret.encrypted = true;
    ann.send_raw(secret).await;
    let got = bob.expect_text(Verb::BROADCAST, "hello").await;
    assert!(got.encrypted, "the flag is relayed");
    server.shutdown("test over").await;
}

/// Seed 000's own bytes: a v4 client on a raw socket, with a damaged frame along the way.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_raw_legacy_client_gets_confirm_resend_and_the_original_replies() {
    //
    let server = start_server(Storage::Memory).await;
    let addr = server.tcp_addr().unwrap();
    let v4 = |verb, from: &str, to: &str, text: &str| {
        Packet::new(
            Dialect::Legacy,
            verb,
            name(from),
            Name::new(to).unwrap(),
            Text::new(text).unwrap(),
        )
        .unwrap()
        .with_number(1)
        .encode()
    };
    let read_frame = |socket: &mut std::net::TcpStream| {
        let mut frame = [0u8; 337];
        socket.read_exact(&mut frame).unwrap();
        Packet::decode(&frame).unwrap()
    };
    let result = tokio::task::spawn_blocking(move || {
        let mut socket = std::net::TcpStream::connect(addr).unwrap();
        socket.set_read_timeout(Some(PATIENCE)).unwrap();
        socket
            .write_all(&v4(Verb::LOGIN, "devon", "ALL", "devon has connected."))
            .unwrap();
        // CONFIRM, then the LOGIN notice relayed back to the sender, as in the original.
        let confirm = read_frame(&mut socket);
        assert_eq!(
            (confirm.verb(), confirm.dialect()),
            (Verb::CONFIRM, Dialect::Legacy)
        );
        let notice = read_frame(&mut socket);
        assert_eq!(
            (notice.verb(), notice.text().as_str()),
            (Verb::LOGIN, "devon has connected.")
        );
        assert_eq!(notice.number(), 1, "old peers always see packet number 1");
        // A damaged broadcast: the server asks for it again.
        let mut damaged = v4(Verb::BROADCAST, "devon", "all", "hello");
        damaged[81] ^= 0x20;
        socket.write_all(&damaged).unwrap();
        assert_eq!(read_frame(&mut socket).verb(), Verb::RESEND);
        // The resend is accepted, confirmed and relayed back.
        let packet = Packet::new(
            Dialect::Legacy,
            Verb::BROADCAST,
            name("devon"),
            name("all"),
            Text::new("hello").unwrap(),
        )
        .unwrap()
        .with_number(1)
        .with_flags(Flags::NONE)
        .unwrap();
        socket.write_all(&packet.encode()).unwrap();
        assert_eq!(read_frame(&mut socket).verb(), Verb::CONFIRM);
        let relayed = read_frame(&mut socket);
        assert_eq!(
            (relayed.verb(), relayed.text().as_str()),
            (Verb::BROADCAST, "hello")
        );
        socket
            .write_all(&v4(Verb::WHO, "devon", "ALL", ""))
            .unwrap();
        assert_eq!(read_frame(&mut socket).verb(), Verb::CONFIRM);
        assert_eq!(read_frame(&mut socket).text().as_str(), "devon");
    })
    .await;
    server.shutdown("test over").await;
    result.unwrap();
}
