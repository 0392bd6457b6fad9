//! [`ChildServer`]: the `chat-server` binary as a child process, as `support/server_process.rs` starts it,
//! but with a choice of storage and a limit on open files set before it runs.

use std::io::{BufRead, BufReader, Read};
use std::net::SocketAddr;
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{mpsc, Arc, Mutex};
use std::time::Duration;

use tokio::time::Instant;

use super::proc_stats;

/// How the child is started.
#[derive(Clone, Debug, Default)]
pub struct ChildOptions {
    /// Its data directory; `None` keeps everything in memory (`--memory`), so that no fsync paces it.
    pub data_dir: Option<PathBuf>,
    /// `RLIMIT_NOFILE`, soft and hard alike, so that the server cannot raise it again.
    pub max_open_files: Option<u64>,
    /// More flags, such as limits.
    pub args: Vec<String>,
}

/// A running `chat-server` on ephemeral loopback ports. Killed when dropped.
pub struct ChildServer {
    child: Child,
    pub tcp: SocketAddr,
    pub udp: SocketAddr,
    stderr: Arc<Mutex<String>>,
}

impl ChildServer {
    /// Starts the binary and returns once it prints its `chat-server listening` line, which holds the ports
    /// it bound.
    pub async fn start(options: ChildOptions) -> ChildServer {
        let mut command = Command::new(env!("CARGO_BIN_EXE_chat-server"));
        match &options.data_dir {
            Some(dir) => command.arg("--data-dir").arg(dir),
            None => command.arg("--memory"),
        };
        command
            .args(["--tcp", "127.0.0.1:0", "--udp", "127.0.0.1:0"])
            .args(["--insecure-fast-hashing", "--allow-plaintext-passwords"])
            .args(["--log-level", "warn"])
            .args(&options.args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        if let Some(limit) = options.max_open_files {
            let limit = limit as libc::rlim_t;
            // SAFETY: the closure runs in the forked child before exec and calls only setrlimit, which is
            // async-signal-safe; it allocates nothing and touches no lock.
            unsafe {
                command.pre_exec(move || {
                    let rlimit = libc::rlimit {
                        rlim_cur: limit,
                        rlim_max: limit,
                    };
                    if libc::setrlimit(libc::RLIMIT_NOFILE, &rlimit) == 0 {
                        Ok(())
                    } else {
                        Err(std::io::Error::last_os_error())
                    }
                });
            }
        }
        let mut child = command.spawn().expect("chat-server starts");
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
        let deadline = Instant::now() + Duration::from_secs(10);
        let line = loop {
            match stdout.try_recv() {
                Ok(line) if line.starts_with("chat-server listening") => break line,
                Ok(_) => {}
                Err(mpsc::TryRecvError::Disconnected) => panic!(
                    "chat-server ended before listening: {:?}; stderr:\n{}",
                    child.try_wait(),
                    stderr.lock().unwrap()
                ),
                Err(mpsc::TryRecvError::Empty) => {
                    assert!(
                        Instant::now() < deadline,
                        "chat-server is not listening; stderr:\n{}",
                        stderr.lock().unwrap()
                    );
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
            }
        };
        // "chat-server listening on tcp 127.0.0.1:P, udp 127.0.0.1:Q; data: DIR"
        let addr = |after: &str, until: char| -> SocketAddr {
            let rest = &line[line.find(after).unwrap() + after.len()..];
            rest[..rest.find(until).unwrap()].parse().unwrap()
        };
        ChildServer {
            tcp: addr("tcp ", ','),
            udp: addr("udp ", ';'),
            child,
            stderr,
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// What it wrote to stderr so far (its log, and any panic).
    pub fn stderr(&self) -> String {
        self.stderr.lock().unwrap().clone()
    }

    /// Still running, and nothing in its log says a thread panicked.
    pub fn assert_healthy(&mut self) {
        assert!(
            matches!(self.child.try_wait(), Ok(None)),
            "chat-server exited: {:?}; stderr:\n{}",
            self.child.try_wait(),
            self.stderr()
        );
        assert!(
            !self.stderr().contains("panicked"),
            "chat-server panicked; stderr:\n{}",
            self.stderr()
        );
    }

    /// Resident memory in KiB.
    pub fn rss_kib(&self) -> u64 {
        proc_stats::rss_kib(self.pid()).expect("the server runs")
    }
}

impl Drop for ChildServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
