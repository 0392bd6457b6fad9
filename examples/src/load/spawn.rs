//! A `chat-server` child process to measure: started on loopback with in-memory storage, stopped when
//! dropped.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use super::LoadError;

/// How long the server may take to print that it listens.
const START_WITHIN: Duration = Duration::from_secs(30);

/// A running `chat-server`.
#[derive(Debug)]
pub(crate) struct SpawnedServer {
    child: Child,
    /// Its TCP address.
    pub tcp: Option<SocketAddr>,
    /// Its UDP address.
    pub udp: Option<SocketAddr>,
}

impl SpawnedServer {
    /// Starts `bin` (by default the `chat-server` beside this executable) with `--memory`, listening on
    /// `tcp` and `udp` (port 0 for any free one), plus `extra` arguments. Returns once it has printed the
    /// addresses it bound.
    pub fn start(
        bin: Option<PathBuf>,
        tcp: SocketAddr,
        udp: SocketAddr,
        extra: &[String],
    ) -> Result<SpawnedServer, LoadError> {
        let bin = match bin {
            Some(bin) => bin,
            None => std::env::current_exe()?.with_file_name("chat-server"),
        };
        let mut child = Command::new(&bin)
            .arg("--memory")
            .args(["--tcp", &tcp.to_string(), "--udp", &udp.to_string()])
            .args(["--log-level", "warn"])
            .args(extra)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .map_err(|e| format!("cannot start {}: {e}", bin.display()))?;
        let stdout = child.stdout.take().ok_or("no stdout")?;
        let (line_tx, line_rx) = std::sync::mpsc::channel();
        // Keeps reading the server's output so that it never blocks on a full pipe.
        std::thread::spawn(move || {
            let mut first = Some(line_tx);
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Some(tx) = first.take() {
                    let _ = tx.send(line);
                }
            }
        });
        let mut server = SpawnedServer {
            child,
            tcp: None,
            udp: None,
        };
        let line = line_rx
            .recv_timeout(START_WITHIN)
            .map_err(|_| format!("{} printed nothing within {START_WITHIN:?}", bin.display()))?;
        // "chat-server listening on tcp 127.0.0.1:P, udp 127.0.0.1:Q; data: memory only"
        let addr = |after: &str, until: char| -> Option<SocketAddr> {
            let rest = &line[line.find(after)? + after.len()..];
            rest[..rest.find(until)?].parse().ok()
        };
        server.tcp = addr("tcp ", ',');
        server.udp = addr("udp ", ';');
        if server.tcp.is_none() && server.udp.is_none() {
            return Err(format!("unexpected first line from chat-server: {line:?}").into());
        }
        Ok(server)
    }

    /// Its process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for SpawnedServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
