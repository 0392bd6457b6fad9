//! The transport suite, run for each transport in the workspace: in-memory, TCP and UDP.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use chatproto::session::{Role, Session, SessionConfig};
use chatproto::transport::{memory, Listener, SessionTransport};
use chatproto::Dialect;
use chatproto_tcp::{TcpChatListener, TcpOptions};
use chatproto_udp::{UdpChatListener, UdpOptions};
use conformance::transport_suite::{run, TransportHarness};

const DEAD_AFTER: Duration = Duration::from_secs(2);

fn session_config(base: SessionConfig) -> SessionConfig {
    SessionConfig {
        dead_after: DEAD_AFTER,
        keepalive_interval: Duration::from_millis(500),
        ..base
    }
}

struct Memory {
    /// The far ends of silent peers' links, held open so the silence is not an end of stream.
    silent: Vec<(
        chatproto::transport::ChannelWriter,
        chatproto::transport::ChannelReader,
    )>,
}

#[async_trait]
impl TransportHarness for Memory {
    type Client = SessionTransport;
    type Server = SessionTransport;

    fn name(&self) -> &str {
        "memory"
    }

    async fn connect(&mut self) -> (SessionTransport, SessionTransport) {
        memory::pair(session_config(SessionConfig::default()))
    }

    async fn connect_to_silent_peer(&mut self) -> Option<SessionTransport> {
        let (to_peer, peer_reads) = chatproto::transport::link();
        let (peer_writes, from_peer) = chatproto::transport::link();
        self.silent.push((peer_writes, peer_reads));
        let session = Session::new(
            Role::Client,
            Some(Dialect::V5),
            session_config(SessionConfig::default()),
            Instant::now(),
        );
        Some(SessionTransport::spawn(session, from_peer, to_peer, None))
    }

    fn dead_after(&self) -> Duration {
        DEAD_AFTER
    }
}

struct Tcp {
    listener: TcpChatListener,
    options: TcpOptions,
    /// Connections accepted by a server that never reads nor writes, held open.
    silent: Vec<std::net::TcpStream>,
}

#[async_trait]
impl TransportHarness for Tcp {
    type Client = SessionTransport;
    type Server = SessionTransport;

    fn name(&self) -> &str {
        "tcp"
    }

    async fn connect(&mut self) -> (SessionTransport, SessionTransport) {
        let addr = self.listener.local_addr().unwrap();
        let client = chatproto_tcp::connect(addr, self.options.clone())
            .await
            .unwrap();
        let server = self.listener.accept().await.unwrap();
        (client, server)
    }

    async fn connect_to_silent_peer(&mut self) -> Option<SessionTransport> {
        let hung = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr: SocketAddr = hung.local_addr().unwrap();
        let client = chatproto_tcp::connect(addr, self.options.clone())
            .await
            .unwrap();
        self.silent.push(hung.accept().unwrap().0);
        Some(client)
    }

    fn dead_after(&self) -> Duration {
        DEAD_AFTER
    }
}

struct Udp {
    listener: UdpChatListener,
    options: UdpOptions,
}

#[async_trait]
impl TransportHarness for Udp {
    type Client = SessionTransport;
    type Server = SessionTransport;

    fn name(&self) -> &str {
        "udp"
    }

    async fn connect(&mut self) -> (SessionTransport, SessionTransport) {
        let addr = self.listener.local_addr().unwrap();
        let client = chatproto_udp::connect(addr, self.options.clone())
            .await
            .unwrap();
        let server = self.listener.accept().await.unwrap();
        (client, server)
    }

    async fn connect_to_silent_peer(&mut self) -> Option<SessionTransport> {
        // A server that answers the handshake and then vanishes, socket and all.
        let mut doomed =
            UdpChatListener::bind("127.0.0.1:0".parse().unwrap(), self.options.clone())
                .await
                .unwrap();
        let addr = doomed.local_addr().unwrap();
        let client = chatproto_udp::connect(addr, self.options.clone())
            .await
            .unwrap();
        drop(doomed.accept().await.unwrap());
        drop(doomed);
        Some(client)
    }

    fn dead_after(&self) -> Duration {
        DEAD_AFTER
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn memory_transport_passes_the_suite() {
    let report = run(&mut Memory { silent: Vec::new() }).await;
    println!("{report}");
    assert!(
        report.failed.is_empty() && report.skipped.is_empty(),
        "{report}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tcp_transport_passes_the_suite() {
    let options = TcpOptions {
        session: session_config(SessionConfig::stream()),
        ..TcpOptions::default()
    };
    let listener = TcpChatListener::bind("127.0.0.1:0".parse().unwrap(), options.clone())
        .await
        .unwrap();
    let report = run(&mut Tcp {
        listener,
        options,
        silent: Vec::new(),
    })
    .await;
    println!("{report}");
    assert!(
        report.failed.is_empty() && report.skipped.is_empty(),
        "{report}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn udp_transport_passes_the_suite() {
    let options = UdpOptions {
        session: session_config(SessionConfig::default()),
        ..UdpOptions::default()
    };
    let listener = UdpChatListener::bind("127.0.0.1:0".parse().unwrap(), options.clone())
        .await
        .unwrap();
    let report = run(&mut Udp { listener, options }).await;
    println!("{report}");
    assert!(
        report.failed.is_empty() && report.skipped.is_empty(),
        "{report}"
    );
}
