//! Reading one JSON string literal (RFC 8259 §7), as the `from:`, `to:`, `text:` and `plain:` lines hold.

/// Why a JSON string literal could not be read.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum JsonStringError {
    /// The value does not start with `"`.
    #[error("a JSON string must start with '\"'")]
    NotQuoted,
    /// The closing `"` is missing.
    #[error("the JSON string has no closing '\"'")]
    Unterminated,
    /// Something follows the closing `"`.
    #[error("unexpected {0:?} after the closing '\"'")]
    TrailingCharacters(String),
    /// A raw control character (below U+0020), which JSON requires to be escaped.
    #[error("unescaped control character U+{0:04X}")]
    ControlCharacter(u32),
    /// A backslash followed by a character that is not an escape.
    #[error("unknown escape '\\{0}'")]
    UnknownEscape(char),
    /// `\u` not followed by four hex digits.
    #[error("'\\u' needs four hex digits")]
    BadUnicodeEscape,
    /// A `\uXXXX` surrogate that is not half of a high-then-low pair.
    #[error("unpaired surrogate \\u{0:04x}")]
    UnpairedSurrogate(u32),
}

/// The string a JSON string literal denotes. `literal` is the whole literal, quotes included.
///
/// ```
/// use conformance::vectors::unescape_json_string;
/// assert_eq!(unescape_json_string(r#""a\u0000b""#).unwrap(), "a\0b");
/// assert_eq!(unescape_json_string(r#""\ud83d\ude00""#).unwrap(), "\u{1F600}");
/// ```
pub fn unescape(literal: &str) -> Result<String, JsonStringError> {
    let body = literal
        .strip_prefix('"')
        .ok_or(JsonStringError::NotQuoted)?;
    let mut out = String::with_capacity(body.len());
    let mut chars = body.char_indices();
    while let Some((at, c)) = chars.next() {
        match c {
            '"' => {
                let rest = &body[at + 1..];
                return if rest.is_empty() {
                    Ok(out)
                } else {
                    Err(JsonStringError::TrailingCharacters(rest.to_owned()))
                };
            }
            '\\' => {
                let escape = chars.next().ok_or(JsonStringError::Unterminated)?.1;
                out.push(match escape {
                    '"' => '"',
                    '\\' => '\\',
                    '/' => '/',
                    'b' => '\u{8}',
                    'f' => '\u{c}',
                    'n' => '\n',
                    'r' => '\r',
                    't' => '\t',
                    'u' => unicode_escape(&mut chars)?,
                    other => return Err(JsonStringError::UnknownEscape(other)),
                });
            }
            c if u32::from(c) < 0x20 => {
                return Err(JsonStringError::ControlCharacter(u32::from(c)))
            }
            c => out.push(c),
        }
    }
    Err(JsonStringError::Unterminated)
}

/// The character of a `\uXXXX` escape whose `\u` has been read, reading the second half of a surrogate
/// pair too.
fn unicode_escape(chars: &mut std::str::CharIndices<'_>) -> Result<char, JsonStringError> {
    let first = hex4(chars)?;
    let code = match first {
        0xD800..=0xDBFF => {
            // A high surrogate must be followed at once by `\u` and a low one.
            let backslash = chars.next().map(|(_, c)| c);
            let u = chars.next().map(|(_, c)| c);
            if backslash != Some('\\') || u != Some('u') {
                return Err(JsonStringError::UnpairedSurrogate(first));
            }
            let second = hex4(chars)?;
            if !(0xDC00..=0xDFFF).contains(&second) {
                return Err(JsonStringError::UnpairedSurrogate(first));
            }
            0x10000 + ((first - 0xD800) << 10) + (second - 0xDC00)
        }
        0xDC00..=0xDFFF => return Err(JsonStringError::UnpairedSurrogate(first)),
        _ => first,
    };
    // Every value outside the surrogates, and every combined pair, is a valid char.
    char::from_u32(code).ok_or(JsonStringError::UnpairedSurrogate(first))
}

fn hex4(chars: &mut std::str::CharIndices<'_>) -> Result<u32, JsonStringError> {
    let mut value = 0;
    for _ in 0..4 {
        let digit = chars
            .next()
            .and_then(|(_, c)| c.to_digit(16))
            .ok_or(JsonStringError::BadUnicodeEscape)?;
        value = value * 16 + digit;
    }
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn plain_and_simple_escapes() {
        assert_eq!(unescape(r#""""#).unwrap(), "");
        assert_eq!(unescape(r#""hello""#).unwrap(), "hello");
        assert_eq!(
            unescape(r#""\" \\ \/ \b \f \n \r \t""#).unwrap(),
            "\" \\ / \u{8} \u{c} \n \r \t"
        );
    }

    #[test]
    fn unicode_escapes() {
        assert_eq!(unescape(r#""\u0000""#).unwrap(), "\0");
        assert_eq!(unescape(r#""caf\u00e9 \u00E9""#).unwrap(), "café é");
        assert_eq!(unescape(r#""\u20ac""#).unwrap(), "€");
        // Surrogate pairs, at both ends of their range.
        assert_eq!(unescape(r#""\ud83d\ude00""#).unwrap(), "😀");
        assert_eq!(unescape(r#""\uD800\uDC00""#).unwrap(), "\u{10000}");
        assert_eq!(unescape(r#""\udbff\udfff""#).unwrap(), "\u{10FFFF}");
        // Raw UTF-8 is JSON too.
        assert_eq!(unescape("\"李雷 😀\"").unwrap(), "李雷 😀");
    }

    #[test]
    fn malformed_literals() {
        use JsonStringError::*;
        assert_eq!(unescape("abc"), Err(NotQuoted));
        assert_eq!(unescape(""), Err(NotQuoted));
        assert_eq!(unescape("\"abc"), Err(Unterminated));
        assert_eq!(unescape("\"abc\\"), Err(Unterminated));
        assert_eq!(unescape(r#""\"#), Err(Unterminated));
        assert_eq!(
            unescape(r#""a" b"#),
            Err(TrailingCharacters(" b".to_owned()))
        );
        assert_eq!(unescape(r#""\x41""#), Err(UnknownEscape('x')));
        assert_eq!(unescape(r#""\u12""#), Err(BadUnicodeEscape));
        assert_eq!(unescape(r#""\u12g4""#), Err(BadUnicodeEscape));
        assert_eq!(unescape("\"a\tb\""), Err(ControlCharacter(9)));
        assert_eq!(unescape("\"a\0b\""), Err(ControlCharacter(0)));
    }

    #[test]
    fn unpaired_surrogates() {
        use JsonStringError::UnpairedSurrogate;
        assert_eq!(unescape(r#""\ud83d""#), Err(UnpairedSurrogate(0xd83d)));
        assert_eq!(unescape(r#""\ud83dx""#), Err(UnpairedSurrogate(0xd83d)));
        assert_eq!(unescape(r#""\ud83d\n""#), Err(UnpairedSurrogate(0xd83d)));
        assert_eq!(
            unescape(r#""\ud83d\u0041""#),
            Err(UnpairedSurrogate(0xd83d))
        );
        assert_eq!(unescape(r#""\ude00""#), Err(UnpairedSurrogate(0xde00)));
    }

    /// JSON-escapes `s` the way `generate.py` does (`json.dumps(s, ensure_ascii=True)`).
    fn escape_ascii(s: &str) -> String {
        let mut out = String::from("\"");
        for c in s.chars() {
            match c {
                '"' => out.push_str("\\\""),
                '\\' => out.push_str("\\\\"),
                '\n' => out.push_str("\\n"),
                c if c.is_ascii() && !c.is_ascii_control() => out.push(c),
                c => {
                    let mut units = [0u16; 2];
                    for unit in c.encode_utf16(&mut units) {
                        out.push_str(&format!("\\u{unit:04x}"));
                    }
                }
            }
        }
        out.push('"');
        out
    }

    proptest! {
        #[test]
        fn round_trips_any_string(s in any::<String>()) {
            prop_assert_eq!(unescape(&escape_ascii(&s)).unwrap(), s);
        }
    }
}
