//! §8.6 Receipts.

use super::*;

fn receipt(sender: &str, recipient: &str, number: u32) -> Receipt {
    Receipt {
        sender: name(sender),
        recipient: name(recipient),
        number,
        kept: None,
    }
}

// a v5 sender's numbered private message goes to the recipient with a receipt; once delivered,
// the sender gets DELIVERED from the recipient, text `<number> <ms since epoch>`.
#[test]
fn a_delivered_private_message_earns_its_v5_sender_a_delivered() {
    let mut t = Harness::new();
    let ann = t.login("ann", V5);
    let bob = t.login("bob", V5);
    let cat = t.login("cat", V5);
    let message = t.message(
        ann,
        Verb::PRIVATE_MESSAGE,
        "ann",
        "bob",
        "did you get this?",
    );
    let number = message.number;
    assert_ne!(number, 0);
    let out = t.receive(ann, message);
    let sent = sends(&out);
    let to_bob: Vec<&Sent> = sent.iter().filter(|s| s.to == bob).collect();
    assert_eq!(to_bob.len(), 1);
    assert_eq!(to_bob[0].receipt, Some(receipt("ann", "bob", number)));
    let to_ann: Vec<&Sent> = sent.iter().filter(|s| s.to == ann).collect();
    assert_eq!(to_ann.len(), 1);
    assert_eq!(
        to_ann[0].receipt, None,
        "the sender's own copy earns nothing"
    );

    t.wall_ms = 1_712_345_678_901;
    let out = t.input(Input::Delivered(receipt("ann", "bob", number)));
    assert_eq!(
        shapes_to(&out, ann),
        [shape(
            Verb::DELIVERED,
            "bob",
            "ann",
            &format!("{number} 1712345678901")
        )]
    );
    assert_eq!(sent_to(&out, ann)[0].dialect, V5);
    assert!(sent_to(&out, bob).is_empty() && sent_to(&out, cat).is_empty());
}

// a room message earns a receipt from every member but the sender.
#[test]
fn a_room_message_carries_a_receipt_for_every_other_member() {
    let mut t = Harness::new();
    let ann = t.login("ann", V5);
    let bob = t.login("bob", V5);
    let cat = t.login("cat", V5);
    t.succeeds(ann, Verb::ROOM_CREATE, "ann", "lobby", "");
    t.succeeds(ann, Verb::ROOM_JOIN, "ann", "lobby", "");
    t.succeeds(bob, Verb::ROOM_JOIN, "bob", "lobby", "");
    t.succeeds(cat, Verb::ROOM_JOIN, "cat", "lobby", "");
    let message = t.message(ann, Verb::ROOM_MESSAGE, "ann", "lobby", "roll call");
    let number = message.number;
    let out = t.receive(ann, message);
    let receipts: Vec<(ClientId, Option<Receipt>)> =
        sends(&out).into_iter().map(|s| (s.to, s.receipt)).collect();
    assert_eq!(receipts.len(), 3);
    assert!(receipts.contains(&(ann, None)));
    assert!(receipts.contains(&(bob, Some(receipt("ann", "bob", number)))));
    assert!(receipts.contains(&(cat, Some(receipt("ann", "cat", number)))));

    t.wall_ms = 1_700_000_123_456;
    let out = t.input(Input::Delivered(receipt("ann", "cat", number)));
    assert_eq!(
        shapes_to(&out, ann),
        [shape(
            Verb::DELIVERED,
            "cat",
            "ann",
            &format!("{number} 1700000123456")
        )]
    );
    assert_eq!(sends(&out).len(), 1);
}

// only v5 senders get DELIVERED; a v4 sender's messages carry no receipt, and a receipt naming a
// v4 sender produces nothing.
#[test]
fn a_legacy_sender_gets_no_delivered() {
    let mut t = Harness::new();
    let old = t.login("old", V4);
    let bob = t.login("bob", V5);
    let out = t.send(old, Verb::PRIVATE_MESSAGE, "old", "bob", "hi bob");
    assert_eq!(sent_to(&out, bob).len(), 1);
    assert!(sends(&out).iter().all(|s| s.receipt.is_none()), "{out:#?}");
    let out = t.input(Input::Delivered(receipt("old", "bob", 1)));
    assert!(out.is_empty(), "{out:#?}");
}

// the packet number quoted is the one the sender gave the message (its last packet's).
#[test]
fn delivered_quotes_the_senders_own_packet_number() {
    let mut t = Harness::new();
    let ann = t.login("ann", V5);
    let bob = t.login("bob", V5);
    let mut message = Message::new(
        Verb::PRIVATE_MESSAGE,
        name("ann"),
        name("bob"),
        "fragmented, last packet 4242",
    );
    message.number = 4242;
    let out = t.receive(ann, message);
    let to_bob: Vec<Sent> = sends(&out).into_iter().filter(|s| s.to == bob).collect();
    assert_eq!(to_bob[0].receipt, Some(receipt("ann", "bob", 4242)));
    t.wall_ms = 5;
    let out = t.input(Input::Delivered(receipt("ann", "bob", 4242)));
    assert_eq!(
        shapes_to(&out, ann),
        [shape(Verb::DELIVERED, "bob", "ann", "4242 5")]
    );
}

// a receipt for a sender who has gone offline produces nothing.
#[test]
fn a_receipt_for_a_sender_who_has_left_produces_nothing() {
    let mut t = Harness::new();
    let ann = t.login("ann", V5);
    let bob = t.login("bob", V5);
    let message = t.message(ann, Verb::PRIVATE_MESSAGE, "ann", "bob", "bye");
    let number = message.number;
    t.receive(ann, message);
    t.quit(ann, "ann");
    let out = t.input(Input::Delivered(receipt("ann", "bob", number)));
    assert!(out.is_empty(), "{out:#?}");
    assert!(sent_to(&out, bob).is_empty());
}

// a private message kept for an offline user is relayed at their login; when their session
// confirms it, its v5 sender is owed DELIVERED like for any relayed private message.
#[test]
fn a_kept_private_message_carries_a_receipt_when_delivered_at_login() {
    let mut t = Harness::new();
    let bob = t.register("bob", "pw");
    t.quit(bob, "bob");
    let ann = t.login("ann", V5);
    let message = t.message(ann, Verb::PRIVATE_MESSAGE, "ann", "bob", "later");
    let number = message.number;
    t.receive(ann, message);
    let bob = t.connect(V5);
    let out = t.auth_as(bob, "bob", "pw");
    let kept: Vec<Sent> = sends(&out)
        .into_iter()
        .filter(|s| s.to == bob && s.message.verb == Verb::PRIVATE_MESSAGE)
        .collect();
    assert_eq!(kept.len(), 1);
    let got = kept[0].receipt.clone().expect("a receipt");
    assert!(got.kept.is_some(), "it names the kept message (R-8.6)");
    assert_eq!(
        Receipt {
            kept: None,
            ..got.clone()
        },
        receipt("ann", "bob", number)
    );
    let out = t.input(Input::Delivered(got));
    assert_eq!(shapes_to(&out, ann).len(), 1, "DELIVERED to ann: {out:?}");
}
