//! Seed 004, the TCP chat with passwords: accounts (REGISTER, AUTH, wrong passwords, the lock after five),
//! passwords kept only as argon2id hashes, broadcast and private messages with confirmations, and chat
//! history limited to what the user may see. Over TCP and UDP.

mod support;

use std::time::{SystemTime, UNIX_EPOCH};

use argon2::{Argon2, PasswordHash, PasswordVerifier};
use chatproto::{Dialect, Message, Name, Verb};
use chatproto_examples::server::{Server, Storage};
use chatproto_examples::store::DB_FILE;
use support::*;

fn unix_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64
}

/// Sends `verb` (REGISTER or AUTH) for `who` with `password` on a fresh session.
async fn try_account(server: &Server, net: Net, verb: Verb, who: &str, password: &str) -> Peer {
    let mut peer = Peer::connect(server, net, Dialect::V5).await;
    peer.name = name(who);
    peer.send_raw(Message::new(verb, peer.name, Name::SERVER, password))
        .await;
    peer
}

/// Logs in with REGISTER or AUTH, returning once the LOGIN notice is back.
async fn log_in(server: &Server, net: Net, verb: Verb, who: &str, password: &str) -> Peer {
    let mut peer = try_account(server, net, verb, who, password).await;
    peer.expect_notice(Verb::LOGIN, who).await;
    peer
}

/// QUIT, seen back by the leaver, so the name is offline when this returns.
async fn quit(mut peer: Peer) {
    let text = format!("{} has disconnected.", peer.name);
    peer.send(Verb::QUIT, "ALL", &text).await;
    peer.expect_text(Verb::QUIT, &text).await;
}

/// The next ERROR or LOGIN notice, which must be an ERROR: the attempt did not log in.
async fn expect_refused(peer: &mut Peer) -> Message {
    let got = peer
        .expect("ERROR or LOGIN", |m| {
            m.verb == Verb::ERROR || m.verb == Verb::LOGIN
        })
        .await;
    assert_eq!(got.verb, Verb::ERROR, "{}: logged in: {got:?}", peer.name);
    got
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn register_logs_in_and_after_logging_out_auth_logs_in_again() {
    //
    for net in NETS {
        let server = start_server(Storage::Memory).await;
        let mut ann = try_account(&server, net, Verb::REGISTER, "ann", "s3cret").await;
        let reply = ann.expect_verb(Verb::REGISTER).await;
        assert_eq!(reply.from, Name::SERVER, "R-4.5: answered from server");
        ann.expect_text(Verb::LOGIN, "ann has connected.").await;
        quit(ann).await;
        let mut ann = log_in(&server, net, Verb::AUTH, "ann", "s3cret").await;
        ann.send(Verb::BROADCAST, "ALL", "back again").await;
        ann.expect_text(Verb::BROADCAST, "back again").await;

        // A name that is registered, or online, cannot be registered again; an unknown one cannot AUTH.
        let mut other = try_account(&server, net, Verb::REGISTER, "ann", "mine now").await;
        expect_refused(&mut other).await;
        let _cy = Peer::join(&server, net, "cy").await;
        let mut other = try_account(&server, net, Verb::REGISTER, "cy", "mine now").await;
        expect_refused(&mut other).await;
        let mut other = try_account(&server, net, Verb::AUTH, "zed", "whatever").await;
        expect_refused(&mut other).await;
        server.shutdown("test over").await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_password_is_refused_and_the_client_may_try_again() {
    //
    for net in NETS {
        let server = start_server(Storage::Memory).await;
        quit(log_in(&server, net, Verb::REGISTER, "ann", "right").await).await;
        let mut ann = try_account(&server, net, Verb::AUTH, "ann", "wrong").await;
        expect_refused(&mut ann).await;
        // Not logged in: anything but LOGIN, REGISTER, AUTH and HELP is refused.
        ann.send(Verb::BROADCAST, "ALL", "sneaking in").await;
        ann.expect_error("log in").await;
        ann.send_raw(Message::new(Verb::AUTH, ann.name, Name::SERVER, "right"))
            .await;
        ann.expect_notice(Verb::LOGIN, "ann").await;
        server.shutdown("test over").await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn five_wrong_passwords_lock_the_account_even_against_the_right_one() {
    // five failures for one name within a minute, from any sessions, lock it for a minute.
    for net in NETS {
        let server = start_server(Storage::Memory).await;
        quit(log_in(&server, net, Verb::REGISTER, "ann", "right").await).await;
        quit(log_in(&server, net, Verb::REGISTER, "bob", "bobs").await).await;
        let mut first = try_account(&server, net, Verb::AUTH, "ann", "guess 1").await;
        expect_refused(&mut first).await;
        for guess in ["guess 2", "guess 3"] {
            first
                .send_raw(Message::new(Verb::AUTH, first.name, Name::SERVER, guess))
                .await;
            expect_refused(&mut first).await;
        }
        let mut second = try_account(&server, net, Verb::AUTH, "ann", "guess 4").await;
        expect_refused(&mut second).await;
        second
            .send_raw(Message::new(
                Verb::AUTH,
                second.name,
                Name::SERVER,
                "guess 5",
            ))
            .await;
        expect_refused(&mut second).await;
        // The right password now gets ERROR too, on an old session or a new one.
        let mut third = try_account(&server, net, Verb::AUTH, "ann", "right").await;
        let locked = expect_refused(&mut third).await;
        assert!(!locked.text.contains("wrong password"), "{:?}", locked.text);
        second
            .send_raw(Message::new(Verb::AUTH, second.name, Name::SERVER, "right"))
            .await;
        expect_refused(&mut second).await;
        third.send(Verb::BROADCAST, "ALL", "am I in?").await;
        third.expect_error("log in").await;
        // Only that name is locked.
        log_in(&server, net, Verb::AUTH, "bob", "bobs").await;
        server.shutdown("test over").await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_registered_name_cannot_log_in_without_its_password() {
    //
    for net in NETS {
        let server = start_server(Storage::Memory).await;
        let ann = log_in(&server, net, Verb::REGISTER, "ann", "pw").await;
        let mut impostor = Peer::connect(&server, net, Dialect::V5).await;
        let login = Message::new(Verb::LOGIN, name("ann"), Name::SERVER, "");
        // Online…
        impostor.send_raw(login.clone()).await;
        expect_refused(&mut impostor).await;
        // …and offline.
        quit(ann).await;
        impostor.send_raw(login).await;
        impostor.expect_error("registered").await;
        impostor
            .send_raw(Message::new(Verb::AUTH, name("ann"), Name::SERVER, "pw"))
            .await;
        impostor.expect_notice(Verb::LOGIN, "ann").await;
        server.shutdown("test over").await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn broadcast_and_private_messages_are_confirmed_and_relayed() {
    // The seed's BM and PM, each confirmed to the sender.
    for net in NETS {
        let server = start_server(Storage::Memory).await;
        let mut ann = log_in(&server, net, Verb::REGISTER, "ann", "pw-a").await;
        let mut bob = log_in(&server, net, Verb::REGISTER, "bob", "pw-b").await;
        let mut cy = log_in(&server, net, Verb::REGISTER, "cy", "pw-c").await;

        let number = ann.send(Verb::BROADCAST, "ALL", "BM to all").await;
        ann.expect_confirmed(number).await;
        for peer in [&mut ann, &mut bob, &mut cy] {
            let got = peer.expect_text(Verb::BROADCAST, "BM to all").await;
            assert_eq!((got.from.as_str(), got.to.as_str()), ("ann", "ALL"));
        }

        let number = ann.send(Verb::PRIVATE_MESSAGE, "bob", "PM to bob").await;
        ann.expect_confirmed(number).await;
        for peer in [&mut bob, &mut ann] {
            let got = peer.expect_text(Verb::PRIVATE_MESSAGE, "PM to bob").await;
            assert_eq!((got.from.as_str(), got.to.as_str()), ("ann", "bob"));
        }
        let receipt = ann.expect_verb(Verb::DELIVERED).await;
        assert_eq!((receipt.from.as_str(), receipt.to.as_str()), ("bob", "ann"));
        assert!(receipt.text.starts_with(&format!("{number} ")));
        // cy sees a later broadcast, and no PM before or after it.
        ann.send(Verb::BROADCAST, "ALL", "marker").await;
        let first = cy
            .expect("the marker or a leak", |m| {
                m.verb == Verb::PRIVATE_MESSAGE || m.text == "marker"
            })
            .await;
        assert_eq!(first.verb, Verb::BROADCAST, "cy saw {first:?}");

        // The seed: "the confirmation … or that the user did not exist".
        let number = ann.send(Verb::PRIVATE_MESSAGE, "nobody", "hello?").await;
        ann.expect_confirmed(number).await;
        ann.expect_error("nobody").await;
        server.shutdown("test over").await;
    }
}

/// `(verb name, sender, recipient, text)` of each HISTORY_REPLY up to the `end <count>` marker, whose count
/// must match; each line's time must lie within `window`.
async fn history(
    peer: &mut Peer,
    limit: &str,
    window: std::ops::RangeInclusive<u64>,
) -> Vec<(String, String, String, String)> {
    peer.send(Verb::HISTORY_REQUEST, "server", limit).await;
    let mut entries = Vec::new();
    loop {
        let reply = peer.expect_verb(Verb::HISTORY_REPLY).await;
        if reply.from == Name::SERVER {
            assert_eq!(reply.to, peer.name);
            assert_eq!(reply.text, format!("end {}", entries.len()));
            return entries;
        }
        // `<ms since epoch> <verb name> <text>`.
        let mut parts = reply.text.splitn(3, ' ');
        let ms: u64 = parts.next().unwrap().parse().unwrap_or_else(|_| {
            panic!("{:?} does not start with ms", reply.text);
        });
        assert!(window.contains(&ms), "time {ms} not within {window:?}");
        let verb = parts.next().unwrap().to_owned();
        let text = parts.next().unwrap_or("").to_owned();
        entries.push((verb, reply.from.to_string(), reply.to.to_string(), text));
    }
}

fn entry(verb: &str, from: &str, to: &str, text: &str) -> (String, String, String, String) {
    (verb.into(), from.into(), to.into(), text.into())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn history_shows_broadcasts_your_rooms_and_your_private_messages_only() {
    // R-8.13 (what, in which order, in which format), R-8.7 (not another pair's messages). With both
    // stores: the server's SQLite one (the binary's default) and the in-memory one.
    let dir = tempfile::tempdir().unwrap();
    let stores = [
        Storage::Directory(dir.path().join("tcp")),
        Storage::Directory(dir.path().join("udp")),
        Storage::Memory,
        Storage::Memory,
    ];
    for (net, storage) in NETS.into_iter().cycle().zip(stores) {
        let sqlite = storage != Storage::Memory;
        let server = start_server(storage).await;
        let began = unix_ms();
        let mut ann = log_in(&server, net, Verb::REGISTER, "ann", "pw-a").await;
        let mut bob = log_in(&server, net, Verb::REGISTER, "bob", "pw-b").await;
        let mut cy = log_in(&server, net, Verb::REGISTER, "cy", "pw-c").await;
        ann.send(Verb::ROOM_CREATE, "study", "").await;
        ann.expect_verb(Verb::ROOM_CREATE).await;
        cy.send(Verb::ROOM_CREATE, "secret", "").await;
        cy.expect_verb(Verb::ROOM_CREATE).await;
        for (peer, room) in [
            (&mut ann, "study"),
            (&mut bob, "study"),
            (&mut cy, "secret"),
        ] {
            peer.send(Verb::ROOM_JOIN, room, "").await;
            peer.expect_verb(Verb::ROOM_JOIN).await;
        }
        // One at a time, each confirmed (so stored) before the next, so the order is known.
        let steps = [
            ("ann", Verb::BROADCAST, "ALL", "hello all"),
            ("ann", Verb::PRIVATE_MESSAGE, "bob", "ann to bob"),
            ("bob", Verb::PRIVATE_MESSAGE, "cy", "bob to cy"),
            ("bob", Verb::ROOM_MESSAGE, "study", "in study"),
            ("cy", Verb::ROOM_MESSAGE, "secret", "cy secret"),
            ("cy", Verb::PRIVATE_MESSAGE, "ann", "cy to ann"),
            ("cy", Verb::BROADCAST, "ALL", "bye all"),
        ];
        for (who, verb, to, text) in steps {
            let peer = match who {
                "ann" => &mut ann,
                "bob" => &mut bob,
                _ => &mut cy,
            };
            let number = peer.send(verb, to, text).await;
            peer.expect_confirmed(number).await;
        }
        let window = began..=unix_ms();

        assert_eq!(
            history(&mut ann, "", window.clone()).await,
            vec![
                entry("BROADCAST", "ann", "ALL", "hello all"),
                entry("PRIVATE_MESSAGE", "ann", "bob", "ann to bob"),
                entry("ROOM_MESSAGE", "bob", "study", "in study"),
                entry("PRIVATE_MESSAGE", "cy", "ann", "cy to ann"),
                entry("BROADCAST", "cy", "ALL", "bye all"),
            ],
            "{net:?}, sqlite {sqlite}: ann"
        );
        // The last N, still oldest first.
        assert_eq!(
            history(&mut ann, "2", window.clone()).await,
            vec![
                entry("PRIVATE_MESSAGE", "cy", "ann", "cy to ann"),
                entry("BROADCAST", "cy", "ALL", "bye all"),
            ]
        );
        assert_eq!(
            history(&mut cy, "", window.clone()).await,
            vec![
                entry("BROADCAST", "ann", "ALL", "hello all"),
                entry("PRIVATE_MESSAGE", "bob", "cy", "bob to cy"),
                entry("ROOM_MESSAGE", "cy", "secret", "cy secret"),
                entry("PRIVATE_MESSAGE", "cy", "ann", "cy to ann"),
                entry("BROADCAST", "cy", "ALL", "bye all"),
            ],
            "{net:?}, sqlite {sqlite}: cy"
        );
        // Rooms you are in now: bob leaves study and no longer sees it.
        bob.send(Verb::ROOM_LEAVE, "study", "").await;
        bob.expect_verb(Verb::ROOM_LEAVE).await;
        assert_eq!(
            history(&mut bob, "", window.clone()).await,
            vec![
                entry("BROADCAST", "ann", "ALL", "hello all"),
                entry("PRIVATE_MESSAGE", "ann", "bob", "ann to bob"),
                entry("PRIVATE_MESSAGE", "bob", "cy", "bob to cy"),
                entry("BROADCAST", "cy", "ALL", "bye all"),
            ],
            "{net:?}, sqlite {sqlite}: bob"
        );
        // Asking as someone else is refused, and nothing of theirs comes back.
        ann.send_raw(Message::new(
            Verb::HISTORY_REQUEST,
            name("bob"),
            Name::SERVER,
            "",
        ))
        .await;
        ann.expect_error("ann").await;
        assert_eq!(history(&mut ann, "0", window).await, vec![]);
        server.shutdown("test over").await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn passwords_are_stored_only_as_salted_argon2id_hashes() {
    // the seed "encrypts users' passwords"; here the SQLite file holds argon2id hashes and nothing
    // else of the password.
    const PASSWORD: &str = "correct horse battery staple 7Q";
    const WRONG: &str = "Tr0ub4dor&3 is wrong";
    let dir = tempfile::tempdir().unwrap();
    let server = start_server(Storage::Directory(dir.path().to_path_buf())).await;
    // Two accounts with the same password: the salts must make the hashes differ.
    let _ann = log_in(&server, Net::Tcp, Verb::REGISTER, "ann", PASSWORD).await;
    let _bob = log_in(&server, Net::Udp, Verb::REGISTER, "bob", PASSWORD).await;
    let mut guess = try_account(&server, Net::Tcp, Verb::AUTH, "ann", WRONG).await;
    expect_refused(&mut guess).await;
    server.shutdown("test over").await;

    let db = rusqlite::Connection::open(dir.path().join(DB_FILE)).unwrap();
    let mut rows = db
        .prepare("SELECT name, password_hash FROM accounts ORDER BY rowid")
        .unwrap();
    let accounts: Vec<(String, String)> = rows
        .query_map([], |row| Ok((row.get(0)?, row.get(1)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    let names: Vec<&str> = accounts.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["ann", "bob"]);
    for (name, hash) in &accounts {
        assert!(hash.starts_with("$argon2id$"), "{name}: {hash}");
        assert!(!hash.contains(PASSWORD), "{name}: {hash}");
        // It is a hash of that password, not of something else.
        let parsed = PasswordHash::new(hash).unwrap();
        assert!(Argon2::default()
            .verify_password(PASSWORD.as_bytes(), &parsed)
            .is_ok());
    }
    assert_ne!(
        accounts[0].1, accounts[1].1,
        "same password, same hash: no salt"
    );
    drop(rows);
    drop(db);

    // Nowhere in the files of the data directory (database, log, shared memory) is either password.
    let mut scanned = 0;
    for file in std::fs::read_dir(dir.path()).unwrap() {
        let path = file.unwrap().path();
        let bytes = std::fs::read(&path).unwrap();
        scanned += bytes.len();
        for secret in [PASSWORD, WRONG] {
            assert!(
                !bytes.windows(secret.len()).any(|w| w == secret.as_bytes()),
                "{} holds {secret:?} in clear",
                path.display()
            );
        }
    }
    assert!(scanned > 0, "no data files to scan");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn history_gives_50_by_default_and_at_most_500() {
    // "N (default 50, at most 500)", the newest ones, oldest first.
    // 510 broadcasts at once are beyond the default rate limit (R-9.3: a burst of 100, 50 a second).
    let server = start_server_with(Storage::Memory, |c| c.limits.rate_burst = 1_000).await;
    let mut ann = log_in(&server, Net::Tcp, Verb::REGISTER, "ann", "pw").await;
    let began = unix_ms();
    let mut last = 0;
    for i in 0..510 {
        last = ann.send(Verb::BROADCAST, "ALL", &format!("b{i}")).await;
    }
    ann.expect_confirmed(last).await;
    let window = began..=unix_ms();
    let texts = |entries: Vec<(String, String, String, String)>| -> Vec<String> {
        entries.into_iter().map(|(_, _, _, text)| text).collect()
    };
    let newest = |n: usize| -> Vec<String> { (510 - n..510).map(|i| format!("b{i}")).collect() };
    assert_eq!(
        texts(history(&mut ann, "", window.clone()).await),
        newest(50)
    );
    assert_eq!(
        texts(history(&mut ann, "1000", window.clone()).await),
        newest(500)
    );
    assert_eq!(texts(history(&mut ann, "7", window).await), newest(7));
    server.shutdown("test over").await;
}
