//! Drives the real `chat-client` binary in script mode: stdin piped (one command per line), stdout read
//! line by line. Every wait is bounded by [`PATIENCE`], and the process is killed when its
//! [`ClientProcess`] is dropped (`kill_on_drop`), so a failing test never leaves a client behind or hangs.
//!
//! Declared from a test file with `#[path = "support/client_process.rs"] mod client_process;`, next to
//! `mod support;`.

#![allow(dead_code)]

use std::collections::VecDeque;
use std::process::{ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chatproto_examples::server::Server;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::process::{Child, ChildStdin, Command};
use tokio::sync::mpsc;

use crate::support::{Net, PATIENCE};

/// One `chat-client` process and the lines it has printed but the test has not yet looked at.
pub struct ClientProcess {
    pub name: String,
    child: Child,
    stdin: Option<ChildStdin>,
    lines: mpsc::UnboundedReceiver<String>,
    unread: VecDeque<String>,
    stderr: Arc<Mutex<String>>,
}

impl ClientProcess {
    /// Starts `chat-client --server <addr> --name <name>` (with `--udp` for UDP) in script mode.
    pub fn spawn(server: &Server, net: Net, name: &str) -> ClientProcess {
        let (addr, udp) = match net {
            Net::Tcp => (server.tcp_addr().expect("tcp listener"), false),
            Net::Udp => (server.udp_addr().expect("udp listener"), true),
        };
        let mut command = Command::new(env!("CARGO_BIN_EXE_chat-client"));
        command
            .arg("--server")
            .arg(addr.to_string())
            .arg("--name")
            .arg(name)
            .arg("--connect-timeout")
            .arg("10")
            .arg("--log-level")
            .arg("warn");
        if udp {
            command.arg("--udp");
        }
        let mut child = command
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("chat-client starts");
        let stdin = child.stdin.take();
        let stdout = child.stdout.take().expect("stdout piped");
        let (tx, lines) = mpsc::unbounded_channel();
        tokio::spawn(async move {
            let mut reader = BufReader::new(stdout).lines();
            while let Ok(Some(line)) = reader.next_line().await {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let stderr = Arc::new(Mutex::new(String::new()));
        if let Some(mut pipe) = child.stderr.take() {
            let stderr = stderr.clone();
            tokio::spawn(async move {
                let mut buf = [0u8; 1024];
                while let Ok(n) = pipe.read(&mut buf).await {
                    if n == 0 {
                        break;
                    }
                    if let Ok(mut all) = stderr.lock() {
                        all.push_str(&String::from_utf8_lossy(&buf[..n]));
                    }
                }
            });
        }
        ClientProcess {
            name: name.to_owned(),
            child,
            stdin,
            lines,
            unread: VecDeque::new(),
            stderr,
        }
    }

    /// Starts a client and waits until it is logged in: its own LOGIN notice has been printed.
    pub async fn join(server: &Server, net: Net, name: &str) -> ClientProcess {
        let mut client = ClientProcess::spawn(server, net, name);
        client
            .expect_line(&format!("* {name} has connected."))
            .await;
        client
    }

    /// Types one line.
    pub async fn send_line(&mut self, line: &str) {
        let name = self.name.clone();
        let stdin = self
            .stdin
            .as_mut()
            .unwrap_or_else(|| panic!("{name}: stdin is closed"));
        stdin
            .write_all(format!("{line}\n").as_bytes())
            .await
            .unwrap_or_else(|e| panic!("{name}: writing {line:?}: {e}"));
        stdin
            .flush()
            .await
            .unwrap_or_else(|e| panic!("{name}: flushing {line:?}: {e}"));
    }

    /// Ends the input: the script then drains, says QUIT and exits.
    pub fn close_stdin(&mut self) {
        self.stdin = None;
    }

    fn stderr(&self) -> String {
        self.stderr.lock().map(|s| s.clone()).unwrap_or_default()
    }

    fn fail(&self, what: &str) -> ! {
        panic!(
            "{}: {what}\nunread stdout: {:#?}\nstderr: {}",
            self.name,
            self.unread,
            self.stderr()
        )
    }

    /// Reads one more line into `unread`; false when the deadline passed or stdout ended.
    async fn pull(&mut self, deadline: tokio::time::Instant) -> bool {
        match tokio::time::timeout_at(deadline, self.lines.recv()).await {
            Ok(Some(line)) => {
                self.unread.push_back(line);
                true
            }
            _ => false,
        }
    }

    /// The index in `unread` of the first line matching `want`, reading more as needed.
    async fn find(&mut self, what: &str, want: impl Fn(&str) -> bool) -> usize {
        let deadline = tokio::time::Instant::now() + PATIENCE;
        let mut checked = 0;
        loop {
            if let Some(i) = self.unread.iter().skip(checked).position(|l| want(l)) {
                return checked + i;
            }
            checked = self.unread.len();
            if !self.pull(deadline).await {
                self.fail(&format!("waited for {what}"));
            }
        }
    }

    /// Takes the first line matching `want`; lines before it stay unread, in order.
    pub async fn expect_matching(&mut self, what: &str, want: impl Fn(&str) -> bool) -> String {
        let i = self.find(what, want).await;
        self.unread.remove(i).unwrap_or_default()
    }

    /// Takes the first line equal to `want`.
    pub async fn expect_line(&mut self, want: &str) -> String {
        self.expect_matching(&format!("{want:?}"), |l| l == want)
            .await
    }

    /// Takes a block of lines printed together (a heading and its entries), which must be consecutive.
    pub async fn expect_block(&mut self, block: &[&str]) {
        let Some((&heading, rest)) = block.split_first() else {
            return;
        };
        let start = self.find(&format!("{heading:?}"), |l| l == heading).await;
        let deadline = tokio::time::Instant::now() + PATIENCE;
        while self.unread.len() < start + block.len() {
            if !self.pull(deadline).await {
                self.fail(&format!("waited for the rest of {block:#?}"));
            }
        }
        let got: Vec<&str> = self
            .unread
            .range(start + 1..start + block.len())
            .map(String::as_str)
            .collect();
        if got != rest {
            self.fail(&format!(
                "after {heading:?} expected {rest:#?}, got {got:#?}"
            ));
        }
        self.unread.drain(start..start + block.len());
    }

    /// Asserts that no line matching `unwanted` is printed within `wait` (or is unread already). Proves
    /// absence only as far as a bounded wait can: follow it with [`ClientProcess::expect_marker`].
    pub async fn expect_no_line(&mut self, wait: Duration, unwanted: impl Fn(&str) -> bool) {
        let deadline = tokio::time::Instant::now() + wait;
        while self.pull(deadline).await {}
        if let Some(line) = self.unread.iter().find(|l| unwanted(l)) {
            let line = line.clone();
            self.fail(&format!("unexpected line {line:?}"));
        }
    }

    /// Takes `marker`, a line caused by something sent after whatever must not show, and asserts that no
    /// line matching `unwanted` came before it.
    pub async fn expect_marker(&mut self, marker: &str, unwanted: impl Fn(&str) -> bool) {
        let i = self
            .find(&format!("marker {marker:?}"), |l| l == marker)
            .await;
        if let Some(line) = self.unread.range(..i).find(|l| unwanted(l)) {
            let line = line.clone();
            self.fail(&format!("unexpected line {line:?} before {marker:?}"));
        }
        self.unread.remove(i);
    }

    /// Closes stdin and waits (bounded) for the process to exit; then every line it printed is unread.
    pub async fn finish(&mut self) -> ExitStatus {
        self.close_stdin();
        let status = match tokio::time::timeout(PATIENCE, self.child.wait()).await {
            Ok(Ok(status)) => status,
            Ok(Err(error)) => self.fail(&format!("waiting for exit: {error}")),
            Err(_) => {
                let _ = self.child.start_kill();
                self.fail("did not exit after the end of its input")
            }
        };
        // stdout is closed now: the reader ends soon after the last line.
        let deadline = tokio::time::Instant::now() + PATIENCE;
        while self.pull(deadline).await {}
        status
    }

    /// Like [`ClientProcess::finish`], and the exit status must be `code`.
    pub async fn finish_with(&mut self, code: i32) {
        let status = self.finish().await;
        if status.code() != Some(code) {
            self.fail(&format!("exit status {status}, not {code}"));
        }
    }
}

impl Drop for ClientProcess {
    fn drop(&mut self) {
        // `kill_on_drop` does this too; being explicit costs nothing.
        let _ = self.child.start_kill();
    }
}
