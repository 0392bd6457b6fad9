//! §8.4 Rooms.

use super::*;

// there is always a room General, which every user joins on login.
#[test]
fn general_always_exists_and_every_user_joins_it_on_login() {
    let mut t = Harness::new();
    let ann = t.login("ann", V5);
    assert_eq!(t.rooms(ann, "ann"), [GENERAL]);
    assert_eq!(t.members(ann, "ann", GENERAL), ["ann"]);
    t.login("bob", V4);
    t.register("cat", "pw");
    assert_eq!(t.members(ann, "ann", GENERAL), ["ann", "bob", "cat"]);
}

// ROOM_CREATE creates the room, answered with ROOM_CREATE from server; the creator is not a member.
#[test]
fn room_create_creates_the_room_without_joining_it() {
    let mut t = Harness::new();
    let ann = t.login("ann", V5);
    let bob = t.login("bob", V5);
    let out = t.send(ann, Verb::ROOM_CREATE, "ann", "lobby", "");
    let reply = only_reply(&out, ann, Verb::ROOM_CREATE);
    assert_eq!(shape_of(&reply).1, "server");
    assert_eq!(reply.to.as_str(), "ann");
    assert!(!reply.text.is_empty(), "the text says what happened");
    assert!(
        sent_to(&out, bob).is_empty(),
        "only the requester is answered"
    );
    assert_eq!(t.rooms(bob, "bob"), [GENERAL, "lobby"]);
    assert!(t.members(bob, "bob", "lobby").is_empty());
}

// ROOM_CREATE of a room that exists, or whose name is not valid as a user name, is refused.
#[test]
fn room_create_refuses_an_existing_room_and_bad_names() {
    let mut t = Harness::new();
    let ann = t.login("ann", V5);
    t.succeeds(ann, Verb::ROOM_CREATE, "ann", "lobby", "");
    for bad in [
        GENERAL,
        "lobby",
        "",
        "ALL",
        "all",
        "server",
        "Server",
        "a,b",
        "tab\there",
    ] {
        let out = t.send(ann, Verb::ROOM_CREATE, "ann", bad, "");
        assert_refused(&out, ann);
    }
    assert_eq!(t.rooms(ann, "ann"), [GENERAL, "lobby"]);
    // Names compare exactly: `general` is another room.
    t.succeeds(ann, Verb::ROOM_CREATE, "ann", "general", "");
    assert_eq!(t.rooms(ann, "ann"), [GENERAL, "lobby", "general"]);
}

// ROOM_JOIN joins, answered with ROOM_JOIN from server; no such room, or already a member: ERROR.
#[test]
fn room_join_joins_or_is_refused() {
    let mut t = Harness::new();
    let ann = t.login("ann", V5);
    let bob = t.login("bob", V5);
    t.succeeds(ann, Verb::ROOM_CREATE, "ann", "lobby", "");
    let out = t.send(bob, Verb::ROOM_JOIN, "bob", "lobby", "");
    let reply = only_reply(&out, bob, Verb::ROOM_JOIN);
    assert_eq!(reply.from, Name::SERVER);
    assert!(!reply.text.is_empty());
    assert!(sent_to(&out, ann).is_empty());
    assert_eq!(t.members(ann, "ann", "lobby"), ["bob"]);
    let out = t.send(bob, Verb::ROOM_JOIN, "bob", "lobby", "");
    assert_refused(&out, bob);
    let out = t.send(bob, Verb::ROOM_JOIN, "bob", GENERAL, "");
    assert_refused(&out, bob);
    let out = t.send(bob, Verb::ROOM_JOIN, "bob", "nowhere", "");
    assert_refused(&out, bob);
    let out = t.send(bob, Verb::ROOM_JOIN, "bob", "Lobby", "");
    assert_refused(&out, bob);
    assert_eq!(t.members(ann, "ann", "lobby"), ["bob"]);
}

// ROOM_LEAVE leaves, answered with ROOM_LEAVE from server; no such room, or not a member: ERROR.
#[test]
fn room_leave_leaves_or_is_refused() {
    let mut t = Harness::new();
    let ann = t.login("ann", V5);
    let bob = t.login("bob", V5);
    t.succeeds(ann, Verb::ROOM_CREATE, "ann", "lobby", "");
    let out = t.send(bob, Verb::ROOM_LEAVE, "bob", "lobby", "");
    assert_refused(&out, bob);
    let out = t.send(bob, Verb::ROOM_LEAVE, "bob", "nowhere", "");
    assert_refused(&out, bob);
    t.succeeds(bob, Verb::ROOM_JOIN, "bob", "lobby", "");
    let text = t.succeeds(bob, Verb::ROOM_LEAVE, "bob", "lobby", "");
    assert!(!text.is_empty());
    assert!(t.members(ann, "ann", "lobby").is_empty());
    let out = t.send(bob, Verb::ROOM_LEAVE, "bob", "lobby", "");
    assert_refused(&out, bob);
    // General can be left like any room, and the room stays.
    t.succeeds(bob, Verb::ROOM_LEAVE, "bob", GENERAL, "");
    assert_eq!(t.members(ann, "ann", GENERAL), ["ann"]);
    assert_eq!(t.rooms(ann, "ann"), [GENERAL, "lobby"]);
}

// ROOM_LIST lists the rooms in the order created, one per line.
#[test]
fn room_list_is_in_creation_order() {
    let mut t = Harness::new();
    let ann = t.login("ann", V5);
    let bob = t.login("bob", V5);
    for room in ["zeta", "alpha", "mid"] {
        t.succeeds(ann, Verb::ROOM_CREATE, "ann", room, "");
    }
    t.succeeds(bob, Verb::ROOM_CREATE, "bob", "beta", "");
    let out = t.send(bob, Verb::ROOM_LIST, "bob", "server", "");
    assert_eq!(
        shapes_to(&out, bob),
        [shape(
            Verb::ROOM_LIST,
            "server",
            "bob",
            "General\nzeta\nalpha\nmid\nbeta"
        )]
    );
    assert!(sent_to(&out, ann).is_empty());
}

// ROOM_MEMBERS lists the members in join order, or ERROR for no such room.
#[test]
fn room_members_are_in_join_order() {
    let mut t = Harness::new();
    let ann = t.login("ann", V5);
    let bob = t.login("bob", V5);
    let cat = t.login("cat", V5);
    t.succeeds(ann, Verb::ROOM_CREATE, "ann", "lobby", "");
    for (client, user) in [(cat, "cat"), (ann, "ann"), (bob, "bob")] {
        t.succeeds(client, Verb::ROOM_JOIN, user, "lobby", "");
    }
    let out = t.send(bob, Verb::ROOM_MEMBERS, "bob", "lobby", "");
    assert_eq!(
        shapes_to(&out, bob),
        [shape(Verb::ROOM_MEMBERS, "server", "bob", "cat\nann\nbob")]
    );
    // Leaving and joining again goes to the end.
    t.succeeds(cat, Verb::ROOM_LEAVE, "cat", "lobby", "");
    t.succeeds(cat, Verb::ROOM_JOIN, "cat", "lobby", "");
    assert_eq!(t.members(bob, "bob", "lobby"), ["ann", "bob", "cat"]);
    let out = t.send(bob, Verb::ROOM_MEMBERS, "bob", "nowhere", "");
    assert_refused(&out, bob);
}

// ROOM_MESSAGE reaches every member (to_name the room), the sender included, and nobody else.
#[test]
fn a_room_message_reaches_every_member_including_the_sender_and_nobody_else() {
    let mut t = Harness::new();
    let ann = t.login("ann", V5);
    let bob = t.login("bob", V5);
    let cat = t.login("cat", V5);
    t.succeeds(ann, Verb::ROOM_CREATE, "ann", "lobby", "");
    t.succeeds(ann, Verb::ROOM_JOIN, "ann", "lobby", "");
    t.succeeds(bob, Verb::ROOM_JOIN, "bob", "lobby", "");
    let out = t.send(ann, Verb::ROOM_MESSAGE, "ann", "lobby", "hi lobby");
    let expected = shape(Verb::ROOM_MESSAGE, "ann", "lobby", "hi lobby");
    assert_eq!(shapes_to(&out, ann), std::slice::from_ref(&expected));
    assert_eq!(shapes_to(&out, bob), [expected]);
    assert!(sent_to(&out, cat).is_empty());
    // After leaving, bob no longer gets it.
    t.succeeds(bob, Verb::ROOM_LEAVE, "bob", "lobby", "");
    let out = t.send(ann, Verb::ROOM_MESSAGE, "ann", "lobby", "again");
    assert_eq!(sends(&out).len(), 1);
    assert_eq!(
        shapes_to(&out, ann),
        [shape(Verb::ROOM_MESSAGE, "ann", "lobby", "again")]
    );
}

// ROOM_MESSAGE to a room the sender is not in, or that does not exist, gets ERROR.
#[test]
fn a_room_message_to_a_room_the_sender_is_not_in_or_that_does_not_exist_is_refused() {
    let mut t = Harness::new();
    let ann = t.login("ann", V5);
    let cat = t.login("cat", V5);
    t.succeeds(ann, Verb::ROOM_CREATE, "ann", "lobby", "");
    t.succeeds(ann, Verb::ROOM_JOIN, "ann", "lobby", "");
    let out = t.send(cat, Verb::ROOM_MESSAGE, "cat", "lobby", "let me in");
    assert_refused(&out, cat);
    let out = t.send(cat, Verb::ROOM_MESSAGE, "cat", "nowhere", "anyone?");
    assert_refused(&out, cat);
    t.succeeds(cat, Verb::ROOM_LEAVE, "cat", GENERAL, "");
    let out = t.send(cat, Verb::ROOM_MESSAGE, "cat", GENERAL, "still here?");
    assert_refused(&out, cat);
    // Nothing of it reached history.
    assert_eq!(
        t.history(ann, "ann", ""),
        [shape(Verb::HISTORY_REPLY, "server", "ann", "end 0")]
    );
}

// ROOM_MESSAGE with an empty to_name goes to every room the sender is in, one relay per room.
#[test]
fn a_room_message_with_an_empty_to_name_goes_to_every_room_of_the_sender() {
    let mut t = Harness::new();
    let ann = t.login("ann", V5);
    let bob = t.login("bob", V5);
    let cat = t.login("cat", V5);
    for room in ["x", "y", "z"] {
        t.succeeds(ann, Verb::ROOM_CREATE, "ann", room, "");
    }
    t.succeeds(ann, Verb::ROOM_JOIN, "ann", "x", "");
    t.succeeds(ann, Verb::ROOM_JOIN, "ann", "y", "");
    t.succeeds(bob, Verb::ROOM_JOIN, "bob", "y", "");
    t.succeeds(cat, Verb::ROOM_JOIN, "cat", "z", "");
    let out = t.send(ann, Verb::ROOM_MESSAGE, "ann", "", "everywhere");
    let relay = |room: &str| shape(Verb::ROOM_MESSAGE, "ann", room, "everywhere");
    let mut to_ann = shapes_to(&out, ann);
    to_ann.sort();
    let mut expected = vec![relay(GENERAL), relay("x"), relay("y")];
    expected.sort();
    assert_eq!(to_ann, expected);
    let mut to_bob = shapes_to(&out, bob);
    to_bob.sort();
    let mut expected = vec![relay(GENERAL), relay("y")];
    expected.sort();
    assert_eq!(to_bob, expected);
    assert_eq!(
        shapes_to(&out, cat),
        [relay(GENERAL)],
        "z is not ann's room"
    );
}
