//! The `chat-server` binary short of resources, and clients that try to make it hold as much as they can.
//!
//! - Out of file descriptors: started with a small `RLIMIT_NOFILE`, it is sent TCP connections
//!   until it can accept no more; the sessions it has go on, and once connections close it accepts again.
//! - Clients that never read: one keeps talking, so it is never silent long enough to be declared
//!   gone, the other is a session whose application stopped reading; while others send them
//!   messages, the server must close both, not queue for them without end, and the others must not
//!   notice.
//! - Memory pressure (R-6.3, R-7.6, R-9.4, §9.2): messages at and past the 64 KiB reassembly limit, many
//!   messages never finished, packets held out of order, many rooms; the server's resident memory stays
//!   small and it keeps serving. A message at the limit also comes back whole in history.
//!
//! Every hostile client sends within the rate limit, so that what is tested is what it makes the
//! server hold, not how fast it sends.

mod hostile_support;
#[path = "support/server_process.rs"]
mod server_process;
mod support;

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use chatproto::fragment::DEFAULT_LIMIT;
use chatproto::transport::{Incoming, Transport};
use chatproto::{Dialect, Flags, Message, Name, Verb};
use chatproto_examples::server::Storage;
use hostile_support::child::{ChildOptions, ChildServer};
use hostile_support::frames::{frame, login, Hostile};
use hostile_support::raw::{self, DrainedTcp};
use hostile_support::slow_readers::{never_reading, send_to, watch_closing};
use hostile_support::{pacer, proc_stats};
use support::*;
use tokio::io::AsyncReadExt;
use tokio::time::{sleep, Instant};

/// The server's descriptor limit: its own needs (stdio, epoll, listeners, SQLite) take about 20.
const FD_LIMIT: u64 = 64;
/// How long a LOGIN may go unanswered before the connection counts as not accepted. Generous: a debug
/// build answers in milliseconds.
const ANSWER_WITHIN: Duration = Duration::from_secs(2);
/// Bound on the server's resident memory under the hostile clients below: they ask it to hold a few MiB.
const RSS_BOUND_KIB: u64 = 200 * 1024;

/// Sends LOGIN and waits at most `within` for the notice that it worked.
async fn logs_in(peer: &mut Peer, who: &str, within: Duration) -> bool {
    peer.name = name(who);
    peer.send_raw(Message::new(Verb::LOGIN, peer.name, Name::SERVER, ""))
        .await;
    answered(peer, within).await
}

/// Waits at most `within` for the peer's own LOGIN notice.
async fn answered(peer: &mut Peer, within: Duration) -> bool {
    let deadline = Instant::now() + within;
    loop {
        match tokio::time::timeout_at(deadline, peer.transport.recv()).await {
            Ok(Ok(Some(Incoming::Message(m)))) if m.verb == Verb::LOGIN && m.from == peer.name => {
                return true
            }
            Ok(Ok(Some(_))) => {}
            Ok(Ok(None)) | Ok(Err(_)) | Err(_) => return false,
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn out_of_file_descriptors_the_server_keeps_its_sessions_and_accepts_again() {
    //
    let dir = tempfile::tempdir().unwrap();
    let mut server = ChildServer::start(ChildOptions {
        data_dir: Some(dir.path().to_owned()),
        max_open_files: Some(FD_LIMIT),
        args: Vec::new(),
    })
    .await;
    let pid = server.pid();
    let at_start = proc_stats::open_fds_below(pid, FD_LIMIT).unwrap();
    let mut ann = Peer::connect_to(server.tcp, Net::Tcp, Dialect::V5).await;
    ann.login("ann").await;
    // A UDP session needs no descriptor of its own.
    let mut bob = Peer::connect_to(server.udp, Net::Udp, Dialect::V5).await;
    bob.login("bob").await;

    // Connection after connection, each logged in, until one is not answered while every descriptor is in
    // use: the kernel queued it, but the server could not accept it.
    let mut held = Vec::new();
    let refused = loop {
        assert!(
            held.len() <= FD_LIMIT as usize,
            "{} connections accepted with {FD_LIMIT} descriptors",
            held.len()
        );
        let mut extra = Peer::connect_to(server.tcp, Net::Tcp, Dialect::V5).await;
        if logs_in(&mut extra, &format!("fd{}", held.len()), ANSWER_WITHIN).await {
            held.push(extra);
            continue;
        }
        if proc_stats::open_fds_below(pid, FD_LIMIT) == Some(FD_LIMIT) {
            break extra;
        }
        // Only slow, with descriptors to spare: it must still be answered.
        assert!(
            answered(&mut extra, PATIENCE).await,
            "a LOGIN went unanswered with descriptors to spare; stderr:\n{}",
            server.stderr()
        );
        held.push(extra);
    };
    let when_full = proc_stats::open_fds_below(pid, FD_LIMIT).unwrap();
    server.assert_healthy();

    // The sessions it has go on, over both transports, and a UDP client can still log in.
    ann.send(Verb::BROADCAST, "ALL", "while full").await;
    ann.expect_text(Verb::BROADCAST, "while full").await;
    bob.expect_text(Verb::BROADCAST, "while full").await;
    let mut cy = Peer::connect_to(server.udp, Net::Udp, Dialect::V5).await;
    cy.login("cy").await;

    // Descriptors free again: it accepts again, the queued connection and new ones alike.
    drop(refused);
    let count = held.len();
    drop(held);
    let deadline = Instant::now() + PATIENCE;
    let mut dee = loop {
        let mut dee = Peer::connect_to(server.tcp, Net::Tcp, Dialect::V5).await;
        if logs_in(&mut dee, "dee", ANSWER_WITHIN).await {
            break dee;
        }
        assert!(
            Instant::now() < deadline,
            "no TCP connection accepted {PATIENCE:?} after {count} were closed; stderr:\n{}",
            server.stderr()
        );
    };
    dee.send(Verb::BROADCAST, "ALL", "accepted again").await;
    for peer in [&mut ann, &mut bob, &mut cy, &mut dee] {
        peer.expect_text(Verb::BROADCAST, "accepted again").await;
    }
    server.assert_healthy();
    println!(
        "resource_exhaustion: RLIMIT_NOFILE {FD_LIMIT}: {at_start} descriptors in use at start, {count} \
         extra connections held, {when_full} of {FD_LIMIT} in use when full; {} accept failures \
         logged; accepting again after they closed",
        server.stderr().matches("accept failed").count()
    );
}

/// Senders, each at the rate limit: together some 540 messages a second.
const SENDERS: usize = 12;
/// The clients that never read: `slow` over raw TCP, `lazy` a session whose application never reads.
const NEVER_READ: &[&str] = &["slow", "lazy"];
/// Messages a never-reading client may be sent before it must have been closed: twice what the server's
/// queues for a session hold (an outbox of 4,096 messages and a send buffer of 4,096 packets).
const CLOSE_BEFORE: u64 = 2 * (4096 + 4096);
/// Only to stop a hang: a debug build gets through [`CLOSE_BEFORE`] messages well within it.
const HANG: Duration = Duration::from_secs(180);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_never_reads_is_closed_and_the_others_do_not_notice() {
    // In memory, so that storage does not pace the senders.
    let mut server = ChildServer::start(ChildOptions::default()).await;
    let baseline = server.rss_kib();

    let (mut slow_reader, pinging) = never_reading(server.tcp, "slow").await;

    // `lazy` is a session like any other, but its application never takes what arrives: its transport
    // keeps the connection alive and drops what it cannot hand over.
    let mut lazy = Peer::connect_to(server.tcp, Net::Tcp, Dialect::V5).await;
    lazy.login("lazy").await;

    let mut watcher = Peer::connect_to(server.tcp, Net::Tcp, Dialect::V5).await;
    watcher.login("watcher").await;
    let stop = Arc::new(AtomicBool::new(false));
    let sent: Arc<Vec<AtomicU64>> =
        Arc::new(NEVER_READ.iter().map(|_| AtomicU64::new(0)).collect());
    let mut senders = Vec::new();
    for i in 0..SENDERS {
        let mut peer = Peer::connect_to(server.tcp, Net::Tcp, Dialect::V5).await;
        peer.login(&format!("sender{i}")).await;
        let text = format!("from sender{i}");
        senders.push(tokio::spawn(send_to(
            peer,
            NEVER_READ,
            text,
            sent.clone(),
            stop.clone(),
        )));
    }
    let closing = watch_closing(
        &mut watcher,
        &server,
        NEVER_READ,
        &sent,
        CLOSE_BEFORE,
        RSS_BOUND_KIB,
        HANG,
    )
    .await;
    stop.store(true, Ordering::Relaxed);
    for sender in senders {
        sender.await.expect("a sender");
    }
    server.assert_healthy();
    let peak = closing.peak_kib;
    println!(
        "resource_exhaustion: clients that never read: closed (name, after, messages sent to it by \
         then) {:.1?}; server RSS {baseline} KiB at start, {peak} KiB at most",
        closing.closed
    );
    assert_eq!(
        closing.closed.len(),
        NEVER_READ.len(),
        "a client that never reads was still open after {CLOSE_BEFORE} messages were sent to it \
         (R-9.7); stderr:\n{}",
        server.stderr()
    );
    assert!(peak < RSS_BOUND_KIB, "server RSS {peak} KiB");

    // Closed, not merely forgotten: what was written to it ends, and nothing more comes.
    let mut buf = vec![0; 64 * 1024];
    let deadline = Instant::now() + PATIENCE;
    loop {
        match tokio::time::timeout_at(deadline, slow_reader.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => break,
            Ok(Ok(_)) => {}
            Err(_) => panic!("the server still holds the connection of `slow` open"),
        }
    }
    pinging.abort();
    drop(lazy);

    // The others never noticed: the watcher still chats.
    watcher.send(Verb::BROADCAST, "ALL", "still here").await;
    watcher.expect_text(Verb::BROADCAST, "still here").await;
}

/// Counts of what the hostile clients sent, for the figures.
#[derive(Default)]
struct Sent {
    frames: AtomicU64,
    connections: AtomicU64,
}

/// Logs in as `who` over raw TCP from loopback address `index`, then sends `frames` at the rate limit.
async fn raw_session(
    server: SocketAddr,
    index: usize,
    who: Option<&str>,
    frames: Vec<[u8; chatproto::FRAME_LEN]>,
    sent: Arc<Sent>,
) -> DrainedTcp {
    let mut conn = DrainedTcp::open(raw::loopback(index), server)
        .await
        .expect("a TCP connection");
    sent.connections.fetch_add(1, Ordering::Relaxed);
    if let Some(who) = who {
        conn.send_paced(&[login(Dialect::V5, who)]).await.unwrap();
    }
    conn.send_paced(&frames)
        .await
        .expect("the server takes what is sent");
    sent.frames.fetch_add(
        frames.len() as u64 + u64::from(who.is_some()),
        Ordering::Relaxed,
    );
    conn
}

/// The same over UDP.
async fn raw_datagrams(
    server: SocketAddr,
    index: usize,
    frames: Vec<[u8; chatproto::FRAME_LEN]>,
    sent: Arc<Sent>,
) {
    let socket = raw::udp(raw::loopback(index), server).await.unwrap();
    sent.connections.fetch_add(1, Ordering::Relaxed);
    let mut pacer = pacer();
    for frame in &frames {
        pacer.tick().await;
        socket.send(frame).await.unwrap();
    }
    sent.frames
        .fetch_add(frames.len() as u64, Ordering::Relaxed);
}

/// Sessions at the 64 KiB limit, past it, holding an unfinished message, and holding packets out of order.
const AT_LIMIT: usize = 4;
const PAST_LIMIT: usize = 4;
const UNFINISHED: usize = 24;
const OUT_OF_ORDER: usize = 24;
/// Users creating rooms, and rooms each creates (and joins).
const ROOM_MAKERS: usize = 10;
const ROOMS_EACH: usize = 99;

/// A room name of the full 32 bytes.
fn room_name(maker: usize, room: usize) -> String {
    format!("r{maker:02}-{room:03}-")
        .chars()
        .chain(std::iter::repeat('x'))
        .take(32)
        .collect()
}

/// Creates and joins [`ROOMS_EACH`] rooms at the rate limit (R-9.4: with `General`, as many as a user may
/// be in).
async fn make_rooms(mut peer: Peer, maker: usize) -> Peer {
    let mut pacer = pacer();
    for room in 0..ROOMS_EACH {
        let name = room_name(maker, room);
        for verb in [Verb::ROOM_CREATE, Verb::ROOM_JOIN] {
            pacer.tick().await;
            peer.send(verb, &name, "").await;
            let reply = peer.expect_verb(verb).await;
            assert_eq!(reply.from, Name::SERVER, "{reply:?}");
        }
    }
    peer
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_clients_cannot_make_the_server_hold_much_memory() {
    let seed = hostile_support::seed("resource_exhaustion");
    let dir = tempfile::tempdir().unwrap();
    // The server's default limit leaves room for the history prefix; raised here to a client's own
    // default, so that the messages at the limit are exactly 64 KiB.
    let mut server = ChildServer::start(ChildOptions {
        data_dir: Some(dir.path().to_owned()),
        max_open_files: None,
        args: vec!["--max-message".into(), DEFAULT_LIMIT.to_string()],
    })
    .await;
    let mut ann = Peer::connect_to(server.tcp, Net::Tcp, Dialect::V5).await;
    ann.login("ann").await;
    let mut bob = Peer::connect_to(server.udp, Net::Udp, Dialect::V5).await;
    bob.login("bob").await;
    let baseline = server.rss_kib();

    let mut hostile = Hostile::new(seed, Vec::new());
    let sent = Arc::new(Sent::default());
    let mut sessions = Vec::new();
    let mut index = 0;
    let mut next_index = || {
        index += 1;
        index
    };
    // Exactly 64 KiB in 256 fragments: at the limit, so relayed to everyone.
    for i in 0..AT_LIMIT {
        let who = format!("big{i}");
        let frames = hostile.fragments(&who, 2, 256, true);
        let (server, sent, at) = (server.tcp, sent.clone(), next_index());
        sessions.push(tokio::spawn(async move {
            raw_session(server, at, Some(&who), frames, sent).await
        }));
    }
    // 300 fragments: past the limit, so the message is dropped, and the rest of it unbuffered.
    for i in 0..PAST_LIMIT {
        let who = format!("over{i}");
        let frames = hostile.fragments(&who, 2, 300, true);
        let (server, sent, at) = (server.tcp, sent.clone(), next_index());
        sessions.push(tokio::spawn(async move {
            raw_session(server, at, Some(&who), frames, sent).await
        }));
    }
    // 250 fragments and never the last, half over UDP, before logging in: held until the session ends.
    let mut datagrams = Vec::new();
    for i in 0..UNFINISHED {
        let frames = hostile.fragments(&format!("unfinished{i}"), 1, 250, false);
        let (tcp, udp, sent, at) = (server.tcp, server.udp, sent.clone(), next_index());
        if i % 2 == 0 {
            sessions.push(tokio::spawn(async move {
                raw_session(tcp, at, None, frames, sent).await
            }));
        } else {
            datagrams.push(tokio::spawn(raw_datagrams(udp, at, frames, sent)));
        }
    }
    // Packets 2 to 256, never 1: held out of order, up to the receive window.
    for i in 0..OUT_OF_ORDER {
        let who = format!("gap{i}");
        let frames: Vec<_> = (2..=256)
            .map(|n| {
                frame(
                    Dialect::V5,
                    n,
                    Verb::BROADCAST,
                    &who,
                    "ALL",
                    Flags::NONE,
                    "held",
                )
            })
            .collect();
        let (server, sent, at) = (server.tcp, sent.clone(), next_index());
        sessions.push(tokio::spawn(async move {
            raw_session(server, at, None, frames, sent).await
        }));
    }
    // Rooms with the longest names, each maker in as many as it may be.
    let mut makers = Vec::new();
    for maker in 0..ROOM_MAKERS {
        let mut peer = Peer::connect_to(server.tcp, Net::Tcp, Dialect::V5).await;
        peer.login(&format!("maker{maker}")).await;
        makers.push(tokio::spawn(make_rooms(peer, maker)));
    }

    // Sample the server's memory until every hostile client has sent everything.
    let mut peak = baseline;
    let everything_sent = async {
        let mut held = Vec::new();
        for session in sessions {
            held.push(session.await.expect("a hostile session"));
        }
        for datagrams in datagrams {
            datagrams.await.expect("hostile datagrams");
        }
        let mut rooms = Vec::new();
        for maker in makers {
            rooms.push(maker.await.expect("a room maker"));
        }
        (held, rooms)
    };
    tokio::pin!(everything_sent);
    let (held, _makers) = loop {
        tokio::select! {
            done = &mut everything_sent => break done,
            _ = sleep(Duration::from_millis(100)) => {
                peak = peak.max(server.rss_kib());
                server.assert_healthy();
            }
        }
    };
    peak = peak.max(server.rss_kib());

    // The messages at the limit reached ann whole; those past it reached no one.
    for i in 0..AT_LIMIT {
        let big = ann.expect_notice(Verb::BROADCAST, &format!("big{i}")).await;
        assert_eq!(big.text.len(), DEFAULT_LIMIT);
    }
    ann.send(Verb::BROADCAST, "ALL", "flush").await;
    ann.expect_text(Verb::BROADCAST, "flush").await;
    bob.expect_text(Verb::BROADCAST, "flush").await;
    ann.expect_nothing(Duration::ZERO, |m| {
        m.verb == Verb::BROADCAST && m.from.as_str().starts_with("over")
    })
    .await;

    // Every room is there, and the list of them still arrives.
    ann.send(Verb::ROOM_LIST, "server", "").await;
    let list = ann.expect_verb(Verb::ROOM_LIST).await;
    let rooms: Vec<&str> = list.text.lines().collect();
    assert_eq!(
        rooms.len(),
        1 + ROOM_MAKERS * ROOMS_EACH,
        "ROOM_LIST {} bytes",
        list.text.len()
    );
    assert!(rooms.contains(&room_name(ROOM_MAKERS - 1, ROOMS_EACH - 1).as_str()));

    server.assert_healthy();
    let closed = held.iter().filter(|conn| conn.closed_by_server()).count();
    println!(
        "resource_exhaustion: memory pressure: {} hostile connections sent {} frames ({AT_LIMIT} \
         messages of 64 KiB, {PAST_LIMIT} past it, {UNFINISHED} never finished, {OUT_OF_ORDER} held out \
         of order, {} rooms); {closed} of the TCP ones closed by the server; server RSS {baseline} KiB \
         at start, {peak} KiB at most, {} KiB at the end",
        sent.connections.load(Ordering::Relaxed),
        sent.frames.load(Ordering::Relaxed),
        ROOM_MAKERS * ROOMS_EACH,
        server.rss_kib()
    );
    assert!(peak < RSS_BOUND_KIB, "server RSS {peak} KiB");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_message_at_the_size_limit_comes_back_in_history() {
    // a message of exactly the server's limit is accepted and relayed: it is recorded, so a
    // HISTORY_REPLY carries it, and that reply must be one a client with the default limit can reassemble.
    let server = start_server(Storage::Memory).await;
    let mut ann = Peer::join(&server, Net::Tcp, "ann").await;
    let limit = chatproto::chat::Limits::default().max_message;
    assert!(
        limit < DEFAULT_LIMIT,
        "the server leaves clients room for the history prefix"
    );
    let text = "z".repeat(limit);
    ann.send(Verb::BROADCAST, "ALL", &text).await;
    ann.expect_text(Verb::BROADCAST, &text).await;
    // `history` checks the `end <count>` marker against the entries that arrived.
    let history = ann.history("1").await;
    let entry = history
        .iter()
        .find(|m| m.verb == Verb::HISTORY_REPLY)
        .expect("the broadcast in history");
    assert!(
        entry.text.ends_with(&text),
        "history lost part of the message"
    );
}

/// Rooms created for the ROOM_LIST test: with 32-byte names, a list of them all is longer than the 64 KiB
/// a client reassembles by default, though far fewer than the 10,000 rooms allows.
const MANY_ROOMS: usize = 2_100;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_room_list_still_arrives_after_hostile_users_create_thousands_of_rooms() {
    // ROOM_LIST is answered: room creation is bounded, but what the bound allows must not
    // make the answer one a client cannot receive.
    let server = start_server(Storage::Memory).await;
    let mut makers = Vec::new();
    for maker in 0..ROOM_MAKERS {
        let mut peer = Peer::join(&server, Net::Tcp, &format!("maker{maker}")).await;
        makers.push(tokio::spawn(async move {
            let mut pacer = pacer();
            for room in (maker..MANY_ROOMS).step_by(ROOM_MAKERS) {
                pacer.tick().await;
                peer.send(Verb::ROOM_CREATE, &room_name(room / 1000, room % 1000), "")
                    .await;
                peer.expect_verb(Verb::ROOM_CREATE).await;
            }
        }));
    }
    for maker in makers {
        maker.await.expect("a room maker");
    }
    let mut ann = Peer::join(&server, Net::Tcp, "ann").await;
    ann.send(Verb::ROOM_LIST, "server", "").await;
    let list = ann.expect_verb(Verb::ROOM_LIST).await;
    println!(
        "resource_exhaustion: {MANY_ROOMS} rooms of 32-byte names; ROOM_LIST reply {} bytes",
        list.text.len()
    );
}

/// Clients sending messages of the full 64 KiB to one that never reads.
const BIG_SENDERS: usize = 8;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn messages_of_64_kib_to_a_client_that_never_reads_do_not_pile_up() {
    // what is queued for one session is bounded, and a session whose queue is full is closed. The
    // bound must hold in bytes, not only in messages: each of these is as long as allows.
    let mut server = ChildServer::start(ChildOptions::default()).await;
    let baseline = server.rss_kib();
    let (_unread, pinging) = never_reading(server.tcp, "slow").await;
    let mut watcher = Peer::connect_to(server.tcp, Net::Tcp, Dialect::V5).await;
    watcher.login("watcher").await;
    let stop = Arc::new(AtomicBool::new(false));
    let sent = Arc::new(vec![AtomicU64::new(0)]);
    let mut senders = Vec::new();
    for i in 0..BIG_SENDERS {
        let mut peer = Peer::connect_to(server.tcp, Net::Tcp, Dialect::V5).await;
        peer.login(&format!("big{i}")).await;
        let text = "q".repeat(chatproto::chat::Limits::default().max_message);
        senders.push(tokio::spawn(send_to(
            peer,
            &["slow"],
            text,
            sent.clone(),
            stop.clone(),
        )));
    }
    let closing = watch_closing(
        &mut watcher,
        &server,
        &["slow"],
        &sent,
        CLOSE_BEFORE,
        RSS_BOUND_KIB,
        HANG,
    )
    .await;
    stop.store(true, Ordering::Relaxed);
    for sender in senders {
        sender.await.expect("a sender");
    }
    pinging.abort();
    server.assert_healthy();
    let (peak, count) = (closing.peak_kib, sent[0].load(Ordering::Relaxed));
    println!(
        "resource_exhaustion: {count} messages of 64 KiB sent to a client that never reads; closed \
         (name, after, messages sent to it by then) {:.1?}; server RSS {baseline} KiB at start, {peak} \
         KiB at most",
        closing.closed
    );
    assert!(
        peak < RSS_BOUND_KIB,
        "the server held {peak} KiB for a client that never reads, sent {count} messages of 64 KiB"
    );
    assert!(
        !closing.closed.is_empty(),
        "a client that never reads was still open after {count} messages (R-9.7)"
    );
}
