//! Which names a user or room may take (PROTOCOL.md ).

use crate::wire::Name;

/// Why a name was refused.
pub fn refuse_name(name: &str) -> Option<&'static str> {
    if name.is_empty() {
        return Some("a name cannot be empty");
    }
    if name.len() > Name::CAPACITY {
        return Some("a name is at most 32 bytes");
    }
    if name.chars().any(|c| c.is_control() || c == ',') {
        return Some("a name cannot hold control characters or commas");
    }
    // reserved in any letter case, so that nobody can pass for the server.
    if name.eq_ignore_ascii_case(Name::ALL.as_str())
        || name.eq_ignore_ascii_case(Name::SERVER.as_str())
    {
        return Some("that name is reserved");
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_that_are_refused() {
        for name in [
            "",
            "ALL",
            "all",
            "Server",
            "a,b",
            "tab\there",
            &"x".repeat(33),
        ] {
            assert!(refuse_name(name).is_some(), "{name:?} should be refused");
        }
        for name in ["ann", "not devon", "élodie", &"x".repeat(32)] {
            assert_eq!(refuse_name(name), None, "{name:?} should be allowed");
        }
    }
}
