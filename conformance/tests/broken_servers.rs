//! The server suite fails servers that break the protocol, and fails the right cases: each broken server
//! (see `support/broken_server.rs`) makes the cases of the requirement it breaks fail, while cases of
//! other requirements go on passing as they do against the same server unbroken.

mod support;

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use chatproto::Dialect;
use conformance::server_suite::{run, Outcome, Report, SuiteConfig, Target};
use support::broken_server::{Breakage, BrokenServer};

#[derive(Clone, Copy, Debug)]
enum Net {
    Tcp,
    Udp,
}

/// Runs the cases selected by `only` against a server broken by `breakage`.
async fn run_against(
    breakage: Breakage,
    net: Net,
    dialect: Dialect,
    only: &[&str],
    timeout: Duration,
) -> Report {
    let server = BrokenServer::start(breakage).await;
    let target = match net {
        Net::Tcp => Target::Tcp(server.tcp),
        Net::Udp => Target::Udp(server.udp),
    };
    let mut config = SuiteConfig::new(target);
    config.dialect = dialect;
    config.strict = true;
    config.plaintext_passwords = true;
    config.timeout = timeout;
    config.only = only.iter().map(|s| s.to_string()).collect();
    let report = run(&config).await;
    println!(
        "== {breakage:?}, {net:?} v{}\n{}",
        dialect.version(),
        report.text()
    );
    report
}

fn failed(report: &Report) -> BTreeSet<&'static str> {
    report.failures().into_iter().collect()
}

/// The broken server fails each of `expected`, and nothing fails against it that passes against the
/// unbroken one but what the breakage explains (`expected` and `also_allowed`).
async fn breaks(breakage: Breakage, only: &[&str], expected: &[&str], also_allowed: &[&str]) {
    let timeout = Duration::from_secs(2);
    let control = run_against(Breakage::None, Net::Tcp, Dialect::V5, only, timeout).await;
    let broken = run_against(breakage, Net::Tcp, Dialect::V5, only, timeout).await;
    let (control_failed, broken_failed) = (failed(&control), failed(&broken));
    for id in expected {
        assert!(
            broken_failed.contains(id),
            "{breakage:?}: expected {id} to fail; it did not\n{}",
            broken.text()
        );
        assert!(
            !control_failed.contains(id),
            "{id} fails against the unbroken server too, so it proves nothing\n{}",
            control.text()
        );
    }
    let unexplained: Vec<&&str> = broken_failed
        .difference(&control_failed)
        .filter(|id| !expected.contains(id) && !also_allowed.contains(id))
        .collect();
    assert!(
        unexplained.is_empty(),
        "{breakage:?}: cases failed that the breakage does not explain: {unexplained:?}\n{}",
        broken.text()
    );
    assert!(
        broken.passed() >= control.passed() - expected.len() - also_allowed.len(),
        "{breakage:?}: {} passed against {} for the unbroken server",
        broken.passed(),
        control.passed()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_that_forgets_resend_fails_the_checksum_cases() {
    breaks(
        Breakage::ForgetsResend,
        &["R-3", "R-5"],
        &[
            "R-3.11/1", "R-3.1/2", "R-3.7/2", "R-3.11/3", "R-3.12/1", "R-5.3/1",
        ],
        &[],
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_that_relays_impersonation_fails_r_8_7() {
    breaks(
        Breakage::RelaysImpersonation,
        &["R-8.5", "R-8.6", "R-8.7", "R-4.2"],
        &["R-8.7/1", "R-8.7/2"],
        &[],
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_that_drops_room_members_fails_r_8_10() {
    breaks(
        Breakage::DropsRoomMember,
        &["R-8.9", "R-8.10", "R-8.12"],
        &["R-8.10/3", "R-8.10/5", "R-8.12/2"],
        &[],
    )
    .await;
}

/// A server whose every frame is malformed fails every case that reads from it.
async fn fails_everything(
    breakage: Breakage,
    net: Net,
    dialect: Dialect,
    timeout: Duration,
) -> Report {
    let started = Instant::now();
    let only = ["R-2", "R-3", "R-8.5", "R-8.6"];
    let report = run_against(breakage, net, dialect, &only, timeout).await;
    let ran: Vec<&str> = report
        .results
        .iter()
        .filter(|r| !matches!(r.outcome, Outcome::Skip(_)))
        .map(|r| r.id)
        .collect();
    assert!(!ran.is_empty());
    assert_eq!(
        report.passed(),
        0,
        "{breakage:?}: no case can pass against this server\n{}",
        report.text()
    );
    println!(
        "{breakage:?}: {} failed in {:?}",
        report.failed(),
        started.elapsed()
    );
    report
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_with_bad_padding_fails() {
    for dialect in [Dialect::V5, Dialect::Legacy] {
        let report = fails_everything(
            Breakage::WrongPadding,
            Net::Tcp,
            dialect,
            Duration::from_secs(2),
        )
        .await;
        let detail = report.outcome("R-2.1/1").map(|o| o.detail().to_owned());
        assert!(
            detail
                .as_deref()
                .is_some_and(|d| d.contains("does not decode")),
            "R-2.1/1 should say the frame does not decode: {detail:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_with_wrong_checksums_fails() {
    let report = fails_everything(
        Breakage::WrongChecksum,
        Net::Udp,
        Dialect::V5,
        Duration::from_secs(2),
    )
    .await;
    let detail = report.outcome("R-2.1/1").map(|o| o.detail().to_owned());
    assert!(
        detail.as_deref().is_some_and(|d| d.contains("checksum")),
        "R-2.1/1 should name the checksum: {detail:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_silent_server_fails_by_timeouts_not_hangs() {
    let timeout = Duration::from_millis(500);
    let started = Instant::now();
    for net in [Net::Tcp, Net::Udp] {
        fails_everything(Breakage::Silent, net, Dialect::V5, timeout).await;
    }
    // A bound to stop a hang, not a measure of speed: each case gives up after a few read timeouts.
    assert!(
        started.elapsed() < Duration::from_secs(120),
        "the run against a silent server took {:?}",
        started.elapsed()
    );
}
