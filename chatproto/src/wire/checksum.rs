//! The two checksums (PROTOCOL.md ).

use super::layout::{CHECKSUM_AT, FRAME_LEN};

/// v4: the sum of the Unicode code points of the text field, as the original application computed
/// it. NUL padding adds nothing, so the whole field or just its content give the same sum.
pub fn legacy(text: &str) -> u32 {
    let bytes = text.as_bytes();
    if bytes.is_ascii() {
        // Every byte is its own code point; this loop vectorises.
        bytes.iter().map(|&b| u32::from(b)).sum()
    } else {
        // At most 256 bytes of UTF-8 sum to well under u32::MAX (64 × U+10FFFF), but wrap rather than
        // trust that arithmetic in a decoder.
        text.chars()
            .fold(0u32, |sum, c| sum.wrapping_add(u32::from(c)))
    }
}

/// v5: CRC-32 (IEEE, as zlib) over all 337 bytes of the frame with the checksum field read as
/// zero. Whatever the checksum field holds in `frame` is ignored.
///
/// One `crc32fast::hash` over the frame as it is (a single call takes the fastest, fold-by-4 path), then
/// the checksum field's own contribution is taken back out: CRC-32 is affine, so the difference between
/// the frame and the frame with that field zeroed is a linear function of the field's four bytes alone,
/// tabulated at compile time in `FIELD_TERM`.
pub fn crc32(frame: &[u8; FRAME_LEN]) -> u32 {
    let field = &frame[CHECKSUM_AT..CHECKSUM_AT + 4];
    crc32fast::hash(frame)
        ^ FIELD_TERM[0][usize::from(field[0])]
        ^ FIELD_TERM[1][usize::from(field[1])]
        ^ FIELD_TERM[2][usize::from(field[2])]
        ^ FIELD_TERM[3][usize::from(field[3])]
}

/// The byte-at-a-time table of the reflected CRC-32 polynomial 0xEDB88320.
const BYTE_TABLE: [u32; 256] = {
    let mut table = [0u32; 256];
    let mut n = 0;
    while n < 256 {
        let mut crc = n as u32;
        let mut bit = 0;
        while bit < 8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
            bit += 1;
        }
        table[n] = crc;
        n += 1;
    }
    table
};

/// `FIELD_TERM[i][v]`: how much byte `i` of the checksum field, holding `v`, changes the CRC of the frame.
const FIELD_TERM: [[u32; 256]; 4] = byte_change_terms(CHECKSUM_AT);

/// `byte_change_terms(at)[i][v]`: how much xoring `v` into byte `at + i` of a frame changes its CRC-32. That
/// is the raw CRC register (no initial value, no final XOR) of `v` followed by the rest of the frame as
/// zeros: `BYTE_TABLE[v]` pushed through those zeros, a linear map built here from the images of its 32
/// basis bits. The checksum fix-up uses it at the checksum field; renumbering a frame, at the number field.
pub(crate) const fn byte_change_terms(at: usize) -> [[u32; 256]; 4] {
    let mut term = [[0u32; 256]; 4];
    let mut i = 0;
    while i < 4 {
        let zeros = FRAME_LEN - (at + i + 1);
        let mut basis = [0u32; 32];
        let mut b = 0;
        while b < 32 {
            let mut crc = 1u32 << b;
            let mut k = 0;
            while k < zeros {
                crc = BYTE_TABLE[(crc & 0xFF) as usize] ^ (crc >> 8);
                k += 1;
            }
            basis[b] = crc;
            b += 1;
        }
        let mut v = 0;
        while v < 256 {
            let start = BYTE_TABLE[v];
            let mut out = 0;
            let mut b = 0;
            while b < 32 {
                if start >> b & 1 == 1 {
                    out ^= basis[b];
                }
                b += 1;
            }
            term[i][v] = out;
            v += 1;
        }
        i += 1;
    }
    term
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn legacy_sums_code_points() {
        assert_eq!(legacy(""), 0);
        assert_eq!(legacy("AB"), 65 + 66);
        // 'é' is U+00E9 (two UTF-8 bytes), '€' U+20AC (three): the sum is of code points, not bytes.
        assert_eq!(legacy("é€"), 0xE9 + 0x20AC);
    }

    #[test]
    fn crc32_ignores_the_checksum_field() {
        let mut frame = [7u8; FRAME_LEN];
        let a = crc32(&frame);
        frame[CHECKSUM_AT..CHECKSUM_AT + 4].copy_from_slice(&[1, 2, 3, 4]);
        assert_eq!(crc32(&frame), a);
        frame[0] = 8;
        assert_ne!(crc32(&frame), a);
    }

    #[test]
    fn crc32_matches_zeroing_the_field() {
        let mut frame = [0u8; FRAME_LEN];
        let mut x = 0x1234_5678u32;
        for round in 0..2000 {
            for b in frame.iter_mut() {
                x ^= x << 13;
                x ^= x >> 17;
                x ^= x << 5;
                *b = x as u8;
            }
            if round % 3 == 0 {
                frame[CHECKSUM_AT..CHECKSUM_AT + 4].copy_from_slice(&[0xFF, 0, 0x80, round as u8]);
            }
            let mut zeroed = frame;
            zeroed[CHECKSUM_AT..CHECKSUM_AT + 4].fill(0);
            assert_eq!(crc32(&frame), crc32fast::hash(&zeroed));
        }
    }

    #[test]
    fn crc32_is_zlibs() {
        // zlib.crc32(bytes(337)) in Python: a frame of zeros.
        let mut reference = crc32fast::Hasher::new();
        reference.update(&[0; FRAME_LEN]);
        assert_eq!(crc32(&[0; FRAME_LEN]), reference.finalize());
    }
}
