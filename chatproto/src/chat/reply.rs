//! Keeping what the server composes within what any client can take in.

use crate::fragment::DEFAULT_LIMIT;

/// The longest text the server composes: a receiver's default limit, less room for the prefix a
/// HISTORY_REPLY puts in front of a stored message.
pub const REPLY_LIMIT: usize = DEFAULT_LIMIT - 64;

/// The longest ERROR text: one packet.
const ERROR_LIMIT: usize = 256;

/// Joins `entries` with `separator`, cut after the last whole entry that fits in [`REPLY_LIMIT`], with a
/// last entry `… and <N> more` when any were left out.
pub(super) fn join_within<I, T>(entries: I, separator: &str) -> String
where
    I: ExactSizeIterator<Item = T>,
    T: AsRef<str>,
{
    join_within_limit(entries, separator, REPLY_LIMIT)
}

fn join_within_limit<I, T>(entries: I, separator: &str, limit: usize) -> String
where
    I: ExactSizeIterator<Item = T>,
    T: AsRef<str>,
{
    // Room kept for the last line when the list is cut: a separator and "… and 4294967295 more".
    const TAIL: usize = 32;
    let entries: Vec<T> = entries.collect();
    let whole: usize = entries.iter().map(|e| e.as_ref().len()).sum::<usize>()
        + separator.len() * entries.len().saturating_sub(1);
    let budget = if whole <= limit {
        limit
    } else {
        limit.saturating_sub(TAIL)
    };
    let mut text = String::new();
    for (taken, entry) in entries.iter().enumerate() {
        let entry = entry.as_ref();
        let extra = if taken == 0 { 0 } else { separator.len() };
        if text.len() + extra + entry.len() > budget {
            if taken > 0 {
                text.push_str(separator);
            }
            text.push_str(&format!("… and {} more", entries.len() - taken));
            return text;
        }
        text.push_str(&separator[..extra]);
        text.push_str(entry);
    }
    text
}

/// `why`, cut to one packet at a character boundary, marked with `…` when cut.
pub(super) fn error_text(why: &str) -> String {
    if why.len() <= ERROR_LIMIT {
        return why.to_owned();
    }
    let mut end = ERROR_LIMIT - '…'.len_utf8();
    while !why.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &why[..end])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_list_that_fits_is_joined_whole() {
        assert_eq!(
            join_within_limit(["a", "b", "c"].iter(), "\n", 5),
            "a\nb\nc"
        );
        assert_eq!(join_within_limit(Vec::<&str>::new().iter(), "\n", 5), "");
    }

    #[test]
    fn a_list_that_does_not_fit_ends_with_how_many_were_left_out() {
        let names: Vec<String> = (0..100).map(|i| format!("room{i:02}")).collect();
        let text = join_within_limit(names.iter(), "\n", 100);
        assert!(text.len() <= 100, "{}", text.len());
        let lines: Vec<&str> = text.lines().collect();
        let kept = lines.len() - 1;
        assert_eq!(
            lines[..kept],
            names[..kept].iter().map(String::as_str).collect::<Vec<_>>()[..]
        );
        assert_eq!(lines[kept], format!("… and {} more", 100 - kept));
    }

    #[test]
    fn the_default_budget_holds_for_thousands_of_long_names() {
        let names: Vec<String> = (0..10_000).map(|i| format!("{i:032}")).collect();
        let text = join_within(names.iter(), "\n");
        assert!(text.len() <= REPLY_LIMIT);
        assert!(text.ends_with("more"));
    }

    #[test]
    fn a_long_error_is_cut_to_one_packet_at_a_character_boundary() {
        assert_eq!(error_text("short"), "short");
        let long = "é".repeat(300);
        let cut = error_text(&long);
        assert!(cut.len() <= ERROR_LIMIT, "{}", cut.len());
        assert!(cut.ends_with('…'));
        assert!(long.starts_with(cut.trim_end_matches('…')));
    }
}
