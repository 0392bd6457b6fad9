//! [`Packet`], the owned and always-valid model of one frame.

use super::dialect::Dialect;
use super::error::{DecodeError, Field, ValidationError};
use super::field::{Name, Text};
use super::flags::Flags;
use super::verb::Verb;
use super::view::PacketView;

/// One frame's worth of protocol: who, to whom, what, and the text.
///
/// A `Packet` is valid for its dialect by construction, so encoding it cannot fail and decoding what it
/// encodes gives it back. It lives entirely inline (about 340 bytes) and never allocates. The checksum is
/// not stored: encoding computes it and decoding verifies it.
///
/// ```
/// use chatproto::{Dialect, Name, Packet, Text, Verb};
///
/// let packet = Packet::new(
///     Dialect::V5,
///     Verb::BROADCAST,
///     Name::new("alice")?,
///     Name::ALL,
///     Text::new("hello, everyone")?,
/// )?
/// .with_number(1);
///
/// let frame = packet.encode();
/// assert_eq!(frame.len(), 337);
/// assert_eq!(Packet::decode(&frame)?, packet);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct Packet {
    dialect: Dialect,
    number: u32,
    verb: Verb,
    flags: Flags,
    from: Name,
    to: Name,
    text: Text,
}

impl Packet {
    /// A packet with packet number 0 and no flags.
    ///
    /// Fails if a field holds a NUL the dialect does not allow: none in v5 (R-3.8), none in names in v4
    /// (R-3.5).
    pub fn new(
        dialect: Dialect,
        verb: Verb,
        from: Name,
        to: Name,
        text: Text,
    ) -> Result<Packet, ValidationError> {
        for (name, field) in [(&from, Field::FromName), (&to, Field::ToName)] {
            if name.contains_nul() {
                return Err(ValidationError::ContainsNul { field });
            }
        }
        if dialect == Dialect::V5 && text.contains_nul() {
            return Err(ValidationError::ContainsNul { field: Field::Text });
        }
        Ok(Packet {
            dialect,
            number: 0,
            verb,
            flags: Flags::NONE,
            from,
            to,
            text,
        })
    }

    /// This packet with another packet number.
    #[must_use]
    pub fn with_number(mut self, number: u32) -> Packet {
        self.number = number;
        self
    }

    /// This packet with other flags. v4 knows only [`Flags::ENCRYPTED`] (R-3.3).
    pub fn with_flags(mut self, flags: Flags) -> Result<Packet, ValidationError> {
        if self.dialect == Dialect::Legacy && flags.has_more_fragments() {
            return Err(ValidationError::FlagsNotInDialect {
                flags: flags.bits(),
                dialect: self.dialect,
            });
        }
        self.flags = flags;
        Ok(self)
    }

    /// This packet with other text, checked as [`Packet::new`] checks it.
    pub fn with_text(mut self, text: Text) -> Result<Packet, ValidationError> {
        if self.dialect == Dialect::V5 && text.contains_nul() {
            return Err(ValidationError::ContainsNul { field: Field::Text });
        }
        self.text = text;
        Ok(self)
    }

    /// Decodes and verifies one 337-byte frame. See [`PacketView::decode`] for the checks.
    pub fn decode(frame: &[u8]) -> Result<Packet, DecodeError> {
        PacketView::decode(frame).map(|view| view.to_packet())
    }

    /// Built from a decoded view, whose checks already hold.
    pub(crate) fn from_view(view: &PacketView<'_>) -> Packet {
        Packet {
            dialect: view.dialect(),
            number: view.number(),
            verb: view.verb(),
            flags: view.flags(),
            // The decoder checked that each field is its content followed only by NULs, so the wire bytes
            // are already the padded form: one copy each.
            from: Name::from_padded(view.padded_from(), view.from().len()),
            to: Name::from_padded(view.padded_to(), view.to().len()),
            text: Text::from_padded(view.padded_text(), view.text().len()),
        }
    }

    /// Which dialect the packet is in.
    pub fn dialect(&self) -> Dialect {
        self.dialect
    }

    /// `packet_number`.
    pub fn number(&self) -> u32 {
        self.number
    }

    /// `verb`.
    pub fn verb(&self) -> Verb {
        self.verb
    }

    /// `flags`.
    pub fn flags(&self) -> Flags {
        self.flags
    }

    /// `from_name`.
    pub fn from(&self) -> &Name {
        &self.from
    }

    /// `to_name`.
    pub fn to(&self) -> &Name {
        &self.to
    }

    /// `text`, as on the wire (still enciphered if the encrypted flag is set).
    pub fn text(&self) -> &Text {
        &self.text
    }

    /// Mutable text for the cipher, which keeps every invariant (it maps no byte to or from NUL).
    pub(crate) fn text_mut(&mut self) -> &mut Text {
        &mut self.text
    }
}
