//! The typed content of the vector files: what each vector says.

use std::fmt;

/// Where something was read: a file name and a 1-based line number.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Origin {
    /// The file, as given to the parser (for the bundled files, its name in `vectors/`).
    pub file: String,
    /// The line, counting from 1.
    pub line: usize,
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.file, self.line)
    }
}

/// One frame vector: bytes to decode and what decoding them must give.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Vector {
    /// The unique name, e.g. `v5/broadcast`.
    pub name: String,
    /// The bytes to decode (not always 337 of them: see [`ErrorClass::WrongLength`]).
    pub frame: Vec<u8>,
    /// The outcome decoding must have.
    pub expect: Expectation,
    /// Where the vector starts.
    pub origin: Origin,
}

impl Vector {
    /// The frame's `version` field, if the frame is long enough to hold one.
    pub fn version(&self) -> Option<u32> {
        let bytes = self.frame.get(4..8)?;
        Some(u32::from_le_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]))
    }
}

/// What decoding a frame vector must give.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Expectation {
    /// The frame decodes, to exactly these fields.
    Ok(ExpectedPacket),
    /// The frame is refused, with exactly this error.
    Error(ExpectedError),
}

/// The fields of a frame that decodes, as an `expect: ok` vector gives them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExpectedPacket {
    /// `packet_number`.
    pub number: u32,
    /// `version`.
    pub version: u32,
    /// The verb's name as in PROTOCOL.md table 4.1, e.g. `BROADCAST`.
    pub verb: String,
    /// The `checksum` field.
    pub checksum: u32,
    /// The `flags` byte.
    pub flags: u8,
    /// `from_name` without padding.
    pub from: String,
    /// `to_name` without padding.
    pub to: String,
    /// `text` without padding, as on the wire (enciphered when flag bit 0 is set).
    pub text: String,
    /// The deciphered text, given only for encrypted packets.
    pub plain: Option<String>,
}

/// How decoding must fail, as an `expect: error …` vector gives it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ExpectedError {
    /// The class of error.
    pub class: ErrorClass,
    /// The field at fault: present exactly when [`ErrorClass::has_field`] holds.
    pub field: Option<FieldName>,
}

/// The classes of decoding error a vector can expect, named as in the files.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ErrorClass {
    /// `wrong-length`: the frame is not 337 bytes.
    WrongLength,
    /// `unsupported-version`: the version is neither 4 nor 5.
    UnsupportedVersion,
    /// `checksum-mismatch`: the checksum does not match.
    ChecksumMismatch,
    /// `reserved-flags`: a flag bit the dialect does not define is set.
    ReservedFlags,
    /// `invalid-utf8`: a string field is not UTF-8.
    InvalidUtf8,
    /// `non-canonical-padding`: a non-NUL byte follows the first NUL of a field.
    NonCanonicalPadding,
    /// `unknown-verb`: the verb is not in PROTOCOL.md table 4.1.
    UnknownVerb,
}

impl ErrorClass {
    /// Every class, in the order a decoder checks for them.
    pub const ALL: [ErrorClass; 7] = [
        ErrorClass::WrongLength,
        ErrorClass::UnsupportedVersion,
        ErrorClass::ChecksumMismatch,
        ErrorClass::ReservedFlags,
        ErrorClass::InvalidUtf8,
        ErrorClass::NonCanonicalPadding,
        ErrorClass::UnknownVerb,
    ];

    /// The class's name in the files, e.g. `wrong-length`.
    pub const fn as_str(self) -> &'static str {
        match self {
            ErrorClass::WrongLength => "wrong-length",
            ErrorClass::UnsupportedVersion => "unsupported-version",
            ErrorClass::ChecksumMismatch => "checksum-mismatch",
            ErrorClass::ReservedFlags => "reserved-flags",
            ErrorClass::InvalidUtf8 => "invalid-utf8",
            ErrorClass::NonCanonicalPadding => "non-canonical-padding",
            ErrorClass::UnknownVerb => "unknown-verb",
        }
    }

    /// The class a name in the files stands for.
    pub fn from_name(name: &str) -> Option<ErrorClass> {
        ErrorClass::ALL
            .into_iter()
            .find(|class| class.as_str() == name)
    }

    /// Whether errors of this class name a field (`field:` is then required, and otherwise not allowed).
    pub const fn has_field(self) -> bool {
        matches!(
            self,
            ErrorClass::InvalidUtf8 | ErrorClass::NonCanonicalPadding
        )
    }
}

impl fmt::Display for ErrorClass {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A string field of the frame, named as in the files.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum FieldName {
    /// `from_name`.
    FromName,
    /// `to_name`.
    ToName,
    /// `text`.
    Text,
}

impl FieldName {
    /// Every field, in frame order.
    pub const ALL: [FieldName; 3] = [FieldName::FromName, FieldName::ToName, FieldName::Text];

    /// The field's name in the files, e.g. `from_name`.
    pub const fn as_str(self) -> &'static str {
        match self {
            FieldName::FromName => "from_name",
            FieldName::ToName => "to_name",
            FieldName::Text => "text",
        }
    }

    /// The field a name in the files stands for.
    pub fn from_name(name: &str) -> Option<FieldName> {
        FieldName::ALL
            .into_iter()
            .find(|field| field.as_str() == name)
    }
}

impl fmt::Display for FieldName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One cipher vector: bytes and the same bytes enciphered.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CipherVector {
    /// The unique name, e.g. `cipher/hello`.
    pub name: String,
    /// The plain bytes.
    pub plain: Vec<u8>,
    /// The bytes enciphered.
    pub enciphered: Vec<u8>,
    /// Where the vector starts.
    pub origin: Origin,
}

/// The vectors of one file, in file order.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct VectorFile {
    /// The file's name (for the bundled files, e.g. `v5.txt`).
    pub file: String,
    /// Its frame vectors.
    pub frames: Vec<Vector>,
    /// Its cipher vectors.
    pub ciphers: Vec<CipherVector>,
}

impl VectorFile {
    /// How many vectors of either kind the file holds.
    pub fn len(&self) -> usize {
        self.frames.len() + self.ciphers.len()
    }

    /// Whether the file holds no vector.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The names of all its vectors, each with where it starts, in file order within each kind.
    pub fn names(&self) -> impl Iterator<Item = (&str, &Origin)> {
        let frames = self.frames.iter().map(|v| (v.name.as_str(), &v.origin));
        let ciphers = self.ciphers.iter().map(|v| (v.name.as_str(), &v.origin));
        frames.chain(ciphers)
    }
}
