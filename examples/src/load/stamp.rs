//! The text of a load message: `<round> <sender> <seq> <intended µs>`, padded to the payload size.
//!
//! The intended send time is in microseconds since the load generator's own epoch (an `Instant` taken at
//! start), which every client shares because they all run in one process.

use std::fmt::Write;

/// The longest stamp: four numbers of at most 20 digits and their separators.
const MAX_STAMP: usize = 4 * 20 + 4;

/// What a load message carries.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Stamp {
    /// The round it belongs to; messages of other rounds are ignored.
    pub round: u32,
    /// The sender's index, `0..senders`.
    pub sender: u32,
    /// 1 for a sender's first message of a round, then one more for each.
    pub seq: u32,
    /// When the schedule meant it to be sent, in µs since the epoch.
    pub intended_us: u64,
}

impl Stamp {
    /// The message text: the stamp, a space, then `x`s up to `payload` bytes (never shorter than the stamp).
    pub fn text(&self, payload: usize) -> String {
        let mut text = String::with_capacity(payload.max(MAX_STAMP));
        // Writing to a String cannot fail.
        let _ = write!(
            text,
            "{} {} {} {} ",
            self.round, self.sender, self.seq, self.intended_us
        );
        while text.len() < payload {
            text.push('x');
        }
        text
    }

    /// Reads a stamp back from the start of a text; `None` for anything that is not a load message.
    pub fn parse(text: &[u8]) -> Option<Stamp> {
        let mut fields = text.split(|&b| b == b' ');
        let mut number = || -> Option<u64> {
            let field = fields.next()?;
            if field.is_empty() || field.len() > 20 || !field.iter().all(u8::is_ascii_digit) {
                return None;
            }
            std::str::from_utf8(field).ok()?.parse().ok()
        };
        Some(Stamp {
            round: u32::try_from(number()?).ok()?,
            sender: u32::try_from(number()?).ok()?,
            seq: u32::try_from(number()?).ok()?,
            intended_us: number()?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stamp_reads_back_and_pads_to_the_payload() {
        let stamp = Stamp {
            round: 3,
            sender: 17,
            seq: 123_456,
            intended_us: 9_876_543_210,
        };
        let text = stamp.text(100);
        assert_eq!(text.len(), 100);
        assert_eq!(Stamp::parse(text.as_bytes()), Some(stamp));
        // A payload smaller than the stamp still carries the whole stamp.
        let short = stamp.text(4);
        assert_eq!(Stamp::parse(short.as_bytes()), Some(stamp));
    }

    #[test]
    fn other_texts_are_not_stamps() {
        for text in [
            "",
            "hello",
            "1 2 3",
            "1 2 x 4 ",
            "-1 2 3 4 ",
            "1 2 99999999999 4 ",
        ] {
            assert_eq!(Stamp::parse(text.as_bytes()), None, "{text:?}");
        }
    }
}
