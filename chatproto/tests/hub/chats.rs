//! §8.5 One-to-one chats.

use super::*;

/// ann and bob in a chat, cat online and free.
fn chatting() -> (Harness, ClientId, ClientId, ClientId) {
    let mut t = Harness::new();
    let ann = t.login("ann", V5);
    let bob = t.login("bob", V5);
    let cat = t.login("cat", V5);
    t.send(ann, Verb::CHAT_INVITE, "ann", "bob", "");
    t.send(bob, Verb::CHAT_ACCEPT, "bob", "ann", "");
    assert_eq!(
        t.who(cat, "cat"),
        "ann\tchatting with bob\nbob\tchatting with ann\ncat\tavailable"
    );
    (t, ann, bob, cat)
}

// invite, accept (relayed to the inviter, answered to the invitee from server), shown as
// chatting in WHO, then ended (relayed to the other party).
#[test]
fn invite_accept_and_end_a_one_to_one_chat() {
    let mut t = Harness::new();
    let ann = t.login("ann", V5);
    let bob = t.login("bob", V5);
    let cat = t.login("cat", V5);
    let out = t.send(ann, Verb::CHAT_INVITE, "ann", "bob", "fancy a chat?");
    assert_eq!(
        shapes_to(&out, bob),
        [shape(Verb::CHAT_INVITE, "ann", "bob", "fancy a chat?")]
    );
    assert!(sent_to(&out, cat).is_empty());
    assert!(sent_to(&out, ann).iter().all(|m| m.verb != Verb::ERROR));
    assert_eq!(
        t.who(cat, "cat"),
        "ann\tavailable\nbob\tavailable\ncat\tavailable",
        "an invitation is not a chat"
    );

    let out = t.send(bob, Verb::CHAT_ACCEPT, "bob", "ann", "");
    assert_eq!(
        shapes_to(&out, ann),
        [shape(Verb::CHAT_ACCEPT, "bob", "ann", "")]
    );
    let reply = only_reply(&out, bob, Verb::CHAT_ACCEPT);
    assert_eq!(reply.from, Name::SERVER);
    assert_eq!(reply.to.as_str(), "bob");
    assert!(sent_to(&out, cat).is_empty());
    assert_eq!(
        t.who(cat, "cat"),
        "ann\tchatting with bob\nbob\tchatting with ann\ncat\tavailable"
    );

    let out = t.send(ann, Verb::CHAT_END, "ann", "bob", "");
    assert_eq!(
        shapes_to(&out, bob),
        [shape(Verb::CHAT_END, "ann", "bob", "")]
    );
    assert!(sent_to(&out, ann).iter().all(|m| m.verb != Verb::ERROR));
    assert!(sent_to(&out, cat).is_empty());
    assert_eq!(
        t.who(cat, "cat"),
        "ann\tavailable\nbob\tavailable\ncat\tavailable"
    );
    // Free again: a new chat can start.
    let out = t.send(ann, Verb::CHAT_INVITE, "ann", "cat", "");
    assert_eq!(
        shapes_to(&out, cat),
        [shape(Verb::CHAT_INVITE, "ann", "cat", "")]
    );
}

// either party may end the chat; after that, CHAT_END gets ERROR.
#[test]
fn either_party_may_end_the_chat() {
    let (mut t, ann, bob, _) = chatting();
    let out = t.send(bob, Verb::CHAT_END, "bob", "ann", "bye");
    assert_eq!(
        shapes_to(&out, ann),
        [shape(Verb::CHAT_END, "bob", "ann", "bye")]
    );
    let out = t.send(ann, Verb::CHAT_END, "ann", "bob", "");
    assert_refused(&out, ann);
}

// CHAT_DECLINE removes the invitation and is relayed to the inviter.
#[test]
fn a_declined_invitation_is_relayed_and_removed() {
    let mut t = Harness::new();
    let ann = t.login("ann", V5);
    let bob = t.login("bob", V5);
    let cat = t.login("cat", V5);
    t.send(ann, Verb::CHAT_INVITE, "ann", "bob", "");
    let out = t.send(bob, Verb::CHAT_DECLINE, "bob", "ann", "busy, sorry");
    assert_eq!(
        shapes_to(&out, ann),
        [shape(Verb::CHAT_DECLINE, "bob", "ann", "busy, sorry")]
    );
    assert!(sent_to(&out, cat).is_empty());
    assert!(sent_to(&out, bob).iter().all(|m| m.verb != Verb::ERROR));
    let out = t.send(bob, Verb::CHAT_ACCEPT, "bob", "ann", "");
    assert_refused(&out, bob);
    let out = t.send(bob, Verb::CHAT_DECLINE, "bob", "ann", "");
    assert_refused(&out, bob);
    assert_eq!(
        t.who(cat, "cat"),
        "ann\tavailable\nbob\tavailable\ncat\tavailable"
    );
}

// inviting a user in a chat gets ERROR with the reason `B is chatting with C`; so does inviting
// while in a chat oneself.
#[test]
fn inviting_a_busy_user_is_refused_with_the_reason() {
    let (mut t, ann, bob, cat) = chatting();
    let out = t.send(cat, Verb::CHAT_INVITE, "cat", "bob", "");
    let why = assert_refused(&out, cat);
    assert!(why.contains("bob is chatting with ann"), "{why:?}");
    let out = t.send(cat, Verb::CHAT_INVITE, "cat", "ann", "");
    let why = assert_refused(&out, cat);
    assert!(why.contains("ann is chatting with bob"), "{why:?}");
    let out = t.send(ann, Verb::CHAT_INVITE, "ann", "cat", "");
    assert_refused(&out, ann);
    // cat has no invitation from ann, and the chat is unchanged.
    let out = t.send(cat, Verb::CHAT_ACCEPT, "cat", "ann", "");
    assert_refused(&out, cat);
    assert_eq!(
        t.who(bob, "bob"),
        "ann\tchatting with bob\nbob\tchatting with ann\ncat\tavailable"
    );
}

// a user cannot invite themself.
#[test]
fn inviting_oneself_is_refused() {
    let mut t = Harness::new();
    let ann = t.login("ann", V5);
    let out = t.send(ann, Verb::CHAT_INVITE, "ann", "ann", "");
    assert_refused(&out, ann);
    assert_eq!(t.who(ann, "ann"), "ann\tavailable");
}

// inviting a user who is not online gets ERROR.
#[test]
fn inviting_a_user_who_is_not_online_is_refused() {
    let mut t = Harness::new();
    let ann = t.login("ann", V5);
    let dan = t.register("dan", "pw");
    t.quit(dan, "dan");
    for absent in ["dan", "nobody", "ALL", "server"] {
        let out = t.send(ann, Verb::CHAT_INVITE, "ann", absent, "");
        assert_refused(&out, ann);
    }
}

// without a pending invitation or a chat, CHAT_ACCEPT, CHAT_DECLINE and CHAT_END get ERROR,
// including an invitation in the other direction.
#[test]
fn chat_verbs_without_an_invitation_or_a_chat_are_refused() {
    let mut t = Harness::new();
    let ann = t.login("ann", V5);
    let bob = t.login("bob", V5);
    for verb in [Verb::CHAT_ACCEPT, Verb::CHAT_DECLINE, Verb::CHAT_END] {
        let out = t.send(bob, verb, "bob", "ann", "");
        assert_refused(&out, bob);
    }
    t.send(ann, Verb::CHAT_INVITE, "ann", "bob", "");
    // The inviter cannot accept their own invitation.
    let out = t.send(ann, Verb::CHAT_ACCEPT, "ann", "bob", "");
    assert_refused(&out, ann);
    let out = t.send(ann, Verb::CHAT_END, "ann", "bob", "");
    assert_refused(&out, ann);
    assert_eq!(t.who(bob, "bob"), "ann\tavailable\nbob\tavailable");
}

// a v4 user cannot be sent CHAT_INVITE (verb 22), so inviting one is refused.
#[test]
fn inviting_a_legacy_user_is_refused() {
    let mut t = Harness::new();
    let ann = t.login("ann", V5);
    let old = t.login("old", V4);
    let out = t.send(ann, Verb::CHAT_INVITE, "ann", "old", "");
    assert_refused(&out, ann);
    assert!(sent_to(&out, old).is_empty());
}

// a user who logs out leaves their chat (the partner gets CHAT_END) and their invitations.
#[test]
fn logging_out_leaves_the_chat_and_every_invitation() {
    let (mut t, ann, bob, cat) = chatting();
    let out = t.disconnect(ann);
    let ends: Vec<Message> = sent_to(&out, bob)
        .into_iter()
        .filter(|m| m.verb == Verb::CHAT_END)
        .collect();
    assert_eq!(ends.len(), 1, "{out:#?}");
    assert_eq!((ends[0].from.as_str(), ends[0].to.as_str()), ("ann", "bob"));
    assert_eq!(t.who(cat, "cat"), "bob\tavailable\ncat\tavailable");
    // An invitation from a user who logs out is gone, even once they are back.
    let dan = t.login("dan", V5);
    t.send(dan, Verb::CHAT_INVITE, "dan", "cat", "");
    t.quit(dan, "dan");
    let dan = t.login("dan", V5);
    let out = t.send(cat, Verb::CHAT_ACCEPT, "cat", "dan", "");
    assert_refused(&out, cat);
    // And so is an invitation to a user who logs out.
    t.send(dan, Verb::CHAT_INVITE, "dan", "bob", "");
    t.disconnect(bob);
    let bob = t.login("bob", V5);
    let out = t.send(bob, Verb::CHAT_ACCEPT, "bob", "dan", "");
    assert_refused(&out, bob);
}

// QUIT ends the chat too.
#[test]
fn quitting_ends_the_chat_for_the_partner() {
    let (mut t, ann, bob, cat) = chatting();
    let out = t.quit(bob, "bob");
    let ends: Vec<Message> = sent_to(&out, ann)
        .into_iter()
        .filter(|m| m.verb == Verb::CHAT_END)
        .collect();
    assert_eq!(ends.len(), 1, "{out:#?}");
    assert_eq!((ends[0].from.as_str(), ends[0].to.as_str()), ("bob", "ann"));
    assert_eq!(t.who(cat, "cat"), "ann\tavailable\ncat\tavailable");
}
