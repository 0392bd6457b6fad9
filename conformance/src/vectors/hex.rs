//! Reading the hex of `frame:`, `plain:` and `enciphered:` lines.

/// Why a hex value could not be read.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum HexError {
    /// A character that is neither a hex digit nor whitespace.
    #[error("{ch:?} at column {column} is not a hex digit")]
    BadDigit {
        /// The character.
        ch: char,
        /// Its 1-based position in the value.
        column: usize,
    },
    /// An odd number of digits: the last byte is cut in half.
    #[error("odd number of hex digits ({0})")]
    OddDigits(usize),
}

/// The bytes a string of hex digits spells, in either case, ignoring whitespace anywhere.
pub fn decode(value: &str) -> Result<Vec<u8>, HexError> {
    let mut digits = Vec::with_capacity(value.len());
    for (index, ch) in value.chars().enumerate() {
        if ch.is_whitespace() {
            continue;
        }
        let digit = ch.to_digit(16).ok_or(HexError::BadDigit {
            ch,
            column: index + 1,
        })?;
        // A hex digit is below 16, so it fits a byte.
        digits.push(digit as u8);
    }
    if digits.len() % 2 != 0 {
        return Err(HexError::OddDigits(digits.len()));
    }
    Ok(digits
        .chunks_exact(2)
        .map(|pair| pair[0] << 4 | pair[1])
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_with_whitespace_and_either_case() {
        assert_eq!(decode("").unwrap(), b"");
        assert_eq!(decode("00ff7F").unwrap(), [0x00, 0xff, 0x7f]);
        assert_eq!(decode(" 01 02\t0 3 ").unwrap(), [1, 2, 3]);
    }

    #[test]
    fn refuses_bad_digits_and_half_bytes() {
        assert_eq!(decode("0g"), Err(HexError::BadDigit { ch: 'g', column: 2 }));
        assert_eq!(decode("abc"), Err(HexError::OddDigits(3)));
        assert_eq!(
            decode("0x10").unwrap_err(),
            HexError::BadDigit { ch: 'x', column: 2 }
        );
    }
}
