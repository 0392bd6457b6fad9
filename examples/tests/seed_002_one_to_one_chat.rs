//! Seed 002, one-to-one chat by invitation: a user asks another to chat, who accepts ("yes") or declines
//! ("no"); the user list shows who is available and who is chatting with whom; a busy user cannot be
//! asked; either may end the chat ("quit"), and so does leaving the server — against the real server over
//! real loopback sockets, each over TCP and UDP, with several clients; and the real `chat-client` binary
//! in script mode.
//!
//! The seed's steps are cited as "seed step 4" and so on; requirements as in PROTOCOL.md (R-8.11 above
//! all).

#[path = "support/client_process.rs"]
mod client_process;
mod support;

use std::time::Duration;

use chatproto::{Message, Name, Verb};
use chatproto_examples::server::Storage;
use client_process::ClientProcess;
use support::*;

/// How long an absence is watched for before the marker that flushes the pipe.
const QUIET: Duration = Duration::from_millis(200);

/// The WHO text (R-8.8, v5) as `peer` gets it.
async fn who(peer: &mut Peer) -> String {
    peer.send(Verb::WHO, "server", "").await;
    let reply = peer.expect_verb(Verb::WHO).await;
    assert_eq!(reply.from, Name::SERVER, "R-8.8");
    reply.text
}

/// A message with this verb from `from`.
async fn expect_from(peer: &mut Peer, verb: Verb, from: &str) -> Message {
    let from = from.to_owned();
    peer.expect(&format!("{verb} from {from}"), move |m| {
        m.verb == verb && m.from.as_str() == from
    })
    .await
}

/// Any of the chat verbs.
fn chat_verb(m: &Message) -> bool {
    matches!(
        m.verb,
        Verb::CHAT_INVITE | Verb::CHAT_ACCEPT | Verb::CHAT_DECLINE | Verb::CHAT_END
    )
}

/// Asserts that `peer` gets nothing `unwanted`: nothing within [`QUIET`], then the broadcast `marker`
/// (sent after whatever must not arrive) with nothing unwanted before it. Sessions deliver in order
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

/// `inviter` invites `invitee`, who accepts; returns once both have been told.
async fn start_chat(inviter: &mut Peer, invitee: &mut Peer) {
    let (a, b) = (inviter.name.to_string(), invitee.name.to_string());
    inviter.send(Verb::CHAT_INVITE, &b, "").await;
    expect_from(invitee, Verb::CHAT_INVITE, &a).await;
    invitee.send(Verb::CHAT_ACCEPT, &a, "").await;
    expect_from(inviter, Verb::CHAT_ACCEPT, &b).await;
    expect_from(invitee, Verb::CHAT_ACCEPT, "server").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invite_and_accept_put_both_in_a_chat_shown_in_who() {
    // Seed steps 4 and 6 ("A, Unavailable, Chatting with B").
    for net in NETS {
        let server = start_server(Storage::Memory).await;
        let mut ann = Peer::join(&server, net, "ann").await;
        let mut bob = Peer::join(&server, net, "bob").await;
        let mut cy = Peer::join(&server, net, "cy").await;
        // The invitation, with its greeting, is relayed to the invitee only.
        ann.send(Verb::CHAT_INVITE, "bob", "got a minute?").await;
        let invite = expect_from(&mut bob, Verb::CHAT_INVITE, "ann").await;
        assert_eq!(
            (invite.to.as_str(), invite.text.as_str()),
            ("bob", "got a minute?")
        );
        // Invited is not chatting yet.
        assert_eq!(
            who(&mut cy).await,
            "ann\tavailable\nbob\tavailable\ncy\tavailable"
        );
        bob.send(Verb::CHAT_ACCEPT, "ann", "").await;
        // Relayed to the inviter; answered to the invitee from `server`.
        let accepted = expect_from(&mut ann, Verb::CHAT_ACCEPT, "bob").await;
        assert_eq!(accepted.to.as_str(), "ann");
        let answer = expect_from(&mut bob, Verb::CHAT_ACCEPT, "server").await;
        assert_eq!(answer.to.as_str(), "bob");
        let chatting = "ann\tchatting with bob\nbob\tchatting with ann\ncy\tavailable";
        for peer in [&mut cy, &mut ann, &mut bob] {
            assert_eq!(who(peer).await, chatting);
        }
        // cy saw none of it.
        ann.send(Verb::BROADCAST, "ALL", "marker").await;
        expect_none_until_marker(&mut cy, "marker", chat_verb).await;
        server.shutdown("test over").await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chat_partners_exchange_messages() {
    // Seed steps 4 and 8 ("Hello mr A", "Hello mr B"); between partners: each message
    // reaches the partner and comes back to its sender, and nobody else.
    for net in NETS {
        let server = start_server(Storage::Memory).await;
        let mut ann = Peer::join(&server, net, "ann").await;
        let mut bob = Peer::join(&server, net, "bob").await;
        let mut cy = Peer::join(&server, net, "cy").await;
        start_chat(&mut bob, &mut ann).await;
        for (from, to, text) in [
            ("bob", "ann", "Hello mr A"),
            ("ann", "bob", "Hello mr B"),
            ("bob", "ann", "How are you?"),
            ("ann", "bob", "I'm fine"),
        ] {
            let sender = if from == "ann" { &mut ann } else { &mut bob };
            sender.send(Verb::PRIVATE_MESSAGE, to, text).await;
            for peer in [&mut ann, &mut bob] {
                let got = peer.expect_text(Verb::PRIVATE_MESSAGE, text).await;
                assert_eq!((got.from.as_str(), got.to.as_str()), (from, to));
            }
        }
        ann.send(Verb::BROADCAST, "ALL", "marker").await;
        expect_none_until_marker(&mut cy, "marker", |m| m.verb == Verb::PRIVATE_MESSAGE).await;
        server.shutdown("test over").await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_declined_invitation_is_relayed_to_the_inviter() {
    // Seed step 7 ("E, refused your request to chat"): CHAT_DECLINE removes the invitation and is
    // relayed to the inviter; both stay available.
    for net in NETS {
        let server = start_server(Storage::Memory).await;
        let mut ann = Peer::join(&server, net, "ann").await;
        let mut cy = Peer::join(&server, net, "cy").await;
        let mut eve = Peer::join(&server, net, "eve").await;
        cy.send(Verb::CHAT_INVITE, "eve", "").await;
        expect_from(&mut eve, Verb::CHAT_INVITE, "cy").await;
        eve.send(Verb::CHAT_DECLINE, "cy", "busy").await;
        let declined = expect_from(&mut cy, Verb::CHAT_DECLINE, "eve").await;
        assert_eq!(
            (declined.to.as_str(), declined.text.as_str()),
            ("cy", "busy")
        );
        assert_eq!(
            who(&mut ann).await,
            "ann\tavailable\ncy\tavailable\neve\tavailable"
        );
        // The invitation is gone: it can be neither accepted nor declined again.
        eve.send(Verb::CHAT_ACCEPT, "cy", "").await;
        eve.expect_error("invitation").await;
        eve.send(Verb::CHAT_DECLINE, "cy", "").await;
        eve.expect_error("invitation").await;
        // Without a reason the decline is relayed just the same; then cy may ask someone else.
        cy.send(Verb::CHAT_INVITE, "ann", "").await;
        expect_from(&mut ann, Verb::CHAT_INVITE, "cy").await;
        ann.send(Verb::CHAT_DECLINE, "cy", "").await;
        let declined = expect_from(&mut cy, Verb::CHAT_DECLINE, "ann").await;
        assert_eq!(declined.text, "");
        server.shutdown("test over").await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn inviting_a_busy_user_is_refused_with_the_reason() {
    // Seed steps 6 and 7 (busy users are "Unavailable"): ERROR `B is chatting with C` when the
    // invitee is in a chat, ERROR when the inviter is, and the invitee is not disturbed.
    for net in NETS {
        let server = start_server(Storage::Memory).await;
        let mut ann = Peer::join(&server, net, "ann").await;
        let mut bob = Peer::join(&server, net, "bob").await;
        let mut cy = Peer::join(&server, net, "cy").await;
        start_chat(&mut ann, &mut bob).await;
        cy.send(Verb::CHAT_INVITE, "ann", "").await;
        cy.expect_error("ann is chatting with bob").await;
        cy.send(Verb::CHAT_INVITE, "bob", "").await;
        cy.expect_error("bob is chatting with ann").await;
        // Nor may someone in a chat invite another.
        ann.send(Verb::CHAT_INVITE, "cy", "").await;
        let error = ann.expect_verb(Verb::ERROR).await;
        assert!(
            error.text.contains("chatting with bob"),
            "the reason: {:?}",
            error.text
        );
        // So nobody was invited, and the chat goes on.
        cy.send(Verb::BROADCAST, "ALL", "marker").await;
        for peer in [&mut ann, &mut bob, &mut cy] {
            expect_none_until_marker(peer, "marker", |m| m.verb == Verb::CHAT_INVITE).await;
        }
        assert_eq!(
            who(&mut cy).await,
            "ann\tchatting with bob\nbob\tchatting with ann\ncy\tavailable"
        );
        server.shutdown("test over").await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ending_a_chat_makes_both_available_again() {
    // Seed step 10 ("quit" returns both to the menu): CHAT_END from either party ends the chat and
    // is relayed to the other: both available again.
    for net in NETS {
        let server = start_server(Storage::Memory).await;
        let mut ann = Peer::join(&server, net, "ann").await;
        let mut bob = Peer::join(&server, net, "bob").await;
        let mut cy = Peer::join(&server, net, "cy").await;
        start_chat(&mut ann, &mut bob).await;
        bob.send(Verb::CHAT_END, "ann", "").await;
        let end = expect_from(&mut ann, Verb::CHAT_END, "bob").await;
        assert_eq!(end.to.as_str(), "ann");
        assert_eq!(
            who(&mut cy).await,
            "ann\tavailable\nbob\tavailable\ncy\tavailable"
        );
        // Over: neither can end it again.
        for peer in [&mut ann, &mut bob] {
            peer.send(Verb::CHAT_END, "ann", "").await;
            peer.expect_error("chat").await;
        }
        // Free to chat with others now; and the inviter can end a chat too.
        start_chat(&mut cy, &mut ann).await;
        cy.send(Verb::CHAT_END, "ann", "").await;
        expect_from(&mut ann, Verb::CHAT_END, "cy").await;
        assert_eq!(
            who(&mut bob).await,
            "ann\tavailable\nbob\tavailable\ncy\tavailable"
        );
        server.shutdown("test over").await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_user_who_disconnects_ends_the_chat_and_the_partner_is_told() {
    // Seed step 12; R-8.11 (a user who logs out leaves any chat and invitation), R-8.15: the partner gets
    // CHAT_END and the QUIT notice, and is available again. Over TCP also a client that crashes (its
    // connection drops without QUIT); over UDP that is noticed only after the dead-peer limit.
    for net in NETS {
        let server = start_server(Storage::Memory).await;
        let mut ann = Peer::join(&server, net, "ann").await;
        let mut bob = Peer::join(&server, net, "bob").await;
        let mut cy = Peer::join(&server, net, "cy").await;
        start_chat(&mut ann, &mut bob).await;
        bob.send(Verb::QUIT, "ALL", "bob has disconnected.").await;
        let end = expect_from(&mut ann, Verb::CHAT_END, "bob").await;
        assert_eq!(end.to.as_str(), "ann");
        ann.expect_text(Verb::QUIT, "bob has disconnected.").await;
        assert_eq!(who(&mut cy).await, "ann\tavailable\ncy\tavailable");
        // A pending invitation goes with its inviter too.
        let mut dan = Peer::join(&server, net, "dan").await;
        dan.send(Verb::CHAT_INVITE, "cy", "").await;
        expect_from(&mut cy, Verb::CHAT_INVITE, "dan").await;
        dan.send(Verb::QUIT, "ALL", "dan has disconnected.").await;
        cy.expect_text(Verb::QUIT, "dan has disconnected.").await;
        cy.send(Verb::CHAT_ACCEPT, "dan", "").await;
        cy.expect_verb(Verb::ERROR).await;
        // And one to a user who leaves: back again, there is nothing to accept.
        let mut eve = Peer::join(&server, net, "eve").await;
        ann.send(Verb::CHAT_INVITE, "eve", "").await;
        expect_from(&mut eve, Verb::CHAT_INVITE, "ann").await;
        eve.send(Verb::QUIT, "ALL", "eve has disconnected.").await;
        ann.expect_text(Verb::QUIT, "eve has disconnected.").await;
        let mut eve = Peer::join(&server, net, "eve").await;
        eve.send(Verb::CHAT_ACCEPT, "ann", "").await;
        eve.expect_verb(Verb::ERROR).await;
        eve.send(Verb::QUIT, "ALL", "eve has disconnected.").await;
        ann.expect_text(Verb::QUIT, "eve has disconnected.").await;
        if net == Net::Tcp {
            // A crash: the connection drops without QUIT.
            start_chat(&mut cy, &mut ann).await;
            drop(cy);
            let end = expect_from(&mut ann, Verb::CHAT_END, "cy").await;
            assert_eq!(end.to.as_str(), "ann");
            ann.expect_text(Verb::QUIT, "cy has disconnected.").await;
            assert_eq!(who(&mut ann).await, "ann\tavailable");
        }
        server.shutdown("test over").await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn accept_decline_or_end_without_an_invitation_or_chat_is_an_error() {
    // without a pending invitation (or a chat, for CHAT_END) these verbs get ERROR and nothing is
    // relayed.
    for net in NETS {
        let server = start_server(Storage::Memory).await;
        let mut ann = Peer::join(&server, net, "ann").await;
        let mut bob = Peer::join(&server, net, "bob").await;
        let mut cy = Peer::join(&server, net, "cy").await;
        bob.send(Verb::CHAT_ACCEPT, "ann", "").await;
        bob.expect_error("invitation").await;
        bob.send(Verb::CHAT_DECLINE, "ann", "no").await;
        bob.expect_error("invitation").await;
        bob.send(Verb::CHAT_END, "ann", "").await;
        bob.expect_verb(Verb::ERROR).await;
        // An invitation to someone else is not one to bob; nor does the inviter accept their own.
        ann.send(Verb::CHAT_INVITE, "cy", "").await;
        expect_from(&mut cy, Verb::CHAT_INVITE, "ann").await;
        bob.send(Verb::CHAT_ACCEPT, "ann", "").await;
        bob.expect_error("invitation").await;
        ann.send(Verb::CHAT_ACCEPT, "cy", "").await;
        ann.expect_error("invitation").await;
        bob.send(Verb::BROADCAST, "ALL", "marker").await;
        expect_none_until_marker(&mut ann, "marker", chat_verb).await;
        expect_none_until_marker(&mut cy, "marker", chat_verb).await;
        assert_eq!(
            who(&mut bob).await,
            "ann\tavailable\nbob\tavailable\ncy\tavailable"
        );
        server.shutdown("test over").await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn inviting_yourself_is_an_error() {
    //
    for net in NETS {
        let server = start_server(Storage::Memory).await;
        let mut ann = Peer::join(&server, net, "ann").await;
        let mut bob = Peer::join(&server, net, "bob").await;
        ann.send(Verb::CHAT_INVITE, "ann", "").await;
        ann.expect_verb(Verb::ERROR).await;
        ann.send(Verb::BROADCAST, "ALL", "marker").await;
        expect_none_until_marker(&mut ann, "marker", chat_verb).await;
        assert_eq!(who(&mut bob).await, "ann\tavailable\nbob\tavailable");
        server.shutdown("test over").await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn inviting_an_offline_user_is_an_error() {
    // someone who never logged in, and someone who has left.
    for net in NETS {
        let server = start_server(Storage::Memory).await;
        let mut ann = Peer::join(&server, net, "ann").await;
        let mut bob = Peer::join(&server, net, "bob").await;
        ann.send(Verb::CHAT_INVITE, "nobody", "").await;
        ann.expect_error("nobody").await;
        bob.send(Verb::QUIT, "ALL", "bob has disconnected.").await;
        ann.expect_text(Verb::QUIT, "bob has disconnected.").await;
        ann.send(Verb::CHAT_INVITE, "bob", "").await;
        ann.expect_error("bob").await;
        assert_eq!(who(&mut ann).await, "ann\tavailable");
        server.shutdown("test over").await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_chat_client_invites_accepts_chats_and_ends() {
    // The real `chat-client`, scripted: seed steps 4 … 10 as a user types them.
    for net in NETS {
        let server = start_server(Storage::Memory).await;
        let mut ann = ClientProcess::join(&server, net, "ann").await;
        let mut bob = ClientProcess::join(&server, net, "bob").await;
        let mut cy = ClientProcess::join(&server, net, "cy").await;

        // Invite, accept, and both are told.
        bob.send_line("/chat ann got a minute?").await;
        ann.expect_line(
            "* bob invites you to chat: /accept bob or /decline bob (bob says: got a minute?)",
        )
        .await;
        ann.send_line("/accept bob").await;
        bob.expect_line("* ann accepted your invitation: you are chatting with ann")
            .await;
        ann.expect_line("* chatting with bob").await;
        cy.send_line("who").await;
        cy.expect_block(&[
            "* who is online:",
            "  ann  chatting with bob",
            "  bob  chatting with ann",
            "  cy  available",
        ])
        .await;

        // They talk.
        bob.send_line("ann:Hello mr A").await;
        ann.expect_line("[bob \u{2192} you] Hello mr A").await;
        ann.send_line("/w bob Hello mr B").await;
        bob.expect_line("[ann \u{2192} you] Hello mr B").await;

        // A busy user cannot be invited, and is not disturbed.
        cy.send_line("/chat ann").await;
        cy.expect_line("! error: ann is chatting with bob").await;
        let invited = |l: &str| l.contains("invites you to chat");
        ann.expect_no_line(Duration::from_millis(200), invited)
            .await;
        cy.send_line("all:marker").await;
        ann.expect_marker("[all] cy: marker", invited).await;

        // Either may end it.
        ann.send_line("/end").await;
        bob.expect_line("* ann ended the chat").await;
        cy.send_line("who").await;
        cy.expect_block(&[
            "* who is online:",
            "  ann  available",
            "  bob  available",
            "  cy  available",
        ])
        .await;

        // A declined invitation.
        cy.send_line("/chat bob").await;
        bob.expect_line("* cy invites you to chat: /accept cy or /decline cy")
            .await;
        bob.send_line("/decline cy busy").await;
        cy.expect_line("* bob declined your invitation: busy").await;

        // Accepting what nobody offered.
        bob.send_line("/accept cy").await;
        bob.expect_matching("an error about the invitation", |l| {
            l.starts_with("! error:") && l.contains("invitation")
        })
        .await;

        ann.finish_with(0).await;
        bob.finish_with(0).await;
        cy.expect_line("* ann has disconnected.").await;
        cy.expect_line("* bob has disconnected.").await;
        cy.finish_with(0).await;
        server.shutdown("test over").await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_chat_client_is_refused_a_name_in_use() {
    // Seed step 3 ("Username already in use"). A script cannot be asked for another name: the
    // client says why and exits 1 (and the first user is undisturbed).
    for net in NETS {
        let server = start_server(Storage::Memory).await;
        let mut ann = ClientProcess::join(&server, net, "ann").await;
        let mut impostor = ClientProcess::spawn(&server, net, "ann");
        impostor.expect_line("! error: ann is already taken").await;
        impostor.finish_with(1).await;
        impostor
            .expect_line("! the server refused the login as ann")
            .await;
        ann.send_line("who").await;
        ann.expect_block(&["* who is online:", "  ann  available"])
            .await;
        ann.finish_with(0).await;
        server.shutdown("test over").await;
    }
}
