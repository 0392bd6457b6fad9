//! §8.8 Legacy clients.

use super::*;

// a v4 client logs in with LOGIN to ALL and the text `<name> has connected.`, and hears notices
// in v4.
#[test]
fn a_legacy_client_logs_in_with_login_and_the_connected_text() {
    let mut t = Harness::new();
    let ann = t.login("ann", V5);
    let old = t.connect(V4);
    let out = t.send(old, Verb::LOGIN, "old", "ALL", "old has connected.");
    let got = sent_to(&out, old);
    assert_eq!(
        got.iter().map(shape_of).collect::<Vec<_>>(),
        [shape(Verb::LOGIN, "old", "ALL", "old has connected.")]
    );
    assert_eq!(got[0].dialect, V4);
    let to_ann = sent_to(&out, ann);
    assert_eq!(shape_of(&to_ann[0]), shape_of(&got[0]));
    assert_eq!(to_ann[0].dialect, V5);
}

// a room message reaches a v4 member as BROADCAST from the sender with text
// `[<room>] <text>`; v5 members get the ROOM_MESSAGE.
#[test]
fn a_room_message_reaches_a_legacy_member_as_a_marked_broadcast() {
    let mut t = Harness::new();
    let ann = t.login("ann", V5);
    let old = t.login("old", V4);
    let out = t.send(ann, Verb::ROOM_MESSAGE, "ann", GENERAL, "hello room");
    let got = sent_to(&out, old);
    assert_eq!(
        got.iter().map(shape_of).collect::<Vec<_>>(),
        [shape(Verb::BROADCAST, "ann", "ALL", "[General] hello room")]
    );
    assert_eq!(got[0].dialect, V4);
    assert_eq!(
        shapes_to(&out, ann),
        [shape(Verb::ROOM_MESSAGE, "ann", GENERAL, "hello room")]
    );
    // Sent to every room of the sender, one marked broadcast per shared room.
    t.succeeds(ann, Verb::ROOM_CREATE, "ann", "lobby", "");
    t.succeeds(ann, Verb::ROOM_JOIN, "ann", "lobby", "");
    let out = t.send(ann, Verb::ROOM_MESSAGE, "ann", "", "all my rooms");
    assert_eq!(
        shapes_to(&out, old),
        [shape(
            Verb::BROADCAST,
            "ann",
            "ALL",
            "[General] all my rooms"
        )]
    );
}

// v4 and v5 users share one server, and every relay is in its recipient's dialect.
#[test]
fn relayed_messages_are_in_the_recipients_dialect() {
    let mut t = Harness::new();
    let ann = t.login("ann", V5);
    let old = t.login("old", V4);
    let out = t.send(old, Verb::BROADCAST, "old", "ALL", "from the past");
    for (client, dialect) in [(ann, V5), (old, V4)] {
        let got = sent_to(&out, client);
        assert_eq!(
            got.iter().map(shape_of).collect::<Vec<_>>(),
            [shape(Verb::BROADCAST, "old", "ALL", "from the past")]
        );
        assert_eq!(got[0].dialect, dialect);
    }
    let out = t.send(ann, Verb::PRIVATE_MESSAGE, "ann", "old", "to the past");
    for (client, dialect) in [(ann, V5), (old, V4)] {
        let got = sent_to(&out, client);
        assert_eq!(
            got.iter().map(shape_of).collect::<Vec<_>>(),
            [shape(Verb::PRIVATE_MESSAGE, "ann", "old", "to the past")]
        );
        assert_eq!(got[0].dialect, dialect);
    }
    let out = t.send(old, Verb::PRIVATE_MESSAGE, "old", "ann", "reply");
    assert!(sends(&out)
        .iter()
        .all(|s| s.message.dialect == if s.to == ann { V5 } else { V4 }));
    assert_eq!(sends(&out).len(), 2);
}

// verbs 16 and up are never sent to a v4 session, whatever happens on the server.
#[test]
fn a_legacy_session_is_never_sent_a_verb_it_does_not_know() {
    let mut t = Harness::new();
    let mut all = Vec::new();
    let old = t.connect(V4);
    all.extend(t.send(old, Verb::HELP, "", "server", ""));
    all.extend(t.register_as(old, "old", "pw"));
    let ann = t.register("ann", "pw");
    let bob = t.login("bob", V5);
    let mut step = |t: &mut Harness, c, v, f: &str, to: &str, x: &str| {
        let out = t.send(c, v, f, to, x);
        all.extend(out);
    };
    step(&mut t, ann, Verb::ROOM_CREATE, "ann", "lobby", "");
    step(&mut t, ann, Verb::ROOM_JOIN, "ann", "lobby", "");
    step(&mut t, old, Verb::ROOM_JOIN, "old", "lobby", "");
    step(&mut t, old, Verb::ROOM_LIST, "old", "server", "");
    step(&mut t, old, Verb::ROOM_MEMBERS, "old", GENERAL, "");
    step(&mut t, old, Verb::HISTORY_REQUEST, "old", "server", "");
    step(&mut t, old, Verb::HELP, "old", "server", "");
    step(&mut t, old, Verb::WHO, "old", "ALL", "");
    step(
        &mut t,
        ann,
        Verb::ROOM_MESSAGE,
        "ann",
        "lobby",
        "in the lobby",
    );
    step(&mut t, ann, Verb::ROOM_MESSAGE, "ann", "", "everywhere");
    step(&mut t, ann, Verb::BROADCAST, "ann", "ALL", "hi all");
    step(&mut t, ann, Verb::PRIVATE_MESSAGE, "ann", "old", "hi old");
    step(&mut t, ann, Verb::CHAT_INVITE, "ann", "old", "");
    step(&mut t, ann, Verb::CHAT_INVITE, "ann", "bob", "");
    step(&mut t, bob, Verb::CHAT_ACCEPT, "bob", "ann", "");
    step(&mut t, ann, Verb::CHAT_END, "ann", "bob", "");
    step(&mut t, bob, Verb::WHO, "bob", "server", "");
    step(&mut t, old, Verb::ROOM_LEAVE, "old", GENERAL, "");
    step(&mut t, old, Verb::ROOM_JOIN, "old", GENERAL, "");
    step(&mut t, old, Verb::PRIVATE_MESSAGE, "old", "nobody", "?");
    all.extend(t.input(Input::Delivered(Receipt {
        sender: name("old"),
        recipient: name("ann"),
        number: 1,
        kept: None,
    })));
    all.extend(t.quit(bob, "bob"));
    all.extend(t.disconnect(ann));
    all.extend(t.input(Input::Shutdown("bye".to_owned())));
    let to_old = sent_to(&all, old);
    assert!(to_old.len() >= 8, "the scenario reached old: {to_old:#?}");
    for message in &to_old {
        assert!(
            message.verb.to_u32() <= 8,
            "sent to a v4 session: {message:?}"
        );
        assert_eq!(message.dialect, V4, "{message:?}");
    }
}

// v4 packet numbers carry no meaning, and the server confirms every v4 packet, so a
// v4 packet numbered 0 is confirmed like one numbered 1.
#[test]
fn a_legacy_packet_is_confirmed_whatever_its_number() {
    let mut t = Harness::new();
    let old = t.login("old", V4);
    let mut message = t.message(old, Verb::BROADCAST, "old", "ALL", "numbered zero");
    message.number = 0;
    let out = t.receive(old, message);
    assert_eq!(confirms(&out).len(), 1, "{out:#?}");
    assert_eq!(confirms(&out)[0].0, old);
}

// text from a v4 client may hold NULs; v4 users get it as sent, v5 users without them.
#[test]
fn interior_nuls_reach_v4_users_as_sent_and_v5_users_without_them() {
    let mut t = Harness::new();
    let old = t.login("old", V4);
    let other = t.login("other", V4);
    let ann = t.login("ann", V5);
    let out = t.send(old, Verb::BROADCAST, "old", "ALL", "a\0b");
    for client in [old, other] {
        assert_eq!(
            shapes_to(&out, client),
            [shape(Verb::BROADCAST, "old", "ALL", "a\0b")]
        );
    }
    assert_eq!(
        shapes_to(&out, ann),
        [shape(Verb::BROADCAST, "old", "ALL", "ab")]
    );
}
