//! §8.7 Leaving: R-8.14 (HELP), R-8.15 (QUIT and lost sessions), R-8.16 (shutdown).

use super::*;

// HELP is answered with HELP from server listing the commands, before and after login.
#[test]
fn help_is_answered_with_the_commands_before_and_after_login() {
    let mut t = Harness::new();
    let ann = t.login("ann", V5);
    let stranger = t.connect(V5);
    let out = t.send(stranger, Verb::HELP, "", "server", "");
    let before = only_reply(&out, stranger, Verb::HELP);
    assert_eq!(before.from, Name::SERVER);
    assert_eq!(sends(&out).len(), 1);
    let out = t.send(ann, Verb::HELP, "ann", "server", "");
    let after = only_reply(&out, ann, Verb::HELP);
    assert_eq!((after.from, after.to), (Name::SERVER, name("ann")));
    assert_eq!(sends(&out).len(), 1);
    for help in [&before.text, &after.text] {
        assert!(
            help.lines().count() >= 5,
            "one command a line, several commands: {help:?}"
        );
    }
}

// QUIT sends the QUIT notice to every online user, the quitter included, then closes the session;
// the user is out of every room.
#[test]
fn quit_notifies_everyone_including_the_quitter_then_closes() {
    let mut t = Harness::new();
    let ann = t.login("ann", V5);
    let bob = t.login("bob", V5);
    let old = t.login("old", V4);
    let stranger = t.connect(V5);
    t.succeeds(ann, Verb::ROOM_CREATE, "ann", "lobby", "");
    t.succeeds(ann, Verb::ROOM_JOIN, "ann", "lobby", "");
    t.succeeds(bob, Verb::ROOM_JOIN, "bob", "lobby", "");
    let out = t.quit(ann, "ann");
    let notice = shape(Verb::QUIT, "ann", "ALL", "ann has disconnected.");
    for client in [ann, bob, old] {
        assert_eq!(
            shapes_to(&out, client),
            std::slice::from_ref(&notice),
            "{client:?}"
        );
    }
    assert_eq!(sent_to(&out, old)[0].dialect, V4);
    assert!(sent_to(&out, stranger).is_empty());
    assert_eq!(closes(&out), [ann]);
    let notice_at = out
        .iter()
        .position(|o| matches!(o, Output::Send { to, .. } if *to == ann))
        .unwrap();
    let close_at = out
        .iter()
        .position(|o| matches!(o, Output::Close(_)))
        .unwrap();
    assert!(notice_at < close_at, "the notice goes before the close");
    assert_eq!(t.who(bob, "bob"), "bob\tavailable\nold\tavailable");
    assert_eq!(t.members(bob, "bob", GENERAL), ["bob", "old"]);
    assert_eq!(t.members(bob, "bob", "lobby"), ["bob"]);
    // The name is offline: a private message to it (a guest) is refused.
    let out = t.send(bob, Verb::PRIVATE_MESSAGE, "bob", "ann", "still there?");
    assert_refused(&out, bob);
}

// a session that ends without QUIT takes its user offline: the others get the QUIT notice, and the
// user leaves every room and chat.
#[test]
fn a_lost_session_notifies_the_others_and_leaves_rooms_and_chats() {
    let mut t = Harness::new();
    let ann = t.login("ann", V5);
    let bob = t.login("bob", V5);
    let cat = t.login("cat", V4);
    t.succeeds(ann, Verb::ROOM_CREATE, "ann", "lobby", "");
    t.succeeds(ann, Verb::ROOM_JOIN, "ann", "lobby", "");
    t.send(ann, Verb::CHAT_INVITE, "ann", "bob", "");
    t.send(bob, Verb::CHAT_ACCEPT, "bob", "ann", "");
    let before = t.hub.connected();
    let out = t.disconnect(ann);
    assert_eq!(t.hub.connected(), before - 1);
    assert!(sent_to(&out, ann).is_empty(), "the session is gone");
    assert!(closes(&out).is_empty());
    let notice = shape(Verb::QUIT, "ann", "ALL", "ann has disconnected.");
    assert_eq!(shapes_to(&out, cat), std::slice::from_ref(&notice));
    let to_bob = shapes_to(&out, bob);
    assert_eq!(to_bob.len(), 2, "{to_bob:?}");
    assert!(to_bob.contains(&notice));
    assert!(to_bob
        .iter()
        .any(|s| (s.0, s.1.as_str(), s.2.as_str()) == (Verb::CHAT_END, "ann", "bob")));
    assert_eq!(t.who(bob, "bob"), "bob\tavailable\ncat\tavailable");
    assert!(t.members(bob, "bob", "lobby").is_empty());
    assert_eq!(t.members(bob, "bob", GENERAL), ["bob", "cat"]);
}

// a session that was never logged in leaves silently; one that quit is not announced twice.
#[test]
fn only_online_users_are_announced_and_only_once() {
    let mut t = Harness::new();
    let ann = t.login("ann", V5);
    let stranger = t.connect(V5);
    let out = t.disconnect(stranger);
    assert!(out.is_empty(), "{out:#?}");
    let bob = t.login("bob", V5);
    t.quit(bob, "bob");
    let out = t.disconnect(bob);
    assert!(out.is_empty(), "{out:#?}");
    assert_eq!(t.who(ann, "ann"), "ann\tavailable");
}

// on shutdown the server flushes its storage and sends SHUTDOWN from server to ALL, with the
// reason, to every session (logged in or not, in its dialect), each then closed.
#[test]
fn shutdown_flushes_then_tells_every_session_and_closes_it() {
    let store = ProbeStore::default();
    let probe = store.probe.clone();
    let mut t = Harness::with(store, PlainTextForTests);
    let ann = t.login("ann", V5);
    let old = t.login("old", V4);
    let stranger = t.connect(V5);
    assert!(!probe.writes().contains(&"flush"));
    let out = t.input(Input::Shutdown("maintenance at noon".to_owned()));
    assert!(probe.writes().contains(&"flush"), "storage is flushed");
    let notice = shape(Verb::SHUTDOWN, "server", "ALL", "maintenance at noon");
    for (client, dialect) in [(ann, V5), (old, V4), (stranger, V5)] {
        let got = sent_to(&out, client);
        assert_eq!(got.len(), 1, "{got:?}");
        assert_eq!(shape_of(&got[0]), notice);
        assert_eq!(got[0].dialect, dialect);
        let sent_at = out
            .iter()
            .position(|o| matches!(o, Output::Send { to, .. } if *to == client))
            .unwrap();
        let closed_at = out
            .iter()
            .position(|o| *o == Output::Close(client))
            .expect("every session is closed");
        assert!(sent_at < closed_at);
    }
    assert_eq!(closes(&out).len(), 3);
}
