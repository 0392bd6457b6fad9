//! A small chatproto server built from the library's pieces (the TCP and UDP transports, chatproto's
//! `Hub` with a `MemoryStore`), broken on purpose in one way, so the tests can show that the server suite
//! fails a server that breaks a requirement, and fails the right cases.

use std::collections::HashMap;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use chatproto::chat::{
    ClientId, Hub, Input, Link, MemoryStore, Output, PlainTextForTests, Receipt,
};
use chatproto::session::{Role, Session, SessionConfig};
use chatproto::transport::{
    FrameBatch, FrameReader, FrameWriter, Incoming, Listener, SessionTransport, Transport,
    TransportError,
};
use chatproto::wire::layout::{CHECKSUM_AT, TO_AT};
use chatproto::{DecodeError, Message, Name, PacketView, Verb, FRAME_LEN};
use chatproto_tcp::{TcpFrameReader, TcpFrameWriter};
use chatproto_udp::{DatagramSocket, UdpChatListener, UdpOptions};
use tokio::net::{TcpListener, UdpSocket};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

/// How the server is broken.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Breakage {
    /// Not broken: the control.
    None,
    /// Drops frames whose checksum does not match before its sessions see them, so it never answers
    /// RESEND.
    ForgetsResend,
    /// Takes a logged-in user's BROADCAST, PRIVATE_MESSAGE or ROOM_MESSAGE under another user's name and
    /// relays it under that name.
    RelaysImpersonation,
    /// Relays a ROOM_MESSAGE to its sender only, dropping it for the other members.
    DropsRoomMember,
    /// Sends every frame with a byte after the NUL padding of `to_name`, checksum recomputed (R-2.2,
    ///
    WrongPadding,
    /// Sends every frame with its checksum off by one.
    WrongChecksum,
    /// Accepts connections and never sends anything.
    Silent,
}

/// A running broken server on loopback.
pub struct BrokenServer {
    pub tcp: SocketAddr,
    pub udp: SocketAddr,
    tasks: Vec<JoinHandle<()>>,
}

impl Drop for BrokenServer {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

impl BrokenServer {
    pub async fn start(breakage: Breakage) -> BrokenServer {
        let (hub, inbox) = mpsc::channel(4096);
        let mut tasks = vec![tokio::spawn(run_hub(breakage, inbox))];

        let tcp = TcpListener::bind("127.0.0.1:0").await.expect("tcp bind");
        let tcp_addr = tcp.local_addr().expect("tcp addr");
        let tcp_hub = hub.clone();
        tasks.push(tokio::spawn(async move {
            let mut next = 1;
            while let Ok((stream, peer)) = tcp.accept().await {
                let _ = stream.set_nodelay(true);
                let (read, write) = stream.into_split();
                let session =
                    Session::new(Role::Server, None, SessionConfig::stream(), Instant::now());
                let transport = SessionTransport::spawn(
                    session,
                    BrokenReader {
                        inner: TcpFrameReader::new(read),
                        breakage,
                        batch: FrameBatch::new(),
                    },
                    BrokenWriter {
                        inner: TcpFrameWriter::new(write),
                        breakage,
                    },
                    Some(peer),
                );
                tokio::spawn(serve(ClientId(next), transport, tcp_hub.clone()));
                next += 2;
            }
        }));

        let socket = UdpSocket::bind("127.0.0.1:0").await.expect("udp bind");
        let udp_addr = socket.local_addr().expect("udp addr");
        let socket = Arc::new(BrokenSocket {
            inner: socket,
            breakage,
        });
        let mut udp = UdpChatListener::on(socket, UdpOptions::default()).expect("udp listener");
        tasks.push(tokio::spawn(async move {
            let mut next = 2;
            while let Ok(transport) = udp.accept().await {
                tokio::spawn(serve(ClientId(next), transport, hub.clone()));
                next += 2;
            }
        }));
        BrokenServer {
            tcp: tcp_addr,
            udp: udp_addr,
            tasks,
        }
    }
}

/// A frame as this server sends it, broken as asked. `None` drops it.
fn outgoing(breakage: Breakage, frame: &[u8; FRAME_LEN]) -> Option<[u8; FRAME_LEN]> {
    let mut frame = *frame;
    match breakage {
        Breakage::Silent => return None,
        Breakage::WrongPadding => {
            let to_len = frame[TO_AT..TO_AT + 32]
                .iter()
                .position(|&b| b == 0)
                .unwrap_or(32);
            if to_len < 31 {
                frame[TO_AT + to_len + 1] = b'x';
                let version = u32::from_le_bytes(frame[4..8].try_into().unwrap_or_default());
                // v4's checksum covers the text only, so it stays right; v5's CRC is recomputed.
                if version == 5 {
                    let crc = chatproto::wire::crc32(&frame);
                    frame[CHECKSUM_AT..CHECKSUM_AT + 4].copy_from_slice(&crc.to_le_bytes());
                }
            }
        }
        Breakage::WrongChecksum => frame[CHECKSUM_AT] ^= 1,
        _ => {}
    }
    Some(frame)
}

/// Whether this server lets an incoming frame through to its session.
fn incoming(breakage: Breakage, frame: &[u8]) -> bool {
    !(breakage == Breakage::ForgetsResend
        && matches!(
            PacketView::decode(frame),
            Err(DecodeError::ChecksumMismatch { .. })
        ))
}

struct BrokenReader<R> {
    inner: R,
    breakage: Breakage,
    batch: FrameBatch,
}

#[async_trait]
impl<R: FrameReader> FrameReader for BrokenReader<R> {
    async fn read(&mut self, batch: &mut FrameBatch) -> Result<bool, TransportError> {
        loop {
            self.batch.clear();
            if !self.inner.read(&mut self.batch).await? {
                return Ok(false);
            }
            let before = batch.len();
            for frame in self.batch.iter() {
                if incoming(self.breakage, frame) {
                    batch.push(frame);
                }
            }
            if batch.len() > before {
                return Ok(true);
            }
        }
    }
}

struct BrokenWriter<W> {
    inner: W,
    breakage: Breakage,
}

#[async_trait]
impl<W: FrameWriter> FrameWriter for BrokenWriter<W> {
    async fn write(&mut self, frames: &[[u8; FRAME_LEN]]) -> Result<(), TransportError> {
        let frames: Vec<[u8; FRAME_LEN]> = frames
            .iter()
            .filter_map(|f| outgoing(self.breakage, f))
            .collect();
        if frames.is_empty() {
            return Ok(());
        }
        self.inner.write(&frames).await
    }

    async fn shutdown(&mut self) -> Result<(), TransportError> {
        self.inner.shutdown().await
    }
}

struct BrokenSocket {
    inner: UdpSocket,
    breakage: Breakage,
}

#[async_trait]
impl DatagramSocket for BrokenSocket {
    async fn send_to(&self, buf: &[u8], target: SocketAddr) -> io::Result<usize> {
        let Ok(frame) = <&[u8; FRAME_LEN]>::try_from(buf) else {
            return self.inner.send_to(buf, target).await;
        };
        match outgoing(self.breakage, frame) {
            Some(frame) => self.inner.send_to(&frame, target).await,
            None => Ok(buf.len()),
        }
    }

    async fn recv_from(&self, buf: &mut [u8]) -> io::Result<(usize, SocketAddr)> {
        loop {
            let (len, from) = self.inner.recv_from(buf).await?;
            if incoming(self.breakage, &buf[..len]) {
                return Ok((len, from));
            }
        }
    }

    fn local_addr(&self) -> io::Result<SocketAddr> {
        self.inner.local_addr()
    }
}

/// What the hub task is told.
enum ToHub {
    Connected(ClientId, Option<SocketAddr>, mpsc::Sender<ToSession>),
    Input(Input),
}

/// What a session task is told.
enum ToSession {
    Send(Message, Option<Receipt>),
    Close,
}

async fn serve(client: ClientId, mut transport: SessionTransport, hub: mpsc::Sender<ToHub>) {
    let (outbox, mut commands) = mpsc::channel(4096);
    let peer = transport.peer_addr();
    if hub
        .send(ToHub::Connected(client, peer, outbox))
        .await
        .is_err()
    {
        return;
    }
    let mut receipts: HashMap<u32, Receipt> = HashMap::new();
    loop {
        tokio::select! {
            command = commands.recv() => match command {
                Some(ToSession::Send(message, receipt)) => match transport.send(message).await {
                    Ok(number) => {
                        if let Some(receipt) = receipt.filter(|_| number != 0) {
                            receipts.insert(number, receipt);
                        }
                    }
                    Err(_) => break,
                },
                Some(ToSession::Close) | None => {
                    let _ = tokio::time::timeout(std::time::Duration::from_secs(2), transport.close()).await;
                    break;
                }
            },
            incoming = transport.recv() => match incoming {
                Ok(Some(Incoming::Message(message))) => {
                    let _ = hub.send(ToHub::Input(Input::Received(client, message))).await;
                }
                Ok(Some(Incoming::Confirmed(number))) => {
                    if let Some(receipt) = receipts.remove(&number) {
                        let _ = hub.send(ToHub::Input(Input::Delivered(receipt))).await;
                    }
                }
                _ => break,
            },
        }
    }
    let _ = hub.send(ToHub::Input(Input::Disconnected(client))).await;
}

fn unix_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

async fn run_hub(breakage: Breakage, mut inbox: mpsc::Receiver<ToHub>) {
    let mut hub = Hub::new(MemoryStore::default(), PlainTextForTests);
    let mut outboxes: HashMap<ClientId, mpsc::Sender<ToSession>> = HashMap::new();
    // Who each session is logged in as, read from the LOGIN notices the hub sends it.
    let mut names: HashMap<ClientId, Name> = HashMap::new();
    while let Some(event) = inbox.recv().await {
        let mut input = match event {
            ToHub::Connected(client, peer, outbox) => {
                outboxes.insert(client, outbox);
                // This server takes passwords on any link: the suite's password cases need it.
                Input::Connected(client, Link::confidential(peer))
            }
            ToHub::Input(input) => input,
        };
        // RelaysImpersonation: the claimed name is swapped for the real one on the way in, and back on
        // the way out, so the hub's check of from_name never sees it.
        let mut claimed = None;
        if let (Breakage::RelaysImpersonation, Input::Received(client, message)) =
            (breakage, &mut input)
        {
            if let Some(real) = names.get(client) {
                let relayed = matches!(
                    message.verb,
                    Verb::BROADCAST | Verb::PRIVATE_MESSAGE | Verb::ROOM_MESSAGE
                );
                if relayed && message.from != *real {
                    claimed = Some((message.verb, *real, message.from));
                    message.from = *real;
                }
            }
        }
        let (sender, verb) = match &input {
            Input::Received(client, message) => (Some(*client), Some(message.verb)),
            _ => (None, None),
        };
        let gone = match &input {
            Input::Disconnected(client) => Some(*client),
            _ => None,
        };
        for output in hub.handle(Instant::now(), unix_ms(), input) {
            match output {
                Output::Send {
                    to,
                    message,
                    receipt,
                } => {
                    let mut message = Message::clone(&message);
                    if message.verb == Verb::LOGIN && Some(to) == sender && verb != Some(Verb::QUIT)
                    {
                        names.entry(to).or_insert(message.from);
                    }
                    if let Some((verb, real, fake)) = claimed {
                        if message.verb == verb && message.from == real {
                            message.from = fake;
                        }
                    }
                    if breakage == Breakage::DropsRoomMember
                        && verb == Some(Verb::ROOM_MESSAGE)
                        && Some(to) != sender
                        && matches!(message.verb, Verb::ROOM_MESSAGE | Verb::BROADCAST)
                    {
                        continue;
                    }
                    if let Some(outbox) = outboxes.get(&to) {
                        let _ = outbox.try_send(ToSession::Send(message, receipt));
                    }
                }
                Output::Confirm { .. } => {}
                Output::Close(client) => {
                    if let Some(outbox) = outboxes.get(&client) {
                        let _ = outbox.try_send(ToSession::Close);
                    }
                }
            }
        }
        if let Some(client) = gone {
            outboxes.remove(&client);
            names.remove(&client);
        }
    }
}
