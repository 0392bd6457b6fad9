//! Our server, started in-process, passes the whole server suite, strict cases included, over TCP and UDP,
//! in both dialects.
//!
//! Each run uses two servers, since some cases change the server they run against:
//! - the main one, with PROTOCOL.md's limits (a smaller message limit aside) and passwords allowed from
//!   loopback, takes every case but §9's, and at the end sees the shutdown case as it stops;
//! - one with small limits takes §9's cases, so they finish in seconds, and refuses passwords over
//!   plaintext, as asks.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use chatproto::Dialect;
use chatproto_examples::server::{Limits, PasswordHashing, Server, ServerConfig, Storage};
use conformance::server_suite::{run, Outcome, Report, ServerLimits, SuiteConfig, Target};
use tokio::sync::Notify;

#[derive(Clone, Copy, Debug)]
enum Net {
    Tcp,
    Udp,
}

/// Small limits, so that the §9 cases run quickly.
fn small_limits() -> Limits {
    Limits {
        max_sessions: 40,
        rate_burst: 20,
        rate_per_second: 10,
        refusals_to_close: 10,
        refusal_window: Duration::from_secs(10),
        rooms_per_user: 5,
        rooms_total: 15,
        login_failures_per_address: 5,
        login_timeout: Duration::from_secs(3),
        idle_timeout: Duration::from_secs(5),
        ..Limits::default()
    }
}

/// The suite's picture of a server configured with `limits`.
fn told(limits: &Limits) -> ServerLimits {
    ServerLimits {
        max_sessions: limits.max_sessions,
        rate_burst: limits.rate_burst,
        rate_per_second: limits.rate_per_second,
        refusals_to_close: limits.refusals_to_close,
        refusal_window: limits.refusal_window,
        rooms_per_user: limits.rooms_per_user,
        rooms_total: limits.rooms_total,
        login_failures_per_address: limits.login_failures_per_address,
        login_timeout: limits.login_timeout,
        idle_timeout: limits.idle_timeout,
        max_message: limits.max_message,
        // The server's sessions use chatproto's defaults: a 2-second keepalive, gone after 10 s.
        keepalive: Duration::from_secs(5),
        ..ServerLimits::default()
    }
}

async fn start(limits: Limits, allow_plaintext_passwords: bool) -> Server {
    let any: SocketAddr = "127.0.0.1:0".parse().unwrap();
    Server::start(ServerConfig {
        tcp: Some(any),
        udp: Some(any),
        storage: Storage::Memory,
        hashing: PasswordHashing::FastForTests,
        allow_plaintext_passwords,
        limits,
        ..ServerConfig::default()
    })
    .await
    .expect("server starts")
}

fn suite(server: &Server, net: Net, dialect: Dialect, limits: &Limits) -> SuiteConfig {
    let target = match net {
        Net::Tcp => Target::Tcp(server.tcp_addr().unwrap()),
        Net::Udp => Target::Udp(server.udp_addr().unwrap()),
    };
    let mut config = SuiteConfig::new(target);
    config.dialect = dialect;
    config.strict = true;
    // Generous: four of these runs share two cores in a debug build. Only failures wait this long.
    config.timeout = Duration::from_secs(4);
    config.limits = told(limits);
    config
}

/// Prints the report, and returns what in it is neither a pass nor a case left out for the other
/// dialect or transport.
fn unexpected(name: &str, report: &Report) -> Vec<String> {
    println!("== {name}\n{}", report.text());
    report
        .results
        .iter()
        .filter_map(|r| match &r.outcome {
            Outcome::Pass => None,
            Outcome::Skip(why)
                if why.starts_with("a v") || why.starts_with("applies to the other") =>
            {
                None
            }
            other => Some(format!(
                "{name}: {} {}: {}",
                r.id,
                other.word(),
                other.detail()
            )),
        })
        .collect()
}

async fn whole_suite(net: Net, dialect: Dialect) {
    let name = format!("{net:?} v{}", dialect.version());
    let mut problems = Vec::new();

    // Everything but §9, on a server with PROTOCOL.md's limits, but for a smaller reassembly limit, so
    // the message beyond it is 66 packets rather than 258.
    let limits = Limits {
        max_message: 16 * 1024,
        ..Limits::default()
    };
    let main = start(limits.clone(), true).await;
    let mut config = suite(&main, net, dialect, &limits);
    config.plaintext_passwords = true;
    config.skip = vec!["R-9".to_owned(), "R-8.16".to_owned()];
    let report = run(&config).await;
    problems.extend(unexpected(&format!("{name}, main"), &report));

    // the server stops while the case waits.
    let ready = Arc::new(Notify::new());
    config.skip.clear();
    config.only = vec!["R-8.16".to_owned()];
    config.await_shutdown = Some(Duration::from_secs(20));
    config.shutdown_ready = Some(ready.clone());
    let waiting = tokio::spawn(async move { run(&config).await });
    tokio::time::timeout(Duration::from_secs(30), ready.notified())
        .await
        .expect("the shutdown case logs in");
    main.shutdown("conformance run over").await;
    let report = waiting.await.expect("the shutdown run finishes");
    problems.extend(unexpected(&format!("{name}, shutdown"), &report));

    // §9, on a server with small limits that refuses passwords over plaintext.
    let limits = small_limits();
    let limited = start(limits.clone(), false).await;
    let mut config = suite(&limited, net, dialect, &limits);
    config.only = vec!["R-9".to_owned()];
    let report = run(&config).await;
    problems.extend(unexpected(&format!("{name}, limits"), &report));
    limited.shutdown("conformance run over").await;

    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tcp_v5() {
    whole_suite(Net::Tcp, Dialect::V5).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tcp_v4() {
    whole_suite(Net::Tcp, Dialect::Legacy).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn udp_v5() {
    whole_suite(Net::Udp, Dialect::V5).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn udp_v4() {
    whole_suite(Net::Udp, Dialect::Legacy).await;
}
