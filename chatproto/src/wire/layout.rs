//! Where each field sits in the 337-byte frame (PROTOCOL.md §2, R-2.1).
//!
//! The original application packed frames with Python's `struct` format `i i 32s 32s i i ? 256s` on x86:
//! little-endian integers, no separators, no alignment padding. These constants are the single source of
//! that layout; the decoder and the encoder both read them.

/// Length of every frame on the wire, in bytes.
pub const FRAME_LEN: usize = 337;
/// Width of the `from_name` and `to_name` fields, in bytes.
pub const NAME_LEN: usize = 32;
/// Width of the `text` field, in bytes.
pub const TEXT_LEN: usize = 256;

/// Offset of `packet_number` (u32).
pub const NUMBER_AT: usize = 0;
/// Offset of `version` (u32).
pub const VERSION_AT: usize = 4;
/// Offset of `from_name` (32 bytes).
pub const FROM_AT: usize = 8;
/// Offset of `to_name` (32 bytes).
pub const TO_AT: usize = 40;
/// Offset of `verb` (u32).
pub const VERB_AT: usize = 72;
/// Offset of `checksum` (u32).
pub const CHECKSUM_AT: usize = 76;
/// Offset of `flags` (1 byte).
pub const FLAGS_AT: usize = 80;
/// Offset of `text` (256 bytes).
pub const TEXT_AT: usize = 81;

/// The `N`-byte field of `frame` at offset `at` (a constant at every call, so this is free).
pub(crate) fn field<const N: usize>(frame: &[u8; FRAME_LEN], at: usize) -> &[u8; N] {
    // `try_into` cannot fail for in-range constant offsets; the fallback keeps this panic-free.
    frame[at..at + N].try_into().unwrap_or(&[0; N])
}

// The layout must add up to the frame length; a typo above fails the build, not a test.
const _: () = assert!(TEXT_AT + TEXT_LEN == FRAME_LEN);
const _: () = assert!(FROM_AT + NAME_LEN == TO_AT && TO_AT + NAME_LEN == VERB_AT);
