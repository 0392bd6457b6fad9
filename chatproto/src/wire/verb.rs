//! The `verb` field: what a packet asks for (PROTOCOL.md §4).
//!
//! Verbs are a newtype over the wire's `u32` with named constants, so a value read from the wire keeps its
//! number even when this crate does not know it, and the one table below is the only place that names them.

use std::fmt;

/// The verb of a packet, as the `u32` on the wire.
///
/// ```
/// use chatproto::Verb;
/// assert_eq!(Verb::BROADCAST.to_u32(), 1);
/// assert_eq!(Verb::from_u32(7), Verb::CONFIRM);
/// assert_eq!(Verb::ROOM_JOIN.name(), Some("ROOM_JOIN"));
/// assert!(!Verb::from_u32(9).is_known());
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Verb(u32);

macro_rules! verbs {
    ($( $(#[$doc:meta])* $name:ident = $value:literal, )*) => {
        impl Verb {
            $( $(#[$doc])* pub const $name: Verb = Verb($value); )*

            /// Every verb this crate knows, in wire order.
            pub const ALL: &'static [Verb] = &[$(Verb::$name),*];

            /// The verb's name as PROTOCOL.md spells it, or `None` if the number is not assigned.
            pub const fn name(self) -> Option<&'static str> {
                match self.0 {
                    $( $value => Some(stringify!($name)), )*
                    _ => None,
                }
            }
        }
    };
}

// PROTOCOL.md §4, table 4.1. Verbs 0–8 are fixed by the legacy dialect; 16 and up are chatproto's own.
verbs! {
    /// 0: something went wrong; `text` says what (R-4.2).
    ERROR = 0,
    /// 1: a message to everyone online; `to_name` is `ALL`.
    BROADCAST = 1,
    /// 2: a message to one user named in `to_name`.
    PRIVATE_MESSAGE = 2,
    /// 3: who is online; the reply's `text` lists them.
    WHO = 3,
    /// 4: log in as `from_name`; relayed as the "has connected" notice.
    LOGIN = 4,
    /// 5: leave; relayed as the "has disconnected" notice.
    QUIT = 5,
    /// 6: the packet referred to arrived damaged; send it again.
    RESEND = 6,
    /// 7: the packet referred to arrived intact.
    CONFIRM = 7,
    /// 8: the server is shutting down.
    SHUTDOWN = 8,
    /// 16: create the room named in `to_name`.
    ROOM_CREATE = 16,
    /// 17: join the room named in `to_name`.
    ROOM_JOIN = 17,
    /// 18: leave the room named in `to_name`.
    ROOM_LEAVE = 18,
    /// 19: list rooms; the reply's `text` lists them.
    ROOM_LIST = 19,
    /// 20: list the members of the room named in `to_name`.
    ROOM_MEMBERS = 20,
    /// 21: a message to the room named in `to_name`.
    ROOM_MESSAGE = 21,
    /// 22: invite the user in `to_name` to a one-to-one chat.
    CHAT_INVITE = 22,
    /// 23: accept the invitation from the user in `to_name`.
    CHAT_ACCEPT = 23,
    /// 24: decline the invitation from the user in `to_name`; `text` may give a reason.
    CHAT_DECLINE = 24,
    /// 25: end the one-to-one chat with the user in `to_name`.
    CHAT_END = 25,
    /// 26: the recipient's client confirmed a message; `text` identifies it and carries the time.
    DELIVERED = 26,
    /// 27: ask for the last N messages the sender may see; `text` is N in decimal.
    HISTORY_REQUEST = 27,
    /// 28: one message of history.
    HISTORY_REPLY = 28,
    /// 29: register `from_name` with the password in `text`.
    REGISTER = 29,
    /// 30: log in as `from_name` with the password in `text`.
    AUTH = 30,
    /// 31: ask for (or reply with) the list of commands.
    HELP = 31,
    /// 32: a keepalive probe; confirmed like any data packet, never shown to the user (R-7.8).
    PING = 32,
}

impl Verb {
    /// The verb for a wire value. Any `u32` is accepted; see [`Verb::is_known`].
    pub const fn from_u32(value: u32) -> Verb {
        Verb(value)
    }

    /// The wire value.
    pub const fn to_u32(self) -> u32 {
        self.0
    }

    /// Whether PROTOCOL.md assigns this number. A decoder refuses frames with unknown verbs (R-4.3).
    pub const fn is_known(self) -> bool {
        self.name().is_some()
    }

    /// Whether this verb belongs to the reliability layer (RESEND, CONFIRM) rather than carrying data.
    /// Control packets are never themselves confirmed (R-3.11).
    pub const fn is_control(self) -> bool {
        matches!(self.0, 6 | 7)
    }
}

impl fmt::Debug for Verb {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(name) => f.write_str(name),
            None => write!(f, "Verb({})", self.0),
        }
    }
}

impl fmt::Display for Verb {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self, f)
    }
}

impl From<Verb> for u32 {
    fn from(verb: Verb) -> u32 {
        verb.0
    }
}
