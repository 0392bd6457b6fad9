//! Decoding and verifying one frame (PROTOCOL.md §2 and §3).
//!
//! `nom` reads the fixed layout; the checks that follow are the protocol's, each citing its requirement.
//! Nothing here allocates: the result borrows from the input.

use nom::bytes::complete::take;
use nom::number::complete::{le_u32, u8 as byte};
use nom::{IResult, Parser};

use super::checksum;
use super::dialect::Dialect;
use super::error::{DecodeError, Field, Header};
use super::flags::Flags;
use super::layout::{FRAME_LEN, NAME_LEN, TEXT_LEN};
use super::verb::Verb;
use super::view::PacketView;

/// The frame's fields as raw bytes, before any protocol check.
struct RawFrame<'a> {
    header: Header,
    checksum: u32,
    flags: u8,
    from: &'a [u8],
    to: &'a [u8],
    text: &'a [u8],
}

fn raw_frame(input: &[u8]) -> IResult<&[u8], RawFrame<'_>> {
    let (rest, (number, version, from, to, verb, checksum, flags, text)) = (
        le_u32,
        le_u32,
        take(NAME_LEN),
        take(NAME_LEN),
        le_u32,
        le_u32,
        byte,
        take(TEXT_LEN),
    )
        .parse(input)?;
    let header = Header {
        number,
        version,
        verb: Verb::from_u32(verb),
        from: array(from),
        to: array(to),
    };
    Ok((
        rest,
        RawFrame {
            header,
            checksum,
            flags,
            from,
            to,
            text,
        },
    ))
}

fn array(field: &[u8]) -> [u8; NAME_LEN] {
    let mut out = [0; NAME_LEN];
    out.copy_from_slice(field);
    out
}

impl<'a> PacketView<'a> {
    /// Decodes and verifies one frame of exactly 337 bytes.
    ///
    /// The checks, in order: the length; the version; for v5 the CRC-32, the flags
    /// and canonical padding; for v4 the text's UTF-8 and code-point checksum, the
    /// flags and names padded only at the end; UTF-8 in every field; and a known
    /// verb. The first that fails is the error.
    pub fn decode(input: &'a [u8]) -> Result<PacketView<'a>, DecodeError> {
        let frame: &'a [u8; FRAME_LEN] = input
            .try_into()
            .map_err(|_| DecodeError::WrongLength { len: input.len() })?;
        // The length is right, so reading the fixed layout cannot run short.
        let (_, raw) =
            raw_frame(frame).map_err(|_| DecodeError::WrongLength { len: input.len() })?;
        let header = raw.header;
        // the version picks the dialect; any other is refused. A damaged version field looks
        // like an unknown version, so one is believed only when the frame's CRC-32 holds; otherwise the
        // frame is damaged and wants RESEND, like any other.
        let Some(dialect) = Dialect::from_version(header.version) else {
            let computed = checksum::crc32(frame);
            if computed != raw.checksum {
                return Err(DecodeError::ChecksumMismatch {
                    header,
                    computed,
                    received: raw.checksum,
                });
            }
            return Err(DecodeError::UnsupportedVersion { header });
        };

        let (flags, from, to, text) = match dialect {
            Dialect::V5 => {
                // CRC-32 over the frame with the checksum zeroed, checked before anything else
                // so that any damage is answered with RESEND.
                let computed = checksum::crc32(frame);
                if computed != raw.checksum {
                    return Err(DecodeError::ChecksumMismatch {
                        header,
                        computed,
                        received: raw.checksum,
                    });
                }
                // only bits 0 and 1 are defined.
                let flags = Flags::from_bits(raw.flags).ok_or(DecodeError::ReservedFlags {
                    header,
                    flags: raw.flags,
                })?;
                let from = canonical(raw.from, Field::FromName, &header)?;
                let to = canonical(raw.to, Field::ToName, &header)?;
                let text = canonical(raw.text, Field::Text, &header)?;
                (flags, from, to, text)
            }
            Dialect::Legacy => {
                // only trailing NULs are padding in v4 text.
                let text = utf8(trim_trailing_nuls(raw.text), Field::Text, &header)?;
                // the sum of the text's code points.
                let computed = checksum::legacy(text);
                if computed != raw.checksum {
                    return Err(DecodeError::ChecksumMismatch {
                        header,
                        computed,
                        received: raw.checksum,
                    });
                }
                // the original boolean, so 0 or 1.
                let flags = match raw.flags {
                    0 | 1 => Flags::from_bits(raw.flags).unwrap_or_default(),
                    flags => return Err(DecodeError::ReservedFlags { header, flags }),
                };
                let from = canonical(raw.from, Field::FromName, &header)?;
                let to = canonical(raw.to, Field::ToName, &header)?;
                (flags, from, to, text)
            }
        };

        // an unassigned verb is refused, with the header kept so the receiver can answer ERROR.
        if !header.verb.is_known() {
            return Err(DecodeError::UnknownVerb { header });
        }

        Ok(PacketView {
            frame,
            dialect,
            number: header.number,
            verb: header.verb,
            checksum: raw.checksum,
            flags,
            from,
            to,
            text,
        })
    }
}

/// R-3.8 (and for v4 names): the content ends at the first NUL and every byte after it is NUL.
fn canonical<'a>(field: &'a [u8], which: Field, header: &Header) -> Result<&'a str, DecodeError> {
    let end = first_nul(field).unwrap_or(field.len());
    let padding = &field[end..];
    // OR-fold rather than `all`, so the check over the padding vectorises.
    if padding.iter().fold(0u8, |acc, &b| acc | b) != 0 {
        let offset = end + padding.iter().position(|&b| b != 0).unwrap_or(0);
        return Err(DecodeError::NonCanonicalPadding {
            header: *header,
            field: which,
            offset,
        });
    }
    utf8(&field[..end], which, header)
}

/// every string field is UTF-8.
fn utf8<'a>(bytes: &'a [u8], which: Field, header: &Header) -> Result<&'a str, DecodeError> {
    std::str::from_utf8(bytes).map_err(|_| DecodeError::InvalidUtf8 {
        header: *header,
        field: which,
    })
}

/// The field without its trailing NULs.
fn trim_trailing_nuls(field: &[u8]) -> &[u8] {
    // Usually the content is followed only by padding, which `first_nul` finds a word at a time.
    if let Some(end) = first_nul(field) {
        if field[end..].iter().fold(0u8, |acc, &b| acc | b) == 0 {
            return &field[..end];
        }
    }
    let end = field
        .iter()
        .rposition(|&b| b != 0)
        .map_or(0, |last| last + 1);
    &field[..end]
}

/// The index of the first NUL, eight bytes at a time: a word has a zero byte exactly when
/// `(w - 0x01…01) & !w & 0x80…80` is non-zero.
fn first_nul(bytes: &[u8]) -> Option<usize> {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGHS: u64 = 0x8080_8080_8080_8080;
    let mut chunks = bytes.chunks_exact(8);
    let mut at = 0;
    for chunk in &mut chunks {
        let mut word = [0; 8];
        word.copy_from_slice(chunk);
        let w = u64::from_le_bytes(word);
        let zero = w.wrapping_sub(ONES) & !w & HIGHS;
        if zero != 0 {
            // The lowest flagged byte is always a real zero (borrows only run upward).
            return Some(at + (zero.trailing_zeros() / 8) as usize);
        }
        at += 8;
    }
    chunks
        .remainder()
        .iter()
        .position(|&b| b == 0)
        .map(|i| at + i)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_nul_matches_a_plain_search() {
        let mut field = [b'x'; 40];
        assert_eq!(first_nul(&field), None);
        for at in 0..40 {
            field = [b'x'; 40];
            field[at] = 0;
            // A NUL later on must not hide the first one.
            field[39] = 0;
            assert_eq!(first_nul(&field), Some(at), "NUL at {at}");
        }
        // Bytes ≥ 0x80 and 0x01 around a zero must not confuse the word trick.
        let tricky = [0x80, 0x01, 0xff, 0x00, 0x81, 0x00, 0x01, 0x80, 0x00];
        assert_eq!(first_nul(&tricky), Some(3));
    }

    #[test]
    fn trailing_nuls_are_trimmed_interior_ones_kept() {
        assert_eq!(trim_trailing_nuls(b"ab\0\0"), b"ab");
        assert_eq!(trim_trailing_nuls(b"a\0b\0\0"), b"a\0b");
        assert_eq!(trim_trailing_nuls(b"\0\0"), b"");
        assert_eq!(trim_trailing_nuls(b"abc"), b"abc");
    }
}
