//! Finding the highest rate a system sustains: double the rate until a round fails, then bisect between the
//! last round that held and the first that did not.

use super::fleet::{rate_text, thousands, Fleet, RoundSettings, Watched};
use super::report::RoundResult;
use super::LoadError;

/// How a search runs.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Search {
    /// The settings of each round; its rate is the first one tried.
    pub step: RoundSettings,
    /// A round whose p99 latency exceeds this (µs) has not held.
    pub max_p99_us: u64,
    /// Bisection steps after the first failure.
    pub refine: u32,
    /// Doubling steps at most.
    pub max_doublings: u32,
}

/// Delivered must be at least this share of offered for a round to hold.
const DELIVERED_SHARE: f64 = 0.95;

/// Whether a round held: nothing lost, duplicated or refused, no connection lost, everything arrived in
/// time, at least 95 % of the offered deliveries within the window, and p99 latency within the bound.
pub(crate) fn sustained(result: &RoundResult, max_p99_us: u64) -> bool {
    result.lost == 0
        && result.duplicated == 0
        && result.disconnected == 0
        && result.errors == 0
        && result.drained
        && result.delivered_per_s >= DELIVERED_SHARE * result.offered_deliveries_per_s
        && result
            .latency
            .is_some_and(|latency| latency.p99 <= max_p99_us)
}

/// Runs the search. Returns every round run and the highest that held (`None` if even the lowest tried
/// failed).
pub(crate) async fn find_max(
    fleet: &mut Fleet,
    search: Search,
    watched: Watched,
) -> Result<(Vec<RoundResult>, Option<RoundResult>), LoadError> {
    let mut steps = Vec::new();
    let mut best: Option<RoundResult> = None;
    let mut failed_at: Option<f64> = None;
    let mut rate = search.step.rate;
    // Up, doubling; or, if the first rate fails, down, halving.
    for _ in 0..search.max_doublings {
        let result = step(fleet, search, rate, watched).await?;
        let held = sustained(&result, search.max_p99_us);
        steps.push(result.clone());
        if held {
            best = Some(result);
            if failed_at.is_some() {
                break;
            }
            rate *= 2.0;
        } else {
            failed_at = Some(rate);
            // Stop going down once a round would hold only a couple of messages.
            if best.is_some() || rate * search.step.duration < 4.0 {
                break;
            }
            rate /= 2.0;
        }
    }
    if let (Some(mut bad), Some(good)) = (failed_at, best.as_ref().map(|b| b.rate)) {
        let mut good = good;
        for _ in 0..search.refine {
            if bad <= good {
                break;
            }
            let middle = (good + bad) / 2.0;
            let result = step(fleet, search, middle, watched).await?;
            let held = sustained(&result, search.max_p99_us);
            steps.push(result.clone());
            if held {
                good = middle;
                best = Some(result);
            } else {
                bad = middle;
            }
        }
    }
    Ok((steps, best))
}

async fn step(
    fleet: &mut Fleet,
    search: Search,
    rate: f64,
    watched: Watched,
) -> Result<RoundResult, LoadError> {
    let settings = RoundSettings {
        rate,
        ..search.step
    };
    let result = fleet.round(settings, watched).await?;
    let held = sustained(&result, search.max_p99_us);
    eprintln!(
        "chat-load: {} at {} msg/s: {} deliveries/s, p99 {}, lost {}, disconnected {}, errors {}: {}",
        fleet.name,
        rate_text(rate),
        thousands(result.delivered_per_s),
        result
            .latency
            .map_or_else(|| "-".to_owned(), |l| format!("{:.2} ms", l.p99 as f64 / 1000.0)),
        result.lost,
        result.disconnected,
        result.errors,
        if held { "held" } else { "did not hold" }
    );
    if !held {
        fleet.reconnect_before_next_round();
    }
    Ok(result)
}
