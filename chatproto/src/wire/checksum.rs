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
pub fn crc32(frame: &[u8; FRAME_LEN]) -> u32 {
    let mut hasher = crc32fast::Hasher::new();
    hasher.update(&frame[..CHECKSUM_AT]);
    hasher.update(&[0; 4]);
    hasher.update(&frame[CHECKSUM_AT + 4..]);
    hasher.finalize()
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
    fn crc32_is_zlibs() {
        // zlib.crc32(bytes(337)) in Python: a frame of zeros.
        let mut reference = crc32fast::Hasher::new();
        reference.update(&[0; FRAME_LEN]);
        assert_eq!(crc32(&[0; FRAME_LEN]), reference.finalize());
    }
}
