//! [`Message`], one whole message as the application sends and receives it.

use crate::wire::{Dialect, Name, Verb};

/// A whole message: one packet's worth, or several reassembled. The text is plain (deciphered).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Message {
    /// The dialect it arrived in.
    pub dialect: Dialect,
    /// The verb shared by all its packets.
    pub verb: Verb,
    /// `from_name`.
    pub from: Name,
    /// `to_name`.
    pub to: Name,
    /// Whether it was sent with the encrypted flag.
    pub encrypted: bool,
    /// The plain text.
    pub text: String,
}

impl Message {
    /// A plain (not enciphered) message; the dialect is the session's and is filled in on arrival.
    ///
    /// ```
    /// use chatproto::{Message, Name, Verb};
    /// let message = Message::new(Verb::PRIVATE_MESSAGE, Name::new("ann")?, Name::new("bob")?, "hi");
    /// assert_eq!(message.text, "hi");
    /// # Ok::<(), chatproto::ValidationError>(())
    /// ```
    pub fn new(verb: Verb, from: Name, to: Name, text: impl Into<String>) -> Message {
        Message {
            dialect: Dialect::default(),
            verb,
            from,
            to,
            encrypted: false,
            text: text.into(),
        }
    }
}
