//! How incoming messages look: [`render`] turns one [`Message`] into the lines the client prints.
//!
//! Every line starts with a marker, so that scripts can grep them:
//!
//! | marker | meaning | example |
//! | --- | --- | --- |
//! | `[all]` | a broadcast | `[all] ann: hello` |
//! | `[x → y]` | a private message | `[ann → you] hi`, `[you → bob] hi` |
//! | `[#room]` | a room message | `[#General] ann: hi` |
//! | `[history HH:MM:SS]` | a message from the history | `[history 09:15:02] [all] ann: hi` |
//! | `*` | a notice or an answer | `* bob has connected.`, `* joined dev` |
//! | two spaces | an entry of the list above it | `  bob  available` |
//! | `!` | an error | `! error: no user carl` |
//! | `✓` | the server has your message | `✓ sent 09:15:02 (#4)` |
//! | `✓✓` | the recipient has it | `✓✓ received by bob at 09:15:03 (#4)` |
//!
//! A message sent with the encrypted flag ends in ` (obfuscated)`; its text is already deciphered by the
//! session. Times are UTC (there is no time zone database in the client).

use std::time::{SystemTime, UNIX_EPOCH};

use chatproto::{Dialect, Message, Name, Verb};

/// Milliseconds since the Unix epoch, now.
pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// `HH:MM:SS`, UTC, of a time in milliseconds since the Unix epoch.
pub fn clock(ms: u64) -> String {
    let seconds = (ms / 1000) % 86_400;
    format!(
        "{:02}:{:02}:{:02}",
        seconds / 3600,
        seconds / 60 % 60,
        seconds % 60
    )
}

/// Text made safe to print: interior NULs are nothing, other control characters (a terminal
/// escape sequence, say) are shown as `�`, and each further line is indented so that the first line of
/// every message stays recognisable.
pub fn clean(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\0' | '\r' => {}
            '\n' => out.push_str("\n  "),
            '\t' => out.push(' '),
            c if c.is_control() => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
    out
}

/// `server is shutting down: <reason>`, without saying it twice when the reason says it already.
pub fn shutdown(reason: &str) -> String {
    let reason = clean(reason.trim());
    if reason.is_empty() {
        "server is shutting down".into()
    } else if reason
        .to_ascii_lowercase()
        .starts_with("server is shutting down")
    {
        reason
    } else {
        format!("server is shutting down: {reason}")
    }
}

/// What [`render`] needs to know besides the message.
#[derive(Clone, Copy, Debug, Default)]
pub struct Context<'a> {
    /// The user's own name, shown as `you`.
    pub me: &'a str,
    /// The room of the `/users <room>` request a ROOM_MEMBERS reply answers, when known.
    pub members_of: Option<&'a str>,
}

/// `✓ sent HH:MM:SS (#n)`: the server confirmed the message whose last packet was `n` (no number in v4).
pub fn sent(number: Option<u32>, at_ms: u64) -> String {
    match number {
        Some(n) => format!("\u{2713} sent {} (#{n})", clock(at_ms)),
        None => format!("\u{2713} sent {}", clock(at_ms)),
    }
}

/// The lines that show `message`.
pub fn render(message: &Message, cx: &Context<'_>) -> Vec<String> {
    let mut lines = lines(message, cx);
    if message.encrypted && !message.text.is_empty() {
        if let Some(first) = lines.first_mut() {
            first.push_str(" (obfuscated)");
        }
    }
    lines
}

fn from_server(message: &Message) -> bool {
    message.from == Name::SERVER
}

/// A heading and one indented line per entry; `empty` when there are none.
fn list<'a>(heading: String, entries: impl Iterator<Item = &'a str>, empty: &str) -> Vec<String> {
    let mut lines = vec![heading];
    lines.extend(
        entries
            .map(|e| clean(e).trim().to_owned())
            .filter(|e| !e.is_empty())
            .map(|e| format!("  {e}")),
    );
    if lines.len() == 1 {
        lines[0].push(' ');
        lines[0].push_str(empty);
    }
    lines
}

/// `* <text>`, or `* <fallback>` when the text is empty.
fn notice(text: &str, fallback: impl FnOnce() -> String) -> Vec<String> {
    if text.is_empty() {
        vec![format!("* {}", fallback())]
    } else {
        vec![format!("* {}", clean(text))]
    }
}

/// `: <text>` when there is text.
fn suffix(text: &str) -> String {
    if text.is_empty() {
        String::new()
    } else {
        format!(": {}", clean(text))
    }
}

fn lines(message: &Message, cx: &Context<'_>) -> Vec<String> {
    let from = clean(message.from.as_str());
    let to = clean(message.to.as_str());
    let text = message.text.as_str();
    match message.verb {
        Verb::ERROR => vec![format!("! error: {}", clean(text))],
        Verb::BROADCAST => vec![format!("[all] {from}: {}", clean(text))],
        Verb::PRIVATE_MESSAGE => {
            let from = if from == cx.me { "you" } else { &from };
            let to = if to == cx.me { "you" } else { &to };
            vec![format!("[{from} \u{2192} {to}] {}", clean(text))]
        }
        Verb::ROOM_MESSAGE => vec![format!("[#{to}] {from}: {}", clean(text))],
        Verb::LOGIN => vec![format!("* {from} has connected.")],
        Verb::QUIT => vec![format!("* {from} has disconnected.")],
        Verb::SHUTDOWN => vec![format!("! {}", shutdown(text))],
        Verb::WHO if message.dialect == Dialect::Legacy => {
            // The original server pads each name with NULs before joining them.
            let names = text.replace('\0', "");
            list("* who is online:".into(), names.split(','), "nobody")
        }
        Verb::WHO => {
            let entries = text.lines().map(|l| l.replacen('\t', "  ", 1));
            let entries: Vec<String> = entries.collect();
            list(
                "* who is online:".into(),
                entries.iter().map(String::as_str),
                "nobody",
            )
        }
        Verb::ROOM_LIST => list("* rooms:".into(), text.lines(), "none"),
        Verb::ROOM_MEMBERS => {
            let heading = match cx.members_of {
                Some(room) => format!("* members of #{}:", clean(room)),
                None => "* members:".into(),
            };
            list(heading, text.lines(), "nobody")
        }
        Verb::HELP => list("* server help:".into(), text.lines(), "(empty)"),
        Verb::ROOM_CREATE | Verb::ROOM_JOIN | Verb::ROOM_LEAVE | Verb::REGISTER => {
            notice(text, || {
                format!("{} {to}: done", message.verb.name().unwrap_or_default())
            })
        }
        Verb::CHAT_INVITE => {
            let greeting = if text.is_empty() {
                String::new()
            } else {
                format!(" ({from} says: {})", clean(text))
            };
            vec![format!(
                "* {from} invites you to chat: /accept {from} or /decline {from}{greeting}"
            )]
        }
        Verb::CHAT_ACCEPT if from_server(message) => notice(text, || "you are chatting".into()),
        Verb::CHAT_ACCEPT => vec![format!(
            "* {from} accepted your invitation: you are chatting with {from}"
        )],
        Verb::CHAT_DECLINE => vec![format!("* {from} declined your invitation{}", suffix(text))],
        Verb::CHAT_END if from_server(message) => notice(text, || "the chat has ended".into()),
        Verb::CHAT_END => vec![format!("* {from} ended the chat{}", suffix(text))],
        Verb::DELIVERED => {
            let mut words = text.split_whitespace();
            let number = words.next().and_then(|n| n.parse::<u32>().ok());
            let at = words.next().and_then(|ms| ms.parse::<u64>().ok());
            match (number, at) {
                (Some(n), Some(at)) => vec![format!(
                    "\u{2713}\u{2713} received by {from} at {} (#{n})",
                    clock(at)
                )],
                _ => vec![format!("\u{2713}\u{2713} received by {from}")],
            }
        }
        Verb::HISTORY_REPLY => history(message, cx),
        verb => vec![format!("* {verb:?} from {from} to {to}{}", suffix(text))],
    }
}

/// A HISTORY_REPLY: `<ms> <VERB> <text>` shown as the message it recalls, or the closing
/// `end <count>` from `server`.
fn history(message: &Message, cx: &Context<'_>) -> Vec<String> {
    let text = message.text.as_str();
    if from_server(message) {
        if let Some(count) = text.strip_prefix("end ") {
            return vec![format!(
                "* end of history ({} messages)",
                clean(count.trim())
            )];
        }
    }
    let (at, rest) = text.split_once(' ').unwrap_or((text, ""));
    let Ok(at) = at.parse::<u64>() else {
        return vec![format!("[history] {}", clean(text))];
    };
    // The table in §4 shows `<ms> <message>` without the verb name: tolerate that too.
    let (verb, body) = match rest.split_once(' ').unwrap_or((rest, "")) {
        (name, body) if Verb::ALL.iter().any(|v| v.name() == Some(name)) => {
            let verb = Verb::ALL
                .iter()
                .copied()
                .find(|v| v.name() == Some(name))
                .unwrap_or(Verb::BROADCAST);
            (verb, body)
        }
        _ if message.to == Name::ALL => (Verb::BROADCAST, rest),
        _ => (Verb::PRIVATE_MESSAGE, rest),
    };
    let recalled = Message {
        verb,
        text: body.to_owned(),
        ..message.clone()
    };
    let mut lines = lines(&recalled, cx);
    if let Some(first) = lines.first_mut() {
        *first = format!("[history {}] {first}", clock(at));
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msg(verb: Verb, from: &str, to: &str, text: &str) -> Message {
        Message::new(
            verb,
            Name::legacy(from).unwrap(),
            Name::legacy(to).unwrap(),
            text,
        )
    }

    fn show(message: &Message) -> Vec<String> {
        render(
            message,
            &Context {
                me: "ann",
                members_of: None,
            },
        )
    }

    fn one(verb: Verb, from: &str, to: &str, text: &str) -> String {
        let lines = show(&msg(verb, from, to, text));
        assert_eq!(lines.len(), 1, "{lines:?}");
        lines.into_iter().next().unwrap()
    }

    #[test]
    fn clocks_are_utc() {
        assert_eq!(clock(0), "00:00:00");
        // 2023-11-14 22:13:20 UTC
        assert_eq!(clock(1_700_000_000_000), "22:13:20");
        assert_eq!(clock(1_700_000_000_999), "22:13:20");
        assert_eq!(
            sent(Some(4), 1_700_000_000_000),
            "\u{2713} sent 22:13:20 (#4)"
        );
        assert_eq!(sent(None, 0), "\u{2713} sent 00:00:00");
    }

    #[test]
    fn chat_messages() {
        assert_eq!(one(Verb::BROADCAST, "bob", "ALL", "hi"), "[all] bob: hi");
        assert_eq!(
            one(Verb::PRIVATE_MESSAGE, "bob", "ann", "hi"),
            "[bob \u{2192} you] hi"
        );
        assert_eq!(
            one(Verb::PRIVATE_MESSAGE, "ann", "bob", "hi"),
            "[you \u{2192} bob] hi"
        );
        assert_eq!(
            one(Verb::ROOM_MESSAGE, "bob", "dev", "hi"),
            "[#dev] bob: hi"
        );
        let mut secret = msg(Verb::BROADCAST, "bob", "ALL", "hi");
        secret.encrypted = true;
        assert_eq!(show(&secret), vec!["[all] bob: hi (obfuscated)"]);
    }

    #[test]
    fn text_is_made_safe() {
        assert_eq!(
            one(Verb::BROADCAST, "bob", "ALL", "a\u{1b}[2Jb"),
            "[all] bob: a\u{FFFD}[2Jb"
        );
        assert_eq!(
            show(&msg(Verb::BROADCAST, "bob", "ALL", "one\ntwo")),
            vec!["[all] bob: one\n  two"]
        );
        assert_eq!(clean("a\0\0b\r\t"), "ab ");
    }

    #[test]
    fn notices() {
        assert_eq!(
            one(Verb::LOGIN, "bob", "ALL", "bob has connected."),
            "* bob has connected."
        );
        assert_eq!(one(Verb::QUIT, "bob", "ALL", ""), "* bob has disconnected.");
        assert_eq!(
            one(Verb::ERROR, "server", "ann", "no user carl"),
            "! error: no user carl"
        );
        assert_eq!(
            one(Verb::SHUTDOWN, "server", "ALL", "stopping"),
            "! server is shutting down: stopping"
        );
        assert_eq!(
            one(Verb::ROOM_JOIN, "server", "ann", "joined dev"),
            "* joined dev"
        );
        assert_eq!(
            one(Verb::ROOM_CREATE, "server", "ann", ""),
            "* ROOM_CREATE ann: done"
        );
        assert_eq!(
            one(Verb::REGISTER, "server", "ann", "registered ann"),
            "* registered ann"
        );
    }

    #[test]
    fn shutdown_reasons() {
        assert_eq!(
            shutdown("maintenance"),
            "server is shutting down: maintenance"
        );
        assert_eq!(
            shutdown("server is shutting down"),
            "server is shutting down"
        );
        assert_eq!(shutdown(""), "server is shutting down");
    }

    #[test]
    fn who_lists() {
        assert_eq!(
            show(&msg(
                Verb::WHO,
                "server",
                "ann",
                "ann\tavailable\nbob\tchatting with carl\ndan\toffline"
            )),
            vec![
                "* who is online:",
                "  ann  available",
                "  bob  chatting with carl",
                "  dan  offline"
            ]
        );
        // v4: NUL-padded names joined by ", ".
        let mut legacy = msg(Verb::WHO, "server", "ann", "alice\0\0\0, bob");
        legacy.dialect = Dialect::Legacy;
        assert_eq!(show(&legacy), vec!["* who is online:", "  alice", "  bob"]);
        assert_eq!(
            show(&msg(Verb::WHO, "server", "ann", "")),
            vec!["* who is online: nobody"]
        );
    }

    #[test]
    fn room_lists() {
        assert_eq!(
            show(&msg(Verb::ROOM_LIST, "server", "ann", "General\ndev")),
            vec!["* rooms:", "  General", "  dev"]
        );
        let members = msg(Verb::ROOM_MEMBERS, "server", "ann", "ann\nbob");
        assert_eq!(show(&members), vec!["* members:", "  ann", "  bob"]);
        let cx = Context {
            me: "ann",
            members_of: Some("dev"),
        };
        assert_eq!(render(&members, &cx)[0], "* members of #dev:");
        assert_eq!(
            show(&msg(Verb::HELP, "server", "ann", "all:<text>  x\n/quit  y")),
            vec!["* server help:", "  all:<text>  x", "  /quit  y"]
        );
    }

    #[test]
    fn one_to_one_chats() {
        assert_eq!(
            one(Verb::CHAT_INVITE, "bob", "ann", ""),
            "* bob invites you to chat: /accept bob or /decline bob"
        );
        assert_eq!(
            one(Verb::CHAT_INVITE, "bob", "ann", "hey"),
            "* bob invites you to chat: /accept bob or /decline bob (bob says: hey)"
        );
        assert_eq!(
            one(Verb::CHAT_ACCEPT, "bob", "ann", ""),
            "* bob accepted your invitation: you are chatting with bob"
        );
        assert_eq!(
            one(Verb::CHAT_ACCEPT, "server", "ann", "chatting with bob"),
            "* chatting with bob"
        );
        assert_eq!(
            one(Verb::CHAT_DECLINE, "bob", "ann", "busy"),
            "* bob declined your invitation: busy"
        );
        assert_eq!(
            one(Verb::CHAT_END, "bob", "ann", ""),
            "* bob ended the chat"
        );
        assert_eq!(
            one(Verb::CHAT_END, "server", "ann", "chat with bob ended"),
            "* chat with bob ended"
        );
    }

    #[test]
    fn receipts() {
        assert_eq!(
            one(Verb::DELIVERED, "bob", "ann", "7 1700000000000"),
            "\u{2713}\u{2713} received by bob at 22:13:20 (#7)"
        );
        assert_eq!(
            one(Verb::DELIVERED, "bob", "ann", "junk"),
            "\u{2713}\u{2713} received by bob"
        );
    }

    #[test]
    fn history() {
        assert_eq!(
            one(
                Verb::HISTORY_REPLY,
                "bob",
                "ALL",
                "1700000000000 BROADCAST hi there"
            ),
            "[history 22:13:20] [all] bob: hi there"
        );
        assert_eq!(
            one(
                Verb::HISTORY_REPLY,
                "bob",
                "dev",
                "1700000000000 ROOM_MESSAGE hi"
            ),
            "[history 22:13:20] [#dev] bob: hi"
        );
        assert_eq!(
            one(
                Verb::HISTORY_REPLY,
                "ann",
                "bob",
                "1700000000000 PRIVATE_MESSAGE hi"
            ),
            "[history 22:13:20] [you \u{2192} bob] hi"
        );
        // Without the verb name, as the table in §4 shows it.
        assert_eq!(
            one(Verb::HISTORY_REPLY, "bob", "ALL", "1700000000000 hi"),
            "[history 22:13:20] [all] bob: hi"
        );
        assert_eq!(
            one(Verb::HISTORY_REPLY, "server", "ann", "end 3"),
            "* end of history (3 messages)"
        );
        assert_eq!(
            one(Verb::HISTORY_REPLY, "bob", "ann", "garbled"),
            "[history] garbled"
        );
    }
}
