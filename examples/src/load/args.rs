//! [`LoadArgs`]: chat-load's command line.

use std::net::SocketAddr;
use std::path::PathBuf;

use chatproto::Dialect;
use clap::Parser;

/// An open-loop load generator for chat-server, with Redis pub/sub as a baseline.
///
/// N clients log in; K of them broadcast at a fixed total rate; every client records the end-to-end latency
/// and checks every sender's sequence. Latency is measured from the time each message was meant to be sent,
/// so a stalled sender cannot hide a stall.
#[derive(Clone, Debug, Parser)]
#[command(name = "chat-load", version, about, long_about = None)]
pub struct LoadArgs {
    /// The server, over TCP (the default transport; default address 127.0.0.1:53289). With
    /// --spawn-server, the address the spawned server binds (port 0: any free port).
    #[arg(long, value_name = "ADDR", conflicts_with = "udp")]
    pub tcp: Option<SocketAddr>,
    /// The server, over UDP. With --spawn-server, the address the spawned server binds.
    #[arg(long, value_name = "ADDR")]
    pub udp: Option<SocketAddr>,
    /// The dialect clients speak: 5 (chatproto) or 4 (legacy).
    #[arg(long, default_value = "5", value_parser = parse_dialect)]
    pub dialect: Dialect,
    /// Clients: every one logs in and receives every broadcast.
    #[arg(long, default_value_t = 10)]
    pub clients: usize,
    /// How many of the clients send (default: all). 1 measures fan-out; all measures many-to-many.
    #[arg(long)]
    pub senders: Option<usize>,
    /// Total messages a second, all senders together (with --find-max: the first rate tried).
    #[arg(long, default_value_t = 100.0, conflicts_with = "rate_per_client")]
    pub rate: f64,
    /// Messages a second from each sender, instead of --rate.
    #[arg(long)]
    pub rate_per_client: Option<f64>,
    /// Text bytes per message (at least the stamp, about 20 bytes; at most 256, one frame).
    #[arg(long, default_value_t = 100)]
    pub payload: usize,
    /// Seconds measured.
    #[arg(long, default_value_t = 5.0)]
    pub duration: f64,
    /// Seconds of warm-up before measuring.
    #[arg(long, default_value_t = 1.0)]
    pub warmup: f64,
    /// Seconds to wait after the end for messages still on their way; what has not arrived by then is lost.
    #[arg(long, default_value_t = 5.0)]
    pub drain: f64,
    /// Print the results as one JSON object on stdout.
    #[arg(long)]
    pub json: bool,
    /// No progress line each second.
    #[arg(long)]
    pub quiet: bool,
    /// The server's process id, to report its CPU and memory.
    #[arg(long, value_name = "PID")]
    pub server_pid: Option<u32>,
    /// Start a chat-server (--memory, on the --tcp/--udp address) and measure it.
    #[arg(long)]
    pub spawn_server: bool,
    /// The chat-server binary for --spawn-server (default: the one beside chat-load).
    #[arg(long, value_name = "PATH")]
    pub server_bin: Option<PathBuf>,
    /// An extra argument for the spawned chat-server (repeat for several).
    #[arg(long = "server-arg", value_name = "ARG", allow_hyphen_values = true)]
    pub server_args: Vec<String>,
    /// Open this many idle logged-in connections and report the server's memory per connection.
    #[arg(long, value_name = "N")]
    pub idle: Option<usize>,
    /// Idle mode: measure once nothing has arrived for this many seconds.
    #[arg(long, default_value_t = 2.0)]
    pub idle_settle: f64,
    /// Idle mode: measure after this many seconds at the latest, with the connections made so far (each
    /// login sends a notice to everyone online, so N logins cost about N²/2 notices).
    #[arg(long, default_value_t = 300.0)]
    pub idle_within: f64,
    /// Run the fan-out through Redis pub/sub at this URL instead of chatproto.
    #[arg(long, value_name = "URL", conflicts_with = "compare_redis")]
    pub redis: Option<String>,
    /// Run through chatproto, then through Redis pub/sub at this URL, and print the ratio.
    #[arg(long, value_name = "URL")]
    pub compare_redis: Option<String>,
    /// Search for the highest rate that holds (doubling from --rate, then bisecting), with rounds of
    /// --step-duration seconds.
    #[arg(long)]
    pub find_max: bool,
    /// After --find-max, run --duration seconds at half the highest rate and report that.
    #[arg(long, requires = "find_max")]
    pub at_half_max: bool,
    /// A round holds only if its p99 latency is at most this many ms.
    #[arg(long, default_value_t = 50.0)]
    pub max_p99_ms: f64,
    /// Seconds measured in each round of --find-max.
    #[arg(long, default_value_t = 2.0)]
    pub step_duration: f64,
    /// Bisection rounds of --find-max after the first rate that does not hold.
    #[arg(long, default_value_t = 3)]
    pub refine: u32,
    /// Connections logging in at once.
    #[arg(long, default_value_t = 128)]
    pub connect_concurrency: usize,
    /// Clients are named PREFIX0, PREFIX1, ...
    #[arg(long, default_value = "load")]
    pub name_prefix: String,
    /// Worker threads of the runtime (default: one per core).
    #[arg(long)]
    pub threads: Option<usize>,
}

fn parse_dialect(s: &str) -> Result<Dialect, String> {
    match s {
        "4" => Ok(Dialect::Legacy),
        "5" => Ok(Dialect::V5),
        other => Err(format!("dialect must be 4 or 5, not {other:?}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_command_line_parses() {
        let args = LoadArgs::parse_from([
            "chat-load",
            "--udp",
            "127.0.0.1:9",
            "--dialect",
            "4",
            "--clients",
            "3",
            "--senders",
            "1",
            "--server-arg",
            "--rate-burst=1000",
        ]);
        assert_eq!(args.udp, Some("127.0.0.1:9".parse().unwrap()));
        assert_eq!(args.dialect, Dialect::Legacy);
        assert_eq!(args.server_args, ["--rate-burst=1000"]);
        assert!(LoadArgs::try_parse_from(["chat-load", "--dialect", "6"]).is_err());
        assert!(LoadArgs::try_parse_from(["chat-load", "--at-half-max"]).is_err());
    }
}
