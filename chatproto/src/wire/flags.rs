//! The one-byte `flags` field (PROTOCOL.md §3, R-3.3 and R-3.9).

use std::fmt;

/// The `flags` byte: bit 0 = encrypted (the original boolean), bit 1 = more fragments follow (v5 only).
///
/// ```
/// use chatproto::Flags;
/// let flags = Flags::ENCRYPTED | Flags::MORE_FRAGMENTS;
/// assert_eq!(flags.bits(), 0b11);
/// assert!(flags.is_encrypted());
/// assert_eq!(Flags::from_bits(0b100), None); // reserved bits are refused
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Flags(u8);

impl Flags {
    /// No flags.
    pub const NONE: Flags = Flags(0);
    /// Bit 0: the text is enciphered (see [`crate::cipher`]).
    pub const ENCRYPTED: Flags = Flags(0b01);
    /// Bit 1: more fragments of this message follow (v5 only, R-3.9).
    pub const MORE_FRAGMENTS: Flags = Flags(0b10);
    /// Every bit PROTOCOL.md assigns. The rest MUST be 0 (R-3.9).
    pub const DEFINED: Flags = Flags(0b11);

    /// Flags from a byte, or `None` when a reserved bit is set.
    pub const fn from_bits(bits: u8) -> Option<Flags> {
        if bits & !Self::DEFINED.0 == 0 {
            Some(Flags(bits))
        } else {
            None
        }
    }

    /// The byte on the wire.
    pub const fn bits(self) -> u8 {
        self.0
    }

    /// Whether every bit of `other` is set.
    pub const fn contains(self, other: Flags) -> bool {
        self.0 & other.0 == other.0
    }

    /// Whether the text is enciphered.
    pub const fn is_encrypted(self) -> bool {
        self.contains(Self::ENCRYPTED)
    }

    /// Whether more fragments follow.
    pub const fn has_more_fragments(self) -> bool {
        self.contains(Self::MORE_FRAGMENTS)
    }

    /// These flags with `other` set or cleared.
    #[must_use]
    pub const fn with(self, other: Flags, on: bool) -> Flags {
        if on {
            Flags(self.0 | other.0)
        } else {
            Flags(self.0 & !other.0)
        }
    }
}

impl std::ops::BitOr for Flags {
    type Output = Flags;
    fn bitor(self, rhs: Flags) -> Flags {
        Flags(self.0 | rhs.0)
    }
}

impl fmt::Debug for Flags {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut names = Vec::new();
        if self.is_encrypted() {
            names.push("ENCRYPTED");
        }
        if self.has_more_fragments() {
            names.push("MORE_FRAGMENTS");
        }
        if names.is_empty() {
            f.write_str("Flags(NONE)")
        } else {
            write!(f, "Flags({})", names.join(" | "))
        }
    }
}
