//! Splitting a message into packets (PROTOCOL.md R-6.1, R-6.2).

use crate::cipher;
use crate::wire::{layout::TEXT_LEN, Dialect, Field, Flags, Packet, Text, ValidationError};

/// An iterator over the packets that carry one message. Each has the template's dialect, verb, names and
/// encrypted flag; its text is the next piece of the message, enciphered if the flag is set. Allocates
/// nothing.
///
/// In v5 every packet but the last has [`Flags::MORE_FRAGMENTS`] (R-6.1). A v4 peer cannot reassemble, so
/// in v4 each piece goes as a whole message of its own (R-6.4).
///
/// ```
/// use chatproto::{Dialect, Fragments, Name, Packet, Text, Verb};
///
/// let template = Packet::new(Dialect::V5, Verb::BROADCAST, Name::new("ann")?, Name::ALL, Text::EMPTY)?;
/// let long = "é".repeat(200); // 400 bytes
/// let packets: Vec<Packet> = Fragments::new(template, &long)?.collect();
/// assert_eq!(packets.len(), 2);
/// assert!(packets[0].flags().has_more_fragments());
/// assert_eq!(packets[0].text().len(), 256);
/// assert!(!packets[1].flags().has_more_fragments());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug)]
pub struct Fragments<'a> {
    template: Packet,
    rest: &'a str,
    done: bool,
}

impl<'a> Fragments<'a> {
    /// The packets for `message`, built on `template` (whose text and more-fragments flag are ignored).
    /// In v5 a message holding NUL is refused (R-3.8). In v4 interior NULs are text (R-3.5), but a piece
    /// may not end in one, because on the wire it would read as padding.
    pub fn new(template: Packet, message: &'a str) -> Result<Fragments<'a>, ValidationError> {
        if message.as_bytes().contains(&0) {
            if template.dialect() == Dialect::V5 {
                return Err(ValidationError::ContainsNul { field: Field::Text });
            }
            let mut rest = message;
            loop {
                let (piece, after) = rest.split_at(split_point(rest));
                if piece.as_bytes().last() == Some(&0) {
                    return Err(ValidationError::TrailingNul { field: Field::Text });
                }
                if after.is_empty() {
                    break;
                }
                rest = after;
            }
        }
        Ok(Fragments {
            template,
            rest: message,
            done: false,
        })
    }

    /// How many packets are left.
    pub fn remaining(&self) -> usize {
        if self.done {
            return 0;
        }
        let mut rest = self.rest;
        let mut count = 1;
        while rest.len() > TEXT_LEN {
            rest = &rest[split_point(rest)..];
            count += 1;
        }
        count
    }
}

/// The largest char boundary at most `TEXT_LEN` bytes in (R-6.1: never inside a character).
fn split_point(s: &str) -> usize {
    if s.len() <= TEXT_LEN {
        return s.len();
    }
    let mut at = TEXT_LEN;
    while !s.is_char_boundary(at) {
        at -= 1;
    }
    at
}

impl Iterator for Fragments<'_> {
    type Item = Packet;

    fn next(&mut self) -> Option<Packet> {
        if self.done {
            return None;
        }
        let at = split_point(self.rest);
        let (piece, rest) = self.rest.split_at(at);
        self.rest = rest;
        self.done = rest.is_empty();
        let more = !self.done && self.template.dialect() == Dialect::V5;
        let encrypted = self.template.flags().is_encrypted();
        // The piece fits, and holds no NUL that this dialect cannot carry (checked in `new`), so these
        // cannot fail.
        let text = Text::legacy(piece).ok()?;
        let flags = Flags::NONE.with(Flags::MORE_FRAGMENTS, more);
        let mut packet = self.template.with_flags(flags).ok()?.with_text(text).ok()?;
        if encrypted {
            packet = cipher::encrypt(packet);
        }
        Some(packet)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let n = self.remaining();
        (n, Some(n))
    }
}

impl ExactSizeIterator for Fragments<'_> {}
