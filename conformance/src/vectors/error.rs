//! What can be wrong with a vector file.

use std::path::PathBuf;

use super::hex::HexError;
use super::json_string::JsonStringError;
use super::model::Origin;

/// A malformed vector file: where, and what is wrong there.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{origin}: {kind}")]
pub struct ParseError {
    /// The file and line at fault. For something missing from a vector, the vector's first line.
    pub origin: Origin,
    /// What is wrong.
    pub kind: ParseErrorKind,
}

/// What is wrong with a line or vector of a vector file.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ParseErrorKind {
    /// A line that is not a comment, not blank and has no `:`.
    #[error("expected `key: value`, found {0:?}")]
    NotKeyValue(String),
    /// A key given twice in one vector.
    #[error("`{key}` appears twice in one vector (first on line {first_line})")]
    DuplicateKey {
        /// The key.
        key: String,
        /// The line of its first appearance.
        first_line: usize,
    },
    /// A key that the vector's kind does not use (or that no vector uses).
    #[error("unexpected key `{key}` in a {kind} vector")]
    UnexpectedKey {
        /// The key.
        key: String,
        /// `frame`, `ok frame`, `error frame` or `cipher`.
        kind: &'static str,
    },
    /// A key the vector needs is missing.
    #[error("missing `{0}:` line")]
    MissingKey(&'static str),
    /// A `name:` that is empty or holds whitespace.
    #[error("invalid vector name {0:?} (must be non-empty, without whitespace)")]
    BadName(String),
    /// A `name:` used before.
    #[error("vector name `{name}` is already used at {first}")]
    DuplicateName {
        /// The name.
        name: String,
        /// Where it was first used.
        first: Origin,
    },
    /// A hex value that is not hex.
    #[error("`{key}`: {source}")]
    BadHex {
        /// The key.
        key: &'static str,
        /// What is wrong with it.
        source: HexError,
    },
    /// A JSON string value that is not a JSON string literal.
    #[error("`{key}`: {source}")]
    BadString {
        /// The key.
        key: &'static str,
        /// What is wrong with it.
        source: JsonStringError,
    },
    /// A number that is not a decimal integer in range.
    #[error("`{key}`: {value:?} is not a decimal integer from 0 to {max}")]
    BadNumber {
        /// The key.
        key: &'static str,
        /// The value as written.
        value: String,
        /// The largest allowed.
        max: u64,
    },
    /// A `verb:` that is not an upper-case name.
    #[error("`verb`: {0:?} is not a verb name (upper-case letters and '_')")]
    BadVerb(String),
    /// An `expect:` that is neither `ok` nor `error <class>` with a known class.
    #[error("`expect`: {0:?} is not `ok` or `error <class>` with a known class")]
    BadExpect(String),
    /// A `field:` that is not `from_name`, `to_name` or `text`.
    #[error("`field`: {0:?} is not from_name, to_name or text")]
    BadField(String),
    /// `field:` missing for a class that needs it, or given for one that does not.
    #[error("error class `{class}` {}", if *.needs_field { "needs a `field:` line" } else { "takes no `field:` line" })]
    FieldMismatch {
        /// The class, as in the files.
        class: &'static str,
        /// Whether the class needs a field.
        needs_field: bool,
    },
    /// `plain:` on a packet whose flags do not say encrypted.
    #[error("`plain` is only for packets with the encrypted flag (bit 0) set")]
    PlainWithoutEncryption,
    /// A record with neither `frame:` nor `enciphered:`.
    #[error("a vector needs a `frame:` or an `enciphered:` line")]
    UnknownKind,
}

/// Why the vector files could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// A file or directory could not be read.
    #[error("reading {}: {source}", path.display())]
    Io {
        /// The path.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// A file is malformed.
    #[error(transparent)]
    Parse(#[from] ParseError),
}
