//! [`PacketView`], a decoded frame that borrows its strings from the input: the zero-copy hot path.

use super::dialect::Dialect;
use super::flags::Flags;
use super::layout::{field, FRAME_LEN, FROM_AT, NAME_LEN, TEXT_AT, TEXT_LEN, TO_AT};
use super::packet::Packet;
use super::verb::Verb;

/// A verified frame whose names and text point into the bytes it was decoded from.
///
/// Decoding into a view copies nothing and allocates nothing; [`PacketView::to_packet`] makes the owned,
/// still heap-free [`Packet`].
///
/// ```
/// use chatproto::{Dialect, Name, Packet, PacketView, Text, Verb};
///
/// let frame = Packet::new(Dialect::V5, Verb::WHO, Name::new("bob")?, Name::SERVER, Text::EMPTY)?.encode();
/// let view = PacketView::decode(&frame)?;
/// assert_eq!(view.verb(), Verb::WHO);
/// assert_eq!(view.from(), "bob");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PacketView<'a> {
    pub(super) frame: &'a [u8; FRAME_LEN],
    pub(super) dialect: Dialect,
    pub(super) number: u32,
    pub(super) verb: Verb,
    pub(super) checksum: u32,
    pub(super) flags: Flags,
    pub(super) from: &'a str,
    pub(super) to: &'a str,
    pub(super) text: &'a str,
}

impl<'a> PacketView<'a> {
    /// The frame this view was decoded from.
    pub fn frame(&self) -> &'a [u8; FRAME_LEN] {
        self.frame
    }

    /// The dialect its version selects.
    pub fn dialect(&self) -> Dialect {
        self.dialect
    }

    /// `packet_number`.
    pub fn number(&self) -> u32 {
        self.number
    }

    /// `verb` (always a known one).
    pub fn verb(&self) -> Verb {
        self.verb
    }

    /// `checksum`, as received and verified.
    pub fn checksum(&self) -> u32 {
        self.checksum
    }

    /// `flags`.
    pub fn flags(&self) -> Flags {
        self.flags
    }

    /// `from_name`, without padding.
    pub fn from(&self) -> &'a str {
        self.from
    }

    /// `to_name`, without padding.
    pub fn to(&self) -> &'a str {
        self.to
    }

    /// `text`, without padding, as on the wire (still enciphered if the encrypted flag is set).
    pub fn text(&self) -> &'a str {
        self.text
    }

    /// The raw `from_name` field, padding included. The decoder checked that it is the content followed
    /// only by NULs, so it is already the padded form a [`crate::Name`] keeps.
    pub(crate) fn padded_from(&self) -> &'a [u8; NAME_LEN] {
        field(self.frame, FROM_AT)
    }

    /// The raw `to_name` field, padding included (see [`PacketView::padded_from`]).
    pub(crate) fn padded_to(&self) -> &'a [u8; NAME_LEN] {
        field(self.frame, TO_AT)
    }

    /// The raw `text` field, padding included: the content (trailing NULs trimmed in v4) then only NULs.
    pub(crate) fn padded_text(&self) -> &'a [u8; TEXT_LEN] {
        field(self.frame, TEXT_AT)
    }

    /// The owned packet.
    pub fn to_packet(&self) -> Packet {
        Packet::from_view(self)
    }
}
