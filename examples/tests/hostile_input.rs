//! The `chat-server` binary under a storm of hostile frames while normal clients chat.
//!
//! Dozens of hostile connections, over TCP and UDP and each from a loopback address of its own, hurl
//! mutated conformance vectors at the server: flipped bits, cut and lengthened frames, spliced frames,
//! versions, verbs, flags and numbers at their edges, broken names and text, checksums that match and
//! checksums that don't; and, in a hostile user's name, frames that decode (any verb, any recipient, numbers
//! far outside the window, some aimed at the normal users), runs of fragments past the 64 KiB limit or
//! never finished, and CONFIRM, RESEND and PING for numbers never used. When the server closes one, another opens. Meanwhile four normal
//! clients (v5 and v4, TCP and UDP) broadcast to each other, within the rate limit.
//!
//! The server must not fail in any way (R-4.3: "It MUST NOT fail in any other way"; §9.2: "A server keeps
//! serving its other clients when one client misbehaves"): it is still running at the end, its log shows
//! no panic, every normal client has every normal message (none lost), and a new client can log in.
//!
//! Every choice comes from a seeded generator; the seed is printed, and `CHATPROTO_SEED=<seed>` replays the
//! same frames (their timing against the server's is up to the scheduler).

mod hostile_support;
#[path = "support/server_process.rs"]
mod server_process;
mod support;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chatproto::sim::SplitMix64;
use chatproto::transport::{Incoming, Transport};
use chatproto::{Dialect, Message, Name, Verb};
use hostile_support::frames::{vector_frames, Hostile};
use hostile_support::{proc_stats, raw};
use server_process::ServerProcess;
use support::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::time::{interval, sleep, timeout, Instant, MissedTickBehavior};

/// How long the hostile connections hurl frames.
const STORM: Duration = Duration::from_secs(12);
/// Frames at most, whatever the time: this bounds the work as [`STORM`] bounds the time.
const MAX_FRAMES: u64 = 200_000;
/// Hostile workers per transport; each opens connection after connection.
const WORKERS: usize = 32;
/// Each hostile worker sends this many frames at a time, then pauses for [`HOSTILE_PAUSE`]: about 60
/// frames a second each, some 4,000 in all, which a debug build of the server takes in its stride.
const HOSTILE_BURST: usize = 3;
const HOSTILE_PAUSE: Duration = Duration::from_millis(50);
/// A hostile write the server does not take within this has found a server that stopped reading.
const WRITE_WITHIN: Duration = Duration::from_secs(5);
/// Each normal client sends ten messages a second: a fifth of the rate limit.
const SEND_EVERY: Duration = Duration::from_millis(100);
/// A v4 client resends a message the server has not confirmed within this (v4 has no timer of its own,
/// only UDP loses anything).
const V4_RESEND_AFTER: Duration = Duration::from_secs(3);
/// How long the normal clients wait for the last of each other's messages after the storm.
const SETTLE_WITHIN: Duration = Duration::from_secs(30);

/// The normal clients: every combination of transport and dialect.
const NORMAL: [(&str, Net, Dialect); 4] = [
    ("tcp-v5", Net::Tcp, Dialect::V5),
    ("tcp-v4", Net::Tcp, Dialect::Legacy),
    ("udp-v5", Net::Udp, Dialect::V5),
    ("udp-v4", Net::Udp, Dialect::Legacy),
];

const NORMAL_NAMES: [&str; 4] = [NORMAL[0].0, NORMAL[1].0, NORMAL[2].0, NORMAL[3].0];

#[derive(Default)]
struct Tally {
    connections: [AtomicU64; 2],
    frames: AtomicU64,
    bytes: AtomicU64,
    closed_by_server: AtomicU64,
}

impl Tally {
    fn count_frames(&self, frames: usize, bytes: usize) {
        self.frames.fetch_add(frames as u64, Ordering::Relaxed);
        self.bytes.fetch_add(bytes as u64, Ordering::Relaxed);
    }
}

/// What the hostile workers share.
struct Storm {
    tally: Tally,
    stop: AtomicBool,
    vectors: Vec<Vec<u8>>,
}

impl Storm {
    fn over(&self) -> bool {
        self.stop.load(Ordering::Relaxed) || self.tally.frames.load(Ordering::Relaxed) >= MAX_FRAMES
    }
}

/// A hostile worker on TCP: a connection per script, from its own loopback address; it reads and drops
/// whatever the server says, so the server is never blocked writing to it.
async fn tcp_worker(index: usize, seed: u64, server: SocketAddr, storm: Arc<Storm>) {
    let mut hostile = Hostile::new(seed, storm.vectors.clone()).aiming_at(&NORMAL_NAMES);
    let source = raw::loopback(index);
    for connection in 0.. {
        if storm.over() {
            return;
        }
        let script = hostile.script(&format!("h{index}t{connection}"));
        let stream = raw::tcp(source, server)
            .await
            .unwrap_or_else(|e| panic!("the server refused a TCP connection from {source}: {e}"));
        storm.tally.connections[0].fetch_add(1, Ordering::Relaxed);
        let (mut reader, mut writer) = stream.into_split();
        let drain = tokio::spawn(async move {
            let mut buf = vec![0; 16 * 1024];
            while let Ok(1..) = reader.read(&mut buf).await {}
        });
        for burst in script.chunks(HOSTILE_BURST) {
            if storm.over() {
                break;
            }
            let bytes = burst.concat();
            match timeout(WRITE_WITHIN, writer.write_all(&bytes)).await {
                Ok(Ok(())) => storm.tally.count_frames(burst.len(), bytes.len()),
                Ok(Err(_)) => {
                    storm.tally.closed_by_server.fetch_add(1, Ordering::Relaxed);
                    break;
                }
                Err(_) => {
                    panic!("the server took no bytes from a TCP connection for {WRITE_WITHIN:?}")
                }
            }
            if drain.is_finished() {
                storm.tally.closed_by_server.fetch_add(1, Ordering::Relaxed);
                break;
            }
            sleep(HOSTILE_PAUSE).await;
        }
        let _ = writer.shutdown().await;
        drain.abort();
    }
}

/// A hostile worker on UDP: a new socket (so a new session for the server) per script, from its own
/// loopback address. What comes back is read and dropped.
async fn udp_worker(index: usize, seed: u64, server: SocketAddr, storm: Arc<Storm>) {
    let mut hostile = Hostile::new(seed, storm.vectors.clone()).aiming_at(&NORMAL_NAMES);
    let source = raw::loopback(index);
    for connection in 0.. {
        if storm.over() {
            return;
        }
        let script = hostile.script(&format!("h{index}u{connection}"));
        let socket = Arc::new(raw::udp(source, server).await.expect("a UDP socket"));
        storm.tally.connections[1].fetch_add(1, Ordering::Relaxed);
        let inbound = socket.clone();
        let drain = tokio::spawn(async move {
            let mut buf = vec![0; 2048];
            while inbound.recv(&mut buf).await.is_ok() {}
        });
        for burst in script.chunks(HOSTILE_BURST) {
            if storm.over() {
                break;
            }
            for datagram in burst {
                // A full socket buffer or an ICMP error from an earlier datagram is no news here.
                let _ = socket.send(datagram).await;
            }
            let bytes = burst.iter().map(Vec::len).sum();
            storm.tally.count_frames(burst.len(), bytes);
            sleep(HOSTILE_PAUSE).await;
        }
        drain.abort();
    }
}

/// What one normal client saw.
struct Seen {
    name: &'static str,
    sent: u32,
    /// Per normal sender, the sequence numbers of its messages in the order they arrived.
    received: HashMap<String, Vec<u32>>,
    v4_resends: u32,
}

/// The normal clients' shared knowledge: how many messages each sent in all, once it has stopped.
type Totals = Arc<Mutex<HashMap<&'static str, u32>>>;

fn record(seen: &mut Seen, message: &Message) {
    if message.verb != Verb::BROADCAST || !NORMAL.iter().any(|(n, ..)| message.from.as_str() == *n)
    {
        return;
    }
    // "chk <sender> <n>"
    let mut words = message.text.split(' ');
    if let (Some("chk"), Some(sender), Some(n)) = (words.next(), words.next(), words.next()) {
        assert_eq!(sender, message.from.as_str(), "{message:?}");
        let n: u32 = n.parse().unwrap_or_else(|_| panic!("{message:?}"));
        seen.received.entry(sender.to_owned()).or_default().push(n);
    }
}

fn has_everything(seen: &Seen, totals: &HashMap<&'static str, u32>) -> bool {
    totals.len() == NORMAL.len()
        && totals.iter().all(|(sender, &total)| {
            let got = seen.received.get(*sender).map_or(&[][..], Vec::as_slice);
            (0..total).all(|n| got.contains(&n))
        })
}

/// A normal client: broadcasts `chk <name> <n>` every [`SEND_EVERY`] until the storm is over, reading all
/// the while; then reads until it has every other normal client's messages, or [`SETTLE_WITHIN`] is up. A
/// v4 client sends the next message only once the last is confirmed, as the original client did.
async fn normal_client(
    mut peer: Peer,
    name: &'static str,
    storm_over: Arc<AtomicBool>,
    totals: Totals,
) -> Seen {
    let mut seen = Seen {
        name,
        sent: 0,
        received: HashMap::new(),
        v4_resends: 0,
    };
    let legacy = peer.dialect == Dialect::Legacy;
    let mut tick = interval(SEND_EVERY);
    tick.set_missed_tick_behavior(MissedTickBehavior::Delay);
    // v4: the message sent and not yet confirmed, and when it was (last) sent.
    let mut waiting: Option<Instant> = None;
    let mut sending = true;
    let mut settle_until = None;
    loop {
        if sending && storm_over.load(Ordering::Relaxed) && waiting.is_none() {
            sending = false;
            totals.lock().unwrap().insert(name, seen.sent);
            settle_until = Some(Instant::now() + SETTLE_WITHIN);
        }
        if let Some(until) = settle_until {
            if has_everything(&seen, &totals.lock().unwrap()) || Instant::now() >= until {
                return seen;
            }
        }
        tokio::select! {
            _ = tick.tick() => {
                if !sending {
                    continue;
                }
                let resend = waiting.is_some_and(|at| at.elapsed() >= V4_RESEND_AFTER);
                if waiting.is_some() && !resend {
                    continue;
                }
                if storm_over.load(Ordering::Relaxed) && !resend {
                    continue;
                }
                let text = format!("chk {name} {}", seen.sent);
                let message = Message::new(Verb::BROADCAST, Name::new(name).unwrap(), Name::ALL, text);
                peer.transport
                    .send(message)
                    .await
                    .unwrap_or_else(|e| panic!("{name}: send failed: {e}"));
                if legacy {
                    seen.v4_resends += u32::from(resend);
                    waiting = Some(Instant::now());
                } else {
                    seen.sent += 1;
                }
            }
            incoming = peer.transport.recv() => match incoming {
                Ok(Some(Incoming::Message(message))) => record(&mut seen, &message),
                Ok(Some(Incoming::Confirmed(_))) => {
                    if legacy && waiting.take().is_some() {
                        seen.sent += 1;
                    }
                }
                other => panic!("{name}: the session ended during the storm: {other:?}"),
            },
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_frames_on_many_connections_do_not_disturb_normal_clients() {
    let seed = hostile_support::seed("hostile_input");
    let mut seeds = SplitMix64::new(seed);
    let dir = tempfile::tempdir().unwrap();
    let server = ServerProcess::start(dir.path()).await;

    // The normal clients log in first, from 127.0.0.1, before any hostile traffic.
    let mut normal = Vec::new();
    for (name, net, dialect) in NORMAL {
        let addr = match net {
            Net::Tcp => server.tcp,
            Net::Udp => server.udp,
        };
        let mut peer = Peer::connect_to(addr, net, dialect).await;
        peer.login(name).await;
        normal.push((peer, name));
    }

    let storm = Arc::new(Storm {
        tally: Tally::default(),
        stop: AtomicBool::new(false),
        vectors: vector_frames(),
    });
    let storm_over = Arc::new(AtomicBool::new(false));
    let totals: Totals = Arc::default();
    let started = Instant::now();
    let clients: Vec<_> = normal
        .into_iter()
        .map(|(peer, name)| {
            tokio::spawn(normal_client(
                peer,
                name,
                storm_over.clone(),
                totals.clone(),
            ))
        })
        .collect();
    let mut workers = Vec::new();
    for index in 0..WORKERS {
        let tcp_seed = seeds.next_u64();
        let udp_seed = seeds.next_u64();
        workers.push(tokio::spawn(tcp_worker(
            index,
            tcp_seed,
            server.tcp,
            storm.clone(),
        )));
        workers.push(tokio::spawn(udp_worker(
            WORKERS + index,
            udp_seed,
            server.udp,
            storm.clone(),
        )));
    }

    let storm_ends = started + STORM;
    while Instant::now() < storm_ends && !storm.over() {
        sleep(Duration::from_millis(100)).await;
        assert!(
            proc_stats::is_running(server.pid()),
            "chat-server died during the storm; stderr:\n{}",
            server.stderr()
        );
    }
    storm.stop.store(true, Ordering::Relaxed);
    for worker in workers {
        worker.await.expect("a hostile worker");
    }
    let stormed_for = started.elapsed();
    storm_over.store(true, Ordering::Relaxed);
    let mut seen = Vec::new();
    for client in clients {
        seen.push(client.await.expect("a normal client"));
    }

    // Every normal message reached every normal client (R-8.5: the sender included), in order.
    let totals = totals.lock().unwrap().clone();
    let (mut checked, mut lost, mut duplicates, mut resends) = (0u64, Vec::new(), 0usize, 0u32);
    for client in &seen {
        resends += client.v4_resends;
        if client.v4_resends > 0 {
            println!("hostile_input: {} resent {} message(s) the server had not confirmed within {V4_RESEND_AFTER:?}", client.name, client.v4_resends);
        }
        for (sender, &total) in &totals {
            let got = client.received.get(*sender).cloned().unwrap_or_default();
            let mut firsts: Vec<u32> = Vec::new();
            for &n in &got {
                if firsts.contains(&n) {
                    duplicates += 1;
                } else {
                    firsts.push(n);
                }
            }
            assert!(
                firsts.windows(2).all(|pair| pair[0] < pair[1]),
                "{} got {sender}'s messages out of order: {firsts:?}",
                client.name
            );
            checked += u64::from(total);
            let missing: Vec<u32> = (0..total).filter(|n| !firsts.contains(n)).collect();
            if !missing.is_empty() {
                lost.push(format!("{} lost {sender}'s {missing:?}", client.name));
            }
        }
    }
    let tally = &storm.tally;
    println!(
        "hostile_input: {} TCP and {} UDP hostile connections opened over {stormed_for:.1?} ({} closed \
         by the server mid-script); {} frames hurled ({} bytes); normal clients sent {} messages, \
         {checked} deliveries checked, {} lost, {duplicates} duplicates (v4 resends: {resends}); \
         server RSS {} KiB",
        tally.connections[0].load(Ordering::Relaxed),
        tally.connections[1].load(Ordering::Relaxed),
        tally.closed_by_server.load(Ordering::Relaxed),
        tally.frames.load(Ordering::Relaxed),
        tally.bytes.load(Ordering::Relaxed),
        totals.values().sum::<u32>(),
        lost.len(),
        proc_stats::rss_kib(server.pid()).unwrap_or(0),
    );
    assert!(lost.is_empty(), "normal messages lost: {lost:#?}");
    assert!(
        seen.iter().all(|client| client.sent > 0),
        "every normal client sent something"
    );

    // Still serving, never panicked: a new client logs in and hears its own broadcast.
    assert!(proc_stats::is_running(server.pid()), "chat-server exited");
    let stderr = server.stderr();
    assert!(
        !stderr.contains("panicked"),
        "chat-server panicked:\n{stderr}"
    );
    let mut late = Peer::connect_to(server.tcp, Net::Tcp, Dialect::V5).await;
    late.login("late").await;
    late.send(Verb::BROADCAST, "ALL", "after the storm").await;
    late.expect_text(Verb::BROADCAST, "after the storm").await;
}
