//! Parsing the text of one vector file (format: `vectors/README.md`).

use std::collections::HashMap;

use super::error::{ParseError, ParseErrorKind};
use super::model::{
    CipherVector, ErrorClass, Expectation, ExpectedError, ExpectedPacket, FieldName, Origin,
    Vector, VectorFile,
};
use super::{hex, json_string};

/// Parses the text of one vector file. `file` names it in [`Origin`]s and errors.
///
/// Vector names must be unique within the text; [`load_dir`](super::load_dir) also checks across files.
///
/// ```
/// use conformance::vectors::{parse_str, Expectation};
/// let file = parse_str("# a comment\nname: cipher/hello\nplain: 68656c6c6f\nenciphered: 757279797c\n", "x.txt")?;
/// assert_eq!(file.ciphers[0].enciphered, b"uryy|");
/// # Ok::<(), conformance::vectors::ParseError>(())
/// ```
pub fn parse_str(text: &str, file: &str) -> Result<VectorFile, ParseError> {
    let mut out = VectorFile {
        file: file.to_owned(),
        ..VectorFile::default()
    };
    let mut names = HashMap::new();
    let mut record: Option<Record<'_>> = None;
    for (index, raw) in text.lines().enumerate() {
        let line = index + 1;
        if raw.starts_with('#') {
            continue;
        }
        if raw.trim().is_empty() {
            if let Some(done) = record.take() {
                done.finish_into(&mut out, &mut names)?;
            }
            continue;
        }
        let at = |kind| ParseError {
            origin: Origin {
                file: file.to_owned(),
                line,
            },
            kind,
        };
        let (key, value) = raw
            .split_once(':')
            .ok_or_else(|| at(ParseErrorKind::NotKeyValue(raw.to_owned())))?;
        let (key, value) = (key.trim(), value.trim());
        let current = record.get_or_insert_with(|| Record {
            file,
            start: line,
            entries: Vec::new(),
        });
        if let Some(first) = current.entries.iter().find(|entry| entry.key == key) {
            return Err(at(ParseErrorKind::DuplicateKey {
                key: key.to_owned(),
                first_line: first.line,
            }));
        }
        current.entries.push(Entry { key, value, line });
    }
    if let Some(done) = record {
        done.finish_into(&mut out, &mut names)?;
    }
    Ok(out)
}

/// One `key: value` line.
#[derive(Clone, Copy)]
struct Entry<'a> {
    key: &'a str,
    value: &'a str,
    line: usize,
}

/// The lines of one vector, before they are understood.
struct Record<'a> {
    file: &'a str,
    /// The line of its first key.
    start: usize,
    entries: Vec<Entry<'a>>,
}

impl<'a> Record<'a> {
    fn error(&self, line: usize, kind: ParseErrorKind) -> ParseError {
        ParseError {
            origin: Origin {
                file: self.file.to_owned(),
                line,
            },
            kind,
        }
    }

    /// Removes and returns the line with `key`, if any.
    fn take(&mut self, key: &str) -> Option<Entry<'a>> {
        let index = self.entries.iter().position(|entry| entry.key == key)?;
        Some(self.entries.remove(index))
    }

    fn require(&mut self, key: &'static str) -> Result<Entry<'a>, ParseError> {
        self.take(key)
            .ok_or_else(|| self.error(self.start, ParseErrorKind::MissingKey(key)))
    }

    /// Fails on the first line that nothing took.
    fn check_all_used(&self, kind: &'static str) -> Result<(), ParseError> {
        match self.entries.first() {
            Some(entry) => Err(self.error(
                entry.line,
                ParseErrorKind::UnexpectedKey {
                    key: entry.key.to_owned(),
                    kind,
                },
            )),
            None => Ok(()),
        }
    }

    fn hex(&self, entry: Entry<'_>, key: &'static str) -> Result<Vec<u8>, ParseError> {
        hex::decode(entry.value)
            .map_err(|source| self.error(entry.line, ParseErrorKind::BadHex { key, source }))
    }

    fn string(&mut self, key: &'static str) -> Result<String, ParseError> {
        let entry = self.require(key)?;
        self.json(entry, key)
    }

    fn json(&self, entry: Entry<'_>, key: &'static str) -> Result<String, ParseError> {
        json_string::unescape(entry.value)
            .map_err(|source| self.error(entry.line, ParseErrorKind::BadString { key, source }))
    }

    fn number(&mut self, key: &'static str, max: u64) -> Result<u64, ParseError> {
        let entry = self.require(key)?;
        let value = entry.value;
        let parsed = if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) {
            value.parse::<u64>().ok().filter(|&n| n <= max)
        } else {
            None
        };
        parsed.ok_or_else(|| {
            self.error(
                entry.line,
                ParseErrorKind::BadNumber {
                    key,
                    value: value.to_owned(),
                    max,
                },
            )
        })
    }

    /// Understands the record and adds it to `out`, checking its name against `names`.
    fn finish_into(
        mut self,
        out: &mut VectorFile,
        names: &mut HashMap<String, Origin>,
    ) -> Result<(), ParseError> {
        let name_entry = self.require("name")?;
        let name = name_entry.value;
        if name.is_empty() || name.contains(char::is_whitespace) {
            return Err(self.error(name_entry.line, ParseErrorKind::BadName(name.to_owned())));
        }
        if let Some(first) = names.get(name) {
            return Err(self.error(
                name_entry.line,
                ParseErrorKind::DuplicateName {
                    name: name.to_owned(),
                    first: first.clone(),
                },
            ));
        }
        let origin = Origin {
            file: self.file.to_owned(),
            line: name_entry.line,
        };
        names.insert(name.to_owned(), origin.clone());

        if let Some(frame) = self.take("frame") {
            let frame = self.hex(frame, "frame")?;
            let expect = self.expectation()?;
            out.frames.push(Vector {
                name: name.to_owned(),
                frame,
                expect,
                origin,
            });
        } else if let Some(enciphered) = self.take("enciphered") {
            let enciphered = self.hex(enciphered, "enciphered")?;
            let plain = self.require("plain")?;
            let plain = self.hex(plain, "plain")?;
            self.check_all_used("cipher")?;
            out.ciphers.push(CipherVector {
                name: name.to_owned(),
                plain,
                enciphered,
                origin,
            });
        } else {
            return Err(self.error(self.start, ParseErrorKind::UnknownKind));
        }
        Ok(())
    }

    /// The `expect:` line and the lines that go with it.
    fn expectation(&mut self) -> Result<Expectation, ParseError> {
        let entry = self.require("expect")?;
        let bad_expect = || {
            self.error(
                entry.line,
                ParseErrorKind::BadExpect(entry.value.to_owned()),
            )
        };
        if entry.value == "ok" {
            let packet = self.packet()?;
            self.check_all_used("ok frame")?;
            return Ok(Expectation::Ok(packet));
        }
        let class = entry
            .value
            .strip_prefix("error")
            .filter(|rest| rest.starts_with(char::is_whitespace))
            .and_then(|rest| ErrorClass::from_name(rest.trim()))
            .ok_or_else(bad_expect)?;
        let field = match self.take("field") {
            Some(field) => Some(FieldName::from_name(field.value).ok_or_else(|| {
                self.error(field.line, ParseErrorKind::BadField(field.value.to_owned()))
            })?),
            None => None,
        };
        if field.is_some() != class.has_field() {
            return Err(self.error(
                entry.line,
                ParseErrorKind::FieldMismatch {
                    class: class.as_str(),
                    needs_field: class.has_field(),
                },
            ));
        }
        self.check_all_used("error frame")?;
        Ok(Expectation::Error(ExpectedError { class, field }))
    }

    /// The fields of an `expect: ok` vector.
    fn packet(&mut self) -> Result<ExpectedPacket, ParseError> {
        // The casts are in range: `number` checks against the type's maximum.
        let number = self.number("number", u32::MAX.into())? as u32;
        let version = self.number("version", u32::MAX.into())? as u32;
        let checksum = self.number("checksum", u32::MAX.into())? as u32;
        let flags = self.number("flags", u8::MAX.into())? as u8;
        let verb = self.require("verb")?;
        let is_verb_name = !verb.value.is_empty()
            && verb
                .value
                .bytes()
                .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_');
        if !is_verb_name {
            return Err(self.error(verb.line, ParseErrorKind::BadVerb(verb.value.to_owned())));
        }
        let from = self.string("from")?;
        let to = self.string("to")?;
        let text = self.string("text")?;
        let plain = match self.take("plain") {
            Some(entry) if flags & 1 == 0 => {
                return Err(self.error(entry.line, ParseErrorKind::PlainWithoutEncryption))
            }
            Some(entry) => Some(self.json(entry, "plain")?),
            None => None,
        };
        Ok(ExpectedPacket {
            number,
            version,
            verb: verb.value.to_owned(),
            checksum,
            flags,
            from,
            to,
            text,
            plain,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vectors::hex::HexError;
    use crate::vectors::json_string::JsonStringError;

    const OK: &str = "\
# comment before
name: v5/x
frame: 00 01
# comment inside
expect: ok
number: 7
version: 5
verb: BROADCAST
checksum: 4294967295
flags: 3
from: \"al\\u00e9\"
to: \"ALL\"
text: \"uryy|\"
plain: \"hello\"
";

    fn err(text: &str) -> ParseError {
        parse_str(text, "t.txt").expect_err("should not parse")
    }

    /// The error's line and kind.
    fn at(text: &str) -> (usize, ParseErrorKind) {
        let error = err(text);
        assert_eq!(error.origin.file, "t.txt");
        (error.origin.line, error.kind)
    }

    #[test]
    fn parses_an_ok_vector() {
        let file = parse_str(OK, "t.txt").unwrap();
        assert_eq!(file.frames.len(), 1);
        let vector = &file.frames[0];
        assert_eq!(vector.name, "v5/x");
        assert_eq!(vector.frame, [0, 1]);
        assert_eq!(
            vector.origin,
            Origin {
                file: "t.txt".into(),
                line: 2
            }
        );
        assert_eq!(
            vector.expect,
            Expectation::Ok(ExpectedPacket {
                number: 7,
                version: 5,
                verb: "BROADCAST".into(),
                checksum: u32::MAX,
                flags: 3,
                from: "alé".into(),
                to: "ALL".into(),
                text: "uryy|".into(),
                plain: Some("hello".into()),
            })
        );
    }

    #[test]
    fn parses_error_and_cipher_vectors_separated_by_blank_lines() {
        let text = "name: a\nframe:\nexpect: error wrong-length\n\n\n  \nname: b\r\nframe: 00\r\nexpect: error invalid-utf8\r\nfield: to_name\r\n\nname: c\nplain: 68\nenciphered: 75";
        let file = parse_str(text, "t.txt").unwrap();
        assert_eq!(file.len(), 3);
        assert_eq!(file.frames[0].frame, b"");
        let expect = |class, field| Expectation::Error(ExpectedError { class, field });
        assert_eq!(file.frames[0].expect, expect(ErrorClass::WrongLength, None));
        assert_eq!(
            file.frames[1].expect,
            expect(ErrorClass::InvalidUtf8, Some(FieldName::ToName))
        );
        assert_eq!(file.frames[1].origin.line, 7);
        assert_eq!(file.ciphers[0].plain, b"h");
        assert_eq!(file.ciphers[0].enciphered, b"u");
        assert_eq!(file.ciphers[0].origin.line, 12);
    }

    #[test]
    fn an_empty_file_has_no_vectors() {
        assert!(parse_str("", "t.txt").unwrap().is_empty());
        assert!(parse_str("# only\n\n# comments\n", "t.txt")
            .unwrap()
            .is_empty());
    }

    #[test]
    fn reports_file_and_line() {
        let error = err("name: a\nframe: 00\nexpect: maybe\n");
        assert_eq!(
            error.to_string(),
            "t.txt:3: `expect`: \"maybe\" is not `ok` or `error <class>` with a known class"
        );
    }

    #[test]
    fn malformed_lines() {
        assert_eq!(
            at("name: a\njunk\n"),
            (2, ParseErrorKind::NotKeyValue("junk".into()))
        );
        assert_eq!(
            at("name: a\nname: b\n"),
            (
                2,
                ParseErrorKind::DuplicateKey {
                    key: "name".into(),
                    first_line: 1
                }
            )
        );
        assert_eq!(
            at("name: a\nframe: 0g\nexpect: error wrong-length\n"),
            (
                2,
                ParseErrorKind::BadHex {
                    key: "frame",
                    source: HexError::BadDigit { ch: 'g', column: 2 }
                }
            )
        );
        assert_eq!(
            at("frame: 00\nexpect: ok\n"),
            (1, ParseErrorKind::MissingKey("name"))
        );
        assert_eq!(
            at("name: a b\nframe: 00\n"),
            (1, ParseErrorKind::BadName("a b".into()))
        );
        assert_eq!(
            at("\n\nname: a\nplain: 00\n"),
            (3, ParseErrorKind::UnknownKind)
        );
    }

    #[test]
    fn malformed_ok_vectors() {
        let with = |from: &str, to: &str| OK.replacen(from, to, 1);
        assert_eq!(
            at(&with("number: 7\n", "")),
            (2, ParseErrorKind::MissingKey("number"))
        );
        assert_eq!(
            at(&with("flags: 3", "flags: 256")),
            (
                10,
                ParseErrorKind::BadNumber {
                    key: "flags",
                    value: "256".into(),
                    max: 255
                }
            )
        );
        assert_eq!(
            at(&with("number: 7", "number: +7")),
            (
                6,
                ParseErrorKind::BadNumber {
                    key: "number",
                    value: "+7".into(),
                    max: u32::MAX.into()
                }
            )
        );
        assert_eq!(
            at(&with("checksum: 4294967295", "checksum: 4294967296")).1,
            ParseErrorKind::BadNumber {
                key: "checksum",
                value: "4294967296".into(),
                max: u32::MAX.into()
            }
        );
        assert_eq!(
            at(&with("BROADCAST", "broadcast")),
            (8, ParseErrorKind::BadVerb("broadcast".into()))
        );
        assert_eq!(
            at(&with("to: \"ALL\"", "to: ALL")),
            (
                12,
                ParseErrorKind::BadString {
                    key: "to",
                    source: JsonStringError::NotQuoted
                }
            )
        );
        assert_eq!(
            at(&with("flags: 3", "flags: 2")),
            (14, ParseErrorKind::PlainWithoutEncryption)
        );
        assert_eq!(
            at(&with("plain:", "field: text\nplain:")),
            (
                14,
                ParseErrorKind::UnexpectedKey {
                    key: "field".into(),
                    kind: "ok frame"
                }
            )
        );
        assert_eq!(
            at(&with("plain:", "comment: hi\nplain:")),
            (
                14,
                ParseErrorKind::UnexpectedKey {
                    key: "comment".into(),
                    kind: "ok frame"
                }
            )
        );
    }

    #[test]
    fn malformed_error_vectors() {
        let vector =
            |expect: &str, field: &str| format!("name: a\nframe: 00\nexpect: {expect}\n{field}");
        assert_eq!(
            at(&vector("error", "")).1,
            ParseErrorKind::BadExpect("error".into())
        );
        assert_eq!(
            at(&vector("error bogus", "")).1,
            ParseErrorKind::BadExpect("error bogus".into())
        );
        assert_eq!(
            at(&vector("errorwrong-length", "")).1,
            ParseErrorKind::BadExpect("errorwrong-length".into())
        );
        assert_eq!(
            at(&vector("error invalid-utf8", "")),
            (
                3,
                ParseErrorKind::FieldMismatch {
                    class: "invalid-utf8",
                    needs_field: true
                }
            )
        );
        assert_eq!(
            at(&vector("error unknown-verb", "field: text")),
            (
                3,
                ParseErrorKind::FieldMismatch {
                    class: "unknown-verb",
                    needs_field: false
                }
            )
        );
        assert_eq!(
            at(&vector("error non-canonical-padding", "field: body")),
            (4, ParseErrorKind::BadField("body".into()))
        );
        assert_eq!(
            at(&vector("error unknown-verb", "number: 1")),
            (
                4,
                ParseErrorKind::UnexpectedKey {
                    key: "number".into(),
                    kind: "error frame"
                }
            )
        );
        assert_eq!(
            at("name: a\nframe: 00\nexpect: error wrong-length\nenciphered: 00\n"),
            (
                4,
                ParseErrorKind::UnexpectedKey {
                    key: "enciphered".into(),
                    kind: "error frame"
                }
            )
        );
    }

    #[test]
    fn malformed_cipher_vectors() {
        assert_eq!(
            at("name: c\nenciphered: 00\n"),
            (1, ParseErrorKind::MissingKey("plain"))
        );
        assert_eq!(
            at("name: c\nenciphered: 00\nplain: 00\nverb: X\n"),
            (
                4,
                ParseErrorKind::UnexpectedKey {
                    key: "verb".into(),
                    kind: "cipher"
                }
            )
        );
        assert_eq!(
            at("name: c\nenciphered: 0\nplain: 00\n"),
            (
                2,
                ParseErrorKind::BadHex {
                    key: "enciphered",
                    source: HexError::OddDigits(1)
                }
            )
        );
    }

    #[test]
    fn names_are_unique_within_a_file() {
        let text = "name: a\nplain: 00\nenciphered: 00\n\nname: a\nplain: 01\nenciphered: 01\n";
        assert_eq!(
            at(text),
            (
                5,
                ParseErrorKind::DuplicateName {
                    name: "a".into(),
                    first: Origin {
                        file: "t.txt".into(),
                        line: 1
                    }
                }
            )
        );
    }
}
