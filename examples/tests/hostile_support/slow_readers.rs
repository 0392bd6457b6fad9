//! Clients that never read, the clients that write to them, and watching the server close them.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use chatproto::transport::{Incoming, Transport};
use chatproto::{Dialect, Flags, Verb};
use tokio::io::AsyncWriteExt;
use tokio::net::tcp::OwnedReadHalf;
use tokio::time::{sleep, timeout, Instant};

use super::child::ChildServer;
use super::frames::{frame, login};
use super::{pacer, raw};
use crate::support::Peer;

/// Sends private messages of `text` to each of `to` in turn at [`PACE`](super::PACE) until
/// `stop`, reading what comes back, and counts them per recipient in `sent`.
pub async fn send_to(
    mut peer: Peer,
    to: &'static [&'static str],
    text: String,
    sent: Arc<Vec<AtomicU64>>,
    stop: Arc<AtomicBool>,
) {
    let mut pacer = pacer();
    let mut next = 0;
    while !stop.load(Ordering::Relaxed) {
        tokio::select! {
            _ = pacer.tick() => {
                peer.send(Verb::PRIVATE_MESSAGE, to[next], &text).await;
                sent[next].fetch_add(1, Ordering::Relaxed);
                next = (next + 1) % to.len();
            }
            incoming = peer.transport.recv() => {
                if !matches!(incoming, Ok(Some(_))) {
                    panic!("{}: session ended: {incoming:?}", peer.name);
                }
            }
        }
    }
}

/// How the clients that never read fared.
pub struct Closing {
    /// Each one closed: its name, when, and how many messages it had been sent by then.
    pub closed: Vec<(&'static str, Duration, u64)>,
    /// The server's resident memory at most, in KiB.
    pub peak_kib: u64,
}

/// Watches for the QUIT notices of `never_read` until each is closed, one of them still open has
/// been sent more than `close_before` messages, or the server holds `rss_bound_kib` or more. Fails after
/// `hang`, which only stops a hang.
pub async fn watch_closing(
    watcher: &mut Peer,
    server: &ChildServer,
    never_read: &'static [&'static str],
    sent: &[AtomicU64],
    close_before: u64,
    rss_bound_kib: u64,
    hang: Duration,
) -> Closing {
    let started = Instant::now();
    let mut closing = Closing {
        closed: Vec::new(),
        peak_kib: server.rss_kib(),
    };
    loop {
        closing.peak_kib = closing.peak_kib.max(server.rss_kib());
        let open_past_bound = never_read.iter().zip(sent).any(|(who, sent)| {
            !closing.closed.iter().any(|(closed, ..)| closed == who)
                && sent.load(Ordering::Relaxed) > close_before
        });
        if closing.closed.len() == never_read.len()
            || open_past_bound
            || closing.peak_kib >= rss_bound_kib
        {
            return closing;
        }
        assert!(started.elapsed() < hang, "no end after {hang:?}");
        match timeout(Duration::from_millis(200), watcher.transport.recv()).await {
            Ok(Ok(Some(Incoming::Message(m)))) if m.verb == Verb::QUIT => {
                if let Some(at) = never_read.iter().position(|who| m.from.as_str() == *who) {
                    let count = sent[at].load(Ordering::Relaxed);
                    closing
                        .closed
                        .push((never_read[at], started.elapsed(), count));
                }
            }
            Ok(Ok(Some(_))) | Err(_) => {}
            Ok(other) => panic!("watcher: session ended: {other:?}"),
        }
    }
}

/// A client that logs in as `who` over raw TCP, then only sends: a PING a second (a data packet, R-7.8),
/// so that the server hears from it and never declares it gone; it never reads a byte. Returns
/// the unread half of its connection and the task that pings.
pub async fn never_reading(
    server: SocketAddr,
    who: &str,
) -> (OwnedReadHalf, tokio::task::JoinHandle<()>) {
    let stream = raw::tcp(raw::loopback(0), server).await.unwrap();
    let (reader, mut writer) = stream.into_split();
    writer.write_all(&login(Dialect::V5, who)).await.unwrap();
    let pinging = tokio::spawn(async move {
        for number in 2.. {
            sleep(Duration::from_secs(1)).await;
            let ping = frame(Dialect::V5, number, Verb::PING, "", "", Flags::NONE, "");
            if writer.write_all(&ping).await.is_err() {
                return;
            }
        }
    });
    (reader, pinging)
}
