//! What the server composes stays within what a client can take in.

use chatproto::chat::REPLY_LIMIT;
use chatproto::fragment::DEFAULT_LIMIT;

use super::*;

fn reply_to(out: &[Output], client: ClientId, verb: Verb) -> String {
    shapes_to(out, client)
        .into_iter()
        .find(|s| s.0 == verb)
        .map(|s| s.3)
        .unwrap_or_else(|| panic!("no {verb} in {out:#?}"))
}

// with more rooms than fit in a client's default limit, ROOM_LIST is cut after the last
// whole name that fits and says how many were left out.
#[test]
fn a_room_list_too_long_for_a_client_is_cut_and_says_how_many_more() {
    let mut t = Harness::without_rate_limit();
    let ann = t.login("ann", V5);
    let rooms: Vec<String> = (0..2_100).map(|i| format!("{i:032}")).collect();
    for room in &rooms {
        let out = t.send(ann, Verb::ROOM_CREATE, "ann", room, "");
        assert!(!reply_to(&out, ann, Verb::ROOM_CREATE).is_empty());
    }
    let out = t.send(ann, Verb::ROOM_LIST, "ann", "server", "");
    let list = reply_to(&out, ann, Verb::ROOM_LIST);
    assert!(list.len() <= REPLY_LIMIT, "{} bytes", list.len());
    let lines: Vec<&str> = list.lines().collect();
    let shown = lines.len() - 1;
    assert_eq!(lines[0], GENERAL);
    assert_eq!(
        lines[1..shown],
        rooms[..shown - 1]
            .iter()
            .map(String::as_str)
            .collect::<Vec<_>>()[..]
    );
    let left_out = rooms.len() + 1 - shown;
    assert_eq!(lines[shown], format!("… and {left_out} more"));
}

// WHO is cut the same way.
#[test]
fn a_who_too_long_for_a_client_is_cut() {
    let mut t = Harness::without_rate_limit();
    for i in 0..2_000 {
        t.login(&format!("user{i:027}"), V5);
    }
    let ann = t.login("ann", V5);
    let out = t.send(ann, Verb::WHO, "ann", "server", "");
    let who = reply_to(&out, ann, Verb::WHO);
    assert!(who.len() <= REPLY_LIMIT, "{} bytes", who.len());
    assert!(who.ends_with(" more"), "{}", &who[who.len() - 40..]);
}

// an ERROR does not echo a long request back; it fits one packet.
#[test]
fn an_error_about_a_long_request_fits_one_packet() {
    let mut t = Harness::new();
    let ann = t.login("ann", V5);
    let junk = "x".repeat(DEFAULT_LIMIT - 100);
    let out = t.send(ann, Verb::HISTORY_REQUEST, "ann", "server", &junk);
    let error = reply_to(&out, ann, Verb::ERROR);
    assert!(error.len() <= 256, "{} bytes", error.len());
    assert!(error.starts_with("not a number of messages"), "{error}");
}

// a message as long as the server accepts comes back in history whole, and the HISTORY_REPLY fits a
// client's default limit.
#[test]
fn the_longest_message_the_server_accepts_fits_in_a_history_reply() {
    let mut t = Harness::new();
    let limit = t.hub.limits().max_message;
    assert!(limit < DEFAULT_LIMIT);
    let ann = t.login("ann", V5);
    let text = "z".repeat(limit);
    t.send(ann, Verb::BROADCAST, "ann", "ALL", &text);
    let out = t.send(ann, Verb::HISTORY_REQUEST, "ann", "server", "1");
    let reply = shapes_to(&out, ann)
        .into_iter()
        .find(|s| s.0 == Verb::HISTORY_REPLY && s.3.ends_with(&text))
        .expect("the broadcast in history");
    assert!(reply.3.len() <= DEFAULT_LIMIT, "{} bytes", reply.3.len());
}

// a message longer than the limit that reached the hub some other way than through a session's
// reassembler is refused all the same.
#[test]
fn the_hub_refuses_a_message_longer_than_its_limit() {
    let mut t = Harness::new();
    let limit = t.hub.limits().max_message;
    let ann = t.login("ann", V5);
    let bob = t.login("bob", V5);
    let out = t.send(ann, Verb::BROADCAST, "ann", "ALL", &"y".repeat(limit + 1));
    assert!(shapes_to(&out, bob).is_empty(), "{out:#?}");
    let error = reply_to(&out, ann, Verb::ERROR);
    assert!(error.contains("at most"), "{error}");
}
