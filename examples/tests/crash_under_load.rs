//! The `chat-server` binary killed with SIGKILL in the middle of a load, restarted on the same data
//! directory, and killed again, cycle after cycle: nothing the server confirmed is lost.
//!
//! In each cycle eight clients (four on TCP, four on UDP) send as fast as the rate limit lets them:
//! BROADCASTs, and PRIVATE_MESSAGEs to `target`, a registered user who is offline, so that the server must
//! keep them. Each client records the messages whose CONFIRM came back: the server confirms a
//! message only once it is durable. At a random point of the load the server is killed, with no
//! chance to flush anything, and started again on the same directory. Then every confirmed message must be
//! in `target`'s history, and every confirmed private message must be delivered to `target` at
//! login, in the order it was sent.
//!
//! The seed of the kill points is printed; `CHATPROTO_SEED=<seed>` replays them.

mod hostile_support;
#[path = "support/server_process.rs"]
mod server_process;
mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use chatproto::sim::SplitMix64;
use chatproto::transport::{Incoming, Transport};
use chatproto::{Message, Name, Verb};
use server_process::{history_entry, ServerProcess};
use support::*;
use tokio::time::{interval, sleep, Instant, MissedTickBehavior};

/// The loading clients: together, at the rate limit, they send faster than one fsync per message allows,
/// so that when the kill comes the server holds messages it has received and not yet stored.
const SENDERS: [(&str, Net); 8] = [
    ("tcp-a", Net::Tcp),
    ("tcp-b", Net::Tcp),
    ("tcp-c", Net::Tcp),
    ("tcp-d", Net::Tcp),
    ("udp-a", Net::Udp),
    ("udp-b", Net::Udp),
    ("udp-c", Net::Udp),
    ("udp-d", Net::Udp),
];
/// Messages each sender has ready per cycle: 480 in all, within the 500 a HISTORY_REQUEST may ask for
/// so that one request sees the whole cycle.
const PER_SENDER: u32 = 60;
/// One message every 22 ms: 45 a second, under the rate limit's 50.
const SEND_EVERY: Duration = Duration::from_millis(22);
/// Kill, restart and check this many times on one directory.
const CYCLES: u32 = 3;
/// After the kill, how long a sender keeps reading confirmations that were already on their way.
const DRAIN_FOR: Duration = Duration::from_millis(500);
/// The registered user who is offline while the others send.
const TARGET: &str = "target";
const TARGET_PASSWORD: &str = "target-pw";

/// What one sender sent in a cycle and which of it the server confirmed.
#[derive(Default)]
struct Sent {
    name: &'static str,
    /// Packet number → verb and text.
    messages: BTreeMap<u32, (Verb, String)>,
    confirmed: BTreeSet<u32>,
}

/// Sends BROADCAST and PRIVATE_MESSAGE to [`TARGET`] in turn, paced under the rate limit, and counts the
/// confirmations in `confirmations` as they come; once `killed`, reads for [`DRAIN_FOR`] more.
async fn load(
    mut peer: Peer,
    name: &'static str,
    cycle: u32,
    confirmations: Arc<AtomicUsize>,
    killed: Arc<AtomicBool>,
) -> Sent {
    let mut sent = Sent {
        name,
        ..Sent::default()
    };
    let me = Name::new(name).unwrap();
    let target = Name::new(TARGET).unwrap();
    let mut tick = interval(SEND_EVERY);
    tick.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let mut next = 0;
    let mut drain_until: Option<Instant> = None;
    loop {
        if drain_until.is_none() && killed.load(Ordering::Relaxed) {
            drain_until = Some(Instant::now() + DRAIN_FOR);
        }
        let draining = drain_until.is_some();
        tokio::select! {
            _ = tick.tick() => {
                if draining {
                    if drain_until.is_some_and(|until| Instant::now() >= until) {
                        return sent;
                    }
                    continue;
                }
                if next == PER_SENDER {
                    continue;
                }
                let (verb, to) = if next % 2 == 0 {
                    (Verb::BROADCAST, Name::ALL)
                } else {
                    (Verb::PRIVATE_MESSAGE, target)
                };
                let text = format!("c{cycle} {name} {next}");
                match peer.transport.send(Message::new(verb, me, to, text.clone())).await {
                    Ok(number) => {
                        sent.messages.insert(number, (verb, text));
                    }
                    // The server is gone; what was confirmed is all there is.
                    Err(_) => return sent,
                }
                next += 1;
            }
            incoming = peer.transport.recv() => match incoming {
                Ok(Some(Incoming::Confirmed(number))) => {
                    if sent.messages.contains_key(&number) && sent.confirmed.insert(number) {
                        confirmations.fetch_add(1, Ordering::Relaxed);
                    }
                }
                Ok(Some(Incoming::Message(_))) => {}
                // The connection went with the server.
                Ok(None) | Err(_) => return sent,
            },
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_mid_load_again_and_again_loses_nothing_confirmed() {
    let seed = hostile_support::seed("crash_under_load");
    let mut rng = SplitMix64::new(seed);
    let dir = tempfile::tempdir().unwrap();
    let mut server = ServerProcess::start(dir.path()).await;
    server
        .log_in(Net::Tcp, Verb::REGISTER, TARGET, TARGET_PASSWORD)
        .await
        .quit()
        .await;
    let planned = PER_SENDER as usize * SENDERS.len();
    let mut total_lost = 0;
    for cycle in 0..CYCLES {
        let confirmations = Arc::new(AtomicUsize::new(0));
        let killed = Arc::new(AtomicBool::new(false));
        let mut loads = Vec::new();
        for (name, net) in SENDERS {
            let mut peer = server.connect(net).await;
            peer.login(name).await;
            loads.push(tokio::spawn(load(
                peer,
                name,
                cycle,
                confirmations.clone(),
                killed.clone(),
            )));
        }
        // Somewhere between 15% and 60% of the way through the cycle's messages.
        let kill_after = planned * 15 / 100 + rng.below((planned * 45 / 100) as u64) as usize;
        let deadline = Instant::now() + Duration::from_secs(60);
        while confirmations.load(Ordering::Relaxed) < kill_after {
            assert!(
                Instant::now() < deadline,
                "cycle {cycle}: only {} confirmations of {kill_after}; stderr:\n{}",
                confirmations.load(Ordering::Relaxed),
                server.stderr()
            );
            sleep(Duration::from_millis(1)).await;
        }
        server.kill();
        let at_kill = confirmations.load(Ordering::Relaxed);
        killed.store(true, Ordering::Relaxed);
        let mut sent = Vec::new();
        for load in loads {
            sent.push(load.await.expect("a loading client"));
        }
        let status = server.wait_for_exit(PATIENCE).await;
        assert!(!status.success(), "killed, not exited: {status}");
        let confirmed: usize = sent.iter().map(|s| s.confirmed.len()).sum();
        assert!(
            confirmed < planned,
            "cycle {cycle}: all {planned} were confirmed before the kill; it must land mid-load"
        );
        drop(server);

        // The same directory, a new process; `target` logs in and is handed what was kept, then asks for
        // the whole cycle's history.
        server = ServerProcess::start(dir.path()).await;
        let mut target = server
            .log_in(Net::Tcp, Verb::AUTH, TARGET, TARGET_PASSWORD)
            .await;
        let history = target.history("500").await;
        let this_cycle = format!("c{cycle} ");
        let kept: Vec<(String, String)> = history
            .iter()
            .filter(|m| m.verb == Verb::PRIVATE_MESSAGE && m.text.starts_with(&this_cycle))
            .map(|m| (m.from.to_string(), m.text.clone()))
            .collect();
        let recorded: BTreeSet<(String, String, String)> = history
            .iter()
            .filter(|m| m.verb == Verb::HISTORY_REPLY && m.from != Name::SERVER)
            .map(|m| {
                let (_, verb, text) = history_entry(m);
                (verb.to_owned(), m.from.to_string(), text.to_owned())
            })
            .collect();

        let mut lost = Vec::new();
        let (mut sent_count, mut survived, mut confirmed_pms) = (0, 0, 0);
        for sender in &sent {
            sent_count += sender.messages.len();
            for (number, (verb, text)) in &sender.messages {
                let entry = (
                    verb.name().unwrap().to_owned(),
                    sender.name.to_owned(),
                    text.clone(),
                );
                let in_history = recorded.contains(&entry);
                survived += usize::from(in_history);
                if !sender.confirmed.contains(number) {
                    continue;
                }
                // confirmed, so durable.
                if !in_history {
                    lost.push(format!("{verb} {text:?} (#{number}) is not in history"));
                }
                // a confirmed message to an offline user is kept and delivered at login.
                if *verb == Verb::PRIVATE_MESSAGE {
                    confirmed_pms += 1;
                    if !kept.contains(&(sender.name.to_owned(), text.clone())) {
                        lost.push(format!(
                            "PM {text:?} (#{number}) was not delivered to {TARGET}"
                        ));
                    }
                }
            }
            // kept messages come in the order they were sent, each once.
            let order: Vec<u32> = kept
                .iter()
                .filter(|(from, _)| from == sender.name)
                .map(|(_, text)| text.rsplit(' ').next().unwrap().parse().unwrap())
                .collect();
            assert!(
                order.windows(2).all(|pair| pair[0] < pair[1]),
                "cycle {cycle}: {}'s kept messages came out of order or twice: {order:?}",
                sender.name
            );
        }
        println!(
            "crash_under_load: cycle {cycle}: SIGKILL after {at_kill} confirmations (planned at \
             {kill_after}); sent {sent_count} of {planned}, confirmed {confirmed}, in history after \
             restart {survived}; kept PMs delivered {} ({confirmed_pms} of them confirmed); lost {}",
            kept.len(),
            lost.len()
        );
        assert!(
            lost.is_empty(),
            "cycle {cycle}: confirmed but lost: {lost:#?}"
        );
        total_lost += lost.len();
        // Offline again for the next cycle.
        target.quit().await;
    }
    println!("crash_under_load: {CYCLES} kills, {total_lost} confirmed messages lost");
}
