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
    /// The packet number of its last packet, as received (v5); 0 for a message built locally and in v4.
    /// A server quotes it in DELIVERED receipts (R-8.12).
    pub number: u32,
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
            number: 0,
        }
    }
}
