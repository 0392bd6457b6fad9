//! Seed 001, "CS494 Chat Application" (rooms): everyone starts in General; `/create`, `/join` (one or
//! several rooms), `/leave`, `/list`, `/users`, `/users <room>`, `/s <rooms> <text>`, plain text to all
//! of one's rooms, `/w`, `/?`, unique usernames and crash handling — against the real server over real
//! loopback sockets, each over TCP and UDP, with several clients; and the real `chat-client` binary in
//! script mode.
//!
//! Seed sections are cited as "seed §4.6" and so on; requirements as in PROTOCOL.md.

#[path = "support/client_process.rs"]
mod client_process;
mod support;

use std::time::Duration;

use chatproto::chat::GENERAL;
use chatproto::{Dialect, Message, Name, Verb};
use chatproto_examples::server::Storage;
use client_process::ClientProcess;
use support::*;

/// How long an absence is watched for before the marker that flushes the pipe.
const QUIET: Duration = Duration::from_millis(200);

/// The answer from `server` to a request, whose text mentions `says`.
async fn expect_reply(peer: &mut Peer, verb: Verb, says: &str) -> Message {
    let says = says.to_owned();
    peer.expect(&format!("{verb} from server about {says:?}"), move |m| {
        m.verb == verb && m.from == Name::SERVER && m.text.contains(&says)
    })
    .await
}

/// A ROOM_MESSAGE relayed with `to_name` the room.
async fn expect_room_message(peer: &mut Peer, room: &str, from: &str, text: &str) -> Message {
    let (room, from, text) = (room.to_owned(), from.to_owned(), text.to_owned());
    peer.expect(&format!("[#{room}] {from}: {text}"), move |m| {
        m.verb == Verb::ROOM_MESSAGE
            && m.to.as_str() == room
            && m.from.as_str() == from
            && m.text == text
    })
    .await
}

/// ROOM_MESSAGE to `room` (any room when `room` is `None`) with this text.
fn room_message(
    room: Option<&'static str>,
    text: &'static str,
) -> impl Fn(&Message) -> bool + Copy {
    move |m| {
        m.verb == Verb::ROOM_MESSAGE && m.text == text && room.is_none_or(|r| m.to.as_str() == r)
    }
}

/// Asserts that `peer` gets nothing `unwanted`: nothing within [`QUIET`], then `marker` (a broadcast
/// sent after whatever must not arrive) with nothing unwanted before it. Sessions deliver in order
/// and the server handles one input at a time, so this proves it.
async fn expect_none_until_marker(
    peer: &mut Peer,
    marker: &str,
    unwanted: impl Fn(&Message) -> bool + Copy,
) {
    peer.expect_nothing(QUIET, unwanted).await;
    let who = peer.name;
    let marker = marker.to_owned();
    peer.expect(&format!("marker {marker:?}"), move |m| {
        assert!(!unwanted(m), "{who}: unexpected {m:?} before the marker");
        m.verb == Verb::BROADCAST && m.text == marker
    })
    .await;
}

/// Creates `room` and waits for the answer.
async fn create(peer: &mut Peer, room: &str) {
    peer.send(Verb::ROOM_CREATE, room, "").await;
    expect_reply(peer, Verb::ROOM_CREATE, room).await;
}

/// Joins `room` and waits for the answer.
async fn join(peer: &mut Peer, room: &str) {
    peer.send(Verb::ROOM_JOIN, room, "").await;
    expect_reply(peer, Verb::ROOM_JOIN, room).await;
}

async fn members(peer: &mut Peer, room: &str) -> String {
    peer.send(Verb::ROOM_MEMBERS, room, "").await;
    let reply = peer.expect_verb(Verb::ROOM_MEMBERS).await;
    assert_eq!(reply.from, Name::SERVER, "R-4.5");
    reply.text
}

async fn rooms(peer: &mut Peer) -> String {
    peer.send(Verb::ROOM_LIST, "server", "").await;
    let reply = peer.expect_verb(Verb::ROOM_LIST).await;
    assert_eq!(reply.from, Name::SERVER, "R-4.5");
    reply.text
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn everyone_starts_in_general() {
    // Seed §4.3: General always exists and every user is in it from login.
    for net in NETS {
        let server = start_server(Storage::Memory).await;
        let mut ann = Peer::join(&server, net, "ann").await;
        let mut bob = Peer::join(&server, net, "bob").await;
        let mut cy = Peer::join(&server, net, "cy").await;
        assert_eq!(rooms(&mut cy).await, GENERAL);
        assert_eq!(members(&mut cy, GENERAL).await, "ann\nbob\ncy");
        // So a message to General reaches all three, the sender included.
        bob.send(Verb::ROOM_MESSAGE, GENERAL, "hello General").await;
        for peer in [&mut ann, &mut bob, &mut cy] {
            expect_room_message(peer, GENERAL, "bob", "hello General").await;
        }
        server.shutdown("test over").await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn create_makes_a_room_and_refuses_a_taken_or_bad_name() {
    // Seed §4.5.
    for net in NETS {
        let server = start_server(Storage::Memory).await;
        let mut ann = Peer::join(&server, net, "ann").await;
        let mut bob = Peer::join(&server, net, "bob").await;
        let mut cy = Peer::join(&server, net, "cy").await;
        ann.send(Verb::ROOM_CREATE, "dev", "").await;
        let reply = expect_reply(&mut ann, Verb::ROOM_CREATE, "dev").await;
        assert_eq!(reply.to.as_str(), "ann", "the answer goes to the requester");
        // Creating is not joining: the creator joins with ROOM_JOIN.
        assert_eq!(members(&mut ann, "dev").await, "");
        // A room that exists, whoever created it.
        bob.send(Verb::ROOM_CREATE, "dev", "").await;
        bob.expect_error("already exists").await;
        bob.send(Verb::ROOM_CREATE, GENERAL, "").await;
        bob.expect_error("already exists").await;
        // Names a user could not take: reserved in any letter case, empty, a comma, a control character.
        for bad in ["ALL", "all", "server", "Server", "", "a,b", "tab\there"] {
            cy.send(Verb::ROOM_CREATE, bad, "").await;
            let error = cy.expect_verb(Verb::ERROR).await;
            assert!(
                error.text.contains("name"),
                "ROOM_CREATE {bad:?}: the error says why: {:?}",
                error.text
            );
        }
        // Only dev was made.
        assert_eq!(rooms(&mut cy).await, "General\ndev");
        server.shutdown("test over").await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn join_one_or_several_rooms_with_one_answer_each() {
    // Seed §4.6 (`/join a b c`): one ROOM_JOIN per room, each answered from `server`.
    for net in NETS {
        let server = start_server(Storage::Memory).await;
        let mut ann = Peer::join(&server, net, "ann").await;
        let mut bob = Peer::join(&server, net, "bob").await;
        for room in ["dev", "ops", "qa"] {
            create(&mut ann, room).await;
        }
        join(&mut bob, "ops").await;
        for room in ["dev", "ops", "qa"] {
            ann.send(Verb::ROOM_JOIN, room, "").await;
        }
        for room in ["dev", "ops", "qa"] {
            let reply = expect_reply(&mut ann, Verb::ROOM_JOIN, room).await;
            assert_eq!(reply.to.as_str(), "ann");
        }
        assert_eq!(members(&mut bob, "dev").await, "ann");
        assert_eq!(members(&mut bob, "ops").await, "bob\nann");
        assert_eq!(members(&mut bob, "qa").await, "ann");
        // Joining is private: bob, who asked nothing, got no ROOM_JOIN.
        bob.send(Verb::BROADCAST, "ALL", "marker").await;
        expect_none_until_marker(&mut bob, "marker", |m| m.verb == Verb::ROOM_JOIN).await;
        server.shutdown("test over").await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn join_refuses_no_such_room_and_already_a_member() {
    // Seed §4.6: an error for each room that does not exist and each the user is in.
    for net in NETS {
        let server = start_server(Storage::Memory).await;
        let mut ann = Peer::join(&server, net, "ann").await;
        let mut bob = Peer::join(&server, net, "bob").await;
        create(&mut bob, "dev").await;
        join(&mut ann, "dev").await;
        // One request per room, each answered in turn: a member already, no such room, a good one, General.
        for room in ["dev", "nowhere", "ops", GENERAL] {
            ann.send(Verb::ROOM_JOIN, room, "").await;
        }
        ann.expect_error("already a member of dev").await;
        ann.expect_error("no room nowhere").await;
        ann.expect_error("no room ops").await;
        ann.expect_error("already a member of General").await;
        // Names compare exactly: `dev` is not `Dev`.
        ann.send(Verb::ROOM_JOIN, "Dev", "").await;
        ann.expect_error("no room Dev").await;
        // Nothing changed.
        assert_eq!(members(&mut bob, "dev").await, "ann");
        assert_eq!(members(&mut bob, GENERAL).await, "ann\nbob");
        assert_eq!(rooms(&mut bob).await, "General\ndev");
        server.shutdown("test over").await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn leave_a_room_and_its_errors() {
    // Seed §4.7.
    for net in NETS {
        let server = start_server(Storage::Memory).await;
        let mut ann = Peer::join(&server, net, "ann").await;
        let mut bob = Peer::join(&server, net, "bob").await;
        let mut cy = Peer::join(&server, net, "cy").await;
        create(&mut ann, "dev").await;
        for peer in [&mut ann, &mut bob, &mut cy] {
            join(peer, "dev").await;
        }
        bob.send(Verb::ROOM_LEAVE, "dev", "").await;
        let reply = expect_reply(&mut bob, Verb::ROOM_LEAVE, "dev").await;
        assert_eq!(reply.to.as_str(), "bob");
        assert_eq!(members(&mut ann, "dev").await, "ann\ncy");
        // Not a member any more, and a room that does not exist.
        bob.send(Verb::ROOM_LEAVE, "dev", "").await;
        bob.expect_error("not a member of dev").await;
        bob.send(Verb::ROOM_LEAVE, "nowhere", "").await;
        bob.expect_error("no room nowhere").await;
        // The room lives on, and bob no longer hears it.
        assert_eq!(rooms(&mut bob).await, "General\ndev");
        ann.send(Verb::ROOM_MESSAGE, "dev", "bob has gone").await;
        expect_room_message(&mut cy, "dev", "ann", "bob has gone").await;
        ann.send(Verb::BROADCAST, "ALL", "marker").await;
        expect_none_until_marker(
            &mut bob,
            "marker",
            room_message(Some("dev"), "bob has gone"),
        )
        .await;
        // Leaving is not final: bob may join again, at the end of the join order.
        join(&mut bob, "dev").await;
        assert_eq!(members(&mut ann, "dev").await, "ann\ncy\nbob");
        server.shutdown("test over").await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn list_shows_the_rooms_in_creation_order() {
    // Seed §4.9 (`/list`): one room per line, in the order created, whoever created them.
    for net in NETS {
        let server = start_server(Storage::Memory).await;
        let mut ann = Peer::join(&server, net, "ann").await;
        let mut bob = Peer::join(&server, net, "bob").await;
        let mut cy = Peer::join(&server, net, "cy").await;
        create(&mut bob, "zeta").await;
        create(&mut ann, "alpha").await;
        create(&mut cy, "mid").await;
        // A failed create adds nothing.
        ann.send(Verb::ROOM_CREATE, "zeta", "").await;
        ann.expect_error("already exists").await;
        for peer in [&mut ann, &mut bob, &mut cy] {
            assert_eq!(rooms(peer).await, "General\nzeta\nalpha\nmid");
        }
        server.shutdown("test over").await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn users_lists_everyone_and_users_room_lists_its_members_in_join_order() {
    // Seed §4.9 (`/users`, `/users room`); R-8.8 (WHO, v5 lines, login order), R-8.10 (ROOM_MEMBERS).
    for net in NETS {
        let server = start_server(Storage::Memory).await;
        let mut ann = Peer::join(&server, net, "ann").await;
        let mut bob = Peer::join(&server, net, "bob").await;
        let mut cy = Peer::join(&server, net, "cy").await;
        bob.send(Verb::WHO, "server", "").await;
        let who = bob.expect_verb(Verb::WHO).await;
        assert_eq!(who.from, Name::SERVER, "R-8.8");
        assert_eq!(who.text, "ann\tavailable\nbob\tavailable\ncy\tavailable");
        create(&mut ann, "dev").await;
        join(&mut cy, "dev").await;
        join(&mut ann, "dev").await;
        join(&mut bob, "dev").await;
        assert_eq!(members(&mut ann, "dev").await, "cy\nann\nbob");
        // Anyone may ask, member or not.
        create(&mut ann, "ops").await;
        join(&mut bob, "ops").await;
        assert_eq!(members(&mut cy, "ops").await, "bob");
        assert_eq!(members(&mut cy, GENERAL).await, "ann\nbob\ncy");
        // No such room.
        cy.send(Verb::ROOM_MEMBERS, "nowhere", "").await;
        cy.expect_error("no room nowhere").await;
        server.shutdown("test over").await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s_sends_one_message_to_each_room_listed_for_its_members_only() {
    // Seed §4.8 (`/s room room message`): one ROOM_MESSAGE per room, relayed with `to_name` the
    // room to every member (the sender included) and to nobody else.
    for net in NETS {
        let server = start_server(Storage::Memory).await;
        let mut ann = Peer::join(&server, net, "ann").await;
        let mut bob = Peer::join(&server, net, "bob").await;
        let mut cy = Peer::join(&server, net, "cy").await;
        let mut dan = Peer::join(&server, net, "dan").await;
        create(&mut ann, "dev").await;
        create(&mut ann, "ops").await;
        join(&mut ann, "dev").await;
        join(&mut ann, "ops").await;
        join(&mut bob, "dev").await;
        join(&mut cy, "ops").await;
        // What `/s dev,ops deploy at 5` sends.
        ann.send(Verb::ROOM_MESSAGE, "dev", "deploy at 5").await;
        ann.send(Verb::ROOM_MESSAGE, "ops", "deploy at 5").await;
        expect_room_message(&mut ann, "dev", "ann", "deploy at 5").await;
        expect_room_message(&mut ann, "ops", "ann", "deploy at 5").await;
        expect_room_message(&mut bob, "dev", "ann", "deploy at 5").await;
        expect_room_message(&mut cy, "ops", "ann", "deploy at 5").await;
        // bob is not in ops, cy not in dev, dan in neither; and nobody gets a room twice.
        let deploy = room_message(None, "deploy at 5");
        dan.expect_nothing(QUIET, deploy).await;
        ann.send(Verb::BROADCAST, "ALL", "marker").await;
        expect_none_until_marker(&mut bob, "marker", deploy).await;
        expect_none_until_marker(&mut cy, "marker", deploy).await;
        expect_none_until_marker(&mut dan, "marker", deploy).await;
        expect_none_until_marker(&mut ann, "marker", deploy).await;
        server.shutdown("test over").await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plain_text_goes_to_every_room_the_sender_is_in() {
    // Seed §4.4 (text without a slash goes to everyone in a room with the sender): ROOM_MESSAGE
    // with an empty `to_name` is relayed once per room the sender is in, each with the room as `to_name`.
    for net in NETS {
        let server = start_server(Storage::Memory).await;
        let mut ann = Peer::join(&server, net, "ann").await;
        let mut bob = Peer::join(&server, net, "bob").await;
        let mut cy = Peer::join(&server, net, "cy").await;
        create(&mut cy, "dev").await;
        create(&mut cy, "qa").await;
        join(&mut ann, "dev").await;
        join(&mut bob, "dev").await;
        join(&mut cy, "qa").await;
        ann.send(Verb::ROOM_MESSAGE, "", "hi all").await;
        // ann is in General and dev: one relay for each, to ann too.
        for room in [GENERAL, "dev"] {
            expect_room_message(&mut ann, room, "ann", "hi all").await;
            expect_room_message(&mut bob, room, "ann", "hi all").await;
        }
        expect_room_message(&mut cy, GENERAL, "ann", "hi all").await;
        // cy is not in dev, and ann is not in qa: those get nothing; nobody gets a room twice.
        ann.send(Verb::BROADCAST, "ALL", "marker").await;
        expect_none_until_marker(&mut cy, "marker", room_message(None, "hi all")).await;
        expect_none_until_marker(&mut bob, "marker", room_message(None, "hi all")).await;
        expect_none_until_marker(&mut ann, "marker", room_message(None, "hi all")).await;
        server.shutdown("test over").await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn w_sends_a_private_message_to_one_user() {
    // Seed §4.8 and §6.1 (`/w username message`): to the recipient and back to the sender only.
    for net in NETS {
        let server = start_server(Storage::Memory).await;
        let mut ann = Peer::join(&server, net, "ann").await;
        let mut bob = Peer::join(&server, net, "bob").await;
        let mut cy = Peer::join(&server, net, "cy").await;
        ann.send(Verb::PRIVATE_MESSAGE, "bob", "psst").await;
        for peer in [&mut bob, &mut ann] {
            let got = peer.expect_text(Verb::PRIVATE_MESSAGE, "psst").await;
            assert_eq!((got.from.as_str(), got.to.as_str()), ("ann", "bob"));
        }
        ann.send(Verb::BROADCAST, "ALL", "marker").await;
        expect_none_until_marker(&mut cy, "marker", |m| m.verb == Verb::PRIVATE_MESSAGE).await;
        // No such user: nothing is sent, and the sender is told.
        ann.send(Verb::PRIVATE_MESSAGE, "nobody", "hello?").await;
        ann.expect_error("nobody").await;
        server.shutdown("test over").await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn help_lists_the_commands() {
    // Seed §4.9 (`/?`): HELP from `server` listing the commands: allowed before login.
    for net in NETS {
        let server = start_server(Storage::Memory).await;
        let mut ann = Peer::join(&server, net, "ann").await;
        ann.send(Verb::HELP, "server", "").await;
        let help = ann.expect_verb(Verb::HELP).await;
        assert_eq!(help.from, Name::SERVER);
        for command in [
            "/create", "/join", "/leave", "/list", "/users", "/s ", "/w ", "/quit",
        ] {
            assert!(
                help.text.contains(command),
                "HELP does not mention {command}"
            );
        }
        let mut guest = Peer::connect(&server, net, Dialect::V5).await;
        guest.send(Verb::HELP, "server", "").await;
        assert_eq!(guest.expect_verb(Verb::HELP).await.text, help.text);
        server.shutdown("test over").await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn usernames_are_unique() {
    // Seed §3.2 and §4.3 (a taken username is asked for again): refused while online, on the same
    // session the client may try again; names compare exactly.
    for net in NETS {
        let server = start_server(Storage::Memory).await;
        let mut ann = Peer::join(&server, net, "ann").await;
        let mut other = Peer::connect(&server, net, Dialect::V5).await;
        other
            .send_raw(Message::new(Verb::LOGIN, name("ann"), Name::SERVER, ""))
            .await;
        other.expect_error("taken").await;
        // Refused means not logged in: nothing else is allowed yet.
        other
            .send_raw(Message::new(Verb::WHO, name("ann"), Name::SERVER, ""))
            .await;
        other.expect_verb(Verb::ERROR).await;
        // Another name on the same connection; `Ann` is not `ann`.
        other.login("Ann").await;
        ann.expect_notice(Verb::LOGIN, "Ann").await;
        ann.send(Verb::WHO, "server", "").await;
        assert_eq!(
            ann.expect_verb(Verb::WHO).await.text,
            "ann\tavailable\nAnn\tavailable"
        );
        // Once ann has gone the name is free again (seed §4.10).
        ann.send(Verb::QUIT, "ALL", "ann has disconnected.").await;
        other.expect_text(Verb::QUIT, "ann has disconnected.").await;
        let _ann_again = Peer::join(&server, net, "ann").await;
        server.shutdown("test over").await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crashed_client_leaves_its_rooms_and_everyone_is_told() {
    // Seed §3.5 and §4.11: a session that ends without QUIT (TCP: the connection drops) takes
    // the user offline, out of every room, with a QUIT notice to everyone. Over UDP a vanished peer is
    // noticed only after the dead-peer limit (R-7.9, 10 s), so there the user QUITs instead (seed §4.10).
    for net in NETS {
        let server = start_server(Storage::Memory).await;
        let mut ann = Peer::join(&server, net, "ann").await;
        let mut bob = Peer::join(&server, net, "bob").await;
        let mut cy = Peer::join(&server, net, "cy").await;
        create(&mut ann, "dev").await;
        for peer in [&mut ann, &mut cy, &mut bob] {
            join(peer, "dev").await;
        }
        if net == Net::Tcp {
            drop(cy);
        } else {
            cy.send(Verb::QUIT, "ALL", "cy has disconnected.").await;
        }
        for peer in [&mut ann, &mut bob] {
            let notice = peer.expect_text(Verb::QUIT, "cy has disconnected.").await;
            assert_eq!((notice.from.as_str(), notice.to.as_str()), ("cy", "ALL"));
        }
        assert_eq!(members(&mut ann, "dev").await, "ann\nbob");
        assert_eq!(members(&mut ann, GENERAL).await, "ann\nbob");
        // The room carries on without cy.
        bob.send(Verb::ROOM_MESSAGE, "dev", "still here").await;
        expect_room_message(&mut ann, "dev", "bob", "still here").await;
        // The name is free, and whoever takes it starts afresh: in General only (seed §4.10).
        let _cy = Peer::join(&server, net, "cy").await;
        assert_eq!(members(&mut ann, "dev").await, "ann\nbob");
        assert_eq!(members(&mut ann, GENERAL).await, "ann\nbob\ncy");
        server.shutdown("test over").await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn messaging_a_room_you_are_not_in_is_refused() {
    // ROOM_MESSAGE to a room the sender is not in, or that does not exist, is answered with
    // ERROR, and relayed to nobody.
    for net in NETS {
        let server = start_server(Storage::Memory).await;
        let mut ann = Peer::join(&server, net, "ann").await;
        let mut bob = Peer::join(&server, net, "bob").await;
        create(&mut bob, "dev").await;
        join(&mut bob, "dev").await;
        ann.send(Verb::ROOM_MESSAGE, "dev", "let me in").await;
        ann.expect_error("not a member of dev").await;
        ann.send(Verb::ROOM_MESSAGE, "nowhere", "anyone?").await;
        ann.expect_error("no room nowhere").await;
        ann.send(Verb::BROADCAST, "ALL", "marker").await;
        expect_none_until_marker(&mut bob, "marker", |m| m.verb == Verb::ROOM_MESSAGE).await;
        expect_none_until_marker(&mut ann, "marker", |m| m.verb == Verb::ROOM_MESSAGE).await;
        server.shutdown("test over").await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_chat_client_creates_joins_and_talks_in_rooms() {
    // The real `chat-client`, scripted: seed §4.4 … §4.9 as a user types them.
    for net in NETS {
        let server = start_server(Storage::Memory).await;
        let mut ann = ClientProcess::join(&server, net, "ann").await;
        let mut bob = ClientProcess::join(&server, net, "bob").await;
        let mut cy = ClientProcess::join(&server, net, "cy").await;

        ann.send_line("/create dev").await;
        ann.expect_line("* created dev").await;
        ann.send_line("/join dev").await;
        ann.expect_line("* joined dev").await;
        // Several rooms at once, one answer each.
        bob.send_line("/join dev nowhere").await;
        bob.expect_line("* joined dev").await;
        bob.expect_line("! error: no room nowhere").await;
        bob.send_line("/users dev").await;
        bob.expect_block(&["* members of #dev:", "  ann", "  bob"])
            .await;
        // The client refuses a reserved name itself, and the server a taken one.
        cy.send_line("/create ALL").await;
        cy.expect_matching("a refusal of ALL", |l| {
            l.starts_with("! cannot create \"ALL\"") && l.contains("reserved")
        })
        .await;
        cy.send_line("/create dev").await;
        cy.expect_line("! error: room dev already exists").await;
        cy.send_line("/list").await;
        cy.expect_block(&["* rooms:", "  General", "  dev"]).await;
        cy.send_line("/users").await;
        cy.expect_block(&[
            "* who is online:",
            "  ann  available",
            "  bob  available",
            "  cy  available",
        ])
        .await;

        // `/s` to one room: its members see it, cy does not.
        ann.send_line("/s dev hello").await;
        ann.expect_line("[#dev] ann: hello").await;
        bob.expect_line("[#dev] ann: hello").await;
        let dev = |l: &str| l.starts_with("[#dev]");
        cy.expect_no_line(Duration::from_millis(200), dev).await;
        ann.send_line("all:marker").await;
        cy.expect_marker("[all] ann: marker", dev).await;

        // `/s` to two rooms, and plain text to all of the sender's rooms.
        ann.send_line("/s dev,General hi both").await;
        bob.expect_line("[#dev] ann: hi both").await;
        bob.expect_line("[#General] ann: hi both").await;
        cy.expect_line("[#General] ann: hi both").await;
        bob.send_line("back at you").await;
        ann.expect_line("[#General] bob: back at you").await;
        ann.expect_line("[#dev] bob: back at you").await;
        cy.expect_line("[#General] bob: back at you").await;
        ann.send_line("all:marker 2").await;
        cy.expect_marker("[all] ann: marker 2", dev).await;

        // `/w`, `/?`, `/leave` and its error.
        cy.send_line("/w ann psst").await;
        ann.expect_line("[cy \u{2192} you] psst").await;
        cy.expect_line("[you \u{2192} ann] psst").await;
        ann.send_line("/?").await;
        ann.expect_line("commands:").await;
        ann.expect_line("* server help:").await;
        ann.send_line("/leave dev").await;
        ann.expect_line("* left dev").await;
        ann.send_line("/leave dev").await;
        ann.expect_line("! error: not a member of dev").await;
        ann.send_line("/s dev hello?").await;
        ann.expect_line("! error: not a member of dev").await;

        // The end of the input: each says QUIT and exits 0; the others are told.
        ann.finish_with(0).await;
        bob.expect_line("* ann has disconnected.").await;
        cy.expect_line("* ann has disconnected.").await;
        bob.finish_with(0).await;
        cy.finish_with(0).await;
        server.shutdown("test over").await;
    }
}
