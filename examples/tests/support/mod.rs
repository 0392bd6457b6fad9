//! Shared by the end-to-end tests: a server on loopback and clients that speak to it over real sockets.

#![allow(dead_code)]

use std::collections::VecDeque;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use chatproto::transport::{Incoming, SessionTransport, Transport};
use chatproto::{Dialect, Message, Name, Verb};
use chatproto_examples::server::{PasswordHashing, Server, ServerConfig, Storage};
use chatproto_tcp::TcpOptions;
use chatproto_udp::UdpOptions;

/// How long a test waits for anything: generous, since a failure, not a pass, waits this long.
pub const PATIENCE: Duration = Duration::from_secs(10);

/// The transports a test runs over.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Net {
    Tcp,
    Udp,
}

pub const NETS: [Net; 2] = [Net::Tcp, Net::Udp];

/// A server on ephemeral loopback ports, keeping its data in memory or in `dir`, with the default limits
/// (PROTOCOL.md §9.2).
pub async fn start_server(storage: Storage) -> Server {
    start_server_with(storage, |_| {}).await
}

/// As [`start_server`], with the config changed by `edit` first: to set small limits, or to raise the rate
/// limit for a test that sends hundreds of messages at once.
pub async fn start_server_with(storage: Storage, edit: impl FnOnce(&mut ServerConfig)) -> Server {
    let any = "127.0.0.1:0".parse().unwrap();
    let mut config = ServerConfig {
        tcp: Some(any),
        udp: Some(any),
        storage,
        hashing: PasswordHashing::FastForTests,
        allow_plaintext_passwords: true,
        ..ServerConfig::default()
    };
    edit(&mut config);
    Server::start(config).await.expect("server starts")
}

pub fn name(s: &str) -> Name {
    Name::new(s).unwrap()
}

/// One client: a transport to the server and the messages it has received but not yet looked at.
pub struct Peer {
    pub name: Name,
    pub transport: SessionTransport,
    unread: VecDeque<Message>,
    pub confirmed: Vec<u32>,
    pub dialect: Dialect,
}

impl Peer {
    /// Connects without logging in.
    pub async fn connect(server: &Server, net: Net, dialect: Dialect) -> Peer {
        let addr = match net {
            Net::Tcp => server.tcp_addr(),
            Net::Udp => server.udp_addr(),
        };
        Peer::connect_to(
            addr.expect("the server serves this transport"),
            net,
            dialect,
        )
        .await
    }

    /// Connects to a server by its address for `net` (a server in another process, say), without
    /// logging in.
    pub async fn connect_to(addr: SocketAddr, net: Net, dialect: Dialect) -> Peer {
        let transport = match net {
            Net::Tcp => {
                let options = TcpOptions {
                    dialect,
                    ..TcpOptions::default()
                };
                chatproto_tcp::connect(addr, options)
                    .await
                    .expect("tcp connect")
            }
            Net::Udp => {
                let options = UdpOptions {
                    dialect,
                    ..UdpOptions::default()
                };
                chatproto_udp::connect(addr, options)
                    .await
                    .expect("udp connect")
            }
        };
        Peer {
            name: Name::EMPTY,
            transport,
            unread: VecDeque::new(),
            confirmed: Vec::new(),
            dialect,
        }
    }

    /// Connects over UDP from `source`, a loopback address other than 127.0.0.1 (Linux routes all of
    /// 127.0.0.0/8 to the loopback interface): a client from another address, for per-address limits
    /// . Does not log in.
    pub async fn connect_udp_from(server: &Server, source: Ipv4Addr, dialect: Dialect) -> Peer {
        let addr = server.udp_addr().expect("the server serves UDP");
        let socket = tokio::net::UdpSocket::bind(SocketAddr::from((source, 0)))
            .await
            .unwrap_or_else(|e| panic!("bind {source}: {e}"));
        let options = UdpOptions {
            dialect,
            ..UdpOptions::default()
        };
        let transport = chatproto_udp::connect_on(Arc::new(socket), addr, options, |_| {})
            .await
            .expect("udp connect");
        Peer {
            name: Name::EMPTY,
            transport,
            unread: VecDeque::new(),
            confirmed: Vec::new(),
            dialect,
        }
    }

    /// Connects and logs in as `who`, returning once its own LOGIN notice has come back.
    pub async fn join(server: &Server, net: Net, who: &str) -> Peer {
        let mut peer = Peer::connect(server, net, Dialect::V5).await;
        peer.login(who).await;
        peer
    }

    /// Logs in with LOGIN and waits for the notice.
    pub async fn login(&mut self, who: &str) {
        self.name = name(who);
        let (to, text) = match self.dialect {
            Dialect::V5 => (Name::SERVER, String::new()),
            Dialect::Legacy => (Name::ALL, format!("{who} has connected.")),
        };
        self.send_raw(Message::new(Verb::LOGIN, self.name, to, text))
            .await;
        self.expect_notice(Verb::LOGIN, who).await;
    }

    pub async fn send_raw(&mut self, message: Message) -> u32 {
        self.transport.send(message).await.expect("send")
    }

    /// Sends a message from this peer.
    pub async fn send(&mut self, verb: Verb, to: &str, text: &str) -> u32 {
        let to = if to.is_empty() { Name::EMPTY } else { name(to) };
        self.send_raw(Message::new(verb, self.name, to, text)).await
    }

    async fn next(&mut self) -> Option<Message> {
        if let Some(message) = self.unread.pop_front() {
            return Some(message);
        }
        // One deadline for the whole wait, however many confirmations arrive meanwhile.
        let deadline = tokio::time::Instant::now() + PATIENCE;
        loop {
            match tokio::time::timeout_at(deadline, self.transport.recv()).await {
                Err(_) => return None,
                Ok(Ok(Some(Incoming::Message(message)))) => return Some(message),
                Ok(Ok(Some(Incoming::Confirmed(number)))) => self.confirmed.push(number),
                Ok(Ok(None)) | Ok(Err(_)) => return None,
            }
        }
    }

    /// The first message matching `want`; the others that came before it stay unread, in order.
    pub async fn expect(&mut self, what: &str, want: impl Fn(&Message) -> bool) -> Message {
        let mut skipped = Vec::new();
        let found = loop {
            match self.next().await {
                Some(message) if want(&message) => break message,
                Some(message) => skipped.push(message),
                None => panic!("{}: waited for {what}; got only {skipped:#?}", self.name),
            }
        };
        for message in skipped.into_iter().rev() {
            self.unread.push_front(message);
        }
        found
    }

    pub async fn expect_verb(&mut self, verb: Verb) -> Message {
        self.expect(&format!("{verb}"), |m| m.verb == verb).await
    }

    /// The next ERROR, whose text must contain `words`.
    pub async fn expect_error(&mut self, words: &str) -> Message {
        let message = self.expect_verb(Verb::ERROR).await;
        assert!(
            message.text.contains(words),
            "{}: ERROR {:?} does not say {words:?}",
            self.name,
            message.text
        );
        message
    }

    /// A notice about `who` (LOGIN or QUIT).
    pub async fn expect_notice(&mut self, verb: Verb, who: &str) -> Message {
        let who = who.to_owned();
        self.expect(&format!("{verb} notice for {who}"), move |m| {
            m.verb == verb && m.from.as_str() == who
        })
        .await
    }

    /// A message with this text.
    pub async fn expect_text(&mut self, verb: Verb, text: &str) -> Message {
        let text = text.to_owned();
        self.expect(&format!("{verb} {text:?}"), move |m| {
            m.verb == verb && m.text == text
        })
        .await
    }

    /// Asserts that nothing matching `unwanted` arrives within `wait`. Proves absence only as far as a
    /// bounded wait can; tests follow it with a message that must arrive after, to flush the pipe.
    pub async fn expect_nothing(&mut self, wait: Duration, unwanted: impl Fn(&Message) -> bool) {
        // What already arrived, and was passed over by an earlier `expect`, counts too.
        for message in &self.unread {
            assert!(!unwanted(message), "{}: unexpected {message:?}", self.name);
        }
        let deadline = tokio::time::Instant::now() + wait;
        while let Ok(received) = tokio::time::timeout_at(deadline, self.transport.recv()).await {
            match received {
                Ok(Some(Incoming::Message(message))) => {
                    assert!(!unwanted(&message), "{}: unexpected {message:?}", self.name);
                    self.unread.push_back(message);
                }
                Ok(Some(Incoming::Confirmed(number))) => self.confirmed.push(number),
                _ => break,
            }
        }
    }

    /// The messages received and not yet looked at that match `want`, in order.
    pub fn unread_matching(&self, want: impl Fn(&Message) -> bool) -> Vec<&Message> {
        self.unread.iter().filter(|m| want(m)).collect()
    }

    /// Waits until the session ends (the server closed it), keeping what arrives meanwhile. Over TCP only:
    /// a UDP session the server has closed just falls silent.
    pub async fn expect_closed(&mut self) {
        let deadline = tokio::time::Instant::now() + PATIENCE;
        loop {
            match tokio::time::timeout_at(deadline, self.transport.recv()).await {
                Err(_) => panic!(
                    "{}: the session is still open after {PATIENCE:?}",
                    self.name
                ),
                Ok(Ok(Some(Incoming::Message(message)))) => self.unread.push_back(message),
                Ok(Ok(Some(Incoming::Confirmed(number)))) => self.confirmed.push(number),
                Ok(Ok(None)) | Ok(Err(_)) => return,
            }
        }
    }

    /// Waits until the server has confirmed `number`.
    pub async fn expect_confirmed(&mut self, number: u32) {
        let deadline = tokio::time::Instant::now() + PATIENCE;
        while !self.confirmed.contains(&number) {
            match tokio::time::timeout_at(deadline, self.transport.recv()).await {
                Ok(Ok(Some(Incoming::Confirmed(n)))) => self.confirmed.push(n),
                Ok(Ok(Some(Incoming::Message(message)))) => self.unread.push_back(message),
                other => panic!("{}: waiting for CONFIRM {number}: {other:?}", self.name),
            }
        }
    }

    /// Logs in with REGISTER or AUTH and the password, returning once the LOGIN notice is back.
    pub async fn log_in_with(&mut self, verb: Verb, who: &str, password: &str) {
        self.name = name(who);
        self.send_raw(Message::new(verb, self.name, Name::SERVER, password))
            .await;
        self.expect_text(Verb::LOGIN, &format!("{who} has connected."))
            .await;
    }

    /// QUIT, and its notice back.
    pub async fn quit(mut self) {
        let text = format!("{} has disconnected.", self.name);
        self.send(Verb::QUIT, "ALL", &text).await;
        self.expect_text(Verb::QUIT, &text).await;
    }

    /// Waits until at least `count` confirmations have come.
    pub async fn expect_confirmations(&mut self, count: usize) {
        let deadline = tokio::time::Instant::now() + PATIENCE;
        while self.confirmed.len() < count {
            match tokio::time::timeout_at(deadline, self.transport.recv()).await {
                Ok(Ok(Some(Incoming::Confirmed(n)))) => self.confirmed.push(n),
                Ok(Ok(Some(Incoming::Message(message)))) => self.unread.push_back(message),
                _ => panic!(
                    "{}: {} confirmations of {count}",
                    self.name,
                    self.confirmed.len()
                ),
            }
        }
    }

    /// Reads whatever arrives within `wait` (or until the session ends), keeping it all.
    pub async fn drain(&mut self, wait: Duration) {
        let deadline = tokio::time::Instant::now() + wait;
        while let Ok(Ok(Some(incoming))) =
            tokio::time::timeout_at(deadline, self.transport.recv()).await
        {
            match incoming {
                Incoming::Confirmed(n) => self.confirmed.push(n),
                Incoming::Message(message) => self.unread.push_back(message),
            }
        }
    }

    /// HISTORY_REQUEST: every message up to the `end <count>` marker, which is checked against
    /// the number of HISTORY_REPLY entries. Messages of other verbs that came before the marker are
    /// returned too, in order, so a caller can see what was delivered ahead of the history.
    pub async fn history(&mut self, limit: &str) -> Vec<Message> {
        self.send(Verb::HISTORY_REQUEST, "server", limit).await;
        let mut got = Vec::new();
        loop {
            let message = self
                .next()
                .await
                .unwrap_or_else(|| panic!("{}: history without an end; got {got:#?}", self.name));
            if message.verb == Verb::HISTORY_REPLY && message.from == Name::SERVER {
                let entries = got
                    .iter()
                    .filter(|m: &&Message| m.verb == Verb::HISTORY_REPLY)
                    .count();
                assert_eq!(message.text, format!("end {entries}"), "{got:#?}");
                assert_eq!(message.to, self.name);
                return got;
            }
            got.push(message);
        }
    }
}
