//! The server suite covers PROTOCOL.md: every numbered requirement has a case, MUSTs have a case that runs
//! without `--strict`, SHOULDs a strict one, and no case cites a requirement that does not exist.

use std::collections::BTreeMap;

use conformance::server_suite::cases;

/// Each requirement's id and its paragraph, read from PROTOCOL.md.
fn requirements() -> BTreeMap<String, String> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../PROTOCOL.md");
    let spec = std::fs::read_to_string(path).expect("PROTOCOL.md is readable");
    let mut found = BTreeMap::new();
    let mut current: Option<(String, String)> = None;
    for line in spec.lines() {
        let starts_requirement = line.starts_with("**R-");
        let ends_paragraph =
            line.trim().is_empty() || line.starts_with('#') || line.starts_with('|');
        if starts_requirement || ends_paragraph {
            if let Some((id, text)) = current.take() {
                found.insert(id, text);
            }
        }
        if starts_requirement {
            let id = line
                .trim_start_matches("**")
                .split("**")
                .next()
                .expect("an id between ** and **")
                .to_owned();
            current = Some((id, line.to_owned()));
        } else if let Some((_, text)) = current.as_mut() {
            text.push(' ');
            text.push_str(line);
        }
    }
    if let Some((id, text)) = current {
        found.insert(id, text);
    }
    found
}

#[test]
fn the_spec_parses_into_requirements() {
    let requirements = requirements();
    // A sanity check on the parser, not on the spec's size: the first and a late requirement are found
    // with their keywords.
    assert!(requirements["R-2.1"].contains("MUST be exactly 337 bytes"));
    assert!(requirements["R-4.2"].contains("SHOULD"));
    assert!(!requirements["R-4.2"].contains("MUST"));
    assert!(requirements.keys().all(|id| id.starts_with("R-")));
}

#[test]
fn every_requirement_has_a_case() {
    let requirements = requirements();
    let missing: Vec<&String> = requirements
        .keys()
        .filter(|id| !cases().iter().any(|case| case.requirement() == id.as_str()))
        .collect();
    assert!(
        missing.is_empty(),
        "requirements without a case: {missing:?}"
    );
}

#[test]
fn every_case_cites_a_requirement_that_exists() {
    let requirements = requirements();
    let unknown: Vec<&str> = cases()
        .iter()
        .filter(|case| !requirements.contains_key(case.requirement()))
        .map(|case| case.id)
        .collect();
    assert!(
        unknown.is_empty(),
        "cases citing no requirement of PROTOCOL.md: {unknown:?}"
    );
}

#[test]
fn musts_have_a_plain_case_and_shoulds_a_strict_one() {
    for (id, text) in requirements() {
        let of_it: Vec<_> = cases()
            .iter()
            .filter(|case| case.requirement() == id)
            .collect();
        if text.contains("MUST") {
            assert!(
                of_it.iter().any(|case| !case.strict),
                "{id} has a MUST but only strict cases"
            );
        } else if text.contains("SHOULD") {
            assert!(
                of_it.iter().any(|case| case.strict),
                "{id} has only a SHOULD but no strict case"
            );
        }
        for case in &of_it {
            // A strict case checks a SHOULD, so its requirement must have one; a SHOULD-only requirement
            // cannot be checked by a case that fails servers without --strict.
            if case.strict {
                assert!(
                    text.contains("SHOULD"),
                    "{} is strict but {id} has no SHOULD",
                    case.id
                );
            } else {
                assert!(
                    text.contains("MUST") || !text.contains("SHOULD"),
                    "{} is not strict but {id} has only a SHOULD",
                    case.id
                );
            }
        }
    }
}

#[test]
fn there_are_at_least_80_cases() {
    assert!(cases().len() >= 80, "only {} cases", cases().len());
}
