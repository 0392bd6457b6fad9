//! The `chat-server` binary as a child process, and a client that reaches it by address.
//!
//! Needs `mod support;` beside it in the test crate (for [`Net`] and `Peer`). The child is killed
//! when its [`ServerProcess`] is dropped, so a failing test leaves no server behind.

#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read};
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{mpsc, Arc, Mutex};
use std::time::Duration;

use chatproto::{Dialect, Message, Verb};
use tokio::time::Instant;

use super::support::{Net, Peer, PATIENCE};

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
        ServerProcess::start_with_args(dir, &[]).await
    }

    /// As [`ServerProcess::start`], with more arguments after the usual ones: limits such as
    /// `--rate-burst 1000` (PROTOCOL.md §9.2), say.
    pub async fn start_with_args(dir: &Path, args: &[&str]) -> ServerProcess {
        let mut child = Command::new(env!("CARGO_BIN_EXE_chat-server"))
            .arg("--data-dir")
            .arg(dir)
            .args(["--tcp", "127.0.0.1:0", "--udp", "127.0.0.1:0"])
            .args(["--insecure-fast-hashing", "--allow-plaintext-passwords"])
            .args(["--log-level", "warn"])
            .args(args)
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

/// A client of a [`ServerProcess`]: the same as the in-process tests' `Peer`.
pub type Client = Peer;

impl ServerProcess {
    /// A client connected by address, not logged in.
    pub async fn connect(&self, net: Net) -> Client {
        let addr = match net {
            Net::Tcp => self.tcp,
            Net::Udp => self.udp,
        };
        Peer::connect_to(addr, net, Dialect::V5).await
    }

    /// A client logged in with REGISTER or AUTH.
    pub async fn log_in(&self, net: Net, verb: Verb, who: &str, password: &str) -> Client {
        let mut client = self.connect(net).await;
        client.log_in_with(verb, who, password).await;
        client
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
