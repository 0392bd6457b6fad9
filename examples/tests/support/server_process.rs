//! The `chat-server` binary as a child process, and a client that reaches it by address.
//!
//! Needs `mod support;` beside it in the test crate (for [`Net`] and [`PATIENCE`]). The child is killed
//! when its [`ServerProcess`] is dropped, so a failing test leaves no server behind.

#![allow(dead_code)]

use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Read};
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{mpsc, Arc, Mutex};
use std::time::Duration;

use chatproto::transport::{Incoming, SessionTransport, Transport};
use chatproto::{Message, Name, Verb};
use chatproto_tcp::TcpOptions;
use chatproto_udp::UdpOptions;
use tokio::time::Instant;

use super::support::{Net, PATIENCE};

/// How often a wait on the child looks again.
const POLL: Duration = Duration::from_millis(10);

/// A running `chat-server` on ephemeral loopback ports with its data in a directory.
pub struct ServerProcess {
    child: Child,
    pub tcp: SocketAddr,
    pub udp: SocketAddr,
    stdout: mpsc::Receiver<String>,
    stderr: Arc<Mutex<String>>,
}

impl ServerProcess {
    /// Starts the binary on `dir` and returns once it prints its `chat-server listening` line. It is given
    /// port 0 for both transports and reports the ports it bound in that line, so there is no race for a
    /// free port.
    pub async fn start(dir: &Path) -> ServerProcess {
        let mut child = Command::new(env!("CARGO_BIN_EXE_chat-server"))
            .arg("--data-dir")
            .arg(dir)
            .args(["--tcp", "127.0.0.1:0", "--udp", "127.0.0.1:0"])
            .args(["--insecure-fast-hashing", "--log-level", "warn"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("chat-server starts");
        let (lines, stdout) = mpsc::channel();
        let out = child.stdout.take().unwrap();
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines().map_while(Result::ok) {
                if lines.send(line).is_err() {
                    break;
                }
            }
        });
        let stderr = Arc::new(Mutex::new(String::new()));
        let mut err = child.stderr.take().unwrap();
        let sink = stderr.clone();
        std::thread::spawn(move || {
            let mut buf = [0; 4096];
            while let Ok(n @ 1..) = err.read(&mut buf) {
                sink.lock()
                    .unwrap()
                    .push_str(&String::from_utf8_lossy(&buf[..n]));
            }
        });
        let mut server = ServerProcess {
            child,
            tcp: "0.0.0.0:0".parse().unwrap(),
            udp: "0.0.0.0:0".parse().unwrap(),
            stdout,
            stderr,
        };
        let line = server
            .wait_for_line("chat-server listening", PATIENCE)
            .await;
        // "chat-server listening on tcp 127.0.0.1:P, udp 127.0.0.1:Q; data: DIR"
        let addr = |after: &str, until: char| -> SocketAddr {
            let rest = &line[line.find(after).unwrap() + after.len()..];
            rest[..rest.find(until).unwrap()].parse().unwrap()
        };
        server.tcp = addr("tcp ", ',');
        server.udp = addr("udp ", ';');
        server
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// What the server wrote to stderr so far (its log).
    pub fn stderr(&self) -> String {
        self.stderr.lock().unwrap().clone()
    }

    /// Waits (at most `within`) for a line on stdout that starts with `prefix`; earlier lines are skipped.
    pub async fn wait_for_line(&mut self, prefix: &str, within: Duration) -> String {
        let deadline = Instant::now() + within;
        loop {
            match self.stdout.try_recv() {
                Ok(line) if line.starts_with(prefix) => return line,
                Ok(_) => continue,
                Err(mpsc::TryRecvError::Disconnected) => {
                    panic!(
                        "chat-server closed stdout before {prefix:?}; exit {:?}; stderr:\n{}",
                        self.child.try_wait(),
                        self.stderr()
                    )
                }
                Err(mpsc::TryRecvError::Empty) => {}
            }
            assert!(
                Instant::now() < deadline,
                "chat-server printed no {prefix:?} within {within:?}; stderr:\n{}",
                self.stderr()
            );
            tokio::time::sleep(POLL).await;
        }
    }

    /// SIGTERM, as a service manager stops it. `kill(1)` rather than a libc dependency.
    pub fn terminate(&self) {
        let status = Command::new("kill")
            .arg("-TERM")
            .arg(self.pid().to_string())
            .status()
            .expect("kill(1) runs");
        assert!(status.success(), "kill -TERM failed: {status}");
    }

    /// SIGKILL: a crash, with no chance to flush anything.
    pub fn kill(&mut self) {
        self.child.kill().expect("SIGKILL");
    }

    /// Waits (at most `within`) for the process to exit.
    pub async fn wait_for_exit(&mut self, within: Duration) -> ExitStatus {
        let deadline = Instant::now() + within;
        loop {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "chat-server still running {within:?} after being told to stop; stderr:\n{}",
                self.stderr()
            );
            tokio::time::sleep(POLL).await;
        }
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
        }
        let _ = self.child.wait();
    }
}

/// One client of a [`ServerProcess`]: like `support::Peer`, but connected by address.
pub struct Client {
    pub name: Name,
    pub transport: SessionTransport,
    unread: VecDeque<Message>,
    /// Every confirmation seen, in the order they came.
    pub confirmed: Vec<u32>,
}

impl Client {
    /// Connects without logging in.
    pub async fn connect(server: &ServerProcess, net: Net) -> Client {
        let transport = match net {
            Net::Tcp => chatproto_tcp::connect(server.tcp, TcpOptions::default())
                .await
                .expect("tcp connect"),
            Net::Udp => chatproto_udp::connect(server.udp, UdpOptions::default())
                .await
                .expect("udp connect"),
        };
        Client {
            name: Name::EMPTY,
            transport,
            unread: VecDeque::new(),
            confirmed: Vec::new(),
        }
    }

    /// Connects and logs in with REGISTER or AUTH, returning once the LOGIN notice is back.
    pub async fn log_in(
        server: &ServerProcess,
        net: Net,
        verb: Verb,
        who: &str,
        password: &str,
    ) -> Client {
        let mut client = Client::connect(server, net).await;
        client.name = Name::new(who).unwrap();
        client
            .send_raw(Message::new(verb, client.name, Name::SERVER, password))
            .await;
        client
            .expect_text(Verb::LOGIN, &format!("{who} has connected."))
            .await;
        client
    }

    pub async fn send_raw(&mut self, message: Message) -> u32 {
        self.transport.send(message).await.expect("send")
    }

    /// Sends a message from this client; returns its number.
    pub async fn send(&mut self, verb: Verb, to: &str, text: &str) -> u32 {
        let to = Name::new(to).unwrap();
        self.send_raw(Message::new(verb, self.name, to, text)).await
    }

    /// QUIT, and its notice back.
    pub async fn quit(mut self) {
        let text = format!("{} has disconnected.", self.name);
        self.send(Verb::QUIT, "ALL", &text).await;
        self.expect_text(Verb::QUIT, &text).await;
    }

    /// The next message or confirmation before `deadline`; `None` on timeout or when the session ends.
    async fn recv_until(&mut self, deadline: Instant) -> Option<Incoming> {
        match tokio::time::timeout_at(deadline, self.transport.recv()).await {
            Ok(Ok(Some(incoming))) => Some(incoming),
            _ => None,
        }
    }

    async fn next(&mut self) -> Option<Message> {
        if let Some(message) = self.unread.pop_front() {
            return Some(message);
        }
        let deadline = Instant::now() + PATIENCE;
        loop {
            match self.recv_until(deadline).await? {
                Incoming::Message(message) => return Some(message),
                Incoming::Confirmed(number) => self.confirmed.push(number),
            }
        }
    }

    /// The first message matching `want`; those before it stay unread, in order.
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

    pub async fn expect_text(&mut self, verb: Verb, text: &str) -> Message {
        let text = text.to_owned();
        self.expect(&format!("{verb} {text:?}"), move |m| {
            m.verb == verb && m.text == text
        })
        .await
    }

    /// Waits until the server has confirmed `number` (R-8.13: it is durable by then).
    pub async fn expect_confirmed(&mut self, number: u32) {
        let deadline = Instant::now() + PATIENCE;
        while !self.confirmed.contains(&number) {
            match self.recv_until(deadline).await {
                Some(Incoming::Confirmed(n)) => self.confirmed.push(n),
                Some(Incoming::Message(message)) => self.unread.push_back(message),
                None => panic!("{}: no CONFIRM {number}", self.name),
            }
        }
    }

    /// Waits until at least `count` confirmations have come.
    pub async fn expect_confirmations(&mut self, count: usize) {
        let deadline = Instant::now() + PATIENCE;
        while self.confirmed.len() < count {
            match self.recv_until(deadline).await {
                Some(Incoming::Confirmed(n)) => self.confirmed.push(n),
                Some(Incoming::Message(message)) => self.unread.push_back(message),
                None => panic!(
                    "{}: {} confirmations of {count}",
                    self.name,
                    self.confirmed.len()
                ),
            }
        }
    }

    /// Reads whatever arrives within `wait` (or until the session ends), keeping confirmations.
    pub async fn drain(&mut self, wait: Duration) {
        let deadline = Instant::now() + wait;
        while let Some(incoming) = self.recv_until(deadline).await {
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

/// A HISTORY_REPLY's text split as has it: `<ms since epoch> <verb name> <text>`.
pub fn history_entry(message: &Message) -> (u64, &str, &str) {
    let mut parts = message.text.splitn(3, ' ');
    let ms = parts
        .next()
        .unwrap()
        .parse()
        .unwrap_or_else(|_| panic!("history text {:?} does not start with ms", message.text));
    let verb = parts.next().expect("a verb name");
    (ms, verb, parts.next().unwrap_or(""))
}
