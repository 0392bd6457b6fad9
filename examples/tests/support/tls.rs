//! TLS for the end-to-end tests: certificates made with rcgen, the `chat-server` binary started with
//! any flags (TLS ones among them), the `chat-client` binary run as a script, and library clients over TLS.
//!
//! Self-contained: include it with `#[path = "support/tls.rs"] mod tls_support;`. Every wait is bounded
//! by [`PATIENCE`], and every child is killed when its handle is dropped.

#![allow(dead_code)]

use std::ffi::OsString;
use std::io::{BufRead, BufReader, Read};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{mpsc, Arc, Mutex};
use std::time::Duration;

use chatproto::transport::{Incoming, SessionTransport, Transport};
use chatproto::Message;
use chatproto_tcp::rustls::pki_types::{CertificateDer, ServerName};
use chatproto_tcp::rustls::{self, ClientConfig, RootCertStore};
use chatproto_tcp::TcpOptions;
use tokio::io::AsyncWriteExt;

/// How long a test waits for anything: generous, since only a failure waits this long.
pub const PATIENCE: Duration = Duration::from_secs(10);

/// A certificate and its key as PEM files, and the certificate's DER.
pub struct TestCertificate {
    pub cert: PathBuf,
    pub key: PathBuf,
    pub der: CertificateDer<'static>,
}

/// A self-signed certificate for `localhost` and 127.0.0.1, written to `<stem>-cert.pem` and
/// `<stem>-key.pem` in `dir`.
pub fn self_signed(dir: &Path, stem: &str) -> TestCertificate {
    make(dir, stem, rcgen::IsCa::NoCa)
}

/// Like [`self_signed`], but marked as a CA (basicConstraints CA:TRUE), as `openssl req -x509` makes
/// them by default.
pub fn self_signed_marked_as_ca(dir: &Path, stem: &str) -> TestCertificate {
    make(
        dir,
        stem,
        rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained),
    )
}

fn make(dir: &Path, stem: &str, is_ca: rcgen::IsCa) -> TestCertificate {
    let names = vec!["localhost".to_owned(), "127.0.0.1".to_owned()];
    let mut params = rcgen::CertificateParams::new(names).expect("valid names");
    params.is_ca = is_ca;
    let key_pair = rcgen::KeyPair::generate().expect("a key");
    let made = params
        .self_signed(&key_pair)
        .expect("rcgen makes a certificate");
    let cert = dir.join(format!("{stem}-cert.pem"));
    let key = dir.join(format!("{stem}-key.pem"));
    std::fs::write(&cert, made.pem()).expect("certificate written");
    std::fs::write(&key, key_pair.serialize_pem()).expect("key written");
    TestCertificate {
        cert,
        key,
        der: made.der().clone(),
    }
}

/// A client configuration that trusts exactly `cert` as its root (it is self-signed).
pub fn client_trusting(cert: &CertificateDer<'static>) -> Arc<ClientConfig> {
    let mut roots = RootCertStore::empty();
    roots.add(cert.clone()).expect("a usable trust anchor");
    let config =
        ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()
            .expect("ring supports the defaults")
            .with_root_certificates(roots)
            .with_no_client_auth();
    Arc::new(config)
}

/// A library client over TLS to `addr`, checking the certificate for `localhost`.
pub async fn connect_tls(
    addr: SocketAddr,
    cert: &CertificateDer<'static>,
) -> Result<SessionTransport, chatproto::transport::TransportError> {
    let name = ServerName::try_from("localhost").expect("a DNS name");
    chatproto_tcp::connect_tls(addr, TcpOptions::default(), client_trusting(cert), name).await
}

/// The next message on `transport` that `want` accepts, skipping others and confirmations; panics with
/// what came instead if none does within [`PATIENCE`].
pub async fn expect_message(
    transport: &mut SessionTransport,
    what: &str,
    want: impl Fn(&Message) -> bool,
) -> Message {
    let mut seen = Vec::new();
    let wait = async {
        loop {
            match transport.recv().await {
                Ok(Some(Incoming::Message(message))) if want(&message) => return Ok(message),
                Ok(Some(Incoming::Message(message))) => seen.push(message),
                Ok(Some(Incoming::Confirmed(_))) => {}
                other => return Err(format!("{other:?}")),
            }
        }
    };
    match tokio::time::timeout(PATIENCE, wait).await {
        Ok(Ok(message)) => message,
        Ok(Err(end)) => panic!("waited for {what}; the session ended ({end}) after {seen:#?}"),
        Err(_) => panic!("waited for {what}; got only {seen:#?}"),
    }
}

/// A `chat-server` child process on loopback, with its log.
pub struct ServerChild {
    child: Child,
    pub tcp: SocketAddr,
    pub udp: SocketAddr,
    stderr: Arc<Mutex<String>>,
}

impl ServerChild {
    /// Starts `chat-server` with `--memory --tcp 127.0.0.1:0 --udp 127.0.0.1:0 --insecure-fast-hashing`
    /// and `extra`, and returns once it prints `chat-server listening on tcp X, udp Y`.
    pub fn start(extra: &[OsString]) -> ServerChild {
        let mut child = Command::new(env!("CARGO_BIN_EXE_chat-server"))
            .args(["--memory", "--tcp", "127.0.0.1:0", "--udp", "127.0.0.1:0"])
            .args(["--insecure-fast-hashing", "--log-level", "info"])
            .args(extra)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("chat-server starts");
        let stderr = Arc::new(Mutex::new(String::new()));
        let mut err = child.stderr.take().expect("stderr piped");
        let sink = stderr.clone();
        std::thread::spawn(move || {
            let mut buf = [0; 4096];
            while let Ok(n @ 1..) = err.read(&mut buf) {
                sink.lock()
                    .unwrap()
                    .push_str(&String::from_utf8_lossy(&buf[..n]));
            }
        });
        let (lines, stdout) = mpsc::channel();
        let out = child.stdout.take().expect("stdout piped");
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines().map_while(Result::ok) {
                if lines.send(line).is_err() {
                    break;
                }
            }
        });
        let mut server = ServerChild {
            child,
            tcp: "0.0.0.0:0".parse().unwrap(),
            udp: "0.0.0.0:0".parse().unwrap(),
            stderr,
        };
        let line = loop {
            match stdout.recv_timeout(PATIENCE) {
                Ok(line) if line.starts_with("chat-server listening") => break line,
                Ok(_) => {}
                Err(_) => panic!(
                    "chat-server did not start: exit {:?}; stderr:\n{}",
                    server.child.try_wait(),
                    server.stderr()
                ),
            }
        };
        // "chat-server listening on tcp 127.0.0.1:P, udp 127.0.0.1:Q; data: memory only"
        let addr = |after: &str, until: char| -> SocketAddr {
            let rest = &line[line.find(after).expect(after) + after.len()..];
            rest[..rest.find(until).expect("a separator")]
                .parse()
                .expect("an address")
        };
        server.tcp = addr("tcp ", ',');
        server.udp = addr("udp ", ';');
        server
    }

    /// What the server logged so far.
    pub fn stderr(&self) -> String {
        self.stderr.lock().unwrap().clone()
    }
}

impl Drop for ServerChild {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// What a `chat-client` run printed, and how it ended.
#[derive(Debug)]
pub struct ClientRun {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

/// Runs `chat-client` as a script with `args`, `input` on stdin (then closed), and waits (bounded) for
/// it to exit.
pub async fn run_client(args: &[OsString], input: &str) -> ClientRun {
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_chat-client"))
        .args(["--connect-timeout", "10", "--log-level", "warn"])
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("chat-client starts");
    let mut stdin = child.stdin.take().expect("stdin piped");
    // A client that gives up at once (a refused certificate) may have closed its stdin already.
    let _ = stdin.write_all(input.as_bytes()).await;
    drop(stdin);
    let output = tokio::time::timeout(PATIENCE, child.wait_with_output())
        .await
        .unwrap_or_else(|_| panic!("chat-client {args:?} did not exit in time"))
        .expect("chat-client ran");
    ClientRun {
        code: output.status.code(),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

/// Command-line arguments from string-likes.
pub fn args<I, S>(items: I) -> Vec<OsString>
where
    I: IntoIterator<Item = S>,
    S: Into<OsString>,
{
    items.into_iter().map(Into::into).collect()
}
