//! The two dialects of the protocol, told apart by the frame's `version` field (PROTOCOL.md §3).

use std::fmt;

/// Which set of rules a frame follows. The `version` field on the wire selects it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub enum Dialect {
    /// Version 4: byte-compatible with the original application. Code-point-sum checksum, no sequence
    /// numbers, no fragmentation, interior NULs kept in text (R-3.2 … ).
    Legacy,
    /// Version 5: CRC-32 over the whole frame, canonical padding, sequence numbers, fragmentation
    /// (R-3.7 … ). The default.
    #[default]
    V5,
}

impl Dialect {
    /// The value of the `version` field for this dialect.
    pub const fn version(self) -> u32 {
        match self {
            Dialect::Legacy => 4,
            Dialect::V5 => 5,
        }
    }

    /// The dialect a `version` field selects, or `None` for a version this crate does not speak.
    pub const fn from_version(version: u32) -> Option<Dialect> {
        match version {
            4 => Some(Dialect::Legacy),
            5 => Some(Dialect::V5),
            _ => None,
        }
    }
}

impl fmt::Display for Dialect {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Dialect::Legacy => f.write_str("v4 (legacy)"),
            Dialect::V5 => f.write_str("v5"),
        }
    }
}
