//! Decoding and verifying one frame (PROTOCOL.md §2 and §3).
//!
//! The fields are read at the fixed offsets of [`super::layout`]; the checks that follow are the protocol's,
//! each citing its requirement. Nothing here allocates: the result borrows from the input.
//!
//! The hot path is written for speed (about 1.5 × the cost of copying a frame and computing its CRC-32):
//! the `Header` is built only when an error needs it, and the string fields are checked by
//! `canonical_str`, which returns a bare `Option`; when it refuses a field, `field_error` runs the
//! checks again one by one, in the specified order, to name the first failure.

use nom::bytes::complete::take;
use nom::number::complete::{le_u32, u8 as byte};
use nom::{IResult, Parser};

use super::checksum;
use super::dialect::Dialect;
use super::error::{DecodeError, Field, Header};
use super::flags::Flags;
use super::layout::{
    field, FRAME_LEN, FROM_AT, NAME_LEN, NUMBER_AT, TEXT_AT, TEXT_LEN, TO_AT, VERB_AT, VERSION_AT,
};
use super::verb::Verb;
use super::view::PacketView;

/// The little-endian `u32` at `at`. The offsets are constants, so this compiles to one load.
fn u32_at(frame: &[u8; FRAME_LEN], at: usize) -> u32 {
    let mut word = [0; 4];
    word.copy_from_slice(&frame[at..at + 4]);
    u32::from_le_bytes(word)
}

/// The frame's fields as `nom` reads them at the fixed layout: borrowed, nothing copied.
struct RawFields<'a> {
    number: u32,
    version: u32,
    from: &'a [u8; NAME_LEN],
    to: &'a [u8; NAME_LEN],
    verb: u32,
    checksum: u32,
    flags: u8,
    text: &'a [u8; TEXT_LEN],
}

/// Reads the layout; `None` only if the input is shorter than a frame, which the caller has excluded.
#[inline(always)]
fn raw_fields(frame: &[u8; FRAME_LEN]) -> Option<RawFields<'_>> {
    let parsed: IResult<&[u8], _, ()> = (
        le_u32,
        le_u32,
        take(NAME_LEN),
        take(NAME_LEN),
        le_u32,
        le_u32,
        byte,
        take(TEXT_LEN),
    )
        .parse(&frame[..]);
    let (_, (number, version, from, to, verb, checksum, flags, text)) = parsed.ok()?;
    Some(RawFields {
        number,
        version,
        from: <&[u8; NAME_LEN]>::try_from(from).ok()?,
        to: <&[u8; NAME_LEN]>::try_from(to).ok()?,
        verb,
        checksum,
        flags,
        text: <&[u8; TEXT_LEN]>::try_from(text).ok()?,
    })
}

/// The header of a frame, built only when an error needs it.
#[cold]
#[inline(never)]
fn header(frame: &[u8; FRAME_LEN]) -> Header {
    Header {
        number: u32_at(frame, NUMBER_AT),
        version: u32_at(frame, VERSION_AT),
        verb: Verb::from_u32(u32_at(frame, VERB_AT)),
        from: *field::<NAME_LEN>(frame, FROM_AT),
        to: *field::<NAME_LEN>(frame, TO_AT),
    }
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
        let Some(raw) = raw_fields(frame) else {
            return Err(DecodeError::WrongLength { len: input.len() });
        };
        let RawFields {
            number,
            version,
            from: raw_from,
            to: raw_to,
            verb,
            checksum: received,
            flags: raw_flags,
            text: raw_text,
        } = raw;
        // the version picks the dialect; any other is refused. A damaged version field looks
        // like an unknown version, so one is believed only when the frame's CRC-32 holds; otherwise the
        // frame is damaged and wants RESEND, like any other.
        let Some(dialect) = Dialect::from_version(version) else {
            let computed = checksum::crc32(frame);
            if computed != received {
                return Err(DecodeError::ChecksumMismatch {
                    header: header(frame),
                    computed,
                    received,
                });
            }
            return Err(DecodeError::UnsupportedVersion {
                header: header(frame),
            });
        };

        let (flags, from, to, text) = match dialect {
            Dialect::V5 => {
                // CRC-32 over the frame with the checksum zeroed, checked before anything else
                // so that any damage is answered with RESEND.
                let computed = checksum::crc32(frame);
                if computed != received {
                    return Err(DecodeError::ChecksumMismatch {
                        header: header(frame),
                        computed,
                        received,
                    });
                }
                // only bits 0 and 1 are defined.
                let Some(flags) = Flags::from_bits(raw_flags) else {
                    return Err(DecodeError::ReservedFlags {
                        header: header(frame),
                        flags: raw_flags,
                    });
                };
                // canonical padding and UTF-8; `field_error` names the first failure.
                let (Some(from), Some(to), Some(text)) = (
                    canonical_str(raw_from),
                    canonical_str(raw_to),
                    canonical_str(raw_text),
                ) else {
                    return Err(field_error(frame, true));
                };
                (flags, from, to, text)
            }
            Dialect::Legacy => {
                // only trailing NULs are padding in v4 text.
                let Ok(text) = std::str::from_utf8(trim_trailing_nuls(raw_text)) else {
                    return Err(DecodeError::InvalidUtf8 {
                        header: header(frame),
                        field: Field::Text,
                    });
                };
                // the sum of the text's code points.
                let computed = checksum::legacy(text);
                if computed != received {
                    return Err(DecodeError::ChecksumMismatch {
                        header: header(frame),
                        computed,
                        received,
                    });
                }
                // the original boolean, so 0 or 1.
                let flags = match raw_flags {
                    0 | 1 => Flags::from_bits(raw_flags).unwrap_or_default(),
                    flags => {
                        return Err(DecodeError::ReservedFlags {
                            header: header(frame),
                            flags,
                        })
                    }
                };
                let (Some(from), Some(to)) = (canonical_str(raw_from), canonical_str(raw_to))
                else {
                    return Err(field_error(frame, false));
                };
                (flags, from, to, text)
            }
        };

        // an unassigned verb is refused, with the header kept so the receiver can answer ERROR.
        let verb = Verb::from_u32(verb);
        if !verb.is_known() {
            return Err(DecodeError::UnknownVerb {
                header: header(frame),
            });
        }

        Ok(PacketView {
            frame,
            dialect,
            number,
            verb,
            checksum: received,
            flags,
            from,
            to,
            text,
        })
    }
}

/// The content of a canonically padded UTF-8 field, or `None`; small enough to come back in
/// registers. `field_error` says what is wrong.
fn canonical_str<const N: usize>(field: &[u8; N]) -> Option<&str> {
    std::str::from_utf8(&field[..canonical_end(field)?]).ok()
}

/// The first error among the string fields, in the order the checks are specified.
#[cold]
#[inline(never)]
fn field_error(frame: &[u8; FRAME_LEN], with_text: bool) -> DecodeError {
    let checks = canonical(field::<NAME_LEN>(frame, FROM_AT), Field::FromName, frame)
        .and_then(|_| canonical(field::<NAME_LEN>(frame, TO_AT), Field::ToName, frame))
        .and_then(|_| {
            if with_text {
                canonical(field::<TEXT_LEN>(frame, TEXT_AT), Field::Text, frame)
            } else {
                Ok("")
            }
        });
    match checks {
        Err(err) => err,
        // Unreachable: `canonical_str` refused one of these fields.
        Ok(_) => DecodeError::InvalidUtf8 {
            header: header(frame),
            field: Field::Text,
        },
    }
}

/// R-3.8 (and for v4 names): the content ends at the first NUL and every byte after it is NUL.
fn canonical<'a, const N: usize>(
    field: &'a [u8; N],
    which: Field,
    frame: &[u8; FRAME_LEN],
) -> Result<&'a str, DecodeError> {
    match canonical_end(field) {
        Some(end) => utf8(&field[..end], which, frame),
        None => Err(non_canonical(field, which, frame)),
    }
}

#[cold]
#[inline(never)]
fn non_canonical(field: &[u8], which: Field, frame: &[u8; FRAME_LEN]) -> DecodeError {
    let end = field.iter().position(|&b| b == 0).unwrap_or(field.len());
    let offset = end + field[end..].iter().position(|&b| b != 0).unwrap_or(0);
    DecodeError::NonCanonicalPadding {
        header: header(frame),
        field: which,
        offset,
    }
}

const LOW7: u64 = 0x7F7F_7F7F_7F7F_7F7F;
const HIGHS: u64 = 0x8080_8080_8080_8080;

/// The high bit of each byte of `w` that is NUL, exactly (no false positives from borrows).
fn nul_bytes(w: u64) -> u64 {
    !(((w & LOW7).wrapping_add(LOW7)) | w) & HIGHS
}

/// The little-endian word in the first eight bytes of `bytes`.
fn word(bytes: &[u8]) -> u64 {
    let mut word = [0; 8];
    word.copy_from_slice(&bytes[..8]);
    u64::from_le_bytes(word)
}

/// The field as little-endian words.
fn words<const N: usize>(field: &[u8; N]) -> impl DoubleEndedIterator<Item = u64> + '_ {
    // Every field's width (32, 256) is a multiple of 8, so no byte is left out.
    const { assert!(N % 8 == 0) };
    field.chunks_exact(8).map(word)
}

/// The length of the field without its trailing NULs. Scans from the end, where the padding is, a word at
/// a time.
fn trimmed_len<const N: usize>(field: &[u8; N]) -> usize {
    let mut end = N;
    for w in words(field).rev() {
        if w != 0 {
            // The highest non-NUL byte of the word.
            return end - (w.leading_zeros() / 8) as usize;
        }
        end -= 8;
    }
    0
}

/// Where the content of a canonically padded field ends (its first NUL, or its width), or `None` if a
/// non-NUL byte follows the first NUL: the field trimmed of its trailing NULs must hold no NUL.
fn canonical_end<const N: usize>(field: &[u8; N]) -> Option<usize> {
    let end = trimmed_len(field);
    let full = end / 8;
    // No early exit, so this vectorises.
    let mut nuls = words(field).take(full).fold(0, |acc, w| acc | nul_bytes(w));
    if end % 8 != 0 {
        // The last, partial word: only its bytes below `end` count.
        nuls |= nul_bytes(word(&field[8 * full..])) & (u64::MAX >> (64 - 8 * (end % 8)));
    }
    (nuls == 0).then_some(end)
}

/// every string field is UTF-8.
fn utf8<'a>(
    bytes: &'a [u8],
    which: Field,
    frame: &[u8; FRAME_LEN],
) -> Result<&'a str, DecodeError> {
    std::str::from_utf8(bytes).map_err(|_| DecodeError::InvalidUtf8 {
        header: header(frame),
        field: which,
    })
}

/// The field without its trailing NULs.
fn trim_trailing_nuls<const N: usize>(field: &[u8; N]) -> &[u8] {
    &field[..trimmed_len(field)]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trailing_nuls_are_trimmed_interior_ones_kept() {
        assert_eq!(trim_trailing_nuls(b"ab\0\0\0\0\0\0"), b"ab");
        assert_eq!(trim_trailing_nuls(b"a\0b\0\0\0\0\0"), b"a\0b");
        assert_eq!(trim_trailing_nuls(b"\0\0\0\0\0\0\0\0"), b"");
        assert_eq!(trim_trailing_nuls(b"abcdefgh"), b"abcdefgh");
    }

    #[test]
    fn canonical_end_matches_a_plain_search() {
        let mut x = 0x9E37_79B9u32;
        for _ in 0..100_000 {
            let mut field = [0u8; 32];
            for b in field.iter_mut() {
                x ^= x << 13;
                x ^= x >> 17;
                x ^= x << 5;
                // Mostly NULs and ASCII, some high bytes.
                *b = match x % 8 {
                    0..=2 => 0,
                    3 => 0x80 | (x >> 8) as u8,
                    _ => b'a' + (x >> 8) as u8 % 26,
                };
            }
            let cut = (x >> 20) as usize % 33;
            field[cut..].fill(0);
            let first = field.iter().position(|&b| b == 0).unwrap_or(32);
            let plain = field[first..].iter().all(|&b| b == 0).then_some(first);
            assert_eq!(canonical_end(&field), plain, "{field:?}");
            let last = field.iter().rposition(|&b| b != 0).map_or(0, |i| i + 1);
            assert_eq!(trimmed_len(&field), last, "{field:?}");
        }
    }
}
