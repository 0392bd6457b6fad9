//! The vectors cover what they must: deleting vectors makes these fail.

use std::collections::BTreeSet;

use chatproto::wire::layout::TEXT_LEN;
use chatproto::Verb;
use conformance::vectors::{
    CipherVector, ErrorClass, ExpectedError, ExpectedPacket, FieldName, Vector,
};

use super::checks::le_u32;
use super::{error_vectors, load, ok_vectors};

#[test]
fn every_verb_decodes_in_both_dialects() {
    let files = load();
    let mut missing = Vec::new();
    for version in [4, 5] {
        let seen: BTreeSet<&str> = ok_vectors(&files)
            .filter(|(_, expected)| expected.version == version)
            .map(|(_, expected)| expected.verb.as_str())
            .collect();
        for verb in Verb::ALL {
            let name = verb.name().expect("Verb::ALL holds named verbs");
            if !seen.contains(name) {
                missing.push(format!("{name} in v{version}"));
            }
        }
    }
    assert!(
        missing.is_empty(),
        "no ok vector for: {}",
        missing.join(", ")
    );
}

#[test]
fn ok_vectors_cover_flags_nuls_and_non_ascii() {
    let files = load();
    let has = |what: &str, test: &dyn Fn(&ExpectedPacket) -> bool| {
        assert!(
            ok_vectors(&files).any(|(_, expected)| test(expected)),
            "no ok vector with {what}"
        );
    };
    for version in [4, 5] {
        has(&format!("v{version} encrypted"), &|e| {
            e.version == version && e.flags & 1 != 0 && e.plain.is_some()
        });
        has(&format!("v{version} non-ASCII text"), &|e| {
            e.version == version && !e.text.is_ascii()
        });
        has(&format!("v{version} non-ASCII names"), &|e| {
            e.version == version && !(e.from.is_ascii() && e.to.is_ascii())
        });
        has(&format!("v{version} full-width text"), &|e| {
            e.version == version && e.text.len() == TEXT_LEN
        });
    }
    has("v5 more fragments", &|e| e.version == 5 && e.flags & 2 != 0);
    has("v5 encrypted and more fragments", &|e| {
        e.version == 5 && e.flags == 3
    });
    has("v4 interior NUL in a WHO reply", &|e| {
        e.version == 4 && e.verb == "WHO" && e.text.trim_end_matches('\0').contains('\0')
    });
}

/// What an error vector is about; in a requirement, `None` matches anything.
#[derive(Clone, Copy, Debug, Default)]
struct Case {
    class: Option<ErrorClass>,
    /// The frame's version (not for wrong-length frames, which may be too short to have one).
    version: Option<u32>,
    field: Option<FieldName>,
    /// The length, version, flags or verb, for the classes about those.
    detail: Option<u64>,
}

impl Case {
    fn of(vector: &Vector, expected: ExpectedError) -> Case {
        let frame = &vector.frame;
        let detail = match expected.class {
            ErrorClass::WrongLength => Some(frame.len() as u64),
            ErrorClass::UnsupportedVersion => vector.version().map(u64::from),
            ErrorClass::ReservedFlags => Some(u64::from(frame[80])),
            ErrorClass::UnknownVerb => Some(u64::from(le_u32(frame, 72))),
            _ => None,
        };
        Case {
            class: Some(expected.class),
            version: vector
                .version()
                .filter(|_| expected.class != ErrorClass::WrongLength),
            field: expected.field,
            detail,
        }
    }

    /// Whether `self`, a requirement, matches `seen`.
    fn matches(&self, seen: &Case) -> bool {
        fn fits<T: PartialEq>(want: Option<T>, got: Option<T>) -> bool {
            want.is_none() || want == got
        }
        fits(self.class, seen.class)
            && fits(self.version, seen.version)
            && fits(self.field, seen.field)
            && fits(self.detail, seen.detail)
    }
}

#[test]
fn error_vectors_cover_every_class_and_case() {
    let files = load();
    let seen: Vec<Case> = error_vectors(&files)
        .map(|(vector, expected)| Case::of(vector, expected))
        .collect();
    let mut missing = Vec::new();
    let mut need = |class, version: Option<u32>, field, detail: Option<u64>| {
        let want = Case {
            class: Some(class),
            version,
            field,
            detail,
        };
        if !seen.iter().any(|case| want.matches(case)) {
            missing.push(format!("{want:?}"));
        }
    };
    for class in ErrorClass::ALL {
        need(class, None, None, None);
    }
    for len in [336, 338] {
        need(ErrorClass::WrongLength, None, None, Some(len));
    }
    for version in [0, 3, 6, 0xFFFF_FFFF] {
        need(ErrorClass::UnsupportedVersion, None, None, Some(version));
    }
    // an unknown version whose CRC-32 does not match is damage.
    need(ErrorClass::ChecksumMismatch, Some(6), None, None);
    for version in [4, 5] {
        need(ErrorClass::ChecksumMismatch, Some(version), None, None);
        for field in FieldName::ALL {
            need(ErrorClass::InvalidUtf8, Some(version), Some(field), None);
        }
        // 9 to 15 are unassigned; 32 is PING, so 33 is the first number after table 4.1.
        for verb in [9, 15, 33, 0xFFFF_FFFF] {
            need(ErrorClass::UnknownVerb, Some(version), None, Some(verb));
        }
    }
    for field in FieldName::ALL {
        need(ErrorClass::NonCanonicalPadding, Some(5), Some(field), None);
    }
    for field in [FieldName::FromName, FieldName::ToName] {
        need(ErrorClass::NonCanonicalPadding, Some(4), Some(field), None);
    }
    for flags in [0x04, 0x80] {
        need(ErrorClass::ReservedFlags, Some(5), None, Some(flags));
    }
    for flags in [0x02, 0x03] {
        need(ErrorClass::ReservedFlags, Some(4), None, Some(flags));
    }
    assert!(
        missing.is_empty(),
        "no error vector for:\n{}",
        missing.join("\n")
    );
}

#[test]
fn cipher_vectors_cover_the_edges() {
    let files = load();
    let ciphers: Vec<&CipherVector> = files.iter().flat_map(|file| &file.ciphers).collect();
    for edge in [31u8, 32, 113, 114, 126, 127] {
        assert!(
            ciphers.iter().any(|v| v.plain == [edge]),
            "no cipher vector for byte {edge} alone"
        );
    }
    assert!(
        ciphers
            .iter()
            .any(|v| v.plain == b"hello" && v.enciphered == b"uryy|"),
        "no cipher vector hello -> uryy|"
    );
    assert!(
        ciphers
            .iter()
            .any(|v| std::str::from_utf8(&v.plain).is_ok_and(|s| !s.is_ascii())),
        "no cipher vector with non-ASCII UTF-8"
    );
}
