//! [`Server`]: start the listeners and the hub; stop them cleanly.

use std::net::SocketAddr;
use std::sync::atomic::AtomicU64;
use std::sync::Arc;
use std::time::Duration;

use chatproto::chat::{Hub, Input, Limits, MemoryStore, PasswordHasher, Store};
use chatproto::session::SessionConfig;
use chatproto::transport::Listener;
use chatproto_tcp::{TcpChatListener, TcpOptions};
use chatproto_udp::{UdpChatListener, UdpOptions};
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;
use tokio::time::MissedTickBehavior;

use super::config::{PasswordHashing, ServerConfig, Storage};
use super::hub_thread::{self, ToHub, INBOX};
use super::listen::{accept_loop, Confidentiality, Stopped};
use super::open_files;
use super::tls;
use crate::store::{Argon2Hasher, SqliteStore};

/// Any error starting the server, with its cause in words.
pub type StartError = Box<dyn std::error::Error + Send + Sync>;

/// A running server.
#[derive(Debug)]
pub struct Server {
    tcp: Option<SocketAddr>,
    udp: Option<SocketAddr>,
    hub: mpsc::Sender<ToHub>,
    hub_thread: std::thread::JoinHandle<()>,
    listeners: Vec<JoinHandle<Stopped>>,
    ticker: JoinHandle<()>,
    stop: watch::Sender<bool>,
}

/// How long a stopping server waits for its sessions to flush.
const STOP_WITHIN: Duration = Duration::from_secs(5);

/// How often the hub is told the time, to close sessions past their login or idle timeout: often
/// enough that a timeout is kept to within a fraction of a second.
const TICK_EVERY: Duration = Duration::from_millis(250);

impl Server {
    /// Opens the store, binds the listeners and starts serving.
    pub async fn start(config: ServerConfig) -> Result<Server, StartError> {
        // Before anything starts: a bad certificate or key file is reported at once, by name.
        let tls_config = config.tls.as_ref().map(tls::server_config).transpose()?;
        let limits = config.limits.clone();
        raise_open_files_limit(&limits);
        let (hub_tx, inbox) = mpsc::channel(INBOX);
        let hub_thread = match (&config.storage, config.hashing) {
            (Storage::Directory(dir), hashing) => {
                spawn_hub(SqliteStore::open(dir)?, hashing, limits.clone(), inbox)?
            }
            (Storage::Memory, hashing) => {
                spawn_hub(MemoryStore::default(), hashing, limits.clone(), inbox)?
            }
        };
        let session = |base: SessionConfig| SessionConfig {
            // the server confirms a message only after it is stored.
            defer_confirm: true,
            // the largest message a session reassembles.
            max_message: limits.max_message,
            ..base
        };
        let ids = Arc::new(AtomicU64::new(1));
        let plaintext = if config.allow_plaintext_passwords {
            Confidentiality::Loopback
        } else {
            Confidentiality::Never
        };
        let (stop, stopped) = watch::channel(false);
        let mut listeners = Vec::new();
        let mut tcp = None;
        if let Some(addr) = config.tcp {
            let options = TcpOptions {
                session: session(SessionConfig::stream()),
                ..TcpOptions::default()
            };
            let listener = match tls_config {
                Some(tls_config) => TcpChatListener::bind_tls(addr, options, tls_config).await?,
                None => TcpChatListener::bind(addr, options).await?,
            };
            tcp = Some(listener.local_addr()?);
            // TLS sessions may carry passwords.
            let confidentiality = if listener.is_tls() {
                Confidentiality::Always
            } else {
                plaintext
            };
            listeners.push(tokio::spawn(accept_loop(
                listener,
                confidentiality,
                hub_tx.clone(),
                ids.clone(),
                stopped.clone(),
            )));
        }
        let mut udp = None;
        if let Some(addr) = config.udp {
            let options = UdpOptions {
                session: session(SessionConfig::default()),
                ..UdpOptions::default()
            };
            let listener = UdpChatListener::bind(addr, options).await?;
            udp = Some(listener.local_addr()?);
            listeners.push(tokio::spawn(accept_loop(
                listener,
                plaintext,
                hub_tx.clone(),
                ids.clone(),
                stopped.clone(),
            )));
        }
        let ticker = tokio::spawn(tick(hub_tx.clone(), stopped));
        Ok(Server {
            tcp,
            udp,
            hub: hub_tx,
            hub_thread,
            listeners,
            ticker,
            stop,
        })
    }

    /// The TCP address it listens on.
    pub fn tcp_addr(&self) -> Option<SocketAddr> {
        self.tcp
    }

    /// The UDP address it listens on.
    pub fn udp_addr(&self) -> Option<SocketAddr> {
        self.udp
    }

    /// Stops accepting, flushes storage, tells every client why with SHUTDOWN, and waits (a few
    /// seconds at most) for the sessions to flush.
    pub async fn shutdown(self, reason: &str) {
        // Stop accepting, but keep the listeners until the sessions have flushed.
        let _ = self.stop.send(true);
        let mut listeners = Vec::new();
        for task in self.listeners {
            if let Ok(listener) = task.await {
                listeners.push(listener);
            }
        }
        // The ticker holds a sender to the hub, and the hub thread ends only once every sender has gone.
        let _ = self.ticker.await;
        let _ = self
            .hub
            .send(ToHub::Input(Input::Shutdown(reason.to_owned())))
            .await;
        drop(self.hub);
        // The hub thread ends when the last session task has gone.
        let thread = self.hub_thread;
        let joined = tokio::task::spawn_blocking(move || thread.join());
        if tokio::time::timeout(STOP_WITHIN, joined).await.is_err() {
            tracing::warn!("sessions still flushing after {STOP_WITHIN:?}; stopping anyway");
        }
        drop(listeners);
    }
}

/// Tells the hub the time every [`TICK_EVERY`] until the server stops.
async fn tick(hub: mpsc::Sender<ToHub>, mut stop: watch::Receiver<bool>) {
    let mut ticks = tokio::time::interval(TICK_EVERY);
    ticks.set_missed_tick_behavior(MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            // A stop, or a server dropped without one.
            _ = stop.changed() => return,
            _ = ticks.tick() => {
                // A hub with a full inbox is busy: this tick can wait for the next.
                if let Err(mpsc::error::TrySendError::Closed(_)) = hub.try_send(ToHub::Input(Input::Tick)) {
                    return;
                }
            }
        }
    }
}

/// Raises the open files limit as far as it goes, so the sessions the limits allow can have their file
/// descriptors, and says what it is.
fn raise_open_files_limit(limits: &Limits) {
    match open_files::raise_to_hard_limit() {
        Some(open_files) => {
            tracing::info!(open_files, "open files limit");
            let sessions = u64::try_from(limits.max_sessions).unwrap_or(u64::MAX);
            if open_files < sessions {
                tracing::warn!(
                    open_files,
                    max_sessions = limits.max_sessions,
                    "the open files limit is below the session limit: TCP accepts will fail before it is reached"
                );
            }
        }
        None => tracing::debug!("open files limit unknown"),
    }
}

fn spawn_hub<S: Store + 'static>(
    store: S,
    hashing: PasswordHashing,
    limits: Limits,
    inbox: mpsc::Receiver<ToHub>,
) -> std::io::Result<std::thread::JoinHandle<()>> {
    let hasher = match hashing {
        PasswordHashing::Recommended => Argon2Hasher::default(),
        PasswordHashing::FastForTests => Argon2Hasher::fast_for_tests(),
    };
    spawn_with(store, hasher, limits, inbox)
}

fn spawn_with<S: Store + 'static, H: PasswordHasher + 'static>(
    store: S,
    hasher: H,
    limits: Limits,
    inbox: mpsc::Receiver<ToHub>,
) -> std::io::Result<std::thread::JoinHandle<()>> {
    hub_thread::spawn(Hub::with_limits(store, hasher, limits), inbox)
}
