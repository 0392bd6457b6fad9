//! One chatproto client: connects over TCP or UDP, logs in, sends on its schedule if it is a
//! sender, and records every broadcast it receives (R-8.5: the sender gets its own too).

use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use chatproto::transport::{Incoming, TransportError};
use chatproto::{Dialect, Message, Name, Verb};
use chatproto_udp::UdpOptions;
use tokio::time::Instant;

use super::connection::Connection;
use super::direct_tcp::DirectTcp;
use super::fleet::{ClientHooks, ClientReport, Fleet, Phase, RoundPlan};
use super::schedule::Schedule;
use super::stamp::Stamp;
use super::tally::Receiving;

/// How long a login may take.
const LOGIN_WITHIN: Duration = Duration::from_secs(60);
/// Messages sent at most before the client looks at what it has received again.
const SEND_BURST: usize = 64;

/// Which transport.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Carrier {
    /// `chatproto-tcp`.
    Tcp,
    /// `chatproto-udp`.
    Udp,
}

/// Where and how the clients connect.
#[derive(Clone, Debug)]
pub(crate) struct ChatTarget {
    /// The server.
    pub addr: SocketAddr,
    /// TCP or UDP.
    pub carrier: Carrier,
    /// v4 or v5.
    pub dialect: Dialect,
    /// Clients are named `<prefix><index>` (and `r<n>` after the n-th reconnection).
    pub prefix: String,
}

/// Starts one task per client of the fleet.
pub(crate) fn spawn_all(fleet: &mut Fleet, target: &Arc<ChatTarget>) {
    let clients = fleet.hooks().shared.clients;
    for index in 0..clients {
        let task = client(index, target.clone(), fleet.hooks());
        fleet.spawn(task);
    }
}

/// Connects and logs in as `name`: sends LOGIN and waits for its own LOGIN notice.
pub(crate) async fn connect_and_login(
    target: &ChatTarget,
    name: Name,
) -> Result<Connection, String> {
    let cannot = |e: &dyn std::fmt::Display| format!("cannot connect to {}: {e}", target.addr);
    let mut transport = match target.carrier {
        Carrier::Tcp => DirectTcp::connect(target.addr, target.dialect, Duration::from_secs(30))
            .await
            .map(|tcp| Connection::Tcp(Box::new(tcp)))
            .map_err(|e| cannot(&e))?,
        Carrier::Udp => {
            let options = UdpOptions {
                dialect: target.dialect,
                connect_timeout: Duration::from_secs(30),
                ..UdpOptions::default()
            };
            chatproto_udp::connect(target.addr, options)
                .await
                .map(Connection::Transport)
                .map_err(|e| cannot(&e))?
        }
    };
    let login = match target.dialect {
        Dialect::Legacy => Message::new(
            Verb::LOGIN,
            name,
            Name::ALL,
            format!("{name} has connected."),
        ),
        Dialect::V5 => Message::new(Verb::LOGIN, name, Name::SERVER, ""),
    };
    transport
        .send(login)
        .await
        .map_err(|e| format!("{name}: login not sent: {e}"))?;
    let answer = tokio::time::timeout(LOGIN_WITHIN, async {
        loop {
            match transport.recv().await {
                Ok(Some(Incoming::Message(message))) => match message.verb {
                    Verb::LOGIN if message.from == name => return Ok(()),
                    Verb::ERROR => return Err(format!("{name}: login refused: {}", message.text)),
                    _ => {}
                },
                Ok(Some(Incoming::Confirmed(_))) => {}
                Ok(None) => return Err(format!("{name}: the server closed during login")),
                Err(e) => return Err(format!("{name}: login failed: {e}")),
            }
        }
    })
    .await
    .map_err(|_| format!("{name}: no answer to login within {LOGIN_WITHIN:?}"))?;
    answer.map(|()| transport)
}

/// A sender's state during a round.
struct Sending {
    schedule: Schedule,
    plan: Arc<RoundPlan>,
    slot: u32,
}

/// The next item from the transport, or never when there is none.
async fn next_incoming(
    transport: &mut Option<Connection>,
) -> Result<Option<Incoming>, TransportError> {
    match transport {
        Some(transport) => transport.recv().await,
        None => std::future::pending().await,
    }
}

/// Sleeps until `due`, or forever when nothing is due.
async fn sleep_until(due: Option<Instant>) {
    match due {
        Some(due) => tokio::time::sleep_until(due).await,
        None => std::future::pending().await,
    }
}

async fn client(index: usize, target: Arc<ChatTarget>, hooks: ClientHooks) {
    let ClientHooks {
        mut phase,
        reports,
        shared,
    } = hooks;
    let live = &shared.live[index];
    let slot = (index < shared.senders).then_some(index as u32);
    let mut transport: Option<Connection> = None;
    let mut name = None;
    let mut connections = 0u32;
    let mut receiving = Receiving::new(shared.senders);
    let mut sending: Option<Sending> = None;
    // A sender's schedule is over (or it cannot send): the coordinator counts these to know when the
    // last message has been sent.
    let finish = |sending: &mut Option<Sending>| {
        if sending.take().is_some() {
            shared.senders_done.fetch_add(1, Ordering::Relaxed);
        }
    };
    loop {
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
                            if let (Some(old), Some(n)) = (transport.take(), name) {
                                leave(old, n).await;
                            }
                        }
                        if transport.is_none() {
                            let suffix = if connections == 0 { String::new() } else { format!("r{connections}") };
                            connections += 1;
                            let wanted = format!("{}{index}{suffix}", target.prefix);
                            match Name::new(&wanted) {
                                Ok(n) => match connect_and_login(&target, n).await {
                                    Ok(t) => {
                                        transport = Some(t);
                                        name = Some(n);
                                    }
                                    Err(error) => eprintln!("chat-load: {error}"),
                                },
                                Err(error) => eprintln!("chat-load: cannot use the name {wanted:?}: {error}"),
                            }
                        }
                        live.up.store(transport.is_some(), Ordering::Relaxed);
                        shared.ready.fetch_add(1, Ordering::Relaxed);
                    }
                    Phase::Run(plan) => {
                        receiving.begin(plan.clone());
                        if let Some(slot) = slot {
                            let schedule = Schedule::new(plan.start, plan.end, plan.rate_per_sender, slot as usize, plan.senders);
                            sending = Some(Sending { schedule, plan, slot });
                            if transport.is_none() {
                                finish(&mut sending);
                            }
                        }
                    }
                    Phase::Collect(round) => {
                        finish(&mut sending);
                        let tally = receiving.take();
                        let _ = reports.send(ClientReport { round, tally });
                    }
                    Phase::Stop => break,
                }
            }
            incoming = next_incoming(&mut transport) => match incoming {
                Ok(Some(Incoming::Message(message))) => {
                    live.received.fetch_add(1, Ordering::Relaxed);
                    match message.verb {
                        Verb::BROADCAST => receiving.on_text(message.text.as_bytes(), Instant::now(), live),
                        Verb::ERROR => receiving.tally.error(&message.text),
                        _ => {}
                    }
                }
                Ok(Some(Incoming::Confirmed(_))) => {}
                Ok(None) | Err(_) => {
                    transport = None;
                    receiving.tally.disconnected += 1;
                    live.up.store(false, Ordering::Relaxed);
                    finish(&mut sending);
                }
            },
            () = sleep_until(due), if due.is_some() => {
                let (Some(s), Some(t), Some(from)) = (sending.as_mut(), transport.as_mut(), name) else {
                    finish(&mut sending);
                    continue;
                };
                let (mut failed, mut overdue) = (false, false);
                for _ in 0..SEND_BURST {
                    let Some((seq, intended)) = s.schedule.take_due(Instant::now()) else {
                        break;
                    };
                    let stamp = Stamp {
                        round: s.plan.round,
                        sender: s.slot,
                        seq,
                        intended_us: intended.duration_since(s.plan.epoch).as_micros() as u64,
                    };
                    let message = Message::new(Verb::BROADCAST, from, Name::ALL, stamp.text(s.plan.payload));
                    // A send waits while the session's buffer is full. Past the end of the round the
                    // client stops waiting, so that it hears the coordinator; the message is queued in
                    // the session by then (one send is under way at a time) and goes out later.
                    match tokio::time::timeout_at(s.plan.end, t.send(message)).await {
                        Ok(Ok(_)) => {}
                        Ok(Err(_)) => {
                            failed = true;
                            break;
                        }
                        Err(_) => {
                            live.sent.fetch_add(1, Ordering::Relaxed);
                            live.sent_total.fetch_add(1, Ordering::Relaxed);
                            overdue = true;
                            break;
                        }
                    }
                    live.sent.fetch_add(1, Ordering::Relaxed);
                    live.sent_total.fetch_add(1, Ordering::Relaxed);
                    let sent_at = Instant::now();
                    receiving.tally.sent(&s.plan, intended, sent_at);
                    if sent_at >= s.plan.warm_end && sent_at < s.plan.end {
                        live.sent_in_window.fetch_add(1, Ordering::Relaxed);
                    }
                }
                if failed {
                    transport = None;
                    receiving.tally.disconnected += 1;
                    live.up.store(false, Ordering::Relaxed);
                    finish(&mut sending);
                } else if overdue || s.schedule.next_due().is_none() {
                    finish(&mut sending);
                }
            }
        }
    }
    if let (Some(transport), Some(n)) = (transport, name) {
        leave(transport, n).await;
    }
}

/// Logs out with QUIT and drops the connection without waiting for the server to flush what it
/// still queues for it. Over UDP the server would otherwise keep the session, and keep sending to it, until
/// it went silent for the dead-peer limit.
async fn leave(mut transport: Connection, name: Name) {
    let quit = Message::new(Verb::QUIT, name, Name::ALL, "");
    let _ = tokio::time::timeout(Duration::from_secs(1), transport.send(quit)).await;
}
