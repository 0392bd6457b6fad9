//! Checks the `chatproto` crate against every vector in `conformance/vectors/` (format: its README.md).
//!
//! Each check collects every failing vector before failing, so one run lists all disagreements.

#[path = "vectors/checks.rs"]
mod checks;
#[path = "vectors/coverage.rs"]
mod coverage;

use chatproto::Packet;
use conformance::vectors::{
    self, CipherVector, ErrorClass, Expectation, ExpectedError, ExpectedPacket, FieldName, Vector,
    VectorFile,
};

use checks::{check_cipher, check_error, check_ok};

fn load() -> Vec<VectorFile> {
    vectors::load_all().unwrap_or_else(|error| panic!("loading the vectors: {error}"))
}

fn frame_vectors(files: &[VectorFile]) -> impl Iterator<Item = &Vector> {
    files.iter().flat_map(|file| &file.frames)
}

fn ok_vectors(files: &[VectorFile]) -> impl Iterator<Item = (&Vector, &ExpectedPacket)> {
    frame_vectors(files).filter_map(|vector| match &vector.expect {
        Expectation::Ok(packet) => Some((vector, packet)),
        Expectation::Error(_) => None,
    })
}

fn error_vectors(files: &[VectorFile]) -> impl Iterator<Item = (&Vector, ExpectedError)> {
    frame_vectors(files).filter_map(|vector| match &vector.expect {
        Expectation::Error(error) => Some((vector, *error)),
        Expectation::Ok(_) => None,
    })
}

/// Panics listing every failure, if there is any.
fn assert_no_failures(what: &str, checked: usize, failures: Vec<String>) {
    assert!(checked > 0, "no {what} to check");
    assert!(
        failures.is_empty(),
        "{} of {checked} {what} failed:\n\n{}",
        failures.len(),
        failures.join("\n\n")
    );
}

fn run<T>(
    what: &str,
    items: impl Iterator<Item = T>,
    describe: impl Fn(&T) -> String,
    check: impl Fn(&T) -> Result<(), String>,
) {
    let mut checked = 0;
    let mut failures = Vec::new();
    for item in items {
        checked += 1;
        if let Err(why) = check(&item) {
            failures.push(format!("{}\n  {why}", describe(&item)));
        }
    }
    assert_no_failures(what, checked, failures);
}

fn describe(vector: &Vector) -> String {
    format!("{} ({})", vector.name, vector.origin)
}

#[test]
fn ok_vectors_decode_to_their_fields_and_encode_back() {
    let files = load();
    run(
        "ok vectors",
        ok_vectors(&files),
        |(vector, _)| describe(vector),
        |(vector, expected)| check_ok(vector, expected),
    );
}

#[test]
fn error_vectors_fail_with_their_error() {
    let files = load();
    run(
        "error vectors",
        error_vectors(&files),
        |(vector, _)| describe(vector),
        |(vector, expected)| check_error(vector, *expected),
    );
}

#[test]
fn cipher_vectors_match_the_cipher() {
    let files = load();
    run(
        "cipher vectors",
        files.iter().flat_map(|file| &file.ciphers),
        |vector| format!("{} ({})", vector.name, vector.origin),
        |vector| check_cipher(vector),
    );
}

#[test]
fn every_file_is_present_and_counted() {
    let files = load();
    let mut total = 0;
    for file in &files {
        eprintln!(
            "{}: {} vectors ({} frame, {} cipher)",
            file.file_name(),
            file.len(),
            file.frames.len(),
            file.ciphers.len()
        );
        total += file.len();
    }
    eprintln!("total: {total} vectors");
    let count = |name: &str| {
        files
            .iter()
            .find(|file| file.file_name() == name)
            .map_or(0, VectorFile::len)
    };
    for name in vectors::FILES {
        assert!(count(name) > 0, "{name} is missing or empty");
    }
    // Each file holds its own kind.
    let file = |name: &str| files.iter().find(|file| file.file_name() == name).unwrap();
    for name in ["v4.txt", "v5.txt"] {
        let version = if name == "v4.txt" { 4 } else { 5 };
        for vector in &file(name).frames {
            let Expectation::Ok(expected) = &vector.expect else {
                panic!("{} in {name} is not an ok vector", vector.name)
            };
            assert_eq!(expected.version, version, "{} in {name}", vector.name);
        }
        assert!(file(name).ciphers.is_empty(), "cipher vectors in {name}");
    }
    assert!(file("errors.txt")
        .frames
        .iter()
        .all(|v| matches!(v.expect, Expectation::Error(_))));
    assert!(file("cipher.txt").frames.is_empty());
}

/// `v4/login-devon`, checked against the bytes worked out by hand in v4.txt's comment.
#[test]
fn devon_login_matches_the_hand_computation() {
    const CHECKSUM: u32 = 1913; // d100+e101+v118+o111+n110+' '32+h104+a97+s115+' '32+c99+o111+n110+n110+e101+c99+t116+e101+d100+'.'46
    let mut frame = Vec::new();
    frame.extend([0x01, 0, 0, 0]); // 0: packet_number 1
    frame.extend([0x04, 0, 0, 0]); // 4: version 4
    frame.extend(b"devon");
    frame.extend([0; 27]); // 8: from_name
    frame.extend(b"ALL");
    frame.extend([0; 29]); // 40: to_name
    frame.extend([0x04, 0, 0, 0]); // 72: verb LOGIN
    frame.extend([0x79, 0x07, 0, 0]); // 76: checksum 1913 = 0x779
    frame.push(0); // 80: flags
    frame.extend(b"devon has connected.");
    frame.extend([0; 236]); // 81: text
    assert_eq!(frame.len(), 337);

    let files = load();
    let (vector, expected) = ok_vectors(&files)
        .find(|(vector, _)| vector.name == "v4/login-devon")
        .expect("v4/login-devon is in the vectors");
    assert_eq!(vector.frame, frame);
    assert_eq!(expected.checksum, CHECKSUM);
    let packet = Packet::decode(&frame).expect("the hand-made frame decodes");
    assert_eq!(packet.encode().as_slice(), frame.as_slice());
    assert_eq!(
        chatproto::wire::legacy_checksum("devon has connected."),
        CHECKSUM
    );
}

/// The checks above can fail: each rejects a vector that says something chatproto does not do.
#[test]
fn the_checks_reject_wrong_vectors() {
    let files = load();
    let (vector, expected) = ok_vectors(&files)
        .find(|(vector, _)| vector.name == "v5/encrypted-hello")
        .expect("v5/encrypted-hello is in the vectors");
    assert_eq!(check_ok(vector, expected), Ok(()));

    let wrong = |change: &dyn Fn(&mut ExpectedPacket)| {
        let mut expected = expected.clone();
        change(&mut expected);
        check_ok(vector, &expected).expect_err("a wrong expectation must fail")
    };
    assert!(wrong(&|e| e.number += 1).contains("number"));
    assert!(wrong(&|e| e.verb = "WHO".into()).contains("verb"));
    assert!(wrong(&|e| e.checksum ^= 1).contains("checksum"));
    assert!(wrong(&|e| e.flags = 0).contains("flags"));
    assert!(wrong(&|e| e.from = "alicf".into()).contains("from"));
    assert!(wrong(&|e| e.to = "all".into()).contains("to"));
    assert!(wrong(&|e| e.text = "hello".into()).contains("text"));
    assert!(wrong(&|e| e.plain = Some("hellp".into())).contains("deciphered"));

    let mut damaged = vector.clone();
    damaged.frame[100] ^= 1;
    assert!(check_ok(&damaged, expected)
        .unwrap_err()
        .contains("ChecksumMismatch"));

    let expect = |class, field| ExpectedError { class, field };
    assert!(
        check_error(vector, expect(ErrorClass::ChecksumMismatch, None))
            .unwrap_err()
            .contains("decodes")
    );
    assert_eq!(
        check_error(&damaged, expect(ErrorClass::ChecksumMismatch, None)),
        Ok(())
    );
    assert!(
        check_error(&damaged, expect(ErrorClass::ReservedFlags, None))
            .unwrap_err()
            .contains("error class")
    );

    let (padding, _) = error_vectors(&files)
        .find(|(vector, _)| vector.name == "error/v5-padding-text")
        .expect("error/v5-padding-text is in the vectors");
    let text = Some(FieldName::Text);
    assert_eq!(
        check_error(padding, expect(ErrorClass::NonCanonicalPadding, text)),
        Ok(())
    );
    assert!(check_error(
        padding,
        expect(ErrorClass::NonCanonicalPadding, Some(FieldName::ToName))
    )
    .unwrap_err()
    .contains("error field"));

    let cipher = CipherVector {
        name: "wrong".into(),
        plain: b"hello".to_vec(),
        enciphered: b"uryy}".to_vec(),
        origin: vector.origin.clone(),
    };
    assert!(check_cipher(&cipher).unwrap_err().contains("byte 4"));
}
