//! The results of a round, as text for a person and as JSON for a script.

use hdrhistogram::Histogram;

use super::fleet::{rate_text, thousands};
use super::json::Json;

/// Latency percentiles of a round, in µs.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Latency {
    /// Messages measured.
    pub count: u64,
    /// Median.
    pub p50: u64,
    /// 99th percentile.
    pub p99: u64,
    /// 99.9th percentile.
    pub p999: u64,
    /// The largest.
    pub max: u64,
    /// The mean.
    pub mean: f64,
}

impl Latency {
    /// The summary of a histogram, or `None` if it is empty.
    pub fn of(histogram: Option<&Histogram<u64>>) -> Option<Latency> {
        let histogram = histogram?;
        (!histogram.is_empty()).then(|| Latency {
            count: histogram.len(),
            p50: histogram.value_at_quantile(0.50),
            p99: histogram.value_at_quantile(0.99),
            p999: histogram.value_at_quantile(0.999),
            max: histogram.max(),
            mean: histogram.mean(),
        })
    }

    fn json(&self) -> Json {
        Json::Object(vec![
            ("count", self.count.into()),
            ("p50_us", self.p50.into()),
            ("p99_us", self.p99.into()),
            ("p999_us", self.p999.into()),
            ("max_us", self.max.into()),
            ("mean_us", self.mean.into()),
        ])
    }
}

/// CPU and memory of a process over the measured window.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct ProcessFigures {
    /// Percent of one core.
    pub cpu_percent: Option<f64>,
    /// Resident memory at the end, KiB.
    pub rss_kib: Option<u64>,
}

impl ProcessFigures {
    fn json(&self) -> Json {
        Json::Object(vec![
            ("cpu_percent", self.cpu_percent.into()),
            ("rss_kib", self.rss_kib.into()),
        ])
    }

    fn text(&self) -> String {
        let cpu = self
            .cpu_percent
            .map_or_else(|| "?".to_owned(), |c| format!("{c:.0}%"));
        let rss = self.rss_kib.map_or_else(
            || "?".to_owned(),
            |r| format!("{:.1} MiB", r as f64 / 1024.0),
        );
        format!("CPU {cpu}, RSS {rss}")
    }
}

/// Everything measured in one round.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct RoundResult {
    /// Offered messages a second, all senders together.
    pub rate: f64,
    /// Clients in the fleet.
    pub clients: usize,
    /// Of which sending.
    pub senders: usize,
    /// Connected and logged in at the start.
    pub up: usize,
    /// Text bytes per message.
    pub payload: usize,
    /// Seconds measured.
    pub duration: f64,
    /// Messages actually sent a second within the window.
    pub sent_per_s: f64,
    /// `rate × clients`: deliveries a second if every message reaches every client.
    pub offered_deliveries_per_s: f64,
    /// Deliveries that arrived within the window, a second.
    pub delivered_per_s: f64,
    /// Messages sent in the whole round.
    pub sent: u64,
    /// `sent × clients`.
    pub expected: u64,
    /// Distinct deliveries received.
    pub unique: u64,
    /// `expected − unique`, after the drain time.
    pub lost: u64,
    /// Deliveries received more than once.
    pub duplicated: u64,
    /// Deliveries that arrived after a later one from the same sender.
    pub reordered: u64,
    /// Deliveries of an earlier round that arrived late.
    pub stale: u64,
    /// ERROR packets received.
    pub errors: u64,
    /// The first ERROR's text.
    pub first_error: Option<String>,
    /// Connections lost during the round.
    pub disconnected: u64,
    /// Whether every delivery arrived within the drain time.
    pub drained: bool,
    /// End-to-end latency of messages meant to be sent in the window.
    pub latency: Option<Latency>,
    /// How late the load generator sent them (its own lag).
    pub send_lag: Option<Latency>,
    /// The server's CPU and memory, if its process is known.
    pub server: Option<ProcessFigures>,
    /// The load generator's own.
    pub loadgen: Option<ProcessFigures>,
}

/// Microseconds as milliseconds, to two decimals.
fn ms(us: u64) -> String {
    format!("{:.2} ms", us as f64 / 1000.0)
}

impl RoundResult {
    /// A few lines for a person, each starting with `indent`.
    pub fn text(&self, indent: &str) -> String {
        let mut out = String::new();
        let mut line = |s: String| {
            out.push_str(indent);
            out.push_str(&s);
            out.push('\n');
        };
        line(format!(
            "offered    {} msg/s to {} clients ({} sending, {} up): {} deliveries/s",
            rate_text(self.rate),
            self.clients,
            self.senders,
            self.up,
            thousands(self.offered_deliveries_per_s)
        ));
        line(format!(
            "delivered  {} deliveries/s (sent {} msg/s) over {:.1} s",
            thousands(self.delivered_per_s),
            thousands(self.sent_per_s),
            self.duration
        ));
        match &self.latency {
            Some(l) => line(format!(
                "latency    p50 {}  p99 {}  p99.9 {}  max {}  ({} samples)",
                ms(l.p50),
                ms(l.p99),
                ms(l.p999),
                ms(l.max),
                thousands(l.count as f64)
            )),
            None => line("latency    no samples".to_owned()),
        }
        if let Some(l) = &self.send_lag {
            line(format!(
                "send lag   p50 {}  p99 {}  max {}  (chat-load's own lag behind its schedule)",
                ms(l.p50),
                ms(l.p99),
                ms(l.max)
            ));
        }
        line(format!(
            "accounting lost {}  duplicated {}  reordered {}  disconnected {}  errors {}{}",
            self.lost,
            self.duplicated,
            self.reordered,
            self.disconnected,
            self.errors,
            if self.drained {
                ""
            } else {
                "  (drain time ran out)"
            }
        ));
        if let Some(error) = &self.first_error {
            line(format!("first error {error:?}"));
        }
        if let Some(server) = &self.server {
            line(format!("server     {}", server.text()));
        }
        if let Some(loadgen) = &self.loadgen {
            line(format!("chat-load  {}", loadgen.text()));
        }
        out
    }

    /// The same as JSON.
    pub fn json(&self) -> Json {
        Json::Object(vec![
            ("rate", self.rate.into()),
            ("clients", self.clients.into()),
            ("senders", self.senders.into()),
            ("up", self.up.into()),
            ("payload", self.payload.into()),
            ("duration_s", self.duration.into()),
            ("sent_per_s", self.sent_per_s.into()),
            (
                "offered_deliveries_per_s",
                self.offered_deliveries_per_s.into(),
            ),
            ("delivered_per_s", self.delivered_per_s.into()),
            ("sent", self.sent.into()),
            ("expected", self.expected.into()),
            ("unique", self.unique.into()),
            ("lost", self.lost.into()),
            ("duplicated", self.duplicated.into()),
            ("reordered", self.reordered.into()),
            ("stale", self.stale.into()),
            ("errors", self.errors.into()),
            ("first_error", self.first_error.as_deref().into()),
            ("disconnected", self.disconnected.into()),
            ("drained", self.drained.into()),
            (
                "latency",
                self.latency.as_ref().map_or(Json::Null, Latency::json),
            ),
            (
                "send_lag",
                self.send_lag.as_ref().map_or(Json::Null, Latency::json),
            ),
            (
                "server",
                self.server
                    .as_ref()
                    .map_or(Json::Null, ProcessFigures::json),
            ),
            (
                "loadgen",
                self.loadgen
                    .as_ref()
                    .map_or(Json::Null, ProcessFigures::json),
            ),
        ])
    }
}

/// The results for one system: the rounds of a search (if any) and the result that counts.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct SystemResult {
    /// `chatproto` or `redis`.
    pub system: &'static str,
    /// How it was reached, in words (`TCP v5 127.0.0.1:53289`).
    pub target: String,
    /// The rounds of a search for the highest sustained rate, in the order run.
    pub steps: Vec<RoundResult>,
    /// The highest sustained round, when searched.
    pub max: Option<RoundResult>,
    /// The result that counts: the single round, the highest sustained one, or the run at half of it.
    pub result: RoundResult,
}

impl SystemResult {
    /// Text for a person.
    pub fn text(&self) -> String {
        let mut out = format!("{} ({})\n", self.system, self.target);
        if let Some(max) = &self.max {
            if max != &self.result {
                out.push_str(&format!(
                    "  highest sustained rate: {} msg/s, {} deliveries/s; then at half:\n",
                    rate_text(max.rate),
                    thousands(max.delivered_per_s)
                ));
            } else {
                out.push_str("  highest sustained rate:\n");
            }
        }
        out.push_str(&self.result.text("  "));
        out
    }

    /// The same as JSON.
    pub fn json(&self) -> Json {
        Json::Object(vec![
            ("system", self.system.into()),
            ("target", self.target.as_str().into()),
            ("result", self.result.json()),
            (
                "max",
                self.max.as_ref().map_or(Json::Null, RoundResult::json),
            ),
            (
                "steps",
                Json::Array(self.steps.iter().map(RoundResult::json).collect()),
            ),
        ])
    }
}
