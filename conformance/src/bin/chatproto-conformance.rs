//! `chatproto-conformance`: checks a running chatproto server against PROTOCOL.md, requirement by
//! requirement, over TCP or UDP.
//!
//! ```text
//! chatproto-conformance --tcp 127.0.0.1:53289 --strict
//! chatproto-conformance --udp 127.0.0.1:53289 --dialect 4 --only R-3.11 --only R-8
//! ```
//!
//! The last line printed is `N passed, N failed, N skipped`; the exit status is 1 if any case failed.

use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use chatproto::Dialect;
use clap::{CommandFactory, Parser, ValueEnum};
use conformance::server_suite::{cases, run_streaming, Feature, ServerLimits, SuiteConfig, Target};

/// Checks a chatproto server against PROTOCOL.md: each case cites the requirement it checks.
#[derive(Debug, Parser)]
#[command(name = "chatproto-conformance", version)]
struct Args {
    /// The server's TCP address.
    #[arg(long, value_name = "ADDR", conflicts_with = "udp")]
    tcp: Option<SocketAddr>,
    /// The server's UDP address.
    #[arg(long, value_name = "ADDR")]
    udp: Option<SocketAddr>,
    /// Which dialect's cases to run: 4 (legacy) or 5.
    #[arg(long, default_value = "5", value_parser = parse_dialect)]
    dialect: Dialect,
    /// Run only cases whose id starts with this (R-6.2, R-6.2/1, R-8); repeatable.
    #[arg(long, value_name = "PREFIX")]
    only: Vec<String>,
    /// Leave out cases whose id starts with this; repeatable.
    #[arg(long = "skip", value_name = "PREFIX")]
    skip: Vec<String>,
    /// Also run the cases that check a SHOULD.
    #[arg(long)]
    strict: bool,
    /// Write a JUnit XML report to this file.
    #[arg(long, value_name = "FILE")]
    junit: Option<PathBuf>,
    /// Print the report as JSON on stdout (the summary line then goes to stderr).
    #[arg(long)]
    json: bool,
    /// List the cases and exit.
    #[arg(long)]
    list: bool,
    /// Seconds one read waits before a case fails.
    #[arg(long, default_value = "2", value_name = "SECS", value_parser = parse_secs)]
    timeout: Duration,
    /// Cases run at once at most.
    #[arg(long, default_value_t = 8)]
    jobs: usize,
    /// Something the server does not support, whose cases are skipped; repeatable. One of v4, v5,
    /// passwords, rooms, chats, receipts, history, cipher.
    #[arg(long, value_name = "FEATURE")]
    without: Vec<Feature>,
    /// Whether the server accepts passwords over plain TCP and UDP from loopback (R-9.1).
    #[arg(long, value_enum, default_value_t = Plaintext::Refused)]
    plaintext_passwords: Plaintext,
    /// Connect from this host's own address only, not from spread loopback addresses.
    #[arg(long)]
    same_source: bool,
    /// Wait this many seconds for SHUTDOWN while you stop the server (R-8.16).
    #[arg(long, value_name = "SECS", value_parser = parse_secs)]
    await_shutdown: Option<Duration>,
    /// The server's session limit (R-9.2).
    #[arg(long, default_value_t = 10_000)]
    max_sessions: usize,
    /// The server's rate bucket size (R-9.3).
    #[arg(long, default_value_t = 100)]
    rate_burst: u32,
    /// The server's bucket refill rate, packets a second (R-9.3).
    #[arg(long, default_value_t = 50)]
    rate_per_second: u32,
    /// Refused packets within the window that close a session (R-9.3).
    #[arg(long, default_value_t = 50)]
    refusals_to_close: u32,
    /// The window refusals are counted in, seconds (R-9.3).
    #[arg(long, default_value = "10", value_name = "SECS", value_parser = parse_secs)]
    refusal_window: Duration,
    /// Rooms one user may be in, General included (R-9.4).
    #[arg(long, default_value_t = 100)]
    rooms_per_user: usize,
    /// Rooms that may exist, General included (R-9.4).
    #[arg(long, default_value_t = 10_000)]
    rooms_total: usize,
    /// Failed logins per client address per minute (R-9.5).
    #[arg(long, default_value_t = 20)]
    login_failures_per_address: u32,
    /// Seconds a session may take to log in (R-9.6).
    #[arg(long, default_value = "30", value_name = "SECS", value_parser = parse_secs)]
    login_timeout: Duration,
    /// Seconds a logged-in session may send no data packet (R-9.6).
    #[arg(long, default_value = "3600", value_name = "SECS", value_parser = parse_secs)]
    idle_timeout: Duration,
    /// Bytes of text one reassembled message may hold (R-6.3).
    #[arg(long, default_value_t = 64 * 1024)]
    max_message: usize,
    /// Seconds of silence after which the server declares a peer gone (R-7.9).
    #[arg(long, default_value = "10", value_name = "SECS", value_parser = parse_secs)]
    dead_after: Duration,
    /// Longest silence, seconds, before the server pings an idle session (R-7.8).
    #[arg(long, default_value = "10", value_name = "SECS", value_parser = parse_secs)]
    keepalive: Duration,
}

/// `--plaintext-passwords`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum Plaintext {
    /// The server refuses passwords without TLS, as R-9.1 requires by default.
    Refused,
    /// Its operator allowed them from loopback, for testing.
    Allowed,
}

fn parse_dialect(s: &str) -> Result<Dialect, String> {
    match s {
        "4" => Ok(Dialect::Legacy),
        "5" => Ok(Dialect::V5),
        _ => Err("4 or 5".to_owned()),
    }
}

fn parse_secs(s: &str) -> Result<Duration, String> {
    let secs: f64 = s
        .parse()
        .map_err(|_| format!("not a number of seconds: {s}"))?;
    Duration::try_from_secs_f64(secs).map_err(|_| format!("not a number of seconds: {s}"))
}

impl Args {
    fn config(&self, target: Target) -> SuiteConfig {
        let mut config = SuiteConfig::new(target);
        config.dialect = self.dialect;
        config.strict = self.strict;
        config.only = self.only.clone();
        config.skip = self.skip.clone();
        config.timeout = self.timeout;
        config.jobs = self.jobs;
        config.without = self.without.iter().copied().collect();
        config.plaintext_passwords = self.plaintext_passwords == Plaintext::Allowed;
        config.distinct_sources = !self.same_source;
        config.await_shutdown = self.await_shutdown;
        config.limits = ServerLimits {
            max_sessions: self.max_sessions,
            rate_burst: self.rate_burst,
            rate_per_second: self.rate_per_second,
            refusals_to_close: self.refusals_to_close,
            refusal_window: self.refusal_window,
            rooms_per_user: self.rooms_per_user,
            rooms_total: self.rooms_total,
            login_failures_per_address: self.login_failures_per_address,
            login_timeout: self.login_timeout,
            idle_timeout: self.idle_timeout,
            max_message: self.max_message,
            dead_after: self.dead_after,
            keepalive: self.keepalive,
        };
        config
    }
}

fn list() {
    for case in cases() {
        let strict = if case.strict { " [SHOULD]" } else { "" };
        println!("{:<9} {}{strict}", case.id, case.description);
    }
    println!("{} cases", cases().len());
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let args = Args::parse();
    if args.list {
        list();
        return ExitCode::SUCCESS;
    }
    let target = match (args.tcp, args.udp) {
        (Some(addr), None) => Target::Tcp(addr),
        (None, Some(addr)) => Target::Udp(addr),
        _ => Args::command()
            .error(
                clap::error::ErrorKind::MissingRequiredArgument,
                "give the server's address with --tcp ADDR or --udp ADDR",
            )
            .exit(),
    };
    let config = args.config(target);
    let report = if args.json {
        run_streaming(&config, |_| {}).await
    } else {
        println!(
            "chatproto-conformance: {target}, dialect {}{}",
            config.dialect.version(),
            if config.strict { ", strict" } else { "" }
        );
        run_streaming(&config, |result| {
            println!("{}", result.text());
            let _ = std::io::stdout().flush();
        })
        .await
    };
    if let Some(path) = &args.junit {
        if let Err(error) = std::fs::write(path, report.junit()) {
            eprintln!("could not write {}: {error}", path.display());
        }
    }
    if args.json {
        print!("{}", report.json());
        eprintln!("{}", report.summary());
    } else {
        println!("{}", report.summary());
    }
    if report.failed() > 0 {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}
