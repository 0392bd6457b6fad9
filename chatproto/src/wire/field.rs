//! The fixed-width string fields: `from_name`, `to_name` (32 bytes) and `text` (256 bytes).
//!
//! They are stored inline, NUL-padded exactly as on the wire, so a [`Packet`](crate::Packet) never touches
//! the heap and encoding a field is one copy of its whole width.

use std::fmt;

use super::error::{Field, ValidationError};
use super::layout::{NAME_LEN, TEXT_LEN};

/// UTF-8 text of at most `N` bytes, kept NUL-padded to `N` bytes.
///
/// Two constructors decide what may be inside: [`FixedStr::new`] refuses every NUL, which is what v5
/// requires (R-3.8); [`FixedStr::legacy`] keeps interior NULs, which v4 peers send (R-3.5). Neither
/// accepts a trailing NUL, because on the wire it would be indistinguishable from padding.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FixedStr<const N: usize> {
    // Invariant: bytes[..len] is UTF-8 not ending in NUL; bytes[len..] are all NUL.
    len: u16,
    bytes: [u8; N],
}

/// A user, room or `ALL` name: UTF-8, at most 32 bytes.
///
/// ```
/// use chatproto::Name;
/// let alice = Name::new("alice")?;
/// assert_eq!(alice.as_str(), "alice");
/// assert!(Name::new("a name that is far longer than thirty-two bytes").is_err());
/// # Ok::<(), chatproto::ValidationError>(())
/// ```
pub type Name = FixedStr<NAME_LEN>;

/// The text of one packet: UTF-8, at most 256 bytes. Longer messages are fragmented (see
/// [`crate::fragment`]).
///
/// ```
/// use chatproto::Text;
/// let text = Text::new("hello")?;
/// assert_eq!(text.as_str(), "hello");
/// assert_eq!(text.len(), 5);
/// # Ok::<(), chatproto::ValidationError>(())
/// ```
pub type Text = FixedStr<TEXT_LEN>;

impl<const N: usize> FixedStr<N> {
    /// The empty string.
    pub const EMPTY: FixedStr<N> = FixedStr {
        len: 0,
        bytes: [0; N],
    };

    /// The field's width on the wire.
    pub const CAPACITY: usize = N;

    /// A field holding `s`, which must fit in `N` bytes and contain no NUL.
    pub fn new(s: &str) -> Result<Self, ValidationError> {
        if s.as_bytes().contains(&0) {
            return Err(ValidationError::ContainsNul {
                field: Self::field(),
            });
        }
        Self::legacy(s)
    }

    /// A field holding `s`, which must fit in `N` bytes and not end in NUL; interior NULs are kept, as the
    /// legacy dialect requires (R-3.5).
    pub fn legacy(s: &str) -> Result<Self, ValidationError> {
        let len = s.len();
        if len > N {
            return Err(ValidationError::TooLong {
                field: Self::field(),
                len,
                max: N,
            });
        }
        if s.as_bytes().last() == Some(&0) {
            return Err(ValidationError::TrailingNul {
                field: Self::field(),
            });
        }
        let mut bytes = [0; N];
        bytes[..len].copy_from_slice(s.as_bytes());
        Ok(FixedStr {
            len: len as u16,
            bytes,
        })
    }

    /// The content.
    pub fn as_str(&self) -> &str {
        // The invariant makes this always Ok; the fallback only keeps the crate free of `unsafe`.
        std::str::from_utf8(self.as_bytes()).unwrap_or_default()
    }

    /// The content as bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes[..self.len as usize]
    }

    /// The whole field as it goes on the wire, padding included.
    pub fn padded(&self) -> &[u8; N] {
        &self.bytes
    }

    /// The content's length in bytes.
    pub fn len(&self) -> usize {
        self.len as usize
    }

    /// Whether the content is empty.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Whether the content holds a NUL (possible only through [`FixedStr::legacy`]).
    pub fn contains_nul(&self) -> bool {
        self.as_bytes().contains(&0)
    }

    /// Builds the field from its padded wire bytes, already checked by the decoder: `padded[..len]` is
    /// UTF-8 not ending in NUL and every byte after it is NUL. One copy of the whole width.
    pub(crate) fn from_padded(padded: &[u8; N], len: usize) -> Self {
        FixedStr {
            len: len as u16,
            bytes: *padded,
        }
    }

    /// Applies a byte map that keeps UTF-8 valid and never produces NUL from non-NUL (the cipher).
    pub(crate) fn map_bytes(&mut self, f: impl Fn(u8) -> u8) {
        for b in &mut self.bytes[..self.len as usize] {
            *b = f(*b);
        }
    }

    const fn field() -> Field {
        if N == NAME_LEN {
            Field::Name
        } else {
            Field::Text
        }
    }
}

impl Name {
    /// `ALL`, the `to_name` of broadcasts and notices (R-4.4).
    pub const ALL: Name = Self::fixed(b"ALL");
    /// `server`, the `from_name` the server uses for its own packets (R-4.4).
    pub const SERVER: Name = Self::fixed(b"server");

    const fn fixed(s: &[u8]) -> Name {
        let mut bytes = [0; NAME_LEN];
        let mut i = 0;
        while i < s.len() {
            bytes[i] = s[i];
            i += 1;
        }
        FixedStr {
            len: s.len() as u16,
            bytes,
        }
    }
}

impl<const N: usize> Default for FixedStr<N> {
    fn default() -> Self {
        Self::EMPTY
    }
}

impl<const N: usize> fmt::Debug for FixedStr<N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

impl<const N: usize> fmt::Display for FixedStr<N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl<const N: usize> AsRef<str> for FixedStr<N> {
    fn as_ref(&self) -> &str {
        self.as_str()
    }
}

impl<const N: usize> TryFrom<&str> for FixedStr<N> {
    type Error = ValidationError;
    fn try_from(s: &str) -> Result<Self, ValidationError> {
        Self::new(s)
    }
}

impl<const N: usize> PartialEq<str> for FixedStr<N> {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

impl<const N: usize> PartialEq<&str> for FixedStr<N> {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}
