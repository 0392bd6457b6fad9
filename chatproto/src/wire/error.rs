//! Errors of the wire layer: decoding a frame ([`DecodeError`]) and building a packet ([`ValidationError`]).

use std::borrow::Cow;
use std::fmt;

use super::dialect::Dialect;
use super::layout::NAME_LEN;
use super::verb::Verb;

/// Which string field an error is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Field {
    /// The `from_name` field of a frame.
    FromName,
    /// The `to_name` field of a frame.
    ToName,
    /// A name not yet placed in a frame.
    Name,
    /// The `text` field.
    Text,
}

impl fmt::Display for Field {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Field::FromName => "from_name",
            Field::ToName => "to_name",
            Field::Name => "name",
            Field::Text => "text",
        })
    }
}

/// The fixed header fields of a frame that failed to decode, read as raw as they came, so that the receiver
/// can still answer it: RESEND for a checksum mismatch, ERROR for the rest.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Header {
    /// `packet_number`, as received.
    pub number: u32,
    /// `version`, as received.
    pub version: u32,
    /// `verb`, as received (possibly unknown).
    pub verb: Verb,
    /// `from_name`, raw.
    pub from: [u8; NAME_LEN],
    /// `to_name`, raw.
    pub to: [u8; NAME_LEN],
}

impl Header {
    /// The dialect the version selects, if any.
    pub fn dialect(&self) -> Option<Dialect> {
        Dialect::from_version(self.version)
    }

    /// `from_name` up to its first NUL, with bad UTF-8 replaced: for logs and error messages only.
    pub fn from_lossy(&self) -> Cow<'_, str> {
        lossy(&self.from)
    }

    /// `to_name` up to its first NUL, with bad UTF-8 replaced: for logs and error messages only.
    pub fn to_lossy(&self) -> Cow<'_, str> {
        lossy(&self.to)
    }
}

fn lossy(raw: &[u8]) -> Cow<'_, str> {
    let end = raw.iter().position(|&b| b == 0).unwrap_or(raw.len());
    String::from_utf8_lossy(&raw[..end])
}

impl fmt::Debug for Header {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Header")
            .field("number", &self.number)
            .field("version", &self.version)
            .field("verb", &self.verb)
            .field("from", &self.from_lossy())
            .field("to", &self.to_lossy())
            .finish()
    }
}

impl fmt::Display for Header {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "packet {} (version {}, {}) from {:?} to {:?}",
            self.number,
            self.version,
            self.verb,
            self.from_lossy(),
            self.to_lossy()
        )
    }
}

/// Why a frame could not be decoded. Every variant but [`DecodeError::WrongLength`] carries the
/// [`Header`] that was read, so the receiver can answer the frame.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// A frame is exactly 337 bytes; this input was not.
    #[error("a frame is 337 bytes, got {len}")]
    WrongLength {
        /// How many bytes were given.
        len: usize,
    },
    /// The version is neither 4 nor 5.
    #[error("unsupported version {} in {header}", header.version)]
    UnsupportedVersion {
        /// The header read.
        header: Header,
    },
    /// The checksum does not match the frame: answer RESEND.
    #[error("checksum mismatch in {header}: computed {computed:#010x}, received {received:#010x}")]
    ChecksumMismatch {
        /// The header read (not trustworthy, since the frame is damaged).
        header: Header,
        /// The checksum computed over what arrived.
        computed: u32,
        /// The checksum field as received.
        received: u32,
    },
    /// A flag bit the dialect does not define is set.
    #[error("reserved flag bits {flags:#04x} set in {header}")]
    ReservedFlags {
        /// The header read.
        header: Header,
        /// The flags byte as received.
        flags: u8,
    },
    /// A string field is not UTF-8.
    #[error("{field} is not UTF-8 in {header}")]
    InvalidUtf8 {
        /// The header read.
        header: Header,
        /// Which field.
        field: Field,
    },
    /// In v5, a non-NUL byte follows the first NUL of a field.
    #[error("non-NUL byte after padding in {field} at offset {offset} in {header}")]
    NonCanonicalPadding {
        /// The header read.
        header: Header,
        /// Which field.
        field: Field,
        /// Offset of the stray byte within the field.
        offset: usize,
    },
    /// The verb is not assigned by PROTOCOL.md.
    #[error("unknown verb {} in {header}", header.verb.to_u32())]
    UnknownVerb {
        /// The header read.
        header: Header,
    },
}

impl DecodeError {
    /// The header read from the failed frame, if it was long enough to have one.
    pub fn header(&self) -> Option<&Header> {
        match self {
            DecodeError::WrongLength { .. } => None,
            DecodeError::UnsupportedVersion { header }
            | DecodeError::ChecksumMismatch { header, .. }
            | DecodeError::ReservedFlags { header, .. }
            | DecodeError::InvalidUtf8 { header, .. }
            | DecodeError::NonCanonicalPadding { header, .. }
            | DecodeError::UnknownVerb { header } => Some(header),
        }
    }

    /// Whether the right answer is RESEND (the frame was damaged in transit) rather than ERROR.
    pub fn wants_resend(&self) -> bool {
        matches!(self, DecodeError::ChecksumMismatch { .. })
    }
}

/// Why a packet or one of its fields could not be built.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ValidationError {
    /// The content does not fit the field.
    #[error("{field} is {len} bytes, at most {max} fit")]
    TooLong {
        /// Which field.
        field: Field,
        /// The content's length in bytes.
        len: usize,
        /// The field's width.
        max: usize,
    },
    /// The content holds a NUL, which only the legacy dialect allows, and only inside text.
    #[error("{field} contains a NUL byte")]
    ContainsNul {
        /// Which field.
        field: Field,
    },
    /// The content ends in NUL, which would read back as padding.
    #[error("{field} ends in a NUL byte, which reads back as padding")]
    TrailingNul {
        /// Which field.
        field: Field,
    },
    /// The flags use a bit the dialect does not define.
    #[error("flags {flags:#04x} are not allowed in {dialect}")]
    FlagsNotInDialect {
        /// The flag bits.
        flags: u8,
        /// The packet's dialect.
        dialect: Dialect,
    },
}
