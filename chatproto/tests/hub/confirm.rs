//! Confirmation by the hub: every handled message is confirmed exactly once, ahead of the replies it caused
//! and after whatever it caused is stored — the store writes synchronously inside `handle`, and outputs
//! are carried out only after it returns (R-8.13, R-8.6, R-8.12, R-8.17).

use super::*;

// R-8.13, R-8.12: each numbered message, refused or not, before or after login, is confirmed exactly once,
// for its session and number, as the first thing the hub asks for (as the original server did, R-8.17).
#[test]
fn every_numbered_message_is_confirmed_once_ahead_of_everything_it_caused() {
    let mut t = Harness::new();
    let bob = t.register("bob", "pw");
    t.quit(bob, "bob");
    let ann = t.connect(V5);
    let cat = t.login("cat", V5);
    let old = t.login("old", V4);
    let steps: &[(ClientId, Verb, &str, &str, &str)] = &[
        (ann, Verb::BROADCAST, "ann", "ALL", "too early"),
        (ann, Verb::HELP, "", "server", ""),
        (ann, Verb::LOGIN, "ALL", "server", ""),
        (ann, Verb::AUTH, "bob", "server", "wrong"),
        (ann, Verb::REGISTER, "ann", "server", "pw"),
        (ann, Verb::BROADCAST, "ann", "ALL", "hello"),
        (ann, Verb::BROADCAST, "cat", "ALL", "forged"),
        (ann, Verb::PRIVATE_MESSAGE, "ann", "cat", "online"),
        (ann, Verb::PRIVATE_MESSAGE, "ann", "bob", "kept"),
        (ann, Verb::PRIVATE_MESSAGE, "ann", "nobody", "refused"),
        (ann, Verb::WHO, "ann", "server", ""),
        (ann, Verb::ROOM_CREATE, "ann", "lobby", ""),
        (ann, Verb::ROOM_CREATE, "ann", "lobby", ""),
        (ann, Verb::ROOM_JOIN, "ann", "lobby", ""),
        (ann, Verb::ROOM_MESSAGE, "ann", "lobby", "room"),
        (ann, Verb::ROOM_MESSAGE, "ann", "", "rooms"),
        (ann, Verb::ROOM_LIST, "ann", "server", ""),
        (ann, Verb::ROOM_MEMBERS, "ann", "lobby", ""),
        (ann, Verb::ROOM_LEAVE, "ann", "lobby", ""),
        (ann, Verb::CHAT_INVITE, "ann", "cat", ""),
        (cat, Verb::CHAT_ACCEPT, "cat", "ann", ""),
        (ann, Verb::CHAT_END, "ann", "cat", ""),
        (ann, Verb::CHAT_DECLINE, "ann", "cat", ""),
        (ann, Verb::HISTORY_REQUEST, "ann", "server", "5"),
        (ann, Verb::HISTORY_REQUEST, "ann", "server", "five"),
        (old, Verb::BROADCAST, "old", "ALL", "v4"),
        (ann, Verb::QUIT, "ann", "ALL", ""),
    ];
    for &(client, verb, from, to, text) in steps {
        let message = t.message(client, verb, from, to, text);
        let number = message.number;
        assert_ne!(number, 0);
        let out = t.receive(client, message);
        assert_eq!(
            confirms(&out),
            [(client, number)],
            "{verb} from {from}: {out:#?}"
        );
        assert_eq!(
            out.first(),
            Some(&Output::Confirm { client, number }),
            "{verb} from {from}: the confirmation comes before everything else it caused: {out:#?}"
        );
    }
}

// R-8.6, R-8.13: a private message kept for an offline user is stored (kept and in history) before it is
// confirmed; it causes nothing else.
#[test]
fn a_private_message_kept_offline_is_stored_before_it_is_confirmed() {
    let store = ProbeStore::default();
    let probe = store.probe.clone();
    let mut t = Harness::with(store, PlainTextForTests);
    let bob = t.register("bob", "pw");
    t.quit(bob, "bob");
    let ann = t.login("ann", V5);
    let writes_before = probe.writes().len();
    let message = t.message(ann, Verb::PRIVATE_MESSAGE, "ann", "bob", "for later");
    let number = message.number;
    let at = t.wall_ms;
    let out = t.receive(ann, message);
    assert_eq!(
        out,
        [Output::Confirm {
            client: ann,
            number
        }]
    );
    let mut writes = probe.writes()[writes_before..].to_vec();
    writes.sort_unstable();
    assert_eq!(writes, ["append_history", "keep_for"]);
    let stored = t.hub.store().history("bob", &[], 10).unwrap();
    assert_eq!(stored.len(), 1);
    assert_eq!(
        (
            stored[0].at_ms,
            stored[0].verb,
            stored[0].from.as_str(),
            stored[0].to.as_str(),
            stored[0].text.as_str()
        ),
        (at, Verb::PRIVATE_MESSAGE, "ann", "bob", "for later")
    );
}

// R-8.13: a broadcast and a private message to an online user are in history before they are confirmed,
// and the confirmation precedes the relays (outputs run only after the writes).
#[test]
fn relayed_messages_are_stored_before_they_are_confirmed() {
    let store = ProbeStore::default();
    let probe = store.probe.clone();
    let mut t = Harness::with(store, PlainTextForTests);
    let ann = t.login("ann", V5);
    t.login("bob", V5);
    for (verb, to, text) in [
        (Verb::BROADCAST, "ALL", "b"),
        (Verb::PRIVATE_MESSAGE, "bob", "p"),
        (Verb::ROOM_MESSAGE, GENERAL, "r"),
    ] {
        let before = probe.writes().len();
        let message = t.message(ann, verb, "ann", to, text);
        let number = message.number;
        let out = t.receive(ann, message);
        assert_eq!(probe.writes()[before..], ["append_history"], "{verb}");
        assert_eq!(sends(&out).len(), 2, "{verb}");
        assert_eq!(
            out.first(),
            Some(&Output::Confirm {
                client: ann,
                number
            })
        );
    }
}

// R-3.4, R-3.6: every message is confirmed, numbered 0 or not; a v4 session confirms its oldest waiting
// packet whatever the number, and a v5 session ignores a number it is not waiting on.
#[test]
fn a_message_numbered_zero_is_confirmed_too() {
    let mut t = Harness::new();
    let ann = t.login("ann", V5);
    let out = t.receive(
        ann,
        Message::new(Verb::BROADCAST, name("ann"), Name::ALL, "unnumbered"),
    );
    assert_eq!(sends(&out).len(), 1);
    assert_eq!(confirms(&out), [(ann, 0)]);
}

// R-8.13: when storing fails, the message is answered with ERROR and not relayed (it was never made
// durable); it is still confirmed once, like any refused request, so the sender does not resend it.
#[test]
fn a_message_that_cannot_be_stored_is_refused_and_not_relayed() {
    let store = ProbeStore::default();
    let probe = store.probe.clone();
    let mut t = Harness::with(store, PlainTextForTests);
    let ann = t.login("ann", V5);
    let bob = t.login("bob", V5);
    probe.fail_on(Some("append_history"));
    for (verb, to, text) in [
        (Verb::BROADCAST, "ALL", "b"),
        (Verb::PRIVATE_MESSAGE, "bob", "p"),
        (Verb::ROOM_MESSAGE, GENERAL, "r"),
    ] {
        let out = t.send(ann, verb, "ann", to, text);
        assert_refused(&out, ann);
        assert!(sent_to(&out, bob).is_empty());
        assert_eq!(confirms(&out).len(), 1);
    }
    probe.fail_on(None);
    let out = t.send(ann, Verb::BROADCAST, "ann", "ALL", "works again");
    assert_eq!(sends(&out).len(), 2);
}

// R-8.6, R-8.13: a private message for an offline user whose storing fails part-way must not be delivered
// later, since its sender was told it was refused.
#[test]
fn a_kept_message_that_fails_to_store_is_not_delivered_later() {
    let store = ProbeStore::default();
    let probe = store.probe.clone();
    let mut t = Harness::with(store, PlainTextForTests);
    let bob = t.register("bob", "pw");
    t.quit(bob, "bob");
    let ann = t.login("ann", V5);
    probe.fail_on(Some("append_history"));
    let out = t.send(ann, Verb::PRIVATE_MESSAGE, "ann", "bob", "half stored");
    assert_refused(&out, ann);
    probe.fail_on(None);
    let bob = t.connect(V5);
    let out = t.auth_as(bob, "bob", "pw");
    assert_eq!(
        shapes_to(&out, bob),
        [shape(Verb::LOGIN, "bob", "ALL", "bob has connected.")]
    );
}

// R-8.15, R-7.2: QUIT is a data packet like any other and must be confirmed; its confirmation has to come
// before the session is closed, or a driver that closes on Close never sends it.
#[test]
fn quit_is_confirmed_before_the_session_is_closed() {
    let mut t = Harness::new();
    let ann = t.login("ann", V5);
    let out = t.quit(ann, "ann");
    let confirm_at = out
        .iter()
        .position(|o| matches!(o, Output::Confirm { .. }))
        .expect("QUIT is confirmed");
    let close_at = out
        .iter()
        .position(|o| *o == Output::Close(ann))
        .expect("the session is closed");
    assert!(confirm_at < close_at, "{out:#?}");
}
