//! §8.6 History: R-8.13 (and, no one reads another's private messages).

use super::*;

/// A HISTORY_REPLY as words it: from the original sender to the original recipient, text
/// `<ms since epoch> <verb name> <text>`.
fn entry(from: &str, to: &str, ms: u64, verb: &str, text: &str) -> Shape {
    shape(
        Verb::HISTORY_REPLY,
        from,
        to,
        &format!("{ms} {verb} {text}"),
    )
}

fn end(to: &str, count: usize) -> Shape {
    shape(Verb::HISTORY_REPLY, "server", to, &format!("end {count}"))
}

// a user sees broadcasts, messages to rooms they are in now, and private messages they sent
// or received, oldest first, ending with `end <count>`; never another user's private messages.
#[test]
fn history_shows_broadcasts_current_rooms_and_own_private_messages_only() {
    let mut t = Harness::new();
    let ann = t.login("ann", V5);
    let bob = t.login("bob", V5);
    let cat = t.login("cat", V5);
    for room in ["x", "y"] {
        t.succeeds(ann, Verb::ROOM_CREATE, "ann", room, "");
        t.succeeds(ann, Verb::ROOM_JOIN, "ann", room, "");
    }
    t.succeeds(bob, Verb::ROOM_JOIN, "bob", "x", "");
    let mut at = Vec::new();
    for (client, verb, from, to, text) in [
        (bob, Verb::BROADCAST, "bob", "ALL", "b1"),
        (bob, Verb::PRIVATE_MESSAGE, "bob", "ann", "p1"),
        (bob, Verb::PRIVATE_MESSAGE, "bob", "cat", "p2"),
        (ann, Verb::ROOM_MESSAGE, "ann", "x", "r1"),
        (ann, Verb::ROOM_MESSAGE, "ann", "y", "r2"),
        (cat, Verb::ROOM_MESSAGE, "cat", GENERAL, "g1"),
        (ann, Verb::PRIVATE_MESSAGE, "ann", "cat", "p3"),
    ] {
        at.push(t.wall_ms);
        t.send(client, verb, from, to, text);
    }
    t.succeeds(ann, Verb::ROOM_LEAVE, "ann", "y", "");

    let out = t.send(ann, Verb::HISTORY_REQUEST, "ann", "server", "");
    assert_eq!(
        shapes_to(&out, ann),
        [
            entry("bob", "ALL", at[0], "BROADCAST", "b1"),
            entry("bob", "ann", at[1], "PRIVATE_MESSAGE", "p1"),
            entry("ann", "x", at[3], "ROOM_MESSAGE", "r1"),
            entry("cat", GENERAL, at[5], "ROOM_MESSAGE", "g1"),
            entry("ann", "cat", at[6], "PRIVATE_MESSAGE", "p3"),
            end("ann", 5),
        ]
    );
    assert_eq!(sends(&out).len(), 6, "history goes to the requester only");
    assert_eq!(
        t.history(bob, "bob", ""),
        [
            entry("bob", "ALL", at[0], "BROADCAST", "b1"),
            entry("bob", "ann", at[1], "PRIVATE_MESSAGE", "p1"),
            entry("bob", "cat", at[2], "PRIVATE_MESSAGE", "p2"),
            entry("ann", "x", at[3], "ROOM_MESSAGE", "r1"),
            entry("cat", GENERAL, at[5], "ROOM_MESSAGE", "g1"),
            end("bob", 5),
        ]
    );
    assert_eq!(
        t.history(cat, "cat", ""),
        [
            entry("bob", "ALL", at[0], "BROADCAST", "b1"),
            entry("bob", "cat", at[2], "PRIVATE_MESSAGE", "p2"),
            entry("cat", GENERAL, at[5], "ROOM_MESSAGE", "g1"),
            entry("ann", "cat", at[6], "PRIVATE_MESSAGE", "p3"),
            end("cat", 4),
        ]
    );
    // A newcomer sees what went to the rooms they are in now, General included, but no one's private
    // messages.
    let dan = t.login("dan", V5);
    t.succeeds(dan, Verb::ROOM_JOIN, "dan", "y", "");
    assert_eq!(
        t.history(dan, "dan", "500"),
        [
            entry("bob", "ALL", at[0], "BROADCAST", "b1"),
            entry("ann", "y", at[4], "ROOM_MESSAGE", "r2"),
            entry("cat", GENERAL, at[5], "ROOM_MESSAGE", "g1"),
            end("dan", 3),
        ]
    );
}

// N defaults to 50 and is at most 500; the last N are sent, oldest first.
#[test]
fn history_gives_the_last_50_by_default_and_at_most_500() {
    // 600 messages at one instant are beyond the default rate limit.
    let mut t = Harness::without_rate_limit();
    let ann = t.login("ann", V5);
    let mut at = Vec::new();
    for i in 0..600 {
        at.push(t.wall_ms);
        t.send(ann, Verb::BROADCAST, "ann", "ALL", &format!("m{i}"));
    }
    let last = |n: usize| -> Vec<Shape> {
        let mut v: Vec<Shape> = (600 - n..600)
            .map(|i| entry("ann", "ALL", at[i], "BROADCAST", &format!("m{i}")))
            .collect();
        v.push(end("ann", n));
        v
    };
    assert_eq!(t.history(ann, "ann", ""), last(50));
    assert_eq!(t.history(ann, "ann", "3"), last(3));
    assert_eq!(t.history(ann, "ann", "500"), last(500));
    assert_eq!(t.history(ann, "ann", "501"), last(500));
    assert_eq!(t.history(ann, "ann", "100000"), last(500));
    assert_eq!(t.history(ann, "ann", "0"), last(0));
}

// with fewer messages than asked for, all of them, and the count says how many.
#[test]
fn history_with_fewer_messages_than_asked_sends_them_all() {
    let mut t = Harness::new();
    let ann = t.login("ann", V5);
    let at = t.wall_ms;
    t.send(ann, Verb::BROADCAST, "ann", "ALL", "only one");
    assert_eq!(
        t.history(ann, "ann", "10"),
        [
            entry("ann", "ALL", at, "BROADCAST", "only one"),
            end("ann", 1)
        ]
    );
}

// a text that is not a number gets ERROR, and no history.
#[test]
fn history_with_a_text_that_is_not_a_number_is_refused() {
    let mut t = Harness::new();
    let ann = t.login("ann", V5);
    t.send(ann, Verb::BROADCAST, "ann", "ALL", "something to see");
    for bad in ["abc", "-1", "1.5", "ten", "5 messages", "0x10"] {
        let out = t.send(ann, Verb::HISTORY_REQUEST, "ann", "server", bad);
        assert_refused(&out, ann);
    }
}

// a private message kept for an offline user is in the history of its sender and, once
// they are back, its recipient; nobody else's.
#[test]
fn a_kept_private_message_is_in_the_history_of_both_parties_only() {
    let mut t = Harness::new();
    let bob = t.register("bob", "pw");
    t.quit(bob, "bob");
    let ann = t.login("ann", V5);
    let cat = t.login("cat", V5);
    let at = t.wall_ms;
    t.send(ann, Verb::PRIVATE_MESSAGE, "ann", "bob", "kept");
    let kept = entry("ann", "bob", at, "PRIVATE_MESSAGE", "kept");
    assert_eq!(t.history(ann, "ann", ""), [kept.clone(), end("ann", 1)]);
    assert_eq!(t.history(cat, "cat", ""), [end("cat", 0)]);
    let bob = t.connect(V5);
    t.auth_as(bob, "bob", "pw");
    assert_eq!(t.history(bob, "bob", ""), [kept, end("bob", 1)]);
}

// history replies go to a v5 requester; a v4 session is never sent HISTORY_REPLY
// (verb 28), even if it asks.
#[test]
fn history_is_not_sent_to_a_legacy_session() {
    let mut t = Harness::new();
    let old = t.login("old", V4);
    let ann = t.login("ann", V5);
    t.send(ann, Verb::BROADCAST, "ann", "ALL", "hi");
    let out = t.send(old, Verb::HISTORY_REQUEST, "old", "server", "");
    assert!(
        sent_to(&out, old)
            .iter()
            .all(|m| m.verb.to_u32() <= 8 && m.dialect == V4),
        "{out:#?}"
    );
}
