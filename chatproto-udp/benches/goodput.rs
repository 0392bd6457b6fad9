//! UDP goodput under loss: one client streams messages to a server over loopback, both sockets wrapped in a
//! seeded [`FaultySocket`]. Goodput is application messages delivered per second, measured at the receiver
//! from the first send to the last delivery.
//!
//! ```text
//! cargo bench -p chatproto-udp --bench goodput            # default SessionConfig, then a short exploration
//! cargo bench -p chatproto-udp --bench goodput -- quick   # default SessionConfig only
//! ```
//!
//! Every run is bounded: at most `MESSAGES` messages and `ROW_CAP` of wall time (a few runs per row), and
//! the exploration stops starting configurations after 50 s, so the whole bench stays within about a
//! minute even if a configuration stalls.

use std::io;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use chatproto::session::SessionConfig;
use chatproto::sim::FaultConfig;
use chatproto::transport::{Incoming, Listener, Transport};
use chatproto::{Message, Name, Verb};
use chatproto_udp::{connect_on, DatagramSocket, FaultySocket, UdpChatListener, UdpOptions};

/// Messages per run.
const MESSAGES: usize = 20_000;
/// Bytes of text per message (one frame: the text field holds 256).
const TEXT: usize = 200;
/// Wall time a run may take at most; a row that hits it reports what was delivered so far.
const ROW_CAP: Duration = Duration::from_secs(3);
/// Rounds in the main table (each: a lossless run, then one run per lossy network).
const REPS: usize = 4;
/// Rounds per configuration in the exploration.
const EXPLORE_REPS: usize = 3;
/// Time allowed for the closing handshake after the last delivery.
const CLOSE_CAP: Duration = Duration::from_secs(2);

/// Counts datagrams handed to the (faulty) socket, i.e. what the session transmitted, retransmissions
/// included, before the faults decide their fate.
#[derive(Debug)]
struct Counting<S> {
    inner: S,
    sent: Arc<AtomicU64>,
}

#[async_trait]
impl<S: DatagramSocket> DatagramSocket for Counting<S> {
    async fn send_to(&self, buf: &[u8], target: SocketAddr) -> io::Result<usize> {
        self.sent.fetch_add(1, Ordering::Relaxed);
        self.inner.send_to(buf, target).await
    }

    async fn recv_from(&self, buf: &mut [u8]) -> io::Result<(usize, SocketAddr)> {
        self.inner.recv_from(buf).await
    }

    fn local_addr(&self) -> io::Result<SocketAddr> {
        self.inner.local_addr()
    }
}

fn faults(loss: f64) -> FaultConfig {
    FaultConfig {
        loss,
        ..FaultConfig::clean(Duration::ZERO)
    }
}

/// 5 % duplication, 10 % reordering (up to 3 ms late), 1 % corruption, and `loss`.
fn hostile(loss: f64) -> FaultConfig {
    FaultConfig {
        loss,
        duplicate: 0.05,
        reorder: 0.10,
        corrupt: 0.01,
        delay: Duration::ZERO,
        reorder_delay: Duration::from_millis(3),
    }
}

fn messages() -> Vec<Message> {
    let from = Name::new("client").unwrap();
    let to = Name::new("server").unwrap();
    (0..MESSAGES)
        .map(|i| {
            let mut text = format!("{i:08} ");
            while text.len() < TEXT {
                text.push(char::from(b'a' + (text.len() % 26) as u8));
            }
            Message::new(Verb::PRIVATE_MESSAGE, from, to, text)
        })
        .collect()
}

struct Outcome {
    delivered: usize,
    elapsed: Duration,
    capped: bool,
    /// Datagrams the client's session sent per message delivered (1.0 is no retransmission).
    client_datagrams: f64,
    /// Datagrams the server's session sent per message delivered (CONFIRMs, mostly).
    server_datagrams: f64,
}

impl Outcome {
    fn rate(&self) -> f64 {
        self.delivered as f64 / self.elapsed.as_secs_f64()
    }

    fn mbps(&self) -> f64 {
        self.rate() * TEXT as f64 / 1e6
    }
}

/// One run in a runtime of its own, shut down afterwards, so nothing a run leaves behind (a session still
/// retransmitting, a delayed datagram) runs into the next.
fn run(config: SessionConfig, network: FaultConfig, seed: u64) -> Outcome {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let outcome = runtime.block_on(exchange(config, network, seed));
    runtime.shutdown_background();
    outcome
}

async fn exchange(config: SessionConfig, network: FaultConfig, seed: u64) -> Outcome {
    let options = UdpOptions {
        session: config,
        ..UdpOptions::default()
    };
    // Bound as `UdpChatListener::bind` and `connect` bind theirs, with the options' socket buffers.
    let localhost: SocketAddr = ([127, 0, 0, 1], 0).into();
    let server_sent = Arc::new(AtomicU64::new(0));
    let client_sent = Arc::new(AtomicU64::new(0));
    let server_socket = Arc::new(Counting {
        inner: FaultySocket::new(
            chatproto_udp::bind(localhost, options.socket_buffer).unwrap(),
            network.clone(),
            seed,
        ),
        sent: server_sent.clone(),
    });
    let mut listener = UdpChatListener::on(server_socket, options.clone()).unwrap();
    let addr = listener.local_addr().unwrap();
    let client_socket = Arc::new(Counting {
        inner: FaultySocket::new(
            chatproto_udp::bind(localhost, options.socket_buffer).unwrap(),
            network,
            seed ^ 0x9e37_79b9_7f4a_7c15,
        ),
        sent: client_sent.clone(),
    });
    let mut client = connect_on(client_socket, addr, options, |_| {})
        .await
        .unwrap();
    let mut server = listener.accept().await.unwrap();
    // The handshake's PING and its CONFIRM are not part of the measurement.
    let client_base = client_sent.load(Ordering::Relaxed);
    let server_base = server_sent.load(Ordering::Relaxed);

    let batch = messages();
    let started = Instant::now();
    let deadline = tokio::time::Instant::from_std(started + ROW_CAP);
    let sender = tokio::spawn(async move {
        let mut last_number = 0;
        for message in batch {
            if tokio::time::Instant::now() >= deadline {
                break;
            }
            // The row's time limit also bounds a send blocked on a full buffer.
            match tokio::time::timeout_at(deadline, client.send(message)).await {
                Ok(Ok(number)) => last_number = number,
                Ok(Err(error)) => panic!("send failed: {error}"),
                Err(_) => break,
            }
        }
        (client, last_number)
    });

    let mut delivered = 0;
    let mut last = started;
    while delivered < MESSAGES {
        match tokio::time::timeout_at(deadline, server.recv()).await {
            Ok(Ok(Some(Incoming::Message(message)))) => {
                let index: usize = message.text[..8].parse().unwrap();
                assert_eq!(index, delivered, "out of order or duplicated");
                delivered += 1;
                last = Instant::now();
            }
            Ok(Ok(Some(Incoming::Confirmed(_)))) => {}
            Ok(other) => panic!("server after {delivered} messages: {other:?}"),
            Err(_) => break,
        }
    }
    let capped = delivered < MESSAGES;
    let client_datagrams =
        (client_sent.load(Ordering::Relaxed) - client_base) as f64 / delivered.max(1) as f64;
    let server_datagrams =
        (server_sent.load(Ordering::Relaxed) - server_base) as f64 / delivered.max(1) as f64;

    // Close cleanly (bounded), keeping the server's session up so it confirms the last packets. A capped
    // run is abandoned instead: its runtime is shut down, which ends every task it left.
    //
    // The client takes its confirmations first: `close` waits for the driver to hand over everything it
    // holds before reading any of it, so with more than a channel's worth (256) untaken it never returns.
    if !capped {
        if let Ok(Ok((mut client, last_number))) = tokio::time::timeout(CLOSE_CAP, sender).await {
            let confirmed = tokio::time::timeout(CLOSE_CAP, async {
                while let Ok(Some(item)) = client.recv().await {
                    if item == Incoming::Confirmed(last_number) {
                        return;
                    }
                }
            });
            if confirmed.await.is_err()
                || tokio::time::timeout(CLOSE_CAP, client.close())
                    .await
                    .is_err()
            {
                eprintln!("warning: the client did not close within {CLOSE_CAP:?}");
            }
        }
    }
    drop(server);
    drop(listener);

    Outcome {
        delivered,
        elapsed: last.duration_since(started).max(Duration::from_micros(1)),
        capped,
        client_datagrams,
        server_datagrams,
    }
}

/// UDP datagrams the kernel dropped for want of receive-buffer room, host-wide (Linux only). Not a fault
/// the bench injects: if it moves, the sockets overflowed and the row measured more loss than it asked for.
fn kernel_drops() -> Option<u64> {
    let snmp = std::fs::read_to_string("/proc/net/snmp").ok()?;
    let mut lines = snmp.lines().filter(|line| line.starts_with("Udp:"));
    let names = lines.next()?;
    let values = lines.next()?;
    let at = names
        .split_whitespace()
        .position(|name| name == "RcvbufErrors")?;
    values.split_whitespace().nth(at)?.parse().ok()
}

/// One row: its runs, each with its rate as a fraction of the lossless run made just before it.
struct Row {
    label: String,
    runs: Vec<Outcome>,
    ratios: Vec<f64>,
    kernel_drops: Option<u64>,
}

fn median(values: &[f64]) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    // The lower middle for an even count: the more conservative figure.
    sorted
        .get(sorted.len().saturating_sub(1) / 2)
        .copied()
        .unwrap_or(f64::NAN)
}

fn range(values: &[f64], scale: f64, decimals: usize) -> String {
    let min = values.iter().copied().fold(f64::INFINITY, f64::min) * scale;
    let max = values.iter().copied().fold(f64::NEG_INFINITY, f64::max) * scale;
    format!("{min:.decimals$}..{max:.decimals$}")
}

impl Row {
    fn new(label: &str) -> Row {
        Row {
            label: label.to_string(),
            runs: Vec::new(),
            ratios: Vec::new(),
            kernel_drops: Some(0),
        }
    }

    fn rates(&self) -> Vec<f64> {
        self.runs.iter().map(Outcome::rate).collect()
    }

    /// The run with the median rate.
    fn median_run(&self) -> &Outcome {
        let rate = median(&self.rates());
        self.runs
            .iter()
            .find(|run| run.rate() == rate)
            .unwrap_or(&self.runs[0])
    }

    fn print(&self, default_lossless: Option<f64>) {
        let run = self.median_run();
        let capped = self.runs.iter().filter(|run| run.capped).count();
        println!(
            "{:<26} {:>7.0} {:>13} {:>6.2} {:>6.1}% {:>11} {:>7} {:>7.3}s {:>6.3} {:>8.3} {:>6}{}",
            self.label,
            run.rate(),
            range(&self.rates(), 1.0, 0),
            run.mbps(),
            100.0 * median(&self.ratios),
            range(&self.ratios, 100.0, 0),
            default_lossless.map_or(String::new(), |base| format!(
                "{:.1}%",
                100.0 * run.rate() / base
            )),
            run.elapsed.as_secs_f64(),
            run.client_datagrams,
            run.server_datagrams,
            self.kernel_drops
                .map_or("-".to_string(), |drops| drops.to_string()),
            if capped > 0 {
                format!(
                    " CAPPED in {capped}/{} runs at {ROW_CAP:?}",
                    self.runs.len()
                )
            } else {
                String::new()
            },
        );
    }
}

/// `reps` rounds of: a lossless run, then one run on each network, so that each lossy run is compared
/// with a lossless run made moments before it (the machine's speed drifts more than the runs vary).
fn paired(config: &SessionConfig, networks: &[(&str, FaultConfig)], reps: usize) -> Vec<Row> {
    let mut rows = vec![Row::new("loss 0 %")];
    rows.extend(networks.iter().map(|(label, _)| Row::new(label)));
    for rep in 0..reps {
        let seed = 1000 * rep as u64;
        let mut base = None;
        for (i, network) in std::iter::once(faults(0.0))
            .chain(networks.iter().map(|(_, network)| network.clone()))
            .enumerate()
        {
            let drops_before = kernel_drops();
            let outcome = run(config.clone(), network, seed + i as u64);
            let row = &mut rows[i];
            row.kernel_drops =
                (|| Some(row.kernel_drops? + kernel_drops()?.checked_sub(drops_before?)?))();
            let base = *base.get_or_insert(outcome.rate());
            row.ratios.push(outcome.rate() / base);
            row.runs.push(outcome);
        }
    }
    rows
}

fn header() {
    println!(
        "{:<26} {:>7} {:>13} {:>6} {:>7} {:>11} {:>7} {:>8} {:>6} {:>8} {:>6}",
        "row",
        "msg/s",
        "min..max",
        "MB/s",
        "of 0 %",
        "min..max",
        "of dflt",
        "elapsed",
        "tx/msg",
        "conf/msg",
        "kdrops"
    );
}

fn main() {
    let quick = std::env::args().any(|arg| arg == "quick");
    let started = Instant::now();
    println!(
        "UDP goodput over loopback: {MESSAGES} messages of {TEXT} bytes, client -> server, both sockets \
         wrapped in FaultySocket"
    );
    println!(
        "(faults apply in both directions, so CONFIRMs are lost too), each run in a fresh runtime."
    );
    println!(
        "msg/s: delivered messages / (last delivery - first send), median run (min..max over runs); MB/s of text."
    );
    println!(
        "of 0 %: the run's rate / the rate of the lossless run made just before it, median (min..max)."
    );
    println!("of dflt: median rate / the default config's median lossless rate.");
    println!(
        "tx/msg: datagrams the client sent per message (1/(0.9*0.9) = 1.235 is the floor at 10 % each way);"
    );
    println!(
        "conf/msg: datagrams the server sent per message; kdrops: kernel UDP receive-buffer drops (host-wide)."
    );
    println!();
    // Warm up threads, allocator and sockets; not reported.
    let _ = run(SessionConfig::default(), faults(0.0), 99);

    let default = SessionConfig::default();
    println!("SessionConfig::default(), {REPS} rounds: {default:?}");
    println!(
        "socket buffers asked: {} bytes (UdpOptions::default().socket_buffer)",
        UdpOptions::default().socket_buffer
    );
    header();
    let rows = paired(
        &default,
        &[
            ("loss 10 %", faults(0.10)),
            ("loss 20 %", faults(0.20)),
            ("hostile (10 % loss, …)", hostile(0.10)),
        ],
        REPS,
    );
    let default_lossless = median(&rows[0].rates());
    for row in &rows {
        row.print(Some(default_lossless));
    }
    println!(
        "(hostile: 10 % loss, 5 % duplication, 10 % reordering by up to 3 ms, 1 % corruption)"
    );

    if !quick {
        println!();
        println!("Exploration at 10 % loss, {EXPLORE_REPS} rounds per config (receive_window = max(send_window, 256)):");
        header();
        let ms = Duration::from_millis;
        let tuned = |send_window: u32, min_rto: Duration| SessionConfig {
            send_window,
            receive_window: send_window.max(256),
            min_rto,
            ..SessionConfig::default()
        };
        // The window the default had before (128), and larger ones: past 256, the receiving driver holds
        // more than an application's channel of messages and pauses delivery, so even lossless runs
        // retransmit (tx/msg above 1).
        for (label, config) in [
            ("w 128", tuned(128, ms(20))),
            ("w 128, min_rto 5 ms", tuned(128, ms(5))),
            ("w 384", tuned(384, ms(20))),
            ("w 512", tuned(512, ms(20))),
        ] {
            if started.elapsed() > Duration::from_secs(50) {
                println!("(remaining rows skipped: time budget)");
                break;
            }
            let rows = paired(&config, &[("", faults(0.10))], EXPLORE_REPS);
            for (row, loss) in rows.into_iter().zip(["0", "10"]) {
                Row {
                    label: format!("{label}, {loss} %"),
                    ..row
                }
                .print(Some(default_lossless));
            }
        }
    }
    println!();
    println!("total {:.1}s", started.elapsed().as_secs_f64());
}
