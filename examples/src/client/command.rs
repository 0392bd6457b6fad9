//! [`Command`]: what the user typed, parsed; and [`Command::requests`], the messages it sends.
//!
//! The syntax, in full, is [`HELP`]. Two habits come from the student applications chatproto grew out
//! of: `all:<text>` and `<name>:<text>` (seed 000), and the slash commands (seed 001). The rules that
//! needed choosing:
//!
//! - `/s` takes its rooms as ONE comma-separated list, then the message: `/s dev,ops deploy at 5`. A
//!   room name cannot hold a comma, so this is never ambiguous, and the common case
//!   `/s dev hello` needs no punctuation. A space after a comma is allowed: `/s dev, ops hello`.
//! - `<prefix>:<text>` is a private message only when the prefix has no spaces and the text does not
//!   start with `//` (so `see https://…` and `note: …` stay plain text).
//! - A line starting with `//` is plain text with one slash removed, for text that starts with `/`.

use chatproto::chat::refuse_name;
use chatproto::{Dialect, Message, Name, Verb};

/// The client's own help, printed for `/?` and `/help` (and kept in step with the parser by a test).
pub const HELP: &str = "\
commands:
  <text>                      to every room you are in (you start in General), or to your partner
                              while in a one-to-one chat
  all:<text>                  to everyone online
  <name>:<text>               private message (also /w <name> <text>)
  who                         who is online (also /users)
  /create <room>              create a room (then /join it)
  /join <room> [<room>...]    join rooms
  /leave <room> [<room>...]   leave rooms
  /list                       list the rooms
  /users [<room>]             who is online, or who is in a room
  /s <room>[,<room>...] <text>  to the rooms listed, comma-separated: /s dev,ops hello
  /w <name> <text>            private message
  /chat <name> [<greeting>]   invite someone to a one-to-one chat
  /accept <name>, /decline <name> [<reason>], /end    answer an invitation, end the chat
  /history [<n>]              the last n messages you may see (the server's default: 50)
  /register <password>        before logging in: create an account for your name
  /login <name> <password>    before logging in: log in to an account
  /? or /help                 this help, and the server's
  /quit, /disconnect, bye     leave (so do Ctrl-D and Ctrl-C)
  //<text>                    plain text that starts with /
Times are UTC. \u{2713} means the server has your message, \u{2713}\u{2713} that the recipient has it.";

/// A parsed line of input.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Command {
    /// `all:<text>`: BROADCAST.
    Broadcast(String),
    /// `<name>:<text>` or `/w <name> <text>`: PRIVATE_MESSAGE.
    Private {
        /// The recipient.
        to: String,
        /// The message.
        text: String,
    },
    /// Plain text: ROOM_MESSAGE with an empty `to_name`, which goes to every room the sender is in
    /// while in a one-to-one chat, a PRIVATE_MESSAGE to the partner instead (as in seed 002).
    Rooms(String),
    /// `/s <rooms> <text>`: one ROOM_MESSAGE per room.
    Say {
        /// The rooms, in the order given.
        rooms: Vec<String>,
        /// The message.
        text: String,
    },
    /// `who`, `/who`, `/users`: WHO.
    Who,
    /// `/users <room>`: ROOM_MEMBERS.
    Members(String),
    /// `/list`: ROOM_LIST.
    List,
    /// `/create <room>`: ROOM_CREATE.
    Create(String),
    /// `/join <room>...`: one ROOM_JOIN per room.
    Join(Vec<String>),
    /// `/leave <room>...`: one ROOM_LEAVE per room.
    Leave(Vec<String>),
    /// `/chat <name> [<greeting>]`: CHAT_INVITE.
    Invite {
        /// The invitee.
        to: String,
        /// An optional greeting.
        greeting: String,
    },
    /// `/accept <name>`: CHAT_ACCEPT.
    Accept(String),
    /// `/decline <name> [<reason>]`: CHAT_DECLINE.
    Decline {
        /// The inviter.
        to: String,
        /// An optional reason.
        reason: String,
    },
    /// `/end`: CHAT_END to the one you are chatting with.
    End,
    /// `/history [<n>]`: HISTORY_REQUEST.
    History(Option<u32>),
    /// `/register <password>`: REGISTER for the current name (before login only).
    Register(String),
    /// `/login <name> <password>`: AUTH (before login only).
    Login {
        /// The account.
        name: String,
        /// Its password.
        password: String,
    },
    /// `/?`, `/help`: the local help, and HELP to the server.
    Help,
    /// `bye`, `quit`, `/quit`, `/disconnect`: QUIT, then exit.
    Quit,
}

/// Why a line is not a command.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CommandError {
    /// A `/word` the client does not know.
    Unknown(String),
    /// A known command used wrongly; the text is its usage.
    Usage(&'static str),
    /// A message with nothing in it.
    Empty(&'static str),
    /// `/history` with something other than a number.
    NotANumber(String),
}

impl std::fmt::Display for CommandError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CommandError::Unknown(name) => write!(f, "unknown command /{name}: type /? for help"),
            CommandError::Usage(usage) => write!(f, "usage: {usage}"),
            CommandError::Empty(what) => write!(f, "nothing to send after {what}"),
            CommandError::NotANumber(n) => {
                write!(f, "/history takes a number of messages, not {n:?}")
            }
        }
    }
}

impl std::error::Error for CommandError {}

/// Splits off the first whitespace-separated word; the rest keeps its inner spacing.
fn word(s: &str) -> (&str, &str) {
    let s = s.trim_start();
    match s.find(char::is_whitespace) {
        Some(i) => (&s[..i], s[i..].trim_start()),
        None => (s, ""),
    }
}

/// Words and commas both separate names in a list (`/join a b`, `/join a,b`).
fn names(s: &str) -> Vec<String> {
    s.split(|c: char| c == ',' || c.is_whitespace())
        .filter(|n| !n.is_empty())
        .map(str::to_owned)
        .collect()
}

fn text(rest: &str, what: &'static str) -> Result<String, CommandError> {
    if rest.is_empty() {
        Err(CommandError::Empty(what))
    } else {
        Ok(rest.to_owned())
    }
}

/// Parses one line. `Ok(None)` for a blank line.
pub fn parse(line: &str) -> Result<Option<Command>, CommandError> {
    let line = line.trim();
    if line.is_empty() {
        return Ok(None);
    }
    if let Some(plain) = line.strip_prefix("//") {
        return Ok(Some(Command::Rooms(format!("/{plain}"))));
    }
    if let Some(slash) = line.strip_prefix('/') {
        return slash_command(slash).map(Some);
    }
    if line.eq_ignore_ascii_case("who") {
        return Ok(Some(Command::Who));
    }
    if line.eq_ignore_ascii_case("bye") || line.eq_ignore_ascii_case("quit") {
        return Ok(Some(Command::Quit));
    }
    if let Some((prefix, rest)) = line.split_once(':') {
        let is_name = !prefix.is_empty() && !prefix.contains(char::is_whitespace);
        if is_name && !rest.starts_with("//") {
            let rest = rest.trim();
            return Ok(Some(if prefix.eq_ignore_ascii_case("all") {
                Command::Broadcast(text(rest, "all:")?)
            } else {
                Command::Private {
                    to: prefix.to_owned(),
                    text: text(rest, "<name>:")?,
                }
            }));
        }
    }
    Ok(Some(Command::Rooms(line.to_owned())))
}

fn slash_command(slash: &str) -> Result<Command, CommandError> {
    let (name, rest) = word(slash);
    let one = |usage: &'static str| -> Result<String, CommandError> {
        match word(rest) {
            (first, "") if !first.is_empty() => Ok(first.to_owned()),
            _ => Err(CommandError::Usage(usage)),
        }
    };
    let some = |usage: &'static str| -> Result<Vec<String>, CommandError> {
        let list = names(rest);
        if list.is_empty() {
            Err(CommandError::Usage(usage))
        } else {
            Ok(list)
        }
    };
    Ok(match name.to_ascii_lowercase().as_str() {
        "?" | "help" => Command::Help,
        "quit" | "disconnect" | "bye" => Command::Quit,
        "who" => Command::Who,
        "list" => Command::List,
        "end" => Command::End,
        "users" => match word(rest) {
            ("", _) => Command::Who,
            (room, "") => Command::Members(room.to_owned()),
            _ => return Err(CommandError::Usage("/users [<room>]")),
        },
        "create" => Command::Create(one("/create <room>")?),
        "join" => Command::Join(some("/join <room> [<room>...]")?),
        "leave" => Command::Leave(some("/leave <room> [<room>...]")?),
        "s" => say(rest)?,
        "w" | "msg" => match word(rest) {
            ("", _) => return Err(CommandError::Usage("/w <name> <text>")),
            (to, text) => Command::Private {
                to: to.to_owned(),
                text: self::text(text, "/w <name>")?,
            },
        },
        "chat" => match word(rest) {
            ("", _) => return Err(CommandError::Usage("/chat <name> [<greeting>]")),
            (to, greeting) => Command::Invite {
                to: to.to_owned(),
                greeting: greeting.to_owned(),
            },
        },
        "accept" => Command::Accept(one("/accept <name>")?),
        "decline" => match word(rest) {
            ("", _) => return Err(CommandError::Usage("/decline <name> [<reason>]")),
            (to, reason) => Command::Decline {
                to: to.to_owned(),
                reason: reason.to_owned(),
            },
        },
        "history" => match word(rest) {
            ("", _) => Command::History(None),
            (n, "") => Command::History(Some(
                n.parse()
                    .map_err(|_| CommandError::NotANumber(n.to_owned()))?,
            )),
            _ => return Err(CommandError::Usage("/history [<n>]")),
        },
        "register" if !rest.is_empty() => Command::Register(rest.to_owned()),
        "register" => return Err(CommandError::Usage("/register <password>")),
        "login" => match word(rest) {
            (name, password) if !name.is_empty() && !password.is_empty() => Command::Login {
                name: name.to_owned(),
                password: password.to_owned(),
            },
            _ => return Err(CommandError::Usage("/login <name> <password>")),
        },
        _ => return Err(CommandError::Unknown(name.to_owned())),
    })
}

/// `/s <room>[,<room>...] <text>`: the first word is the room list; a word ending in a comma (or a next
/// word starting with one) continues it.
fn say(rest: &str) -> Result<Command, CommandError> {
    const USAGE: &str = "/s <room>[,<room>...] <text>, e.g. /s dev,ops hello";
    let (mut list, mut rest) = word(rest);
    let mut rooms = String::from(list);
    while !rest.is_empty() && (list.ends_with(',') || rest.starts_with(',')) {
        (list, rest) = word(rest);
        rooms.push(',');
        rooms.push_str(list);
    }
    let rooms = names(&rooms);
    if rooms.is_empty() {
        return Err(CommandError::Usage(USAGE));
    }
    if rest.is_empty() {
        return Err(CommandError::Empty("/s <rooms>"));
    }
    Ok(Command::Say {
        rooms,
        text: rest.to_owned(),
    })
}

impl Command {
    /// Whether a legacy (v4) server understands it: it sends only verbs 0 to 8, or nothing.
    pub fn works_in_legacy(&self) -> bool {
        matches!(
            self,
            Command::Broadcast(_)
                | Command::Private { .. }
                | Command::Who
                | Command::Quit
                | Command::Help
        )
    }

    /// The messages this command sends, from `me`, in `dialect`. `partner` is the one you are chatting
    /// with, for `/end` and for plain text. Commands that are not requests to the server (`/register`, `/login`) and names
    /// that cannot be sent give `Err` with a message for the user.
    pub fn requests(
        &self,
        me: Name,
        dialect: Dialect,
        partner: Option<&str>,
    ) -> Result<Vec<Message>, String> {
        let legacy = dialect == Dialect::Legacy;
        let to_server = if legacy { Name::ALL } else { Name::SERVER };
        let message = |verb, to: Name, text: &str| Message::new(verb, me, to, text);
        let one = |verb, to: &str, text: &str| -> Result<Vec<Message>, String> {
            Ok(vec![message(verb, name(to)?, text)])
        };
        let each = |verb, rooms: &[String], text: &str| -> Result<Vec<Message>, String> {
            rooms
                .iter()
                .map(|room| Ok(message(verb, name(room)?, text)))
                .collect()
        };
        match self {
            Command::Broadcast(text) => Ok(vec![message(Verb::BROADCAST, Name::ALL, text)]),
            Command::Private { to, text } => one(Verb::PRIVATE_MESSAGE, to, text),
            Command::Rooms(text) => match partner {
                Some(partner) => one(Verb::PRIVATE_MESSAGE, partner, text),
                None => Ok(vec![message(Verb::ROOM_MESSAGE, Name::EMPTY, text)]),
            },
            Command::Say { rooms, text } => each(Verb::ROOM_MESSAGE, rooms, text),
            Command::Who => Ok(vec![message(Verb::WHO, to_server, "")]),
            Command::Members(room) => one(Verb::ROOM_MEMBERS, room, ""),
            Command::List => Ok(vec![message(Verb::ROOM_LIST, Name::SERVER, "")]),
            Command::Create(room) => {
                if let Some(why) = refuse_name(room) {
                    return Err(format!("cannot create {room:?}: {why}"));
                }
                one(Verb::ROOM_CREATE, room, "")
            }
            Command::Join(rooms) => each(Verb::ROOM_JOIN, rooms, ""),
            Command::Leave(rooms) => each(Verb::ROOM_LEAVE, rooms, ""),
            Command::Invite { to, greeting } => one(Verb::CHAT_INVITE, to, greeting),
            Command::Accept(to) => one(Verb::CHAT_ACCEPT, to, ""),
            Command::Decline { to, reason } => one(Verb::CHAT_DECLINE, to, reason),
            Command::End => match partner {
                Some(partner) => one(Verb::CHAT_END, partner, ""),
                None => {
                    Err("you are not in a one-to-one chat (start one with /chat <name>)".into())
                }
            },
            Command::History(n) => Ok(vec![message(
                Verb::HISTORY_REQUEST,
                Name::SERVER,
                &n.map(|n| n.to_string()).unwrap_or_default(),
            )]),
            // A legacy server has no HELP: the local help is all there is.
            Command::Help if legacy => Ok(Vec::new()),
            Command::Help => Ok(vec![message(Verb::HELP, Name::SERVER, "")]),
            Command::Quit => Ok(vec![message(
                Verb::QUIT,
                Name::ALL,
                &format!("{me} has disconnected."),
            )]),
            Command::Register(_) => Err(format!(
                "you are logged in as {me}: to create an account, reconnect with \
                 --name {me} --password <password> --register"
            )),
            Command::Login { .. } => Err(format!(
                "you are logged in as {me} already: to log in to an account, reconnect with \
                 --name <name> --password <password>"
            )),
        }
    }
}

/// A user or room name as a `to_name`, or a message saying why it cannot be one.
pub fn name(s: &str) -> Result<Name, String> {
    Name::new(s).map_err(|_| format!("{s:?} cannot be a name: at most 32 bytes, no NUL"))
}

/// How to log in: the message that asks for `name`.
pub fn login(name: Name, dialect: Dialect, password: Option<&str>, register: bool) -> Message {
    match (password, dialect) {
        (Some(password), _) => {
            let verb = if register { Verb::REGISTER } else { Verb::AUTH };
            Message::new(verb, name, Name::SERVER, password)
        }
        (None, Dialect::Legacy) => Message::new(
            Verb::LOGIN,
            name,
            Name::ALL,
            format!("{name} has connected."),
        ),
        (None, Dialect::V5) => Message::new(Verb::LOGIN, name, Name::SERVER, ""),
    }
}

/// Checks a name the user wants to log in as, the way the server will.
pub fn login_name(s: &str) -> Result<Name, String> {
    if let Some(why) = refuse_name(s) {
        return Err(format!("cannot log in as {s:?}: {why}"));
    }
    name(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(line: &str) -> Command {
        parse(line)
            .unwrap_or_else(|e| panic!("{line:?}: {e}"))
            .unwrap_or_else(|| panic!("{line:?} is blank"))
    }

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn blank_lines_are_nothing() {
        assert_eq!(parse(""), Ok(None));
        assert_eq!(parse("   \t "), Ok(None));
    }

    #[test]
    fn seed_habits() {
        assert_eq!(p("all:hello"), Command::Broadcast("hello".into()));
        assert_eq!(
            p("ALL: hello there "),
            Command::Broadcast("hello there".into())
        );
        assert_eq!(
            p("bob:hi: how are you"),
            Command::Private {
                to: "bob".into(),
                text: "hi: how are you".into()
            }
        );
        assert_eq!(p("who"), Command::Who);
        assert_eq!(p("WHO"), Command::Who);
        assert_eq!(p("bye"), Command::Quit);
        assert_eq!(p("quit"), Command::Quit);
        assert_eq!(parse("all:"), Err(CommandError::Empty("all:")));
        assert_eq!(parse("bob:  "), Err(CommandError::Empty("<name>:")));
    }

    #[test]
    fn plain_text_goes_to_the_rooms() {
        assert_eq!(p("hello world"), Command::Rooms("hello world".into()));
        // Not private messages: a prefix with a space, a URL, a leading colon.
        assert_eq!(
            p("note to self: x"),
            Command::Rooms("note to self: x".into())
        );
        assert_eq!(
            p("see https://example.com"),
            Command::Rooms("see https://example.com".into())
        );
        assert_eq!(
            p("https://example.com"),
            Command::Rooms("https://example.com".into())
        );
        assert_eq!(p(":)"), Command::Rooms(":)".into()));
        assert_eq!(p("//shrug"), Command::Rooms("/shrug".into()));
        assert_eq!(p("who is there"), Command::Rooms("who is there".into()));
    }

    #[test]
    fn slash_commands() {
        assert_eq!(p("/?"), Command::Help);
        assert_eq!(p("/help"), Command::Help);
        assert_eq!(p("/HELP"), Command::Help);
        assert_eq!(p("/create dev"), Command::Create("dev".into()));
        assert_eq!(p("/join dev ops"), Command::Join(s(&["dev", "ops"])));
        assert_eq!(
            p("/join dev,ops, qa"),
            Command::Join(s(&["dev", "ops", "qa"]))
        );
        assert_eq!(p("/leave dev"), Command::Leave(s(&["dev"])));
        assert_eq!(p("/list"), Command::List);
        assert_eq!(p("/users"), Command::Who);
        assert_eq!(p("/who"), Command::Who);
        assert_eq!(p("/users dev"), Command::Members("dev".into()));
        assert_eq!(
            p("/w bob  hi  there"),
            Command::Private {
                to: "bob".into(),
                text: "hi  there".into()
            }
        );
        assert_eq!(
            p("/chat bob"),
            Command::Invite {
                to: "bob".into(),
                greeting: String::new()
            }
        );
        assert_eq!(
            p("/chat bob got a minute?"),
            Command::Invite {
                to: "bob".into(),
                greeting: "got a minute?".into()
            }
        );
        assert_eq!(p("/accept bob"), Command::Accept("bob".into()));
        assert_eq!(
            p("/decline bob busy"),
            Command::Decline {
                to: "bob".into(),
                reason: "busy".into()
            }
        );
        assert_eq!(p("/end"), Command::End);
        assert_eq!(p("/history"), Command::History(None));
        assert_eq!(p("/history 20"), Command::History(Some(20)));
        assert_eq!(
            p("/register s3cret pw"),
            Command::Register("s3cret pw".into())
        );
        assert_eq!(
            p("/login ann pw"),
            Command::Login {
                name: "ann".into(),
                password: "pw".into()
            }
        );
        for quit in ["/quit", "/disconnect", "/bye"] {
            assert_eq!(p(quit), Command::Quit);
        }
    }

    #[test]
    fn slash_command_mistakes() {
        assert_eq!(
            parse("/frobnicate x"),
            Err(CommandError::Unknown("frobnicate".into()))
        );
        assert!(parse("/frobnicate").unwrap_err().to_string().contains("/?"));
        assert!(matches!(parse("/create"), Err(CommandError::Usage(_))));
        assert!(matches!(parse("/create a b"), Err(CommandError::Usage(_))));
        assert!(matches!(parse("/join"), Err(CommandError::Usage(_))));
        assert!(matches!(parse("/users a b"), Err(CommandError::Usage(_))));
        assert!(matches!(parse("/w"), Err(CommandError::Usage(_))));
        assert_eq!(parse("/w bob"), Err(CommandError::Empty("/w <name>")));
        assert!(matches!(parse("/accept"), Err(CommandError::Usage(_))));
        assert_eq!(
            parse("/history lots"),
            Err(CommandError::NotANumber("lots".into()))
        );
        assert!(matches!(parse("/register"), Err(CommandError::Usage(_))));
        assert!(matches!(parse("/login ann"), Err(CommandError::Usage(_))));
    }

    #[test]
    fn say_to_rooms() {
        let say = |rooms: &[&str], text: &str| Command::Say {
            rooms: s(rooms),
            text: text.into(),
        };
        assert_eq!(p("/s dev hello there"), say(&["dev"], "hello there"));
        assert_eq!(p("/s dev,ops hello"), say(&["dev", "ops"], "hello"));
        assert_eq!(p("/s dev, ops hello"), say(&["dev", "ops"], "hello"));
        assert_eq!(p("/s dev ,ops hello"), say(&["dev", "ops"], "hello"));
        assert_eq!(p("/s dev,ops,qa  a, b"), say(&["dev", "ops", "qa"], "a, b"));
        assert!(matches!(parse("/s"), Err(CommandError::Usage(_))));
        assert_eq!(parse("/s dev"), Err(CommandError::Empty("/s <rooms>")));
        assert_eq!(parse("/s dev,"), Err(CommandError::Empty("/s <rooms>")));
    }

    #[test]
    fn legacy_commands() {
        for ok in [
            "all:x", "bob:x", "who", "bye", "/w bob x", "/users", "/quit", "/?",
        ] {
            assert!(p(ok).works_in_legacy(), "{ok}");
        }
        for not in [
            "x", "/s a x", "/join a", "/list", "/users a", "/chat b", "/history", "/end",
        ] {
            assert!(!p(not).works_in_legacy(), "{not}");
        }
    }

    #[test]
    fn requests_v5() {
        let ann = Name::new("ann").unwrap();
        let req = |line: &str| p(line).requests(ann, Dialect::V5, Some("bob")).unwrap();
        let one = |line: &str| {
            let mut messages = req(line);
            assert_eq!(messages.len(), 1, "{line}");
            let m = messages.remove(0);
            assert_eq!(m.from, ann);
            assert!(!m.encrypted);
            (m.verb, m.to.to_string(), m.text)
        };
        assert_eq!(one("all:hi"), (Verb::BROADCAST, "ALL".into(), "hi".into()));
        assert_eq!(
            one("bob:hi"),
            (Verb::PRIVATE_MESSAGE, "bob".into(), "hi".into())
        );
        // In a one-to-one chat (with bob here), plain text goes to the partner; otherwise to the rooms.
        assert_eq!(
            one("hi"),
            (Verb::PRIVATE_MESSAGE, "bob".into(), "hi".into())
        );
        let alone = p("hi").requests(ann, Dialect::V5, None).unwrap();
        assert_eq!(
            (alone[0].verb, alone[0].to.as_str()),
            (Verb::ROOM_MESSAGE, "")
        );
        assert_eq!(one("who"), (Verb::WHO, "server".into(), String::new()));
        assert_eq!(
            one("/users dev"),
            (Verb::ROOM_MEMBERS, "dev".into(), String::new())
        );
        assert_eq!(
            one("/list"),
            (Verb::ROOM_LIST, "server".into(), String::new())
        );
        assert_eq!(
            one("/create dev"),
            (Verb::ROOM_CREATE, "dev".into(), String::new())
        );
        assert_eq!(
            one("/chat bob yo"),
            (Verb::CHAT_INVITE, "bob".into(), "yo".into())
        );
        assert_eq!(
            one("/accept bob"),
            (Verb::CHAT_ACCEPT, "bob".into(), String::new())
        );
        assert_eq!(
            one("/decline bob no"),
            (Verb::CHAT_DECLINE, "bob".into(), "no".into())
        );
        assert_eq!(one("/end"), (Verb::CHAT_END, "bob".into(), String::new()));
        assert_eq!(
            one("/history"),
            (Verb::HISTORY_REQUEST, "server".into(), String::new())
        );
        assert_eq!(
            one("/history 7"),
            (Verb::HISTORY_REQUEST, "server".into(), "7".into())
        );
        assert_eq!(one("/?"), (Verb::HELP, "server".into(), String::new()));
        assert_eq!(
            one("bye"),
            (Verb::QUIT, "ALL".into(), "ann has disconnected.".into())
        );
        let joins = req("/join a b c");
        assert_eq!(joins.len(), 3);
        assert!(joins.iter().all(|m| m.verb == Verb::ROOM_JOIN));
        assert_eq!(joins[2].to.as_str(), "c");
        let says = req("/s a,b hello");
        assert_eq!(says.len(), 2);
        assert!(says
            .iter()
            .all(|m| m.verb == Verb::ROOM_MESSAGE && m.text == "hello"));
        assert_eq!(says[1].to.as_str(), "b");
    }

    #[test]
    fn requests_that_cannot_be_sent() {
        let ann = Name::new("ann").unwrap();
        let err = |line: &str| p(line).requests(ann, Dialect::V5, None).unwrap_err();
        assert!(err("/end").contains("not in a one-to-one chat"));
        assert!(err(&format!("{}:hi", "x".repeat(33))).contains("cannot be a name"));
        assert!(err("/create ALL").contains("reserved"));
        assert!(err("/register pw").contains("--register"));
        assert!(err("/login bob pw").contains("--password"));
    }

    #[test]
    fn requests_v4() {
        let ann = Name::new("ann").unwrap();
        let who = p("who").requests(ann, Dialect::Legacy, None).unwrap();
        assert_eq!(who[0].to, Name::ALL);
        assert!(p("/?")
            .requests(ann, Dialect::Legacy, None)
            .unwrap()
            .is_empty());
    }

    #[test]
    fn logging_in() {
        let ann = Name::new("ann").unwrap();
        let m = login(ann, Dialect::V5, None, false);
        assert_eq!(
            (m.verb, m.to, m.text.as_str()),
            (Verb::LOGIN, Name::SERVER, "")
        );
        let m = login(ann, Dialect::Legacy, None, false);
        assert_eq!(
            (m.verb, m.to, m.text.as_str()),
            (Verb::LOGIN, Name::ALL, "ann has connected.")
        );
        let m = login(ann, Dialect::V5, Some("pw"), false);
        assert_eq!(
            (m.verb, m.to, m.text.as_str()),
            (Verb::AUTH, Name::SERVER, "pw")
        );
        let m = login(ann, Dialect::V5, Some("pw"), true);
        assert_eq!(m.verb, Verb::REGISTER);
        assert!(login_name("ann").is_ok());
        assert!(login_name("server").is_err());
        assert!(login_name("a,b").is_err());
        assert!(login_name("").is_err());
    }

    #[test]
    fn help_mentions_every_command() {
        for word in [
            "all:",
            "<name>:",
            "who",
            "/create",
            "/join",
            "/leave",
            "/list",
            "/users",
            "/s ",
            "/w ",
            "/chat",
            "/accept",
            "/decline",
            "/end",
            "/history",
            "/register",
            "/login",
            "/?",
            "/help",
            "/quit",
            "/disconnect",
            "bye",
            "//",
        ] {
            assert!(HELP.contains(word), "HELP does not mention {word}");
        }
    }
}
