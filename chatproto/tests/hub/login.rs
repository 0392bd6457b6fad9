//! §8.1 Logging in: ….

use super::*;

/// Requests a session may not make before login, each addressed so that it would do something
/// once logged in.
const NOT_BEFORE_LOGIN: &[(Verb, &str, &str)] = &[
    (Verb::BROADCAST, "ALL", "hello"),
    (Verb::PRIVATE_MESSAGE, "ann", "psst"),
    (Verb::WHO, "server", ""),
    (Verb::QUIT, "ALL", ""),
    (Verb::ROOM_CREATE, "lobby", ""),
    (Verb::ROOM_JOIN, GENERAL, ""),
    (Verb::ROOM_LEAVE, GENERAL, ""),
    (Verb::ROOM_LIST, "server", ""),
    (Verb::ROOM_MEMBERS, GENERAL, ""),
    (Verb::ROOM_MESSAGE, GENERAL, "hi room"),
    (Verb::CHAT_INVITE, "ann", ""),
    (Verb::CHAT_ACCEPT, "ann", ""),
    (Verb::CHAT_DECLINE, "ann", ""),
    (Verb::CHAT_END, "ann", ""),
    (Verb::HISTORY_REQUEST, "server", ""),
];

// before login only LOGIN, REGISTER, AUTH and HELP; anything else gets ERROR and does nothing.
#[test]
fn before_login_every_other_request_is_refused_and_does_nothing() {
    let mut t = Harness::new();
    let ann = t.login("ann", V5);
    let stranger = t.connect(V5);
    for &(verb, to, text) in NOT_BEFORE_LOGIN {
        let out = t.send(stranger, verb, "mallory", to, text);
        let why = assert_refused(&out, stranger);
        assert!(!why.is_empty(), "{verb}");
    }
    // Nothing was acted on: no room, no history, no invitation, nobody new online.
    assert_eq!(t.rooms(ann, "ann"), [GENERAL]);
    assert_eq!(t.members(ann, "ann", GENERAL), ["ann"]);
    assert_eq!(t.who(ann, "ann"), "ann\tavailable");
    assert_eq!(
        t.history(ann, "ann", ""),
        [shape(Verb::HISTORY_REPLY, "server", "ann", "end 0")]
    );
    let out = t.send(ann, Verb::CHAT_ACCEPT, "ann", "mallory", "");
    assert_refused(&out, ann);
    // The session is still usable for a login.
    let out = t.login_as(stranger, "mallory");
    assert!(told_connected(&out, stranger, "mallory"));
}

// empty, reserved (any letter case), control characters and commas are refused; the client may
// try again on the same session.
#[test]
fn login_refuses_bad_names_and_the_client_may_retry_on_the_same_session() {
    let mut t = Harness::new();
    let ann = t.login("ann", V5);
    let client = t.connect(V5);
    for bad in [
        "",
        "ALL",
        "all",
        "All",
        "aLL",
        "server",
        "Server",
        "SERVER",
        "sErVeR",
        "a,b",
        ",",
        "tab\there",
        "new\nline",
        "bell\u{7}",
        "del\u{7f}",
    ] {
        let out = t.login_as(client, bad);
        assert_refused(&out, client);
    }
    assert_eq!(t.who(ann, "ann"), "ann\tavailable", "nobody else got in");
    let out = t.login_as(client, "bob");
    assert!(told_connected(&out, client, "bob"));
    assert!(told_connected(&out, ann, "bob"));
}

// a name is at most 32 bytes. A longer one cannot be carried in `from_name` at all (the field is 32
// bytes wide), so the hub never sees it; the name rule refuses it too, and exactly 32 bytes are allowed.
#[test]
fn a_name_over_32_bytes_is_refused_and_32_bytes_is_allowed() {
    let at_limit = "é".repeat(16);
    assert_eq!(at_limit.len(), 32);
    let over = format!("{at_limit}x");
    assert!(Name::new(&over).is_err());
    assert!(refuse_name(&over).is_some());
    assert!(refuse_name(&"x".repeat(33)).is_some());
    let mut t = Harness::new();
    t.login(&at_limit, V5);
    t.login(&"x".repeat(32), V5);
}

// a name online on another session is refused, and the client may retry with another.
#[test]
fn login_refuses_a_name_online_on_another_session() {
    let mut t = Harness::new();
    let ann = t.login("ann", V5);
    let client = t.connect(V5);
    let out = t.login_as(client, "ann");
    assert_refused(&out, client);
    let out = t.login_as(client, "bob");
    assert!(told_connected(&out, client, "bob"));
    assert!(told_connected(&out, ann, "bob"));
    assert_eq!(t.who(ann, "ann"), "ann\tavailable\nbob\tavailable");
}

// once its user has left, a name is free again.
#[test]
fn a_name_is_free_again_once_its_user_has_left() {
    let mut t = Harness::new();
    let ann = t.login("ann", V5);
    t.quit(ann, "ann");
    t.login("ann", V5);
    let gone = t.login("bob", V5);
    t.disconnect(gone);
    t.login("bob", V4);
}

// §8 "Names compare exactly (case-sensitive)": only the reserved names are matched in any case.
#[test]
fn names_compare_exactly() {
    let mut t = Harness::new();
    let ann = t.login("ann", V5);
    t.login("Ann", V5);
    t.login("ANN", V5);
    assert_eq!(
        t.who(ann, "ann"),
        "ann\tavailable\nAnn\tavailable\nANN\tavailable"
    );
}

// a registered name cannot be taken with LOGIN; it needs AUTH.
#[test]
fn a_registered_name_needs_auth() {
    let mut t = Harness::new();
    let ann = t.register("ann", "pw");
    t.quit(ann, "ann");
    let bob = t.login("bob", V5);
    let client = t.connect(V5);
    let out = t.login_as(client, "ann");
    assert_refused(&out, client);
    let out = t.auth_as(client, "ann", "pw");
    assert!(told_connected(&out, client, "ann"));
    assert!(told_connected(&out, bob, "ann"));
}

// REGISTER creates the account, storing a hash and not the password, and logs in.
#[test]
fn register_stores_a_hash_not_the_password_and_logs_the_session_in() {
    let mut t = Harness::new();
    let bob = t.login("bob", V5);
    assert_eq!(t.hub.store().password_hash("ann").unwrap(), None);
    let client = t.connect(V5);
    let out = t.register_as(client, "ann", "hunter2");
    let reply = only_reply(&out, client, Verb::REGISTER);
    assert_eq!(reply.from, Name::SERVER);
    assert!(!reply.text.is_empty());
    assert!(told_connected(&out, client, "ann"));
    assert!(told_connected(&out, bob, "ann"));
    let stored = t.hub.store().password_hash("ann").unwrap();
    let stored = stored.expect("REGISTER creates an account");
    assert_ne!(stored, "hunter2", "the password itself is never stored");
    assert_eq!(t.hub.store().accounts().unwrap(), ["ann"]);
    assert_eq!(t.members(bob, "bob", GENERAL), ["bob", "ann"]);
}

// the hub stores what the password hasher makes, and checks passwords with it.
#[test]
fn register_stores_exactly_what_the_hasher_makes_and_auth_checks_with_it() {
    let mut t = Harness::with(MemoryStore::default(), Reversing);
    let ann = t.register("ann", "abc");
    assert_eq!(
        t.hub.store().password_hash("ann").unwrap().as_deref(),
        Some("rev$cba")
    );
    t.quit(ann, "ann");
    let client = t.connect(V5);
    for wrong in ["cba", "rev$cba", "ABC", ""] {
        let out = t.auth_as(client, "ann", wrong);
        assert_refused(&out, client);
    }
    let out = t.auth_as(client, "ann", "abc");
    assert!(told_connected(&out, client, "ann"));
}

// REGISTER refuses a taken name (registered, or online) and reserved names; the client may retry.
#[test]
fn register_refuses_a_taken_name_and_the_client_may_retry() {
    let mut t = Harness::new();
    let ann = t.register("ann", "pw");
    let guest = t.login("gus", V5);
    let client = t.connect(V5);
    // Online, registered or not.
    let out = t.register_as(client, "ann", "other");
    assert_refused(&out, client);
    let out = t.register_as(client, "gus", "other");
    assert_refused(&out, client);
    // Registered and offline.
    t.quit(ann, "ann");
    let out = t.register_as(client, "ann", "other");
    assert_refused(&out, client);
    // Reserved.
    for reserved in ["ALL", "all", "server", "Server"] {
        let out = t.register_as(client, reserved, "pw");
        assert_refused(&out, client);
    }
    assert_eq!(t.hub.store().accounts().unwrap(), ["ann"]);
    // The original password still works; the refused REGISTER changed nothing.
    let other = t.connect(V5);
    let out = t.auth_as(other, "ann", "other");
    assert_refused(&out, other);
    let out = t.auth_as(other, "ann", "pw");
    assert!(told_connected(&out, other, "ann"));
    // The refused session may still register a free name.
    let out = t.register_as(client, "bob", "pw");
    assert!(told_connected(&out, client, "bob"));
    assert!(told_connected(&out, guest, "bob"));
}

// AUTH logs in to an existing account, announced and in General.
#[test]
fn auth_logs_in_to_an_existing_account() {
    let mut t = Harness::new();
    let ann = t.register("ann", "s3cret");
    t.quit(ann, "ann");
    let bob = t.login("bob", V5);
    let client = t.connect(V5);
    let out = t.auth_as(client, "ann", "s3cret");
    assert!(told_connected(&out, client, "ann"));
    assert!(told_connected(&out, bob, "ann"));
    assert_eq!(t.members(bob, "bob", GENERAL), ["bob", "ann"]);
}

// a wrong password and an unknown account get ERROR; the client may retry.
#[test]
fn auth_refuses_a_wrong_password_and_an_unknown_account() {
    let mut t = Harness::new();
    let ann = t.register("ann", "pw");
    t.quit(ann, "ann");
    let bob = t.login("bob", V5);
    let client = t.connect(V5);
    let out = t.auth_as(client, "ann", "PW");
    assert_refused(&out, client);
    let out = t.auth_as(client, "nobody", "pw");
    assert_refused(&out, client);
    // A guest's name is not an account either.
    let out = t.auth_as(client, "bob", "pw");
    assert_refused(&out, client);
    assert_eq!(t.who(bob, "bob"), "bob\tavailable\nann\toffline");
    let out = t.auth_as(client, "ann", "pw");
    assert!(told_connected(&out, client, "ann"));
}

// AUTH to an account that is online on another session is refused.
#[test]
fn auth_refuses_an_account_already_online() {
    let mut t = Harness::new();
    let ann = t.register("ann", "pw");
    let client = t.connect(V5);
    let out = t.auth_as(client, "ann", "pw");
    assert_refused(&out, client);
    assert_eq!(t.who(ann, "ann"), "ann\tavailable");
}

// 5 failures within a minute lock the name for a minute, right password or not; then it unlocks.
#[test]
fn five_failures_lock_a_name_for_a_minute_even_with_the_right_password() {
    let mut t = Harness::new();
    let ann = t.register("ann", "pw");
    t.quit(ann, "ann");
    let bob = t.register("bob", "pw");
    t.quit(bob, "bob");
    let client = t.connect(V5);
    for i in 0..5 {
        t.at(Duration::from_secs(i));
        let out = t.auth_as(client, "ann", "guess");
        assert_refused(&out, client);
    }
    for secs in [5, 30, 59] {
        t.at(Duration::from_secs(secs));
        let out = t.auth_as(client, "ann", "pw");
        let why = assert_refused(&out, client);
        assert!(!why.is_empty(), "locked at {secs} s");
    }
    // Another name is not affected.
    let other = t.connect(V5);
    let out = t.auth_as(other, "bob", "pw");
    assert!(told_connected(&out, other, "bob"));
    // A minute after the failures, the right password works again.
    t.at(Duration::from_secs(65));
    let out = t.auth_as(client, "ann", "pw");
    assert!(told_connected(&out, client, "ann"));
}

// four failures do not lock.
#[test]
fn four_failures_do_not_lock() {
    let mut t = Harness::new();
    let ann = t.register("ann", "pw");
    t.quit(ann, "ann");
    let client = t.connect(V5);
    for _ in 0..4 {
        let out = t.auth_as(client, "ann", "guess");
        assert_refused(&out, client);
    }
    let out = t.auth_as(client, "ann", "pw");
    assert!(told_connected(&out, client, "ann"));
}

// only failures within a minute count.
#[test]
fn failures_more_than_a_minute_apart_do_not_lock() {
    let mut t = Harness::new();
    let ann = t.register("ann", "pw");
    t.quit(ann, "ann");
    let client = t.connect(V5);
    for _ in 0..4 {
        let out = t.auth_as(client, "ann", "guess");
        assert_refused(&out, client);
    }
    t.at(Duration::from_secs(61));
    let out = t.auth_as(client, "ann", "guess");
    assert_refused(&out, client);
    let out = t.auth_as(client, "ann", "pw");
    assert!(told_connected(&out, client, "ann"));
}

// "refuse further attempts for that name for a minute": the lock lasts a minute from the fifth
// failure, however the five were spread over the minute before it.
#[test]
fn a_lock_lasts_a_whole_minute_after_the_fifth_failure() {
    let mut t = Harness::new();
    let ann = t.register("ann", "pw");
    t.quit(ann, "ann");
    let client = t.connect(V5);
    for i in 0..5 {
        t.at(Duration::from_secs(10 * i));
        let out = t.auth_as(client, "ann", "guess");
        assert_refused(&out, client);
    }
    // Locked at 40 s; 30 s later it is still within the minute.
    t.at(Duration::from_secs(70));
    let out = t.auth_as(client, "ann", "pw");
    assert_refused(&out, client);
    t.at(Duration::from_secs(101));
    let out = t.auth_as(client, "ann", "pw");
    assert!(told_connected(&out, client, "ann"));
}

// the limit holds for every name, whatever was tried on other names.
#[test]
fn failing_on_many_other_names_does_not_lift_the_limit() {
    // 10,000 attempts at one instant are beyond the default rate limit.
    let mut t = Harness::without_rate_limit();
    let victim = t.register("victim", "pw");
    t.quit(victim, "victim");
    let attacker = t.connect(V5);
    for i in 0..10_000 {
        t.auth_as(attacker, &format!("u{i}"), "x");
    }
    for _ in 0..5 {
        let out = t.auth_as(attacker, "victim", "guess");
        assert_refused(&out, attacker);
    }
    let out = t.auth_as(attacker, "victim", "pw");
    assert_refused(&out, attacker);
}

// the LOGIN notice goes to every online user, the new one included, in their dialect; sessions not
// logged in hear nothing.
#[test]
fn the_login_notice_goes_to_every_online_user_including_the_new_one() {
    let mut t = Harness::new();
    let ann = t.login("ann", V5);
    let old = t.login("old", V4);
    let stranger = t.connect(V5);
    let cat = t.connect(V5);
    let out = t.login_as(cat, "cat");
    let notice = shape(Verb::LOGIN, "cat", "ALL", "cat has connected.");
    for (client, dialect) in [(ann, V5), (old, V4), (cat, V5)] {
        let got = sent_to(&out, client);
        assert_eq!(got.len(), 1, "{got:?}");
        assert_eq!(shape_of(&got[0]), notice);
        assert_eq!(got[0].dialect, dialect);
    }
    assert!(sent_to(&out, stranger).is_empty());
}

// on login the user is in General, after those who logged in before.
#[test]
fn login_joins_general_in_login_order() {
    let mut t = Harness::new();
    let ann = t.login("ann", V5);
    t.login("bob", V4);
    t.register("cat", "pw");
    assert_eq!(t.members(ann, "ann", GENERAL), ["ann", "bob", "cat"]);
}
