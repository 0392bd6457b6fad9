//! [`Client`]: one session with the server, from login to goodbye, in script or interactive mode.
//!
//! One loop selects over the user's next line, the transport's next message and the current deadline,
//! so incoming messages are shown while the user types (or while a script's stdin is quiet), and stdin
//! is never read while the client waits for something it needs first (the answer to a login).

use std::collections::{HashMap, VecDeque};
use std::time::Duration;

use chatproto::transport::{Incoming, Transport, TransportError};
use chatproto::{Dialect, Fragments, Message, Name, Packet, Text, Verb};
use tokio::time::Instant;

use super::command::{self, Command, HELP};
use super::display::{self, Context};
use super::ui::{Input, InputEvent, Printer};

/// How long a script waits at the end of its input for the server to confirm what it sent.
pub const DRAIN_LIMIT: Duration = Duration::from_secs(5);
/// How long the client waits, after QUIT, for the server to see it off.
pub const QUIT_LIMIT: Duration = Duration::from_secs(2);

/// How the client logs in and what it sends.
#[derive(Clone, Debug)]
pub struct Options {
    /// The name from the command line; without it the user is asked (or the first line is read).
    pub name: Option<String>,
    /// The dialect the transport speaks.
    pub dialect: Dialect,
    /// Log in with AUTH (or REGISTER) and this password.
    pub password: Option<String>,
    /// REGISTER rather than AUTH.
    pub register: bool,
    /// Set the encrypted flag on everything sent.
    pub encrypt: bool,
    /// How long to wait for the answer to a login.
    pub login_timeout: Duration,
    /// Where we are connected, for the greeting (`127.0.0.1:53289 over TCP`).
    pub server: String,
    /// The transport keeps what is sent from eavesdroppers (TLS). Over any other a server refuses
    /// passwords (PROTOCOL.md ), so the user is warned before one is sent.
    pub confidential: bool,
}

/// How the session ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// The user quit, or a script's input ended: exit 0.
    Quit,
    /// Logging in failed and nobody can try again: exit 1.
    LoginFailed(String),
    /// The server closed the connection or shut down: exit 3.
    ServerGone(String),
}

impl Outcome {
    /// The process exit status.
    pub fn exit_code(&self) -> u8 {
        match self {
            Outcome::Quit => 0,
            Outcome::LoginFailed(_) => 1,
            Outcome::ServerGone(_) => 3,
        }
    }

    /// The last line to print, if any.
    pub fn message(&self) -> Option<String> {
        match self {
            Outcome::Quit => None,
            Outcome::LoginFailed(why) => Some(format!("! {why}")),
            Outcome::ServerGone(why) => Some(format!("! {why}")),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    /// Waiting for the user to give a name.
    Name,
    /// A login was sent; waiting for our own LOGIN notice or ERROR.
    LoggingIn { name: Name, deadline: Instant },
    /// Logged in.
    Chatting,
    /// A script's input ended: waiting for confirmations before QUIT.
    Draining { deadline: Instant },
    /// QUIT sent: waiting for the server to see us off.
    Quitting { deadline: Instant },
}

impl Phase {
    fn deadline(self) -> Option<Instant> {
        match self {
            Phase::LoggingIn { deadline, .. }
            | Phase::Draining { deadline }
            | Phase::Quitting { deadline } => Some(deadline),
            Phase::Name | Phase::Chatting => None,
        }
    }

    fn reads_input(self) -> bool {
        matches!(self, Phase::Name | Phase::Chatting)
    }
}

/// A message sent and not yet confirmed.
#[derive(Clone, Copy, Debug)]
struct Pending {
    /// Show `✓ sent` when it is confirmed (chat text only, not requests).
    show: bool,
    /// v4: confirmations still to come, one per packet.
    packets: usize,
}

enum Event {
    Input(InputEvent),
    Incoming(Result<Option<Incoming>, TransportError>),
    Deadline,
}

/// The client's side of one session.
#[derive(Debug)]
pub struct Client<T> {
    transport: T,
    input: Input,
    out: Printer,
    options: Options,
    phase: Phase,
    /// The name we are logged in as.
    me: Option<Name>,
    /// The name last tried, for `/register` at the name prompt.
    last_name: Option<Name>,
    /// v5: by packet number.
    pending: HashMap<u32, Pending>,
    /// v4: in order, since v4 CONFIRMs carry no number.
    pending_legacy: VecDeque<Pending>,
    /// Rooms of `/users <room>` requests not answered yet, to label the replies.
    members: VecDeque<String>,
    /// Whom we accepted an invitation from, until the server confirms the chat.
    accepting: Option<String>,
    /// Whom we are chatting with one-to-one.
    partner: Option<String>,
    input_open: bool,
    /// The plaintext-password warning has been given (once is enough).
    warned_plaintext: bool,
}

impl<T: Transport> Client<T> {
    /// A client on a connected transport.
    pub fn new(transport: T, input: Input, out: Printer, options: Options) -> Client<T> {
        Client {
            transport,
            input,
            out,
            options,
            phase: Phase::Name,
            me: None,
            last_name: None,
            pending: HashMap::new(),
            pending_legacy: VecDeque::new(),
            members: VecDeque::new(),
            accepting: None,
            partner: None,
            input_open: true,
            warned_plaintext: false,
        }
    }

    /// Gives back what the client was built from, to stop and close after [`Client::run`].
    pub fn into_parts(self) -> (T, Input, Printer) {
        (self.transport, self.input, self.out)
    }

    fn legacy(&self) -> bool {
        self.options.dialect == Dialect::Legacy
    }

    fn prompt(&mut self) {
        let prompt = match (self.phase, self.me) {
            (Phase::Chatting, Some(me)) => format!("{me}> "),
            (Phase::Name, _) => "name: ".to_owned(),
            _ => return,
        };
        self.input.ask(&prompt);
    }

    /// Logs in and chats until the user quits, the input ends or the server goes away.
    pub async fn run(&mut self) -> Outcome {
        if let Some(name) = self.options.name.clone() {
            if let Some(outcome) = self.try_name(&name).await {
                return outcome;
            }
        } else {
            self.ask_for_name();
        }
        loop {
            self.prompt();
            let deadline = self.phase.deadline();
            let reading = self.input_open && self.phase.reads_input();
            let event = tokio::select! {
                event = self.input.next(), if reading => Event::Input(event),
                incoming = self.transport.recv() => Event::Incoming(incoming),
                () = tokio::time::sleep_until(deadline.unwrap_or_else(Instant::now)), if deadline.is_some() => Event::Deadline,
            };
            let outcome = match event {
                Event::Input(event) => self.on_input(event).await,
                Event::Incoming(incoming) => self.on_incoming(incoming).await,
                Event::Deadline => self.on_deadline().await,
            };
            if let Some(outcome) = outcome {
                return outcome;
            }
            if let Phase::Draining { .. } = self.phase {
                if self.pending.is_empty() && self.pending_legacy.is_empty() {
                    if let Some(outcome) = self.quit().await {
                        return outcome;
                    }
                }
            }
        }
    }

    fn ask_for_name(&mut self) {
        self.phase = Phase::Name;
        if self.input.is_interactive() && !self.input.has_editor() {
            eprintln!("type the name to log in as, then Enter");
        }
    }

    // Input.

    async fn on_input(&mut self, event: InputEvent) -> Option<Outcome> {
        match (event, self.phase) {
            (InputEvent::Line(line), Phase::Name) => self.on_name_line(&line).await,
            (InputEvent::Line(line), _) => self.on_line(&line).await,
            (InputEvent::Eof | InputEvent::Interrupted, Phase::Name) => {
                if self.input.is_interactive() {
                    Some(Outcome::Quit)
                } else {
                    Some(Outcome::LoginFailed(
                        "no name to log in as: give --name, or put it on the first line of the input"
                            .into(),
                    ))
                }
            }
            (InputEvent::Eof | InputEvent::Interrupted, _) if self.input.is_interactive() => {
                self.quit().await
            }
            (InputEvent::Eof | InputEvent::Interrupted, _) => {
                // A script ended: let the server confirm everything first.
                self.input_open = false;
                self.phase = Phase::Draining {
                    deadline: Instant::now() + DRAIN_LIMIT,
                };
                None
            }
        }
    }

    /// A line typed at the name prompt: a name, or one of the few commands that make sense before login.
    async fn on_name_line(&mut self, line: &str) -> Option<Outcome> {
        let line = line.trim();
        if line.is_empty() {
            return None;
        }
        if !line.starts_with('/') {
            return self.try_name(line).await;
        }
        match command::parse(line) {
            Ok(Some(Command::Quit)) => Some(Outcome::Quit),
            Ok(Some(Command::Help)) => {
                self.out.line(
                    "* type the name to log in as; or /login <name> <password>, \
                     /register <password> (for the name last tried), /quit",
                );
                None
            }
            Ok(Some(Command::Login { name, password })) => {
                let name = self.checked_name(&name)?;
                self.login(name, Some(&password), false).await
            }
            Ok(Some(Command::Register(password))) => match self.last_name {
                Some(name) => self.login(name, Some(&password), true).await,
                None => {
                    self.out
                        .line("! type the name first, then /register <password>");
                    None
                }
            },
            Ok(_) => {
                self.out.line("! log in first: type your name (or /quit)");
                None
            }
            Err(error) => {
                self.out.line(format!("! {error}"));
                None
            }
        }
    }

    fn checked_name(&mut self, name: &str) -> Option<Name> {
        match command::login_name(name) {
            Ok(name) => Some(name),
            Err(why) => {
                self.out.line(format!("! {why}"));
                None
            }
        }
    }

    /// Logs in as `name` the way the command line says (LOGIN, AUTH or REGISTER).
    async fn try_name(&mut self, name: &str) -> Option<Outcome> {
        let Some(name) = self.checked_name(name) else {
            return (!self.input.is_interactive())
                .then(|| Outcome::LoginFailed(format!("cannot log in as {name:?}")));
        };
        let password = self.options.password.clone();
        let register = self.options.register;
        self.login(name, password.as_deref(), register).await
    }

    async fn login(
        &mut self,
        name: Name,
        password: Option<&str>,
        register: bool,
    ) -> Option<Outcome> {
        self.last_name = Some(name);
        if password.is_some() {
            self.warn_if_plaintext();
        }
        let message = command::login(name, self.options.dialect, password, register);
        if let Some(outcome) = self.send(message, false).await {
            return Some(outcome);
        }
        self.phase = Phase::LoggingIn {
            name,
            deadline: Instant::now() + self.options.login_timeout,
        };
        None
    }

    /// a server refuses a password over a transport without confidentiality, unless its operator
    /// allows it from loopback addresses (for tests and local use). Say so before sending one, so that
    /// the refusal is no surprise. To stderr in a script, whose stdout is the conversation.
    fn warn_if_plaintext(&mut self) {
        if self.options.confidential || self.warned_plaintext {
            return;
        }
        self.warned_plaintext = true;
        let warning = format!(
            "warning: sending a password without TLS (to {}): anyone on the path can read it, and \
             servers refuse it (PROTOCOL.md R-9.1) unless told to allow it from loopback addresses; \
             use --tls to keep it private",
            self.options.server
        );
        match self.out {
            Printer::Stdout => eprintln!("chat-client: {warning}"),
            _ => self.out.line(format!("! {warning}")),
        }
    }

    /// A line typed after login.
    async fn on_line(&mut self, line: &str) -> Option<Outcome> {
        let command = match command::parse(line) {
            Ok(Some(command)) => command,
            Ok(None) => return None,
            Err(error) => {
                self.out.line(format!("! {error}"));
                return None;
            }
        };
        let me = self.me?;
        if self.legacy() && !command.works_in_legacy() {
            let why = if let Command::Rooms(_) = command {
                "plain text goes to your rooms, and a legacy (v4) server has none: use all:<text> or <name>:<text>"
            } else {
                "a legacy (v4) server does not know it: only all:, <name>:, who and bye work with --legacy"
            };
            self.out.line(format!("! {why}"));
            return None;
        }
        if command == Command::Help {
            self.out.line(HELP);
        }
        let messages = match command.requests(me, self.options.dialect, self.partner.as_deref()) {
            Ok(messages) => messages,
            Err(why) => {
                self.out.line(format!("! {why}"));
                return None;
            }
        };
        match &command {
            Command::Members(room) => self.members.push_back(room.clone()),
            Command::Accept(inviter) => self.accepting = Some(inviter.clone()),
            Command::End => self.partner = None,
            Command::Quit => return self.quit().await,
            _ => {}
        }
        for message in messages {
            let show = matches!(
                message.verb,
                Verb::BROADCAST | Verb::PRIVATE_MESSAGE | Verb::ROOM_MESSAGE
            );
            if let Some(outcome) = self.send(message, show).await {
                return Some(outcome);
            }
        }
        None
    }

    /// Sends QUIT and waits for the server to see us off.
    async fn quit(&mut self) -> Option<Outcome> {
        let Some(me) = self.me else {
            return Some(Outcome::Quit);
        };
        let quit = Command::Quit
            .requests(me, self.options.dialect, None)
            .unwrap_or_default();
        for message in quit {
            // A server that is gone already is as good as one that said goodbye.
            if self.send(message, false).await.is_some() {
                return Some(Outcome::Quit);
            }
        }
        self.input_open = false;
        self.phase = Phase::Quitting {
            deadline: Instant::now() + QUIT_LIMIT,
        };
        None
    }

    /// Sends one message and remembers it until it is confirmed.
    async fn send(&mut self, mut message: Message, show: bool) -> Option<Outcome> {
        message.encrypted = self.options.encrypt;
        let packets = self.packets(&message);
        match self.transport.send(message).await {
            Ok(number) => {
                if self.legacy() {
                    self.pending_legacy.push_back(Pending { show, packets });
                } else if number != 0 {
                    self.pending.insert(number, Pending { show, packets: 1 });
                }
                None
            }
            Err(TransportError::Send(error)) => {
                // This message cannot go (too long, say); the session carries on.
                self.out.line(format!("! cannot send that: {error}"));
                None
            }
            Err(error) => Some(self.gone(Some(error))),
        }
    }

    /// How many packets a message takes, hence (in v4) how many CONFIRMs it gets.
    fn packets(&self, message: &Message) -> usize {
        Packet::new(
            self.options.dialect,
            message.verb,
            message.from,
            message.to,
            Text::EMPTY,
        )
        .and_then(|template| Fragments::new(template, &message.text))
        .map_or(1, |fragments| fragments.len().max(1))
    }

    // The server.

    fn gone(&self, error: Option<TransportError>) -> Outcome {
        if let Phase::Quitting { .. } = self.phase {
            return Outcome::Quit;
        }
        // A TLS server answers a plaintext client's first frame with a TLS alert, a few bytes that are
        // no frame, and hangs up before anyone has logged in.
        let hint = match (&error, self.me) {
            (Some(TransportError::TruncatedFrame { .. }), None) if !self.options.confidential => {
                "; if the server uses TLS, connect with --tls"
            }
            _ => "",
        };
        match error {
            None => Outcome::ServerGone("server closed the connection".into()),
            Some(error) => {
                Outcome::ServerGone(format!("server closed the connection ({error}){hint}"))
            }
        }
    }

    async fn on_incoming(
        &mut self,
        incoming: Result<Option<Incoming>, TransportError>,
    ) -> Option<Outcome> {
        match incoming {
            Ok(Some(Incoming::Message(message))) => self.on_message(message),
            Ok(Some(Incoming::Confirmed(number))) => {
                self.on_confirmed(number);
                None
            }
            Ok(None) => Some(self.gone(None)),
            Err(error) => Some(self.gone(Some(error))),
        }
    }

    fn on_confirmed(&mut self, number: u32) {
        let now = display::now_ms();
        if self.legacy() {
            let Some(front) = self.pending_legacy.front_mut() else {
                return;
            };
            front.packets = front.packets.saturating_sub(1);
            if front.packets == 0 {
                let done = self.pending_legacy.pop_front();
                if done.is_some_and(|p| p.show) {
                    self.out.line(display::sent(None, now));
                }
            }
        } else if let Some(pending) = self.pending.remove(&number) {
            if pending.show {
                self.out.line(display::sent(Some(number), now));
            }
        }
    }

    fn on_message(&mut self, message: Message) -> Option<Outcome> {
        let me = self.me.or(self.last_name).unwrap_or_default();
        let mut members_of = None;
        match message.verb {
            Verb::SHUTDOWN => {
                let outcome = Outcome::ServerGone(display::shutdown(&message.text));
                return Some(match self.phase {
                    Phase::Quitting { .. } => Outcome::Quit,
                    _ => outcome,
                });
            }
            Verb::ROOM_MEMBERS => members_of = self.members.pop_front(),
            // An ERROR answering `/users <room>` (no such room) answers that request.
            Verb::ERROR
                if self
                    .members
                    .front()
                    .is_some_and(|room| message.text.contains(room.as_str())) =>
            {
                self.members.pop_front();
            }
            Verb::CHAT_ACCEPT if message.from == Name::SERVER => {
                let named = message
                    .text
                    .strip_prefix("chatting with ")
                    .map(str::to_owned);
                self.partner = self.accepting.take().or(named);
            }
            Verb::CHAT_ACCEPT => self.partner = Some(message.from.to_string()),
            Verb::CHAT_END => self.partner = None,
            _ => {}
        }
        let lines = display::render(
            &message,
            &Context {
                me: me.as_str(),
                members_of: members_of.as_deref(),
            },
        );
        self.out.lines(lines);

        match self.phase {
            Phase::LoggingIn { name, .. } => match message.verb {
                // our own LOGIN notice says we are in.
                Verb::LOGIN if message.from == name => {
                    self.me = Some(name);
                    self.phase = Phase::Chatting;
                    if self.input.is_interactive() {
                        self.out.line(format!(
                            "* logged in as {name} on {} ({}). Type /? for help.",
                            self.options.server,
                            if self.legacy() { "v4" } else { "v5" },
                        ));
                    }
                    None
                }
                Verb::ERROR if self.input.is_interactive() => {
                    self.out.line(format!(
                        "* try another name, /login <name> <password>, /register <password> to \
                         create an account for {name}, or /quit"
                    ));
                    self.phase = Phase::Name;
                    None
                }
                Verb::ERROR => Some(Outcome::LoginFailed(format!(
                    "the server refused the login as {name}"
                ))),
                _ => None,
            },
            Phase::Quitting { .. }
                if message.verb == Verb::QUIT && Some(message.from) == self.me =>
            {
                Some(Outcome::Quit)
            }
            _ => None,
        }
    }

    async fn on_deadline(&mut self) -> Option<Outcome> {
        match self.phase {
            Phase::LoggingIn { name, .. } => Some(Outcome::LoginFailed(format!(
                "no answer from the server to logging in as {name} within {:.1} s",
                self.options.login_timeout.as_secs_f64()
            ))),
            Phase::Draining { .. } => {
                let unconfirmed = self.pending.len() + self.pending_legacy.len();
                self.out.line(format!(
                    "! {unconfirmed} message(s) not confirmed by the server after {} s",
                    DRAIN_LIMIT.as_secs()
                ));
                self.pending.clear();
                self.pending_legacy.clear();
                self.quit().await
            }
            Phase::Quitting { .. } => Some(Outcome::Quit),
            Phase::Name | Phase::Chatting => None,
        }
    }
}

#[cfg(test)]
mod tests {
    //! Whole sessions against the real routing core ([`chatproto::chat::Hub`]) over in-memory transports.

    use std::collections::HashMap;
    use std::time::Instant as StdInstant;

    use chatproto::chat::{
        ClientId, Hub, Input as HubInput, Link, MemoryStore, Output, PlainTextForTests, Receipt,
    };
    use chatproto::session::{Role, Session, SessionConfig};
    use chatproto::transport::link;
    use chatproto::transport::SessionTransport;
    use tokio::sync::mpsc;

    use super::*;

    enum Down {
        Send(Message, Option<Receipt>),
        Confirm(u32),
        Close,
    }

    enum Up {
        Received(ClientId, Message),
        Delivered(Receipt),
        Gone(ClientId),
    }

    /// A chat server in a task: hand it the server end of each connection.
    fn hub() -> mpsc::UnboundedSender<SessionTransport> {
        let (accept, mut accepted) = mpsc::unbounded_channel::<SessionTransport>();
        tokio::spawn(async move {
            let mut hub = Hub::new(MemoryStore::default(), PlainTextForTests);
            let (up_tx, mut up) = mpsc::unbounded_channel();
            let mut sessions: HashMap<ClientId, mpsc::UnboundedSender<Down>> = HashMap::new();
            let mut next = 0;
            loop {
                let input = tokio::select! {
                    Some(transport) = accepted.recv() => {
                        next += 1;
                        let id = ClientId(next);
                        let (down_tx, down) = mpsc::unbounded_channel();
                        sessions.insert(id, down_tx);
                        tokio::spawn(serve(id, transport, down, up_tx.clone()));
                        HubInput::Connected(id, Link::confidential(None))
                    }
                    Some(event) = up.recv() => match event {
                        Up::Received(id, message) => HubInput::Received(id, message),
                        Up::Delivered(receipt) => HubInput::Delivered(receipt),
                        Up::Gone(id) => HubInput::Disconnected(id),
                    },
                    else => return,
                };
                for output in hub.handle(StdInstant::now(), display::now_ms(), input) {
                    let (id, down) = match output {
                        Output::Send {
                            to,
                            message,
                            receipt,
                        } => (to, Down::Send(Message::clone(&message), receipt)),
                        Output::Confirm { client, number } => (client, Down::Confirm(number)),
                        Output::Close(id) => (id, Down::Close),
                    };
                    if let Some(session) = sessions.get(&id) {
                        let _ = session.send(down);
                    }
                }
            }
        });
        accept
    }

    async fn serve(
        id: ClientId,
        mut transport: SessionTransport,
        mut down: mpsc::UnboundedReceiver<Down>,
        up: mpsc::UnboundedSender<Up>,
    ) {
        let mut receipts = HashMap::new();
        loop {
            tokio::select! {
                command = down.recv() => match command {
                    Some(Down::Send(message, receipt)) => match transport.send(message).await {
                        Ok(number) => {
                            if let Some(receipt) = receipt {
                                receipts.insert(number, receipt);
                            }
                        }
                        Err(_) => break,
                    },
                    Some(Down::Confirm(number)) => {
                        let _ = transport.confirm(number).await;
                    }
                    Some(Down::Close) | None => {
                        let _ = transport.close().await;
                        break;
                    }
                },
                incoming = transport.recv() => match incoming {
                    Ok(Some(Incoming::Message(message))) => {
                        let _ = up.send(Up::Received(id, message));
                    }
                    Ok(Some(Incoming::Confirmed(number))) => {
                        if let Some(receipt) = receipts.remove(&number) {
                            let _ = up.send(Up::Delivered(receipt));
                        }
                    }
                    _ => break,
                },
            }
        }
        let _ = up.send(Up::Gone(id));
    }

    /// Client and server transports over an in-memory link; the server confirms only what the hub has
    /// handled, as a real one does.
    fn pair(dialect: Dialect) -> (SessionTransport, SessionTransport) {
        let now = StdInstant::now();
        let (to_server, server_reader) = link();
        let (to_client, client_reader) = link();
        let client = Session::new(Role::Client, Some(dialect), SessionConfig::default(), now);
        let server_config = SessionConfig {
            defer_confirm: true,
            ..SessionConfig::default()
        };
        let server = Session::new(Role::Server, None, server_config, now);
        (
            SessionTransport::spawn(client, client_reader, to_server, None),
            SessionTransport::spawn(server, server_reader, to_client, None),
        )
    }

    /// A client being driven: its keyboard and its screen.
    struct Driven {
        keys: mpsc::Sender<InputEvent>,
        screen: mpsc::UnboundedReceiver<String>,
        seen: Vec<String>,
        done: tokio::task::JoinHandle<Outcome>,
    }

    impl Driven {
        async fn type_line(&self, line: &str) {
            self.keys
                .send(InputEvent::Line(line.into()))
                .await
                .expect("client is running");
        }

        async fn end_input(&self) {
            let _ = self.keys.send(InputEvent::Eof).await;
        }

        /// Waits for a line containing `needle` and returns it.
        async fn expect(&mut self, needle: &str) -> String {
            let wait = async {
                loop {
                    let Some(printed) = self.screen.recv().await else {
                        panic!(
                            "the client stopped before printing {needle:?}; it printed {:#?}",
                            self.seen
                        );
                    };
                    self.seen.push(printed.clone());
                    if printed.contains(needle) {
                        return printed;
                    }
                }
            };
            match tokio::time::timeout(Duration::from_secs(5), wait).await {
                Ok(line) => line,
                Err(_) => panic!("no {needle:?}; the client printed {:#?}", self.seen),
            }
        }

        async fn outcome(mut self) -> (Outcome, Vec<String>) {
            let outcome = tokio::time::timeout(Duration::from_secs(10), &mut self.done)
                .await
                .expect("client finishes")
                .expect("client does not panic");
            while let Ok(printed) = self.screen.try_recv() {
                self.seen.push(printed);
            }
            (outcome, self.seen)
        }
    }

    fn options(name: Option<&str>, dialect: Dialect) -> Options {
        Options {
            name: name.map(str::to_owned),
            dialect,
            password: None,
            register: false,
            encrypt: false,
            login_timeout: Duration::from_secs(5),
            server: "memory".into(),
            confidential: false,
        }
    }

    fn start(
        server: &mpsc::UnboundedSender<SessionTransport>,
        options: Options,
        interactive: bool,
    ) -> Driven {
        let (client_end, server_end) = pair(options.dialect);
        server.send(server_end).expect("hub is running");
        let (keys, events) = mpsc::channel(16);
        let (screen_tx, screen) = mpsc::unbounded_channel();
        let input = Input::from_channel(events, interactive);
        let done = tokio::spawn(async move {
            let mut client = Client::new(client_end, input, Printer::Capture(screen_tx), options);
            client.run().await
        });
        Driven {
            keys,
            screen,
            seen: Vec::new(),
            done,
        }
    }

    #[tokio::test]
    async fn a_script_logs_in_chats_and_quits_at_the_end_of_its_input() {
        let server = hub();
        let mut ann = start(&server, options(Some("ann"), Dialect::V5), false);
        ann.expect("* ann has connected.").await;
        ann.type_line("all:hello").await;
        ann.type_line("who").await;
        ann.type_line("just the room").await;
        ann.type_line("/frob").await;
        ann.end_input().await;
        let (outcome, seen) = ann.outcome().await;
        assert_eq!(outcome, Outcome::Quit);
        let all = seen.join("\n");
        for needle in [
            "[all] ann: hello",
            "\u{2713} sent ",
            "* who is online:\n  ann  available",
            "[#General] ann: just the room",
            "! unknown command /frob: type /? for help",
            "* ann has disconnected.",
        ] {
            assert!(all.contains(needle), "no {needle:?} in {all}");
        }
        // Every message sent was confirmed before QUIT: two broadcasts-or-room messages, two ticks.
        assert_eq!(
            seen.iter()
                .filter(|l| l.starts_with("\u{2713} sent"))
                .count(),
            2,
            "{all}"
        );
        // Nothing interactive in a script.
        assert!(!all.contains("Type /? for help"), "{all}");
    }

    #[tokio::test]
    async fn a_script_reads_its_name_from_the_first_line() {
        let server = hub();
        let mut bob = start(&server, options(None, Dialect::V5), false);
        bob.type_line("bob").await;
        bob.expect("* bob has connected.").await;
        bob.end_input().await;
        assert_eq!(bob.outcome().await.0, Outcome::Quit);
    }

    #[tokio::test]
    async fn a_script_without_a_name_fails() {
        let server = hub();
        let nobody = start(&server, options(None, Dialect::V5), false);
        nobody.end_input().await;
        let (outcome, _) = nobody.outcome().await;
        assert!(
            matches!(outcome, Outcome::LoginFailed(ref why) if why.contains("--name")),
            "{outcome:?}"
        );
        assert_eq!(outcome.exit_code(), 1);
    }

    #[tokio::test]
    async fn a_refused_login_ends_a_script_but_not_a_person() {
        let server = hub();
        let mut ann = start(&server, options(Some("ann"), Dialect::V5), false);
        ann.expect("* ann has connected.").await;

        let mut script = start(&server, options(Some("ann"), Dialect::V5), false);
        script.expect("! error: ann is already taken").await;
        let (outcome, _) = script.outcome().await;
        assert!(matches!(outcome, Outcome::LoginFailed(_)), "{outcome:?}");

        let mut person = start(&server, options(Some("ann"), Dialect::V5), true);
        person.expect("! error: ann is already taken").await;
        person.expect("* try another name").await;
        person.type_line("ALL").await;
        person
            .expect("! cannot log in as \"ALL\": that name is reserved")
            .await;
        person.type_line("anne").await;
        person.expect("* anne has connected.").await;
        person
            .expect("* logged in as anne on memory (v5). Type /? for help.")
            .await;
        ann.expect("* anne has connected.").await;
        person.type_line("/quit").await;
        assert_eq!(person.outcome().await.0, Outcome::Quit);
        ann.expect("* anne has disconnected.").await;
    }

    #[tokio::test]
    async fn private_messages_rooms_receipts_and_chats() {
        let server = hub();
        let mut ann = start(&server, options(Some("ann"), Dialect::V5), true);
        ann.expect("* ann has connected.").await;
        let mut bob = start(&server, options(Some("bob"), Dialect::V5), true);
        bob.expect("* bob has connected.").await;
        ann.expect("* bob has connected.").await;

        ann.type_line("bob: hi bob").await;
        ann.expect("[you \u{2192} bob] hi bob").await;
        bob.expect("[ann \u{2192} you] hi bob").await;
        let tick = ann.expect("\u{2713}\u{2713} received by bob at ").await;
        assert!(tick.ends_with(')') && tick.contains("(#"), "{tick}");

        ann.type_line("/create dev").await;
        ann.expect("* created dev").await;
        ann.type_line("/join dev").await;
        ann.expect("* joined dev").await;
        bob.type_line("/join dev").await;
        bob.expect("* joined dev").await;
        ann.type_line("/users dev").await;
        assert_eq!(
            ann.expect("* members of #dev:").await,
            "* members of #dev:\n  ann\n  bob"
        );
        ann.type_line("/users nowhere").await;
        ann.expect("! error: no room nowhere").await;
        ann.type_line("/users General").await;
        ann.expect("* members of #General:").await;
        ann.type_line("/s dev,General hello rooms").await;
        bob.expect("[#dev] ann: hello rooms").await;
        bob.expect("[#General] ann: hello rooms").await;
        ann.type_line("/list").await;
        assert_eq!(ann.expect("* rooms:").await, "* rooms:\n  General\n  dev");

        ann.type_line("/end").await;
        ann.expect("! you are not in a one-to-one chat").await;
        ann.type_line("/chat bob fancy a chat?").await;
        bob.expect(
            "* ann invites you to chat: /accept ann or /decline ann (ann says: fancy a chat?)",
        )
        .await;
        bob.type_line("/accept ann").await;
        bob.expect("* chatting with ann").await;
        ann.expect("* bob accepted your invitation: you are chatting with bob")
            .await;
        bob.type_line("who").await;
        bob.expect("  bob  chatting with ann").await;
        // Both sides know whom /end is for.
        bob.type_line("/end").await;
        bob.expect("* chat with ann ended").await;
        ann.expect("* bob ended the chat").await;

        ann.type_line("/history 3").await;
        ann.expect("[history ").await;
        ann.expect("* end of history (3 messages)").await;

        bob.type_line("/register pw").await;
        bob.expect("reconnect with --name bob --password <password> --register")
            .await;
        bob.type_line("/?").await;
        bob.expect("/s <room>[,<room>...] <text>").await;
        bob.expect("* server help:").await;

        ann.type_line("bye").await;
        assert_eq!(ann.outcome().await.0, Outcome::Quit);
        bob.expect("* ann has disconnected.").await;
        bob.end_input().await;
        assert_eq!(bob.outcome().await.0, Outcome::Quit);
    }

    #[tokio::test]
    async fn obfuscated_messages_are_tagged() {
        let server = hub();
        let mut ann = start(
            &server,
            Options {
                encrypt: true,
                ..options(Some("ann"), Dialect::V5)
            },
            false,
        );
        ann.expect("* ann has connected.").await;
        ann.type_line("all:psst").await;
        ann.expect("[all] ann: psst (obfuscated)").await;
        ann.end_input().await;
        assert_eq!(ann.outcome().await.0, Outcome::Quit);
    }

    #[tokio::test]
    async fn accounts_register_and_log_in() {
        let server = hub();
        let with_password = |name: &str, register| Options {
            password: Some("pw".into()),
            register,
            ..options(Some(name), Dialect::V5)
        };
        let mut ann = start(&server, with_password("ann", true), false);
        ann.expect("* registered ann").await;
        ann.expect("* ann has connected.").await;
        ann.end_input().await;
        assert_eq!(ann.outcome().await.0, Outcome::Quit);

        // A guest login to a registered name is refused; /login at the prompt fixes it.
        let mut person = start(&server, options(Some("ann"), Dialect::V5), true);
        person.expect("! error: ann is registered").await;
        person.type_line("/login ann wrong").await;
        person.expect("! error: wrong password").await;
        person.type_line("/login ann pw").await;
        person.expect("* ann has connected.").await;
        person.type_line("/quit").await;
        assert_eq!(person.outcome().await.0, Outcome::Quit);
    }

    #[tokio::test]
    async fn a_password_without_tls_is_warned_about() {
        // servers refuse passwords over transports without confidentiality.
        let server = hub();
        let registering = |confidential| Options {
            password: Some("pw".into()),
            register: true,
            confidential,
            ..options(Some("ann"), Dialect::V5)
        };
        let mut plain = start(&server, registering(false), false);
        plain
            .expect("! warning: sending a password without TLS (to memory)")
            .await;
        plain.end_input().await;
        plain.outcome().await;

        let private = start(&server, registering(true), false);
        private.end_input().await;
        let (_, seen) = private.outcome().await;
        assert!(!seen.iter().any(|l| l.contains("warning")), "{seen:#?}");
    }

    #[tokio::test]
    async fn legacy_clients_speak_v4() {
        let server = hub();
        let mut old = start(&server, options(Some("old"), Dialect::Legacy), false);
        old.expect("* old has connected.").await;
        old.type_line("who").await;
        assert_eq!(
            old.expect("* who is online:").await,
            "* who is online:\n  old"
        );
        old.type_line("/join dev").await;
        old.expect("! a legacy (v4) server does not know it").await;
        old.type_line("plain").await;
        old.expect("! plain text goes to your rooms").await;
        old.type_line("all:hi").await;
        // The server confirms ahead of relaying.
        let tick = old.expect("\u{2713} sent").await;
        old.expect("[all] old: hi").await;
        assert!(!tick.contains('#'), "{tick}");
        old.end_input().await;
        assert_eq!(old.outcome().await.0, Outcome::Quit);
    }

    /// A client on a server end the test drives by hand.
    async fn logged_in_by_hand() -> (Driven, SessionTransport) {
        let (client_end, mut server_end) = pair(Dialect::V5);
        let (keys, events) = mpsc::channel(16);
        let (screen_tx, screen) = mpsc::unbounded_channel();
        let input = Input::from_channel(events, false);
        let done = tokio::spawn(async move {
            let options = options(Some("ann"), Dialect::V5);
            Client::new(client_end, input, Printer::Capture(screen_tx), options)
                .run()
                .await
        });
        let Ok(Some(Incoming::Message(login))) = server_end.recv().await else {
            panic!("no login");
        };
        assert_eq!((login.verb, login.from.as_str()), (Verb::LOGIN, "ann"));
        server_end.confirm(login.number).await.unwrap();
        let notice = Message::new(Verb::LOGIN, login.from, Name::ALL, "ann has connected.");
        server_end.send(notice).await.unwrap();
        let mut driven = Driven {
            keys,
            screen,
            seen: Vec::new(),
            done,
        };
        driven.expect("* ann has connected.").await;
        (driven, server_end)
    }

    #[tokio::test]
    async fn the_server_shutting_down_ends_the_session() {
        let (ann, mut server_end) = logged_in_by_hand().await;
        let shutdown = Message::new(Verb::SHUTDOWN, Name::SERVER, Name::ALL, "maintenance");
        server_end.send(shutdown).await.unwrap();
        let (outcome, _) = ann.outcome().await;
        assert_eq!(
            outcome,
            Outcome::ServerGone("server is shutting down: maintenance".into())
        );
        assert_eq!(outcome.exit_code(), 3);
        assert_eq!(
            outcome.message().unwrap(),
            "! server is shutting down: maintenance"
        );
    }

    #[tokio::test]
    async fn the_server_closing_ends_the_session() {
        let (ann, mut server_end) = logged_in_by_hand().await;
        server_end.close().await.unwrap();
        drop(server_end);
        let (outcome, _) = ann.outcome().await;
        assert!(
            matches!(outcome, Outcome::ServerGone(ref why) if why.starts_with("server closed the connection")),
            "{outcome:?}"
        );
    }

    #[tokio::test]
    async fn no_answer_to_a_login_times_out() {
        let (client_end, _server_end) = pair(Dialect::V5);
        let (_keys, events) = mpsc::channel(16);
        let (screen_tx, _screen) = mpsc::unbounded_channel();
        let options = Options {
            login_timeout: Duration::from_millis(200),
            ..options(Some("ann"), Dialect::V5)
        };
        let input = Input::from_channel(events, false);
        let outcome = Client::new(client_end, input, Printer::Capture(screen_tx), options)
            .run()
            .await;
        assert!(
            matches!(outcome, Outcome::LoginFailed(ref why) if why.contains("no answer")),
            "{outcome:?}"
        );
    }
}
