//! The interactive `chat-client` keeps showing incoming messages while the user has a line half typed,
//! and the half-typed line survives them: still on the prompt line, below the new message, and sent whole
//! when Enter is pressed.
//!
//! The client runs in a real terminal: a detached tmux session with a socket of its own, read with
//! `capture-pane` and typed into with `send-keys`. The server runs in this process, and "bob" is a library
//! client ([`support::Peer`]).
//!
//! tmux must be installed (`apt-get install -y tmux`). Without it these tests fail, saying so, unless
//! `CHATPROTO_SKIP_TTY_TESTS=1` is set, in which case they print that they were skipped and pass. Every
//! wait is bounded, and the tmux server is killed when a test ends, pass or fail.

mod support;

use std::io::ErrorKind;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::Stdio;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use chatproto::Verb;
use chatproto_examples::server::{PasswordHashing, Server, ServerConfig, Storage};
use support::{Net, Peer, PATIENCE};
use tokio::time::Instant;

/// What to tell whoever runs these tests without tmux.
const INSTALL: &str = "apt-get install -y tmux";
/// Set to `1` to skip the tests that need a terminal.
const SKIP_VAR: &str = "CHATPROTO_SKIP_TTY_TESTS";
/// The longest any single tmux command may take.
const TMUX_LIMIT: Duration = Duration::from_secs(5);
/// How often the screen is read while waiting for something.
const POLL: Duration = Duration::from_millis(50);
/// The tmux session's name, inside its own server.
const SESSION: &str = "chat";
/// What the terminal shows when the command in it has ended, before its exit status and `]`.
const EXIT_MARK: &str = "[exited with status ";

/// Whether to run: `false` (after saying why) if told to skip; a failure if tmux is missing.
fn tmux_or_skip(test: &str) -> bool {
    if std::env::var(SKIP_VAR).is_ok_and(|v| v == "1") {
        eprintln!("{test}: SKIPPED because {SKIP_VAR}=1 (it needs tmux and a pseudo-terminal)");
        return false;
    }
    match std::process::Command::new("tmux")
        .arg("-V")
        .stdin(Stdio::null())
        .output()
    {
        Ok(out) if out.status.success() => true,
        Ok(out) => panic!(
            "{test}: `tmux -V` failed ({}): {}; install tmux ({INSTALL}) or set {SKIP_VAR}=1 to skip",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        ),
        Err(error) if error.kind() == ErrorKind::NotFound => panic!(
            "{test}: tmux is not installed, and this test drives the interactive client through it; \
             install it ({INSTALL}) or set {SKIP_VAR}=1 to skip the terminal tests"
        ),
        Err(error) => panic!("{test}: cannot run tmux ({error}); install it ({INSTALL})"),
    }
}

/// One terminal's contents at one moment.
#[derive(Debug)]
struct Screen {
    /// The visible rows, trailing spaces removed.
    rows: Vec<String>,
    /// The row the cursor is on.
    cursor: usize,
    /// The column the cursor is in.
    column: usize,
    /// The command's exit status, once it has ended (128 + N if killed by signal N).
    exited: Option<i32>,
}

impl Screen {
    /// The row the cursor is on: the prompt and the line being typed.
    fn prompt_line(&self) -> &str {
        self.rows.get(self.cursor).map_or("", String::as_str)
    }

    /// The first row that is exactly `line`.
    fn row_of(&self, line: &str) -> Option<usize> {
        self.rows.iter().position(|row| row == line)
    }

    fn has(&self, line: &str) -> bool {
        self.row_of(line).is_some()
    }

    /// The rows that contain `text` anywhere.
    fn rows_containing(&self, text: &str) -> Vec<usize> {
        (0..self.rows.len())
            .filter(|&i| self.rows[i].contains(text))
            .collect()
    }
}

/// A tmux server of our own (a unique socket), running one session; killed, and its socket file
/// removed, on drop.
struct Tmux {
    socket: String,
    /// The socket file, which tmux leaves behind when its server is killed.
    socket_path: Option<PathBuf>,
}

impl Tmux {
    /// Starts `command` in a detached 120×30 terminal, a shell showing its exit status when it ends.
    async fn start(command: &[String]) -> Tmux {
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        let mut tmux = Tmux {
            socket: format!("chatproto-typing-{}-{nanos}", std::process::id()),
            socket_path: None,
        };
        // One string for the pane's shell: every word single-quoted. The shell says how the command
        // ended and keeps the pane open a while, so that its exit status and last words can be read
        // (tmux's own remain-on-exit sometimes leaves the status unknown: the pane can close before tmux
        // reaps the process).
        let words = command
            .iter()
            .map(|word| format!("'{}'", word.replace('\'', r"'\''")))
            .collect::<Vec<_>>()
            .join(" ");
        let shell_command = format!("{words}; echo \"{EXIT_MARK}$?]\"; sleep 30");
        tmux.run(&[
            "new-session",
            "-d",
            "-s",
            SESSION,
            "-x",
            "120",
            "-y",
            "30",
            &shell_command,
        ])
        .await;
        let path = tmux.run(&["display-message", "-p", "#{socket_path}"]).await;
        tmux.socket_path = Some(PathBuf::from(path.trim_end()));
        tmux
    }

    /// Runs one tmux command line against our server, within [`TMUX_LIMIT`]; its stdout.
    async fn run(&self, args: &[&str]) -> String {
        let mut command = tokio::process::Command::new("tmux");
        command
            // No user configuration; our own server.
            .args(["-f", "/dev/null", "-L", &self.socket])
            .args(args)
            // In case the tests themselves run inside tmux.
            .env_remove("TMUX")
            .stdin(Stdio::null())
            .kill_on_drop(true);
        let out = match tokio::time::timeout(TMUX_LIMIT, command.output()).await {
            Ok(Ok(out)) => out,
            Ok(Err(error)) => panic!("tmux {args:?}: {error}"),
            Err(_) => panic!("tmux {args:?} took more than {TMUX_LIMIT:?}"),
        };
        assert!(
            out.status.success(),
            "tmux {args:?} failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// The screen now: the cursor position and the rows in one tmux command line, so they agree.
    async fn screen(&self) -> Screen {
        let out = self
            .run(&[
                "display-message",
                "-p",
                "-t",
                SESSION,
                "#{cursor_y} #{cursor_x}",
                ";",
                "capture-pane",
                "-p",
                "-t",
                SESSION,
            ])
            .await;
        let (meta, rows) = out.split_once('\n').unwrap_or((&out, ""));
        let mut meta = meta.split_whitespace();
        let cursor = meta.next().and_then(|y| y.parse().ok()).unwrap_or(0);
        let column = meta.next().and_then(|x| x.parse().ok()).unwrap_or(0);
        let rows: Vec<String> = rows.lines().map(|row| row.trim_end().to_owned()).collect();
        let exited = rows.iter().find_map(|row| {
            row.strip_prefix(EXIT_MARK)?
                .strip_suffix(']')?
                .parse::<i32>()
                .ok()
        });
        Screen {
            rows,
            cursor,
            column,
            exited,
        }
    }

    /// Everything the terminal has shown, scrollback included, for failure messages.
    async fn transcript(&self) -> String {
        let out = self
            .run(&["capture-pane", "-p", "-S", "-", "-t", SESSION])
            .await;
        let rows: Vec<&str> = out.lines().map(str::trim_end).collect();
        let end = rows
            .iter()
            .rposition(|row| !row.is_empty())
            .map_or(0, |i| i + 1);
        rows[..end].join("\n")
    }

    /// Waits (at most [`PATIENCE`]) until the screen satisfies `ok`; panics with the screen if it never
    /// does.
    async fn wait_for(&self, what: &str, ok: impl Fn(&Screen) -> bool) -> Screen {
        let deadline = Instant::now() + PATIENCE;
        loop {
            let screen = self.screen().await;
            if ok(&screen) {
                return screen;
            }
            if Instant::now() >= deadline {
                panic!(
                    "waited {PATIENCE:?} for {what}; the cursor is on row {}, the client {}; the terminal \
                     shows:\n{}\n(end of terminal)",
                    screen.cursor,
                    match screen.exited {
                        Some(status) => format!("exited with status {status}"),
                        None => "is running".into(),
                    },
                    self.transcript().await
                );
            }
            tokio::time::sleep(POLL).await;
        }
    }

    /// Types `text` as characters (not key names), in one burst: what a paste does.
    async fn paste(&self, text: &str) {
        self.run(&["send-keys", "-t", SESSION, "-l", text]).await;
    }

    /// Types `text` (ASCII) one key at a time after `prompt`, as a person does: each key once the one
    /// before it is on the screen, the cursor after it (so that a space, invisible at the end of the line,
    /// counts too).
    async fn type_keys(&self, prompt: &str, text: &str) {
        let mut typed = String::new();
        for key in text.chars() {
            typed.push(key);
            self.paste(&key.to_string()).await;
            let want = format!("{prompt}{typed}");
            let column = want.len();
            let want = want.trim_end();
            self.wait_for(
                &format!("the prompt line to read {want:?}, the cursor in column {column}"),
                |s| s.prompt_line() == want && s.column == column,
            )
            .await;
        }
    }

    /// Presses a key by its tmux name (`Enter`).
    async fn press(&self, key: &str) {
        self.run(&["send-keys", "-t", SESSION, key]).await;
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        // Synchronous, since drop cannot wait: kill-server returns at once.
        let _ = std::process::Command::new("tmux")
            .args(["-f", "/dev/null", "-L", &self.socket, "kill-server"])
            .env_remove("TMUX")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        if let Some(path) = &self.socket_path {
            let _ = std::fs::remove_file(path);
        }
    }
}

/// A server on an ephemeral loopback TCP port, keeping nothing.
async fn start_server() -> Server {
    let any: SocketAddr = "127.0.0.1:0".parse().unwrap();
    Server::start(ServerConfig {
        tcp: Some(any),
        udp: None,
        storage: Storage::Memory,
        hashing: PasswordHashing::FastForTests,
        allow_plaintext_passwords: true,
        ..ServerConfig::default()
    })
    .await
    .expect("server starts")
}

/// The chat-client binary, logging in as `name` to `server`, in a terminal; returns once it is logged in
/// and showing its prompt.
async fn client_in_terminal(server: &Server, name: &str) -> Tmux {
    let addr = server.tcp_addr().expect("the server listens on TCP");
    let tmux = Tmux::start(&[
        env!("CARGO_BIN_EXE_chat-client").to_owned(),
        "--server".into(),
        addr.to_string(),
        "--name".into(),
        name.into(),
        "--connect-timeout".into(),
        "10".into(),
    ])
    .await;
    let logged_in = format!("* logged in as {name} on {addr} over TCP (v5). Type /? for help.");
    let prompt = format!("{name}>");
    tmux.wait_for(&format!("{logged_in:?} and an empty prompt"), |s| {
        s.has(&logged_in) && s.prompt_line() == prompt
    })
    .await;
    tmux
}

/// `/quit` at an empty prompt: the client must exit 0 and give the terminal back.
async fn quit(tmux: &Tmux, prompt: &str) {
    tmux.type_keys(prompt, "/quit").await;
    tmux.press("Enter").await;
    let screen = tmux
        .wait_for("the client to exit after /quit", |s| s.exited.is_some())
        .await;
    assert_eq!(
        screen.exited,
        Some(0),
        "the client's exit status after /quit; the terminal shows:\n{}",
        tmux.transcript().await
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn incoming_messages_print_above_a_half_typed_line() {
    if !tmux_or_skip("incoming_messages_print_above_a_half_typed_line") {
        return;
    }
    let server = start_server().await;
    let mut bob = Peer::join(&server, Net::Tcp, "bob").await;
    let ann = client_in_terminal(&server, "ann").await;
    bob.expect_notice(Verb::LOGIN, "ann").await;

    // Half a line, no Enter.
    ann.type_keys("ann> ", "half typed").await;

    bob.send(Verb::BROADCAST, "ALL", "ping from bob").await;
    let broadcast = "[all] bob: ping from bob";
    let screen = ann
        .wait_for(
            &format!("{broadcast:?} above the prompt line still reading \"ann> half typed\""),
            |s| {
                s.row_of(broadcast).is_some_and(|row| row < s.cursor)
                    && s.prompt_line() == "ann> half typed"
            },
        )
        .await;
    // Only once: not left behind above the message, not garbled into it.
    assert_eq!(
        screen.rows_containing("half typed"),
        vec![screen.cursor],
        "the half-typed text should be on the prompt line only; the terminal shows:\n{}",
        ann.transcript().await
    );

    // Enter sends the line whole: plain text goes to ann's rooms (General, which bob is in too).
    ann.press("Enter").await;
    let got = bob.expect_text(Verb::ROOM_MESSAGE, "half typed").await;
    assert_eq!(
        (got.from.as_str(), got.to.as_str()),
        ("ann", chatproto::chat::GENERAL)
    );
    ann.wait_for("ann's own message and a fresh, empty prompt", |s| {
        s.row_of("[#General] ann: half typed")
            .is_some_and(|row| row < s.cursor)
            && s.prompt_line() == "ann>"
    })
    .await;

    quit(&ann, "ann> ").await;
    drop(ann);
    server.shutdown("test over").await;
}

/// The same, with the half line arriving in one burst, as a paste (or a fast typist over a slow link, or an
/// input method) delivers it. rustyline 17 reads the burst into its buffer, shows only the first character,
/// and leaves the rest (an Enter included) unprocessed until the next key arrives, so the screen reads
/// `ann> h` and a pasted line with its newline is not sent. rustyline 19.0.0 checks its buffer before
/// waiting (`PosixRawReader::wait_for_input`); rustyline 17.0.2 and 18.0.1 do not.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]

async fn a_pasted_half_line_survives_incoming_messages() {
    if !tmux_or_skip("a_pasted_half_line_survives_incoming_messages") {
        return;
    }
    let server = start_server().await;
    let mut bob = Peer::join(&server, Net::Tcp, "bob").await;
    let ann = client_in_terminal(&server, "ann").await;
    bob.expect_notice(Verb::LOGIN, "ann").await;

    ann.paste("half typed").await;
    ann.wait_for("the pasted text on the prompt line", |s| {
        s.prompt_line() == "ann> half typed"
    })
    .await;
    bob.send(Verb::BROADCAST, "ALL", "ping from bob").await;
    ann.wait_for("the broadcast above the pasted text", |s| {
        s.row_of("[all] bob: ping from bob")
            .is_some_and(|row| row < s.cursor)
            && s.prompt_line() == "ann> half typed"
    })
    .await;

    // A pasted line with its newline is sent at once.
    ann.press("Enter").await;
    bob.expect_text(Verb::ROOM_MESSAGE, "half typed").await;
    ann.paste("all:pasted whole\r").await;
    bob.expect_text(Verb::BROADCAST, "pasted whole").await;

    quit(&ann, "ann> ").await;
    drop(ann);
    server.shutdown("test over").await;
}
