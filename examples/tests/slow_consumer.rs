//! A client that stops reading is cut off, and nobody else waits for it (PROTOCOL.md ).
//!
//! `slow` logs in over a raw TCP socket with a small receive buffer and never reads again, while `ann`
//! broadcasts as fast as the server takes it and `bob` and `cat` read everything. What is queued for `slow`
//! fills up, the server logs why and closes its connection, and the others, who were never held up, get
//! every broadcast exactly once and in order.

mod support;

use std::io::Write;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chatproto::transport::{Incoming, Transport};
use chatproto::{Dialect, Message, Name, Packet, Text, Verb};
use chatproto_examples::server::{Limits, Storage};
use support::{name, start_server_with, Net, Peer, PATIENCE};
use tokio::io::AsyncReadExt;
use tokio::net::{TcpSocket, TcpStream};

/// Broadcasts `ann` sends between reads of her own. The server cuts `slow` off after a few thousand.
const BURST: u32 = 200;
/// Broadcasts at most: if `slow` is still connected after this many, the test fails.
const MAX_BROADCASTS: u32 = 40_000;
/// The last broadcast's text.
const END: &str = "end";

/// What the server logs, kept for the test to read (the hub logs from a thread of its own, so the
/// subscriber is global).
#[derive(Clone, Default)]
struct Log(Arc<Mutex<Vec<u8>>>);

impl Write for Log {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Log {
    fn capture() -> Log {
        let log = Log::default();
        let writer = log.clone();
        tracing_subscriber::fmt()
            .with_max_level(tracing::Level::WARN)
            .with_ansi(false)
            .with_writer(move || writer.clone())
            .init();
        log
    }

    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

/// A v5 frame from `slow`, numbered `number`.
fn frame(verb: Verb, to: Name, number: u32) -> [u8; 337] {
    Packet::new(Dialect::V5, verb, name("slow"), to, Text::EMPTY)
        .unwrap()
        .with_number(number)
        .encode()
}

/// Connects with a receive buffer as small as the kernel allows, so the server's writes block soon, and
/// logs in as `slow`.
async fn slow_client(server: SocketAddr) -> TcpStream {
    let socket = TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(4096).unwrap();
    let stream = socket.connect(server).await.unwrap();
    stream
        .try_write(&frame(Verb::LOGIN, Name::SERVER, 1))
        .unwrap();
    stream
}

/// Whether `message` is the notice that `slow` has left.
fn slow_left(message: &Message) -> bool {
    message.verb == Verb::QUIT && message.from.as_str() == "slow"
}

/// The number in one of `ann`'s broadcasts, `None` for the end marker.
fn broadcast_number(message: &Message) -> Option<Option<u32>> {
    if message.verb != Verb::BROADCAST || message.from.as_str() != "ann" {
        return None;
    }
    if message.text == END {
        return Some(None);
    }
    Some(message.text.parse().ok())
}

/// What one reader saw of `ann`'s broadcasts.
#[derive(Debug, Default)]
struct Seen {
    /// How many came, each checked to be the next in order.
    count: u32,
    /// Whether the end marker came.
    ended: bool,
    /// Whether the notice that `slow` left came.
    slow_left: bool,
}

impl Seen {
    fn take(&mut self, who: &str, message: &Message) {
        if slow_left(message) {
            self.slow_left = true;
        }
        match broadcast_number(message) {
            Some(Some(number)) => {
                // Exactly once and in order: each is the one after the last.
                assert_eq!(
                    number, self.count,
                    "{who}: broadcast out of order or repeated"
                );
                self.count += 1;
            }
            Some(None) => self.ended = true,
            None => {}
        }
    }
}

/// Reads everything until `ann`'s end marker.
async fn read_all(mut peer: Peer) -> Seen {
    let who = peer.name.to_string();
    let mut seen = Seen::default();
    let mut items = Vec::new();
    while !seen.ended {
        items.clear();
        let taken = tokio::time::timeout(PATIENCE, peer.transport.recv_many(&mut items, 256))
            .await
            .unwrap_or_else(|_| panic!("{who}: nothing for {PATIENCE:?} after {seen:?}"))
            .unwrap_or_else(|error| panic!("{who}: {error} after {seen:?}"));
        assert!(taken > 0, "{who}: the server closed after {seen:?}");
        for item in &items {
            if let Incoming::Message(message) = item {
                seen.take(&who, message);
            }
        }
    }
    seen
}

/// `ann` broadcasts in bursts, reading her own back after each (she must keep up too), until she has
/// heard that `slow` has gone; then the end marker. Returns how many she sent and what she saw.
async fn broadcast_until_slow_is_gone(mut ann: Peer) -> (u32, Seen) {
    let mut sent = 0;
    let mut seen = Seen::default();
    let mut items = Vec::new();
    while !seen.slow_left {
        assert!(
            sent < MAX_BROADCASTS,
            "slow was not cut off after {sent} broadcasts"
        );
        for _ in 0..BURST {
            ann.send(Verb::BROADCAST, "ALL", &sent.to_string()).await;
            sent += 1;
        }
        while seen.count < sent {
            items.clear();
            let taken = tokio::time::timeout(PATIENCE, ann.transport.recv_many(&mut items, 256))
                .await
                .expect("ann hears her broadcasts")
                .expect("ann's session lives");
            assert!(taken > 0, "the server closed ann's session");
            for item in &items {
                if let Incoming::Message(message) = item {
                    seen.take("ann", message);
                }
            }
        }
    }
    ann.send(Verb::BROADCAST, "ALL", END).await;
    (sent, seen)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_does_not_read_is_cut_off_and_the_others_get_everything() {
    let log = Log::capture();
    let server = start_server_with(Storage::Memory, |config| {
        config.udp = None;
        // The broadcasts come as fast as the server takes them, far beyond the default rate.
        config.limits = Limits {
            rate_burst: 1_000_000,
            rate_per_second: 1_000_000,
            ..Limits::default()
        };
    })
    .await;
    let addr = server.tcp_addr().unwrap();
    let mut ann = Peer::join(&server, Net::Tcp, "ann").await;
    let bob = Peer::join(&server, Net::Tcp, "bob").await;
    let cat = Peer::join(&server, Net::Tcp, "cat").await;
    let mut slow = slow_client(addr).await;
    ann.expect_notice(Verb::LOGIN, "slow").await;

    // `slow` stays alive by sending PING now and then, but never reads.
    let (mut slow_read, slow_write) = slow.split();
    let pinging = async {
        for number in 2.. {
            tokio::time::sleep(Duration::from_millis(500)).await;
            // A full or closed socket just means the server has stopped reading.
            let _ = slow_write.try_write(&frame(Verb::PING, Name::EMPTY, number));
        }
    };
    let readers = async {
        tokio::join!(
            tokio::spawn(read_all(bob)),
            tokio::spawn(read_all(cat)),
            broadcast_until_slow_is_gone(ann),
        )
    };
    let (bob, cat, (sent, ann)) = tokio::select! {
        outcome = readers => outcome,
        _ = pinging => unreachable!("pinging goes on until the others are done"),
    };
    let (bob, cat) = (bob.unwrap(), cat.unwrap());

    // Everyone else got every broadcast, exactly once and in order (R-9.7: nobody was slowed down so far
    // that anything was lost).
    assert!(sent >= BURST);
    for (who, seen) in [("ann", &ann), ("bob", &bob), ("cat", &cat)] {
        assert_eq!(seen.count, sent, "{who} missed broadcasts");
    }
    assert!(bob.slow_left && cat.slow_left);

    // The server logged why.
    assert!(
        log.text().contains("not keeping up"),
        "no reason logged; the log says: {}",
        log.text()
    );

    // And it closed `slow`'s connection: past what was already on its way, the stream ends.
    let mut buf = vec![0; 64 * 1024];
    let ended = tokio::time::timeout(PATIENCE, async {
        loop {
            match slow_read.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
        }
    })
    .await;
    assert!(ended.is_ok(), "slow's connection is still open");
}
