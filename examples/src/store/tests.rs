//! The store's contract: every [`Store`] method, history against [`visible_to`], persistence across
//! reopening, and the hub running on [`SqliteStore`] and [`Argon2Hasher`] across a restart.

use std::time::Instant;

use chatproto::chat::{
    visible_to, ClientId, Entry, Hub, Input, Link, Output, PasswordHasher, Store, StoreError,
};
use chatproto::{Message, Name, Verb};

use super::{Argon2Hasher, SqliteStore, DB_FILE};

fn entry(at_ms: u64, verb: Verb, from: &str, to: &str, text: &str) -> Entry {
    Entry {
        at_ms,
        verb,
        from: from.to_owned(),
        to: to.to_owned(),
        text: text.to_owned(),
        number: 0,
    }
}

fn store() -> SqliteStore {
    SqliteStore::in_memory().expect("an in-memory store opens")
}

// --- accounts ---

#[test]
fn accounts_are_created_found_and_listed_in_registration_order() -> Result<(), StoreError> {
    let mut store = store();
    assert_eq!(store.password_hash("zed")?, None);
    assert!(store.accounts()?.is_empty());
    for (name, hash) in [("zed", "h-zed"), ("amy", "h-amy"), ("Bob", "h-bob")] {
        store.create_account(name, hash)?;
    }
    assert_eq!(store.accounts()?, ["zed", "amy", "Bob"]);
    assert_eq!(store.password_hash("amy")?.as_deref(), Some("h-amy"));
    assert_eq!(store.password_hash("Bob")?.as_deref(), Some("h-bob"));
    // Names are compared exactly, as the hub gives them.
    assert_eq!(store.password_hash("bob")?, None);
    assert_eq!(store.password_hash("")?, None);
    Ok(())
}

#[test]
fn a_taken_name_is_an_error_that_says_which_operation() -> Result<(), StoreError> {
    let mut store = store();
    store.create_account("ann", "first")?;
    let error = store.create_account("ann", "second").unwrap_err();
    assert!(error.0.starts_with("create_account: "), "{error}");
    assert_eq!(store.password_hash("ann")?.as_deref(), Some("first"));
    assert_eq!(store.accounts()?, ["ann"]);
    Ok(())
}

// --- kept messages ---

/// Reads what is kept for `user` and forgets it, as the hub does once each is confirmed.
fn take_kept(store: &mut SqliteStore, user: &str) -> Result<Vec<Entry>, StoreError> {
    let kept = store.kept(user)?;
    for k in &kept {
        store.forget_kept(user, k.id)?;
    }
    Ok(kept.into_iter().map(|k| k.entry).collect())
}

#[test]
fn a_kept_message_stays_until_it_is_forgotten_even_across_a_reopen() -> Result<(), StoreError> {
    // reading is not delivering; only a confirmation lets a kept message go.
    let tmp = tempfile::tempdir().map_err(|e| StoreError(e.to_string()))?;
    let pm = entry(1, Verb::PRIVATE_MESSAGE, "ann", "bob", "later");
    let other = entry(2, Verb::PRIVATE_MESSAGE, "cy", "bob", "also");
    let ids: Vec<u64> = {
        let mut store = SqliteStore::open(tmp.path())?;
        store.keep_for("bob", &pm)?;
        store.keep_for("bob", &other)?;
        let kept = store.kept("bob")?;
        assert_eq!(store.kept("bob")?, kept, "reading twice reads the same");
        assert!(kept[0].id < kept[1].id, "ids increase in the order kept");
        kept.iter().map(|k| k.id).collect()
    };
    let mut store = SqliteStore::open(tmp.path())?;
    let kept = store.kept("bob")?;
    assert_eq!(kept.iter().map(|k| k.id).collect::<Vec<_>>(), ids);
    store.forget_kept("bob", ids[0])?;
    store.forget_kept("bob", ids[0])?;
    store.forget_kept("cy", ids[1])?;
    let left: Vec<Entry> = store.kept("bob")?.into_iter().map(|k| k.entry).collect();
    assert_eq!(
        left,
        [other],
        "only the one forgotten, and only for its user"
    );
    Ok(())
}

#[test]
fn kept_messages_are_taken_once_oldest_first_per_user() -> Result<(), StoreError> {
    let mut store = store();
    assert!(take_kept(&mut store, "bob")?.is_empty());
    let first = entry(10, Verb::PRIVATE_MESSAGE, "ann", "bob", "one");
    let second = entry(
        5,
        Verb::PRIVATE_MESSAGE,
        "cy",
        "bob",
        "two, with 'quotes' and ünïcode",
    );
    let for_cy = entry(11, Verb::PRIVATE_MESSAGE, "ann", "cy", "other");
    store.keep_for("bob", &first)?;
    store.keep_for("cy", &for_cy)?;
    store.keep_for("bob", &second)?;
    // Order is the order kept, not the timestamps.
    assert_eq!(take_kept(&mut store, "bob")?, [first, second]);
    assert!(take_kept(&mut store, "bob")?.is_empty(), "taking removes");
    assert_eq!(take_kept(&mut store, "cy")?, std::slice::from_ref(&for_cy));
    assert!(take_kept(&mut store, "cy")?.is_empty());
    // Kept messages are not history, and taking them leaves history alone.
    assert!(store.history("bob", &[], 50)?.is_empty());
    store.keep_for("cy", &for_cy)?;
    assert_eq!(take_kept(&mut store, "cy")?, [for_cy]);
    Ok(())
}

#[test]
fn keep_and_record_keeps_and_appends_together() -> Result<(), StoreError> {
    let mut store = store();
    let pm = entry(1, Verb::PRIVATE_MESSAGE, "ann", "bob", "later");
    store.keep_and_record("bob", &pm)?;
    assert_eq!(store.history("ann", &[], 10)?, std::slice::from_ref(&pm));
    assert_eq!(take_kept(&mut store, "bob")?, [pm]);
    Ok(())
}

#[test]
fn keep_and_record_stores_neither_when_it_fails() -> Result<(), StoreError> {
    let mut store = store();
    // SQLite integers are i64: a time past i64::MAX fails inside the transaction.
    let bad = entry(u64::MAX, Verb::PRIVATE_MESSAGE, "ann", "bob", "x");
    let error = store.keep_and_record("bob", &bad).unwrap_err();
    assert!(error.0.starts_with("keep_and_record: "), "{error}");
    assert!(take_kept(&mut store, "bob")?.is_empty());
    assert!(store.history("bob", &[], 10)?.is_empty());
    for error in [
        store.keep_for("bob", &bad).unwrap_err(),
        store.append_history(&bad).unwrap_err(),
    ] {
        assert!(error.0.starts_with("keep_for: ") || error.0.starts_with("append_history: "));
    }
    Ok(())
}

// --- history ---

#[test]
fn history_is_the_last_limit_oldest_first() -> Result<(), StoreError> {
    let mut store = store();
    let all: Vec<Entry> = (0..10)
        .map(|i| entry(1000 + i, Verb::BROADCAST, "ann", "ALL", &format!("m{i}")))
        .collect();
    for e in &all {
        store.append_history(e)?;
    }
    assert!(store.history("bob", &[], 0)?.is_empty());
    assert_eq!(store.history("bob", &[], 1)?, all[9..]);
    assert_eq!(store.history("bob", &[], 3)?, all[7..]);
    assert_eq!(store.history("bob", &[], 10)?, all);
    assert_eq!(store.history("bob", &[], 500)?, all);
    assert_eq!(store.history("bob", &[], usize::MAX)?, all);
    Ok(())
}

#[test]
fn history_shows_each_viewer_what_visible_to_allows() -> Result<(), StoreError> {
    let mut store = store();
    let entries = [
        entry(1, Verb::BROADCAST, "ann", "ALL", "to all"),
        entry(2, Verb::ROOM_MESSAGE, "ann", "General", "in General"),
        entry(3, Verb::ROOM_MESSAGE, "ann", "secret", "in secret"),
        entry(4, Verb::PRIVATE_MESSAGE, "ann", "bob", "ann to bob"),
        entry(5, Verb::PRIVATE_MESSAGE, "bob", "ann", "bob to ann"),
        entry(6, Verb::PRIVATE_MESSAGE, "ann", "cy", "ann to cy"),
        entry(7, Verb::PRIVATE_MESSAGE, "bob", "bob", "bob to himself"),
        entry(8, Verb::LOGIN, "bob", "ALL", "not history"),
        // A room named like a user is still a room, and a user named like a room a user.
        entry(9, Verb::ROOM_MESSAGE, "cy", "bob", "in the room bob"),
        entry(
            10,
            Verb::PRIVATE_MESSAGE,
            "cy",
            "General",
            "to the user General",
        ),
    ];
    for e in &entries {
        store.append_history(e)?;
    }
    let texts = |viewer: &str, rooms: &[&str]| -> Result<Vec<String>, StoreError> {
        Ok(store
            .history(viewer, rooms, 50)?
            .into_iter()
            .map(|e| e.text)
            .collect())
    };
    assert_eq!(
        texts("bob", &["General"])?,
        [
            "to all",
            "in General",
            "ann to bob",
            "bob to ann",
            "bob to himself"
        ]
    );
    assert_eq!(
        texts("cy", &["General", "secret", "General"])?,
        [
            "to all",
            "in General",
            "in secret",
            "ann to cy",
            "to the user General"
        ]
    );
    assert_eq!(texts("dee", &[])?, ["to all"]);
    assert_eq!(texts("dee", &["bob"])?, ["to all", "in the room bob"]);
    assert_eq!(texts("General", &[])?, ["to all", "to the user General"]);
    // The limit counts visible messages only.
    let last_two: Vec<String> = store
        .history("bob", &["General"], 2)?
        .into_iter()
        .map(|e| e.text)
        .collect();
    assert_eq!(last_two, ["bob to ann", "bob to himself"]);
    Ok(())
}

/// splitmix64: a fixed-seed generator, so a failure replays.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

#[test]
fn history_matches_visible_to_on_random_entries() -> Result<(), StoreError> {
    const USERS: &[&str] = &["ann", "bob", "cy", "dee", "ALL", "General"];
    let rooms: Vec<String> = ["General", "bob", "ann"]
        .iter()
        .map(|s| (*s).to_owned())
        .chain((0..40).map(|i| format!("room{i}")))
        .collect();
    // Mostly the verbs history holds, and some it must never show.
    let verbs = [
        Verb::BROADCAST,
        Verb::BROADCAST,
        Verb::PRIVATE_MESSAGE,
        Verb::PRIVATE_MESSAGE,
        Verb::PRIVATE_MESSAGE,
        Verb::ROOM_MESSAGE,
        Verb::ROOM_MESSAGE,
        Verb::ROOM_MESSAGE,
        Verb::ROOM_MESSAGE,
        Verb::LOGIN,
        Verb::ERROR,
        Verb::HISTORY_REPLY,
        Verb::from_u32(99),
    ];
    let limits = [0, 1, 2, 3, 7, 20, 50, 500, usize::MAX];
    let mut checked = 0;
    for seed in 0..4u64 {
        let mut rng = Rng(seed);
        let mut store = store();
        let mut all = Vec::new();
        for round in 0..6 {
            for i in 0..100 {
                let verb = *rng.pick(&verbs);
                let to = if rng.below(2) == 0 {
                    rng.pick(USERS).to_string()
                } else {
                    rng.pick(&rooms).clone()
                };
                let e = Entry {
                    at_ms: rng.next() % 2_000_000_000_000,
                    verb,
                    from: rng.pick(USERS).to_string(),
                    to,
                    text: format!("{seed}/{round}/{i}"),
                    number: 0,
                };
                store.append_history(&e)?;
                all.push(e);
            }
            for _ in 0..40 {
                let viewer = *rng.pick(USERS);
                // Sizes on both sides of the per-room branching, duplicates included.
                let count = match rng.below(4) {
                    0 => 0,
                    1 => 1 + rng.below(4),
                    2 => 1 + rng.below(rooms.len()),
                    _ => 33 + rng.below(rooms.len()),
                };
                let viewer_rooms: Vec<&str> =
                    (0..count).map(|_| rng.pick(&rooms).as_str()).collect();
                let limit = *rng.pick(&limits);
                let visible: Vec<&Entry> = all
                    .iter()
                    .filter(|e| visible_to(e, viewer, &viewer_rooms))
                    .collect();
                let expected: Vec<Entry> = visible[visible.len().saturating_sub(limit)..]
                    .iter()
                    .map(|e| (*e).clone())
                    .collect();
                let got = store.history(viewer, &viewer_rooms, limit)?;
                assert_eq!(
                    got, expected,
                    "seed {seed} round {round}: viewer {viewer}, rooms {viewer_rooms:?}, limit {limit}"
                );
                checked += 1;
            }
        }
    }
    assert_eq!(checked, 4 * 6 * 40);
    Ok(())
}

// --- on disk ---

#[test]
fn open_creates_the_directory_and_the_database_file() -> Result<(), StoreError> {
    let tmp = tempfile::tempdir().expect("a temporary directory");
    let dir = tmp.path().join("nested").join("data");
    let store = SqliteStore::open(&dir)?;
    assert_eq!(store.path(), Some(dir.join(DB_FILE).as_path()));
    assert!(dir.join(DB_FILE).is_file());
    assert_eq!(SqliteStore::in_memory()?.path(), None);
    Ok(())
}

#[test]
fn open_fails_with_context_when_the_directory_is_a_file() {
    let tmp = tempfile::tempdir().expect("a temporary directory");
    let file = tmp.path().join("not-a-dir");
    std::fs::write(&file, "x").expect("write a file");
    let error = SqliteStore::open(&file).unwrap_err();
    assert!(error.0.starts_with("open"), "{error}");
}

#[test]
fn open_refuses_a_file_that_is_not_a_database() {
    let tmp = tempfile::tempdir().expect("a temporary directory");
    std::fs::write(tmp.path().join(DB_FILE), vec![b'x'; 4096]).expect("write a file");
    let error = SqliteStore::open(tmp.path()).unwrap_err();
    assert!(error.0.starts_with("open"), "{error}");
}

#[test]
fn everything_survives_closing_and_reopening() -> Result<(), StoreError> {
    let tmp = tempfile::tempdir().expect("a temporary directory");
    let broadcast = entry(1, Verb::BROADCAST, "ann", "ALL", "hello");
    let room = entry(2, Verb::ROOM_MESSAGE, "ann", "General", "hi room");
    let pm = entry(3, Verb::PRIVATE_MESSAGE, "ann", "bob", "psst");
    let kept_only = entry(4, Verb::PRIVATE_MESSAGE, "cy", "bob", "kept only");
    {
        let mut store = SqliteStore::open(tmp.path())?;
        store.create_account("ann", "hash-ann")?;
        store.create_account("bob", "hash-bob")?;
        store.append_history(&broadcast)?;
        store.append_history(&room)?;
        store.keep_and_record("bob", &pm)?;
        store.keep_for("bob", &kept_only)?;
        // Dropped without flush: what returned is on disk.
    }
    {
        let mut store = SqliteStore::open(tmp.path())?;
        assert_eq!(store.accounts()?, ["ann", "bob"]);
        assert_eq!(store.password_hash("bob")?.as_deref(), Some("hash-bob"));
        assert_eq!(
            store.history("bob", &["General"], 50)?,
            [broadcast.clone(), room.clone(), pm.clone()]
        );
        assert_eq!(take_kept(&mut store, "bob")?, [pm.clone(), kept_only]);
        store.create_account("cy", "hash-cy")?;
        store.flush()?;
    }
    let mut store = SqliteStore::open(tmp.path())?;
    assert!(
        take_kept(&mut store, "bob")?.is_empty(),
        "the take was durable"
    );
    assert_eq!(store.accounts()?, ["ann", "bob", "cy"]);
    assert_eq!(store.history("cy", &[], 50)?, [broadcast]);
    Ok(())
}

#[test]
fn flush_checkpoints_the_log_into_the_database() -> Result<(), StoreError> {
    let tmp = tempfile::tempdir().expect("a temporary directory");
    let mut store = SqliteStore::open(tmp.path())?;
    for i in 0..20 {
        store.append_history(&entry(i, Verb::BROADCAST, "ann", "ALL", "x"))?;
    }
    let wal = tmp.path().join(format!("{DB_FILE}-wal"));
    let size = || std::fs::metadata(&wal).map(|m| m.len()).unwrap_or(0);
    assert!(size() > 0, "writes went to the log");
    store.flush()?;
    assert_eq!(size(), 0, "the log was checkpointed and truncated");
    assert_eq!(store.history("bob", &[], 50)?.len(), 20);
    store.flush()?;
    SqliteStore::in_memory()?.flush()?;
    Ok(())
}

// --- passwords ---

#[test]
fn argon2_hashes_are_salted_argon2id_phc_strings() -> Result<(), StoreError> {
    let hasher = Argon2Hasher::fast_for_tests();
    let first = hasher.hash("correct horse")?;
    let second = hasher.hash("correct horse")?;
    assert!(first.starts_with("$argon2id$v=19$m=8,t=1,p=1$"), "{first}");
    assert_ne!(first, "correct horse");
    assert!(!first.contains("correct horse"));
    assert_ne!(first, second, "a fresh salt each time");
    // Salt and hash: `$argon2id$v=19$<params>$<salt>$<hash>`.
    let fields: Vec<&str> = first.split('$').collect();
    assert_eq!(fields.len(), 6, "{first}");
    assert_ne!(fields[4], second.split('$').nth(4).unwrap_or_default());
    assert!(hasher.verify(&first, "correct horse"));
    assert!(hasher.verify(&second, "correct horse"));
    assert!(!hasher.verify(&first, "correct horsE"));
    assert!(!hasher.verify(&first, ""));
    Ok(())
}

#[test]
fn argon2_verify_refuses_what_is_not_a_hash() -> Result<(), StoreError> {
    let hasher = Argon2Hasher::fast_for_tests();
    for hash in [
        "",
        "hunter2",
        "$argon2id$",
        "plain-text-for-tests$hunter2",
        "$argon2id$v=19$m=8,t=1,p=1$c2FsdHNhbHQ$bm90IGEgaGFzaA",
    ] {
        assert!(!hasher.verify(hash, "hunter2"), "{hash:?}");
    }
    // Unusual passwords hash and verify like any other.
    for password in ["", "ünïcødé 🔑", "with\0nul", &"long".repeat(1000)] {
        let hash = hasher.hash(password)?;
        assert!(hasher.verify(&hash, password), "{password:?}");
    }
    Ok(())
}

#[test]
fn argon2_default_is_owasp_and_verifies_hashes_of_other_parameters() -> Result<(), StoreError> {
    let default = Argon2Hasher::default();
    let params = default.params();
    assert_eq!(
        (params.m_cost(), params.t_cost(), params.p_cost()),
        (19 * 1024, 2, 1)
    );
    // The PHC string carries its parameters: the server verifies hashes made with others.
    let fast_hash = Argon2Hasher::fast_for_tests().hash("pw")?;
    assert!(default.verify(&fast_hash, "pw"));
    assert!(!default.verify(&fast_hash, "pW"));
    Ok(())
}

#[test]
fn argon2_default_parameters_hash_end_to_end() -> Result<(), StoreError> {
    let hasher = Argon2Hasher::default();
    let hash = hasher.hash("pw")?;
    assert!(
        hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
        "{hash}"
    );
    assert!(hasher.verify(&hash, "pw"));
    Ok(())
}

// --- under the hub ---

struct Server {
    hub: Hub<SqliteStore, Argon2Hasher>,
    start: Instant,
    clock_ms: u64,
}

impl Server {
    fn open(dir: &std::path::Path) -> Result<Server, StoreError> {
        Ok(Server {
            hub: Hub::new(SqliteStore::open(dir)?, Argon2Hasher::fast_for_tests()),
            start: Instant::now(),
            clock_ms: 1_700_000_000_000,
        })
    }

    fn input(&mut self, input: Input) -> Vec<Output> {
        self.clock_ms += 1;
        self.hub.handle(self.start, self.clock_ms, input)
    }

    fn send(&mut self, client: u64, verb: Verb, from: &str, to: &str, text: &str) -> Vec<Message> {
        let message = Message::new(verb, name(from), name(to), text);
        self.input(Input::Received(ClientId(client), message))
            .into_iter()
            .filter_map(|output| match output {
                Output::Send { to, message, .. } if to == ClientId(client) => {
                    Some(Message::clone(&message))
                }
                _ => None,
            })
            .collect()
    }
}

fn name(name: &str) -> Name {
    Name::new(name).expect("a valid name")
}

#[test]
fn the_hub_keeps_accounts_messages_and_history_across_a_restart() -> Result<(), StoreError> {
    let tmp = tempfile::tempdir().expect("a temporary directory");
    {
        let mut server = Server::open(tmp.path())?;
        server.input(Input::Connected(ClientId(1), Link::confidential(None)));
        server.send(1, Verb::REGISTER, "ann", "server", "pw-ann");
        server.input(Input::Connected(ClientId(2), Link::confidential(None)));
        server.send(2, Verb::REGISTER, "bob", "server", "pw-bob");
        server.input(Input::Disconnected(ClientId(2)));
        server.send(1, Verb::PRIVATE_MESSAGE, "ann", "bob", "are you there?");
        server.send(1, Verb::BROADCAST, "ann", "ALL", "hello all");
        server.input(Input::Shutdown("test restart".to_owned()));
    }
    let mut server = Server::open(tmp.path())?;
    assert_eq!(server.hub.store().accounts()?, ["ann", "bob"]);
    let hash = server.hub.store().password_hash("bob")?.unwrap_or_default();
    assert!(hash.starts_with("$argon2id$"), "{hash}");
    server.input(Input::Connected(ClientId(3), Link::confidential(None)));
    let wrong = server.send(3, Verb::AUTH, "bob", "server", "pw-ann");
    assert!(wrong.iter().any(|m| m.verb == Verb::ERROR), "{wrong:?}");
    let auth = Message::new(Verb::AUTH, name("bob"), name("server"), "pw-bob");
    let login = server.input(Input::Received(ClientId(3), auth));
    let receipts: Vec<_> = login
        .iter()
        .filter_map(|output| match output {
            Output::Send {
                to: ClientId(3),
                message,
                receipt: Some(receipt),
            } if message.verb == Verb::PRIVATE_MESSAGE
                && message.from == name("ann")
                && message.text == "are you there?" =>
            {
                Some(receipt.clone())
            }
            _ => None,
        })
        .collect();
    assert_eq!(
        receipts.len(),
        1,
        "the kept message is delivered at login: {login:?}"
    );
    // bob's session confirms it, and only then is it forgotten.
    server.input(Input::Delivered(receipts[0].clone()));
    let history: Vec<String> = server
        .send(3, Verb::HISTORY_REQUEST, "bob", "server", "")
        .into_iter()
        .filter(|m| m.verb == Verb::HISTORY_REPLY)
        .map(|m| m.text)
        .collect();
    assert_eq!(history.len(), 3, "{history:?}");
    assert!(
        history[0].ends_with(" PRIVATE_MESSAGE are you there?"),
        "{history:?}"
    );
    assert!(history[1].ends_with(" BROADCAST hello all"), "{history:?}");
    assert_eq!(history[2], "end 2");
    // Confirmed: a second login gets nothing kept.
    server.input(Input::Disconnected(ClientId(3)));
    server.input(Input::Connected(ClientId(4), Link::confidential(None)));
    let again = server.send(4, Verb::AUTH, "bob", "server", "pw-bob");
    assert!(
        !again.iter().any(|m| m.verb == Verb::PRIVATE_MESSAGE),
        "{again:?}"
    );
    Ok(())
}
