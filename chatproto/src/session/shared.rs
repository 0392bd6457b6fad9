//! [`SharedMessage`]: one message on its way to many sessions, cut into frames and encoded once per
//! dialect.

use std::fmt;
use std::sync::{Arc, OnceLock};

use crate::fragment::{Fragments, Message};
use crate::wire::{Dialect, Packet, Text, ValidationError};
use crate::FRAME_LEN;

/// A message relayed to many sessions (a broadcast, a room message). Its frames are built the first time
/// a session of each dialect needs them, with packet number 0, and kept; every session then only copies
/// them and writes in its own numbers (R-3.10). Relaying it to a thousand sessions fragments, enciphers and
/// encodes it once, not a thousand times, and allocates nothing per session.
///
/// [`Session::send_shared`](super::Session::send_shared) sends it, and
/// [`Transport::send_shared`](crate::transport::Transport::send_shared) carries it to a session's task.
///
/// ```
/// use std::sync::Arc;
/// use std::time::Instant;
/// use chatproto::session::{Confirmations, Role, Session, SessionConfig, SharedMessage};
/// use chatproto::{Dialect, Message, Name, Packet, Verb};
///
/// let hello = Message::new(Verb::BROADCAST, Name::new("ann")?, Name::ALL, "hello");
/// let shared = Arc::new(SharedMessage::new(hello));
/// let now = Instant::now();
/// for _ in 0..3 {
///     let mut session = Session::new(Role::Server, Some(Dialect::V5), SessionConfig::default(), now);
///     let number = session.send_shared(&shared, Confirmations::Report)?;
///     let frame = session.poll_transmit(now).expect("a frame to send");
///     assert_eq!(Packet::decode(&frame)?.number(), number);
/// }
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct SharedMessage {
    message: Arc<Message>,
    v5: OnceLock<Encoded>,
    legacy: OnceLock<Encoded>,
}

/// A message's frames in one dialect, or why it cannot be put into frames. Shared: a session keeps a
/// reference to them until the peer has confirmed them, not a copy.
type Encoded = Result<Frames, ValidationError>;

/// The frames of a message, in order.
pub(super) type Frames = Arc<[[u8; FRAME_LEN]]>;

impl SharedMessage {
    /// Wraps a message; nothing is encoded until a session needs it.
    pub fn new(message: impl Into<Arc<Message>>) -> SharedMessage {
        SharedMessage {
            message: message.into(),
            v5: OnceLock::new(),
            legacy: OnceLock::new(),
        }
    }

    /// The message.
    pub fn message(&self) -> &Arc<Message> {
        &self.message
    }

    /// Its frames in `dialect`, in order, encoded on first use: v5 frames carry packet number 0 for each
    /// session to replace; v4 frames carry 1, as every v4 packet does (R-3.4), and go
    /// out as they are.
    pub fn frames(&self, dialect: Dialect) -> Result<&[[u8; FRAME_LEN]], ValidationError> {
        self.shared_frames(dialect).map(|frames| &frames[..])
    }

    /// [`SharedMessage::frames`], as the reference a session keeps.
    pub(super) fn shared_frames(&self, dialect: Dialect) -> Result<&Frames, ValidationError> {
        let cell = match dialect {
            Dialect::V5 => &self.v5,
            Dialect::Legacy => &self.legacy,
        };
        match cell.get_or_init(|| encode(&self.message, dialect)) {
            Ok(frames) => Ok(frames),
            Err(error) => Err(error.clone()),
        }
    }
}

impl fmt::Debug for SharedMessage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The frames are the message again, 337 bytes each: not worth printing.
        f.debug_tuple("SharedMessage").field(&self.message).finish()
    }
}

impl From<Message> for SharedMessage {
    fn from(message: Message) -> SharedMessage {
        SharedMessage::new(message)
    }
}

/// `message` as the frames a session of `dialect` sends, built exactly as [`Session::send`] builds them.
///
/// [`Session::send`]: super::Session::send
fn encode(message: &Message, dialect: Dialect) -> Encoded {
    let template = Packet::new(dialect, message.verb, message.from, message.to, Text::EMPTY)?;
    let template = if message.encrypted {
        crate::cipher::encrypt(template)
    } else {
        template
    };
    let number = match dialect {
        Dialect::V5 => 0,
        // R-3.4: old peers always send 1.
        Dialect::Legacy => 1,
    };
    let fragments = Fragments::new(template, &message.text)?;
    Ok(fragments
        .map(|packet| packet.with_number(number).encode())
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::session::renumber::numbered;
    use crate::wire::{Name, Verb};

    fn message(text: &str) -> Message {
        Message::new(Verb::BROADCAST, Name::new("ann").unwrap(), Name::ALL, text)
    }

    #[test]
    fn numbering_a_frame_is_encoding_it_with_that_number() {
        let long = "é".repeat(300);
        let mut encrypted = message("secret");
        encrypted.encrypted = true;
        for message in [message("hi"), message(&long), encrypted] {
            let shared = SharedMessage::new(message.clone());
            let frames = shared.frames(Dialect::V5).unwrap();
            let template = Packet::new(
                Dialect::V5,
                message.verb,
                message.from,
                message.to,
                Text::EMPTY,
            )
            .unwrap();
            let template = if message.encrypted {
                crate::cipher::encrypt(template)
            } else {
                template
            };
            let expected: Vec<Packet> = Fragments::new(template, &message.text).unwrap().collect();
            assert_eq!(frames.len(), expected.len());
            for (frame, packet) in frames.iter().zip(&expected) {
                for number in [1, 2, 0x0102_0304, u32::MAX] {
                    assert_eq!(numbered(frame, number), packet.with_number(number).encode());
                }
            }
        }
    }

    #[test]
    fn legacy_frames_carry_one() {
        let shared = SharedMessage::new(message("hi"));
        let frames = shared.frames(Dialect::Legacy).unwrap();
        assert_eq!(frames.len(), 1);
        let packet = Packet::decode(&frames[0]).unwrap();
        assert_eq!((packet.dialect(), packet.number()), (Dialect::Legacy, 1));
    }

    #[test]
    fn a_message_no_frame_can_carry_is_refused_every_time() {
        let shared = SharedMessage::new(message("nul \0 inside"));
        assert!(shared.frames(Dialect::V5).is_err());
        assert!(shared.frames(Dialect::V5).is_err());
    }
}
