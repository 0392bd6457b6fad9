//! [`ServerConfig`]: addresses, storage and timeouts.

use std::net::SocketAddr;
use std::path::PathBuf;

pub use chatproto::chat::Limits;

/// The original application's port.
pub const DEFAULT_PORT: u16 = 53289;

/// Where the server keeps accounts, messages for offline users, and history.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Storage {
    /// SQLite in this directory (created if missing).
    Directory(PathBuf),
    /// In memory: nothing survives a restart.
    Memory,
}

/// How passwords are hashed. Always argon2id; the fast setting exists for tests of debug builds, where
/// the recommended parameters take seconds per login.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PasswordHashing {
    /// The argon2 crate's recommended parameters.
    Recommended,
    /// Minimal parameters: for tests only.
    FastForTests,
}

/// Everything the server needs to start.
#[derive(Clone, Debug)]
pub struct ServerConfig {
    /// TCP address to listen on, if any.
    pub tcp: Option<SocketAddr>,
    /// UDP address to listen on, if any.
    pub udp: Option<SocketAddr>,
    /// Where data lives.
    pub storage: Storage,
    /// Password hashing strength.
    pub hashing: PasswordHashing,
    /// TLS for TCP: the certificate chain and private key, PEM files. Without it TCP is plain.
    pub tls: Option<TlsFiles>,
    /// Accept passwords over transports without confidentiality (plain TCP, UDP), from loopback addresses
    /// only. For tests and local use.
    pub allow_plaintext_passwords: bool,
    /// What a client can make the server hold (PROTOCOL.md §9.2).
    pub limits: Limits,
}

/// The PEM files TLS needs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TlsFiles {
    /// The certificate chain, leaf first.
    pub cert: PathBuf,
    /// The private key.
    pub key: PathBuf,
}

impl Default for ServerConfig {
    fn default() -> ServerConfig {
        let addr = SocketAddr::from(([127, 0, 0, 1], DEFAULT_PORT));
        ServerConfig {
            tcp: Some(addr),
            udp: Some(addr),
            storage: Storage::Directory(PathBuf::from("chatproto-data")),
            hashing: PasswordHashing::Recommended,
            tls: None,
            allow_plaintext_passwords: false,
            limits: Limits::default(),
        }
    }
}
