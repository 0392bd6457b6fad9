//! A fleet: the clients of one system (chatproto or Redis) and the coordinator that runs rounds across them.
//!
//! Clients live across rounds, so a search for the highest sustained rate logs in once. A round goes:
//! - `Prepare`: every client makes sure it is connected and logged in (reconnecting if a round cost it its
//!   connection, or if the round before did not hold, so that its backlog is not measured), then says it
//!   is ready;
//! - `Run`: the plan (start, end of warm-up, end, rate) goes out; senders follow their schedules and every
//!   client records what it receives;
//! - the coordinator waits until every message sent has reached every client, or the drain time runs out;
//! - `Collect`: every client hands in its tally, and the coordinator merges them.

use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{mpsc, watch};
use tokio::task::JoinSet;
use tokio::time::Instant;

use super::process::{cpu_percent, cpu_sample, rss_kib, CpuSample};
use super::report::{Latency, ProcessFigures, RoundResult};
use super::tally::Tally;
use super::LoadError;

/// How long clients may take to get ready for a round.
const PREPARE_WITHIN: Duration = Duration::from_secs(120);
/// How long clients may take to hand in their tallies.
const COLLECT_WITHIN: Duration = Duration::from_secs(30);
/// Time between announcing a round and its start, so every client has its plan before it begins.
const LEAD: Duration = Duration::from_millis(200);
/// A round starts once nothing has arrived for this long: every login sends a notice to everyone online
/// so N logins queue about N²/2 notices, and a round measured behind them would measure them.
const QUIET: Duration = Duration::from_millis(300);
/// How long the fleet may wait for that quiet.
const QUIET_WITHIN: Duration = Duration::from_secs(120);

/// What the coordinator tells the clients.
#[derive(Clone, Debug)]
pub(crate) enum Phase {
    /// Nothing yet.
    Idle,
    /// Get connected and logged in for this round; with `fresh`, leave and connect anew first.
    Prepare {
        /// Start from new connections: whatever the server still queues for the old ones is dropped.
        fresh: bool,
    },
    /// The round under way.
    Run(Arc<RoundPlan>),
    /// Hand in the tally of this round.
    Collect(u32),
    /// Disconnect and end.
    Stop,
}

/// One round, as every client sees it.
#[derive(Debug)]
pub(crate) struct RoundPlan {
    /// Its number; the stamps carry it.
    pub round: u32,
    /// The instant stamps count from.
    pub epoch: Instant,
    /// When senders begin.
    pub start: Instant,
    /// When measuring begins.
    pub warm_end: Instant,
    /// When senders stop.
    pub end: Instant,
    /// Clients that send.
    pub senders: usize,
    /// Messages a second from each sender.
    pub rate_per_sender: f64,
    /// Text bytes per message.
    pub payload: usize,
}

/// Live counters of one client, read by the coordinator while the round runs.
#[derive(Debug, Default)]
pub(crate) struct ClientLive {
    /// Deliveries received, all rounds (for the progress line).
    pub delivered: AtomicU64,
    /// Messages of any kind received, all rounds: notices of other clients' logins too.
    pub received: AtomicU64,
    /// Messages sent, all rounds (for the progress line).
    pub sent_total: AtomicU64,
    /// Distinct messages of this round received.
    pub unique: AtomicU64,
    /// Messages this client sent this round.
    pub sent: AtomicU64,
    /// Of those, sent within the measured window.
    pub sent_in_window: AtomicU64,
    /// Whether it is connected and logged in.
    pub up: AtomicBool,
}

/// State every client of a fleet shares with the coordinator.
#[derive(Debug)]
pub(crate) struct Shared {
    /// Clients in the fleet.
    pub clients: usize,
    /// How many of them send (clients `0..senders`).
    pub senders: usize,
    /// Clients ready for the round being prepared.
    pub ready: AtomicUsize,
    /// Senders whose schedule for this round is over.
    pub senders_done: AtomicUsize,
    /// One per client.
    pub live: Vec<ClientLive>,
}

/// What a client hands in at the end of a round.
#[derive(Debug)]
pub(crate) struct ClientReport {
    /// The round.
    pub round: u32,
    /// What it received.
    pub tally: Tally,
}

/// What each client task gets: the phase to follow, where to report, and the shared counters.
#[derive(Clone, Debug)]
pub(crate) struct ClientHooks {
    /// The coordinator's phase.
    pub phase: watch::Receiver<Phase>,
    /// Where tallies go.
    pub reports: mpsc::UnboundedSender<ClientReport>,
    /// Counters shared with the coordinator.
    pub shared: Arc<Shared>,
}

/// The settings of one round.
#[derive(Clone, Copy, Debug)]
pub(crate) struct RoundSettings {
    /// Total messages a second, all senders together.
    pub rate: f64,
    /// Seconds of warm-up, not measured.
    pub warmup: f64,
    /// Seconds measured.
    pub duration: f64,
    /// Seconds to wait after the end for messages still on their way.
    pub drain: f64,
    /// Text bytes per message.
    pub payload: usize,
}

/// Processes whose CPU and memory a round reports.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Watched {
    /// The server, if known.
    pub server: Option<u32>,
    /// Print a progress line each second.
    pub progress: bool,
}

/// The clients of one system and their coordinator.
#[derive(Debug)]
pub(crate) struct Fleet {
    /// A name for progress lines: `chatproto` or `redis`.
    pub name: &'static str,
    shared: Arc<Shared>,
    phase: watch::Sender<Phase>,
    hooks: ClientHooks,
    reports: mpsc::UnboundedReceiver<ClientReport>,
    tasks: JoinSet<()>,
    round: u32,
    epoch: Instant,
    fresh: bool,
}

impl Fleet {
    /// An empty fleet of `clients`, the first `senders` of which send; `epoch` is what stamps count from.
    pub fn new(name: &'static str, clients: usize, senders: usize, epoch: Instant) -> Fleet {
        let shared = Arc::new(Shared {
            clients,
            senders,
            ready: AtomicUsize::new(0),
            senders_done: AtomicUsize::new(0),
            live: (0..clients).map(|_| ClientLive::default()).collect(),
        });
        let (phase, phase_rx) = watch::channel(Phase::Idle);
        let (reports_tx, reports) = mpsc::unbounded_channel();
        Fleet {
            name,
            hooks: ClientHooks {
                phase: phase_rx,
                reports: reports_tx,
                shared: shared.clone(),
            },
            shared,
            phase,
            reports,
            tasks: JoinSet::new(),
            round: 0,
            epoch,
            fresh: false,
        }
    }

    /// What a client task needs.
    pub fn hooks(&self) -> ClientHooks {
        self.hooks.clone()
    }

    /// Runs a client task as part of the fleet.
    pub fn spawn(&mut self, task: impl Future<Output = ()> + Send + 'static) {
        self.tasks.spawn(task);
    }

    /// Makes every client leave and connect anew before the next round. After a round that overloaded
    /// the server, its queues may take longer to drain than any quiet period can tell (a UDP session backs
    /// off for seconds between retransmissions); new connections leave them behind.
    pub fn reconnect_before_next_round(&mut self) {
        self.fresh = true;
    }

    /// Clients connected and logged in now.
    pub fn up(&self) -> usize {
        self.shared
            .live
            .iter()
            .filter(|live| live.up.load(Ordering::Relaxed))
            .count()
    }

    /// Gets every client connected and logged in (the first time: logs them all in).
    pub async fn prepare(&mut self, progress: bool) -> Result<(), LoadError> {
        self.round += 1;
        for live in &self.shared.live {
            live.unique.store(0, Ordering::Relaxed);
            live.sent.store(0, Ordering::Relaxed);
            live.sent_in_window.store(0, Ordering::Relaxed);
        }
        self.shared.ready.store(0, Ordering::Relaxed);
        self.shared.senders_done.store(0, Ordering::Relaxed);
        self.phase.send_replace(Phase::Prepare {
            fresh: std::mem::take(&mut self.fresh),
        });
        let started = Instant::now();
        let mut tick = Instant::now() + Duration::from_secs(1);
        while self.shared.ready.load(Ordering::Relaxed) < self.shared.clients {
            if started.elapsed() > PREPARE_WITHIN {
                return Err(format!(
                    "{}: only {} of {} clients ready after {PREPARE_WITHIN:?}",
                    self.name,
                    self.shared.ready.load(Ordering::Relaxed),
                    self.shared.clients
                )
                .into());
            }
            if progress && Instant::now() >= tick {
                eprintln!(
                    "[{:6.1}s] {}: connecting, {} of {} ready",
                    started.elapsed().as_secs_f64(),
                    self.name,
                    self.shared.ready.load(Ordering::Relaxed),
                    self.shared.clients
                );
                tick += Duration::from_secs(1);
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        let up = self.up();
        if up == 0 {
            return Err(format!("{}: no client could connect and log in", self.name).into());
        }
        self.settle(progress).await;
        Ok(())
    }

    /// Waits until nothing has arrived for [`QUIET`]: login notices, or the backlog of an earlier round.
    async fn settle(&self, progress: bool) {
        let started = Instant::now();
        let mut last = self.per_client(|live| &live.received);
        let mut quiet_since = Instant::now();
        let mut tick = started + Duration::from_secs(1);
        while quiet_since.elapsed() < QUIET {
            tokio::time::sleep(Duration::from_millis(20)).await;
            let received = self.per_client(|live| &live.received);
            if received != last {
                last = received;
                quiet_since = Instant::now();
            }
            if started.elapsed() > QUIET_WITHIN {
                eprintln!(
                    "chat-load: {}: messages still arriving after {QUIET_WITHIN:?}; starting anyway",
                    self.name
                );
                return;
            }
            if progress && Instant::now() >= tick {
                eprintln!(
                    "[{:6.1}s] {}: waiting for earlier messages to pass, {} received so far",
                    started.elapsed().as_secs_f64(),
                    self.name,
                    thousands(received as f64)
                );
                tick += Duration::from_secs(1);
            }
        }
    }

    /// Runs one round: prepare, run, drain, collect.
    pub async fn round(
        &mut self,
        settings: RoundSettings,
        watched: Watched,
    ) -> Result<RoundResult, LoadError> {
        self.prepare(watched.progress).await?;
        let up = self.up();
        let senders = self.shared.senders;
        let start = Instant::now() + LEAD;
        let warm_end = start + Duration::from_secs_f64(settings.warmup);
        let end = warm_end + Duration::from_secs_f64(settings.duration);
        let plan = Arc::new(RoundPlan {
            round: self.round,
            epoch: self.epoch,
            start,
            warm_end,
            end,
            senders,
            rate_per_sender: settings.rate / senders.max(1) as f64,
            payload: settings.payload,
        });
        self.phase.send_replace(Phase::Run(plan));
        let own = std::process::id();
        let mut samples: Option<[Option<CpuSample>; 2]> = None;
        let mut last = self.totals();
        let mut tick = start + Duration::from_secs(1);
        loop {
            let next = if samples.is_none() {
                tick.min(warm_end)
            } else {
                tick.min(end)
            };
            tokio::time::sleep_until(next).await;
            let now = Instant::now();
            if samples.is_none() && now >= warm_end {
                samples = Some([watched.server.and_then(cpu_sample), cpu_sample(own)]);
            }
            if now >= end {
                break;
            }
            if now >= tick {
                let totals = self.totals();
                if watched.progress {
                    let stage = if now < warm_end {
                        "warm-up"
                    } else {
                        "measuring"
                    };
                    eprintln!(
                        "[{:6.1}s] {} round {} {stage}: sent {} msg/s, delivered {} msg/s, {} of {} clients up",
                        now.duration_since(start).as_secs_f64(),
                        self.name,
                        self.round,
                        thousands((totals.0 - last.0) as f64),
                        thousands((totals.1 - last.1) as f64),
                        self.up(),
                        self.shared.clients
                    );
                }
                last = totals;
                tick += Duration::from_secs(1);
            }
        }
        let at_end = [watched.server.and_then(cpu_sample), cpu_sample(own)];
        let cpu = |i: usize| -> Option<f64> {
            let before = samples.as_ref()?[i]?;
            Some(cpu_percent(before, at_end[i]?))
        };
        let server = watched.server.map(|pid| ProcessFigures {
            cpu_percent: cpu(0),
            rss_kib: rss_kib(pid),
        });
        let loadgen = ProcessFigures {
            cpu_percent: cpu(1),
            rss_kib: rss_kib(own),
        };
        let drained = self.drain(Duration::from_secs_f64(settings.drain)).await;
        let tally = self.collect().await?;
        let sent: u64 = self.per_client(|live| &live.sent);
        let sent_in_window: u64 = self.per_client(|live| &live.sent_in_window);
        let expected = sent * self.shared.clients as u64;
        Ok(RoundResult {
            rate: settings.rate,
            clients: self.shared.clients,
            senders,
            up,
            payload: settings.payload,
            duration: settings.duration,
            sent_per_s: sent_in_window as f64 / settings.duration,
            offered_deliveries_per_s: settings.rate * self.shared.clients as f64,
            delivered_per_s: tally.delivered_in_window as f64 / settings.duration,
            sent,
            expected,
            unique: tally.unique,
            lost: expected.saturating_sub(tally.unique),
            duplicated: tally.duplicated,
            reordered: tally.reordered,
            stale: tally.stale,
            errors: tally.errors,
            first_error: tally.first_error.clone(),
            disconnected: tally.disconnected,
            drained,
            latency: Latency::of(tally.latency.as_ref()),
            send_lag: Latency::of(tally.send_lag.as_ref()),
            server,
            loadgen: Some(loadgen),
        })
    }

    /// Waits until every sender is done and every message sent has reached every client, or `within`
    /// has passed. Returns whether everything arrived.
    async fn drain(&self, within: Duration) -> bool {
        let deadline = Instant::now() + within;
        loop {
            let done = self.shared.senders_done.load(Ordering::Relaxed) >= self.shared.senders;
            let sent: u64 = self.per_client(|live| &live.sent);
            let unique: u64 = self.per_client(|live| &live.unique);
            if done && unique >= sent * self.shared.clients as u64 {
                return true;
            }
            if Instant::now() >= deadline {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }

    /// Asks every client for its tally and merges them.
    async fn collect(&mut self) -> Result<Tally, LoadError> {
        self.phase.send_replace(Phase::Collect(self.round));
        let mut merged = Tally::new(0);
        let mut reported = 0;
        let deadline = Instant::now() + COLLECT_WITHIN;
        while reported < self.shared.clients {
            let report = tokio::time::timeout_at(deadline, self.reports.recv())
                .await
                .map_err(|_| {
                    format!(
                        "{}: only {reported} of {} clients reported",
                        self.name, self.shared.clients
                    )
                })?
                .ok_or("every client has ended")?;
            if report.round == self.round {
                merged.merge(&report.tally);
                reported += 1;
            }
        }
        Ok(merged)
    }

    /// Tells every client to disconnect and waits (a few seconds at most) for them.
    pub async fn stop(mut self) {
        self.phase.send_replace(Phase::Stop);
        let _ = tokio::time::timeout(Duration::from_secs(10), async {
            while self.tasks.join_next().await.is_some() {}
        })
        .await;
        self.tasks.abort_all();
    }

    /// Sent and delivered so far, all rounds.
    fn totals(&self) -> (u64, u64) {
        (
            self.per_client(|live| &live.sent_total),
            self.per_client(|live| &live.delivered),
        )
    }

    fn per_client(&self, counter: impl Fn(&ClientLive) -> &AtomicU64) -> u64 {
        self.shared
            .live
            .iter()
            .map(|live| counter(live).load(Ordering::Relaxed))
            .sum()
    }
}

/// A rate: with thousands separators, or with two decimals below 100 if it is not whole.
pub(crate) fn rate_text(value: f64) -> String {
    if value < 100.0 && value.fract() != 0.0 {
        format!("{value:.2}")
    } else {
        thousands(value)
    }
}

/// A number with thousands separators, rounded to a whole.
pub(crate) fn thousands(value: f64) -> String {
    let whole = value.round().max(0.0) as u64;
    let digits = whole.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, digit) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(digit);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::{rate_text, thousands};

    #[test]
    fn thousands_are_separated() {
        assert_eq!(thousands(0.0), "0");
        assert_eq!(thousands(999.4), "999");
        assert_eq!(thousands(1000.0), "1,000");
        assert_eq!(thousands(1_234_567.0), "1,234,567");
        assert_eq!(rate_text(4.375), "4.38");
        assert_eq!(rate_text(1250.5), "1,251");
    }
}
