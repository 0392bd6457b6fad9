//! [`connect`]: a UDP client session, established with retries, visible progress and a time limit.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use chatproto::session::{Event, Role, Session, SessionConfig};
use chatproto::transport::{ChannelReader, SessionTransport, TransportError};
use chatproto::{Dialect, FRAME_LEN};
use tokio::sync::mpsc;
use tokio::time::Instant;

use crate::peer::{route_datagram, PeerWriter};
use crate::socket::DatagramSocket;

/// Settings for UDP sessions.
#[derive(Clone, Debug)]
pub struct UdpOptions {
    /// The session's limits and timers.
    pub session: SessionConfig,
    /// The dialect a client speaks (a server learns each client's from its first frame).
    pub dialect: Dialect,
    /// How long a client keeps trying to reach the server (the original UDP app tried for 15 s).
    pub connect_timeout: Duration,
    /// How often a client probes while nobody answers (the original tried every 0.2 s).
    pub retry_interval: Duration,
    /// Bytes of kernel receive and send buffer asked for each socket [`connect`] or
    /// [`UdpChatListener::bind`](crate::UdpChatListener::bind) opens (see [`bind`](crate::bind)); 0 keeps
    /// the system's default.
    pub socket_buffer: usize,
}

/// The default [`UdpOptions::socket_buffer`]: room for a full send window's datagrams (256 by default,
/// ) several times over, on the server's socket shared by its peers as on a client's. The kernel
/// charges over a kilobyte of buffer for each 337-byte datagram, so Linux's default of 208 KiB holds fewer
/// than 200, and a window's burst overflowed it: the kernel dropped datagrams even on a lossless loopback.
pub const DEFAULT_SOCKET_BUFFER: usize = 2 << 20;

impl Default for UdpOptions {
    fn default() -> UdpOptions {
        UdpOptions {
            session: SessionConfig::default(),
            dialect: Dialect::V5,
            connect_timeout: Duration::from_secs(15),
            retry_interval: Duration::from_millis(200),
            socket_buffer: DEFAULT_SOCKET_BUFFER,
        }
    }
}

/// Connects to a chatproto server over UDP. See [`connect_with_progress`].
pub async fn connect(
    addr: SocketAddr,
    options: UdpOptions,
) -> Result<SessionTransport, TransportError> {
    connect_with_progress(addr, options, |_| {}).await
}

/// Connects to a chatproto server over UDP from a fresh socket: PING until it is confirmed, calling
/// `progress` with the attempt number before each try, and give up with
/// [`TransportError::ConnectTimeout`] after `connect_timeout`.
pub async fn connect_with_progress(
    addr: SocketAddr,
    options: UdpOptions,
    progress: impl FnMut(u32),
) -> Result<SessionTransport, TransportError> {
    let local: SocketAddr = if addr.is_ipv4() {
        ([0, 0, 0, 0], 0).into()
    } else {
        (std::net::Ipv6Addr::UNSPECIFIED, 0).into()
    };
    let socket = Arc::new(crate::bind(local, options.socket_buffer)?);
    connect_on(socket, addr, options, progress).await
}

/// [`connect_with_progress`] on a socket already bound (a simulated one, for instance).
pub async fn connect_on<S: DatagramSocket>(
    socket: Arc<S>,
    addr: SocketAddr,
    options: UdpOptions,
    mut progress: impl FnMut(u32),
) -> Result<SessionTransport, TransportError> {
    let started = Instant::now();
    let deadline = started + options.connect_timeout;
    // The connection attempt has its own limit; the dead-peer limit must not end it sooner (R-7.9 applies
    // once connected).
    let mut config = options.session.clone();
    config.dead_after = config.dead_after.max(options.connect_timeout);
    let mut session = Session::new(
        Role::Client,
        Some(options.dialect),
        config,
        started.into_std(),
    );
    let mut buf = [0; FRAME_LEN + 1];
    let mut attempts = 0;
    let mut next_try = started;
    let timed_out = |attempts| TransportError::ConnectTimeout {
        addr,
        attempts,
        elapsed: started.elapsed(),
    };
    loop {
        let now = Instant::now();
        if now >= deadline {
            return Err(timed_out(attempts));
        }
        while let Some(event) = session.poll_event() {
            match event {
                // Any confirmation proves the server is there and speaks chatproto.
                Event::Confirmed { .. } => {
                    session.set_dead_after(options.session.dead_after);
                    return Ok(spawn(socket, addr, session));
                }
                Event::Closed(_) => return Err(timed_out(attempts)),
                Event::Message(_) | Event::Refused(_) => {}
            }
        }
        if now >= next_try {
            attempts += 1;
            progress(attempts);
            session.ping().map_err(TransportError::Send)?;
            next_try = now + options.retry_interval;
        }
        while let Some(frame) = session.poll_transmit(now.into_std()) {
            // A refused send (nothing listening yet) is just an attempt that failed.
            let _ = socket.send_to(&frame, addr).await;
        }
        let timer = session
            .poll_timeout()
            .map(Instant::from_std)
            .unwrap_or(deadline);
        let wake = timer.min(next_try).min(deadline);
        // Biased, so that a simulated run replays exactly from its seed.
        tokio::select! {
            biased;
            datagram = route_datagram(&*socket, &mut buf) => {
                if let Ok(Some((frame, from))) = datagram {
                    if from == addr {
                        session.handle_frame(Instant::now().into_std(), &frame);
                    }
                }
            }
            _ = tokio::time::sleep_until(wake) => session.handle_timeout(Instant::now().into_std()),
        }
    }
}

/// Hands the established session to a driver, with a task that routes the server's datagrams to it.
fn spawn<S: DatagramSocket>(
    socket: Arc<S>,
    addr: SocketAddr,
    session: Session,
) -> SessionTransport {
    let (tx, rx) = mpsc::channel(1024);
    let reading = socket.clone();
    tokio::spawn(async move {
        let mut buf = [0; FRAME_LEN + 1];
        loop {
            tokio::select! {
                biased;
                datagram = route_datagram(&*reading, &mut buf) => {
                    if let Ok(Some((frame, from))) = datagram {
                        // Datagrams from anyone but the server are not ours to read.
                        if from == addr && matches!(tx.try_send(frame), Err(mpsc::error::TrySendError::Closed(_))) {
                            return;
                        }
                    }
                }
                // The session has ended: stop reading.
                _ = tx.closed() => return,
            }
        }
    });
    SessionTransport::spawn(
        session,
        ChannelReader::new(rx),
        PeerWriter::new(socket, addr),
        Some(addr),
    )
}
