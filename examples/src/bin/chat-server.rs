//! `chat-server`: the example chatproto server. With no arguments it serves TCP and UDP on
//! 127.0.0.1:53289 (the original application's port), with its data in `./chatproto-data/`.

use std::net::SocketAddr;
use std::path::PathBuf;

use chatproto_examples::server::{PasswordHashing, Server, ServerConfig, Storage, TlsFiles};
use clap::Parser;

/// The example chatproto server.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Args {
    /// TCP address to listen on.
    #[arg(long, default_value = "127.0.0.1:53289")]
    tcp: SocketAddr,
    /// UDP address to listen on.
    #[arg(long, default_value = "127.0.0.1:53289")]
    udp: SocketAddr,
    /// Do not serve TCP.
    #[arg(long)]
    no_tcp: bool,
    /// Do not serve UDP.
    #[arg(long)]
    no_udp: bool,
    /// Where to keep accounts, messages for offline users and history (SQLite).
    #[arg(long, default_value = "chatproto-data")]
    data_dir: PathBuf,
    /// Keep nothing on disk: everything is lost on exit.
    #[arg(long)]
    memory: bool,
    /// Log level or filter (error, warn, info, debug, trace, or a tracing EnvFilter).
    #[arg(long, default_value = "info")]
    log_level: String,
    /// TLS certificate chain (PEM) for TCP; needs --tls-key.
    #[arg(long, requires = "tls_key")]
    tls_cert: Option<PathBuf>,
    /// TLS private key (PEM) for TCP; needs --tls-cert.
    #[arg(long, requires = "tls_cert")]
    tls_key: Option<PathBuf>,
    /// Accept passwords over plain TCP and UDP from loopback addresses (PROTOCOL.md ). For local
    /// testing only: anyone on the path can read them.
    #[arg(long)]
    allow_plaintext_passwords: bool,
    /// Hash passwords with minimal argon2id parameters. For tests of debug builds only.
    #[arg(long, hide = true)]
    insecure_fast_hashing: bool,
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let args = Args::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_new(&args.log_level).unwrap_or_default(),
        )
        .with_writer(std::io::stderr)
        .init();
    let config = ServerConfig {
        tcp: (!args.no_tcp).then_some(args.tcp),
        udp: (!args.no_udp).then_some(args.udp),
        storage: if args.memory {
            Storage::Memory
        } else {
            Storage::Directory(args.data_dir.clone())
        },
        hashing: if args.insecure_fast_hashing {
            PasswordHashing::FastForTests
        } else {
            PasswordHashing::Recommended
        },
        tls: match (args.tls_cert.clone(), args.tls_key.clone()) {
            (Some(cert), Some(key)) => Some(TlsFiles { cert, key }),
            _ => None,
        },
        allow_plaintext_passwords: args.allow_plaintext_passwords,
        ..ServerConfig::default()
    };
    let server = match Server::start(config).await {
        Ok(server) => server,
        Err(error) => {
            eprintln!("chat-server: cannot start: {error}");
            return std::process::ExitCode::FAILURE;
        }
    };
    let place = |addr: Option<SocketAddr>| addr.map_or_else(|| "off".to_owned(), |a| a.to_string());
    let data = if args.memory {
        "memory only".to_owned()
    } else {
        args.data_dir.display().to_string()
    };
    println!(
        "chat-server listening on tcp {}, udp {}; data: {data}",
        place(server.tcp_addr()),
        place(server.udp_addr())
    );
    let reason = stop_signal().await;
    tracing::info!("{reason}: shutting down");
    server.shutdown("server is shutting down").await;
    println!("chat-server stopped");
    std::process::ExitCode::SUCCESS
}

/// Waits for Ctrl-C or SIGTERM.
async fn stop_signal() -> &'static str {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => tokio::select! {
                _ = tokio::signal::ctrl_c() => "interrupted",
                _ = term.recv() => "terminated",
            },
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
                "interrupted"
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
        "interrupted"
    }
}
