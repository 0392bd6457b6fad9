//! [`Args`]: the command line, with clap.

use std::path::PathBuf;
use std::time::Duration;

use clap::{ArgGroup, Parser};

/// The port the example server listens on unless told otherwise.
pub const DEFAULT_PORT: u16 = 53289;

/// A chat client for chatproto servers.
///
/// Interactive when stdin is a terminal: incoming messages appear above the line you are typing. With
/// stdin from a pipe or a file it runs as a script: one command per line (the first is the name if
/// --name is not given), every incoming message printed to stdout as it arrives, and at the end of the
/// input it waits up to 5 s for the server to confirm what it sent, says QUIT and exits 0. Connection
/// progress and logs go to stderr. Type /? in the client for its commands.
#[derive(Clone, Debug, Parser)]
#[command(name = "chat-client", version, about, long_about)]
#[command(after_help = AFTER_HELP)]
#[command(group(ArgGroup::new("trust").args(["ca", "pin_cert"])))]
pub struct Args {
    /// The name to log in as. Without it the client asks (interactive) or reads the first line of stdin
    /// (script).
    #[arg(long, short = 'n', value_name = "NAME")]
    pub name: Option<String>,

    /// The server, as HOST:PORT or HOST (port 53289).
    #[arg(
        long,
        short = 's',
        value_name = "ADDR",
        default_value = "127.0.0.1:53289"
    )]
    pub server: String,

    /// Use UDP instead of TCP.
    #[arg(long)]
    pub udp: bool,

    /// Use TLS over TCP: the password and the conversation are then private and the server proves who it
    /// is (PROTOCOL.md §9.1). Servers accept passwords only over TLS. Needs --ca or --pin-cert.
    #[arg(long, conflicts_with = "udp", requires = "trust")]
    pub tls: bool,

    /// With --tls: trust server certificates signed by a certificate in this PEM file (a CA's, or the
    /// server's own if it is self-signed and not marked as a CA).
    #[arg(long, value_name = "FILE", requires = "tls")]
    pub ca: Option<PathBuf>,

    /// With --tls: trust exactly the certificate in this PEM file, whatever names and dates it carries;
    /// for a server with a self-signed certificate.
    #[arg(long, value_name = "FILE", requires = "tls")]
    pub pin_cert: Option<PathBuf>,

    /// With --tls: the name the server's certificate must carry (a DNS name or an IP address); the host
    /// of --server by default.
    #[arg(long, value_name = "NAME", requires = "tls")]
    pub tls_name: Option<String>,

    /// Speak the legacy v4 dialect (TCP only), as the original application did. Only all:TEXT, NAME:TEXT,
    /// who and bye (and /w, /users, /quit) work then: v4 has no rooms, chats, receipts or history.
    #[arg(long, conflicts_with = "udp")]
    pub legacy: bool,

    /// Log in to a registered account with this password (AUTH), instead of as a guest (LOGIN).
    #[arg(long, short = 'p', value_name = "PW")]
    pub password: Option<String>,

    /// Create the account first (REGISTER), with the password given by --password.
    #[arg(long, requires = "password")]
    pub register: bool,

    /// Set the "encrypted" flag on every message sent. This is OBFUSCATION ONLY (a public, keyless
    /// rotation, PROTOCOL.md §5): anyone can read it. It gives no confidentiality.
    #[arg(long)]
    pub encrypt: bool,

    /// How long to keep trying to reach the server, and then to wait for the answer to logging in:
    /// seconds, or a number with ms, s or m.
    #[arg(long, value_name = "TIME", default_value = "15", value_parser = parse_duration)]
    pub connect_timeout: Duration,

    /// What to log to stderr: error, warn, info, debug, trace, or a tracing filter such as
    /// chatproto=debug.
    #[arg(long, value_name = "LEVEL", default_value = "warn")]
    pub log_level: String,
}

const AFTER_HELP: &str = "\
Examples:
  chat-client --name ann                      log in to 127.0.0.1:53289 over TCP (v5)
  chat-client --name ann --password pw --register
  chat-client --udp --server chat.example:53289
  chat-client --tls --ca ca.pem --server chat.example:53289 --name ann --password pw
  chat-client --tls --pin-cert server-cert.pem --name ann --password pw --register
  printf 'all:hello\\nwho\\n' | chat-client --name bot    script mode

Times are shown in UTC. Exit status: 0 after /quit or the end of the input, 1 if the server cannot be
reached or refuses the login (script mode), 2 for a bad command line, 3 if the server closes the
connection or shuts down.";

/// Parses `15`, `1.5`, `15s`, `500ms` or `2m`.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    let (number, unit) = match s.find(|c: char| c.is_ascii_alphabetic()) {
        Some(i) => s.split_at(i),
        None => (s, "s"),
    };
    let value: f64 = number
        .trim()
        .parse()
        .map_err(|_| format!("not a time: {s:?} (try 15, 15s or 500ms)"))?;
    let seconds = match unit {
        "ms" => value / 1000.0,
        "s" => value,
        "m" => value * 60.0,
        _ => return Err(format!("unknown unit {unit:?} in {s:?} (use ms, s or m)")),
    };
    Duration::try_from_secs_f64(seconds).map_err(|_| format!("not a usable time: {s:?}"))
}

/// Adds the default port to a server address that has none (`localhost`, `[::1]`).
pub fn with_default_port(server: &str) -> String {
    let has_port = if let Some(rest) = server.strip_prefix('[') {
        // [v6]:port
        rest.split_once(']')
            .is_some_and(|(_, after)| after.starts_with(':'))
    } else {
        // host:port, but a bare IPv6 address has several colons and no port.
        server.matches(':').count() == 1
    };
    if has_port {
        server.to_owned()
    } else if server.matches(':').count() > 1 && !server.starts_with('[') {
        format!("[{server}]:{DEFAULT_PORT}")
    } else {
        format!("{server}:{DEFAULT_PORT}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("15"), Ok(Duration::from_secs(15)));
        assert_eq!(parse_duration("1.5"), Ok(Duration::from_millis(1500)));
        assert_eq!(parse_duration("15s"), Ok(Duration::from_secs(15)));
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        assert!(parse_duration("soon").is_err());
        assert!(parse_duration("5h").is_err());
        assert!(parse_duration("-1").is_err());
    }

    #[test]
    fn default_port() {
        assert_eq!(with_default_port("127.0.0.1:9"), "127.0.0.1:9");
        assert_eq!(with_default_port("localhost"), "localhost:53289");
        assert_eq!(with_default_port("[::1]:9"), "[::1]:9");
        assert_eq!(with_default_port("[::1]"), "[::1]:53289");
        assert_eq!(with_default_port("::1"), "[::1]:53289");
    }

    #[test]
    fn defaults() {
        let args = Args::parse_from(["chat-client"]);
        assert_eq!(args.server, "127.0.0.1:53289");
        assert_eq!(args.connect_timeout, Duration::from_secs(15));
        assert!(!args.udp && !args.legacy && !args.encrypt && !args.register);
        assert!(Args::try_parse_from(["chat-client", "--register"]).is_err());
        assert!(Args::try_parse_from(["chat-client", "--legacy", "--udp"]).is_err());
        let args = Args::parse_from([
            "chat-client",
            "--name",
            "ann",
            "--password",
            "pw",
            "--register",
        ]);
        assert_eq!(args.name.as_deref(), Some("ann"));
        assert!(args.register);
    }

    #[test]
    fn tls_needs_something_to_trust() {
        let parse = |args: &[&str]| Args::try_parse_from([&["chat-client"], args].concat());
        assert!(parse(&["--tls"]).is_err());
        assert!(parse(&["--tls", "--ca", "a.pem", "--pin-cert", "b.pem"]).is_err());
        assert!(parse(&["--ca", "a.pem"]).is_err());
        assert!(parse(&["--tls", "--udp", "--ca", "a.pem"]).is_err());
        let args = parse(&["--tls", "--pin-cert", "b.pem", "--tls-name", "localhost"]).unwrap();
        assert!(args.tls);
        assert_eq!(args.pin_cert, Some(PathBuf::from("b.pem")));
        assert_eq!(args.tls_name.as_deref(), Some("localhost"));
        assert!(parse(&["--tls", "--ca", "a.pem"]).unwrap().ca.is_some());
    }

    #[test]
    fn clap_is_consistent() {
        use clap::CommandFactory;
        Args::command().debug_assert();
    }
}
