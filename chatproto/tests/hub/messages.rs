//! §8.2 Messages and §8.3 Presence: ….

use super::*;

// BROADCAST goes, unchanged, to every online user, the sender included, and to nobody else.
#[test]
fn a_broadcast_reaches_every_online_user_including_the_sender() {
    let mut t = Harness::new();
    let ann = t.login("ann", V5);
    let bob = t.login("bob", V5);
    let old = t.login("old", V4);
    let stranger = t.connect(V5);
    let out = t.send(bob, Verb::BROADCAST, "bob", "ALL", "hello, all");
    let expected = shape(Verb::BROADCAST, "bob", "ALL", "hello, all");
    for client in [ann, bob, old] {
        assert_eq!(
            shapes_to(&out, client),
            std::slice::from_ref(&expected),
            "{client:?}"
        );
    }
    assert!(sent_to(&out, stranger).is_empty());
    assert_eq!(sends(&out).len(), 3);
}

// a private message to an online user goes to that user and back to the sender, nobody else.
#[test]
fn a_private_message_to_an_online_user_goes_to_them_and_the_sender() {
    let mut t = Harness::new();
    let ann = t.login("ann", V5);
    let bob = t.login("bob", V5);
    let cat = t.login("cat", V5);
    let out = t.send(ann, Verb::PRIVATE_MESSAGE, "ann", "bob", "just you");
    let expected = shape(Verb::PRIVATE_MESSAGE, "ann", "bob", "just you");
    assert_eq!(shapes_to(&out, bob), std::slice::from_ref(&expected));
    assert_eq!(shapes_to(&out, ann), [expected]);
    assert!(sent_to(&out, cat).is_empty());
}

// to a registered user who is offline, a private message is kept and delivered at their
// next login, after the LOGIN notice, in the order sent, and only once.
#[test]
fn a_private_message_to_an_offline_registered_user_is_delivered_at_their_next_login_in_order() {
    let mut t = Harness::new();
    let bob = t.register("bob", "pw");
    t.quit(bob, "bob");
    let ann = t.login("ann", V5);
    let cat = t.login("cat", V4);
    for (client, from, text) in [
        (ann, "ann", "one"),
        (cat, "cat", "two"),
        (ann, "ann", "three"),
    ] {
        let out = t.send(client, Verb::PRIVATE_MESSAGE, from, "bob", text);
        assert!(sends(&out).is_empty(), "kept, not refused: {out:?}");
    }
    let bob = t.connect(V5);
    let out = t.auth_as(bob, "bob", "pw");
    assert_eq!(
        shapes_to(&out, bob),
        [
            shape(Verb::LOGIN, "bob", "ALL", "bob has connected."),
            shape(Verb::PRIVATE_MESSAGE, "ann", "bob", "one"),
            shape(Verb::PRIVATE_MESSAGE, "cat", "bob", "two"),
            shape(Verb::PRIVATE_MESSAGE, "ann", "bob", "three"),
        ]
    );
    assert!(sent_to(&out, bob).iter().all(|m| m.dialect == V5));
    for client in [ann, cat] {
        assert_eq!(
            shapes_to(&out, client),
            [shape(Verb::LOGIN, "bob", "ALL", "bob has connected.")]
        );
    }
    // Once bob's session confirms them they are gone: not again at the login after.
    for sent in sends(&out).into_iter().filter(|s| s.to == bob) {
        if let Some(receipt) = sent.receipt {
            t.input(Input::Delivered(receipt));
        }
    }
    t.quit(bob, "bob");
    let bob = t.connect(V5);
    let out = t.auth_as(bob, "bob", "pw");
    assert_eq!(
        shapes_to(&out, bob),
        [shape(Verb::LOGIN, "bob", "ALL", "bob has connected.")]
    );
}

// a kept message whose delivery is cut short, the session ending before it confirms, comes again
// at the next login; one that was confirmed does not.
#[test]
fn a_kept_message_not_confirmed_before_the_session_ends_is_delivered_again() {
    let mut t = Harness::new();
    let bob = t.register("bob", "pw");
    t.quit(bob, "bob");
    let ann = t.login("ann", V5);
    for text in ["one", "two"] {
        t.send(ann, Verb::PRIVATE_MESSAGE, "ann", "bob", text);
    }
    let bob = t.connect(V5);
    let out = t.auth_as(bob, "bob", "pw");
    let kept: Vec<Sent> = sends(&out)
        .into_iter()
        .filter(|s| s.to == bob && s.message.verb == Verb::PRIVATE_MESSAGE)
        .collect();
    assert_eq!(kept.len(), 2);
    // Only "one" is confirmed before the session breaks.
    let first = kept[0]
        .receipt
        .clone()
        .expect("a kept message carries a receipt");
    assert!(first.kept.is_some());
    t.input(Input::Delivered(first));
    t.disconnect(bob);
    let bob = t.connect(V5);
    let out = t.auth_as(bob, "bob", "pw");
    assert_eq!(
        shapes_to(&out, bob),
        [
            shape(Verb::LOGIN, "bob", "ALL", "bob has connected."),
            shape(Verb::PRIVATE_MESSAGE, "ann", "bob", "two"),
        ]
    );
}

// a legacy session confirms nothing it receives, so what is kept for a v4 user is handed
// over once and forgotten.
#[test]
fn a_kept_message_for_a_legacy_user_is_delivered_once() {
    let mut t = Harness::new();
    let old = t.connect(V4);
    t.register_as(old, "old", "pw");
    t.quit(old, "old");
    let ann = t.login("ann", V5);
    t.send(ann, Verb::PRIVATE_MESSAGE, "ann", "old", "hi");
    for expected in [1, 0] {
        let old = t.connect(V4);
        let out = t.auth_as(old, "old", "pw");
        let kept = shapes_to(&out, old)
            .into_iter()
            .filter(|s| s.0 == Verb::PRIVATE_MESSAGE)
            .count();
        assert_eq!(kept, expected);
        t.disconnect(old);
    }
}

// a message kept for a v4 user is delivered in v4.
#[test]
fn a_kept_private_message_is_delivered_in_the_recipients_dialect() {
    let mut t = Harness::new();
    let old = t.connect(V4);
    let out = t.register_as(old, "old", "pw");
    assert!(told_connected(&out, old, "old"));
    t.quit(old, "old");
    let ann = t.login("ann", V5);
    t.send(
        ann,
        Verb::PRIVATE_MESSAGE,
        "ann",
        "old",
        "while you were out",
    );
    let old = t.connect(V4);
    let out = t.auth_as(old, "old", "pw");
    let got = sent_to(&out, old);
    assert_eq!(
        got.iter().map(shape_of).collect::<Vec<_>>(),
        [
            shape(Verb::LOGIN, "old", "ALL", "old has connected."),
            shape(Verb::PRIVATE_MESSAGE, "ann", "old", "while you were out"),
        ]
    );
    assert!(got.iter().all(|m| m.dialect == V4));
}

// to anyone who is neither online nor registered, ERROR.
#[test]
fn a_private_message_to_an_unknown_user_is_refused() {
    let mut t = Harness::new();
    let ann = t.login("ann", V5);
    let guest = t.login("gus", V5);
    t.quit(guest, "gus");
    let bob = t.login("bob", V5);
    for nobody in ["nobody", "gus", "Bob", "ALL", "server"] {
        let out = t.send(ann, Verb::PRIVATE_MESSAGE, "ann", nobody, "hello?");
        assert_refused(&out, ann);
    }
    // Nothing was kept for the guest who left.
    let gus = t.connect(V5);
    let out = t.login_as(gus, "gus");
    assert_eq!(
        shapes_to(&out, gus),
        [shape(Verb::LOGIN, "gus", "ALL", "gus has connected.")]
    );
    assert!(told_connected(&out, bob, "gus"));
}

// after login, a packet whose from_name is not the session's name gets ERROR and nothing in it is
// acted on.
#[test]
fn a_packet_from_another_name_is_refused_and_nothing_is_relayed() {
    let mut t = Harness::new();
    let ann = t.login("ann", V5);
    let bob = t.login("bob", V5);
    let cat = t.login("cat", V5);
    let forged: &[(Verb, &str, &str)] = &[
        (Verb::BROADCAST, "ALL", "bob says hi"),
        (Verb::PRIVATE_MESSAGE, "cat", "from bob, honest"),
        (Verb::ROOM_MESSAGE, GENERAL, "bob here"),
        (Verb::ROOM_MESSAGE, "", "bob everywhere"),
        (Verb::ROOM_CREATE, "fake", ""),
        (Verb::ROOM_LEAVE, GENERAL, ""),
        (Verb::CHAT_INVITE, "cat", ""),
        (Verb::WHO, "server", ""),
        (Verb::HISTORY_REQUEST, "server", ""),
        (Verb::QUIT, "ALL", ""),
    ];
    for &(verb, to, text) in forged {
        let out = t.send(ann, verb, "bob", to, text);
        assert_refused(&out, ann);
    }
    // Also a name nobody has.
    let out = t.send(ann, Verb::BROADCAST, "zed", "ALL", "hi");
    assert_refused(&out, ann);
    // bob is still online and in General, no room was made, cat has no invitation, nothing is in history.
    assert_eq!(
        t.who(cat, "cat"),
        "ann\tavailable\nbob\tavailable\ncat\tavailable"
    );
    assert_eq!(t.rooms(cat, "cat"), [GENERAL]);
    assert_eq!(t.members(cat, "cat", GENERAL), ["ann", "bob", "cat"]);
    let out = t.send(cat, Verb::CHAT_ACCEPT, "cat", "bob", "");
    assert_refused(&out, cat);
    assert_eq!(
        t.history(cat, "cat", ""),
        [shape(Verb::HISTORY_REPLY, "server", "cat", "end 0")]
    );
    assert_eq!(
        t.history(bob, "bob", ""),
        [shape(Verb::HISTORY_REPLY, "server", "bob", "end 0")]
    );
}

// in v4, WHO is answered with the online names joined by ", ", in login order.
#[test]
fn who_in_v4_lists_online_names_comma_separated_in_login_order() {
    let mut t = Harness::new();
    let cat = t.login("cat", V5);
    let old = t.login("old", V4);
    let ann = t.register("ann", "pw");
    let out = t.send(old, Verb::WHO, "old", "ALL", "");
    assert_eq!(
        shapes_to(&out, old),
        [shape(Verb::WHO, "server", "old", "cat, old, ann")]
    );
    assert_eq!(sent_to(&out, old)[0].dialect, V4);
    assert_eq!(
        sends(&out).len(),
        1,
        "the answer goes to the requester only"
    );
    t.quit(cat, "cat");
    t.quit(ann, "ann");
    assert_eq!(
        t.who(old, "old"),
        "old",
        "registered users offline are not listed in v4"
    );
}

// in v5, one line per online user in login order, `available` or `chatting with X`, then
// every registered user who is offline.
#[test]
fn who_in_v5_lists_availability_then_registered_users_offline() {
    let mut t = Harness::new();
    let dan = t.register("dan", "pw");
    t.quit(dan, "dan");
    let eve = t.register("eve", "pw");
    let ann = t.login("ann", V5);
    let bob = t.login("bob", V5);
    let cat = t.login("cat", V5);
    let gus = t.login("gus", V5);
    t.quit(gus, "gus");
    let fay = t.register("fay", "pw");
    t.quit(fay, "fay");
    t.send(bob, Verb::CHAT_INVITE, "bob", "cat", "");
    t.send(cat, Verb::CHAT_ACCEPT, "cat", "bob", "");
    let out = t.send(ann, Verb::WHO, "ann", "server", "");
    assert_eq!(
        shapes_to(&out, ann),
        [shape(
            Verb::WHO,
            "server",
            "ann",
            "eve\tavailable\nann\tavailable\nbob\tchatting with cat\ncat\tchatting with bob\n\
             dan\toffline\nfay\toffline"
        )]
    );
    assert_eq!(sends(&out).len(), 1);
    let _ = eve;
}
