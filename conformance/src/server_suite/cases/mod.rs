//! The cases, one file per section of PROTOCOL.md, and the helpers they share.
//!
//! A case's id is the requirement it checks and a number (`R-6.2/1`). Cases that check a SHOULD are
//! strict. Hostile cases (damaged, malformed or impersonating frames, garbage, cut-off connections) end by
//! checking that the server still serves its other clients.

use std::sync::LazyLock;

use super::case::Case;

mod common;
mod s2_frame;
mod s3_dialects;
mod s4_verbs;
mod s5_cipher;
mod s6_fragments;
mod s7_sessions;
mod s8_chats;
mod s8_history;
mod s8_leaving;
mod s8_legacy;
mod s8_login;
mod s8_messages;
mod s8_rooms;
mod s9_limits;

static ALL: LazyLock<Vec<Case>> = LazyLock::new(|| {
    [
        s2_frame::CASES,
        s3_dialects::CASES,
        s4_verbs::CASES,
        s5_cipher::CASES,
        s6_fragments::CASES,
        s7_sessions::CASES,
        s8_login::CASES,
        s8_messages::CASES,
        s8_rooms::CASES,
        s8_chats::CASES,
        s8_history::CASES,
        s8_leaving::CASES,
        s8_legacy::CASES,
        s9_limits::CASES,
    ]
    .concat()
});

/// Every case, in the order of PROTOCOL.md.
pub fn all() -> &'static [Case] {
    &ALL
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    #[test]
    fn ids_are_unique_and_well_formed() {
        let mut seen = HashSet::new();
        for case in all() {
            assert!(seen.insert(case.id), "{} twice", case.id);
            let (requirement, number) = case.id.split_once('/').expect("R-x.y/n");
            assert!(requirement.starts_with("R-"), "{}", case.id);
            assert!(number.parse::<u32>().is_ok(), "{}", case.id);
            assert!(!case.description.is_empty(), "{}", case.id);
        }
    }
}
