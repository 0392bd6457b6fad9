//! Idle mode: open many logged-in connections that send nothing, and see what each costs the server.
//!
//! Every login sends a notice to everyone online, so N logins make about N²/2 notices; the
//! clients read them all (a client that stopped reading would be disconnected as a slow consumer, R-9.7).
//! Memory is measured once that storm has passed.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use chatproto::Name;
use tokio::sync::{watch, Semaphore};
use tokio::task::JoinSet;
use tokio::time::Instant;

use super::chat_client::{connect_and_login, ChatTarget};
use super::fleet::thousands;
use super::json::Json;
use super::process::rss_kib;
use super::LoadError;

/// What idle mode measured.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct IdleResult {
    /// Connections asked for.
    pub wanted: usize,
    /// Connected and logged in.
    pub connected: usize,
    /// Failed to connect or log in.
    pub failed: usize,
    /// Seconds until every login was answered (or the time ran out).
    pub login_seconds: f64,
    /// Whether every login was answered and the notices had passed before the time ran out.
    pub complete: bool,
    /// Server RSS before the first connection, KiB.
    pub server_rss_before_kib: Option<u64>,
    /// Server RSS with every connection idle, KiB.
    pub server_rss_after_kib: Option<u64>,
    /// The load generator's own RSS at the end, KiB.
    pub loadgen_rss_kib: Option<u64>,
}

impl IdleResult {
    /// Server memory per connection, KiB.
    pub fn per_connection_kib(&self) -> Option<f64> {
        let (before, after) = (self.server_rss_before_kib?, self.server_rss_after_kib?);
        (self.connected > 0).then(|| after.saturating_sub(before) as f64 / self.connected as f64)
    }

    /// Text for a person.
    pub fn text(&self) -> String {
        let kib = |k: Option<u64>| {
            k.map_or_else(
                || "?".to_owned(),
                |k| format!("{:.1} MiB", k as f64 / 1024.0),
            )
        };
        format!(
            "idle connections: {} of {} logged in ({} failed) in {:.1} s\n  server RSS {} before, {} after: {} per connection\n  chat-load RSS {}\n",
            thousands(self.connected as f64),
            thousands(self.wanted as f64),
            self.failed,
            self.login_seconds,
            kib(self.server_rss_before_kib),
            kib(self.server_rss_after_kib),
            self.per_connection_kib()
                .map_or_else(|| "? (no --server-pid)".to_owned(), |k| format!("{k:.1} KiB")),
            kib(self.loadgen_rss_kib),
        )
    }

    /// The same as JSON.
    pub fn json(&self) -> Json {
        Json::Object(vec![
            ("mode", "idle".into()),
            ("wanted", self.wanted.into()),
            ("connected", self.connected.into()),
            ("failed", self.failed.into()),
            ("login_seconds", self.login_seconds.into()),
            ("complete", self.complete.into()),
            ("server_rss_before_kib", self.server_rss_before_kib.into()),
            ("server_rss_after_kib", self.server_rss_after_kib.into()),
            (
                "server_kib_per_connection",
                self.per_connection_kib().into(),
            ),
            ("loadgen_rss_kib", self.loadgen_rss_kib.into()),
        ])
    }
}

/// How idle mode runs.
#[derive(Clone, Copy, Debug)]
pub(crate) struct IdleSettings {
    /// Connections to open.
    pub wanted: usize,
    /// Logins under way at once at most.
    pub concurrency: usize,
    /// Measure once nothing has arrived for this long.
    pub settle: Duration,
    /// Measure anyway after this long, with the connections made so far.
    pub within: Duration,
    /// Print a progress line each second.
    pub progress: bool,
}

/// Opens idle connections, measures the server once nothing has arrived for a while (or the time is up),
/// then closes them.
pub(crate) async fn idle(
    target: Arc<ChatTarget>,
    settings: IdleSettings,
    server: Option<u32>,
) -> Result<IdleResult, LoadError> {
    let IdleSettings {
        wanted,
        concurrency,
        settle,
        within,
        progress,
    } = settings;
    let before = server.and_then(rss_kib);
    let started = Instant::now();
    let gate = Arc::new(Semaphore::new(concurrency.max(1)));
    let connected = Arc::new(AtomicUsize::new(0));
    let failed = Arc::new(AtomicUsize::new(0));
    let received = Arc::new(AtomicU64::new(0));
    let (stop, stopped) = watch::channel(false);
    let mut tasks = JoinSet::new();
    for index in 0..wanted {
        let (target, gate, connected, failed, received) = (
            target.clone(),
            gate.clone(),
            connected.clone(),
            failed.clone(),
            received.clone(),
        );
        let mut stopped = stopped.clone();
        tasks.spawn(async move {
            let login = async {
                let _permit = gate.acquire().await.ok()?;
                let name = Name::new(&format!("{}{index}", target.prefix)).ok()?;
                match connect_and_login(&target, name).await {
                    Ok(transport) => Some(transport),
                    Err(error) => {
                        eprintln!("chat-load: {error}");
                        None
                    }
                }
            };
            let Some(mut transport) = login.await else {
                failed.fetch_add(1, Ordering::Relaxed);
                return;
            };
            connected.fetch_add(1, Ordering::Relaxed);
            // Idle, but reading: notices of other logins keep arriving.
            loop {
                tokio::select! {
                    _ = stopped.changed() => break,
                    incoming = transport.recv() => match incoming {
                        Ok(Some(_)) => {
                            received.fetch_add(1, Ordering::Relaxed);
                        }
                        Ok(None) | Err(_) => {
                            connected.fetch_sub(1, Ordering::Relaxed);
                            failed.fetch_add(1, Ordering::Relaxed);
                            return;
                        }
                    },
                }
            }
            drop(transport);
        });
    }
    let mut tick = Instant::now() + Duration::from_secs(1);
    let mut login_seconds = None;
    let mut last_received = 0;
    let mut quiet_since = Instant::now();
    loop {
        tokio::time::sleep(Duration::from_millis(50)).await;
        let (up, down) = (
            connected.load(Ordering::Relaxed),
            failed.load(Ordering::Relaxed),
        );
        let got = received.load(Ordering::Relaxed);
        if got != last_received {
            last_received = got;
            quiet_since = Instant::now();
        }
        if login_seconds.is_none() && up + down >= wanted {
            login_seconds = Some(started.elapsed().as_secs_f64());
        }
        if progress && Instant::now() >= tick {
            eprintln!(
                "[{:6.1}s] idle: {} logged in, {} failed, {} notices received, server RSS {}",
                started.elapsed().as_secs_f64(),
                thousands(up as f64),
                down,
                thousands(got as f64),
                server.and_then(rss_kib).map_or_else(
                    || "?".to_owned(),
                    |k| format!("{:.1} MiB", k as f64 / 1024.0)
                )
            );
            tick += Duration::from_secs(1);
        }
        if login_seconds.is_some() && quiet_since.elapsed() >= settle {
            break;
        }
        if started.elapsed() > within {
            eprintln!(
                "chat-load: still logging in after {within:?} ({up} of {wanted} logged in); measuring anyway"
            );
            break;
        }
    }
    let result = IdleResult {
        complete: login_seconds.is_some() && quiet_since.elapsed() >= settle,
        wanted,
        connected: connected.load(Ordering::Relaxed),
        failed: failed.load(Ordering::Relaxed),
        login_seconds: login_seconds.unwrap_or_else(|| started.elapsed().as_secs_f64()),
        server_rss_before_kib: before,
        server_rss_after_kib: server.and_then(rss_kib),
        loadgen_rss_kib: rss_kib(std::process::id()),
    };
    let _ = stop.send(true);
    let _ = tokio::time::timeout(Duration::from_secs(10), async {
        while tasks.join_next().await.is_some() {}
    })
    .await;
    tasks.abort_all();
    Ok(result)
}
