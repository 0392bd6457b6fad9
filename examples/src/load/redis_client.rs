//! One Redis client: a RESP3 connection subscribed to the load channel, which also publishes if it is a
//! sender. RESP3 lets one connection both subscribe and publish, so the fleet has the same N connections as
//! the chatproto one. Messages arrive as push frames, handed to a callback on the connection's own task.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use redis::aio::MultiplexedConnection;
use redis::{AsyncConnectionConfig, Client, ProtocolVersion, PushInfo, PushKind, Value};
use tokio::time::Instant;

use super::fleet::{ClientHooks, ClientLive, ClientReport, Fleet, Phase, RoundPlan, Shared};
use super::schedule::Schedule;
use super::stamp::Stamp;
use super::tally::Receiving;
use super::LoadError;

/// The channel every client subscribes to.
const CHANNEL: &str = "chat-load";
/// Messages published in one pipeline at most.
const SEND_BURST: usize = 64;
/// How long after the end of a round a publisher still waits for Redis to answer.
const REPLY_GRACE: Duration = Duration::from_secs(10);

/// A Redis server to run the fan-out through.
#[derive(Clone, Debug)]
pub(crate) struct RedisTarget {
    client: Client,
}

impl RedisTarget {
    /// Reads a `redis://` URL; RESP3 is asked for whatever the URL says.
    pub fn new(url: &str) -> Result<RedisTarget, LoadError> {
        let info = redis::IntoConnectionInfo::into_connection_info(url)?;
        let settings = info
            .redis_settings()
            .clone()
            .set_protocol(ProtocolVersion::RESP3);
        Ok(RedisTarget {
            client: Client::open(info.set_redis_settings(settings))?,
        })
    }

    /// The server's process id, from `INFO server`, when it runs on this machine.
    pub async fn server_pid(&self) -> Option<u32> {
        let mut connection = self.client.get_multiplexed_async_connection().await.ok()?;
        let info: String = redis::cmd("INFO")
            .arg("server")
            .query_async(&mut connection)
            .await
            .ok()?;
        info.lines()
            .find_map(|line| line.strip_prefix("process_id:"))?
            .trim()
            .parse()
            .ok()
    }
}

/// Starts one task per client of the fleet.
pub(crate) fn spawn_all(fleet: &mut Fleet, target: &Arc<RedisTarget>) {
    let clients = fleet.hooks().shared.clients;
    for index in 0..clients {
        let task = client(index, target.clone(), fleet.hooks());
        fleet.spawn(task);
    }
}

/// What the push callback shares with the client's task.
struct Inbox {
    receiving: Mutex<Receiving>,
    gone: AtomicBool,
    /// Which connection is current: an old one's last words (its disconnection) are ignored.
    connection: AtomicU64,
    shared: Arc<Shared>,
    index: usize,
}

impl Inbox {
    fn live(&self) -> &ClientLive {
        &self.shared.live[self.index]
    }

    fn receiving(&self) -> std::sync::MutexGuard<'_, Receiving> {
        self.receiving
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    fn on_push(&self, connection: u64, push: PushInfo) {
        if self.connection.load(Ordering::Relaxed) != connection {
            return;
        }
        match (push.kind, push.data.get(1)) {
            (PushKind::Message, Some(Value::BulkString(text))) => {
                let now = Instant::now();
                self.live().received.fetch_add(1, Ordering::Relaxed);
                self.receiving().on_text(text, now, self.live());
            }
            (PushKind::Disconnection, _) => self.disconnected(),
            _ => {}
        }
    }

    /// The connection has ended: counted once, however many times the library says so.
    fn disconnected(&self) {
        if !self.gone.swap(true, Ordering::Relaxed) {
            self.receiving().tally.disconnected += 1;
            self.live().up.store(false, Ordering::Relaxed);
        }
    }
}

async fn connect(
    target: &RedisTarget,
    inbox: &Arc<Inbox>,
) -> Result<MultiplexedConnection, LoadError> {
    let sink = inbox.clone();
    let connection = inbox.connection.fetch_add(1, Ordering::Relaxed) + 1;
    let config = AsyncConnectionConfig::new()
        .set_connection_timeout(Some(Duration::from_secs(30)))
        // Replies to a pipeline may wait behind a flood of pushes: no timeout.
        .set_response_timeout(None)
        .set_push_sender(move |push: PushInfo| -> Result<(), redis::aio::SendError> {
            sink.on_push(connection, push);
            Ok(())
        });
    let mut connection = target
        .client
        .get_multiplexed_async_connection_with_config(&config)
        .await?;
    connection.subscribe(CHANNEL).await?;
    inbox.gone.store(false, Ordering::Relaxed);
    Ok(connection)
}

struct Sending {
    schedule: Schedule,
    plan: Arc<RoundPlan>,
    slot: u32,
}

/// The messages due now (at most [`SEND_BURST`]) as one pipeline of PUBLISH commands, and how many.
fn publish_batch(s: &mut Sending, inbox: &Inbox) -> (redis::Pipeline, u64) {
    let mut pipe = redis::pipe();
    let mut batch = 0u64;
    let mut receiving = inbox.receiving();
    while batch < SEND_BURST as u64 {
        let now = Instant::now();
        let Some((seq, intended)) = s.schedule.take_due(now) else {
            break;
        };
        receiving.tally.sent(&s.plan, intended, now);
        let stamp = Stamp {
            round: s.plan.round,
            sender: s.slot,
            seq,
            intended_us: intended.duration_since(s.plan.epoch).as_micros() as u64,
        };
        pipe.cmd("PUBLISH")
            .arg(CHANNEL)
            .arg(stamp.text(s.plan.payload))
            .ignore();
        batch += 1;
    }
    (pipe, batch)
}

async fn sleep_until(due: Option<Instant>) {
    match due {
        Some(due) => tokio::time::sleep_until(due).await,
        None => std::future::pending().await,
    }
}

async fn client(index: usize, target: Arc<RedisTarget>, hooks: ClientHooks) {
    let ClientHooks {
        mut phase,
        reports,
        shared,
    } = hooks;
    let inbox = Arc::new(Inbox {
        receiving: Mutex::new(Receiving::new(shared.senders)),
        gone: AtomicBool::new(true),
        connection: AtomicU64::new(0),
        shared: shared.clone(),
        index,
    });
    let live = &shared.live[index];
    let slot = (index < shared.senders).then_some(index as u32);
    let mut connection: Option<MultiplexedConnection> = None;
    let mut sending: Option<Sending> = None;
    let finish = |sending: &mut Option<Sending>| {
        if sending.take().is_some() {
            shared.senders_done.fetch_add(1, Ordering::Relaxed);
        }
    };
    loop {
        if inbox.gone.load(Ordering::Relaxed) && connection.is_some() {
            connection = None;
            finish(&mut sending);
        }
        let due = sending.as_ref().and_then(|s| s.schedule.next_due());
        if due.is_none() {
            // Nothing (more) to send this round: a slow sender may have no message due in it at all.
            finish(&mut sending);
        }
        tokio::select! {
            changed = phase.changed() => {
                if changed.is_err() {
                    break;
                }
                let now = phase.borrow_and_update().clone();
                match now {
                    Phase::Idle => {}
                    Phase::Prepare { fresh } => {
                        if fresh {
                            // Closing drops whatever Redis still buffers for it.
                            connection = None;
                        }
                        if connection.is_none() {
                            match connect(&target, &inbox).await {
                                Ok(c) => connection = Some(c),
                                Err(error) => eprintln!("chat-load: redis client {index}: {error}"),
                            }
                        }
                        live.up.store(connection.is_some(), Ordering::Relaxed);
                        shared.ready.fetch_add(1, Ordering::Relaxed);
                    }
                    Phase::Run(plan) => {
                        inbox.receiving().begin(plan.clone());
                        if let Some(slot) = slot {
                            let schedule = Schedule::new(plan.start, plan.end, plan.rate_per_sender, slot as usize, plan.senders);
                            sending = Some(Sending { schedule, plan, slot });
                            if connection.is_none() {
                                finish(&mut sending);
                            }
                        }
                    }
                    Phase::Collect(round) => {
                        finish(&mut sending);
                        let tally = inbox.receiving().take();
                        let _ = reports.send(ClientReport { round, tally });
                    }
                    Phase::Stop => break,
                }
            }
            () = sleep_until(due), if due.is_some() => {
                let (Some(s), Some(c)) = (sending.as_mut(), connection.as_mut()) else {
                    finish(&mut sending);
                    continue;
                };
                // Everything due goes in one pipeline: one write, one wait for the replies.
                let (pipe, batch) = publish_batch(s, &inbox);
                // A pipeline whose replies take this long is given up, so that the client hears the
                // coordinator; the connection goes, since whether its commands were sent is unknown.
                let published = if batch == 0 {
                    Ok(())
                } else {
                    tokio::time::timeout_at(s.plan.end + REPLY_GRACE, pipe.query_async::<()>(c))
                        .await
                        .unwrap_or_else(|_| Err(redis::RedisError::from((redis::ErrorKind::Io, "no reply to PUBLISH in time"))))
                };
                match published {
                    Ok(()) => {
                        live.sent.fetch_add(batch, Ordering::Relaxed);
                        live.sent_total.fetch_add(batch, Ordering::Relaxed);
                        let sent_at = Instant::now();
                        if sent_at >= s.plan.warm_end && sent_at < s.plan.end {
                            live.sent_in_window.fetch_add(batch, Ordering::Relaxed);
                        }
                        if s.schedule.next_due().is_none() {
                            finish(&mut sending);
                        }
                    }
                    Err(error) => {
                        eprintln!("chat-load: redis client {index}: publish failed: {error}");
                        connection = None;
                        live.up.store(false, Ordering::Relaxed);
                        finish(&mut sending);
                    }
                }
            }
        }
    }
}
