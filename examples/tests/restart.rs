//! The `chat-server` binary stopped and started again on the same data directory: gracefully with
//! SIGTERM, and killed with SIGKILL in the middle of a load (R-8.13: nothing confirmed is lost).
//! Accounts, messages kept for offline users and history survive both.

#[path = "support/server_process.rs"]
mod server_process;
mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use chatproto::chat::GENERAL;
use chatproto::{Message, Verb};
use server_process::{history_entry, ServerProcess};
use support::*;

fn unix_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64
}

/// `(verb name, sender, recipient, text)` of each HISTORY_REPLY, in order.
fn entries(history: &[Message]) -> Vec<(String, String, String, String)> {
    history
        .iter()
        .filter(|m| m.verb == Verb::HISTORY_REPLY)
        .map(|m| {
            let (_, verb, text) = history_entry(m);
            (
                verb.to_owned(),
                m.from.to_string(),
                m.to.to_string(),
                text.to_owned(),
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_sends_shutdown_exits_0_and_a_restart_keeps_accounts_pms_and_history() {
    // then across the restart.
    for net in NETS {
        let dir = tempfile::tempdir().unwrap();
        let started = unix_ms();
        let mut server = ServerProcess::start(dir.path()).await;
        let mut ann = server.log_in(net, Verb::REGISTER, "ann", "ann-pw").await;
        let bob = server.log_in(net, Verb::REGISTER, "bob", "bob-pw").await;
        ann.expect_text(Verb::LOGIN, "bob has connected.").await;
        bob.quit().await;
        ann.expect_text(Verb::QUIT, "bob has disconnected.").await;

        // A PM kept for bob, offline, two broadcasts and a room message; each confirmed, so durable
        //
        let kept = ann
            .send(Verb::PRIVATE_MESSAGE, "bob", "while you were out")
            .await;
        ann.expect_confirmed(kept).await;
        for (verb, to, text) in [
            (Verb::BROADCAST, "ALL", "first broadcast"),
            (Verb::ROOM_MESSAGE, GENERAL, "to General"),
            (Verb::BROADCAST, "ALL", "second broadcast"),
        ] {
            let number = ann.send(verb, to, text).await;
            ann.expect_confirmed(number).await;
            ann.expect_text(verb, text).await;
        }
        // A session that never logged in is told too: says every session.
        let mut anonymous = server.connect(net).await;
        // Its HELP answered, the hub knows the session before the signal comes.
        anonymous.send(Verb::HELP, "server", "").await;
        anonymous.expect_verb(Verb::HELP).await;

        server.terminate();
        for client in [&mut ann, &mut anonymous] {
            let shutdown = client.expect_verb(Verb::SHUTDOWN).await;
            assert_eq!(
                (shutdown.from.as_str(), shutdown.to.as_str()),
                ("server", "ALL")
            );
            assert!(!shutdown.text.is_empty(), "SHUTDOWN says why");
        }
        let status = server.wait_for_exit(PATIENCE).await;
        assert!(status.success(), "{net:?}: exit {status}");
        server.wait_for_line("chat-server stopped", PATIENCE).await;
        drop(server);

        // The same directory, a new process.
        let server = ServerProcess::start(dir.path()).await;
        let mut bob = server.log_in(net, Verb::AUTH, "bob", "bob-pw").await;
        let pm = bob
            .expect_text(Verb::PRIVATE_MESSAGE, "while you were out")
            .await;
        assert_eq!((pm.from.as_str(), pm.to.as_str()), ("ann", "bob"));
        // ann's account survived too: offline, listed, and her password still works.
        bob.send(Verb::WHO, "server", "").await;
        assert_eq!(
            bob.expect_verb(Verb::WHO).await.text,
            "bob\tavailable\nann\toffline"
        );
        let history = bob.history("").await;
        let seen = entries(&history);
        let owned = |v: &str, f: &str, t: &str, x: &str| {
            (v.to_owned(), f.to_owned(), t.to_owned(), x.to_owned())
        };
        assert_eq!(
            seen,
            vec![
                owned("PRIVATE_MESSAGE", "ann", "bob", "while you were out"),
                owned("BROADCAST", "ann", "ALL", "first broadcast"),
                owned("ROOM_MESSAGE", "ann", GENERAL, "to General"),
                owned("BROADCAST", "ann", "ALL", "second broadcast"),
            ],
            "{net:?}"
        );
        for message in history.iter().filter(|m| m.verb == Verb::HISTORY_REPLY) {
            let (ms, _, _) = history_entry(message);
            assert!(
                (started..=unix_ms()).contains(&ms),
                "history time {ms} is not from this test"
            );
        }
        let _ann = server.log_in(net, Verb::AUTH, "ann", "ann-pw").await;
        bob.expect_text(Verb::LOGIN, "ann has connected.").await;
        // Kept messages go once: bob logs in again and gets none.
        bob.quit().await;
        let mut bob = server.log_in(net, Verb::AUTH, "bob", "bob-pw").await;
        let since_login = bob.history("0").await;
        assert!(
            since_login.iter().all(|m| m.verb != Verb::PRIVATE_MESSAGE),
            "{since_login:#?}"
        );
    }
}

/// Messages the sender fires off without waiting, so that the kill lands while most are in flight.
const LOAD: usize = 200;
/// Confirmations seen before the kill.
const KILL_AFTER: usize = LOAD / 4;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_mid_load_loses_nothing_that_was_confirmed() {
    // a message is durable before its CONFIRM: kept PMs likewise, delivered in order.
    for net in NETS {
        let dir = tempfile::tempdir().unwrap();
        // The load goes faster than the default rate limit allows: a message refused for its rate is
        // confirmed (it arrived) but not stored, which is not what this test is about.
        let unlimited = ["--rate-burst", "100000", "--rate-per-second", "100000"];
        let mut server = ServerProcess::start_with_args(dir.path(), &unlimited).await;
        let mut ann = server.log_in(net, Verb::REGISTER, "ann", "ann-pw").await;
        let bob = server.log_in(net, Verb::REGISTER, "bob", "bob-pw").await;
        bob.quit().await;
        ann.expect_text(Verb::QUIT, "bob has disconnected.").await;

        // PMs to bob (offline: kept and recorded), broadcasts and messages to General (recorded; bob is in
        // General again after the restart, so he may see them).
        let mut sent: BTreeMap<u32, (Verb, String)> = BTreeMap::new();
        let mut order = Vec::new();
        for i in 0..LOAD {
            let (verb, to, text) = match i % 3 {
                0 => (Verb::PRIVATE_MESSAGE, "bob", format!("pm {i}")),
                1 => (Verb::BROADCAST, "ALL", format!("broadcast {i}")),
                _ => (Verb::ROOM_MESSAGE, GENERAL, format!("room {i}")),
            };
            let number = ann.send(verb, to, &text).await;
            sent.insert(number, (verb, text));
            order.push(number);
        }
        ann.confirmed.clear();
        ann.expect_confirmations(KILL_AFTER).await;
        server.kill();
        let at_kill = ann.confirmed.len();
        // Confirmations already on their way count too: the server sent them, so they were durable.
        ann.drain(Duration::from_millis(300)).await;
        let confirmed: BTreeSet<u32> = ann
            .confirmed
            .iter()
            .copied()
            .filter(|n| sent.contains_key(n))
            .collect();
        assert!(
            confirmed.len() < LOAD,
            "{net:?}: the kill came after all {LOAD} were confirmed; it must land mid-load"
        );
        let status = server.wait_for_exit(PATIENCE).await;
        assert!(!status.success(), "killed, not exited: {status}");
        drop(server);

        let server = ServerProcess::start(dir.path()).await;
        let mut bob = server.log_in(net, Verb::AUTH, "bob", "bob-pw").await;
        // The history request is answered after the kept messages, which follow the login.
        let history = bob.history(&LOAD.to_string()).await;
        let kept: Vec<&str> = history
            .iter()
            .filter(|m| m.verb == Verb::PRIVATE_MESSAGE)
            .map(|m| m.text.as_str())
            .collect();
        let recorded: Vec<(String, String)> = entries(&history)
            .into_iter()
            .map(|(verb, _, _, text)| (verb, text))
            .collect();
        for number in &confirmed {
            let (verb, text) = &sent[number];
            let entry = (verb.name().unwrap().to_owned(), text.clone());
            assert!(
                recorded.contains(&entry),
                "{net:?}: confirmed {verb} {text:?} (#{number}) is not in history after the crash"
            );
            if *verb == Verb::PRIVATE_MESSAGE {
                assert!(
                    kept.contains(&text.as_str()),
                    "{net:?}: confirmed PM {text:?} (#{number}) was not kept for bob"
                );
            }
        }
        // Kept PMs come in the order sent, each once, whatever else survived.
        let sent_pms: Vec<&str> = order
            .iter()
            .filter(|n| sent[n].0 == Verb::PRIVATE_MESSAGE)
            .map(|n| sent[n].1.as_str())
            .collect();
        let mut rest = sent_pms.iter();
        for text in &kept {
            assert!(
                rest.any(|t| t == text),
                "{net:?}: kept PMs out of order or repeated: {kept:?}"
            );
        }
        let survived = order
            .iter()
            .filter(|n| {
                let (verb, text) = &sent[n];
                recorded.contains(&(verb.name().unwrap().to_owned(), text.clone()))
            })
            .count();
        println!(
            "{net:?}: sent {LOAD}, confirmed {} ({at_kill} when SIGKILL was sent), survived {survived}, \
             kept PMs delivered {}",
            confirmed.len(),
            kept.len()
        );
        assert!(survived >= confirmed.len());
    }
}
