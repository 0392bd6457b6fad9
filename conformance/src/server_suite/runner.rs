//! [`run`]: choosing the cases, running them (side by side where they allow it), and putting their results
//! in order.

use std::sync::atomic::AtomicU32;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use chatproto::Dialect;
use tokio::task::JoinSet;
use tokio::time::Instant;

use super::case::{Case, Isolation, Outcome};
use super::cases;
use super::config::{Feature, SuiteConfig};
use super::context::{Ctx, RunShared};
use super::report::{CaseResult, Report};

/// Runs every selected case against the server and returns the report.
pub async fn run(config: &SuiteConfig) -> Report {
    run_streaming(config, |_| {}).await
}

/// As [`run`], calling `on_result` with each result in registry order as soon as it and every result
/// before it are known, so a long run shows progress.
pub async fn run_streaming(config: &SuiteConfig, mut on_result: impl FnMut(&CaseResult)) -> Report {
    let started = Instant::now();
    let seed = seed();
    let shared = Arc::new(RunShared {
        config: config.clone(),
        tag: tag(seed),
        source_base: (seed >> 20) as u32,
        sources: AtomicU32::new(0),
    });
    let selected: Vec<(usize, &'static Case)> = cases::all()
        .iter()
        .enumerate()
        .filter(|(_, case)| config.selects(case.id))
        .collect();
    let mut results: Vec<Option<CaseResult>> = vec![None; selected.len()];
    let mut shown = 0;
    let mut emit = |results: &mut Vec<Option<CaseResult>>, at: usize, result: CaseResult| {
        results[at] = Some(result);
        while let Some(Some(ready)) = results.get(shown) {
            on_result(ready);
            shown += 1;
        }
    };

    // Cases that cannot run here are settled first; the rest go by isolation: shared ones side by side,
    // then those that must be alone, then those that leave the server changed.
    let mut runnable: Vec<(usize, usize, &'static Case)> = Vec::new();
    for (at, &(index, case)) in selected.iter().enumerate() {
        match not_here(case, config) {
            Some(reason) => emit(
                &mut results,
                at,
                CaseResult::new(case, Outcome::Skip(reason), Duration::ZERO),
            ),
            None => runnable.push((at, index, case)),
        }
    }
    let limit = case_limit(config);
    let jobs = config.jobs.max(1);
    for isolation in [
        Isolation::Shared,
        Isolation::Alone,
        Isolation::Last,
        Isolation::Shutdown,
    ] {
        let mut queue = runnable
            .iter()
            .filter(|(_, _, case)| case.isolation == isolation)
            .copied();
        let width = if isolation == Isolation::Shared {
            jobs
        } else {
            1
        };
        let mut running = JoinSet::new();
        loop {
            while running.len() < width {
                let Some((at, index, case)) = queue.next() else {
                    break;
                };
                let ctx = Ctx::new(shared.clone(), index);
                running.spawn(async move {
                    let begun = Instant::now();
                    let outcome = match tokio::time::timeout(limit, (case.run)(ctx)).await {
                        Ok(check) => Outcome::from(check),
                        Err(_) => Outcome::Fail(format!(
                            "the case did not finish within {limit:?}; a read without a timeout \
                             somewhere is a bug in the suite"
                        )),
                    };
                    (at, CaseResult::new(case, outcome, begun.elapsed()))
                });
            }
            match running.join_next().await {
                Some(Ok((at, result))) => emit(&mut results, at, result),
                // A case that panicked is a bug in the suite; its slot is filled below.
                Some(Err(_)) => {}
                None => break,
            }
        }
    }
    let results: Vec<CaseResult> = results
        .into_iter()
        .zip(&selected)
        .map(|(result, (_, case))| {
            result.unwrap_or_else(|| {
                CaseResult::new(
                    case,
                    Outcome::Fail("the case panicked (a bug in the suite)".to_owned()),
                    Duration::ZERO,
                )
            })
        })
        .collect();
    Report {
        target: config.target.to_string(),
        dialect: config.dialect,
        strict: config.strict,
        results,
        elapsed: started.elapsed(),
    }
}

/// Why a case does not run against this server, if it does not.
fn not_here(case: &Case, config: &SuiteConfig) -> Option<String> {
    if !case.dialects.include(config.dialect) {
        let other = match config.dialect {
            Dialect::Legacy => 5,
            Dialect::V5 => 4,
        };
        return Some(format!("a v{other} case; run with --dialect {other}"));
    }
    if !case.transports.include(config.target.transport()) {
        let other = match config.target.transport() {
            super::config::Transport::Tcp => "--udp",
            super::config::Transport::Udp => "--tcp",
        };
        return Some(format!("applies to the other transport; run with {other}"));
    }
    if case.strict && !config.strict {
        return Some("checks a SHOULD; run with --strict".to_owned());
    }
    let dialect = match config.dialect {
        Dialect::Legacy => Feature::V4,
        Dialect::V5 => Feature::V5,
    };
    std::iter::once(&dialect)
        .chain(case.needs)
        .find(|feature| !config.supports(**feature))
        .map(|feature| format!("the server is declared --without {feature}"))
}

/// The most one case may take, whatever it waits for: a last guard against a hang, well beyond what the
/// longest case needs with these settings.
fn case_limit(config: &SuiteConfig) -> Duration {
    let limits = &config.limits;
    let capped = |d: Duration| d.min(Duration::from_secs(300));
    Duration::from_secs(120)
        + config.timeout * 20
        + capped(limits.dead_after) * 2
        + capped(limits.login_timeout)
        + capped(limits.idle_timeout)
        + capped(limits.keepalive)
        + config.await_shutdown.unwrap_or_default()
}

fn seed() -> u64 {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64);
    // SplitMix64's finaliser spreads the clock and the process id over all the bits.
    let mut z = nanos ^ (u64::from(std::process::id()) << 32);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// Four letters and digits from the seed.
fn tag(seed: u64) -> String {
    const DIGITS: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
    (0..4)
        .map(|i| DIGITS[((seed >> (i * 6)) % DIGITS.len() as u64) as usize] as char)
        .collect()
}
