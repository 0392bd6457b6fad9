//! The two faces of the client: [`Input`] (where lines come from) and [`Printer`] (where output goes).
//!
//! - Script mode: a task reads stdin line by line; output goes straight to stdout, flushed per line.
//! - Interactive mode with a line editor: a thread runs rustyline's `readline`, one line at a time, each
//!   asked for with the prompt to show; a printer thread hands output to rustyline's `ExternalPrinter`,
//!   which prints it above the half-typed line. Nothing async ever waits on the terminal.
//!
//! Stopping the editor while it waits for a key (the server went away) has one wrinkle: rustyline has no
//! way to cancel `readline` from outside, but it turns SIGINT into "interrupted" and restores the
//! terminal. So the client sends itself SIGINT (rustyline's handler is installed whenever an external
//! printer could be made, and stays installed because the editor is never dropped before exit).

use std::io::{IsTerminal, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc as std_mpsc, Arc};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use rustyline::error::ReadlineError;
use rustyline::{DefaultEditor, ExternalPrinter};
use tokio::io::AsyncBufReadExt;
use tokio::sync::mpsc;

/// Something the user did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum InputEvent {
    /// A line, without its line ending.
    Line(String),
    /// The input ended (end of file, Ctrl-D).
    Eof,
    /// Ctrl-C.
    Interrupted,
}

/// Lines from the user.
#[derive(Debug)]
pub struct Input {
    events: mpsc::Receiver<InputEvent>,
    editor: Option<EditorThread>,
    /// Whether the editor has been asked for a line it has not given yet.
    asked: bool,
    interactive: bool,
}

#[derive(Debug)]
struct EditorThread {
    prompts: Option<std_mpsc::Sender<String>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<DefaultEditor>>,
}

impl Input {
    /// Lines from a channel, for tests and for stdin; `interactive` says whether a person is typing.
    pub fn from_channel(events: mpsc::Receiver<InputEvent>, interactive: bool) -> Input {
        Input {
            events,
            editor: None,
            asked: false,
            interactive,
        }
    }

    /// Lines from stdin, read by a task. Invalid UTF-8 is replaced, not fatal.
    pub fn stdin(interactive: bool) -> Input {
        let (tx, rx) = mpsc::channel(64);
        tokio::spawn(async move {
            let mut stdin = tokio::io::BufReader::new(tokio::io::stdin());
            let mut buf = Vec::new();
            loop {
                buf.clear();
                let event = match stdin.read_until(b'\n', &mut buf).await {
                    Ok(0) => InputEvent::Eof,
                    Ok(_) => {
                        let line = String::from_utf8_lossy(&buf);
                        InputEvent::Line(line.trim_end_matches(['\n', '\r']).to_owned())
                    }
                    Err(error) => {
                        tracing::warn!(%error, "reading stdin failed; treating it as the end");
                        InputEvent::Eof
                    }
                };
                let end = event == InputEvent::Eof;
                if tx.send(event).await.is_err() || end {
                    return;
                }
            }
        });
        Input::from_channel(rx, interactive)
    }

    /// Whether a person is typing (stdin is a terminal).
    pub fn is_interactive(&self) -> bool {
        self.interactive
    }

    /// Whether there is a line editor that shows a prompt.
    pub fn has_editor(&self) -> bool {
        self.editor.is_some()
    }

    /// Asks for the next line, showing `prompt` (the editor only; other input just flows).
    pub fn ask(&mut self, prompt: &str) {
        if self.asked {
            return;
        }
        if let Some(prompts) = self.editor.as_ref().and_then(|e| e.prompts.as_ref()) {
            if prompts.send(prompt.to_owned()).is_ok() {
                self.asked = true;
            }
        }
    }

    /// The next event. Cancel-safe.
    pub async fn next(&mut self) -> InputEvent {
        let event = self.events.recv().await.unwrap_or(InputEvent::Eof);
        self.asked = false;
        event
    }

    /// Stops the editor, if any, and gives the terminal back as it was.
    pub async fn stop(&mut self) {
        let Some(editor) = self.editor.as_mut() else {
            return;
        };
        editor.stop.store(true, Ordering::SeqCst);
        // Wakes a thread waiting for a prompt.
        editor.prompts = None;
        let Some(thread) = editor.thread.take() else {
            return;
        };
        let started = Instant::now();
        let mut interrupted = false;
        while !thread.is_finished() {
            let waited = started.elapsed();
            if waited > Duration::from_millis(50) && !interrupted {
                // The thread is in readline, waiting for a key.
                interrupted = true;
                interrupt_self();
            }
            if waited > Duration::from_secs(1) {
                eprintln!("(press Enter to exit)");
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        let joined = tokio::task::spawn_blocking(move || thread.join()).await;
        if let Ok(Ok(editor)) = joined {
            // Dropping it would uninstall rustyline's SIGINT handler; a SIGINT still on its way would then
            // kill the client before it has said why it is exiting.
            std::mem::forget(editor);
        }
    }
}

/// Sends SIGINT to this process, without a libc dependency: rustyline's handler turns it into
/// `ReadlineError::Interrupted`.
fn interrupt_self() {
    #[cfg(unix)]
    {
        let pid = std::process::id().to_string();
        let sent = std::process::Command::new("kill")
            .args(["-s", "INT", &pid])
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status();
        tracing::debug!(?sent, "interrupted the line editor");
    }
}

/// Where output goes.
#[derive(Debug)]
pub enum Printer {
    /// Straight to stdout, flushed per line.
    Stdout,
    /// Through a thread that owns rustyline's external printer.
    Editor {
        /// Lines to print, and flush requests.
        jobs: std_mpsc::Sender<Job>,
        /// The thread.
        thread: Option<JoinHandle<()>>,
    },
    /// Into a channel, for tests.
    Capture(mpsc::UnboundedSender<String>),
}

/// Work for the printer thread.
#[derive(Debug)]
pub enum Job {
    /// Print this.
    Line(String),
    /// Say when everything before this is printed.
    Flush(std_mpsc::Sender<()>),
}

impl Printer {
    /// Prints one line (or several, separated by `\n`).
    pub fn line(&self, line: impl Into<String>) {
        let line = line.into();
        match self {
            Printer::Stdout => stdout_line(&line),
            Printer::Editor { jobs, .. } => {
                if let Err(std_mpsc::SendError(Job::Line(line))) = jobs.send(Job::Line(line)) {
                    stdout_line(&line);
                }
            }
            Printer::Capture(tx) => {
                let _ = tx.send(line);
            }
        }
    }

    /// Prints each line.
    pub fn lines(&self, lines: impl IntoIterator<Item = String>) {
        let lines: Vec<String> = lines.into_iter().collect();
        if !lines.is_empty() {
            // One job, so that a list is never split by another message.
            self.line(lines.join("\n"));
        }
    }

    /// Waits (a little) until what was printed has reached the terminal, then stops the printer thread.
    pub async fn finish(&mut self) {
        let Printer::Editor { jobs, thread } = self else {
            return;
        };
        let (done, flushed) = std_mpsc::channel();
        if jobs.send(Job::Flush(done)).is_ok() {
            let _ = tokio::task::spawn_blocking(move || {
                flushed.recv_timeout(Duration::from_millis(500))
            })
            .await;
            // The editor prints what it was handed the next time it polls; give it that moment.
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        // The thread may be stuck handing a line to an editor that has stopped: never wait for it.
        drop(thread.take());
        *self = Printer::Stdout;
    }
}

fn stdout_line(line: &str) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{line}");
    let _ = out.flush();
}

/// The interactive face with a line editor, if stdin and stdout are terminals rustyline can drive; the
/// first prompt is shown at the first [`Input::ask`].
pub fn editor() -> Option<(Input, Printer)> {
    if !std::io::stdin().is_terminal() || !std::io::stdout().is_terminal() {
        return None;
    }
    let mut editor = match DefaultEditor::new() {
        Ok(editor) => editor,
        Err(error) => {
            tracing::info!(%error, "no line editor");
            return None;
        }
    };
    // Fails where rustyline cannot edit (TERM=dumb and the like): then plain lines will do.
    let mut printer: Box<dyn ExternalPrinter + Send> = match editor.create_external_printer() {
        Ok(printer) => Box::new(printer),
        Err(error) => {
            tracing::info!(%error, "no external printer");
            return None;
        }
    };
    let (jobs, job_rx) = std_mpsc::channel::<Job>();
    let printing = std::thread::Builder::new()
        .name("chat-client printer".into())
        .spawn(move || {
            for job in job_rx {
                match job {
                    Job::Line(mut line) => {
                        line.push('\n');
                        if let Err(line) = printer.print(line.clone()).map_err(|_| line) {
                            stdout_line(line.trim_end_matches('\n'));
                        }
                    }
                    Job::Flush(done) => {
                        let _ = done.send(());
                    }
                }
            }
        })
        .ok()?;

    let (events, rx) = mpsc::channel(64);
    let (prompts, prompt_rx) = std_mpsc::channel::<String>();
    let stop = Arc::new(AtomicBool::new(false));
    let stopping = stop.clone();
    let reading = std::thread::Builder::new()
        .name("chat-client editor".into())
        .spawn(move || {
            while let Ok(prompt) = prompt_rx.recv() {
                if stopping.load(Ordering::SeqCst) {
                    break;
                }
                let event = match editor.readline(&prompt) {
                    Ok(line) => {
                        if !line.trim().is_empty() {
                            let _ = editor.add_history_entry(line.as_str());
                        }
                        InputEvent::Line(line)
                    }
                    Err(ReadlineError::Interrupted) if stopping.load(Ordering::SeqCst) => break,
                    Err(ReadlineError::Interrupted) => InputEvent::Interrupted,
                    Err(ReadlineError::Eof) => InputEvent::Eof,
                    Err(error) => {
                        tracing::warn!(%error, "the line editor failed");
                        InputEvent::Eof
                    }
                };
                if events.blocking_send(event).is_err() {
                    break;
                }
            }
            editor
        })
        .ok()?;
    let input = Input {
        events: rx,
        editor: Some(EditorThread {
            prompts: Some(prompts),
            stop,
            thread: Some(reading),
        }),
        asked: false,
        interactive: true,
    };
    let printer = Printer::Editor {
        jobs,
        thread: Some(printing),
    };
    Some((input, printer))
}
