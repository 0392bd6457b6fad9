//! [`run`]: the whole of `chat-load`, from parsed arguments to printed results.

use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use chatproto::Dialect;
use tokio::time::Instant;

use super::args::LoadArgs;
use super::chat_client::{self, Carrier, ChatTarget};
use super::fleet::{Fleet, RoundSettings, Watched};
use super::idle::{idle, IdleSettings};
use super::json::Json;
use super::process::raise_open_files;
use super::redis_client::{self, RedisTarget};
use super::report::SystemResult;
use super::search::{find_max, Search};
use super::spawn::SpawnedServer;
use super::LoadError;

/// The largest payload: one frame's text, so that no message is split.
const MAX_PAYLOAD: usize = 256;
/// chat-server's default port (the original application's).
const DEFAULT_PORT: u16 = 53289;
/// Doubling steps of a search at most.
const MAX_DOUBLINGS: u32 = 20;

/// Runs chat-load with these arguments on a multi-threaded runtime, printing the results on stdout and
/// progress on stderr.
pub fn run(args: LoadArgs) -> ExitCode {
    let open_files = raise_open_files();
    let threads = args.threads.unwrap_or_else(|| {
        std::thread::available_parallelism().map_or(2, std::num::NonZeroUsize::get)
    });
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(threads)
        // Named, so that a profile of the machine tells the generator's threads from the server's.
        .thread_name("chat-load")
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("chat-load: cannot start the runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run_async(args, open_files)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("chat-load: {error}");
            ExitCode::FAILURE
        }
    }
}

fn check(args: &LoadArgs, open_files: u64) -> Result<(), LoadError> {
    let connections = args.idle.unwrap_or(args.clients);
    if connections == 0 {
        return Err("there must be at least one client".into());
    }
    if args.senders.is_some_and(|k| k == 0 || k > args.clients) {
        return Err("--senders must be between 1 and --clients".into());
    }
    if args.payload > MAX_PAYLOAD {
        return Err(format!("--payload is at most {MAX_PAYLOAD} bytes (one frame)").into());
    }
    let rate = args.rate_per_client.unwrap_or(args.rate);
    if !(1e-3..=1e9).contains(&rate) {
        return Err("the rate must be between 0.001 and 1,000,000,000 messages a second".into());
    }
    // Seconds become Durations, which must be finite and not negative; a day is more than any run needs.
    let seconds = |s: f64| (0.0..=86_400.0).contains(&s);
    let measured = args.duration > 0.0 && args.step_duration > 0.0;
    if !measured
        || ![
            args.duration,
            args.step_duration,
            args.warmup,
            args.drain,
            args.idle_settle,
            args.idle_within,
        ]
        .into_iter()
        .all(seconds)
    {
        return Err(
            "durations must be between 0 and 86400 seconds (and the measured ones above 0)".into(),
        );
    }
    if !(args.max_p99_ms > 0.0 && args.max_p99_ms.is_finite()) {
        return Err("--max-p99-ms must be a positive number".into());
    }
    // Each connection is a socket; keep some room for everything else.
    if connections as u64 + 64 > open_files {
        eprintln!(
            "chat-load: warning: {connections} connections but only {open_files} open files allowed (ulimit -Hn)"
        );
    }
    Ok(())
}

async fn run_async(args: LoadArgs, open_files: u64) -> Result<(), LoadError> {
    check(&args, open_files)?;
    let epoch = Instant::now();
    let mut _spawned = None;
    let chat = if args.redis.is_none() {
        let carrier = if args.udp.is_some() {
            Carrier::Udp
        } else {
            Carrier::Tcp
        };
        let default: SocketAddr = ([127, 0, 0, 1], DEFAULT_PORT).into();
        let mut addr = args.udp.or(args.tcp).unwrap_or(default);
        if args.spawn_server {
            let any: SocketAddr = ([127, 0, 0, 1], 0).into();
            let (tcp, udp) = match carrier {
                Carrier::Tcp => (addr, any),
                Carrier::Udp => (any, addr),
            };
            let server =
                SpawnedServer::start(args.server_bin.clone(), tcp, udp, &args.server_args)?;
            addr = match carrier {
                Carrier::Tcp => server.tcp,
                Carrier::Udp => server.udp,
            }
            .ok_or("the spawned server does not listen on that transport")?;
            _spawned = Some(server);
        }
        Some(Arc::new(ChatTarget {
            addr,
            carrier,
            dialect: args.dialect,
            prefix: args.name_prefix.clone(),
        }))
    } else {
        None
    };
    let watched_pid = _spawned
        .as_ref()
        .map(SpawnedServer::pid)
        .or(args.server_pid);
    let progress = !args.quiet;

    if let Some(wanted) = args.idle {
        let target = chat.ok_or("--idle measures a chat server, not Redis")?;
        let settings = IdleSettings {
            wanted,
            concurrency: args.connect_concurrency,
            settle: Duration::from_secs_f64(args.idle_settle),
            within: Duration::from_secs_f64(args.idle_within),
            progress,
        };
        let result = idle(target, settings, watched_pid).await?;
        if args.json {
            println!("{}", result.json());
        } else {
            print!("{}", result.text());
        }
        return Ok(());
    }

    let senders = args.senders.unwrap_or(args.clients);
    let rate = args
        .rate_per_client
        .map_or(args.rate, |per_client| per_client * senders as f64);
    let mut systems = Vec::new();
    if let Some(target) = &chat {
        let mut fleet = Fleet::new("chatproto", args.clients, senders, epoch);
        chat_client::spawn_all(&mut fleet, target);
        let description = format!(
            "{} {} {}",
            match target.carrier {
                Carrier::Tcp => "TCP",
                Carrier::Udp => "UDP",
            },
            match target.dialect {
                Dialect::Legacy => "v4",
                Dialect::V5 => "v5",
            },
            target.addr
        );
        let watched = Watched {
            server: watched_pid,
            progress,
        };
        systems.push(measure(fleet, &args, rate, watched, description).await?);
    }
    if let Some(url) = args.redis.as_ref().or(args.compare_redis.as_ref()) {
        let target = Arc::new(RedisTarget::new(url)?);
        let watched = Watched {
            server: target.server_pid().await,
            progress,
        };
        let mut fleet = Fleet::new("redis", args.clients, senders, epoch);
        redis_client::spawn_all(&mut fleet, &target);
        systems.push(
            measure(
                fleet,
                &args,
                rate,
                watched,
                format!("pub/sub, RESP3, {url}"),
            )
            .await?,
        );
    }
    let ratio = match systems.as_slice() {
        [chat, redis] if redis.result.delivered_per_s > 0.0 => {
            Some(chat.result.delivered_per_s / redis.result.delivered_per_s)
        }
        _ => None,
    };
    if args.json {
        let json = Json::Object(vec![
            ("mode", "load".into()),
            ("clients", args.clients.into()),
            ("senders", senders.into()),
            ("payload", args.payload.into()),
            ("find_max", args.find_max.into()),
            ("at_half_max", args.at_half_max.into()),
            (
                "systems",
                Json::Array(systems.iter().map(SystemResult::json).collect()),
            ),
            ("ratio_chatproto_to_redis", ratio.into()),
        ]);
        println!("{json}");
    } else {
        for system in &systems {
            print!("{}", system.text());
        }
        if let Some(ratio) = ratio {
            println!("chatproto ÷ redis delivered/s: {ratio:.2}×");
        }
    }
    Ok(())
}

/// Runs the rounds the arguments ask for on one fleet, then stops it.
async fn measure(
    mut fleet: Fleet,
    args: &LoadArgs,
    rate: f64,
    watched: Watched,
    target: String,
) -> Result<SystemResult, LoadError> {
    let settings = RoundSettings {
        rate,
        warmup: args.warmup,
        duration: args.duration,
        drain: args.drain,
        payload: args.payload,
    };
    let outcome = if args.find_max {
        let search = Search {
            step: RoundSettings {
                duration: args.step_duration,
                ..settings
            },
            max_p99_us: (args.max_p99_ms * 1000.0) as u64,
            refine: args.refine,
            max_doublings: MAX_DOUBLINGS,
        };
        match find_max(&mut fleet, search, watched).await {
            Ok((steps, Some(max))) => {
                let result = if args.at_half_max {
                    let half = RoundSettings {
                        rate: max.rate / 2.0,
                        ..settings
                    };
                    fleet.round(half, watched).await
                } else {
                    Ok(max.clone())
                };
                result.map(|result| (steps, Some(max), result))
            }
            Ok((steps, None)) => match steps.last() {
                Some(last) => Ok((steps.clone(), None, last.clone())),
                None => Err("the search ran no round".into()),
            },
            Err(error) => Err(error),
        }
    } else {
        fleet
            .round(settings, watched)
            .await
            .map(|result| (Vec::new(), None, result))
    };
    let name = fleet.name;
    fleet.stop().await;
    let (steps, max, result) = outcome?;
    Ok(SystemResult {
        system: name,
        target,
        steps,
        max,
        result,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[test]
    fn impossible_settings_are_refused_not_panicked_on() {
        let refused = |extra: &[&str]| {
            let args = LoadArgs::parse_from(["chat-load"].iter().chain(extra));
            check(&args, 1_000_000).is_err()
        };
        assert!(!refused(&[]));
        assert!(refused(&["--duration=-1"]));
        assert!(refused(&["--warmup", "NaN"]));
        assert!(refused(&["--idle-within", "1e300"]));
        assert!(refused(&["--rate", "0"]));
        assert!(refused(&["--rate", "inf"]));
        assert!(refused(&["--payload", "257"]));
        assert!(refused(&["--clients", "2", "--senders", "3"]));
        assert!(refused(&["--max-p99-ms", "0"]));
    }
}
