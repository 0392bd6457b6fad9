//! TCP throughput with write batching: one client streams small messages to a server over loopback, both
//! ends driven by `SessionTransport`. Each message is one data frame one way and one CONFIRM frame back.
//!
//! ```text
//! cargo bench -p chatproto-tcp --bench throughput
//! ```
//!
//! Two writers are compared, on both ends alike:
//! - `TcpFrameWriter`, the crate's writer: one `write_all` per burst the session hands over;
//! - a naive writer that calls `write_all` once per frame.
//!
//! Both are wrapped to count what they do: bursts (`FrameWriter::write` calls), frames, and the write and
//! read calls that reached the socket (each a system call: `poll_write` / `poll_read` on a tokio TCP half
//! that returns ready is one `write(2)` / `read(2)`; one that returns pending is counted apart).
//!
//! Every run is bounded: `MESSAGES` messages at most, `RUN_CAP` of wall time at most.

use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use chatproto::session::{Role, Session, SessionConfig};
use chatproto::transport::{
    FrameReader, FrameWriter, Incoming, SessionTransport, Transport, TransportError,
};
use chatproto::{Dialect, Message, Name, Verb, FRAME_LEN};
use chatproto_tcp::{TcpFrameReader, TcpFrameWriter};
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::net::{TcpListener, TcpStream};

/// Messages per run.
const MESSAGES: usize = 200_000;
/// Bytes of text per message.
const TEXT: usize = 32;
/// Runs per writer.
const REPS: usize = 3;
/// Wall time a run may take at most; a run that hits it reports what was delivered so far.
const RUN_CAP: Duration = Duration::from_secs(5);
/// Time allowed for the last confirmation and the close after the last delivery.
const CLOSE_CAP: Duration = Duration::from_secs(2);

/// Successful socket writes and reads in the whole process, warm-up included, to compare with
/// `strace -f -c -e trace=sendto,recvfrom` (tokio's TCP writes are `sendto`, its reads `recvfrom`).
static PROCESS_WRITES: AtomicU64 = AtomicU64::new(0);
static PROCESS_READS: AtomicU64 = AtomicU64::new(0);

/// What one end did, counted by the wrappers.
#[derive(Debug, Default)]
struct Counters {
    /// `FrameWriter::write` calls: bursts handed over by the driver.
    bursts: AtomicU64,
    /// Frames in those bursts.
    frames: AtomicU64,
    /// `poll_write` calls that wrote something: `write(2)` calls that succeeded.
    writes: AtomicU64,
    /// `poll_write` calls that found the socket full.
    writes_pending: AtomicU64,
    /// `poll_read` calls that returned data or end of stream: `read(2)` calls that succeeded.
    reads: AtomicU64,
}

impl Counters {
    fn get(counter: &AtomicU64) -> u64 {
        counter.load(Ordering::Relaxed)
    }
}

/// Counts the system calls that reach a socket half.
struct CountingStream<S> {
    inner: S,
    counters: Arc<Counters>,
}

impl<S: AsyncWrite + Unpin> AsyncWrite for CountingStream<S> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let poll = Pin::new(&mut this.inner).poll_write(cx, buf);
        match &poll {
            Poll::Ready(Ok(_)) => {
                PROCESS_WRITES.fetch_add(1, Ordering::Relaxed);
                this.counters.writes.fetch_add(1, Ordering::Relaxed)
            }
            Poll::Pending => this.counters.writes_pending.fetch_add(1, Ordering::Relaxed),
            Poll::Ready(Err(_)) => 0,
        };
        poll
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for CountingStream<S> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let poll = Pin::new(&mut this.inner).poll_read(cx, buf);
        if matches!(poll, Poll::Ready(Ok(()))) {
            PROCESS_READS.fetch_add(1, Ordering::Relaxed);
            this.counters.reads.fetch_add(1, Ordering::Relaxed);
        }
        poll
    }
}

/// Counts bursts and frames handed to a writer.
struct CountingWriter<W> {
    inner: W,
    counters: Arc<Counters>,
}

#[async_trait]
impl<W: FrameWriter> FrameWriter for CountingWriter<W> {
    async fn write(&mut self, frames: &[[u8; FRAME_LEN]]) -> Result<(), TransportError> {
        self.counters.bursts.fetch_add(1, Ordering::Relaxed);
        self.counters
            .frames
            .fetch_add(frames.len() as u64, Ordering::Relaxed);
        self.inner.write(frames).await
    }

    async fn shutdown(&mut self) -> Result<(), TransportError> {
        self.inner.shutdown().await
    }
}

/// The baseline: one `write_all` per frame.
struct NaiveWriter<W> {
    stream: W,
}

#[async_trait]
impl<W: AsyncWrite + Unpin + Send> FrameWriter for NaiveWriter<W> {
    async fn write(&mut self, frames: &[[u8; FRAME_LEN]]) -> Result<(), TransportError> {
        for frame in frames {
            self.stream.write_all(frame).await?;
        }
        Ok(())
    }

    async fn shutdown(&mut self) -> Result<(), TransportError> {
        self.stream.shutdown().await?;
        Ok(())
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Writer {
    Batched,
    Naive,
}

impl Writer {
    fn name(self) -> &'static str {
        match self {
            Writer::Batched => "TcpFrameWriter (batched)",
            Writer::Naive => "naive (write per frame)",
        }
    }
}

/// One end of a connection, as `chatproto_tcp`'s `spawn` builds it, with counting wrappers and the chosen
/// writer.
fn spawn(
    stream: TcpStream,
    role: Role,
    dialect: Option<Dialect>,
    writer: Writer,
) -> (SessionTransport, Arc<Counters>) {
    let _ = stream.set_nodelay(true);
    let peer = stream.peer_addr().ok();
    let (read, write) = stream.into_split();
    let counters = Arc::new(Counters::default());
    let read = CountingStream {
        inner: read,
        counters: counters.clone(),
    };
    let write = CountingStream {
        inner: write,
        counters: counters.clone(),
    };
    let session = Session::new(role, dialect, SessionConfig::stream(), Instant::now());
    let reader = TcpFrameReader::new(read);
    let transport = match writer {
        Writer::Batched => spawn_with(session, reader, TcpFrameWriter::new(write), &counters, peer),
        Writer::Naive => spawn_with(
            session,
            reader,
            NaiveWriter { stream: write },
            &counters,
            peer,
        ),
    };
    (transport, counters)
}

fn spawn_with<R: FrameReader + 'static, W: FrameWriter + 'static>(
    session: Session,
    reader: R,
    writer: W,
    counters: &Arc<Counters>,
    peer: Option<SocketAddr>,
) -> SessionTransport {
    let writer = CountingWriter {
        inner: writer,
        counters: counters.clone(),
    };
    SessionTransport::spawn(session, reader, writer, peer)
}

struct Outcome {
    delivered: usize,
    /// First send to last delivery at the server.
    delivered_in: Duration,
    /// First send to the client's confirmation of the last message, when it came.
    confirmed_in: Option<Duration>,
    client: Snapshot,
    server: Snapshot,
}

#[derive(Clone, Copy, Debug, Default)]
struct Snapshot {
    bursts: u64,
    frames: u64,
    writes: u64,
    writes_pending: u64,
    reads: u64,
}

impl Snapshot {
    fn of(counters: &Counters) -> Snapshot {
        Snapshot {
            bursts: Counters::get(&counters.bursts),
            frames: Counters::get(&counters.frames),
            writes: Counters::get(&counters.writes),
            writes_pending: Counters::get(&counters.writes_pending),
            reads: Counters::get(&counters.reads),
        }
    }

    fn since(self, base: Snapshot) -> Snapshot {
        Snapshot {
            bursts: self.bursts - base.bursts,
            frames: self.frames - base.frames,
            writes: self.writes - base.writes,
            writes_pending: self.writes_pending - base.writes_pending,
            reads: self.reads - base.reads,
        }
    }
}

impl Outcome {
    fn messages_per_s(&self) -> f64 {
        self.delivered as f64 / self.delivered_in.as_secs_f64()
    }

    fn frames(&self) -> u64 {
        self.client.frames + self.server.frames
    }

    /// Frames both ways per second, over the time to the last confirmation.
    fn frames_per_s(&self) -> Option<f64> {
        Some(self.frames() as f64 / self.confirmed_in?.as_secs_f64())
    }

    fn writes_per_frame(&self) -> f64 {
        (self.client.writes + self.server.writes) as f64 / self.frames().max(1) as f64
    }

    fn frames_per_burst(&self, side: Snapshot) -> f64 {
        side.frames as f64 / side.bursts.max(1) as f64
    }
}

fn messages() -> Vec<Message> {
    let from = Name::new("client").unwrap();
    let to = Name::new("server").unwrap();
    (0..MESSAGES)
        .map(|i| {
            let mut text = format!("{i:08} ");
            text.extend(std::iter::repeat_n('x', TEXT - text.len()));
            Message::new(Verb::PRIVATE_MESSAGE, from, to, text)
        })
        .collect()
}

/// One run in a runtime of its own, shut down afterwards, so nothing a run leaves behind runs into the next.
fn run(writer: Writer) -> Outcome {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let outcome = runtime.block_on(exchange(writer));
    runtime.shutdown_background();
    outcome
}

async fn exchange(writer: Writer) -> Outcome {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stream, accepted) = tokio::join!(TcpStream::connect(addr), listener.accept());
    let (mut client, client_counters) =
        spawn(stream.unwrap(), Role::Client, Some(Dialect::V5), writer);
    let (mut server, server_counters) = spawn(accepted.unwrap().0, Role::Server, None, writer);
    let client_base = Snapshot::of(&client_counters);
    let server_base = Snapshot::of(&server_counters);

    let batch = messages();
    let started = Instant::now();
    let deadline = tokio::time::Instant::from_std(started + RUN_CAP);
    let sender = tokio::spawn(async move {
        let mut last_number = 0;
        for message in batch {
            if tokio::time::Instant::now() >= deadline {
                break;
            }
            match tokio::time::timeout_at(deadline, client.send(message)).await {
                Ok(Ok(number)) => last_number = number,
                Ok(Err(error)) => panic!("send failed: {error}"),
                Err(_) => break,
            }
        }
        // Take confirmations up to the last message's: the time to it is the time until every frame
        // both ways has been handled. (It also empties the queue that `close` would otherwise wait on.)
        let confirmed = tokio::time::timeout(RUN_CAP + CLOSE_CAP, async {
            while let Ok(Some(item)) = client.recv().await {
                if item == Incoming::Confirmed(last_number) {
                    return started.elapsed();
                }
            }
            Duration::MAX
        })
        .await
        .ok()
        .filter(|elapsed| *elapsed != Duration::MAX);
        let _ = tokio::time::timeout(CLOSE_CAP, client.close()).await;
        confirmed
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
    let confirmed_in = if delivered == MESSAGES {
        tokio::time::timeout(RUN_CAP + 2 * CLOSE_CAP, sender)
            .await
            .ok()
            .and_then(Result::ok)
            .flatten()
    } else {
        None
    };
    // The counters are read once the last confirmation is in: every frame of the run has been written.
    let client_counts = Snapshot::of(&client_counters).since(client_base);
    let server_counts = Snapshot::of(&server_counters).since(server_base);
    drop(server);
    Outcome {
        delivered,
        delivered_in: last.duration_since(started).max(Duration::from_micros(1)),
        confirmed_in,
        client: client_counts,
        server: server_counts,
    }
}

fn main() {
    let bench_started = Instant::now();
    // `-- batched` or `-- naive` runs one writer only (for strace, say).
    let args: Vec<String> = std::env::args().collect();
    let writers: Vec<Writer> = [Writer::Batched, Writer::Naive]
        .into_iter()
        .filter(|writer| {
            let only = |name: &str| args.iter().any(|arg| arg == name);
            !(only("batched") || only("naive"))
                || only(match writer {
                    Writer::Batched => "batched",
                    Writer::Naive => "naive",
                })
        })
        .collect();
    println!(
        "TCP over loopback: {MESSAGES} messages of {TEXT} bytes, client -> server, SessionConfig::stream(), \
         SessionTransport on both ends."
    );
    println!("Each message is one data frame ({FRAME_LEN} bytes) and one CONFIRM frame back. {REPS} runs per writer.");
    println!(
        "msg/s: first send to last delivery; frames/s: frames both ways over first send to last confirmation;"
    );
    println!("writes/frame: write(2) calls (successful poll_write on the socket) per frame, both ends together;");
    println!("data/msg: data frames the client wrote per message delivered (over 1.000: retransmissions);");
    println!("burst: frames per FrameWriter::write call, client (data) and server (CONFIRMs); reads/frame: read(2)");
    println!("calls per frame, both ends; full socket: writes that found the socket buffer full.");
    println!();
    // Warm up threads, allocator and sockets; not reported.
    let _ = run(Writer::Batched);

    let mut medians = Vec::new();
    println!(
        "{:<26} {:>3} {:>8} {:>8} {:>8} {:>7} {:>7} {:>7} {:>7} {:>6} {:>9}",
        "writer",
        "run",
        "msg/s",
        "frames/s",
        "writes/",
        "data/",
        "burst",
        "burst",
        "reads/",
        "full",
        "delivered"
    );
    println!(
        "{:<26} {:>3} {:>8} {:>8} {:>8} {:>7} {:>7} {:>7} {:>7} {:>6} {:>9}",
        "", "", "", "", "frame", "msg", "client", "server", "frame", "socket", ""
    );
    for &writer in &writers {
        let mut runs = Vec::new();
        for rep in 0..REPS {
            if bench_started.elapsed() > Duration::from_secs(40) {
                println!("(remaining runs skipped: time budget)");
                break;
            }
            let outcome = run(writer);
            println!(
                "{:<26} {:>3} {:>8.0} {:>8} {:>8.3} {:>7.3} {:>7.1} {:>7.1} {:>7.3} {:>6} {:>9}",
                writer.name(),
                rep + 1,
                outcome.messages_per_s(),
                outcome
                    .frames_per_s()
                    .map_or("-".to_string(), |rate| format!("{rate:.0}")),
                outcome.writes_per_frame(),
                outcome.client.frames as f64 / outcome.delivered.max(1) as f64,
                outcome.frames_per_burst(outcome.client),
                outcome.frames_per_burst(outcome.server),
                (outcome.client.reads + outcome.server.reads) as f64
                    / outcome.frames().max(1) as f64,
                outcome.client.writes_pending + outcome.server.writes_pending,
                if outcome.delivered < MESSAGES {
                    format!("{}k CAP", outcome.delivered / 1000)
                } else {
                    "all".to_string()
                },
            );
            runs.push(outcome);
        }
        runs.sort_by(|a, b| a.messages_per_s().total_cmp(&b.messages_per_s()));
        if !runs.is_empty() {
            let rates: Vec<f64> = runs.iter().map(Outcome::messages_per_s).collect();
            let mean = rates.iter().sum::<f64>() / rates.len() as f64;
            let sd =
                (rates.iter().map(|r| (r - mean).powi(2)).sum::<f64>() / rates.len() as f64).sqrt();
            medians.push((writer, runs.swap_remove((runs.len() - 1) / 2), mean, sd));
        }
    }

    println!();
    println!(
        "{:<26} {:>10} {:>16} {:>10} {:>12} {:>12}",
        "median run", "msg/s", "mean ± sd", "frames/s", "writes/frame", "write calls"
    );
    for (writer, outcome, mean, sd) in &medians {
        println!(
            "{:<26} {:>10.0} {:>16} {:>10} {:>12.3} {:>12}",
            writer.name(),
            outcome.messages_per_s(),
            format!("{mean:.0} ± {sd:.0}"),
            outcome
                .frames_per_s()
                .map_or("-".to_string(), |rate| format!("{rate:.0}")),
            outcome.writes_per_frame(),
            outcome.client.writes + outcome.server.writes,
        );
    }
    if let [(_, batched, ..), (_, naive, ..)] = medians.as_slice() {
        println!(
            "batched / naive: {:.2}x messages/s, {:.2}x fewer write calls",
            batched.messages_per_s() / naive.messages_per_s(),
            (naive.client.writes + naive.server.writes) as f64
                / (batched.client.writes + batched.server.writes).max(1) as f64,
        );
    }
    println!();
    println!(
        "socket writes / reads counted in this process, warm-up included: {} / {}",
        PROCESS_WRITES.load(Ordering::Relaxed),
        PROCESS_READS.load(Ordering::Relaxed)
    );
    println!("total {:.1}s", bench_started.elapsed().as_secs_f64());
}
