//! [`Server`]: start the listeners and the hub; stop them cleanly.

use std::net::SocketAddr;
use std::sync::atomic::AtomicU64;
use std::sync::Arc;
use std::time::Duration;

use chatproto::chat::{Hub, Input, MemoryStore, PasswordHasher, Store};
use chatproto::session::SessionConfig;
use chatproto::transport::Listener;
use chatproto_tcp::{TcpChatListener, TcpOptions};
use chatproto_udp::{UdpChatListener, UdpOptions};
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;

use super::config::{PasswordHashing, ServerConfig, Storage};
use super::hub_thread::{self, ToHub, INBOX};
use super::listen::{accept_loop, Confidentiality, Stopped};
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
    stop: watch::Sender<bool>,
}

/// How long a stopping server waits for its sessions to flush.
const STOP_WITHIN: Duration = Duration::from_secs(5);

impl Server {
    /// Opens the store, binds the listeners and starts serving.
    pub async fn start(config: ServerConfig) -> Result<Server, StartError> {
        let (hub_tx, inbox) = mpsc::channel(INBOX);
        let hub_thread = match (&config.storage, config.hashing) {
            (Storage::Directory(dir), hashing) => {
                spawn_hub(SqliteStore::open(dir)?, hashing, inbox)?
            }
            (Storage::Memory, hashing) => spawn_hub(MemoryStore::default(), hashing, inbox)?,
        };
        // the server confirms a message only after it is stored.
        let session = |base: SessionConfig| SessionConfig {
            defer_confirm: true,
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
            let listener = TcpChatListener::bind(addr, options).await?;
            tcp = Some(listener.local_addr()?);
            listeners.push(tokio::spawn(accept_loop(
                listener,
                plaintext,
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
        Ok(Server {
            tcp,
            udp,
            hub: hub_tx,
            hub_thread,
            listeners,
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

fn spawn_hub<S: Store + 'static>(
    store: S,
    hashing: PasswordHashing,
    inbox: mpsc::Receiver<ToHub>,
) -> std::io::Result<std::thread::JoinHandle<()>> {
    let hasher = match hashing {
        PasswordHashing::Recommended => Argon2Hasher::default(),
        PasswordHashing::FastForTests => Argon2Hasher::fast_for_tests(),
    };
    spawn_with(store, hasher, inbox)
}

fn spawn_with<S: Store + 'static, H: PasswordHasher + 'static>(
    store: S,
    hasher: H,
    inbox: mpsc::Receiver<ToHub>,
) -> std::io::Result<std::thread::JoinHandle<()>> {
    hub_thread::spawn(Hub::new(store, hasher), inbox)
}
