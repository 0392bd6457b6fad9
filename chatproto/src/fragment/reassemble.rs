//! Joining fragments back into messages, within a limit (PROTOCOL.md R-6.3).

use crate::cipher;
use crate::wire::{Dialect, Name, Packet, Verb};

use super::message::Message;

/// The default limit on a reassembled message's text: 64 KiB.
pub const DEFAULT_LIMIT: usize = 64 * 1024;

/// Why a message could not be reassembled. The partial message is discarded; memory stays bounded.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ReassemblyError {
    /// The message grew past the limit (R-6.3). The rest of its fragments are dropped as they come.
    #[error("message from {from} exceeds the reassembly limit of {limit} bytes")]
    TooLong {
        /// The sender.
        from: Name,
        /// The limit in force.
        limit: usize,
    },
    /// A packet of another message arrived before the last fragment of the one in progress (R-6.2). Both
    /// the partial message and the interleaved packet are dropped.
    #[error("{got_verb} from {got_from} interleaved with an unfinished {verb} from {from}")]
    Interleaved {
        /// The verb of the message in progress.
        verb: Verb,
        /// The sender of the message in progress.
        from: Name,
        /// The verb of the packet that broke in.
        got_verb: Verb,
        /// The sender of the packet that broke in.
        got_from: Name,
    },
}

/// The fields every fragment of one message shares (R-6.2).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct MessageKey {
    verb: Verb,
    from: Name,
    to: Name,
    encrypted: bool,
}

impl MessageKey {
    fn of(packet: &Packet) -> MessageKey {
        MessageKey {
            verb: packet.verb(),
            from: *packet.from(),
            to: *packet.to(),
            encrypted: packet.flags().is_encrypted(),
        }
    }
}

/// The message being collected.
#[derive(Debug)]
struct Collecting {
    key: MessageKey,
    text: String,
}

/// Reassembles the packets of one peer, fed in order (the session layer guarantees order).
///
/// ```
/// use chatproto::{Dialect, Fragments, Name, Packet, Reassembler, Text, Verb};
///
/// let template = Packet::new(Dialect::V5, Verb::BROADCAST, Name::new("ann")?, Name::ALL, Text::EMPTY)?;
/// let long = "x".repeat(1000);
/// let mut reassembler = Reassembler::new(64 * 1024);
/// let mut whole = None;
/// for packet in Fragments::new(template, &long)? {
///     whole = reassembler.push(&packet)?;
/// }
/// assert_eq!(whole.unwrap().text, long);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct Reassembler {
    limit: usize,
    collecting: Option<Collecting>,
    /// Messages whose remaining fragments are dropped as they come, because the message broke the limit
    /// or was interleaved. At most two: the interrupted message and the one that interrupted it.
    discarding: [Option<MessageKey>; 2],
}

impl Reassembler {
    /// A reassembler that refuses messages longer than `limit` bytes of text.
    pub fn new(limit: usize) -> Reassembler {
        Reassembler {
            limit,
            collecting: None,
            discarding: [None, None],
        }
    }

    /// The limit in force.
    pub fn limit(&self) -> usize {
        self.limit
    }

    /// Bytes held for the message in progress.
    pub fn buffered(&self) -> usize {
        self.collecting.as_ref().map_or(0, |c| c.text.len())
    }

    /// Feeds the next packet of this peer. Returns the whole message when `packet` completes one.
    pub fn push(&mut self, packet: &Packet) -> Result<Option<Message>, ReassemblyError> {
        let key = MessageKey::of(packet);
        let more = packet.flags().has_more_fragments();
        let piece = packet.text().as_str();
        if let Some(slot) = self.discarding.iter_mut().find(|slot| **slot == Some(key)) {
            // The rest of a message already refused: dropped, and forgotten after its last fragment.
            if !more {
                *slot = None;
            }
            return Ok(None);
        }
        let text = match self.collecting.take() {
            Some(open) if open.key == key => open.text,
            Some(open) => {
                // R-6.2: fragments of one message are consecutive. Whatever is left of both messages
                // is dropped, so neither can be delivered without its head.
                self.discard(open.key);
                if more {
                    self.discard(key);
                }
                return Err(ReassemblyError::Interleaved {
                    verb: open.key.verb,
                    from: open.key.from,
                    got_verb: key.verb,
                    got_from: key.from,
                });
            }
            None => String::new(),
        };
        self.collect(key, more, text, piece, packet)
    }

    fn discard(&mut self, key: MessageKey) {
        match self.discarding.iter_mut().find(|slot| slot.is_none()) {
            Some(slot) => *slot = Some(key),
            None => {
                self.discarding[0] = self.discarding[1];
                self.discarding[1] = Some(key);
            }
        }
    }

    fn collect(
        &mut self,
        key: MessageKey,
        more: bool,
        mut text: String,
        piece: &str,
        packet: &Packet,
    ) -> Result<Option<Message>, ReassemblyError> {
        let (dialect, number) = (packet.dialect(), packet.number());
        // R-6.3: bounded before anything is stored.
        if text.len() + piece.len() > self.limit {
            if more {
                self.discard(key);
            }
            return Err(ReassemblyError::TooLong {
                from: key.from,
                limit: self.limit,
            });
        }
        push_plain(&mut text, piece, key.encrypted);
        if more {
            self.collecting = Some(Collecting { key, text });
            Ok(None)
        } else {
            Ok(Some(message(dialect, key, text, number)))
        }
    }
}

impl Default for Reassembler {
    fn default() -> Reassembler {
        Reassembler::new(DEFAULT_LIMIT)
    }
}

fn message(dialect: Dialect, key: MessageKey, text: String, number: u32) -> Message {
    Message {
        dialect,
        verb: key.verb,
        from: key.from,
        to: key.to,
        encrypted: key.encrypted,
        text,
        number,
    }
}

fn push_plain(text: &mut String, piece: &str, encrypted: bool) {
    if encrypted {
        cipher::decipher_into(text, piece);
    } else {
        text.push_str(piece);
    }
}
