//! The `chat-client` binary: an interactive and scriptable client for chatproto servers.
//!
//! ```text
//! cargo run --release --bin chat-client -- --name ann            # TCP, v5, 127.0.0.1:53289
//! cargo run --release --bin chat-client -- --name ann --udp
//! cargo run --release --bin chat-client -- --name ann --legacy   # the v4 dialect
//! cargo run --release --bin chat-client -- --name ann --password pw --register
//! cargo run --release --bin chat-client -- --name ann --password pw --tls --pin-cert cert.pem
//! printf 'all:hello\nwho\n' | cargo run --release --bin chat-client -- --name bot
//! ```
//!
//! **Interactive** when stdin is a terminal: messages appear above the line being typed (rustyline's
//! `ExternalPrinter`), and a refused login asks for another name on the same connection. **Script** when
//! stdin is a pipe or a file: one command per line (the first line is the name, without `--name`), every
//! incoming message printed to stdout as it arrives (formats in [`display`]), and at the end of the input
//! the client waits up to 5 s for the server to confirm what it sent, says QUIT and exits 0. Logs go to
//! stderr (`--log-level`), as does the connection progress, so stdout holds only the conversation.
//!
//! The commands are in [`command::HELP`]. Exit status: 0 after quitting or at the end of a script, 1 if
//! the server cannot be reached or (in a script) refuses the login, 2 for a bad command line, 3 if the
//! server closes the connection or shuts down.
//!
//! What it expects of the server (PROTOCOL.md §8): after LOGIN, REGISTER or AUTH, either its own LOGIN
//! notice (from the name, R-8.4), which means it is logged in, or ERROR; every request answered by the
//! same verb from `server` or ERROR (R-4.5); CONFIRMs (v5 and v4) for `✓ sent`, DELIVERED for `✓✓`.
//!
//! # Layout
//!
//! - [`args`]: the command line ([`Args`]).
//! - [`command`]: parsing a line into a [`Command`](command::Command) and the messages it sends.
//! - [`display`]: how incoming messages are shown.
//! - [`connect`]: resolving the address and connecting, with retries, progress and a time limit.
//! - [`tls`]: what a TLS client trusts (`--ca`, `--pin-cert`) and the name it checks.
//! - [`ui`]: where lines come from (stdin, or the rustyline thread) and where output goes.
//! - [`session`]: [`Client`], the loop from login to goodbye.
//! - this file: [`run`], which wires them together.

pub mod args;
pub mod command;
pub mod connect;
pub mod display;
pub mod session;
pub mod tls;
pub mod ui;

use std::io::IsTerminal;
use std::process::ExitCode;
use std::time::Duration;

use chatproto::transport::Transport;
use chatproto::Dialect;
use tracing_subscriber::EnvFilter;

pub use args::Args;

use connect::Carrier;
use session::{Client, Options, Outcome};
use tls::{TlsClient, Trust};
use ui::{Input, Printer};

/// How long closing the connection may take at exit.
const CLOSE_LIMIT: Duration = Duration::from_secs(2);

/// Runs the client with these arguments; returns the process's exit status.
pub fn run(args: Args) -> ExitCode {
    init_logging(&args.log_level);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("chat-client: cannot start: {error}");
            return ExitCode::FAILURE;
        }
    };
    let code = runtime.block_on(client(args));
    // A task may still be blocked reading stdin; do not wait for it.
    runtime.shutdown_background();
    ExitCode::from(code)
}

/// The transport the command line asks for; for TLS, with what it trusts read from its file.
fn carrier(args: &Args, server: &str) -> Result<Carrier, String> {
    if args.udp {
        return Ok(Carrier::Udp);
    }
    if !args.tls {
        return Ok(Carrier::Tcp);
    }
    let trust = match (&args.ca, &args.pin_cert) {
        (_, Some(pinned)) => Trust::Pinned(pinned.clone()),
        (Some(ca), None) => Trust::Ca(ca.clone()),
        // clap asks for one already; this is for `Args` built by hand.
        (None, None) => {
            return Err(
                "--tls needs --ca FILE or --pin-cert FILE: there is no built-in list of \
                 authorities to trust"
                    .to_owned(),
            )
        }
    };
    TlsClient::new(trust, args.tls_name.as_deref(), server)
        .map(Carrier::Tls)
        .map_err(|error| error.to_string())
}

fn init_logging(level: &str) {
    let filter = EnvFilter::try_new(level).unwrap_or_else(|error| {
        eprintln!("chat-client: bad --log-level {level:?} ({error}); using warn");
        EnvFilter::new("warn")
    });
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .try_init();
}

async fn client(args: Args) -> u8 {
    let server = args::with_default_port(&args.server);
    let carrier = match carrier(&args, &server) {
        Ok(carrier) => carrier,
        Err(why) => {
            eprintln!("chat-client: {why}");
            return 2;
        }
    };
    let dialect = if args.legacy {
        Dialect::Legacy
    } else {
        Dialect::V5
    };
    let addr = match connect::resolve(&server).await {
        Ok(addr) => addr,
        Err(why) => {
            eprintln!("chat-client: {why}");
            return 1;
        }
    };
    let progress = connect::show_progress(&server, &carrier);
    let transport = match connect::connect(
        &server,
        addr,
        &carrier,
        dialect,
        args.connect_timeout,
        progress,
    )
    .await
    {
        Ok(transport) => {
            eprintln!(" connected");
            transport
        }
        Err(error) if error.handshake.is_some() => {
            eprintln!(" refused");
            eprintln!("chat-client: {error}");
            return 1;
        }
        Err(error) => {
            eprintln!(" gave up");
            eprintln!("chat-client: {error}");
            eprintln!(
                "  is the server running? start one with: cargo run --release --bin chat-server"
            );
            return 1;
        }
    };
    tracing::info!(%addr, %carrier, ?dialect, "connected");

    let interactive = std::io::stdin().is_terminal();
    let (input, printer) = match interactive.then(ui::editor).flatten() {
        Some(editor) => editor,
        None => (Input::stdin(interactive), Printer::Stdout),
    };
    let options = Options {
        name: args.name,
        dialect,
        password: args.password,
        register: args.register,
        encrypt: args.encrypt,
        login_timeout: args.connect_timeout,
        server: format!("{server} over {carrier}"),
        confidential: carrier.is_confidential(),
    };
    let mut client = Client::new(transport, input, printer, options);
    let outcome = client.run().await;
    let (mut transport, mut input, mut printer) = client.into_parts();

    // Everything shown, then the terminal given back, then the last word.
    printer.finish().await;
    input.stop().await;
    if let Some(message) = outcome.message() {
        printer.line(message);
    }
    if outcome == Outcome::Quit {
        if let Err(error) = tokio::time::timeout(CLOSE_LIMIT, transport.close())
            .await
            .unwrap_or(Ok(()))
        {
            tracing::debug!(%error, "closing");
        }
    }
    outcome.exit_code()
}
