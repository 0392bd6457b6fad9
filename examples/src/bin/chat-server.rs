//! `chat-server`: the example chatproto server. With no arguments it serves TCP and UDP on
//! 127.0.0.1:53289 (the original application's port), with its data in `./chatproto-data/`.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use chatproto_examples::server::{
    Limits, PasswordHashing, Server, ServerConfig, Storage, TlsFiles,
};
use clap::builder::RangedU64ValueParser;
use clap::{Args as ClapArgs, Parser};

/// The allocator. glibc's malloc keeps what a burst used: after 10,000 logins (R-8.4: 50 million
/// notices) it held about 100 KiB per idle connection. jemalloc, set up by `_rjem_malloc_conf` below, gives
/// freed memory back to the system.
#[cfg(not(target_env = "msvc"))]
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

/// jemalloc's settings, which it reads at start (`_RJEM_MALLOC_CONF` in the environment overrides them):
/// - `background_thread:true`: jemalloc's own thread gives pages back, so a server gone quiet, which
///   allocates too little to trigger it, still returns what its last burst used;
/// - `dirty_decay_ms:1000`: a freed page goes back after about a second unused (jemalloc's default is
///   10 s), in step with sessions, which free their burst buffers after a second of quiet;
/// - `muzzy_decay_ms:0`: and it goes back with `MADV_DONTNEED`, which lowers the resident size at once,
///   not `MADV_FREE`, which lowers it only once the kernel is short of memory.
#[cfg(not(target_env = "msvc"))]
#[export_name = "_rjem_malloc_conf"]
static JEMALLOC_CONF: Option<&std::ffi::c_char> = Some(
    // SAFETY: a pointer to the first byte of a static, NUL-terminated string: valid for 'static.
    unsafe { &*c"background_thread:true,dirty_decay_ms:1000,muzzy_decay_ms:0".as_ptr() },
);

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
    #[command(flatten)]
    limits: LimitArgs,
}

/// What a client can make the server hold (PROTOCOL.md §9.2); each defaults to the value PROTOCOL.md gives.
#[derive(Debug, ClapArgs)]
#[command(next_help_heading = "Limits (PROTOCOL.md §9.2)")]
struct LimitArgs {
    /// Concurrent sessions at most; one more is told `server full` and closed.
    #[arg(long, value_name = "N", default_value_t = defaults().max_sessions,
          value_parser = RangedU64ValueParser::<usize>::new().range(1..))]
    max_sessions: usize,
    /// Messages a session may send in a burst.
    #[arg(long, value_name = "N", default_value_t = defaults().rate_burst,
          value_parser = clap::value_parser!(u32).range(1..))]
    rate_burst: u32,
    /// Messages a second a session's burst refills at.
    #[arg(long, value_name = "N", default_value_t = defaults().rate_per_second,
          value_parser = clap::value_parser!(u32).range(1..))]
    rate_per_second: u32,
    /// Messages refused for their rate within --refusal-window that close a session.
    #[arg(long, value_name = "N", default_value_t = defaults().refusals_to_close,
          value_parser = clap::value_parser!(u32).range(1..))]
    refusals_to_close: u32,
    /// The window, in seconds, that --refusals-to-close counts in.
    #[arg(long, value_name = "SECS", default_value_t = defaults().refusal_window.as_secs(),
          value_parser = clap::value_parser!(u64).range(1..))]
    refusal_window: u64,
    /// Rooms one user may be in, General included.
    #[arg(long, value_name = "N", default_value_t = defaults().rooms_per_user,
          value_parser = RangedU64ValueParser::<usize>::new().range(1..))]
    rooms_per_user: usize,
    /// Rooms that may exist, General included.
    #[arg(long, value_name = "N", default_value_t = defaults().rooms_total,
          value_parser = RangedU64ValueParser::<usize>::new().range(1..))]
    rooms_total: usize,
    /// Failed logins a minute from one client address before its login packets are refused for the rest
    /// of the minute.
    #[arg(long, value_name = "N", default_value_t = defaults().login_failures_per_address,
          value_parser = clap::value_parser!(u32).range(1..))]
    login_failures_per_address: u32,
    /// Seconds a session may take to log in before it is closed.
    #[arg(long, value_name = "SECS", default_value_t = defaults().login_timeout.as_secs(),
          value_parser = clap::value_parser!(u64).range(1..))]
    login_timeout: u64,
    /// Seconds a logged-in session may send nothing before it is closed.
    #[arg(long, value_name = "SECS", default_value_t = defaults().idle_timeout.as_secs(),
          value_parser = clap::value_parser!(u64).range(1..))]
    idle_timeout: u64,
    /// Bytes of text one reassembled message may hold.
    #[arg(long, value_name = "BYTES", default_value_t = defaults().max_message,
          value_parser = RangedU64ValueParser::<usize>::new().range(1..))]
    max_message: usize,
}

fn defaults() -> Limits {
    Limits::default()
}

impl LimitArgs {
    fn limits(&self) -> Limits {
        Limits {
            max_sessions: self.max_sessions,
            rate_burst: self.rate_burst,
            rate_per_second: self.rate_per_second,
            refusals_to_close: self.refusals_to_close,
            refusal_window: Duration::from_secs(self.refusal_window),
            rooms_per_user: self.rooms_per_user,
            rooms_total: self.rooms_total,
            login_failures_per_address: self.login_failures_per_address,
            login_timeout: Duration::from_secs(self.login_timeout),
            idle_timeout: Duration::from_secs(self.idle_timeout),
            max_message: self.max_message,
        }
    }
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
        limits: args.limits.limits(),
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
